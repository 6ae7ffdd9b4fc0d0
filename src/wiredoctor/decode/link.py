"""Link-layer headers: Ethernet II / 802.3, 802.1Q/802.1ad tags, MPLS, PPPoE, Linux SLL/SLL2,
BSD null/loopback, ARP.

Each decoder takes the whole captured frame and the offset of its header and returns the
header or a `Truncated` value; none raises. Headers keep their byte `offset` in the frame.

Always holds: a multi-byte field is read big-endian (network order) except where the format
says otherwise (the BSD null family in the capturing host's order, SLL2 none).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

from wiredoctor.decode.values import Truncated


class EtherType(IntEnum):
    """EtherType values this package follows (IEEE registry)."""

    IPV4 = 0x0800
    ARP = 0x0806
    TEB = 0x6558  # transparent Ethernet bridging (GRE)
    VLAN = 0x8100  # 802.1Q C-tag
    IPV6 = 0x86DD
    MPLS = 0x8847
    MPLS_MULTICAST = 0x8848
    PPPOE_SESSION = 0x8864
    QINQ = 0x88A8  # 802.1ad S-tag
    ERSPAN_2 = 0x88BE
    ERSPAN_3 = 0x22EB
    QINQ_OLD = 0x9100  # pre-standard QinQ tag, still seen on switches
    QINQ_OLD_2 = 0x9200
    PPP = 0x880B  # PPP in GRE (RFC 2637)
    CISCO_METADATA = 0x8909  # Cisco TrustSec SGT tag
    ARISTA = 0xD28B  # Arista vendor-specific protocol (switch timestamps)
    WCCP = 0x883E  # WCCP redirection in GRE


VLAN_TPIDS = frozenset({EtherType.VLAN, EtherType.QINQ, EtherType.QINQ_OLD, EtherType.QINQ_OLD_2})
"""Tag protocol identifiers that introduce a 4-byte VLAN tag."""

ETHERNET_MIN_FRAME = 60
"""Smallest Ethernet frame without FCS (IEEE 802.3 §3.2.7); shorter payloads are padded."""


class PppProtocol(IntEnum):
    """PPP protocol numbers inside PPPoE sessions (RFC 1661, RFC 5072)."""

    IPV4 = 0x0021
    IPV6 = 0x0057


class SllPacketType(IntEnum):
    """Linux cooked capture packet types (`sll.pkttype`)."""

    HOST = 0
    BROADCAST = 1
    MULTICAST = 2
    OTHERHOST = 3
    OUTGOING = 4


class NullFamily(IntEnum):
    """BSD address families in null/loopback headers; AF_INET6 differs between BSDs."""

    INET = 2
    INET6_BSD = 24  # NetBSD, OpenBSD, BSD/OS
    INET6_FREEBSD = 28
    INET6_DARWIN = 30


@dataclass(frozen=True, slots=True, kw_only=True)
class Ethernet:
    """Ethernet II header, or an IEEE 802.3 header when `type_or_length` <= 1500."""

    offset: int
    """Byte offset of the header in the frame."""
    destination: bytes
    """eth.dst, 6 bytes."""
    source: bytes
    """eth.src, 6 bytes."""
    type_or_length: int
    """eth.type (>= 0x0600) or the 802.3 length (<= 1500: an LLC frame, no IP)."""

    @property
    def is_length(self) -> bool:
        """True for an 802.3 length field (IEEE 802.3 §3.2.6: values <= 1500 are lengths)."""
        return self.type_or_length <= 1500


@dataclass(frozen=True, slots=True, kw_only=True)
class VlanTag:
    """One 802.1Q / 802.1ad tag: the TPID that announced it and its TCI, then the next type."""

    offset: int
    """Byte offset of the TCI (the TPID is the two bytes before)."""
    tpid: int
    """Tag protocol identifier (0x8100, 0x88a8, 0x9100, …)."""
    priority: int
    """vlan.priority (PCP, 3 bits)."""
    drop_eligible: int
    """vlan.dei (1 bit)."""
    vlan_id: int
    """vlan.id (12 bits)."""
    ethertype: int
    """vlan.etype: what follows the tag."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MplsLabel:
    """One MPLS label stack entry (RFC 3032 §2.1)."""

    offset: int
    """Byte offset of the entry."""
    label: int
    """mpls.label (20 bits)."""
    traffic_class: int
    """mpls.exp (3 bits)."""
    bottom_of_stack: bool
    """mpls.bottom: the last entry."""
    ttl: int
    """mpls.ttl."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PppoeSession:
    """PPPoE session header plus the PPP protocol field (RFC 2516 §4, RFC 1661 §2)."""

    offset: int
    """Byte offset of the PPPoE header."""
    version: int
    """pppoe.version (4 bits, 1)."""
    type: int
    """pppoe.type (4 bits, 1)."""
    code: int
    """pppoe.code (0 in session data)."""
    session_id: int
    """pppoe.session_id."""
    length: int
    """pppoe.payload_length: the PPP frame length, protocol field included."""
    ppp_protocol: int
    """ppp.protocol: 0x0021 IPv4, 0x0057 IPv6."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CiscoMetadata:
    """Cisco MetaData (TrustSec) tag: version, length, option type, SGT, then the next type."""

    offset: int
    """Byte offset of the tag (after its EtherType)."""
    version: int
    """cmd.version."""
    length: int
    """cmd.length."""
    option_type: int
    """cmd.option_type."""
    sgt: int
    """cmd.sgt: the security group tag."""
    ethertype: int
    """cmd.type: what follows the tag."""

    @property
    def header_length(self) -> int:
        """Bytes of the tag including the next EtherType."""
        return 8


@dataclass(frozen=True, slots=True, kw_only=True)
class AristaTimestamp:
    """Arista vendor-specific timestamp tag inserted by the switch before the real type."""

    offset: int
    """Byte offset of the tag (after its EtherType)."""
    subtype: int
    """Sub type (1 = timestamp)."""
    version: int
    """Low byte 0x10: 64-bit (seconds, nanoseconds), 0x20: 48-bit; high byte 1 = UTC, 0 = TAI."""
    timestamp: bytes
    """The raw timestamp bytes."""
    ethertype: int
    """What follows the tag."""

    @property
    def header_length(self) -> int:
        """Bytes of the tag including the next EtherType."""
        return 4 + len(self.timestamp) + 2


ARISTA_TIMESTAMP_SIZES = {0x10: 8, 0x20: 6}
"""Timestamp bytes by the low byte of the Arista timestamp version (64- and 48-bit formats)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LinuxSll:
    """Linux cooked capture v1 header (LINKTYPE_LINUX_SLL, 16 bytes)."""

    offset: int
    """Byte offset of the header (0)."""
    packet_type: int
    """sll.pkttype (SllPacketType)."""
    arphrd_type: int
    """sll.hatype: ARPHRD_* of the interface (1 Ethernet, 772 loopback, …)."""
    address_length: int
    """sll.halen."""
    address: bytes
    """sll.src.eth: the first min(halen, 8) address bytes."""
    protocol: int
    """sll.etype: an EtherType for most hatypes."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LinuxSll2:
    """Linux cooked capture v2 header (LINKTYPE_LINUX_SLL2, 20 bytes)."""

    offset: int
    """Byte offset of the header (0)."""
    protocol: int
    """sll.etype."""
    reserved: int
    """Two reserved bytes."""
    interface_index: int
    """sll.ifindex."""
    arphrd_type: int
    """sll.hatype."""
    packet_type: int
    """sll.pkttype (SllPacketType)."""
    address_length: int
    """sll.halen."""
    address: bytes
    """The first min(halen, 8) address bytes."""


@dataclass(frozen=True, slots=True, kw_only=True)
class NullLoop:
    """BSD null / loopback header: a 4-byte address family in either byte order."""

    offset: int
    """Byte offset of the header (0)."""
    family: int
    """null.family as the host wrote it (2 IPv4; 24, 28 or 30 IPv6)."""
    byte_order: str
    """`little` or `big`: the order the family was written in."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Arp:
    """ARP header (RFC 826); decoded only so its length bounds Ethernet padding."""

    offset: int
    """Byte offset of the header."""
    hardware_type: int
    """arp.hw.type."""
    protocol_type: int
    """arp.proto.type."""
    hardware_size: int
    """arp.hw.size."""
    protocol_size: int
    """arp.proto.size."""
    opcode: int
    """arp.opcode."""

    @property
    def length(self) -> int:
        """Bytes the ARP message occupies: 8 fixed plus two hardware and two protocol addresses."""
        return 8 + 2 * self.hardware_size + 2 * self.protocol_size


def decode_ethernet(data: bytes, offset: int) -> Ethernet | Truncated:
    """The Ethernet header at `offset` (14 bytes)."""
    if len(data) - offset < 14:
        return Truncated(offset=offset, layer="eth", needed=14, available=len(data) - offset)
    (kind,) = struct.unpack_from("!H", data, offset + 12)
    return Ethernet(
        offset=offset,
        destination=data[offset : offset + 6],
        source=data[offset + 6 : offset + 12],
        type_or_length=kind,
    )


def decode_vlan(data: bytes, offset: int, tpid: int) -> VlanTag | Truncated:
    """The 802.1Q/802.1ad tag whose TCI starts at `offset` (4 bytes: TCI + next type)."""
    if len(data) - offset < 4:
        return Truncated(offset=offset, layer="vlan", needed=4, available=len(data) - offset)
    tci, kind = struct.unpack_from("!HH", data, offset)
    return VlanTag(
        offset=offset,
        tpid=tpid,
        priority=tci >> 13,
        drop_eligible=(tci >> 12) & 1,
        vlan_id=tci & 0x0FFF,
        ethertype=kind,
    )


def decode_mpls(data: bytes, offset: int) -> MplsLabel | Truncated:
    """One MPLS label stack entry at `offset` (4 bytes)."""
    if len(data) - offset < 4:
        return Truncated(offset=offset, layer="mpls", needed=4, available=len(data) - offset)
    (word,) = struct.unpack_from("!I", data, offset)
    return MplsLabel(
        offset=offset,
        label=word >> 12,
        traffic_class=(word >> 9) & 7,
        bottom_of_stack=bool((word >> 8) & 1),
        ttl=word & 0xFF,
    )


def decode_pppoe_session(data: bytes, offset: int) -> PppoeSession | Truncated:
    """The PPPoE session header and PPP protocol at `offset` (6 + 2 bytes)."""
    if len(data) - offset < 8:
        return Truncated(offset=offset, layer="pppoes", needed=8, available=len(data) - offset)
    vt, code, session, length, proto = struct.unpack_from("!BBHHH", data, offset)
    return PppoeSession(
        offset=offset,
        version=vt >> 4,
        type=vt & 0xF,
        code=code,
        session_id=session,
        length=length,
        ppp_protocol=proto,
    )


def decode_sll(data: bytes, offset: int) -> LinuxSll | Truncated:
    """The Linux SLL header at `offset` (16 bytes)."""
    if len(data) - offset < 16:
        return Truncated(offset=offset, layer="sll", needed=16, available=len(data) - offset)
    pkttype, hatype, halen = struct.unpack_from("!HHH", data, offset)
    (proto,) = struct.unpack_from("!H", data, offset + 14)
    return LinuxSll(
        offset=offset,
        packet_type=pkttype,
        arphrd_type=hatype,
        address_length=halen,
        address=data[offset + 6 : offset + 6 + min(halen, 8)],
        protocol=proto,
    )


def decode_sll2(data: bytes, offset: int) -> LinuxSll2 | Truncated:
    """The Linux SLL2 header at `offset` (20 bytes)."""
    if len(data) - offset < 20:
        return Truncated(offset=offset, layer="sll2", needed=20, available=len(data) - offset)
    proto, reserved, ifindex, hatype, pkttype, halen = struct.unpack_from("!HHIHBB", data, offset)
    return LinuxSll2(
        offset=offset,
        protocol=proto,
        reserved=reserved,
        interface_index=ifindex,
        arphrd_type=hatype,
        packet_type=pkttype,
        address_length=halen,
        address=data[offset + 12 : offset + 12 + min(halen, 8)],
    )


NULL_FAMILIES = frozenset(int(f) for f in NullFamily)


def decode_null(data: bytes, offset: int) -> NullLoop | Truncated:
    """The BSD null/loopback family at `offset` (4 bytes, host order: whichever is known)."""
    if len(data) - offset < 4:
        return Truncated(offset=offset, layer="null", needed=4, available=len(data) - offset)
    little = int.from_bytes(data[offset : offset + 4], "little")
    if little in NULL_FAMILIES:
        return NullLoop(offset=offset, family=little, byte_order="little")
    return NullLoop(
        offset=offset, family=int.from_bytes(data[offset : offset + 4], "big"), byte_order="big"
    )


def decode_arp(data: bytes, offset: int) -> Arp | Truncated:
    """The fixed part of an ARP message at `offset` (8 bytes)."""
    if len(data) - offset < 8:
        return Truncated(offset=offset, layer="arp", needed=8, available=len(data) - offset)
    htype, ptype, hlen, plen, op = struct.unpack_from("!HHBBH", data, offset)
    return Arp(
        offset=offset,
        hardware_type=htype,
        protocol_type=ptype,
        hardware_size=hlen,
        protocol_size=plen,
        opcode=op,
    )


def decode_cisco_metadata(
    data: bytes, offset: int, *, type_first: bool = False
) -> CiscoMetadata | Truncated:
    """The Cisco MetaData tag at `offset` (8 bytes including the next EtherType).

    After an Ethernet EtherType the next type comes last; carried in GRE (`type_first`) the
    tag starts with it, as the captures of GRE-tunnelled TrustSec traffic show.
    """
    if len(data) - offset < 8:
        return Truncated(offset=offset, layer="cmd", needed=8, available=len(data) - offset)
    if type_first:
        kind, version, length, option, sgt = struct.unpack_from("!HBBHH", data, offset)
    else:
        version, length, option, sgt, kind = struct.unpack_from("!BBHHH", data, offset)
    return CiscoMetadata(
        offset=offset, version=version, length=length, option_type=option, sgt=sgt, ethertype=kind
    )


def decode_arista(data: bytes, offset: int) -> AristaTimestamp | Truncated | None:
    """The Arista timestamp tag at `offset`; None for a version whose layout is unknown."""
    if len(data) - offset < 4:
        return Truncated(offset=offset, layer="avsp", needed=4, available=len(data) - offset)
    subtype, version = struct.unpack_from("!HH", data, offset)
    size = ARISTA_TIMESTAMP_SIZES.get(version & 0xFF)
    if subtype != 1 or size is None:
        return None
    if len(data) - offset < 6 + size:
        return Truncated(offset=offset, layer="avsp", needed=6 + size, available=len(data) - offset)
    return AristaTimestamp(
        offset=offset,
        subtype=subtype,
        version=version,
        timestamp=data[offset + 4 : offset + 4 + size],
        ethertype=int.from_bytes(data[offset + 4 + size : offset + 6 + size], "big"),
    )
