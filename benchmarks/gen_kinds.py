"""Packet templates for the benchmark generator: each kind builds all its frames of a chunk at
once, as rows of a 2D byte array, with correct checksums.

Always holds: a `Built` holds one (n, length) array per frame of a unit (fragmented datagrams
are two-frame units), every checksum in them verifies when the builder returns, and each
`Slot` names where a checksum field is, its correct value and pseudo-header sums, so faults
can be injected by writing the field alone. TCP sequence numbers advance per flow across
chunks (the `Ctx` counters), so flows look like long-lived bulk transfers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np

from gen_layers import (
    CLIENT4,
    CLIENT6,
    CLIENT6_SUM,
    CLIENT_MAC,
    ETH,
    FRAG_UDP_CAUSES,
    ICMP_CAUSES,
    IPV4_CAUSES,
    MSS4,
    MSS6,
    N_CLIENTS,
    N_SERVERS,
    ROUTER_MAC,
    SERVER4,
    SERVER6,
    SERVER6_SUM,
    TCP4_CAUSES,
    TCP6_CAUSES,
    TCP_TS_HDR,
    UDP_CAUSES,
    VLAN_ETH,
    Built,
    Ctx,
    Slot,
    eth,
    flows,
    ipv4,
    ipv6,
    l4_slot,
    payload,
    pseudo4,
    ranks,
    tcp,
)
from gen_write import I64, U8, finish, fold, put8, put16, put32, row_sums


@dataclass(frozen=True, slots=True, kw_only=True)
class Kind:
    """One packet template and how often it occurs."""

    name: str
    weight: float
    """Relative share of units."""
    frames: int
    """Frames per unit."""
    build: Callable[[int, Ctx], Built]


def build_tcp(
    n: int, ctx: Ctx, *, v6: bool, data: bool, vlan: int = -1, pad: bool = False
) -> Built:
    """A TCP segment of a bulk flow: full-size data server→client, or a pure ACK upstream.

    Data and pure-ACK streams are different connections, as a capture point that sees one
    direction of each would show them; tagged and padded frames are yet others. So no two
    kinds share a 4-tuple, sequence numbers only grow per connection (no retransmissions),
    and acknowledgement numbers only grow (no duplicate ACKs).
    """
    nflows = 1024 if v6 else 4096
    space = (0 if data else 1) + (2 if vlan >= 0 else 0) + (4 if pad else 0)
    tag = f"{'v6' if v6 else 'v4'}-{space}"
    flow, client, server, cport, sport = flows(ctx, n, nflows, space)
    key = flow - space * nflows
    isn = (flow * 2654435761 + (7 if v6 else 0)) & 0xFFFF_FFFF
    ts = None if pad else (ctx.clock_ms + flow) & 0xFFFF_FFFF
    hdr_len = 20 if pad else TCP_TS_HDR
    mss = MSS6 if v6 else MSS4
    paylen = mss if data else 0
    l3_len = 40 if v6 else 20
    l2 = VLAN_ETH if vlan >= 0 else ETH
    frame_len = l2 + l3_len + hdr_len + paylen
    rows = np.zeros((n, max(frame_len, 60)), dtype=np.uint8)
    src_mac: I64 | int
    dst_mac: I64 | int
    if data:
        seq = isn + 1 + mss * ranks(ctx, tag, key, nflows)
        ack = np.full(n, 1, dtype=np.int64) + isn // 3
        src_mac, dst_mac = ROUTER_MAC, CLIENT_MAC[client]
        ports = (sport, cport)
    else:
        seq = isn // 3 + 1
        ack = isn + 1 + 2 * mss * (ranks(ctx, tag, key, nflows) + 1)  # every second segment
        src_mac, dst_mac = CLIENT_MAC[client], ROUTER_MAC
        ports = (cport, sport)
    l3 = eth(rows, src_mac, dst_mac, 0x86DD if v6 else 0x0800, vlan)
    l4 = l3 + l3_len
    seg_len = hdr_len + paylen
    slots: list[Slot] = []
    if v6:
        a_src, a_dst = (
            (SERVER6[server], CLIENT6[client]) if data else (CLIENT6[client], SERVER6[server])
        )
        ipv6(rows, l3, plen=seg_len, nh=6, src=a_src, dst=a_dst, flow=flow)
        pair = (SERVER6_SUM[server] + CLIENT6_SUM[client]).astype(np.int64)
        pseudo = fold(pair + 6 + seg_len).astype(np.int64)  # RFC 8200 §8.1
        nolen = None
    else:
        s4, d4 = (SERVER4[server], CLIENT4[client]) if data else (CLIENT4[client], SERVER4[server])
        ident = ctx.rng.integers(0, 0x10000, n)
        slots.append(
            ipv4(
                rows,
                l3,
                total=l3_len + seg_len,
                ident=ident,
                frag=0x4000,
                ttl=64,
                proto=6,
                src=s4,
                dst=d4,
            )
        )
        pseudo, nolen = pseudo4(s4, d4, 6, seg_len)
    tcp(
        rows,
        l4,
        sport=ports[0],
        dport=ports[1],
        seq=seq,
        ack=ack,
        flags=0x18 if data else 0x10,
        ts=ts,
    )
    if data:
        payload(rows, l4 + hdr_len, ctx)
    slots.append(
        l4_slot(rows, "tcp", l4, seg_len, pseudo, nolen, TCP6_CAUSES if v6 else TCP4_CAUSES)
    )
    return Built(frames=[rows], slots=slots)


def build_udp(n: int, ctx: Ctx, *, v6: bool, size: int, options: bytes = b"") -> Built:
    """A UDP datagram of `size` payload bytes from a client to a server."""
    _flow, client, server, cport, _sport = flows(ctx, n, 2048)
    l3_len = 40 if v6 else 20 + len(options)
    l4 = ETH + l3_len
    udp_len = 8 + size
    rows = np.zeros((n, max(l4 + udp_len, 60)), dtype=np.uint8)
    eth(rows, CLIENT_MAC[client], ROUTER_MAC, 0x86DD if v6 else 0x0800)
    slots: list[Slot] = []
    if v6:
        ipv6(rows, ETH, plen=udp_len, nh=17, src=CLIENT6[client], dst=SERVER6[server], flow=cport)
        pair = (CLIENT6_SUM[client] + SERVER6_SUM[server]).astype(np.int64)
        pseudo = fold(pair + 17 + udp_len).astype(np.int64)
    else:
        s4, d4 = CLIENT4[client], SERVER4[server]
        ident = ctx.rng.integers(0, 0x10000, n)
        total = l3_len + udp_len
        slots.append(
            ipv4(
                rows,
                ETH,
                total=total,
                ident=ident,
                frag=0,
                ttl=64,
                proto=17,
                src=s4,
                dst=d4,
                options=options,
            )
        )
        pseudo, _ = pseudo4(s4, d4, 17, udp_len)
    put16(rows, l4, cport)
    put16(rows, l4 + 2, 5000 + size % 1000)
    put16(rows, l4 + 4, udp_len)
    payload(rows, l4 + 8, ctx)
    if rows.shape[1] > l4 + udp_len:
        rows[:, l4 + udp_len :] = 0  # Ethernet padding is zero, not payload
    slots.append(l4_slot(rows, "udp", l4, udp_len, pseudo, None, UDP_CAUSES))
    return Built(frames=[rows], slots=slots)


def _echo(rows: U8, ctx: Ctx, *, reply: bool, client: I64, server: I64, seq: I64) -> list[Slot]:
    """One ICMP echo message with ping's 56-byte payload (RFC 792), and its two slots."""
    n = rows.shape[0]
    src_mac, dst_mac = (
        (ROUTER_MAC, CLIENT_MAC[client]) if reply else (CLIENT_MAC[client], ROUTER_MAC)
    )
    eth(rows, src_mac, dst_mac, 0x0800)
    s4, d4 = (SERVER4[server], CLIENT4[client]) if reply else (CLIENT4[client], SERVER4[server])
    ident = np.asarray(ctx.rng.integers(0, 0x10000, n), dtype=np.int64)
    ip = ipv4(rows, ETH, total=84, ident=ident, frag=0, ttl=64, proto=1, src=s4, dst=d4)
    l4 = ETH + 20
    put8(rows, l4, 0 if reply else 8)
    put16(rows, l4 + 4, 0x1000 + client)
    put16(rows, l4 + 6, seq)
    put32(rows, l4 + 8, ctx.clock_ms // 1000 + 1_700_000_000)
    rows[:, l4 + 16 :] = np.arange(0x10, 0x10 + 48, dtype=np.uint8)  # ping's pattern
    value = finish(row_sums(rows, l4, l4 + 64))
    put16(rows, l4 + 2, value)
    frame = 1 if reply else 0
    return [
        Slot(proto="ipv4", frame=frame, field_off=ip.field_off, verdict_frame=frame,
             expected=ip.expected, partial=None, nolen=None, causes=IPV4_CAUSES),
        Slot(proto="icmp", frame=frame, field_off=l4 + 2, verdict_frame=frame,
             expected=value, partial=None, nolen=None, causes=ICMP_CAUSES),
    ]  # fmt: skip


def build_icmp_echo(n: int, ctx: Ctx) -> Built:
    """An ICMP echo request and its reply: a two-frame unit, sequence numbers per client."""
    client = ctx.rng.integers(0, N_CLIENTS, n)
    server = client % N_SERVERS
    seq = (ranks(ctx, "icmp", client, N_CLIENTS) + 1) & 0xFFFF
    request = np.zeros((n, ETH + 20 + 64), dtype=np.uint8)
    reply = np.zeros_like(request)
    slots = _echo(request, ctx, reply=False, client=client, server=server, seq=seq)
    slots += _echo(reply, ctx, reply=True, client=client, server=server, seq=seq)
    return Built(frames=[request, reply], slots=slots)


def build_fragmented_udp(n: int, ctx: Ctx, *, size: int = 2001) -> Built:
    """A UDP datagram too big for the MTU, sent as two IPv4 fragments (RFC 791 §2.3)."""
    _flow, client, server, cport, _sport = flows(ctx, n, 2048)
    udp_len = 8 + size
    first = 1480  # fragment data must be a multiple of 8 bytes
    dgram = np.zeros((n, udp_len), dtype=np.uint8)
    put16(dgram, 0, cport)
    put16(dgram, 2, 7001)  # not a tunnel port: the payload is random bytes
    put16(dgram, 4, udp_len)
    payload(dgram, 8, ctx)
    s4, d4 = CLIENT4[client], SERVER4[server]
    pseudo, _ = pseudo4(s4, d4, 17, udp_len)
    udp = l4_slot(dgram, "udp", 0, udp_len, pseudo, None, FRAG_UDP_CAUSES)
    ident = (ctx.ip_id + np.arange(n)) & 0xFFFF
    ctx.ip_id = (ctx.ip_id + n) & 0xFFFF
    head = np.zeros((n, ETH + 20 + first), dtype=np.uint8)
    tail = np.zeros((n, ETH + 20 + udp_len - first), dtype=np.uint8)
    for rows in (head, tail):
        eth(rows, CLIENT_MAC[client], ROUTER_MAC, 0x0800)
    ip1 = ipv4(
        head, ETH, total=20 + first, ident=ident, frag=0x2000, ttl=64, proto=17, src=s4, dst=d4
    )
    tail_total = 20 + udp_len - first
    ip2 = ipv4(
        tail, ETH, total=tail_total, ident=ident, frag=first // 8, ttl=64, proto=17, src=s4, dst=d4
    )
    head[:, ETH + 20 :] = dgram[:, :first]
    tail[:, ETH + 20 :] = dgram[:, first:]
    slots = [
        ip1,
        Slot(
            proto="ipv4",
            frame=1,
            field_off=ip2.field_off,
            verdict_frame=1,
            expected=ip2.expected,
            partial=None,
            nolen=None,
            causes=IPV4_CAUSES,
        ),
        Slot(
            proto="udp",
            frame=0,
            field_off=ETH + 20 + 6,
            verdict_frame=1,
            expected=udp.expected,
            partial=udp.partial,
            nolen=None,
            causes=FRAG_UDP_CAUSES,
        ),
    ]
    return Built(frames=[head, tail], slots=slots, unverified=1)


def build_arp(n: int, ctx: Ctx) -> Built:
    """ARP who-has from a client, padded to the 60-byte minimum (RFC 826)."""
    client = ctx.rng.integers(0, N_CLIENTS, n)
    rows = np.zeros((n, 60), dtype=np.uint8)
    eth(rows, CLIENT_MAC[client], 0xFFFF_FFFF_FFFF, 0x0806)
    put16(rows, 14, 1)
    put16(rows, 16, 0x0800)
    put8(rows, 18, 6)
    put8(rows, 19, 4)
    put16(rows, 20, 1)
    put16(rows, 22, CLIENT_MAC[client] >> 32)
    put32(rows, 24, CLIENT_MAC[client])
    put32(rows, 28, CLIENT4[client])
    put32(rows, 38, CLIENT4[(client + 1) % N_CLIENTS])
    return Built(frames=[rows], slots=[])


ROUTER_ALERT = bytes([0x94, 0x04, 0x00, 0x00])  # RFC 2113 §2.1

KINDS: tuple[Kind, ...] = (
    Kind(name="tcp4-data", weight=0.33, frames=1, build=partial(build_tcp, v6=False, data=True)),
    Kind(name="tcp4-ack", weight=0.30, frames=1, build=partial(build_tcp, v6=False, data=False)),
    Kind(
        name="tcp4-ack-padded",
        weight=0.04,
        frames=1,
        build=partial(build_tcp, v6=False, data=False, pad=True),
    ),
    Kind(
        name="vlan-tcp4-data",
        weight=0.04,
        frames=1,
        build=partial(build_tcp, v6=False, data=True, vlan=100),
    ),
    Kind(name="tcp6-data", weight=0.04, frames=1, build=partial(build_tcp, v6=True, data=True)),
    Kind(name="tcp6-ack", weight=0.02, frames=1, build=partial(build_tcp, v6=True, data=False)),
    *(
        Kind(
            name=f"udp4-{size}",
            weight=0.01,
            frames=1,
            build=partial(build_udp, v6=False, size=size),
        )
        for size in (27, 75, 131, 255, 511, 999, 1401, 1471)
    ),
    *(
        Kind(
            name=f"udp6-{size}", weight=0.01, frames=1, build=partial(build_udp, v6=True, size=size)
        )
        for size in (33, 301, 1001)
    ),
    Kind(
        name="udp4-options",
        weight=0.02,
        frames=1,
        build=partial(build_udp, v6=False, size=201, options=ROUTER_ALERT),
    ),
    Kind(name="icmp4-echo", weight=0.02, frames=2, build=build_icmp_echo),
    Kind(name="udp4-fragmented", weight=0.015, frames=2, build=build_fragmented_udp),
    Kind(name="arp", weight=0.01, frames=1, build=build_arp),
)
