"""The small upper-layer headers: UDP, UDP-Lite, ICMP, ICMPv6 and IGMP.

Always holds: UDP, UDP-Lite and IGMP decoders need their 8-byte header, ICMP and ICMPv6 only
the 4 bytes up to the checksum (a short message is still a message whose checksum can be
judged; `rest_of_header` is then None); anything shorter is `Truncated`. Lengths are kept as
stated and judged by the verifier against the enclosing IP header.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

from wiredoctor.decode.values import Truncated


class IcmpType(IntEnum):
    """ICMP types the decoders give meaning to (RFC 792, RFC 1191)."""

    ECHO_REPLY = 0
    DEST_UNREACHABLE = 3
    SOURCE_QUENCH = 4
    REDIRECT = 5
    ECHO_REQUEST = 8
    TIME_EXCEEDED = 11
    PARAMETER_PROBLEM = 12


class Icmpv6Type(IntEnum):
    """ICMPv6 types the decoders give meaning to (RFC 4443)."""

    DEST_UNREACHABLE = 1
    PACKET_TOO_BIG = 2
    TIME_EXCEEDED = 3
    PARAMETER_PROBLEM = 4
    ECHO_REQUEST = 128
    ECHO_REPLY = 129


ICMP_ERRORS = frozenset(
    {
        IcmpType.DEST_UNREACHABLE,
        IcmpType.SOURCE_QUENCH,
        IcmpType.REDIRECT,
        IcmpType.TIME_EXCEEDED,
        IcmpType.PARAMETER_PROBLEM,
    }
)
"""ICMP types that quote the offending datagram after the 8-byte header (RFC 792)."""

ICMPV6_ERRORS = frozenset(
    {
        Icmpv6Type.DEST_UNREACHABLE,
        Icmpv6Type.PACKET_TOO_BIG,
        Icmpv6Type.TIME_EXCEEDED,
        Icmpv6Type.PARAMETER_PROBLEM,
    }
)
"""ICMPv6 error types that quote the offending packet (RFC 4443 §3)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Udp:
    """A UDP header (RFC 768)."""

    offset: int
    """Byte offset of the header in the frame."""
    source_port: int
    """udp.srcport."""
    destination_port: int
    """udp.dstport."""
    length: int
    """udp.length: header plus data."""
    checksum: int
    """udp.checksum (0: none computed, legal over IPv4 only)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class UdpLite:
    """A UDP-Lite header (RFC 3828 §3)."""

    offset: int
    """Byte offset of the header in the frame."""
    source_port: int
    """udplite.srcport."""
    destination_port: int
    """udplite.dstport."""
    checksum_coverage: int
    """udplite.checksum_coverage: bytes covered, 0 = the whole datagram."""
    checksum: int
    """udplite.checksum."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Icmp:
    """An ICMP header (RFC 792): type, code, checksum and the 4-byte rest of header."""

    offset: int
    """Byte offset of the header in the frame."""
    type: int
    """icmp.type."""
    code: int
    """icmp.code."""
    checksum: int
    """icmp.checksum."""
    rest_of_header: int | None
    """The 32 bits after the checksum (identifier/sequence, next-hop MTU, gateway…), None when
    the message is shorter than 8 bytes."""

    @property
    def is_error(self) -> bool:
        """True when the message quotes an offending datagram."""
        return self.type in ICMP_ERRORS

    @property
    def identifier(self) -> int | None:
        """icmp.ident for echo request/reply, else None."""
        if self.rest_of_header is not None and self.type in (
            IcmpType.ECHO_REQUEST,
            IcmpType.ECHO_REPLY,
        ):
            return self.rest_of_header >> 16
        return None

    @property
    def sequence(self) -> int | None:
        """icmp.seq for echo request/reply, else None."""
        if self.rest_of_header is not None and self.type in (
            IcmpType.ECHO_REQUEST,
            IcmpType.ECHO_REPLY,
        ):
            return self.rest_of_header & 0xFFFF
        return None

    @property
    def next_hop_mtu(self) -> int | None:
        """icmp.mtu of fragmentation-needed (type 3 code 4, RFC 1191 §4), else None."""
        if self.rest_of_header is not None and self.type == 3 and self.code == 4:
            return self.rest_of_header & 0xFFFF
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class Icmpv6:
    """An ICMPv6 header (RFC 4443 §2.1) with the 4 bytes that follow the checksum."""

    offset: int
    """Byte offset of the header in the frame."""
    type: int
    """icmpv6.type."""
    code: int
    """icmpv6.code."""
    checksum: int
    """icmpv6.checksum."""
    rest_of_header: int | None
    """The 32 bits after the checksum (identifier/sequence, MTU, pointer…), None when the
    message is shorter than 8 bytes."""

    @property
    def is_error(self) -> bool:
        """True when the message quotes an offending packet."""
        return self.type in ICMPV6_ERRORS

    @property
    def identifier(self) -> int | None:
        """icmpv6.echo.identifier for echo request/reply, else None."""
        if self.rest_of_header is not None and self.type in (128, 129):
            return self.rest_of_header >> 16
        return None

    @property
    def sequence(self) -> int | None:
        """icmpv6.echo.sequence_number for echo request/reply, else None."""
        if self.rest_of_header is not None and self.type in (128, 129):
            return self.rest_of_header & 0xFFFF
        return None

    @property
    def mtu(self) -> int | None:
        """icmpv6.mtu of packet-too-big (RFC 4443 §3.2), else None."""
        if self.rest_of_header is not None and self.type == Icmpv6Type.PACKET_TOO_BIG:
            return self.rest_of_header
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class Igmp:
    """The first 8 bytes of an IGMP message (RFC 2236 §2; v3 reports share the layout)."""

    offset: int
    """Byte offset of the header in the frame."""
    type: int
    """igmp.type."""
    max_response_time: int
    """igmp.max_resp (reserved in v3 reports)."""
    checksum: int
    """igmp.checksum."""
    group: bytes
    """igmp.maddr (v1/v2/v3 query) or reserved + record count (v3 report), 4 bytes."""


def _short(data: bytes, offset: int, layer: str, needed: int = 8) -> Truncated | None:
    available = len(data) - offset
    if available < needed:
        return Truncated(offset=offset, layer=layer, needed=needed, available=max(available, 0))
    return None


def _rest(data: bytes, offset: int) -> int | None:
    if len(data) - offset < 8:
        return None
    return int.from_bytes(data[offset + 4 : offset + 8], "big")


def decode_udp(data: bytes, offset: int) -> Udp | Truncated:
    """The UDP header at `offset`."""
    short = _short(data, offset, "udp")
    if short is not None:
        return short
    sport, dport, length, csum = struct.unpack_from("!HHHH", data, offset)
    return Udp(
        offset=offset, source_port=sport, destination_port=dport, length=length, checksum=csum
    )


def decode_udplite(data: bytes, offset: int) -> UdpLite | Truncated:
    """The UDP-Lite header at `offset`."""
    short = _short(data, offset, "udplite")
    if short is not None:
        return short
    sport, dport, coverage, csum = struct.unpack_from("!HHHH", data, offset)
    return UdpLite(
        offset=offset,
        source_port=sport,
        destination_port=dport,
        checksum_coverage=coverage,
        checksum=csum,
    )


def decode_icmp(data: bytes, offset: int) -> Icmp | Truncated:
    """The ICMP header at `offset`."""
    short = _short(data, offset, "icmp", 4)
    if short is not None:
        return short
    kind, code, csum = struct.unpack_from("!BBH", data, offset)
    rest = _rest(data, offset)
    return Icmp(offset=offset, type=kind, code=code, checksum=csum, rest_of_header=rest)


def decode_icmpv6(data: bytes, offset: int) -> Icmpv6 | Truncated:
    """The ICMPv6 header at `offset`."""
    short = _short(data, offset, "icmpv6", 4)
    if short is not None:
        return short
    kind, code, csum = struct.unpack_from("!BBH", data, offset)
    rest = _rest(data, offset)
    return Icmpv6(offset=offset, type=kind, code=code, checksum=csum, rest_of_header=rest)


def decode_igmp(data: bytes, offset: int) -> Igmp | Truncated:
    """The IGMP header at `offset`."""
    short = _short(data, offset, "igmp")
    if short is not None:
        return short
    kind, maxresp, csum = struct.unpack_from("!BBH", data, offset)
    return Igmp(
        offset=offset,
        type=kind,
        max_response_time=maxresp,
        checksum=csum,
        group=data[offset + 4 : offset + 8],
    )
