"""RFC 1071 arithmetic: the Internet checksum and the pseudo-header sums it is taken over.

Always holds: every function returns a 16-bit value (0..0xFFFF); sums are folded with
end-around carry; nothing here allocates more than the input it is given.
"""

from __future__ import annotations


def ones_sum(data: bytes | bytearray | memoryview, initial: int = 0) -> int:
    """Folded 16-bit ones'-complement sum of `data` (big-endian words, odd byte padded with 0).

    `initial` is a previous folded sum to continue from (RFC 1071 §2 (B): the sum is
    associative, so parts may be summed separately and added).

    Equal to folding `initial` plus every 16-bit word with end-around carry: the result is 0
    only when `initial` and every word are 0, else in 1..0xFFFF. It is computed as one big
    integer modulo 0xFFFF because 2**16 == 1 (mod 0xFFFF) (RFC 1071 §2 (C), byte-order and
    word-size independence), which keeps super-frames of 64 KiB cheap.
    """
    raw = bytes(data)
    if len(raw) % 2:
        raw += b"\x00"
    words = int.from_bytes(raw, "big")
    if initial == 0 and words == 0:
        return 0
    return (initial + words % 0xFFFF - 1) % 0xFFFF + 1


def fold(total: int) -> int:
    """Fold a wide ones'-complement accumulator to 16 bits with end-around carry."""
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def internet_checksum(data: bytes | bytearray | memoryview, initial: int = 0) -> int:
    """The value to put in a checksum field: ones' complement of the folded sum (RFC 1071).

    `data` must have its checksum field zeroed; `initial` is a pseudo-header sum.
    """
    return (~ones_sum(data, initial)) & 0xFFFF


def verifies(data: bytes | bytearray | memoryview, initial: int = 0) -> bool:
    """True when `data` (checksum field included) sums to all ones, i.e. the checksum holds.

    Both encodings of zero pass: a field of 0xFFFF where 0x0000 was computed verifies,
    as receivers accept it (RFC 1624 §3).
    """
    return ones_sum(data, initial) == 0xFFFF


def pseudo_header_sum_ipv4(src: bytes, dst: bytes, protocol: int, length: int) -> int:
    """Folded sum of the IPv4 pseudo-header (RFC 793 §3.1, RFC 768): src, dst, 0, proto, length.

    `length` is the L4 length (header + data) and may exceed 16 bits only for sums used to
    recognise offload artefacts; it is added as a 32-bit quantity like Linux does.
    """
    total = ones_sum(src) + ones_sum(dst) + protocol + (length >> 16) + (length & 0xFFFF)
    return fold(total)


def pseudo_header_sum_ipv6(src: bytes, dst: bytes, next_header: int, length: int) -> int:
    """Folded sum of the IPv6 pseudo-header (RFC 8200 §8.1): src, final dst, length32, 0, nh.

    `dst` must be the final destination: the last address of a routing header with
    segments left, not the IPv6 destination field.
    """
    total = ones_sum(src) + ones_sum(dst) + (length >> 16) + (length & 0xFFFF) + next_header
    return fold(total)
