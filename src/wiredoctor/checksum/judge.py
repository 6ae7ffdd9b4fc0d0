"""Judge one checksum occurrence: status, cause, note and the expected value.

The verifier (both speeds) reduces every checksum to three numbers and calls `judge`:
the folded sum of the covered bytes with the checksum field taken as zero, the pseudo-header
sum (TCP, UDP, UDP-Lite, ICMPv6; None for the rest) and the value in the field.

Always holds, for a covered region that was fully captured:
* expected = ~fold(rest_sum + pseudo) & 0xFFFF, except that a computed 0 is sent as 0xFFFF
  by UDP and UDP-Lite (RFC 768, RFC 3828 §3.1);
* good exactly when fold(rest_sum + pseudo + value) == 0xFFFF (the receiver's test,
  RFC 1071 §2); a field of 0xFFFF where 0x0000 was computed is therefore good too, with
  `Note.FFFF_FOR_ZERO` (RFC 1624 §3: -0 and +0 are the same number);
* a bad occurrence gets its cause from `classify_cause` in that order: zero, offload-partial
  (field == pseudo-header sum), offload-partial-nolen (field == pseudo-header sum without the
  length), off-by-one, corrupt.
"""

from __future__ import annotations

from dataclasses import dataclass

from wiredoctor.checksum.arith import fold, ones_sum
from wiredoctor.checksum.verdict import Cause, Note, Status, classify_cause


@dataclass(frozen=True, slots=True, kw_only=True)
class Judgement:
    """The verdict on one checksum field."""

    status: Status
    """GOOD or BAD (the other statuses are decided before any arithmetic)."""
    cause: Cause
    """Why it is bad; NONE when good."""
    note: Note
    """FFFF_FOR_ZERO when good only through the other zero."""
    expected: int
    """The value the field should hold."""


def pseudo_header_sum(src: bytes, dst: bytes, protocol: int, length: int) -> int:
    """Folded pseudo-header sum for either IP version (chosen by the address length).

    RFC 793 §3.1 / RFC 768 (IPv4: protocol and a 16-bit length) and RFC 8200 §8.1 (IPv6: a
    32-bit length and the next header); both reduce to the same ones'-complement sum of the
    addresses, the protocol and the length, so one formula serves both. A length above
    0xFFFF (TSO, BIG TCP) is added as a 32-bit quantity, as Linux does.
    """
    return fold(ones_sum(src) + ones_sum(dst) + protocol + (length >> 16) + (length & 0xFFFF))


def judge(
    value: int,
    rest_sum: int,
    pseudo: int | None,
    pseudo_nolen: int | None,
    *,
    zero_as_ffff: bool = False,
) -> Judgement:
    """Judge `value` against covered bytes summing to `rest_sum` (field taken as zero).

    `pseudo` is the pseudo-header sum with the length, `pseudo_nolen` without it (None where
    the protocol has no pseudo-header). `zero_as_ffff` is set for UDP and UDP-Lite.
    """
    total = fold(rest_sum + (pseudo or 0))
    expected = (~total) & 0xFFFF
    if zero_as_ffff and expected == 0:
        expected = 0xFFFF
    if fold(total + value) == 0xFFFF:
        note = Note.FFFF_FOR_ZERO if value != expected else Note.NONE
        return Judgement(status=Status.GOOD, cause=Cause.NONE, note=note, expected=expected)
    cause = classify_cause(value, expected, -1 if pseudo is None else pseudo, pseudo_nolen)
    return Judgement(status=Status.BAD, cause=cause, note=Note.NONE, expected=expected)
