"""The IP part of a frame walk: an IPv4/IPv6 datagram, its options or extension chain, its
upper-layer header, and the way on into tunnels and ICMP error quotes.

Always holds: a datagram's contents are decoded only within the bytes its IP length gives it
(`_view`), so an inner header never reads the outer trailer; IPv4 total length 0 and IPv6
payload length 0 (jumbogram, BIG TCP) take their length from the enclosing region and are
marked `length_derived`; a length beyond the enclosing region is marked `length_lie`;
non-first fragments are not decoded past the IP header; nesting stops at MAX_DATAGRAMS.
"""

from __future__ import annotations

from dataclasses import replace

from wiredoctor.decode import frame
from wiredoctor.decode.ipv4 import IPv4, decode_ipv4
from wiredoctor.decode.ipv6 import (
    EXTENSION_HEADERS,
    IPv6,
    IPv6Extension,
    IPv6Fragment,
    IPv6Options,
    IPv6Routing,
    decode_ah,
    decode_fragment,
    decode_ipv6,
    decode_options_header,
    decode_routing,
)
from wiredoctor.decode.l4 import (
    Udp,
    decode_icmp,
    decode_icmpv6,
    decode_igmp,
    decode_udp,
    decode_udplite,
)
from wiredoctor.decode.layers import MAX_DATAGRAMS, Datagram, UpperLayer, Walk
from wiredoctor.decode.tcp import decode_tcp
from wiredoctor.decode.tunnel import (
    decode_gre,
)
from wiredoctor.decode.values import BadLength, Payload, Truncated
from wiredoctor.ipproto import IpProto


def walk_ip(walk: Walk, data: bytes, offset: int, version: int, *, quoted: bool) -> None:
    """Decode the IP datagram at `offset`; `data` ends where the enclosing region ends."""
    if len(walk.datagrams) >= MAX_DATAGRAMS:
        walk.stop(Payload(offset=offset, length=len(data) - offset, protocol="nesting limit"))
        return
    # How long the enclosing region is on the wire: the frame's wire length for the
    # outermost datagram, else the bytes the enclosing header gave this one.
    wire_limit = walk.wire if not walk.datagrams else len(data)
    ip = decode_ipv4(data, offset) if version == 4 else decode_ipv6(data, offset)
    if not isinstance(ip, IPv4 | IPv6):
        walk.mark_network(offset, -1)
        walk.stop(ip)
        return
    walk.layers.append(ip)
    state = _DatagramState(ip=ip, quoted=quoted)
    if isinstance(ip, IPv4):
        header = ip.header_length
        if ip.total_length == 0:
            # TSO / BIG TCP super-frame: the length is whatever the frame holds.
            state.derived = True
            state.end = wire_limit
        else:
            state.end = offset + ip.total_length
        walk.mark_network(offset, -1 if state.derived else state.end)
        if 0 < ip.total_length < header:
            walk.stop(
                BadLength(
                    offset=offset, layer="ip", field="ip.len", value=ip.total_length, limit=header
                )
            )
            _finish(walk, state, data)
            return
        state.pos = state.fragment_start = offset + header
        state.protocol = ip.protocol
        state.fragment = (ip.fragment_offset * 8, ip.more_fragments, ip.identification)
        state.is_fragment = ip.is_fragment
        state.pseudo_destination = ip.final_destination
    else:
        state.end = offset + 40 + ip.payload_length
        if ip.payload_length == 0 and ip.next_header != IpProto.NO_NEXT and wire_limit > state.end:
            # A jumbogram (RFC 2675) or BIG TCP without the jumbo option: the length is what
            # the frame holds until a jumbo payload option says otherwise.
            state.derived = True
            state.end = wire_limit
        walk.mark_network(offset, state.end)
        state.pos = state.fragment_start = offset + 40
        state.protocol = ip.next_header
    view = _view(data, state.end)
    # Follow the extension chain (IPv6; AH also over IPv4).
    while state.protocol in EXTENSION_HEADERS and (version == 6 or state.protocol == IpProto.AH):
        ext = _extension(view, state.pos, state.protocol, ip.destination)
        if isinstance(ext, Truncated | BadLength):
            walk.stop(ext)
            state.upper_offset = -1
            _finish(walk, state, view)
            return
        state.extensions.append(ext)
        walk.layers.append(ext)
        state.pos += ext.length
        state.protocol = ext.next_header
        if isinstance(ext, IPv6Options) and ext.home_address is not None:
            state.pseudo_source = ext.home_address
        if isinstance(ext, IPv6Options) and ext.jumbo_payload_length is not None:
            if isinstance(ip, IPv6) and ip.payload_length == 0:
                state.derived = True  # RFC 2675 §2: the jumbo length replaces plen
                state.end = offset + 40 + ext.jumbo_payload_length
                view = _view(data, state.end)
        elif isinstance(ext, IPv6Routing) and ext.final_destination is not None:
            state.pseudo_destination = ext.final_destination
        elif isinstance(ext, IPv6Fragment):
            state.fragment = (ext.fragment_offset * 8, ext.more_fragments, ext.identification)
            state.is_fragment = ext.is_fragment
            state.fragment_start = state.pos
            if ext.fragment_offset:
                break  # what follows is fragment data, not headers
    state.lie = state.end > wire_limit
    if state.end < state.pos:
        walk.stop(
            BadLength(
                offset=offset,
                layer="ipv6" if version == 6 else "ip",
                field="ipv6.plen" if version == 6 else "ip.len",
                value=state.end - offset,
                limit=state.pos - offset,
            )
        )
        state.upper_offset = -1
        _finish(walk, state, view)
        return
    state.upper_offset = state.pos
    index = _finish(walk, state, view)
    if state.fragment[0] != 0:
        walk.stop(
            Payload(offset=state.pos, length=max(len(view) - state.pos, 0), protocol="fragment")
        )
        return
    upper = walk_upper(walk, view, state.pos, state.protocol, follow=not state.is_fragment)
    if upper is not None:
        walk.datagrams[index] = _with_upper(walk.datagrams[index], upper)


def _view(data: bytes, end: int) -> bytes:
    """The frame's bytes up to `end` (offsets stay those of the frame)."""
    return data[:end] if end < len(data) else data


def _extension(
    data: bytes, offset: int, protocol: int, destination: bytes
) -> IPv6Extension | Truncated | BadLength:
    if protocol in (IpProto.HOPOPTS, IpProto.DSTOPTS):
        return decode_options_header(data, offset, protocol)
    if protocol == IpProto.ROUTING:
        return decode_routing(data, offset, destination)
    if protocol == IpProto.FRAGMENT:
        return decode_fragment(data, offset)
    return decode_ah(data, offset)


class _DatagramState:
    """What `_ip` learns about a datagram while walking its headers (private)."""

    __slots__ = (
        "derived",
        "end",
        "extensions",
        "fragment",
        "fragment_start",
        "ip",
        "is_fragment",
        "lie",
        "pos",
        "protocol",
        "pseudo_destination",
        "pseudo_source",
        "quoted",
        "upper_offset",
    )

    def __init__(self, *, ip: IPv4 | IPv6, quoted: bool) -> None:
        self.ip = ip
        self.quoted = quoted
        self.derived = False
        self.lie = False
        self.end = ip.offset
        self.pos = ip.offset
        self.fragment_start = ip.offset
        self.upper_offset = -1
        self.protocol = -1
        self.extensions: list[IPv6Extension] = []
        self.fragment: tuple[int, bool, int] = (0, False, -1)
        self.is_fragment = False
        self.pseudo_destination = ip.destination
        self.pseudo_source = ip.source


def _finish(walk: Walk, state: _DatagramState, view: bytes) -> int:
    """Record the datagram; its index in `walk.datagrams`."""
    known = state.upper_offset >= 0
    if walk.network_offset == state.ip.offset and not walk.datagrams:
        # The outermost datagram's end bounds the padding; a derived length has none.
        walk.network_end = -1 if state.derived else state.end
    walk.datagrams.append(
        Datagram(
            ip=state.ip,
            extensions=tuple(state.extensions),
            protocol=state.protocol if known else -1,
            upper_offset=state.upper_offset,
            upper=None,
            upper_length=state.end - state.upper_offset if known else -1,
            end=state.end,
            limit=len(view),
            length_lie=state.lie,
            length_derived=state.derived,
            pseudo_source=state.pseudo_source,
            pseudo_destination=state.pseudo_destination,
            fragment_offset=state.fragment[0],
            more_fragments=state.fragment[1],
            fragment_id=state.fragment[2],
            fragment_start=state.fragment_start,
            is_fragment=state.is_fragment,
            quoted=state.quoted,
        )
    )
    if state.lie:
        walk.malformed = True
    return len(walk.datagrams) - 1


def _with_upper(datagram: Datagram, upper: UpperLayer | Truncated) -> Datagram:
    return replace(datagram, upper=upper)


def walk_upper(
    walk: Walk, data: bytes, offset: int, protocol: int, *, follow: bool
) -> UpperLayer | Truncated | None:
    """Decode the upper layer at `offset`; follow tunnels and ICMP quotes when `follow`."""
    quoted_now = len(walk.datagrams) > 0 and walk.datagrams[-1].quoted
    if protocol == IpProto.TCP:
        tcp = decode_tcp(data, offset)
        if isinstance(tcp, BadLength):
            walk.stop(tcp)
            return None
        if isinstance(tcp, Truncated):
            walk.stop(tcp)
            return tcp
        walk.layers.append(tcp)
        walk.rest(data, offset + tcp.header_length, "tcp payload")
        return tcp
    if protocol in (IpProto.UDP, IpProto.UDPLITE):
        udp = decode_udp(data, offset) if protocol == IpProto.UDP else decode_udplite(data, offset)
        if isinstance(udp, Truncated):
            walk.stop(udp)
            return udp
        walk.layers.append(udp)
        if follow and isinstance(udp, Udp) and not quoted_now:
            inner_end = offset + udp.length if 8 <= udp.length <= len(data) - offset else len(data)
            if frame.walk_udp_tunnel(walk, data[:inner_end], offset + 8, udp):
                return udp
        walk.rest(data, offset + 8, "udp payload")
        return udp
    if protocol in (IpProto.ICMP, IpProto.ICMPV6):
        icmp = (
            decode_icmp(data, offset) if protocol == IpProto.ICMP else decode_icmpv6(data, offset)
        )
        if isinstance(icmp, Truncated):
            walk.stop(icmp)
            return icmp
        walk.layers.append(icmp)
        if follow and icmp.is_error and not quoted_now and len(data) - offset > 8:
            inner = data[offset + 8] >> 4
            if inner in (4, 6):
                walk_ip(walk, data, offset + 8, inner, quoted=True)
                return icmp
        walk.rest(data, offset + 8, "icmp payload")
        return icmp
    if protocol == IpProto.IGMP:
        igmp = decode_igmp(data, offset)
        if isinstance(igmp, Truncated):
            walk.stop(igmp)
            return igmp
        walk.layers.append(igmp)
        return igmp
    if protocol == IpProto.GRE:
        gre = decode_gre(data, offset)
        if isinstance(gre, Truncated):
            walk.stop(gre)
            return gre
        walk.layers.append(gre)
        if follow and not quoted_now:
            frame.walk_gre_payload(walk, data, offset + gre.header_length, gre)
        else:
            walk.rest(data, offset + gre.header_length, "gre payload")
        return gre
    if follow and not quoted_now and protocol in (IpProto.IPIP, IpProto.IPV6):
        walk_ip(walk, data, offset, 4 if protocol == IpProto.IPIP else 6, quoted=False)
        return None
    if follow and not quoted_now and protocol == IpProto.ETHERNET:
        frame.walk_ethernet(walk, data, offset, outermost=False)
        return None
    walk.rest(data, offset, f"ip.proto {protocol}")
    return None
