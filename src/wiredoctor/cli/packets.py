"""`wiredoctor packets CAPTURE [--json] [--all]`: per-frame checksum verdicts."""

from __future__ import annotations

import json
import sys

import click

from wiredoctor.pipeline import load_capture
from wiredoctor.report.json_out import packets_lines
from wiredoctor.report.packets_text import packet_lines


@click.command()
@click.argument("capture", metavar="CAPTURE")
@click.option("--json", "as_json", is_flag=True, help="JSON Lines, one object per frame.")
@click.option("--all", "show_all", is_flag=True, help="List every frame, not only bad ones.")
def packets(capture: str, as_json: bool, show_all: bool) -> int:
    """List frames with their checksum verdicts (bad ones only unless --all)."""
    tables = load_capture(capture, 0)
    out = sys.stdout
    if as_json:
        for obj in packets_lines(tables):
            out.write(json.dumps(obj, separators=(",", ":")))
            out.write("\n")
    else:
        for line in packet_lines(tables, show_all=show_all):
            out.write(line + "\n")
    for warning in tables.warnings:
        click.echo(f"wiredoctor: warning: {warning}", err=True)
    return 0
