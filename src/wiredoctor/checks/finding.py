"""What a check observed: a Finding with a stable code, its evidence and the facts it rests on.

Always holds: a Finding is an observation, not an inference (the inference is a Diagnosis);
`frames` are 1-based frame numbers of `capture`; `facts` holds JSON-serialisable values only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    """How much a finding or diagnosis matters to the user."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True, slots=True, kw_only=True)
class Evidence:
    """Where a finding can be seen: a capture, its frames, and optional byte ranges."""

    capture: str
    """Path of the capture as the user named it."""
    frames: tuple[int, ...] = ()
    """Every 1-based frame the observation rests on."""
    byte_ranges: tuple[tuple[int, int, int], ...] = ()
    """(frame, offset, length) of bytes that show it, for rendering."""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"capture": self.capture, "frames": list(self.frames)}
        if self.byte_ranges:
            out["byte_ranges"] = [list(r) for r in self.byte_ranges]
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """One observation made by a check."""

    code: str
    """Stable code, e.g. `WD101`."""
    symbol: str
    """Stable kebab-case name, e.g. `checksum-offload-partial`."""
    severity: Severity
    message: str
    """One sentence for a person, facts already filled in."""
    evidence: Evidence
    facts: dict[str, Any] = field(default_factory=dict)
    """Machine-readable facts the message was built from (counts, addresses, sizes…)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "symbol": self.symbol,
            "severity": str(self.severity),
            "message": self.message,
            "evidence": self.evidence.to_json(),
            "facts": self.facts,
        }
