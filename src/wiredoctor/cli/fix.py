"""`wiredoctor fix IN -o OUT [--only offload|all] [--strip-trailers] [--json]`.

Writes a repaired copy of a capture; prints what changed. Exit 0 when the copy was
written, 2 when OUT is IN, 3 when IN is not a readable capture.
"""

from __future__ import annotations

import json
import sys
from typing import Literal

import click

from wiredoctor.fixer import FixReport, fix_capture


def _summary(report: FixReport) -> list[str]:
    lines = [
        f"wrote {report.out_path} ({report.format}, {report.frames} frames): "
        f"{len(report.changes)} checksums fixed in "
        f"{len({c.frame for c in report.changes})} frames, "
        f"{len(report.trailers)} trailers removed"
    ]
    if report.compression:
        lines.append(f"input was {report.compression}-compressed; the output is not compressed")
    for change in report.changes:
        cause = f" ({change.cause})" if change.cause else " (covers a fixed inner checksum)"
        depth = f"[{change.depth}]" if change.depth else ""
        lines.append(
            f"  frame {change.frame}: {change.proto}{depth} checksum "
            f"0x{change.old:04x} -> 0x{change.new:04x}{cause}"
        )
    for cut in report.trailers:
        lines.append(f"  frame {cut.frame}: removed {cut.removed}-byte trailer {cut.hex}")
    if report.left_bad:
        lines.append(f"{report.left_bad} checksums left bad (not selected by --only)")
    return lines


@click.command(name="fix")
@click.argument("capture", metavar="IN")
@click.option("-o", "--output", "output", required=True, metavar="OUT", help="New file to write.")
@click.option(
    "--only",
    type=click.Choice(["offload", "all"]),
    default="all",
    show_default=True,
    help="offload: fix only offload artefacts (partial sums, zeros); all: every bad checksum.",
)
@click.option("--strip-trailers", is_flag=True, help="Remove Ethernet trailers.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def fix(capture: str, output: str, only: str, strip_trailers: bool, as_json: bool) -> int:
    """Write a copy of IN with wrong checksums recomputed (IN is never modified)."""
    mode: Literal["offload", "all"] = "offload" if only == "offload" else "all"
    report = fix_capture(capture, output, only=mode, strip_trailers=strip_trailers)
    if as_json:
        sys.stdout.write(json.dumps(report.to_json(), indent=2) + "\n")
    else:
        for line in _summary(report):
            sys.stdout.write(line + "\n")
    return 0
