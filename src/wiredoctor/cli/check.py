"""`wiredoctor check CAPTURE... [--json] [--host SNAPSHOT] [--mtu N]`: the main job."""

from __future__ import annotations

import contextlib
import json
import sys
from typing import TYPE_CHECKING

import click

from wiredoctor.analysis import analyse
from wiredoctor.checks.run import CheckOptions
from wiredoctor.report.json_out import check_document

if TYPE_CHECKING:
    from wiredoctor.report.progress import ProgressFor


@click.command()
@click.argument("captures", nargs=-1, required=True, metavar="CAPTURE...")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document (CONTRACT.md).")
@click.option(
    "--host",
    "host_snapshot",
    metavar="SNAPSHOT",
    help="Host facts saved by `wiredoctor host --save`, combined with the captures.",
)
@click.option(
    "--mtu",
    type=click.IntRange(68, 65535),
    default=1500,
    show_default=True,
    help="Link MTU for the over-MTU check.",
)
def check(captures: tuple[str, ...], as_json: bool, host_snapshot: str | None, mtu: int) -> int:
    """Verify every checksum, analyse flows and links, and diagnose what is wrong.

    CAPTURE is a pcap or pcapng file (optionally gzip/zstd), `-` for stdin, or pasted
    tcpdump/Wireshark text. Exit status: 0 nothing wrong, 1 problems found, 3 bad input.
    """
    host = None
    if host_snapshot:
        from wiredoctor.host.snapshot import load_snapshot  # the host modules: only then

        host = load_snapshot(host_snapshot)
    # A bar on stderr only, and never while --json goes to a pipe.
    show_bar = not as_json or sys.stdout.isatty()
    with _progress(captures, show_bar) as progress:
        analysis = analyse(captures, options=CheckOptions(mtu=mtu), host=host, progress=progress)
    if as_json:
        # The document carries the warnings too; stderr tells a person watching the pipe.
        for tables in analysis.captures:
            for warning in tables.warnings:
                click.echo(f"wiredoctor: warning: {warning}", err=True)
        # One string: json.dump would encode through its pure-Python path, 5x slower.
        sys.stdout.write(json.dumps(check_document(analysis), separators=(",", ":")) + "\n")
    else:
        # rich is imported only for output meant for a person (JSON does not need it).
        from rich.console import Console

        from wiredoctor.report.terminal import render_check

        render_check(analysis, Console(highlight=False))
    return 1 if analysis.problems else 0


def _progress(
    captures: tuple[str, ...], show_bar: bool
) -> contextlib.AbstractContextManager[ProgressFor | None]:
    """The progress bar's context, or a plain None when no bar may show (rich not loaded)."""
    if not show_bar:
        return contextlib.nullcontext(None)
    from wiredoctor.report.progress import capture_progress

    return capture_progress(captures, enabled=True)
