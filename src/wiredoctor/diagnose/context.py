"""What a diagnosis rule is and what it reads: the rule record and the inputs it receives.

Always holds: a rule is data (id from CONTRACT.md, title, severity, references) plus one
function from `Inputs` to zero or more Diagnoses; rules never print, never touch the host,
and never raise on odd findings (missing facts are treated as absent).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from wiredoctor.checks.finding import Evidence, Finding, Severity
from wiredoctor.diagnose.diagnosis import Diagnosis, Remedy
from wiredoctor.tables import CaptureTables

if TYPE_CHECKING:  # the host modules load only with host facts
    from wiredoctor.host.facts import HostFacts


@dataclass(frozen=True, slots=True, kw_only=True)
class Inputs:
    """Everything the rules may read."""

    findings: tuple[Finding, ...]
    """Every finding of every capture."""
    captures: tuple[CaptureTables, ...]
    """The captures the findings came from."""
    host: HostFacts | None
    """Host facts when given (live, files or a snapshot)."""

    def with_symbol(self, *symbols: str) -> list[Finding]:
        """Findings whose symbol is one of `symbols`, in input order."""
        return [f for f in self.findings if f.symbol in symbols]

    def by_capture(self, *symbols: str) -> dict[str, list[Finding]]:
        """Findings with these symbols grouped by capture path (input order kept)."""
        out: dict[str, list[Finding]] = {}
        for f in self.with_symbol(*symbols):
            out.setdefault(f.evidence.capture, []).append(f)
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    """One kind of inference: a diagnosis id and how to reach it."""

    id: str
    """Diagnosis id from CONTRACT.md."""
    title: str
    """One line naming the cause."""
    severity: Severity
    """Default severity (a rule may lower or raise it per case and says so in its function)."""
    references: tuple[str, ...]
    """RFCs and kernel documents the mechanism rests on."""
    infer: Callable[[Inputs], list[Diagnosis]]
    """The inference: zero or more diagnoses from the inputs."""


def fact(finding: Finding, key: str, default: Any = None) -> Any:
    """A finding fact, `default` when absent or None."""
    value = finding.facts.get(key)
    return default if value is None else value


def count(finding: Finding, key: str = "count") -> int:
    """An integer fact (0 when absent or not a number)."""
    value = finding.facts.get(key)
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def strings(findings: Iterable[Finding], key: str) -> list[str]:
    """The union of list-of-string facts `key`, first-seen order."""
    out: list[str] = []
    for f in findings:
        values = f.facts.get(key) or []
        for v in values if isinstance(values, list | tuple) else [values]:
            if str(v) not in out:
                out.append(str(v))
    return out


def frames(findings: Iterable[Finding]) -> tuple[int, ...]:
    """Every frame the findings rest on, sorted and unique."""
    return tuple(sorted({n for f in findings for n in f.evidence.frames}))


def make(
    rule: Rule,
    *,
    capture: str,
    frame_list: Sequence[int] = (),
    confidence: float,
    explanation: str,
    remedies: Sequence[Remedy] = (),
    severity: Severity | None = None,
    title: str | None = None,
    facts: dict[str, Any] | None = None,
) -> Diagnosis:
    """A Diagnosis for `rule` with its defaults filled in and confidence clamped to [0, 1]."""
    return Diagnosis(
        id=rule.id,
        severity=severity if severity is not None else rule.severity,
        confidence=max(0.0, min(1.0, confidence)),
        title=title or rule.title,
        explanation=explanation,
        evidence=Evidence(capture=capture, frames=tuple(sorted(set(frame_list)))),
        remedies=tuple(remedies),
        facts=dict(facts or {}),
    )


def join(items: Iterable[str], word: str = "and") -> str:
    """`a`, `a and b`, `a, b and c`."""
    seq = [str(x) for x in items]
    if len(seq) <= 1:
        return "".join(seq)
    return f"{', '.join(seq[:-1])} {word} {seq[-1]}"
