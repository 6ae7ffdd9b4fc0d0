"""The diagnosis engine: run every rule over the findings, captures and host facts.

Always holds: the result is deterministic for the same inputs; diagnoses come sorted with
the most severe first, then by confidence, then by id; a diagnosis of severity warning or
error means the command exits 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from wiredoctor.checks.finding import Finding, Severity
from wiredoctor.diagnose.context import Inputs
from wiredoctor.diagnose.diagnosis import Diagnosis
from wiredoctor.diagnose.rules import RULES
from wiredoctor.tables import CaptureTables

if TYPE_CHECKING:  # the host modules load only with host facts
    from wiredoctor.host.facts import HostFacts

_SEVERITY_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


def diagnose(
    findings: Sequence[Finding],
    captures: Sequence[CaptureTables],
    host: HostFacts | None,
) -> list[Diagnosis]:
    """Every diagnosis the rules reach, most severe first."""
    inputs = Inputs(findings=tuple(findings), captures=tuple(captures), host=host)
    out: list[Diagnosis] = []
    for rule in RULES:
        out.extend(rule.infer(inputs))
    out.sort(key=lambda d: (_SEVERITY_ORDER[d.severity], -d.confidence, d.id, d.evidence.capture))
    return out


def has_problems(diagnoses: Sequence[Diagnosis]) -> bool:
    """True when any diagnosis is a warning or an error (exit status 1)."""
    return any(d.severity in (Severity.WARNING, Severity.ERROR) for d in diagnoses)
