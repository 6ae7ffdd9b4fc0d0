"""Checksum occurrences of one decoded frame, as rows of `tables.CHECKSUM_DTYPE`.

Which bytes each checksum covers, and when it is not judged at all:

* IPv4 header: the IHL*4 header bytes (RFC 791 §3.1). Always judged (a decoded IPv4 header
  is whole).
* TCP, ICMP, ICMPv6, IGMP, GRE: the upper-layer length the IP header gives (total length -
  header - extension headers; derived from the frame for IPv4 total length 0 and IPv6
  jumbograms). TCP, UDP, UDP-Lite and ICMPv6 add the pseudo-header with the final destination
  (IPv4 source route, IPv6 routing header with segments left; RFC 8200 §8.1).
* UDP: the UDP length field when 8 <= it <= the IP payload length (0 over IPv6 with a
  jumbogram means the IP payload length, RFC 2675 §4); otherwise unverified.
* UDP-Lite: the coverage field (0 = the whole datagram, RFC 3828 §3.1); the pseudo-header
  length is the IP payload length; a coverage below 8 or beyond the datagram is illegal.
* GRE: only when the C bit is set; the GRE header and everything after it (RFC 2784 §2.5).

Statuses decided before arithmetic: bytes missing -> unverified (Note.SNAPLEN when the capture
cut the frame, caplen < wirelen); the IP length beyond what encloses it -> unverified; TCP
quoted inside an ICMP error -> unverified (as Wireshark); UDP 0 over IPv4 -> not-present, over
IPv6 -> illegal; UDP-Lite 0 -> illegal. Everything else goes to `checksum.judge.judge`.

Always holds: `value` is -1 only when the field itself was not captured; `expected` is -1
exactly when the covered bytes were not all available; `partial` is the folded pseudo-header
sum (with the length used) for TCP/UDP/UDP-Lite/ICMPv6 and -1 otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

from wiredoctor.checksum.arith import ones_sum
from wiredoctor.checksum.judge import judge, pseudo_header_sum
from wiredoctor.checksum.verdict import Cause, Note, Proto, Status
from wiredoctor.decode.ipv4 import IPv4
from wiredoctor.ipproto import IpProto

UPPER_PROTO: dict[int, Proto] = {
    IpProto.TCP: Proto.TCP,
    IpProto.UDP: Proto.UDP,
    IpProto.UDPLITE: Proto.UDPLITE,
    IpProto.ICMP: Proto.ICMP,
    IpProto.ICMPV6: Proto.ICMPV6,
    IpProto.IGMP: Proto.IGMP,
    IpProto.GRE: Proto.GRE,
}
"""Upper-layer protocols with a checksum, by IP protocol number."""

FIELD_OFFSET: dict[Proto, int] = {
    Proto.TCP: 16,
    Proto.UDP: 6,
    Proto.UDPLITE: 6,
    Proto.ICMP: 2,
    Proto.ICMPV6: 2,
    Proto.IGMP: 2,
    Proto.GRE: 4,
}
"""Where the checksum field sits in each upper-layer header."""

PSEUDO_HEADER = frozenset({Proto.TCP, Proto.UDP, Proto.UDPLITE, Proto.ICMPV6})
"""Protocols whose checksum covers a pseudo-header."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Occurrence:
    """One checksum row before it gets its frame number, capture and depth."""

    proto: Proto
    """Whose checksum."""
    status: Status
    """Verdict."""
    cause: Cause = Cause.NONE
    """Why bad."""
    note: Note = Note.NONE
    """Extra facts."""
    value: int = -1
    """The field as captured."""
    expected: int = -1
    """The correct value."""
    partial: int = -1
    """Folded pseudo-header sum."""
    field_off: int = -1
    """Offset of the field in the frame."""
    length: int = -1
    """Bytes covered."""


def ipv4_header(data: bytes, ip: IPv4) -> Occurrence:
    """The IPv4 header checksum occurrence (the header is whole in `data`)."""
    start, size = ip.offset, ip.header_length
    rest = ones_sum(data[start : start + 10] + b"\x00\x00" + data[start + 12 : start + size])
    verdict = judge(ip.checksum, rest, None, None)
    return Occurrence(
        proto=Proto.IPV4,
        status=verdict.status,
        cause=verdict.cause,
        note=verdict.note,
        value=ip.checksum,
        expected=verdict.expected,
        field_off=start + 10,
        length=size,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class UpperContext:
    """What an upper-layer checksum needs from its IP datagram."""

    source: bytes
    """Pseudo-header source."""
    destination: bytes
    """Pseudo-header destination (the final one)."""
    wire_destination: bytes
    """The IP destination field, to note when the final destination differs."""
    ipv6: bool
    """Carried over IPv6 (UDP checksum 0 is illegal there)."""
    length: int
    """Upper-layer length by the IP header."""
    available: int
    """Upper-layer bytes present in `data` from the header on."""
    snaplen: bool
    """The capture cut this frame (caplen < wirelen)."""
    length_lie: bool
    """The IP length exceeds what encloses it."""
    quoted: bool
    """Inside an ICMP error message."""
    field_base: int
    """Added to the header offset to give `field_off` (-1 disables: the bytes are not in
    this frame, as for a reassembled datagram completed by a later fragment)."""


def upper_layer(proto: Proto, data: bytes, offset: int, ctx: UpperContext) -> Occurrence:
    """The checksum occurrence of the upper-layer header at `offset` in `data`."""
    field = offset + FIELD_OFFSET[proto]
    field_off = -1 if ctx.field_base < 0 else ctx.field_base + field
    present = offset + ctx.available
    value = int.from_bytes(data[field : field + 2], "big") if field + 2 <= present else -1
    length = ctx.length
    pseudo_length = ctx.length
    status: Status | None = None
    note = Note.NONE
    if proto == Proto.UDP and present >= offset + 6:
        stated = int.from_bytes(data[offset + 4 : offset + 6], "big")
        if stated == 0 and ctx.ipv6 and ctx.length > 0xFFFF:
            stated = ctx.length  # RFC 2675 §4: UDP length 0 in a jumbogram
        if 8 <= stated <= ctx.length:
            length = pseudo_length = stated
        else:
            status = Status.UNVERIFIED
    elif proto == Proto.UDPLITE and present >= offset + 6:
        coverage = int.from_bytes(data[offset + 4 : offset + 6], "big")
        if coverage == 0:
            coverage = ctx.length
        if not 8 <= coverage <= ctx.length:
            status = Status.ILLEGAL  # RFC 3828 §3.1: such datagrams must be discarded
        length = coverage
    partial = -1
    nolen: int | None = None
    if proto in PSEUDO_HEADER:
        protocol = _IP_PROTO[proto]
        partial = pseudo_header_sum(ctx.source, ctx.destination, protocol, pseudo_length)
        nolen = pseudo_header_sum(ctx.source, ctx.destination, protocol, 0)
        if ctx.destination != ctx.wire_destination:
            note |= Note.FINAL_DESTINATION
    if status is None:
        if value == 0 and proto == Proto.UDP:
            status = Status.ILLEGAL if ctx.ipv6 else Status.NOT_PRESENT
        elif value == 0 and proto == Proto.UDPLITE:
            status = Status.ILLEGAL
        elif (ctx.quoted and proto == Proto.TCP) or ctx.length_lie:
            status = Status.UNVERIFIED
    complete = value >= 0 and ctx.available >= length >= 0
    if not complete:
        if status is None or status == Status.NOT_PRESENT:
            status = status or Status.UNVERIFIED
        if ctx.snaplen:
            note |= Note.SNAPLEN
        return Occurrence(
            proto=proto,
            status=status,
            note=note,
            value=value,
            partial=partial,
            field_off=field_off if value >= 0 else -1,
            length=length,
        )
    covered = data[offset:field] + b"\x00\x00" + data[field + 2 : offset + length]
    verdict = judge(
        value,
        ones_sum(covered),
        partial if proto in PSEUDO_HEADER else None,
        nolen,
        zero_as_ffff=proto in (Proto.UDP, Proto.UDPLITE),
    )
    if status is not None:
        return Occurrence(
            proto=proto,
            status=status,
            note=note,
            value=value,
            expected=verdict.expected,
            partial=partial,
            field_off=field_off,
            length=length,
        )
    return Occurrence(
        proto=proto,
        status=verdict.status,
        cause=verdict.cause,
        note=note | verdict.note,
        value=value,
        expected=verdict.expected,
        partial=partial,
        field_off=field_off,
        length=length,
    )


def unverified_fragment(proto: Proto, data: bytes, offset: int, available: int) -> Occurrence:
    """The entry of a first fragment: its L4 verdict waits for reassembly."""
    field = offset + FIELD_OFFSET[proto]
    if FIELD_OFFSET[proto] + 2 <= available:
        value = int.from_bytes(data[field : field + 2], "big")
        return Occurrence(proto=proto, status=Status.UNVERIFIED, value=value, field_off=field)
    return Occurrence(proto=proto, status=Status.UNVERIFIED)


_IP_PROTO: dict[Proto, int] = {
    Proto.TCP: IpProto.TCP,
    Proto.UDP: IpProto.UDP,
    Proto.UDPLITE: IpProto.UDPLITE,
    Proto.ICMPV6: IpProto.ICMPV6,
}
