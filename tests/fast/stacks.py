"""Hypothesis strategies for whole frames: link layers, IP stacks with options and extension
headers, tunnels, transports, then damage (bad checksums, truncation, lying lengths, flips).

Always holds: every drawn frame is a `Record` whose bytes the builders in `frames` made; the
damage step only rewrites bytes or cuts the capture, it never invents new layers.
"""

from __future__ import annotations

import struct

from hypothesis import strategies as st

from fast import frames as fb
from wiredoctor.capture.record import LinkType, Record

IPV4_ADDRS = [fb.V4_A, fb.V4_B, bytes([192, 168, 4, 9]), bytes([0, 0, 0, 0])]
IPV6_ADDRS = [fb.V6_A, fb.V6_B, bytes(16), bytes.fromhex("fe80000000000000020000fffe000001")]

TCP_OPTIONS = [
    b"",
    bytes.fromhex("020405b4"),
    bytes.fromhex("020405b40402080a01ac9b740000000001030306"),
    bytes.fromhex("0101080a0000000100000002"),
    bytes.fromhex("0204057d0204ffff"),  # two MSS options: the first counts
    bytes.fromhex("01010000"),  # EOL early
    bytes.fromhex("0205"),  # an option whose length overruns
]


@st.composite
def transport(draw: st.DrawFn, src: bytes, dst: bytes) -> tuple[int, bytes]:
    """(IP protocol, upper-layer bytes) with a correct checksum."""
    payload = draw(st.binary(max_size=64))
    v6 = len(src) == 16
    kind = draw(st.sampled_from(["tcp", "udp", "udplite", "icmp", "igmp", "other"]))
    if kind == "tcp":
        options = draw(st.sampled_from(TCP_OPTIONS))
        flags = draw(st.integers(0, 0xFFF))
        return 6, fb.tcp(
            src, dst, payload, flags=flags, options=options, ack=draw(st.integers(0, 2**32 - 1))
        )
    if kind == "udp":
        ports = draw(st.sampled_from([(5353, 53), (4789, 60000), (60000, 6081), (1, 2)]))
        return 17, fb.udp(src, dst, payload, sport=ports[0], dport=ports[1])
    if kind == "udplite":
        coverage = draw(st.sampled_from([0, 8, 9, 8 + len(payload)]))
        return 136, fb.udplite(src, dst, payload, coverage=coverage)
    if kind == "icmp":
        if v6:
            itype = draw(st.sampled_from([128, 129, 2, 135, 1]))
            # icmp_mtu is an int32 column: packet-too-big MTUs from 2**31 up have no table
            # value yet (the reference path cannot store them either).
            rest = draw(st.integers(0, 2**31 - 1 if itype == 2 else 2**32 - 1))
            return 58, fb.icmpv6(src, dst, itype, rest, payload)
        itype = draw(st.sampled_from([0, 8, 3, 11, 13]))
        code = draw(st.sampled_from([0, 4]))
        return 1, fb.icmp(itype, code, draw(st.integers(0, 2**32 - 1)), payload)
    if kind == "igmp":
        return 2, fb.igmp()
    return draw(st.sampled_from([50, 59, 132, 89])), payload


@st.composite
def datagram(draw: st.DrawFn, depth: int = 0) -> tuple[int, bytes]:
    """(EtherType, IP datagram) possibly carrying a tunnel."""
    v6 = draw(st.booleans())
    src = draw(st.sampled_from(IPV6_ADDRS if v6 else IPV4_ADDRS))
    dst = draw(st.sampled_from(IPV6_ADDRS if v6 else IPV4_ADDRS))
    final = dst
    headers = b""
    tunnel = (
        "none"
        if depth >= 2
        else draw(st.sampled_from(["none", "none", "ipip", "gre", "vxlan", "geneve"]))
    )
    if tunnel == "ipip":
        inner_type, inner = draw(datagram(depth + 1))
        proto, upper = (4 if inner_type == 0x0800 else 41), inner
    elif tunnel == "gre":
        inner_type, inner = draw(datagram(depth + 1))
        carried = draw(st.sampled_from(["ip", "teb", "erspan2", "erspan1"]))
        if carried == "ip":
            body, ptype, seq = inner, inner_type, draw(st.sampled_from([None, 7]))
        elif carried == "teb":
            body, ptype, seq = fb.ethernet(inner, inner_type), 0x6558, None
        elif carried == "erspan2":
            body, ptype, seq = (
                struct.pack("!II", 0x10000001, 0) + fb.ethernet(inner, inner_type),
                0x88BE,
                9,
            )
        else:
            body, ptype, seq = fb.ethernet(inner, inner_type), 0x88BE, None
        proto = 47
        upper = fb.gre(
            body,
            ptype,
            checksum=draw(st.booleans()),
            key=draw(st.sampled_from([None, 5])),
            sequence=seq,
        )
    elif tunnel == "vxlan":
        inner_type, inner = draw(datagram(depth + 1))
        proto = 17
        upper = fb.udp(src, dst, fb.vxlan(fb.ethernet(inner, inner_type)), sport=50000, dport=4789)
    elif tunnel == "geneve":
        inner_type, inner = draw(datagram(depth + 1))
        teb = draw(st.booleans())
        body = fb.ethernet(inner, inner_type) if teb else inner
        proto = 17
        upper = fb.udp(
            src,
            dst,
            fb.geneve(
                body, 0x6558 if teb else inner_type, draw(st.sampled_from([b"", b"\x01" * 8]))
            ),
            sport=50000,
            dport=6081,
        )
    else:
        if v6 and draw(st.booleans()):
            segleft = draw(st.integers(0, 2))
            rtype = draw(st.sampled_from([0, 2, 4, 5]))
            hops = [draw(st.sampled_from(IPV6_ADDRS)) for _ in range(draw(st.integers(1, 3)))]
            if segleft and rtype in (0, 2, 4):
                final = hops[0] if rtype == 4 else hops[-1]
            src_ = src
            proto, upper = draw(transport(src_, final))
            headers = fb.routing(proto, rtype, segleft, hops)
            if draw(st.booleans()):
                headers = fb.ipv6_ext(0, 43, b"\x01\x00") + headers
                proto = 0
            else:
                proto = 43
        elif not v6 and draw(st.booleans()):
            hop = draw(st.sampled_from(IPV4_ADDRS))
            pointer = draw(st.sampled_from([4, 8, 12]))
            final = hop if pointer == 4 else dst
            route = bytes([131, 7, pointer]) + hop + b"\x01"
            headers = route
            proto, upper = draw(transport(src, final))
        else:
            proto, upper = draw(transport(src, dst))
    if v6:
        ip = fb.ipv6(headers + upper, next_header=proto, src=src, dst=dst)
        return 0x86DD, ip
    return 0x0800, fb.ipv4(
        upper, proto=proto, src=src, dst=dst, options=headers, ident=draw(st.integers(0, 0xFFFF))
    )


@st.composite
def frame(draw: st.DrawFn) -> tuple[int, bytes]:
    """(link type, frame bytes) before any damage."""
    etype, ip = draw(datagram())
    link = draw(st.sampled_from(["eth", "eth", "vlan", "sll", "sll2", "raw", "null", "arp"]))
    if link == "eth":
        data = fb.ethernet(ip, etype)
        if len(data) < 60 and draw(st.booleans()):
            data += b"\x00" * (60 - len(data))
        return LinkType.ETHERNET, data
    if link == "vlan":
        tags = draw(st.lists(st.integers(0, 4095), min_size=1, max_size=3))
        return LinkType.ETHERNET, fb.ethernet(ip, etype, vlans=tags)
    if link == "sll":
        return LinkType.LINUX_SLL, fb.sll(ip, etype, draw(st.integers(0, 4)))
    if link == "sll2":
        return LinkType.LINUX_SLL2, fb.sll2(ip, etype, draw(st.integers(0, 4)))
    if link == "raw":
        return draw(st.sampled_from([LinkType.RAW, 12])), ip
    if link == "null":
        family = 2 if etype == 0x0800 else draw(st.sampled_from([24, 28, 30]))
        return LinkType.NULL, fb.null(ip, family, draw(st.booleans()))
    arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + b"\x00" * 20
    return LinkType.ETHERNET, fb.ethernet(arp, 0x0806) + b"\x00" * 18


@st.composite
def damaged_record(draw: st.DrawFn, index: int = 1) -> Record:
    """A drawn frame, then perhaps damaged: flipped or rewritten bytes, a cut capture, a
    trailer, a lying wire length."""
    linktype, data = draw(frame())
    buf = bytearray(data)
    for _ in range(draw(st.integers(0, 3))):
        if not buf:
            break
        at = draw(st.integers(0, len(buf) - 1))
        buf[at] = draw(st.sampled_from([0, 0xFF, buf[at] ^ 1, buf[at] + 1 & 0xFF]))
    if draw(st.booleans()):
        buf += draw(st.binary(min_size=1, max_size=8))
    wirelen = len(buf)
    caplen = len(buf)
    if draw(st.integers(0, 3)) == 0:
        caplen = draw(st.integers(0, len(buf)))
    if draw(st.integers(0, 7)) == 0:
        wirelen = draw(st.integers(0, len(buf) + 100))
    return Record(
        index=index,
        ts_ns=1_700_000_000_000_000_000 + index,
        caplen=caplen,
        wirelen=max(wirelen, 0),
        linktype=int(linktype),
        data=bytes(buf[:caplen]),
    )


@st.composite
def records(draw: st.DrawFn) -> list[Record]:
    """A short capture of damaged frames numbered from 1."""
    count = draw(st.integers(1, 6))
    return [draw(damaged_record(i + 1)) for i in range(count)]
