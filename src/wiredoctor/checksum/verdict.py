"""Verdict vocabulary shared by both speeds: protocols, statuses, causes, notes.

Statuses are Wireshark's five. Causes say why a bad checksum is bad. The integer values
are the codes stored in the columnar tables and must never be renumbered.
"""

from __future__ import annotations

from enum import IntEnum, IntFlag


class Proto(IntEnum):
    """Which checksum: the protocol whose field it is."""

    IPV4 = 1
    TCP = 2
    UDP = 3
    UDPLITE = 4
    ICMP = 5
    ICMPV6 = 6
    IGMP = 7
    GRE = 8


PROTO_NAMES: dict[int, str] = {
    Proto.IPV4: "ipv4",
    Proto.TCP: "tcp",
    Proto.UDP: "udp",
    Proto.UDPLITE: "udplite",
    Proto.ICMP: "icmp",
    Proto.ICMPV6: "icmpv6",
    Proto.IGMP: "igmp",
    Proto.GRE: "gre",
}


class Status(IntEnum):
    """Wireshark's five checksum statuses."""

    GOOD = 0
    BAD = 1
    UNVERIFIED = 2
    NOT_PRESENT = 3
    ILLEGAL = 4


STATUS_NAMES: dict[int, str] = {
    Status.GOOD: "good",
    Status.BAD: "bad",
    Status.UNVERIFIED: "unverified",
    Status.NOT_PRESENT: "not-present",
    Status.ILLEGAL: "illegal",
}


class Cause(IntEnum):
    """Why a bad checksum is bad (NONE unless the status is BAD)."""

    NONE = 0
    OFFLOAD_PARTIAL = 1
    """Field = folded pseudo-header sum: Linux CHECKSUM_PARTIAL, captured before the NIC."""
    OFFLOAD_PARTIAL_NOLEN = 2
    """Field = pseudo-header sum without the length: Windows LSO / IPv4 total length 0."""
    OFF_BY_ONE = 3
    """Field = correct value ± 1 in ones' complement: a broken incremental update."""
    ZERO = 4
    """Field 0 where a checksum was due."""
    CORRUPT = 5
    """None of the above."""


CAUSE_NAMES: dict[int, str | None] = {
    Cause.NONE: None,
    Cause.OFFLOAD_PARTIAL: "offload-partial",
    Cause.OFFLOAD_PARTIAL_NOLEN: "offload-partial-nolen",
    Cause.OFF_BY_ONE: "off-by-one",
    Cause.ZERO: "zero",
    Cause.CORRUPT: "corrupt",
}


class Note(IntFlag):
    """Extra facts about one checksum occurrence (bits in the table's `note` column)."""

    NONE = 0
    FFFF_FOR_ZERO = 1
    """Field 0xFFFF where 0x0000 was computed: the same value in ones' complement; good."""
    FROM_TEXT = 2
    """Verdict taken from printed fields (tcpdump text), not from packet bytes."""
    FINAL_DESTINATION = 4
    """The pseudo-header used a routing-header final destination that differs from ip.dst."""
    REASSEMBLED = 8
    """Verified over a reassembled datagram; reported on the completing fragment."""
    SNAPLEN = 16
    """Unverified because the capture cut the bytes (caplen < wirelen)."""


def _plus(value: int, delta: int) -> int:
    total = value + delta
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def classify_cause(value: int, expected: int, partial: int, partial_nolen: int | None) -> Cause:
    """Name why `value` is not `expected` (call only for a bad checksum).

    `partial` is the folded pseudo-header sum for this occurrence, `partial_nolen` the same
    without the length (None where that variant does not apply). Order matters: a zero field
    is ZERO even when a partial sum happens to be zero.
    """
    if value == 0:
        return Cause.ZERO
    if value == partial:
        return Cause.OFFLOAD_PARTIAL
    if partial_nolen is not None and value == partial_nolen:
        return Cause.OFFLOAD_PARTIAL_NOLEN
    near = {
        (expected + 1) & 0xFFFF,
        (expected - 1) & 0xFFFF,
        _plus(expected, 1),
        _plus(expected, 0xFFFE),
    }
    if value in near:
        return Cause.OFF_BY_ONE
    return Cause.CORRUPT
