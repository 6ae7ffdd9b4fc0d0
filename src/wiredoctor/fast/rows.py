"""Checksum rows in the kernels: judge one checksum field and append its row to the table.

Mirrors `checksum.judge.judge` and `decode.checksums` (`ipv4_header`, `upper_layer`): a field
is good when the ones'-complement sum over the covered bytes, the field and the pseudo-header
is all ones (RFC 1071 §3, so 0xFFFF for a computed 0x0000 passes, noted); UDP and UDP-Lite
send a computed 0 as 0xFFFF (RFC 768, RFC 3828 §3.1); a bad field gets the cause
`checksum.verdict.classify_cause` gives. Bytes missing make the row unverified; UDP 0 over
IPv4 is not-present, over IPv6 (and UDP-Lite 0) illegal.

Always holds: codes written are the `checksum.verdict` integer values; `value` is -1 only
when the field itself was not captured, `expected` -1 exactly when the covered bytes were
not all available; frame and capture columns are filled by the caller.
"""

from __future__ import annotations

import numpy as np

from wiredoctor.checksum.verdict import Cause, Note, Proto, Status
from wiredoctor.fast.jit import Bytes, Int, Table, helper
from wiredoctor.fast.wire import fold, ones_sum, u16

GOOD = int(Status.GOOD)
BAD = int(Status.BAD)
UNVERIFIED = int(Status.UNVERIFIED)
NOT_PRESENT = int(Status.NOT_PRESENT)
ILLEGAL = int(Status.ILLEGAL)
UNDECIDED = -1  # no status decided before the arithmetic

CAUSE_NONE = int(Cause.NONE)
OFFLOAD_PARTIAL = int(Cause.OFFLOAD_PARTIAL)
OFFLOAD_PARTIAL_NOLEN = int(Cause.OFFLOAD_PARTIAL_NOLEN)
OFF_BY_ONE = int(Cause.OFF_BY_ONE)
ZERO = int(Cause.ZERO)
CORRUPT = int(Cause.CORRUPT)

NOTE_FFFF_FOR_ZERO = int(Note.FFFF_FOR_ZERO)
NOTE_FINAL_DESTINATION = int(Note.FINAL_DESTINATION)
NOTE_SNAPLEN = int(Note.SNAPLEN)

P_IPV4 = int(Proto.IPV4)
P_TCP = int(Proto.TCP)
P_UDP = int(Proto.UDP)
P_UDPLITE = int(Proto.UDPLITE)
P_ICMPV6 = int(Proto.ICMPV6)
P_GRE = int(Proto.GRE)


@helper
def classify(value: Int, expected: Int, partial: Int, partial_nolen: Int) -> Int:
    """`checksum.verdict.classify_cause`; `partial_nolen` -1 stands for None."""
    if value == 0:
        return ZERO
    if value == partial:
        return OFFLOAD_PARTIAL
    if partial_nolen >= 0 and value == partial_nolen:
        return OFFLOAD_PARTIAL_NOLEN
    if value == ((expected + 1) & 0xFFFF) or value == ((expected - 1) & 0xFFFF):
        return OFF_BY_ONE
    if value == fold(expected + 1) or value == fold(expected + 0xFFFE):
        return OFF_BY_ONE
    return CORRUPT


@helper
def emit(
    ck: Table,
    n: Int,
    proto: Int,
    depth: Int,
    status: Int,
    cause: Int,
    note: Int,
    value: Int,
    expected: Int,
    partial: Int,
    field_off: Int,
    length: Int,
) -> Int:
    """Write checksum row `n`; returns n + 1."""
    row = ck[n]
    row.proto = proto
    row.depth = depth
    row.status = status
    row.cause = cause
    row.note = note
    row.value = value
    row.expected = expected
    row.partial = partial
    row.field_off = field_off
    row.l4_len = length
    return n + 1


@helper
def _rest(buf: Bytes, base: Int, cap: Int, lo: Int, hi: Int, field: Int) -> Int:
    """Folded sum of [lo, hi) with the 2-byte field at `field` taken as zero.

    Both pieces start an even number of bytes after `lo`, so their sums simply add.
    """
    return fold(ones_sum(buf, base, cap, lo, field) + ones_sum(buf, base, cap, field + 2, hi))


@helper
def ipv4_row(
    ck: Table, n: Int, buf: Bytes, base: Int, cap: Int, off: Int, hlen: Int, depth: Int
) -> Int:
    """The IPv4 header checksum row (the header is wholly captured)."""
    value = u16(buf, base, cap, off + 10)
    total = _rest(buf, base, cap, off, off + hlen, off + 10)
    expected = (~total) & 0xFFFF
    absent: Int = np.int64(-1)
    status: Int = np.int64(GOOD)
    cause: Int = np.int64(CAUSE_NONE)
    note: Int = np.int64(0)
    if fold(total + value) == 0xFFFF:
        if value != expected:
            note = np.int64(NOTE_FFFF_FOR_ZERO)
    else:
        status = np.int64(BAD)
        cause = classify(value, expected, absent, absent)
    return emit(
        ck, n, np.int64(P_IPV4), depth, status, cause, note, value, expected, absent, off + 10, hlen
    )


@helper
def fragment_row(
    ck: Table, n: Int, buf: Bytes, base: Int, cap: Int, proto: Int, depth: Int, off: Int, avail: Int
) -> Int:
    """The row of a first fragment's upper layer: unverified until its datagram is whole,
    with the field's value when captured (`decode.checksums.unverified_fragment`)."""
    if proto == P_TCP:
        at = 16
    elif proto in (P_UDP, P_UDPLITE):
        at = 6
    else:
        at = 2  # ICMP, ICMPv6, IGMP
    value: Int = np.int64(-1)
    field_off: Int = np.int64(-1)
    if at + 2 <= avail:
        value = u16(buf, base, cap, off + at)
        field_off = off + at
    absent: Int = np.int64(-1)
    return emit(
        ck,
        n,
        proto,
        depth,
        np.int64(UNVERIFIED),
        np.int64(CAUSE_NONE),
        np.int64(0),
        value,
        absent,
        absent,
        field_off,
        absent,
    )


@helper
def checksum_field(proto: Int) -> Int:
    """Offset of the checksum field in the upper-layer header `proto`."""
    if proto == P_TCP:
        return 16
    if proto in (P_UDP, P_UDPLITE):
        return 6
    if proto == P_GRE:
        return 4
    return 2  # ICMP, ICMPv6, IGMP


@helper
def covered(proto: Int, v6: bool, value: Int, length: Int, word4: Int) -> tuple[Int, Int, Int]:
    """What the checksum of `proto` covers and a status decided before any sum:
    (covered length, pseudo-header length, status or UNDECIDED). `length` is the upper
    layer's length by IP, `word4` the 16 bits at offset 4 (UDP length, UDP-Lite coverage;
    -1 when not captured), `value` the field (-1 when not captured)."""
    pseudo_length = length
    status: Int = np.int64(UNDECIDED)
    if proto == P_UDP and word4 >= 0:
        if 8 <= word4 <= length:
            length = word4
            pseudo_length = word4
        else:
            status = UNVERIFIED
    elif proto == P_UDPLITE and word4 >= 0:
        coverage = word4 if word4 != 0 else length
        if not 8 <= coverage <= length:
            status = ILLEGAL  # RFC 3828 §3.1: such datagrams are discarded
        length = coverage
    if status == UNDECIDED and value == 0:
        if proto == P_UDP:
            status = ILLEGAL if v6 else NOT_PRESENT
        elif proto == P_UDPLITE:
            status = ILLEGAL
    return length, pseudo_length, status


@helper
def pseudo_sums(addr: Int, ipproto: Int, pseudo_length: Int) -> tuple[Int, Int]:
    """(folded pseudo-header sum, the same without the length) for an address sum."""
    partial = fold(addr + ipproto + (pseudo_length >> 16) + (pseudo_length & 0xFFFF))
    return partial, fold(addr + ipproto)


@helper
def judge_sum(
    rest: Int, value: Int, proto: Int, pseudo: bool, partial: Int, nolen: Int, status: Int,
    note: Int,
) -> tuple[Int, Int, Int, Int]:  # fmt: skip
    """Judge a field `value` against the folded sum `rest` of the bytes it covers (the field
    taken as zero, pseudo-header not yet added): (status, cause, note, expected); a status
    already decided stays."""
    cause: Int = np.int64(CAUSE_NONE)
    if pseudo:
        rest = fold(rest + partial)
    expected = (~rest) & 0xFFFF
    if expected == 0 and (proto in (P_UDP, P_UDPLITE)):
        expected = 0xFFFF
    if status == UNDECIDED:
        if fold(rest + value) == 0xFFFF:
            status = GOOD
            if value != expected:
                note |= NOTE_FFFF_FOR_ZERO
        else:
            status = BAD
            cause = classify(value, expected, partial, nolen)
    return status, cause, note, expected


@helper
def upper_row(
    ck: Table,
    n: Int,
    buf: Bytes,
    base: Int,
    cap: Int,
    proto: Int,
    ipproto: Int,
    depth: Int,
    off: Int,
    length: Int,
    available: Int,
    addr: Int,
    v6: bool,
    final: bool,
    snaplen: bool,
) -> Int:
    """The checksum row of the upper-layer header `proto` at `off`.

    `length` is the upper-layer length by the IP header, `available` the bytes of it that
    were captured, `addr` the pseudo-header address sum (final destination included).
    """
    field = off + checksum_field(proto)
    present = off + available
    value = u16(buf, base, cap, field) if field + 2 <= present else -1
    word4 = u16(buf, base, cap, off + 4) if present >= off + 6 else -1
    length, pseudo_length, status = covered(proto, v6, value, length, word4)
    note: Int = np.int64(0)
    pseudo = proto in (P_TCP, P_UDP, P_UDPLITE, P_ICMPV6)
    partial: Int = np.int64(-1)
    nolen: Int = np.int64(-1)
    if pseudo:
        partial, nolen = pseudo_sums(addr, ipproto, pseudo_length)
        if final:
            note |= NOTE_FINAL_DESTINATION
    expected: Int = np.int64(-1)
    cause: Int = np.int64(CAUSE_NONE)
    field_off = field
    if not (value >= 0 and available >= length >= 0):
        if status == UNDECIDED:
            status = UNVERIFIED
        if snaplen:
            note |= NOTE_SNAPLEN
        if value < 0:
            field_off = -1
    else:
        rest = _rest(buf, base, cap, off, off + length, field)
        status, cause, note, expected = judge_sum(
            rest, value, proto, pseudo, partial, nolen, status, note
        )
    return emit(
        ck, n, proto, depth, status, cause, note, value, expected, partial, field_off, length
    )
