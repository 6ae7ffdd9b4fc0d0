"""The IPv6 header (RFC 8200) and its extension headers, and the final destination.

Extension headers decoded: hop-by-hop and destination options (with the jumbo payload option,
RFC 2675), routing types 0, 2, 3 (RPL, RFC 6554) and 4 (SRH, RFC 8754), fragment, and the
authentication header (RFC 4302). ESP ends the chain (its payload is encrypted).

Always holds: each decoder returns its header only when all its stated bytes are in the data
(else `Truncated`); the final destination of a routing header is the address the
upper-layer pseudo-header uses while segments left > 0 (RFC 8200 §8.1).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from wiredoctor.decode.values import BadLength, Truncated
from wiredoctor.ipproto import IpProto

EXTENSION_HEADERS = frozenset(
    {IpProto.HOPOPTS, IpProto.ROUTING, IpProto.FRAGMENT, IpProto.AH, IpProto.DSTOPTS}
)
"""Next-header values that continue the IPv6 chain (and AH, which also appears over IPv4)."""

JUMBO_OPTION = 0xC2
"""Jumbo payload option type (RFC 2675 §2)."""

HOME_ADDRESS_OPTION = 0xC9
"""Home address destination option (RFC 6275 §6.3)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class IPv6:
    """The fixed 40-byte IPv6 header."""

    offset: int
    """Byte offset of the header in the frame."""
    version: int
    """ipv6.version (6)."""
    traffic_class: int
    """ipv6.tclass: DSCP << 2 | ECN."""
    flow_label: int
    """ipv6.flow (20 bits)."""
    payload_length: int
    """ipv6.plen (0 with a jumbo payload option)."""
    next_header: int
    """ipv6.nxt."""
    hop_limit: int
    """ipv6.hlim."""
    source: bytes
    """ipv6.src, 16 bytes."""
    destination: bytes
    """ipv6.dst, 16 bytes, as on the wire."""


@dataclass(frozen=True, slots=True, kw_only=True)
class IPv6Options:
    """A hop-by-hop (type 0) or destination options (type 60) header."""

    offset: int
    """Byte offset of the header."""
    header_type: int
    """0 hop-by-hop, 60 destination options: which next-header value announced it."""
    next_header: int
    """What follows."""
    length_units: int
    """Header length in 8-byte units, not counting the first 8 bytes."""
    options: tuple[tuple[int, bytes], ...]
    """(option type, option data) in order; Pad1 and PadN included."""
    jumbo_payload_length: int | None
    """The jumbo payload length (RFC 2675) when the option is present."""

    @property
    def home_address(self) -> bytes | None:
        """The mobile node's home address of a home address option (RFC 6275 §6.3), if any.

        Upper-layer checksums of such packets use the home address as the pseudo-header
        source (RFC 6275 §6.3: the receiver substitutes it for the source address).
        """
        if self.header_type != IpProto.DSTOPTS:
            return None
        for kind, value in self.options:
            if kind == HOME_ADDRESS_OPTION and len(value) == 16:
                return value
        return None

    @property
    def length(self) -> int:
        """Header length in bytes."""
        return (self.length_units + 1) * 8


@dataclass(frozen=True, slots=True, kw_only=True)
class IPv6Routing:
    """A routing header; `addresses` are the type's address list in wire order."""

    offset: int
    """Byte offset of the header."""
    next_header: int
    """What follows."""
    length_units: int
    """ipv6.routing.len: length in 8-byte units, not counting the first 8 bytes."""
    routing_type: int
    """ipv6.routing.type (0, 2, 3 RPL, 4 SRH, others kept undecoded)."""
    segments_left: int
    """ipv6.routing.segleft."""
    addresses: tuple[bytes, ...]
    """Type 0: the hops; type 2: the home address; type 3: the expanded RPL addresses;
    type 4: the SRH segment list (entry 0 is the final segment)."""
    last_entry: int
    """SRH last entry (type 4), else -1."""
    srh_flags: int
    """SRH flags (type 4), else 0."""
    srh_tag: int
    """SRH tag (type 4), else 0."""

    @property
    def length(self) -> int:
        """Header length in bytes."""
        return (self.length_units + 1) * 8

    @property
    def final_destination(self) -> bytes | None:
        """The pseudo-header destination while segments remain (RFC 8200 §8.1), else None.

        Type 0 and 3: the last address; type 2: the home address (RFC 6275 §6.4);
        type 4: segment list[0] (RFC 8754 §2, the list is in reverse order).
        """
        if self.segments_left == 0 or not self.addresses:
            return None
        if self.routing_type == 4:
            return self.addresses[0]
        if self.routing_type in (0, 2, 3):
            return self.addresses[-1]
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class IPv6Fragment:
    """The IPv6 fragment header (RFC 8200 §4.5)."""

    offset: int
    """Byte offset of the header."""
    next_header: int
    """The upper protocol of the whole datagram."""
    reserved: int
    """Reserved byte."""
    fragment_offset: int
    """ipv6.fraghdr.offset in 8-byte units."""
    more_fragments: bool
    """ipv6.fraghdr.more."""
    identification: int
    """ipv6.fraghdr.ident."""

    @property
    def length(self) -> int:
        """Header length in bytes (always 8)."""
        return 8

    @property
    def is_fragment(self) -> bool:
        """False for an atomic fragment (offset 0, no more fragments: RFC 8021)."""
        return self.more_fragments or self.fragment_offset != 0


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthenticationHeader:
    """The IP authentication header (RFC 4302 §2), over IPv4 or IPv6."""

    offset: int
    """Byte offset of the header."""
    next_header: int
    """What follows."""
    payload_length_words: int
    """ah.length: length in 4-byte units minus 2."""
    reserved: int
    """Reserved 16 bits."""
    spi: int
    """ah.spi."""
    sequence: int
    """ah.sequence."""
    icv: bytes
    """Integrity check value."""

    @property
    def length(self) -> int:
        """Header length in bytes ((payload length + 2) * 4)."""
        return (self.payload_length_words + 2) * 4


IPv6Extension = IPv6Options | IPv6Routing | IPv6Fragment | AuthenticationHeader


def decode_ipv6(data: bytes, offset: int) -> IPv6 | Truncated:
    """The fixed IPv6 header at `offset`."""
    available = len(data) - offset
    if available < 40:
        return Truncated(offset=offset, layer="ipv6", needed=40, available=max(available, 0))
    word, plen, nxt, hlim = struct.unpack_from("!IHBB", data, offset)
    return IPv6(
        offset=offset,
        version=word >> 28,
        traffic_class=(word >> 20) & 0xFF,
        flow_label=word & 0xFFFFF,
        payload_length=plen,
        next_header=nxt,
        hop_limit=hlim,
        source=data[offset + 8 : offset + 24],
        destination=data[offset + 24 : offset + 40],
    )


def _need(data: bytes, offset: int, needed: int, layer: str) -> Truncated | None:
    available = len(data) - offset
    if available < needed:
        return Truncated(offset=offset, layer=layer, needed=needed, available=max(available, 0))
    return None


def decode_options_header(data: bytes, offset: int, header_type: int) -> IPv6Options | Truncated:
    """A hop-by-hop or destination options header at `offset`."""
    layer = "ipv6.hopopts" if header_type == IpProto.HOPOPTS else "ipv6.dstopts"
    short = _need(data, offset, 8, layer) or _need(data, offset, (data[offset + 1] + 1) * 8, layer)
    if short is not None:
        return short
    nxt, units = data[offset], data[offset + 1]
    end = offset + (units + 1) * 8
    options: list[tuple[int, bytes]] = []
    jumbo: int | None = None
    pos = offset + 2
    while pos < end:
        kind = data[pos]
        if kind == 0:  # Pad1 (RFC 8200 §4.2) has no length byte
            options.append((0, b""))
            pos += 1
            continue
        if pos + 1 >= end:
            break
        size = data[pos + 1]
        value = data[pos + 2 : min(pos + 2 + size, end)]
        options.append((kind, value))
        if kind == JUMBO_OPTION and len(value) == 4:
            jumbo = int.from_bytes(value, "big")
        pos += 2 + size
    return IPv6Options(
        offset=offset,
        header_type=header_type,
        next_header=nxt,
        length_units=units,
        options=tuple(options),
        jumbo_payload_length=jumbo,
    )


def _rpl_addresses(body: bytes, cmpr_i: int, cmpr_e: int, pad: int, dst: bytes) -> list[bytes]:
    """Expand an RPL source route (RFC 6554 §3): prefixes elided from the IPv6 destination."""
    size_i, size_e = 16 - cmpr_i, 16 - cmpr_e
    usable = len(body) - pad
    if usable < size_e:
        return []
    count = (usable - size_e) // size_i + 1
    out = [dst[:cmpr_i] + body[k * size_i : (k + 1) * size_i] for k in range(count - 1)]
    last = (count - 1) * size_i
    out.append(dst[:cmpr_e] + body[last : last + size_e])
    return out


def decode_routing(data: bytes, offset: int, ipv6_destination: bytes) -> IPv6Routing | Truncated:
    """A routing header at `offset`; `ipv6_destination` completes RPL's compressed addresses."""
    short = _need(data, offset, 8, "ipv6.routing")
    if short is None:
        short = _need(data, offset, (data[offset + 1] + 1) * 8, "ipv6.routing")
    if short is not None:
        return short
    nxt, units, rtype, segleft = data[offset : offset + 4]
    end = offset + (units + 1) * 8
    body = data[offset + 8 : end]
    addresses: list[bytes] = []
    last_entry, flags, tag = -1, 0, 0
    if rtype in (0, 2, 4):
        addresses = [body[k : k + 16] for k in range(0, len(body) - len(body) % 16, 16)]
        if rtype == 4:
            last_entry, flags = data[offset + 4], data[offset + 5]
            tag = int.from_bytes(data[offset + 6 : offset + 8], "big")
            # RFC 8754 §2: last entry + 1 segments; TLVs follow the list.
            addresses = addresses[: last_entry + 1]
    elif rtype == 3:
        cmpr = data[offset + 4]
        pad = data[offset + 5] >> 4
        addresses = _rpl_addresses(body, cmpr >> 4, cmpr & 0xF, pad, ipv6_destination)
    return IPv6Routing(
        offset=offset,
        next_header=nxt,
        length_units=units,
        routing_type=rtype,
        segments_left=segleft,
        addresses=tuple(addresses),
        last_entry=last_entry,
        srh_flags=flags,
        srh_tag=tag,
    )


def decode_fragment(data: bytes, offset: int) -> IPv6Fragment | Truncated:
    """The fragment header at `offset` (8 bytes)."""
    short = _need(data, offset, 8, "ipv6.fraghdr")
    if short is not None:
        return short
    nxt, reserved, offmore, ident = struct.unpack_from("!BBHI", data, offset)
    return IPv6Fragment(
        offset=offset,
        next_header=nxt,
        reserved=reserved,
        fragment_offset=offmore >> 3,
        more_fragments=bool(offmore & 1),
        identification=ident,
    )


def decode_ah(data: bytes, offset: int) -> AuthenticationHeader | Truncated | BadLength:
    """The authentication header at `offset` (RFC 4302 §2.2: length in 4-byte units + 2)."""
    short = _need(data, offset, 12, "ah")
    if short is not None:
        return short
    nxt, plen, reserved, spi, seq = struct.unpack_from("!BBHII", data, offset)
    length = (plen + 2) * 4
    if length < 12:
        return BadLength(offset=offset, layer="ah", field="ah.length", value=length, limit=12)
    short = _need(data, offset, length, "ah")
    if short is not None:
        return short
    return AuthenticationHeader(
        offset=offset,
        next_header=nxt,
        payload_length_words=plen,
        reserved=reserved,
        spi=spi,
        sequence=seq,
        icv=data[offset + 12 : offset + length],
    )
