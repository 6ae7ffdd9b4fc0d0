"""Tunnel headers: GRE (RFC 2784, RFC 2890, PPTP's RFC 2637 variant), ERSPAN types II and III,
VXLAN (RFC 7348), VXLAN-GPE, Geneve (RFC 8926), L2TPv2 data messages (RFC 2661) and Teredo
(RFC 4380), NSH (RFC 8300) and WCCP's GRE redirect header.

Always holds: GRE's checksum field exists only when the C bit is set (RFC 2784 §2.5; with
the RFC 1701 R bit the field is there too and is only verified when C is set); every decoder
returns `Truncated` when its header (with the optional fields its flags announce) is not all
in the data.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

from wiredoctor.decode.values import Truncated


class UdpPort(IntEnum):
    """UDP destination ports that announce a tunnel (IANA)."""

    L2TP = 1701
    TEREDO = 3544
    VXLAN = 4789
    VXLAN_GPE = 4790
    GENEVE = 6081


class GpeNext(IntEnum):
    """VXLAN-GPE next protocol values (draft-ietf-nvo3-vxlan-gpe §3.2)."""

    IPV4 = 1
    IPV6 = 2
    ETHERNET = 3
    NSH = 4


@dataclass(frozen=True, slots=True, kw_only=True)
class Gre:
    """A GRE header with the optional fields its flags announce."""

    offset: int
    """Byte offset of the header in the frame."""
    checksum_present: bool
    """gre.flags.checksum (C)."""
    routing_present: bool
    """gre.flags.routing (R, RFC 1701 only)."""
    key_present: bool
    """gre.flags.key (K)."""
    sequence_present: bool
    """gre.flags.sequence_number (S)."""
    acknowledgment_present: bool
    """gre.flags.ack (A, version 1 only)."""
    version: int
    """gre.flags.version: 0 GRE, 1 PPTP enhanced GRE."""
    protocol: int
    """gre.proto: an EtherType (0x880b PPP for version 1)."""
    checksum: int | None
    """gre.checksum when C (or R) is set, else None."""
    key: int | None
    """gre.key (version 1: payload length << 16 | call id), else None."""
    sequence: int | None
    """gre.sequence_number, else None."""
    acknowledgment: int | None
    """gre.ack_number (version 1), else None."""
    header_length: int
    """Bytes of the GRE header including the optional fields."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Erspan:
    """An ERSPAN type II or III header (draft-foschiano-erspan); an Ethernet frame follows."""

    offset: int
    """Byte offset of the header in the frame."""
    version: int
    """erspan.version: 1 = type II, 2 = type III."""
    vlan_id: int
    """erspan.vlan."""
    cos: int
    """erspan.cos."""
    session_id: int
    """erspan.spanid."""
    header_length: int
    """8 for type II, 12 or 20 (platform subheader) for type III."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Vxlan:
    """A VXLAN (or VXLAN-GPE) header."""

    offset: int
    """Byte offset of the header in the frame."""
    flags: int
    """vxlan.flags (8 bits; 0x08 = VNI valid)."""
    next_protocol: int
    """VXLAN-GPE next protocol (GpeNext); 3 (Ethernet) for plain VXLAN."""
    vni: int
    """vxlan.vni (24 bits)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Geneve:
    """A Geneve header and its raw options."""

    offset: int
    """Byte offset of the header in the frame."""
    version: int
    """geneve.version."""
    options_length_words: int
    """geneve.options.length in 4-byte units."""
    oam: bool
    """geneve.flags.oam."""
    critical: bool
    """geneve.flags.critical."""
    protocol: int
    """geneve.proto_type: an EtherType (0x6558 Ethernet)."""
    vni: int
    """geneve.vni."""
    options: bytes
    """The option bytes, undecoded."""

    @property
    def header_length(self) -> int:
        """Bytes of the header including options."""
        return 8 + self.options_length_words * 4


def decode_gre(data: bytes, offset: int) -> Gre | Truncated:
    """The GRE header at `offset`."""
    available = len(data) - offset
    if available < 4:
        return Truncated(offset=offset, layer="gre", needed=4, available=max(available, 0))
    flags, proto = struct.unpack_from("!HH", data, offset)
    c, r, k, s = (
        bool(flags & 0x8000),
        bool(flags & 0x4000),
        bool(flags & 0x2000),
        bool(flags & 0x1000),
    )
    version = flags & 7
    a = version == 1 and bool(flags & 0x0080)
    length = 4 + 4 * ((c or r) + k + s + a)
    if available < length:
        return Truncated(offset=offset, layer="gre", needed=length, available=available)
    pos = offset + 4
    checksum = key = sequence = ack = None
    if c or r:
        checksum = int.from_bytes(data[pos : pos + 2], "big")
        pos += 4
    if k:
        key = int.from_bytes(data[pos : pos + 4], "big")
        pos += 4
    if s:
        sequence = int.from_bytes(data[pos : pos + 4], "big")
        pos += 4
    if a:
        ack = int.from_bytes(data[pos : pos + 4], "big")
    return Gre(
        offset=offset,
        checksum_present=c,
        routing_present=r,
        key_present=k,
        sequence_present=s,
        acknowledgment_present=a,
        version=version,
        protocol=proto,
        checksum=checksum,
        key=key,
        sequence=sequence,
        acknowledgment=ack,
        header_length=length,
    )


def decode_erspan(data: bytes, offset: int, type3: bool) -> Erspan | Truncated:
    """The ERSPAN type II (`type3` False) or type III header at `offset`."""
    needed = 12 if type3 else 8
    available = len(data) - offset
    if available < needed:
        return Truncated(offset=offset, layer="erspan", needed=needed, available=max(available, 0))
    word1, word2 = struct.unpack_from("!HH", data, offset)
    if type3 and data[offset + 11] & 1:  # O bit: an 8-byte platform-specific subheader follows
        needed = 20
        if available < needed:
            return Truncated(offset=offset, layer="erspan", needed=needed, available=available)
    return Erspan(
        offset=offset,
        version=word1 >> 12,
        vlan_id=word1 & 0x0FFF,
        cos=word2 >> 13,
        session_id=word2 & 0x03FF,
        header_length=needed,
    )


def decode_vxlan(data: bytes, offset: int, gpe: bool) -> Vxlan | Truncated:
    """The VXLAN (or, with `gpe`, VXLAN-GPE) header at `offset` (8 bytes)."""
    available = len(data) - offset
    if available < 8:
        return Truncated(offset=offset, layer="vxlan", needed=8, available=max(available, 0))
    flags = data[offset]
    nxt = data[offset + 3] if gpe else GpeNext.ETHERNET
    vni = int.from_bytes(data[offset + 4 : offset + 7], "big")
    return Vxlan(offset=offset, flags=flags, next_protocol=nxt, vni=vni)


def decode_geneve(data: bytes, offset: int) -> Geneve | Truncated:
    """The Geneve header at `offset` (8 bytes plus options)."""
    available = len(data) - offset
    if available < 8:
        return Truncated(offset=offset, layer="geneve", needed=8, available=max(available, 0))
    verlen, flags, proto = struct.unpack_from("!BBH", data, offset)
    words = verlen & 0x3F
    if available < 8 + words * 4:
        return Truncated(offset=offset, layer="geneve", needed=8 + words * 4, available=available)
    return Geneve(
        offset=offset,
        version=verlen >> 6,
        options_length_words=words,
        oam=bool(flags & 0x80),
        critical=bool(flags & 0x40),
        protocol=proto,
        vni=int.from_bytes(data[offset + 4 : offset + 7], "big"),
        options=data[offset + 8 : offset + 8 + words * 4],
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class L2tp:
    """An L2TPv2 header (RFC 2661 §3.1); data messages carry a PPP frame."""

    offset: int
    """Byte offset of the header in the frame."""
    control: bool
    """l2tp.type: True for a control message (no PPP frame follows)."""
    version: int
    """l2tp.version (2)."""
    tunnel_id: int
    """l2tp.tunnel."""
    session_id: int
    """l2tp.session."""
    header_length: int
    """Bytes of the header including optional fields and offset padding."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Teredo:
    """Teredo indicators before the encapsulated IPv6 packet (RFC 4380 §5.1.1)."""

    offset: int
    """Byte offset of the UDP payload."""
    indicators: bytes
    """Authentication and origin indicators, raw (empty when the IPv6 packet starts at once)."""

    @property
    def header_length(self) -> int:
        """Bytes before the IPv6 header."""
        return len(self.indicators)


def decode_l2tp(data: bytes, offset: int) -> L2tp | Truncated:
    """The L2TPv2 header at `offset`."""
    available = len(data) - offset
    if available < 6:
        return Truncated(offset=offset, layer="l2tp", needed=6, available=max(available, 0))
    (flags,) = struct.unpack_from("!H", data, offset)
    has_length, has_sequence, has_offset = flags & 0x4000, flags & 0x0800, flags & 0x0200
    pos = offset + 2 + (2 if has_length else 0)
    needed = pos - offset + 4 + (4 if has_sequence else 0) + (2 if has_offset else 0)
    if available < needed:
        return Truncated(offset=offset, layer="l2tp", needed=needed, available=available)
    tunnel, session = struct.unpack_from("!HH", data, pos)
    pos += 4 + (4 if has_sequence else 0)
    if has_offset:
        pos += 2 + int.from_bytes(data[pos : pos + 2], "big")
    return L2tp(
        offset=offset,
        control=bool(flags & 0x8000),
        version=flags & 0xF,
        tunnel_id=tunnel,
        session_id=session,
        header_length=pos - offset,
    )


def decode_teredo(data: bytes, offset: int) -> Teredo | None:
    """The Teredo indicators at `offset`, None when no IPv6 packet follows them."""
    pos = offset
    # RFC 4380 §5.1.1: authentication indicator (0x0001, id and auth lengths, nonce,
    # confirmation) and origin indicator (0x0000 + 6 bytes), in that order, both optional.
    if data[pos : pos + 2] == b"\x00\x01" and len(data) - pos >= 4:
        pos += 4 + data[pos + 2] + data[pos + 3] + 9
    if data[pos : pos + 2] == b"\x00\x00":
        pos += 8
    if pos + 40 > len(data) or data[pos] >> 4 != 6:
        return None
    return Teredo(offset=offset, indicators=data[offset:pos])


class NshNext(IntEnum):
    """NSH next protocol values (RFC 8300 §2.2, IANA)."""

    IPV4 = 1
    IPV6 = 2
    ETHERNET = 3
    NSH = 4
    MPLS = 5


@dataclass(frozen=True, slots=True, kw_only=True)
class Nsh:
    """A network service header (RFC 8300 §2): base, service path and context headers."""

    offset: int
    """Byte offset of the header in the frame."""
    version: int
    """nsh.version."""
    ttl: int
    """nsh.ttl."""
    length_words: int
    """nsh.length: the whole header in 4-byte words."""
    md_type: int
    """nsh.mdtype."""
    next_protocol: int
    """nsh.nextproto (NshNext)."""
    service_path: int
    """nsh.spi (24 bits)."""
    service_index: int
    """nsh.si."""

    @property
    def header_length(self) -> int:
        """Bytes of the header including context headers."""
        return self.length_words * 4


def decode_nsh(data: bytes, offset: int) -> Nsh | Truncated:
    """The NSH at `offset`; its length field must cover at least base + service path."""
    available = len(data) - offset
    if available < 8:
        return Truncated(offset=offset, layer="nsh", needed=8, available=max(available, 0))
    first, second, md_type, nxt, path = struct.unpack_from("!BBBBI", data, offset)
    words = second & 0x3F
    needed = max(words, 2) * 4
    if available < needed:
        return Truncated(offset=offset, layer="nsh", needed=needed, available=available)
    return Nsh(
        offset=offset,
        version=first >> 6,
        ttl=((first & 0xF) << 2) | (second >> 6),
        length_words=max(words, 2),
        md_type=md_type & 0xF,
        next_protocol=nxt,
        service_path=path >> 8,
        service_index=path & 0xFF,
    )
