"""`wiredoctor diff A B [--json]`: the same traffic at two capture points, what changed.

Always holds: both captures stay open while the diff runs, so frame bytes can be read for
the byte-level comparison and the example view; the command returns its exit status.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import click
from rich.console import Console

from wiredoctor.diff.jsonstream import write_diff_json
from wiredoctor.diff.pair import diff_captures
from wiredoctor.diff.result import DiffResult
from wiredoctor.pipeline import load_capture
from wiredoctor.report.diff_text import render_diff
from wiredoctor.tables import CaptureTables


def report(result: DiffResult, *, as_json: bool, console: Console | None = None) -> int:
    """Print `result` (JSON document or human report) and return the exit status."""
    if as_json:
        # Written a chunk of pairs at a time: neither the document nor its text is ever whole
        # in memory, which for a million pairs would be gigabytes.
        write_diff_json(result, sys.stdout)
        sys.stdout.write("\n")
    else:
        render_diff(result, console if console is not None else Console(highlight=False))
    return 1 if result.anomalies else 0


def run(
    a: CaptureTables, b: CaptureTables, *, as_json: bool, console: Console | None = None
) -> int:
    """Diff two loaded captures, print the report, return the exit status."""
    return report(diff_captures(a, b), as_json=as_json, console=console)


@contextmanager
def opened(path: str, index: int) -> Iterator[CaptureTables]:
    """The verified tables of one capture, its frame bytes readable until the block ends."""
    tables = load_capture(path, index)
    try:
        yield tables
    finally:
        if tables.close is not None:
            tables.close()


@click.command()
@click.argument("a", metavar="A")
@click.argument("b", metavar="B")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document (CONTRACT.md).")
def diff(a: str, b: str, as_json: bool) -> int:
    """Pair each packet of capture A with its copy in capture B and say what changed.

    A and B are the same traffic captured at two points (before and after a router, NAT,
    firewall or tunnel). Exit status: 0 nothing wrong between the points, 1 anomalies (lost
    packets, wrong or off-by-one checksums, modified payload), 3 bad input.
    """
    with ExitStack() as stack:
        tables_a = stack.enter_context(opened(a, 0))
        tables_b = stack.enter_context(opened(b, 1))
        for tables in (tables_a, tables_b):
            for warning in tables.warnings:
                click.echo(f"wiredoctor: warning: {warning}", err=True)
        return run(tables_a, tables_b, as_json=as_json)
