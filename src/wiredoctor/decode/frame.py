"""Decode one captured frame into its typed layers and the IP datagrams it carries.

`decode_frame(record)` walks from the link type inward: link headers, VLAN tags, MPLS,
PPPoE, IP with its options or extension chain, the upper layer, and through tunnels (IPIP,
6in4, 4in6, 6in6, GRE, ERSPAN, VXLAN, VXLAN-GPE, Geneve, SRv6 Ethernet) to the inner frames.
The ICMP/ICMPv6 error messages' quoted datagrams are decoded too, marked `quoted`.

Always holds: `decode_frame` never raises on packet bytes; every layer keeps its offset in
the frame; layers are in dissection order (outer first, as Wireshark lists them); a
datagram's contents are decoded only within the bytes its IP length gives it, so an inner
header can never read the outer trailer; nesting stops at `MAX_DATAGRAMS` datagrams.
"""

from __future__ import annotations

from enum import IntEnum

from wiredoctor.capture.record import LinkType, Record
from wiredoctor.decode import network
from wiredoctor.decode.l4 import (
    Udp,
)
from wiredoctor.decode.layers import Datagram, DecodedFrame, Layer, UpperLayer, Walk
from wiredoctor.decode.link import (
    VLAN_TPIDS,
    AristaTimestamp,
    EtherType,
    LinuxSll,
    NullFamily,
    PppProtocol,
    decode_arista,
    decode_arp,
    decode_cisco_metadata,
    decode_ethernet,
    decode_mpls,
    decode_null,
    decode_pppoe_session,
    decode_sll,
    decode_sll2,
    decode_vlan,
)
from wiredoctor.decode.tunnel import (
    GpeNext,
    Gre,
    NshNext,
    UdpPort,
    decode_erspan,
    decode_geneve,
    decode_l2tp,
    decode_nsh,
    decode_teredo,
    decode_vxlan,
)
from wiredoctor.decode.values import Payload, Truncated

__all__ = ["RAW_LINKS", "Datagram", "DecodedFrame", "Layer", "UpperLayer", "decode_frame"]


class RawDlt(IntEnum):
    """Raw-IP link types written with their platform DLT value instead of LINKTYPE_RAW (101).

    libpcap maps DLT_RAW to 12 on most systems and to 14 on OpenBSD; files written with those
    numbers exist (the tcpdump.org registry lists them as reserved aliases of RAW).
    """

    RAW_12 = 12
    RAW_14 = 14


RAW_LINKS = frozenset({LinkType.RAW, LinkType.IPV4, LinkType.IPV6, RawDlt.RAW_12, RawDlt.RAW_14})

UDP_TUNNELS = frozenset(int(p) for p in UdpPort)
"""UDP ports whose payload this package follows into an inner frame."""


INET6_FAMILIES = frozenset(
    {NullFamily.INET6_BSD, NullFamily.INET6_FREEBSD, NullFamily.INET6_DARWIN}
)


def decode_frame(record: Record) -> DecodedFrame:
    """The typed layers of one record with bytes (text-only records give no layers)."""
    walk = Walk(record.data, max(record.wirelen, record.caplen))
    data = record.data
    link = record.linktype
    if link == LinkType.ETHERNET:
        walk_ethernet(walk, data, 0, outermost=True)
    elif link in (LinkType.LINUX_SLL, LinkType.LINUX_SLL2):
        sll = decode_sll(data, 0) if link == LinkType.LINUX_SLL else decode_sll2(data, 0)
        if isinstance(sll, Truncated):
            walk.stop(sll)
        else:
            walk.layers.append(sll)
            start = 16 if isinstance(sll, LinuxSll) else 20
            _ethertype(walk, data, start, sll.protocol)
    elif link in (LinkType.NULL, LinkType.LOOP):
        null = decode_null(data, 0)
        if isinstance(null, Truncated):
            walk.stop(null)
        else:
            walk.layers.append(null)
            if null.family == NullFamily.INET:
                network.walk_ip(walk, data, 4, 4, quoted=False)
            elif null.family in INET6_FAMILIES:
                network.walk_ip(walk, data, 4, 6, quoted=False)
            else:
                walk.mark_network(4, -1)
                walk.stop(Payload(offset=4, length=len(data) - 4, protocol=f"family {null.family}"))
    elif link in RAW_LINKS:
        version = 4 if link == LinkType.IPV4 else 6 if link == LinkType.IPV6 else 0
        if version == 0 and data:
            version = data[0] >> 4
        if version in (4, 6):
            network.walk_ip(walk, data, 0, version, quoted=False)
        else:
            walk.mark_network(0, -1)
            walk.stop(Payload(offset=0, length=len(data), protocol="raw, not IP"))
    else:
        walk.stop(Payload(offset=0, length=len(data), protocol=f"linktype {link}"))
    return DecodedFrame(
        record=record,
        layers=tuple(walk.layers),
        datagrams=tuple(walk.datagrams),
        network_offset=walk.network_offset,
        network_end=walk.network_end,
        malformed=walk.malformed,
    )


def walk_ethernet(walk: Walk, data: bytes, offset: int, *, outermost: bool) -> None:
    eth = decode_ethernet(data, offset)
    if isinstance(eth, Truncated):
        walk.stop(eth)
        return
    walk.layers.append(eth)
    if eth.is_length:
        if outermost:
            walk.mark_network(offset + 14, offset + 14 + eth.type_or_length)
        walk.stop(Payload(offset=offset + 14, length=len(data) - offset - 14, protocol="llc"))
        return
    _ethertype(walk, data, offset + 14, eth.type_or_length)


def _ethertype(walk: Walk, data: bytes, offset: int, ethertype: int) -> None:
    """Follow EtherTypes through tags, MPLS and PPPoE to IP (a loop: tags nest at any depth)."""
    while True:
        if ethertype in VLAN_TPIDS:
            tag = decode_vlan(data, offset, ethertype)
            if isinstance(tag, Truncated):
                walk.stop(tag)
                return
            walk.layers.append(tag)
            offset += 4
            ethertype = tag.ethertype
            if ethertype <= 1500:  # 802.3 length inside a tag: LLC follows
                walk.mark_network(offset, offset + ethertype)
                walk.stop(Payload(offset=offset, length=len(data) - offset, protocol="llc"))
                return
        elif ethertype == EtherType.CISCO_METADATA:
            cmd = decode_cisco_metadata(data, offset)
            if isinstance(cmd, Truncated):
                walk.stop(cmd)
                return
            walk.layers.append(cmd)
            offset += cmd.header_length
            ethertype = cmd.ethertype
        elif ethertype == EtherType.ARISTA:
            arista = decode_arista(data, offset)
            if not isinstance(arista, AristaTimestamp):
                walk.mark_network(offset, -1)
                unknown = Payload(offset=offset, length=len(data) - offset, protocol="avsp")
                walk.stop(arista or unknown)
                return
            walk.layers.append(arista)
            offset += arista.header_length
            ethertype = arista.ethertype
        elif ethertype in (EtherType.MPLS, EtherType.MPLS_MULTICAST):
            _mpls(walk, data, offset)
            return
        elif ethertype == EtherType.PPPOE_SESSION:
            pppoe = decode_pppoe_session(data, offset)
            if isinstance(pppoe, Truncated):
                walk.stop(pppoe)
                return
            walk.layers.append(pppoe)
            _ppp(walk, data, offset + 8, pppoe.ppp_protocol)
            return
        elif ethertype == EtherType.IPV4:
            network.walk_ip(walk, data, offset, 4, quoted=False)
            return
        elif ethertype == EtherType.IPV6:
            network.walk_ip(walk, data, offset, 6, quoted=False)
            return
        elif ethertype == EtherType.ARP:
            arp = decode_arp(data, offset)
            if isinstance(arp, Truncated):
                walk.mark_network(offset, -1)
                walk.stop(arp)
                return
            walk.layers.append(arp)
            walk.mark_network(offset, offset + arp.length)
            return
        else:
            walk.mark_network(offset, -1)
            walk.stop(
                Payload(
                    offset=offset,
                    length=len(data) - offset,
                    protocol=f"ethertype 0x{ethertype:04x}",
                )
            )
            return


def _mpls(walk: Walk, data: bytes, offset: int) -> None:
    for _ in range(64):
        label = decode_mpls(data, offset)
        if isinstance(label, Truncated):
            walk.stop(label)
            return
        walk.layers.append(label)
        offset += 4
        if label.bottom_of_stack:
            break
    # RFC 3032 carries no next-protocol field: guess by the IP version nibble.
    nibble = data[offset] >> 4 if offset < len(data) else -1
    if nibble in (4, 6):
        network.walk_ip(walk, data, offset, nibble, quoted=False)
    else:
        walk.mark_network(offset, -1)
        walk.stop(Payload(offset=offset, length=len(data) - offset, protocol="mpls payload"))


def _ppp(walk: Walk, data: bytes, offset: int, protocol: int) -> None:
    if protocol == PppProtocol.IPV4:
        network.walk_ip(walk, data, offset, 4, quoted=False)
    elif protocol == PppProtocol.IPV6:
        network.walk_ip(walk, data, offset, 6, quoted=False)
    else:
        walk.mark_network(offset, -1)
        walk.stop(
            Payload(offset=offset, length=len(data) - offset, protocol=f"ppp 0x{protocol:04x}")
        )


def walk_udp_tunnel(walk: Walk, data: bytes, offset: int, udp: Udp) -> bool:
    """Follow a UDP tunnel the ports announce; False when they announce none."""
    # Wireshark tries the lower port first; a tunnel port as destination always counts.
    port = next((p for p in (udp.destination_port, udp.source_port) if p in UDP_TUNNELS), 0)
    if port == 0 or (port == udp.source_port and udp.destination_port < port):
        return False
    if port == UdpPort.GENEVE:
        geneve = decode_geneve(data, offset)
        if isinstance(geneve, Truncated):
            walk.stop(geneve)
            return True
        walk.layers.append(geneve)
        _by_ethertype(walk, data, offset + geneve.header_length, geneve.protocol)
        return True
    if port == UdpPort.L2TP:
        l2tp = decode_l2tp(data, offset)
        if isinstance(l2tp, Truncated):
            walk.stop(l2tp)
            return True
        walk.layers.append(l2tp)
        if l2tp.control or l2tp.version != 2:
            walk.rest(data, offset + l2tp.header_length, "l2tp control")
        else:
            _ppp_frame(walk, data, offset + l2tp.header_length)
        return True
    if port == UdpPort.TEREDO:
        teredo = decode_teredo(data, offset)
        if teredo is None:
            return False
        walk.layers.append(teredo)
        network.walk_ip(walk, data, offset + teredo.header_length, 6, quoted=False)
        return True
    vxlan = decode_vxlan(data, offset, gpe=port == UdpPort.VXLAN_GPE)
    if isinstance(vxlan, Truncated):
        walk.stop(vxlan)
        return True
    walk.layers.append(vxlan)
    inner = offset + 8
    if vxlan.next_protocol == GpeNext.ETHERNET:
        walk_ethernet(walk, data, inner, outermost=False)
    elif vxlan.next_protocol == GpeNext.IPV4:
        network.walk_ip(walk, data, inner, 4, quoted=False)
    elif vxlan.next_protocol == GpeNext.IPV6:
        network.walk_ip(walk, data, inner, 6, quoted=False)
    elif vxlan.next_protocol == GpeNext.NSH:
        _nsh(walk, data, inner)
    else:
        walk.rest(data, inner, f"vxlan-gpe next {vxlan.next_protocol}")
    return True


def _nsh(walk: Walk, data: bytes, offset: int) -> None:
    nsh = decode_nsh(data, offset)
    if isinstance(nsh, Truncated):
        walk.stop(nsh)
        return
    walk.layers.append(nsh)
    inner = offset + nsh.header_length
    if nsh.next_protocol == NshNext.IPV4:
        network.walk_ip(walk, data, inner, 4, quoted=False)
    elif nsh.next_protocol == NshNext.IPV6:
        network.walk_ip(walk, data, inner, 6, quoted=False)
    elif nsh.next_protocol == NshNext.ETHERNET:
        walk_ethernet(walk, data, inner, outermost=False)
    else:
        walk.rest(data, inner, f"nsh next {nsh.next_protocol}")


def _ppp_frame(walk: Walk, data: bytes, offset: int) -> None:
    """A PPP frame whose address/control and protocol fields may be compressed (RFC 1661 §6)."""
    pos = offset + 2 if data[offset : offset + 2] == b"\xff\x03" else offset
    if pos >= len(data):
        walk.rest(data, offset, "ppp")
    elif data[pos] & 1:  # a one-byte (compressed) protocol field is odd
        _ppp(walk, data, pos + 1, data[pos])
    elif pos + 2 <= len(data):
        _ppp(walk, data, pos + 2, int.from_bytes(data[pos : pos + 2], "big"))
    else:
        walk.rest(data, offset, "ppp")


def _by_ethertype(walk: Walk, data: bytes, offset: int, ethertype: int) -> None:
    """An inner payload named by an EtherType: 0x6558 is a whole Ethernet frame."""
    if ethertype == EtherType.TEB:
        walk_ethernet(walk, data, offset, outermost=False)
    elif ethertype in (EtherType.IPV4, EtherType.IPV6, EtherType.MPLS, EtherType.CISCO_METADATA):
        _ethertype(walk, data, offset, ethertype)
    else:
        walk.rest(data, offset, f"ethertype 0x{ethertype:04x}")


def walk_gre_payload(walk: Walk, data: bytes, offset: int, gre: Gre) -> None:
    if gre.protocol in (EtherType.ERSPAN_2, EtherType.ERSPAN_3):
        # ERSPAN type I has no header and no sequence number; type II sets S.
        if gre.protocol == EtherType.ERSPAN_2 and not gre.sequence_present:
            walk_ethernet(walk, data, offset, outermost=False)
            return
        erspan = decode_erspan(data, offset, type3=gre.protocol == EtherType.ERSPAN_3)
        if isinstance(erspan, Truncated):
            walk.stop(erspan)
            return
        walk.layers.append(erspan)
        walk_ethernet(walk, data, offset + erspan.header_length, outermost=False)
        return
    if gre.protocol == EtherType.PPP:
        _ppp_frame(walk, data, offset)  # RFC 2637 §4.1
        return
    if gre.protocol == EtherType.WCCP:
        # WCCPv2 adds a 4-byte redirect header; WCCPv1 puts the IP packet right after GRE.
        inner = offset if offset < len(data) and data[offset] >> 4 == 4 else offset + 4
        network.walk_ip(walk, data, inner, 4, quoted=False)
        return
    if gre.protocol == EtherType.CISCO_METADATA:
        cmd = decode_cisco_metadata(data, offset, type_first=True)
        if isinstance(cmd, Truncated):
            walk.stop(cmd)
            return
        walk.layers.append(cmd)
        _by_ethertype(walk, data, offset + cmd.header_length, cmd.ethertype)
        return
    _by_ethertype(walk, data, offset, gre.protocol)
