"""Fault injection for the benchmark generator: wrong checksums of every cause, written into
the checksum field alone, with the ground truth of what was written where.

Always holds: an injected value is classified as exactly the intended cause by the order a
verifier uses (zero, offload-partial, offload-partial-nolen, off-by-one, corrupt; CONTRACT.md
`cause`); a draw that would be ambiguous (e.g. an off-by-one value that equals the
pseudo-header sum) is not injected at all, so the truth never claims what the bytes do not
show. At most one field per unit is made wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from gen_layers import Built, Slot

I64 = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True, kw_only=True)
class Faults:
    """What was injected into one builder's units, one entry per fault."""

    unit: I64
    """Index of the unit (row) that carries the fault."""
    verdict_frame: I64
    """Frame of the unit the verdict is reported on."""
    proto: list[str]
    cause: list[str]
    value: I64
    """The field as written."""
    expected: I64
    """The correct value."""


def _nope(n: int) -> I64:
    return np.full(n, -1, dtype=np.int64)


def _values(
    cause: str, slot: Slot, units: I64, rng: np.random.Generator
) -> tuple[I64, npt.NDArray[np.bool_]]:
    """The field value to write for `cause` on `units`, and which of them are unambiguous."""
    n = units.shape[0]
    e = slot.expected[units]
    p = slot.partial[units] if slot.partial is not None else _nope(n)
    q = slot.nolen[units] if slot.nolen is not None else _nope(n)
    # 0 and 0xFFFF are the same number in ones' complement (RFC 1624 §3): keep clear of them.
    ok = (e != 0) & (e != 0xFFFF)
    if cause == "offload-partial":
        v = p.copy()
        ok &= (v > 0) & (v != e)
    elif cause == "offload-partial-nolen":
        v = q.copy()
        ok &= (v > 0) & (v != e) & (v != p)
    elif cause == "off-by-one":
        # For e in 1..0xFFFE the ones'-complement neighbours are e - 1 and e + 1.
        up = rng.integers(0, 2, n).astype(bool)
        v = np.where(up, e + 1, e - 1)
        bad = (v == 0) | (v == 0xFFFF) | (v == p) | (v == q)
        v = np.where(bad, np.where(up, e - 1, e + 1), v)
        ok &= (v > 0) & (v < 0xFFFF) & (v != p) & (v != q)
    elif cause == "zero":
        v = np.zeros(n, dtype=np.int64)
    else:
        v = np.asarray(rng.integers(1, 0xFFFF, n), dtype=np.int64)
        for _ in range(8):
            clash = (v == e) | (v == p) | (v == q) | (v == e + 1) | (v == e - 1)
            if not clash.any():
                break
            v = np.where(clash, rng.integers(1, 0xFFFF, n), v)
        ok &= (v != e) & (v != p) & (v != q) & (v != e + 1) & (v != e - 1)
    return v, ok


def inject(built: Built, rate: float, rng: np.random.Generator) -> Faults:
    """Make about `rate` of the units carry one wrong checksum; write them into the rows."""
    n = built.frames[0].shape[0]
    pairs = [(s, cause) for s in built.slots for cause in s.causes]
    hit = np.flatnonzero(rng.random(n) < rate)
    if not pairs or hit.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Faults(
            unit=empty, verdict_frame=empty, proto=[], cause=[], value=empty, expected=empty
        )
    choice = rng.integers(0, len(pairs), hit.size)
    units: list[I64] = []
    frames: list[I64] = []
    values: list[I64] = []
    expected: list[I64] = []
    protos: list[str] = []
    causes: list[str] = []
    for index, (slot, cause) in enumerate(pairs):
        chosen = hit[choice == index]
        if chosen.size == 0:
            continue
        v, ok = _values(cause, slot, chosen, rng)
        chosen, v = chosen[ok], v[ok]
        rows = built.frames[slot.frame]
        rows[chosen, slot.field_off] = (v >> 8).astype(np.uint8)
        rows[chosen, slot.field_off + 1] = (v & 0xFF).astype(np.uint8)
        units.append(chosen)
        frames.append(np.full(chosen.size, slot.verdict_frame, dtype=np.int64))
        values.append(v)
        expected.append(slot.expected[chosen])
        protos += [slot.proto] * chosen.size
        causes += [cause] * chosen.size
    return Faults(
        unit=np.concatenate(units),
        verdict_frame=np.concatenate(frames),
        proto=protos,
        cause=causes,
        value=np.concatenate(values),
        expected=np.concatenate(expected),
    )
