"""What wiredoctor concludes: a Diagnosis with cause, confidence, mechanism and remedies.

Always holds: `id` is one of the ids in CONTRACT.md; `confidence` is in [0, 1];
`evidence.frames` lists every frame the diagnosis rests on; remedies name real interfaces
when host facts are known and never run anything themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from wiredoctor.checks.finding import Evidence, Severity


@dataclass(frozen=True, slots=True, kw_only=True)
class Remedy:
    """One thing the user can do, with the exact command when there is one."""

    description: str
    command: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"description": self.description, "command": self.command}


@dataclass(frozen=True, slots=True, kw_only=True)
class Diagnosis:
    """One inferred cause."""

    id: str
    severity: Severity
    confidence: float
    title: str
    explanation: str
    """The mechanism in plain words: why the packets look like this."""
    evidence: Evidence
    remedies: tuple[Remedy, ...] = ()
    facts: dict[str, Any] = field(default_factory=dict)
    """Machine-readable details (e.g. largest_answered, smallest_unanswered, mapping)."""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "severity": str(self.severity),
            "confidence": round(self.confidence, 2),
            "title": self.title,
            "explanation": self.explanation,
            "evidence": {**self.evidence.to_json(), **self.facts},
            "remedies": [r.to_json() for r in self.remedies],
        }
        return out
