"""Link layers in the kernels: from a frame's first byte to its outermost network header.

Mirrors `decode.frame`: Ethernet II and IEEE 802.3 (LLC), 802.1Q / 802.1ad / QinQ tags of
any depth, ARP (its size bounds the padding), Linux cooked SLL and SLL2, raw IP, BSD null /
loopback. Anything else the reference walks (MPLS, PPPoE, vendor tags, unknown link types,
link headers cut short) is handed back as `LINK_FALLBACK`.

Always holds: every read is bounded by the captured bytes; the tag walk ends within
cap / 4 steps; the link columns (MACs, tags, SLL packet type, direction) are written only
here and only for the outermost link layer.
"""

from __future__ import annotations

import numpy as np

from wiredoctor.capture.record import Direction, LinkType
from wiredoctor.fast.jit import Bytes, Int, Row, helper
from wiredoctor.fast.wire import u8, u16, u32

LINK_IP4 = 4  # an IPv4 header starts at the returned offset
LINK_IP6 = 6  # an IPv6 header starts there
LINK_OTHER = 1  # a non-IP network message starts there (end known or -1)
LINK_FALLBACK = 2  # the reference path must walk this frame

ETH_IPV4 = 0x0800
ETH_ARP = 0x0806
ETH_IPV6 = 0x86DD
ETH_8021Q = 0x8100
ETH_8021AD = 0x88A8
ETH_QINQ_OLD = 0x9100  # pre-standard QinQ tags
ETH_QINQ_OLD_2 = 0x9200
ETH_MAX_LENGTH = 1500  # IEEE 802.3 §3.2.6: a type/length field up to 1500 is a length

ETHERNET_MIN_FRAME = 60  # IEEE 802.3 §3.2.7, FCS excluded: shorter frames are padded
ARPHRD_ETHER = 1

LT_NULL = int(LinkType.NULL)
LT_ETHERNET = int(LinkType.ETHERNET)
LT_RAW = int(LinkType.RAW)
LT_LOOP = int(LinkType.LOOP)
LT_SLL = int(LinkType.LINUX_SLL)
LT_IPV4 = int(LinkType.IPV4)
LT_IPV6 = int(LinkType.IPV6)
LT_SLL2 = int(LinkType.LINUX_SLL2)
LT_RAW_12 = 12  # DLT_RAW as most platforms number it in files
LT_RAW_14 = 14  # DLT_RAW on OpenBSD

# BSD address families (AF_INET6 differs per OS: NetBSD/OpenBSD 24, FreeBSD 28, macOS 30).
AF_INET = 2
AF_INET6_BSD = 24
AF_INET6_FREEBSD = 28
AF_INET6_DARWIN = 30

DIR_UNKNOWN = int(Direction.UNKNOWN)
DIR_INBOUND = int(Direction.INBOUND)
DIR_OUTBOUND = int(Direction.OUTBOUND)
SLL_OUTGOING = 4


@helper
def ethertype_walk(
    buf: Bytes, base: Int, cap: Int, off: Int, etype: Int
) -> tuple[Int, Int, Int, Int, Int]:
    """Follow tags from `etype` (whose payload starts at `off`) to the network header.

    Returns (kind, offset, end of a non-IP message or -1, tags passed, first tag's VLAN id
    or -1).
    """
    tags = 0
    vlan_id: Int = -1
    while True:
        if etype in (ETH_8021Q, ETH_8021AD, ETH_QINQ_OLD, ETH_QINQ_OLD_2):
            tci = u16(buf, base, cap, off)
            nxt = u16(buf, base, cap, off + 2)
            if nxt < 0:
                return LINK_FALLBACK, off, -1, tags, vlan_id
            if tags == 0:
                vlan_id = tci & 0x0FFF
            if tags == 255:
                return LINK_FALLBACK, off, -1, tags, vlan_id
            tags += 1
            off += 4
            etype = nxt
            if etype <= ETH_MAX_LENGTH:
                # An 802.3 length inside a tag: an LLC frame of that length follows.
                return LINK_OTHER, off, off + etype, tags, vlan_id
            continue
        if etype == ETH_IPV4:
            return LINK_IP4, off, -1, tags, vlan_id
        if etype == ETH_IPV6:
            return LINK_IP6, off, -1, tags, vlan_id
        if etype == ETH_ARP:
            # RFC 826: 8 fixed bytes, then two hardware and two protocol addresses.
            hsize = u8(buf, base, cap, off + 4)
            psize = u8(buf, base, cap, off + 5)
            if off + 8 > cap:
                return LINK_OTHER, off, -1, tags, vlan_id
            return LINK_OTHER, off, off + 8 + 2 * hsize + 2 * psize, tags, vlan_id
        if (
            etype == 0x8847
            or etype == 0x8848
            or etype == 0x8864
            or etype == 0x8909
            or etype == 0xD28B
        ):
            # MPLS, PPPoE, Cisco metadata, Arista timestamps: the reference path walks them.
            return LINK_FALLBACK, off, -1, tags, vlan_id
        return LINK_OTHER, off, -1, tags, vlan_id


@helper
def mac48(buf: Bytes, base: Int, cap: Int, off: Int) -> Int:
    """The 48-bit address at `off` as an integer (0 when not captured)."""
    hi = u16(buf, base, cap, off)
    lo = u32(buf, base, cap, off + 2)
    if hi < 0 or lo < 0:
        return 0
    return (hi << 32) | lo


@helper
def walk_link(buf: Bytes, base: Int, cap: Int, linktype: Int, fr: Row) -> tuple[Int, Int, Int, Int]:
    """Walk the link layer of a frame.

    Returns (kind, network offset, end of a non-IP message or -1, padding limit: the frame
    offset below which left-over bytes are Ethernet padding, 0 when the link has none).
    """
    if linktype == LT_ETHERNET:
        if cap < 14:
            return LINK_FALLBACK, 0, -1, 0
        fr.eth_dst = mac48(buf, base, cap, np.int64(0))
        fr.eth_src = mac48(buf, base, cap, np.int64(6))
        etype = u16(buf, base, cap, np.int64(12))
        if etype <= ETH_MAX_LENGTH:
            return LINK_OTHER, 14, 14 + etype, ETHERNET_MIN_FRAME
        kind, off, end, tags, vlan_id = ethertype_walk(buf, base, cap, np.int64(14), etype)
        fr.vlan_depth = tags
        fr.vlan_id = vlan_id
        return kind, off, end, ETHERNET_MIN_FRAME
    if linktype in (LT_SLL, LT_SLL2):
        if linktype == LT_SLL:
            # Linux cooked v1: packet type, ARPHRD type, address length, address, protocol.
            if cap < 16:
                return LINK_FALLBACK, 0, -1, 0
            pkttype = u16(buf, base, cap, np.int64(0))
            hatype = u16(buf, base, cap, np.int64(2))
            etype = u16(buf, base, cap, np.int64(14))
            header = 16
        else:
            # Linux cooked v2: protocol, reserved, ifindex, ARPHRD type, packet type, ….
            if cap < 20:
                return LINK_FALLBACK, 0, -1, 0
            pkttype = u8(buf, base, cap, np.int64(10))
            hatype = u16(buf, base, cap, np.int64(8))
            etype = u16(buf, base, cap, np.int64(0))
            header = 20
        # The column is an int8: packet types beyond it (none is defined) read as absent.
        fr.sll_pkttype = pkttype if pkttype <= 127 else -1
        if fr.direction == DIR_UNKNOWN and pkttype <= SLL_OUTGOING:
            # The SLL packet type gives the direction when the capture format did not.
            fr.direction = DIR_OUTBOUND if pkttype == SLL_OUTGOING else DIR_INBOUND
        # The Ethernet padding sits behind the cooked header instead of the 14-byte one.
        limit = ETHERNET_MIN_FRAME - 14 + header if hatype == ARPHRD_ETHER else 0
        kind, off, end, tags, vlan_id = ethertype_walk(buf, base, cap, header, etype)
        fr.vlan_depth = tags
        fr.vlan_id = vlan_id
        return kind, off, end, limit
    if linktype in (LT_NULL, LT_LOOP):
        if cap < 4:
            return LINK_FALLBACK, 0, -1, 0
        # The family is in the writing host's byte order: take whichever order is known.
        little = (
            u8(buf, base, cap, np.int64(0))
            | (u8(buf, base, cap, np.int64(1)) << 8)
            | (u8(buf, base, cap, np.int64(2)) << 16)
            | (u8(buf, base, cap, np.int64(3)) << 24)
        )
        known = little in (AF_INET, AF_INET6_BSD, AF_INET6_FREEBSD, AF_INET6_DARWIN)
        family = little if known else u32(buf, base, cap, np.int64(0))
        if family == AF_INET:
            return LINK_IP4, 4, -1, 0
        if family in (AF_INET6_BSD, AF_INET6_FREEBSD, AF_INET6_DARWIN):
            return LINK_IP6, 4, -1, 0
        return LINK_OTHER, 4, -1, 0
    if linktype in (LT_RAW, LT_IPV4, LT_IPV6, LT_RAW_12, LT_RAW_14):
        first = u8(buf, base, cap, np.int64(0))
        version: Int = 0
        if linktype == LT_IPV4:
            version = 4
        elif linktype == LT_IPV6:
            version = 6
        elif first >= 0:
            version = first >> 4
        if version == 4:
            return LINK_IP4, 0, -1, 0
        if version == 6:
            return LINK_IP6, 0, -1, 0
        return LINK_OTHER, 0, -1, 0
    return LINK_FALLBACK, 0, -1, 0
