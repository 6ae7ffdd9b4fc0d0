"""Incremental checksum update (RFC 1624), for devices that rewrite a field in flight.

A middlebox that clamps the TCP MSS or rewrites an address need not re-sum the whole
segment: RFC 1624 eqn. 3 derives the new checksum from the old one and the changed words.
Getting the carries wrong is a classic bug (the result is then off by one in some packets,
not all); `naive_update_twos_complement` reproduces that bug so tests and diagnoses can show
the difference.

Always holds: every function returns a 16-bit value; `incremental_update` equals full
recomputation whenever the old checksum was correct for the old data (RFC 1624 §3), and a
wrong old checksum stays wrong by the same amount (the update does not repair).
"""

from __future__ import annotations

from wiredoctor.checksum.arith import fold
from wiredoctor.errors import UsageError


def _words(data: bytes) -> list[int]:
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]


def _check_lengths(old_bytes: bytes, new_bytes: bytes) -> None:
    if len(old_bytes) != len(new_bytes) or len(old_bytes) % 2:
        raise UsageError(
            "incremental checksum update needs old and new bytes of the same even length "
            f"(16-bit aligned), got {len(old_bytes)} and {len(new_bytes)}"
        )


def incremental_update(old_checksum: int, old_bytes: bytes, new_bytes: bytes) -> int:
    """The checksum after `old_bytes` (16-bit aligned in the covered data) became `new_bytes`.

    RFC 1624 §3 eqn. 3: HC' = ~(~HC + ~m + m'), summed over every changed 16-bit word.
    The changed range must not include the checksum field itself. Raises `UsageError` when
    the two byte strings differ in length or have an odd length (pass an aligned window).
    """
    _check_lengths(old_bytes, new_bytes)
    total = (~old_checksum) & 0xFFFF
    for old_word, new_word in zip(_words(old_bytes), _words(new_bytes), strict=True):
        total += ((~old_word) & 0xFFFF) + new_word
    return (~fold(total)) & 0xFFFF


def rfc1141_update(old_checksum: int, old_bytes: bytes, new_bytes: bytes) -> int:
    """RFC 1141's form HC' = HC + m + ~m' (ones' complement), which RFC 1624 §4 corrects.

    It differs from eqn. 3 only in which encoding of zero it yields: where the correct
    result is 0x0000 it can produce 0xFFFF (RFC 1624 §4); kept to show that edge.
    """
    _check_lengths(old_bytes, new_bytes)
    total = old_checksum & 0xFFFF
    for old_word, new_word in zip(_words(old_bytes), _words(new_bytes), strict=True):
        total += old_word + ((~new_word) & 0xFFFF)
    return fold(total)


def naive_update_twos_complement(old_checksum: int, old_bytes: bytes, new_bytes: bytes) -> int:
    """The broken update: HC + m - m' in 16-bit two's complement, carries and borrows dropped.

    Ones' complement arithmetic needs the end-around carry (RFC 1071 §2 (A)); dropping it
    loses one whenever the addition overflows without a matching borrow, so the result is
    off by one in some packets and right in others — the pattern an MSS-clamping tunnel
    showed (0x0301 written where 0x0302 was due).
    """
    _check_lengths(old_bytes, new_bytes)
    value = old_checksum & 0xFFFF
    for old_word, new_word in zip(_words(old_bytes), _words(new_bytes), strict=True):
        value = (value + old_word - new_word) & 0xFFFF
    return value


def aligned_window(start: int, end: int) -> tuple[int, int]:
    """The smallest 16-bit aligned byte range [a, b) that covers [start, end).

    Offsets are relative to the start of the checksummed data (even offsets start words).
    """
    return start & ~1, end + (end & 1)
