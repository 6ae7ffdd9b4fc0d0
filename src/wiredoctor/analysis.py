"""One analysis run: captures in, verified tables, findings and diagnoses out.

This is the library entry point the CLI's `check` uses. Always holds: captures keep the order
the user gave them; findings and diagnoses are plain data (no printing here).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from wiredoctor.checks.finding import Finding
from wiredoctor.checks.run import CheckOptions, run_checks
from wiredoctor.diagnose.diagnosis import Diagnosis
from wiredoctor.diagnose.engine import diagnose, has_problems
from wiredoctor.pipeline import Progress, load_capture
from wiredoctor.tables import CaptureTables

if TYPE_CHECKING:  # the host modules load only with host facts
    from wiredoctor.host.facts import HostFacts


@dataclass(slots=True, kw_only=True)
class Analysis:
    """Everything `check` found."""

    captures: list[CaptureTables]
    findings: list[Finding] = field(default_factory=list)
    diagnoses: list[Diagnosis] = field(default_factory=list)
    host: HostFacts | None = None

    @property
    def problems(self) -> bool:
        """True when a diagnosis of severity warning or error was made (exit status 1)."""
        return has_problems(self.diagnoses)


def analyse(
    paths: Sequence[str],
    *,
    options: CheckOptions | None = None,
    host: HostFacts | None = None,
    progress: Callable[[str], Progress | None] | None = None,
) -> Analysis:
    """Verify, check and diagnose the captures at `paths` (with optional host facts).

    `progress(path)` may return a callback that is told how far reading that capture got.
    Several captures are read at the same time, one per core: the kernels release the GIL.
    """
    opts = options if options is not None else CheckOptions()

    def load(item: tuple[int, str]) -> CaptureTables:
        index, path = item
        # The checks are known before reading: a large capture is streamed through them.
        return load_capture(
            path, index, progress(path) if progress is not None else None, checks=opts
        )

    items = list(enumerate(paths))
    if len(items) > 1:
        # Imported only when there is more than one capture to read at a time.
        from concurrent.futures import ThreadPoolExecutor

        workers = min(len(items), os.cpu_count() or 1)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            captures = list(pool.map(load, items))
    else:
        captures = [load(item) for item in items]
    findings: list[Finding] = []
    for tables in captures:
        findings.extend(run_checks(tables, opts))
    diagnoses = diagnose(findings, captures, host)
    return Analysis(captures=captures, findings=findings, diagnoses=diagnoses, host=host)
