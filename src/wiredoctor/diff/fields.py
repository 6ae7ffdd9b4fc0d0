"""The fields a diff can report as changed, their Wireshark names and what each checksum covers.

A pair's changes are a bit mask over `Field` (one uint64 per pair, so whole captures compare
with numpy); `field_name` turns a bit into the display-filter name a user can paste into
Wireshark, which depends on the IP version and transport of the pair.

Always holds: bit positions never change meaning (they are stored in `DiffResult.changed`);
every `Field` has an entry in `_NAMES`; names are Wireshark display-filter names except the
few that have none (`tunnel`, `payload[start:end]`), which are documented where made.
"""

from __future__ import annotations

from enum import IntEnum


class Field(IntEnum):
    """One comparable field; the value is its bit in the per-pair change mask."""

    ETH_SRC = 0
    ETH_DST = 1
    VLAN_ID = 2
    IP_SRC = 3
    IP_DST = 4
    IP_TTL = 5
    IP_ID = 6
    IP_DSFIELD = 7
    IP_DF = 8
    IP_CHECKSUM = 9
    IP_LEN = 10
    IP_OPTIONS = 11
    IPV6_FLOW = 12
    SPORT = 13
    DPORT = 14
    TCP_SEQ = 15
    TCP_ACK = 16
    TCP_FLAGS = 17
    TCP_WIN = 18
    TCP_MSS = 19
    TCP_WSCALE = 20
    TCP_SACK_PERM = 21
    TCP_TSVAL = 22
    TCP_TSECR = 23
    TCP_OPTIONS = 24
    TCP_URGENT = 25
    L4_CHECKSUM = 26
    ICMP_ID = 27
    ICMP_SEQ = 28
    PAYLOAD = 29
    TRAILER = 30
    TUNNEL = 31
    IP_VERSION = 32


def bit(field: Field) -> int:
    """The mask bit of `field`."""
    return 1 << int(field)


# Names per (field, ip version, transport). Transport keys: "tcp", "udp", "icmp", "icmpv6",
# "" for anything else. Entries that do not depend on the version/transport use the
# same text for every key.
_V4 = {
    Field.IP_SRC: "ip.src",
    Field.IP_DST: "ip.dst",
    Field.IP_TTL: "ip.ttl",
    Field.IP_ID: "ip.id",
    Field.IP_DSFIELD: "ip.dsfield",
    Field.IP_DF: "ip.flags.df",
    Field.IP_CHECKSUM: "ip.checksum",
    Field.IP_LEN: "ip.len",
    Field.IP_OPTIONS: "ip.options",
    Field.IPV6_FLOW: "ipv6.flow",
    Field.IP_VERSION: "ip.version",
}
_V6 = {
    Field.IP_SRC: "ipv6.src",
    Field.IP_DST: "ipv6.dst",
    Field.IP_TTL: "ipv6.hlim",
    Field.IP_ID: "ipv6.fragment.id",
    Field.IP_DSFIELD: "ipv6.tclass",
    Field.IP_DF: "ip.flags.df",
    Field.IP_CHECKSUM: "ip.checksum",
    Field.IP_LEN: "ipv6.plen",
    Field.IP_OPTIONS: "ipv6.opt",
    Field.IPV6_FLOW: "ipv6.flow",
    Field.IP_VERSION: "ip.version",
}
_COMMON = {
    Field.ETH_SRC: "eth.src",
    Field.ETH_DST: "eth.dst",
    Field.VLAN_ID: "vlan.id",
    Field.TCP_SEQ: "tcp.seq",
    Field.TCP_ACK: "tcp.ack",
    Field.TCP_FLAGS: "tcp.flags",
    Field.TCP_WIN: "tcp.window_size_value",
    Field.TCP_MSS: "tcp.options.mss_val",
    Field.TCP_WSCALE: "tcp.options.wscale.shift",
    Field.TCP_SACK_PERM: "tcp.options.sack_perm",
    Field.TCP_TSVAL: "tcp.options.timestamp.tsval",
    Field.TCP_TSECR: "tcp.options.timestamp.tsecr",
    Field.TCP_OPTIONS: "tcp.options",
    Field.TCP_URGENT: "tcp.urgent_pointer",
    Field.PAYLOAD: "payload",
    # Length of the bytes after the IP datagram beyond padding (eth.trailer), in bytes.
    Field.TRAILER: "eth.trailer",
    # Encapsulation levels above the innermost IP header: no Wireshark field says this.
    Field.TUNNEL: "tunnel",
}
_BY_TRANSPORT = {
    "tcp": {
        Field.SPORT: "tcp.srcport",
        Field.DPORT: "tcp.dstport",
        Field.L4_CHECKSUM: "tcp.checksum",
    },
    "udp": {
        Field.SPORT: "udp.srcport",
        Field.DPORT: "udp.dstport",
        Field.L4_CHECKSUM: "udp.checksum",
    },
    "icmp": {
        Field.ICMP_ID: "icmp.ident",
        Field.ICMP_SEQ: "icmp.seq",
        Field.L4_CHECKSUM: "icmp.checksum",
    },
    "icmpv6": {
        Field.ICMP_ID: "icmpv6.echo.identifier",
        Field.ICMP_SEQ: "icmpv6.echo.sequence_number",
        Field.L4_CHECKSUM: "icmpv6.checksum",
    },
}

TRANSPORTS: dict[int, str] = {6: "tcp", 17: "udp", 1: "icmp", 58: "icmpv6", 136: "udplite"}
"""IP protocol number → transport key (IANA protocol numbers)."""


def transport_of(ip_proto: int) -> str:
    """The transport key of an IP protocol number ("" when the diff does not name its fields)."""
    return TRANSPORTS.get(ip_proto, "")


def field_name(field: Field, ip_version: int, ip_proto: int) -> str:
    """The display-filter name of `field` for a packet of this IP version and protocol."""
    if field in _COMMON:
        return _COMMON[field]
    transport = _BY_TRANSPORT.get(transport_of(ip_proto), {})
    if field in transport:
        return transport[field]
    table = _V6 if ip_version == 6 else _V4
    if field in table:
        return table[field]
    # Ports/checksums of a transport without names here (SCTP, UDP-Lite…): say so plainly.
    return f"l4.{field.name.lower()}"


def fields_in(mask: int) -> list[Field]:
    """The fields whose bits are set in `mask`, in bit order."""
    return [f for f in Field if mask >> int(f) & 1]


# What each checksum covers (RFC 791 §3.1 for the IPv4 header; RFC 793 §3.1 / RFC 9293 §3.1
# for TCP and RFC 768 for UDP, both with the pseudo-header of addresses and length; RFC 792
# for ICMP, which has none; RFC 4443 §2.3 for ICMPv6, which has the IPv6 pseudo-header).
_IP_HEADER = (
    bit(Field.IP_SRC)
    | bit(Field.IP_DST)
    | bit(Field.IP_TTL)
    | bit(Field.IP_ID)
    | bit(Field.IP_DSFIELD)
    | bit(Field.IP_DF)
    | bit(Field.IP_LEN)
    | bit(Field.IP_OPTIONS)
)
_PSEUDO = bit(Field.IP_SRC) | bit(Field.IP_DST) | bit(Field.IP_LEN)
_TCP = (
    _PSEUDO
    | bit(Field.SPORT)
    | bit(Field.DPORT)
    | bit(Field.TCP_SEQ)
    | bit(Field.TCP_ACK)
    | bit(Field.TCP_FLAGS)
    | bit(Field.TCP_WIN)
    | bit(Field.TCP_MSS)
    | bit(Field.TCP_WSCALE)
    | bit(Field.TCP_SACK_PERM)
    | bit(Field.TCP_TSVAL)
    | bit(Field.TCP_TSECR)
    | bit(Field.TCP_OPTIONS)
    | bit(Field.TCP_URGENT)
    | bit(Field.PAYLOAD)
)
_UDP = _PSEUDO | bit(Field.SPORT) | bit(Field.DPORT) | bit(Field.PAYLOAD)
_ICMP = bit(Field.ICMP_ID) | bit(Field.ICMP_SEQ) | bit(Field.PAYLOAD)

COVERED: dict[str, int] = {
    "ip": _IP_HEADER,
    "tcp": _TCP,
    "udp": _UDP,
    "udplite": _UDP,
    "icmp": _ICMP,
    "icmpv6": _ICMP | _PSEUDO,
}
"""checksum_update key → mask of the fields its checksum covers."""

FORWARDING = bit(Field.ETH_SRC) | bit(Field.ETH_DST) | bit(Field.IP_TTL) | bit(Field.IP_CHECKSUM)
"""What a plain router changes: MAC addresses, TTL/hop limit and the IPv4 header checksum."""
