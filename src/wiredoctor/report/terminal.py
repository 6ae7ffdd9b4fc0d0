"""Human output of `check`: the verdict first in a few lines, then each diagnosis in detail.

Always holds: everything is written to the console given (stdout by default); colours only
when it is a terminal; every diagnosis points to `wiredoctor explain ID`.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.console import Console
from rich.text import Text

from wiredoctor.checks.finding import Severity
from wiredoctor.diagnose.diagnosis import Diagnosis
from wiredoctor.report.json_out import checksum_counts

if TYPE_CHECKING:
    from wiredoctor.analysis import Analysis

_STYLE = {Severity.INFO: "cyan", Severity.WARNING: "yellow", Severity.ERROR: "bold red"}
_MAX_FRAMES_SHOWN = 12


def frame_list(frames: Sequence[int], limit: int = _MAX_FRAMES_SHOWN) -> str:
    """`1, 3, 5, … (40 frames)` — a short, honest list of evidence frames."""
    if not frames:
        return "none"
    shown = ", ".join(str(f) for f in frames[:limit])
    if len(frames) > limit:
        return f"{shown}, … ({len(frames)} frames)"
    return shown


def verdict_line(analysis: Analysis) -> Text:
    """The one-line verdict that opens the output."""
    serious = [d for d in analysis.diagnoses if d.severity is not Severity.INFO]
    if serious:
        worst = serious[0]
        more = f" (+{len(serious) - 1} more)" if len(serious) > 1 else ""
        return Text.assemble(("PROBLEM: ", _STYLE[worst.severity]), worst.title, more)
    if analysis.diagnoses:
        titles = "; ".join(d.title for d in analysis.diagnoses)
        return Text.assemble(("No real problem found. ", "green"), f"Explained: {titles}")
    return Text(
        "No problem found: every checksum holds and no flow or link symptom shows.", style="green"
    )


def render_check(analysis: Analysis, console: Console) -> None:
    """Print the whole human report."""
    console.print(verdict_line(analysis))
    for tables in analysis.captures:
        counts = checksum_counts(tables)
        parts = [f"{n} {name}" for name, n in counts.items() if n]
        summary = ", ".join(parts) if parts else "none"
        _para(
            console,
            f"{tables.path}: {tables.format}, {tables.n_frames} frames; checksums: {summary}",
            2,
        )
        for warning in tables.warnings:
            console.print(Text(f"  warning: {warning}", style="yellow"))
    for diagnosis in analysis.diagnoses:
        console.print()
        _render_diagnosis(diagnosis, console)


def _para(console: Console, text: str, indent: int, style: str | None = None) -> None:
    """Print `text` wrapped to the console width with a hanging indent (no padding)."""
    width = max(40, console.width - 1)
    lines = textwrap.wrap(
        text,
        width=width,
        initial_indent=" " * indent,
        subsequent_indent=" " * indent,
        break_on_hyphens=False,
    )
    for line in lines:
        console.print(Text(line, style=style or ""), soft_wrap=True)


def _fact_text(value: object) -> str:
    if isinstance(value, list | tuple) and value and isinstance(value[0], dict):
        return "; ".join(
            ", ".join(f"{k} {v}" for k, v in item.items() if v not in (None, [], ""))
            for item in value[:5]
        ) + (f"; … ({len(value)} in all)" if len(value) > 5 else "")
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value[:_MAX_FRAMES_SHOWN]) + (
            f", … ({len(value)} in all)" if len(value) > _MAX_FRAMES_SHOWN else ""
        )
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items())
    return str(value)


def _render_diagnosis(diagnosis: Diagnosis, console: Console) -> None:
    style = _STYLE[diagnosis.severity]
    head = Text.assemble(
        (f"[{diagnosis.severity}] ", style),
        (diagnosis.id, "bold"),
        f" — {diagnosis.title} (confidence {diagnosis.confidence:.2f})",
    )
    console.print(head, soft_wrap=True)
    _para(console, diagnosis.explanation, 2)
    ev = diagnosis.evidence
    _para(console, f"evidence: {ev.capture}, frames {frame_list(ev.frames)}", 2)
    for key, value in diagnosis.facts.items():
        if value in (None, [], {}, "", 0):
            continue
        _para(console, f"{key}: {_fact_text(value)}", 4)
    for remedy in diagnosis.remedies:
        _para(console, f"remedy: {remedy.description}", 2)
        if remedy.command:
            console.print(Text(f"      $ {remedy.command}", style="bold"), soft_wrap=True)
    _para(console, f"more: wiredoctor explain {diagnosis.id}", 2, style="dim")
