"""One analysis run: captures in, verified tables, findings and diagnoses out.

This is the library entry point the CLI's `check` uses. Always holds: captures keep the order
the user gave them; findings and diagnoses are plain data (no printing here).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from wiredoctor.checks.finding import Finding, Severity
from wiredoctor.checks.run import CheckOptions, run_checks
from wiredoctor.diagnose.diagnosis import Diagnosis
from wiredoctor.diagnose.engine import diagnose
from wiredoctor.host.facts import HostFacts
from wiredoctor.pipeline import load_capture
from wiredoctor.tables import CaptureTables


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
        return any(d.severity in (Severity.WARNING, Severity.ERROR) for d in self.diagnoses)


def analyse(
    paths: Sequence[str],
    *,
    options: CheckOptions | None = None,
    host: HostFacts | None = None,
) -> Analysis:
    """Verify, check and diagnose the captures at `paths` (with optional host facts)."""
    opts = options if options is not None else CheckOptions()
    captures = [load_capture(path, index) for index, path in enumerate(paths)]
    findings: list[Finding] = []
    for tables in captures:
        findings.extend(run_checks(tables, opts))
    diagnoses = diagnose(findings, captures, host)
    return Analysis(captures=captures, findings=findings, diagnoses=diagnoses, host=host)
