"""Upper layers in the kernels: TCP, UDP, UDP-Lite, ICMP, ICMPv6 and IGMP columns and checksum
rows, mirroring `decode.network.walk_upper` and `decode.verify._transport_columns`.

Headers are read only inside the datagram's captured bytes (`view_end`). ICMP/ICMPv6 errors
that quote a datagram, UDP on tunnel ports, GRE, IP-in-IP and TCP with a data offset below 5
are handed back (`UP_FALLBACK`) before anything is written. In a first fragment
(`fragment`) the upper layer fills its columns but gets an unverified row (its verdict waits
for reassembly) and leads nowhere: tunnels are not followed, GRE and IP-in-IP go back.

Always holds: at most one checksum row per call; the payload span left for hashing covers
the captured bytes after the upper header up to the datagram's end (`decode.verify`).
"""

from __future__ import annotations

from wiredoctor.checksum.verdict import Proto
from wiredoctor.fast.jit import Bytes, Int, Row, Scratch, Table, helper
from wiredoctor.fast.link import LINK_IP4, LINK_IP6
from wiredoctor.fast.rows import fragment_row, upper_row
from wiredoctor.fast.wire import u8, u16, u32

UP_DONE = 0
UP_FALLBACK = 1
UP_TUNNEL = 2  # the upper layer carries another frame or datagram: keep walking

TUNNEL_ETHER = 3  # an Ethernet header; IP levels use the link kinds LINK_IP4 / LINK_IP6
TUNNEL_IP4 = LINK_IP4
TUNNEL_IP6 = LINK_IP6

P_TCP = int(Proto.TCP)
P_UDP = int(Proto.UDP)
P_UDPLITE = int(Proto.UDPLITE)
P_ICMP = int(Proto.ICMP)
P_ICMPV6 = int(Proto.ICMPV6)
P_IGMP = int(Proto.IGMP)
P_GRE = int(Proto.GRE)

IPPROTO_ICMP = 1
IPPROTO_IGMP = 2
IPPROTO_IPIP = 4
IPPROTO_TCP = 6
IPPROTO_UDP = 17
IPPROTO_IPV6 = 41
IPPROTO_GRE = 47
IPPROTO_ICMPV6 = 58
IPPROTO_UDPLITE = 136
IPPROTO_ETHERNET = 143

# UDP ports the reference follows into tunnels: L2TP, Teredo, VXLAN, VXLAN-GPE, Geneve.
PORT_L2TP = 1701
PORT_TEREDO = 3544
PORT_VXLAN = 4789
PORT_VXLAN_GPE = 4790
PORT_GENEVE = 6081

ETH_IPV4 = 0x0800
ETH_IPV6 = 0x86DD
ETH_TEB = 0x6558  # transparent Ethernet bridging
ETH_MPLS = 0x8847
ETH_CISCO_METADATA = 0x8909
ETH_ERSPAN2 = 0x88BE
ETH_ERSPAN3 = 0x22EB
ETH_PPP = 0x880B
ETH_WCCP = 0x883E


@helper
def _tcp_options(
    buf: Bytes, base: Int, cap: Int, pos: Int, end: Int
) -> tuple[Int, Int, Int, Int, Int, Int]:
    """The first MSS, window scale, SACK-permitted and timestamps options of a whole header:
    (mss or -1, shift or -1, sack permitted, has timestamps, tsval, tsecr)."""
    mss: Int = -1
    wscale: Int = -1
    sack = 0
    stamps = 0
    tsval: Int = 0
    tsecr: Int = 0
    while pos < end:
        kind = u8(buf, base, cap, pos)
        if kind == 0:
            break
        if kind == 1:
            pos += 1
            continue
        if pos + 1 >= end:
            break
        length = u8(buf, base, cap, pos + 1)
        if length < 2 or pos + length > end:
            break
        if kind == 2 and length == 4:
            if mss < 0:
                mss = u16(buf, base, cap, pos + 2)
        elif kind == 3 and length == 3:
            if wscale < 0:
                wscale = u8(buf, base, cap, pos + 2)
        elif kind == 4 and length == 2:
            sack = 1
        elif kind == 8 and length == 10 and stamps == 0:
            stamps = 1
            tsval = u32(buf, base, cap, pos + 2)
            tsecr = u32(buf, base, cap, pos + 6)
        pos += length
    return mss, wscale, sack, stamps, tsval, tsecr


@helper
def upper(
    buf: Bytes,
    base: Int,
    cap: Int,
    off: Int,
    end: Int,
    proto: Int,
    addr: Int,
    v6: bool,
    final: bool,
    snaplen: bool,
    fragment: bool,
    depths: Scratch,
    span: Scratch,
    fr: Row,
    ck: Table,
    n: Int,
) -> tuple[Int, Int, Int, Int, Int]:
    """The upper layer `proto` at `off` of a datagram ending at `end` (`cap`: the bytes the
    enclosing region captured; `fragment`: the datagram is a first fragment). The payload to
    hash is left in `span` (start, length); the hash itself is taken later for many frames
    at once (`fast.hashing`).

    Returns (state, next free checksum row, and for UP_TUNNEL: the kind of the inner header
    (`TUNNEL_*`), its offset, and where the region it may use ends).
    """
    view_end = min(cap, end)
    avail = view_end - off
    length = end - off
    header = 0
    truncated = False
    p = -1
    if proto == IPPROTO_TCP:
        p = P_TCP
        if avail < 20:
            truncated = True
        else:
            header = (u8(buf, base, cap, off + 12) >> 4) * 4
            if header < 20:
                return UP_FALLBACK, n, 0, 0, 0
            truncated = avail < header
    elif proto in (IPPROTO_UDP, IPPROTO_UDPLITE):
        p = P_UDP if proto == IPPROTO_UDP else P_UDPLITE
        truncated = avail < 8
        header = 8
    elif proto in (IPPROTO_ICMP, IPPROTO_ICMPV6):
        p = P_ICMP if proto == IPPROTO_ICMP else P_ICMPV6
        truncated = avail < 4
        itype = u8(buf, base, cap, off)
        # Error messages quote the offending datagram (RFC 792; RFC 4443 §3). The message
        # type numbers follow the protocol, not the IP version that carries it.
        error = 1 <= itype <= 4 if p == P_ICMPV6 else itype in (3, 4, 5, 11, 12)
        if not truncated and avail > 8 and error:
            inner = u8(buf, base, cap, off + 8) >> 4
            if inner == 4 or inner == 6:
                return UP_FALLBACK, n, 0, 0, 0
        header = 8
    elif proto == IPPROTO_IGMP:
        p = P_IGMP
        truncated = avail < 8
        header = 8
    elif proto == IPPROTO_GRE:
        p = P_GRE
        if avail < 4 or fragment:
            return UP_FALLBACK, n, 0, 0, 0
        gflags = u16(buf, base, cap, off)
        # RFC 2784 §2 / RFC 2890: checksum+reserved, key, sequence; PPTP adds an ack.
        header = 4
        if gflags & 0xC000:
            header += 4
        if gflags & 0x2000:
            header += 4
        if gflags & 0x1000:
            header += 4
        if gflags & 0x7 == 1 and gflags & 0x0080:
            header += 4
        if avail < header or gflags & 0x4000:
            return UP_FALLBACK, n, 0, 0, 0
    elif proto in (IPPROTO_IPIP, IPPROTO_IPV6):
        # IP in IP (RFC 2003, RFC 4213 §3.5, RFC 2473): the inner datagram is all there is.
        return UP_TUNNEL, n, TUNNEL_IP4 if proto == IPPROTO_IPIP else TUNNEL_IP6, off, view_end
    elif proto == IPPROTO_ETHERNET:
        return UP_FALLBACK, n, 0, 0, 0
    fr.l4_off = off
    if p >= 0 and fragment:
        depths[p] += 1
        n = fragment_row(ck, n, buf, base, cap, p, depths[p] - 1, off, avail)
    elif p >= 0 and not (p == P_GRE and not u16(buf, base, cap, off) & 0x8000):
        depth = depths[p]
        depths[p] += 1
        n = upper_row(
            ck, n, buf, base, cap, p, proto, depth, off, length, avail, addr, v6, final, snaplen
        )
    if truncated:
        return UP_DONE, n, 0, 0, 0
    if p == P_TCP:
        fr.sport = u16(buf, base, cap, off)
        fr.dport = u16(buf, base, cap, off + 2)
        fr.tcp_seq = u32(buf, base, cap, off + 4)
        fr.tcp_ack = u32(buf, base, cap, off + 8)
        fr.tcp_flags = u16(buf, base, cap, off + 12) & 0x0FFF
        fr.tcp_win = u16(buf, base, cap, off + 14)
        fr.tcp_hdr_len = header
        if header > 20:
            (
                fr.tcp_mss,
                fr.tcp_wscale,
                fr.tcp_sack_perm,
                fr.tcp_has_ts,
                fr.tcp_tsval,
                fr.tcp_tsecr,
            ) = _tcp_options(buf, base, cap, off + 20, off + header)
    elif p in (P_UDP, P_UDPLITE):
        fr.sport = u16(buf, base, cap, off)
        fr.dport = u16(buf, base, cap, off + 2)
    elif p in (P_ICMP, P_ICMPV6):
        itype = u8(buf, base, cap, off)
        code = u8(buf, base, cap, off + 1)
        fr.icmp_type = itype
        fr.icmp_code = code
        if avail >= 8:
            if p == P_ICMP:
                if itype == 0 or itype == 8:
                    fr.icmp_id = u16(buf, base, cap, off + 4)
                    fr.icmp_seq = u16(buf, base, cap, off + 6)
                elif itype == 3 and code == 4:
                    fr.icmp_mtu = u16(buf, base, cap, off + 6)
            else:
                if itype == 128 or itype == 129:
                    fr.icmp_id = u16(buf, base, cap, off + 4)
                    fr.icmp_seq = u16(buf, base, cap, off + 6)
                elif itype == 2:
                    mtu = u32(buf, base, cap, off + 4)
                    if mtu > 0x7FFFFFFF:
                        # Beyond the int32 column: the reference path decides.
                        return UP_FALLBACK, n, 0, 0, 0
                    fr.icmp_mtu = mtu
    fr.l4_payload_len = max(length - header, 0)
    span[0] = base + off + header
    span[1] = max(view_end - off - header, 0)
    if p == P_UDP and not fragment:
        return _udp_tunnel(buf, base, cap, off, view_end, n)
    if p == P_GRE:
        return _gre_payload(buf, base, cap, off, header, view_end, n)
    return UP_DONE, n, 0, 0, 0


@helper
def _udp_tunnel(
    buf: Bytes, base: Int, cap: Int, off: Int, view_end: Int, n: Int
) -> tuple[Int, Int, Int, Int, Int]:
    """Follow VXLAN (RFC 7348) and Geneve (RFC 8926) the UDP ports announce."""
    sport = u16(buf, base, cap, off)
    dport = u16(buf, base, cap, off + 2)
    # A tunnel port as destination always counts; as source only above the destination.
    port: Int = 0
    if dport in (PORT_L2TP, PORT_TEREDO, PORT_VXLAN, PORT_VXLAN_GPE, PORT_GENEVE):
        port = dport
    elif (
        sport in (PORT_L2TP, PORT_TEREDO, PORT_VXLAN, PORT_VXLAN_GPE, PORT_GENEVE)
        and dport >= sport
    ):
        port = sport
    if port == 0:
        return UP_DONE, n, 0, 0, 0
    if port != PORT_VXLAN and port != PORT_GENEVE:
        return UP_FALLBACK, n, 0, 0, 0
    ulen = u16(buf, base, cap, off + 4)
    region = off + ulen if 8 <= ulen <= view_end - off else view_end
    inner = off + 8
    if port == PORT_VXLAN:
        if inner + 8 > region:
            return UP_FALLBACK, n, 0, 0, 0
        return UP_TUNNEL, n, TUNNEL_ETHER, inner + 8, region
    if inner + 8 > region:
        return UP_FALLBACK, n, 0, 0, 0
    size = 8 + (u8(buf, base, cap, inner) & 0x3F) * 4
    if inner + size > region:
        return UP_FALLBACK, n, 0, 0, 0
    return _by_ethertype(u16(buf, base, cap, inner + 2), inner + size, region, n)


@helper
def _by_ethertype(etype: Int, off: Int, region: Int, n: Int) -> tuple[Int, Int, Int, Int, Int]:
    """An inner payload named by an EtherType (0x6558: a whole Ethernet frame)."""
    if etype == ETH_TEB:
        return UP_TUNNEL, n, TUNNEL_ETHER, off, region
    if etype == ETH_IPV4:
        return UP_TUNNEL, n, TUNNEL_IP4, off, region
    if etype == ETH_IPV6:
        return UP_TUNNEL, n, TUNNEL_IP6, off, region
    if etype in (ETH_MPLS, ETH_CISCO_METADATA):
        return UP_FALLBACK, n, 0, 0, 0
    return UP_DONE, n, 0, 0, 0


@helper
def _gre_payload(
    buf: Bytes, base: Int, cap: Int, off: Int, header: Int, view_end: Int, n: Int
) -> tuple[Int, Int, Int, Int, Int]:
    """What GRE carries: by EtherType, ERSPAN II/III mirrored frames (draft-foschiano-erspan)."""
    gflags = u16(buf, base, cap, off)
    ptype = u16(buf, base, cap, off + 2)
    inner = off + header
    if ptype == ETH_ERSPAN2:
        if not gflags & 0x1000:
            return UP_TUNNEL, n, TUNNEL_ETHER, inner, view_end  # type I: no header
        if inner + 8 > view_end:
            return UP_FALLBACK, n, 0, 0, 0
        return UP_TUNNEL, n, TUNNEL_ETHER, inner + 8, view_end
    if ptype == ETH_ERSPAN3:
        if inner + 12 > view_end:
            return UP_FALLBACK, n, 0, 0, 0
        size = 20 if u8(buf, base, cap, inner + 11) & 1 else 12
        if inner + size > view_end:
            return UP_FALLBACK, n, 0, 0, 0
        return UP_TUNNEL, n, TUNNEL_ETHER, inner + size, view_end
    if ptype in (ETH_PPP, ETH_WCCP):
        return UP_FALLBACK, n, 0, 0, 0
    return _by_ethertype(ptype, inner, view_end, n)
