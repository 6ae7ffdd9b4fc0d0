"""IPv4 and IPv6 headers in the kernels: the frame's IP columns, where the upper layer starts,
and the address part of the pseudo-header sum (final destination included).

Mirrors `decode.network.walk_ip` for ordinary datagrams. IPv4 options are walked for an
unfinished loose/strict source route, whose last address is the final destination
(RFC 791 §3.1, RFC 1122 §3.2.1.8). IPv6 extension headers (hop-by-hop, destination options,
routing types 0, 2 and 4) are followed to the upper layer; a routing header with segments
left names the final destination (RFC 8200 §4.4 and §8.1, RFC 8754 §2 for the SRH).
An outermost IPv4 fragment with a plain 20-byte header, and an outermost IPv6 fragment
with no segments left before its fragment header and (first fragment) the upper layer right
after it, return `IP_FRAGMENT` (columns filled; the caller adds its reassembly): their
reassembly keys and pseudo-headers are what the columns hold. Other fragments, AH, RPL
routing, jumbograms,
home-address options, total length 0, lengths beyond the wire and headers cut short return
`IP_FALLBACK`: the reference path walks those.

Always holds: reads stay below `view_end` / the captured bytes; the extension walk is bounded
in steps; the IP columns written are those of the datagram just walked (the innermost wins
because datagrams are walked outside-in).
"""

from __future__ import annotations

from wiredoctor.fast.jit import Bytes, Int, Row, helper
from wiredoctor.fast.wire import fold, ones_sum, u8, u16, u32, u64
from wiredoctor.tables import FrameFlag

IP_OK = 0
IP_FALLBACK = 1
IP_FRAGMENT = 2

FLAG_SRH = int(FrameFlag.SRH)

MAPPED_PREFIX = 0xFFFF_0000_0000  # ::ffff:0:0/96, IPv4 addresses in the address columns

IPOPT_END = 0
IPOPT_NOP = 1
IPOPT_LSRR = 131
IPOPT_SSRR = 137

NH_HOPOPTS = 0
NH_ROUTING = 43
NH_FRAGMENT = 44
NH_AH = 51
NH_NO_NEXT = 59
NH_DSTOPTS = 60
MAX_EXTENSIONS = 32
OPT_JUMBO = 0xC2  # RFC 2675 §2
OPT_HOME_ADDRESS = 0xC9  # RFC 6275 §6.3


@helper
def _ipv4_destination(buf: Bytes, base: Int, cap: Int, off: Int, hlen: Int) -> Int:
    """Frame offset of the pseudo-header destination; -1 when the options do not parse.

    The first loose/strict source route whose pointer has not passed its data names the
    final destination: its last whole address (RFC 791 §3.1: the pointer is 1-based from
    the option type, addresses start at 4).
    """
    pos = off + 20
    end = off + hlen
    while pos < end:
        kind = u8(buf, base, cap, pos)
        if kind == IPOPT_END:
            break
        if kind == IPOPT_NOP:
            pos += 1
            continue
        if pos + 1 >= end:
            return -1
        length = u8(buf, base, cap, pos + 1)
        if length < 2 or pos + length > end:
            return -1
        if (kind in (IPOPT_LSRR, IPOPT_SSRR)) and length - 2 >= 5:
            pointer = u8(buf, base, cap, pos + 2)
            route = length - 3
            usable = route - route % 4
            if usable > 0 and pointer <= length - 3:
                return pos + 3 + usable - 4
        pos += length
    return off + 16


@helper
def ipv4(
    buf: Bytes, base: Int, cap: Int, off: Int, wire_limit: Int, outermost: bool, fr: Row
) -> tuple[Int, Int, Int, Int, Int, bool]:
    """Walk the IPv4 header at `off`; `wire_limit` is where the enclosing region ends;
    `outermost` allows `IP_FRAGMENT`.

    Returns (state, upper-layer offset, datagram end, protocol, pseudo-header address sum,
    final destination differs from ip.dst).
    """
    if off + 20 > cap:
        return IP_FALLBACK, 0, 0, 0, 0, False
    hlen = (u8(buf, base, cap, off) & 0x0F) * 4
    if hlen < 20 or off + hlen > cap:
        return IP_FALLBACK, 0, 0, 0, 0, False
    total = u16(buf, base, cap, off + 2)
    frag = u16(buf, base, cap, off + 6)
    proto = u8(buf, base, cap, off + 9)
    end = off + total
    if total < hlen or proto == NH_AH or end > wire_limit:
        # Total length 0 (TSO), a length below the header, AH, or a length beyond what
        # encloses the datagram.
        return IP_FALLBACK, 0, 0, 0, 0, False
    state = IP_OK
    if frag & 0x3FFF:
        # MF or a fragment offset (RFC 791 §3.1). Only the outermost datagram with a plain
        # header stays: its reassembly key and pseudo-header (no source route) are then
        # what the columns hold.
        if not outermost or hlen != 20:
            return IP_FALLBACK, 0, 0, 0, 0, False
        state = IP_FRAGMENT
    dst_at = off + 16
    if hlen > 20:
        dst_at = _ipv4_destination(buf, base, cap, off, hlen)
        if dst_at < 0:
            return IP_FALLBACK, 0, 0, 0, 0, False
    fr.ip_version = 4
    fr.ip_off = off
    fr.dsfield = u8(buf, base, cap, off + 1)
    fr.ip_len = total
    fr.ip_id = u16(buf, base, cap, off + 4)
    fr.ip_flags = ((frag >> 14) & 1) | ((frag >> 12) & 2)  # DF, MF
    fr.frag_off = (frag & 0x1FFF) * 8
    fr.ttl = u8(buf, base, cap, off + 8)
    fr.ip_proto = proto
    fr.ip_hdr_len = hlen
    fr.src_hi = 0
    fr.src_lo = MAPPED_PREFIX | u32(buf, base, cap, off + 12)
    fr.dst_hi = 0
    fr.dst_lo = MAPPED_PREFIX | u32(buf, base, cap, off + 16)
    final = dst_at != off + 16 and u32(buf, base, cap, dst_at) != u32(buf, base, cap, off + 16)
    addr = fold(
        ones_sum(buf, base, cap, off + 12, off + 16) + ones_sum(buf, base, cap, dst_at, dst_at + 4)
    )
    return state, off + hlen, end, proto, addr, final


@helper
def _options_exotic(buf: Bytes, base: Int, cap: Int, pos: Int, end: Int) -> bool:
    """True when an options header carries a jumbo payload or home address option."""
    pos += 2
    while pos < end:
        kind = u8(buf, base, cap, pos)
        if kind == 0:  # Pad1 has no length byte (RFC 8200 §4.2)
            pos += 1
            continue
        if pos + 1 >= end:
            return False
        if kind in (OPT_JUMBO, OPT_HOME_ADDRESS):
            return True
        pos += 2 + u8(buf, base, cap, pos + 1)
    return False


@helper
def ipv6(
    buf: Bytes, base: Int, cap: Int, off: Int, wire_limit: Int, outermost: bool, fr: Row
) -> tuple[Int, Int, Int, Int, Int, bool]:
    """Walk the IPv6 header and its extension chain at `off` (`outermost` allows
    `IP_FRAGMENT`).

    Returns (state, upper-layer offset, datagram end, upper-layer protocol, pseudo-header
    address sum, final destination differs from ipv6.dst).
    """
    if off + 40 > cap:
        return IP_FALLBACK, 0, 0, 0, 0, False
    plen = u16(buf, base, cap, off + 4)
    nh = u8(buf, base, cap, off + 6)
    end = off + 40 + plen
    if end > wire_limit or (plen == 0 and nh != NH_NO_NEXT and wire_limit > end):
        # A length beyond what encloses it, or a jumbogram / BIG TCP length to derive.
        return IP_FALLBACK, 0, 0, 0, 0, False
    view_end = min(cap, end)
    pos = off + 40
    dst_at = off + 24
    srh = False
    state = IP_OK
    ident: Int = -1
    more: Int = 0
    frag_off: Int = 0
    for _ in range(MAX_EXTENSIONS):
        if nh == NH_FRAGMENT and outermost and not srh and pos + 8 <= view_end:
            # RFC 8200 §4.5: offset in 8-byte units, M flag, 32-bit identification.
            offmore = u16(buf, base, cap, pos + 2)
            if offmore & 0xFFF9 == 0:
                break  # an atomic fragment: the reference path walks it
            state = IP_FRAGMENT
            frag_off = (offmore >> 3) * 8
            more = offmore & 1
            ident = u32(buf, base, cap, pos + 4)
            nh = u8(buf, base, cap, pos)
            pos += 8
            if frag_off == 0 and nh in (NH_HOPOPTS, NH_ROUTING, NH_FRAGMENT, NH_AH, NH_DSTOPTS):
                return IP_FALLBACK, 0, 0, 0, 0, False
            break  # a later fragment carries data, not headers
        if nh != NH_HOPOPTS and nh != NH_DSTOPTS and nh != NH_ROUTING:
            break
        if pos + 8 > view_end:
            return IP_FALLBACK, 0, 0, 0, 0, False
        elen = (u8(buf, base, cap, pos + 1) + 1) * 8
        if pos + elen > view_end:
            return IP_FALLBACK, 0, 0, 0, 0, False
        if nh == NH_ROUTING:
            rtype = u8(buf, base, cap, pos + 2)
            segleft = u8(buf, base, cap, pos + 3)
            if rtype == 3:
                return IP_FALLBACK, 0, 0, 0, 0, False  # RPL: compressed addresses
            if segleft > 0:
                srh = True
                if rtype == 0 or rtype == 2 or rtype == 4:
                    count = (elen - 8) // 16
                    if rtype == 4:
                        count = min(count, u8(buf, base, cap, pos + 4) + 1)
                    if count > 0:
                        # Type 4 lists segments in reverse: entry 0 is the final one.
                        dst_at = pos + 8 if rtype == 4 else pos + 8 + (count - 1) * 16
        elif _options_exotic(buf, base, cap, pos, pos + elen):
            return IP_FALLBACK, 0, 0, 0, 0, False
        nh = u8(buf, base, cap, pos)
        pos += elen
    else:
        return IP_FALLBACK, 0, 0, 0, 0, False
    if (state == IP_OK and nh in (NH_FRAGMENT, NH_AH)) or end < pos or pos - off > 0xFFFF:
        return IP_FALLBACK, 0, 0, 0, 0, False
    if srh:
        fr.flags |= FLAG_SRH
    fr.ip_version = 6
    fr.ip_off = off
    fr.dsfield = (u16(buf, base, cap, off) >> 4) & 0xFF
    fr.ip_len = 40 + plen
    fr.ip_id = ident
    fr.ip_flags = more << 1
    fr.frag_off = frag_off
    fr.ttl = u8(buf, base, cap, off + 7)
    fr.ip_proto = nh
    fr.ip_hdr_len = pos - off
    fr.src_hi = u64(buf, base, cap, off + 8)
    fr.src_lo = u64(buf, base, cap, off + 16)
    fr.dst_hi = u64(buf, base, cap, off + 24)
    fr.dst_lo = u64(buf, base, cap, off + 32)
    final = dst_at != off + 24 and (
        u64(buf, base, cap, dst_at) != u64(buf, base, cap, off + 24)
        or u64(buf, base, cap, dst_at + 8) != u64(buf, base, cap, off + 32)
    )
    addr = fold(
        ones_sum(buf, base, cap, off + 8, off + 24) + ones_sum(buf, base, cap, dst_at, dst_at + 16)
    )
    return state, pos, end, nh, addr, final
