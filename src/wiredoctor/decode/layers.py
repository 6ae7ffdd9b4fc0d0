"""The result types of a frame walk: the layer union, IP datagrams, the decoded frame, and the
mutable `Walk` the walkers in `frame` and `network` append to.

Always holds: a `DecodedFrame` and its `Datagram`s are frozen; layers are in dissection order
(outer first, as Wireshark lists them); offsets are byte offsets in the captured frame.
"""

from __future__ import annotations

from dataclasses import dataclass

from wiredoctor.capture.record import Record
from wiredoctor.decode.ipv4 import IPv4
from wiredoctor.decode.ipv6 import (
    AuthenticationHeader,
    IPv6,
    IPv6Extension,
    IPv6Fragment,
    IPv6Options,
    IPv6Routing,
)
from wiredoctor.decode.l4 import (
    Icmp,
    Icmpv6,
    Igmp,
    Udp,
    UdpLite,
)
from wiredoctor.decode.link import (
    AristaTimestamp,
    Arp,
    CiscoMetadata,
    Ethernet,
    LinuxSll,
    LinuxSll2,
    MplsLabel,
    NullLoop,
    PppoeSession,
    VlanTag,
)
from wiredoctor.decode.tcp import Tcp
from wiredoctor.decode.tunnel import (
    Erspan,
    Geneve,
    Gre,
    L2tp,
    Nsh,
    Teredo,
    Vxlan,
)
from wiredoctor.decode.values import BadLength, Payload, Truncated

MAX_DATAGRAMS = 16
"""Deepest nesting followed; beyond it the rest of the frame is `Payload('nesting limit')`."""

Layer = (
    Ethernet
    | VlanTag
    | MplsLabel
    | PppoeSession
    | CiscoMetadata
    | AristaTimestamp
    | LinuxSll
    | LinuxSll2
    | NullLoop
    | Arp
    | IPv4
    | IPv6
    | IPv6Options
    | IPv6Routing
    | IPv6Fragment
    | AuthenticationHeader
    | Tcp
    | Udp
    | UdpLite
    | Icmp
    | Icmpv6
    | Igmp
    | Gre
    | Erspan
    | Vxlan
    | Geneve
    | L2tp
    | Nsh
    | Teredo
    | Truncated
    | BadLength
    | Payload
)

UpperLayer = Tcp | Udp | UdpLite | Icmp | Icmpv6 | Igmp | Gre


@dataclass(frozen=True, slots=True, kw_only=True)
class Datagram:
    """One IP datagram in the frame and what its upper-layer checksum is taken over."""

    ip: IPv4 | IPv6
    """The IP header."""
    extensions: tuple[IPv6Extension, ...]
    """IPv6 extension headers (and AH over IPv4) before the upper layer, in order."""
    protocol: int
    """The upper-layer protocol after the extension chain, -1 when the chain is cut short."""
    upper_offset: int
    """Byte offset of the upper-layer header, -1 when the chain is cut short."""
    upper: UpperLayer | Truncated | None
    """The decoded upper-layer header with a checksum; Truncated when cut; None otherwise."""
    upper_length: int
    """Upper-layer length by the IP header: total - header - extensions (derived from the
    enclosing length when IPv4 says 0 or IPv6 carries a jumbogram), -1 when unknown."""
    end: int
    """Where the datagram's stated bytes end (ip offset + stated or derived length); may be
    beyond the captured bytes when the capture or the enclosing quote cut it."""
    limit: int
    """Where the enclosing region's bytes end (the captured end for the outermost); the
    datagram can use bytes only below min(end, limit)."""
    length_lie: bool
    """The stated length exceeds what the enclosing header or the wire gives it."""
    length_derived: bool
    """IPv4 total length 0 or an IPv6 jumbogram: `upper_length` derived from the frame."""
    pseudo_source: bytes
    """Source address of the pseudo-header."""
    pseudo_destination: bytes
    """Destination of the pseudo-header: the final destination of a source route/SRH."""
    fragment_offset: int
    """Offset of this fragment in bytes (0 when not a fragment)."""
    more_fragments: bool
    """More fragments follow."""
    fragment_id: int
    """IPv4 identification or IPv6 fragment identification, -1 when no fragment header."""
    fragment_start: int
    """Where the fragmentable part starts (after the IPv4 header / the fragment header)."""
    is_fragment: bool
    """Part of a larger datagram (first fragment included)."""
    quoted: bool
    """Inside an ICMP/ICMPv6 error message."""

    @property
    def header_length(self) -> int:
        """IP header bytes including extension headers, up to the upper layer."""
        if self.upper_offset >= 0:
            return self.upper_offset - self.ip.offset
        return self.ip.header_length if isinstance(self.ip, IPv4) else 40


@dataclass(frozen=True, slots=True, kw_only=True)
class DecodedFrame:
    """A frame's typed layers and IP datagrams, outer first."""

    record: Record
    """The record decoded."""
    layers: tuple[Layer, ...]
    """Every header found, then the value that ended the walk (Payload, Truncated, …)."""
    datagrams: tuple[Datagram, ...]
    """The IP datagrams in dissection order (the outermost first)."""
    network_offset: int
    """Offset of the outermost network-layer header (IP or ARP), or of whatever the link
    layer leads to when that is neither; -1 when the link layer itself is cut short."""
    network_end: int
    """End of the outermost network-layer message by its own length (IP total length, ARP
    size, 802.3 length), -1 when unknown; Ethernet padding and trailers start here."""
    malformed: bool
    """A header was cut short by its enclosing length or a length field lies."""


class Walk:
    """Mutable state of one frame's walk: the decoders append to it, `decode_frame` freezes it."""

    __slots__ = (
        "data",
        "datagrams",
        "layers",
        "malformed",
        "network_end",
        "network_offset",
        "wire",
    )

    def __init__(self, data: bytes, wire: int) -> None:
        self.data = data
        self.wire = wire
        self.layers: list[Layer] = []
        self.datagrams: list[Datagram] = []
        self.network_offset = -1
        self.network_end = -1
        self.malformed = False

    def stop(self, value: Truncated | BadLength | Payload) -> None:
        self.layers.append(value)
        if isinstance(value, BadLength):
            self.malformed = True

    def mark_network(self, offset: int, end: int) -> None:
        if self.network_offset < 0:
            self.network_offset = offset
            self.network_end = end

    def rest(self, data: bytes, offset: int, what: str) -> None:
        """Record the bytes from `offset` on as a Payload no decoder here claims."""
        if offset < len(data):
            self.layers.append(Payload(offset=offset, length=len(data) - offset, protocol=what))
