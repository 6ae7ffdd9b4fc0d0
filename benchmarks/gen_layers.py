"""Header writers and shared state for the benchmark generator's packet kinds.

Always holds: every writer fills one header in all rows of a (n, length) frame array at a
given offset, big-endian as on the wire; checksum fields are either computed here (IPv4
header, and TCP/UDP once the payload is in place via `l4_slot`) or left zero for the caller;
a `Slot` records where a checksum field is, its correct value and pseudo-header sums, so
faults can later be injected by writing that field alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from gen_write import I64, U8, finish, fold, gather, put8, put16, put32, row_sums

ETH = 14
VLAN_ETH = 18
ROUTER_MAC = 0x0200_0000_0001
TCP_TS_HDR = 32  # 20 bytes + NOP NOP TS(10): what Linux sends once timestamps are agreed
MSS4 = 1448
MSS6 = 1428

# Host pools: clients talk through one router MAC to a few servers.
N_CLIENTS = 500
N_SERVERS = 32
_ci = np.arange(N_CLIENTS, dtype=np.int64)
CLIENT4 = 0x0A01_0000 + ((_ci // 250) << 8) + (_ci % 250) + 1  # 10.1.x.y
SERVER4 = 0x0A02_0000 + np.arange(N_SERVERS, dtype=np.int64) + 1  # 10.2.0.z
CLIENT_MAC = 0x0200_0A01_0000 + _ci


def _v6(prefix: int, count: int) -> U8:
    addrs = np.zeros((count, 16), dtype=np.uint8)
    addrs[:, :8] = np.frombuffer(prefix.to_bytes(8, "big"), dtype=np.uint8)
    put16(addrs, 14, np.arange(count) + 1)
    return addrs


CLIENT6 = _v6(0x2001_0DB8_0001_0000, N_CLIENTS)  # 2001:db8:1::n
SERVER6 = _v6(0x2001_0DB8_0002_0000, N_SERVERS)  # 2001:db8:2::n
CLIENT6_SUM = row_sums(CLIENT6, 0, 16)
SERVER6_SUM = row_sums(SERVER6, 0, 16)

IPV4_CAUSES = ("off-by-one", "zero", "corrupt")
TCP4_CAUSES = ("offload-partial", "offload-partial-nolen", "off-by-one", "zero", "corrupt")
TCP6_CAUSES = ("offload-partial", "off-by-one", "zero", "corrupt")
# UDP over IPv4: 0 means "no checksum" (RFC 768), not a bad one; over IPv6 it is illegal.
UDP_CAUSES = ("offload-partial", "off-by-one", "corrupt")
ICMP_CAUSES = ("off-by-one", "zero", "corrupt")
FRAG_UDP_CAUSES = ("off-by-one", "corrupt")


@dataclass(slots=True)
class Ctx:
    """Generator state carried from chunk to chunk."""

    rng: np.random.Generator
    """The one random source: the capture is a function of the seed."""
    pool: U8
    """Random bytes that payloads are windows of."""
    counters: dict[str, npt.NDArray[np.int64]] = field(default_factory=dict)
    """Per-kind, per-flow segment counters."""
    ip_id: int = 0
    """Next IPv4 identification for fragmented datagrams."""
    clock_ms: int = 0
    """Milliseconds since the capture started, for TCP timestamps."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Slot:
    """One checksum field of every unit a builder made."""

    proto: str
    """`ipv4`, `tcp`, `udp` or `icmp` (CONTRACT.md proto names)."""
    frame: int
    """Which frame of the unit holds the field."""
    field_off: int
    """Byte offset of the field in that frame."""
    verdict_frame: int
    """Which frame of the unit the verdict is reported on (the last fragment for L4)."""
    expected: npt.NDArray[np.int64]
    """The correct value per unit."""
    partial: npt.NDArray[np.int64] | None
    """Folded pseudo-header sum per unit (TCP/UDP), else None."""
    nolen: npt.NDArray[np.int64] | None
    """The same without the length (where LSO applies), else None."""
    causes: tuple[str, ...]
    """Faults that make sense for this field."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Built:
    """A builder's output for n units."""

    frames: list[U8]
    """One (n, length) array per frame of a unit."""
    slots: list[Slot]
    """Every verified checksum of a unit."""
    unverified: int = 0
    """Checksum occurrences per unit that a verifier reports unverified (first fragments)."""


def eth(rows: U8, src: I64 | int, dst: I64 | int, ethertype: int, vlan: int = -1) -> int:
    n = rows.shape[0]
    dst_a = np.broadcast_to(np.asarray(dst, dtype=np.int64), (n,))
    src_a = np.broadcast_to(np.asarray(src, dtype=np.int64), (n,))
    put16(rows, 0, dst_a >> 32)
    put32(rows, 2, dst_a)
    put16(rows, 6, src_a >> 32)
    put32(rows, 8, src_a)
    if vlan >= 0:
        put16(rows, 12, 0x8100)  # IEEE 802.1Q tag: TPID, then PCP/DEI/VID
        put16(rows, 14, vlan)
        put16(rows, 16, ethertype)
        return VLAN_ETH
    put16(rows, 12, ethertype)
    return ETH


def ipv4(
    rows: U8,
    off: int,
    *,
    total: I64 | int,
    ident: I64 | int,
    frag: I64 | int,
    ttl: int,
    proto: int,
    src: I64,
    dst: I64,
    options: bytes = b"",
) -> Slot:
    """IPv4 header (RFC 791 §3.1) with its checksum; returns the header-checksum slot."""
    hlen = 20 + len(options)
    put8(rows, off, 0x40 | (hlen // 4))
    put8(rows, off + 1, 0)
    put16(rows, off + 2, total)
    put16(rows, off + 4, ident)
    put16(rows, off + 6, frag)
    put8(rows, off + 8, ttl)
    put8(rows, off + 9, proto)
    put16(rows, off + 10, 0)
    put32(rows, off + 12, src)
    put32(rows, off + 16, dst)
    if options:
        rows[:, off + 20 : off + hlen] = np.frombuffer(options, dtype=np.uint8)
    value = finish(row_sums(rows, off, off + hlen))
    put16(rows, off + 10, value)
    return Slot(
        proto="ipv4",
        frame=0,
        field_off=off + 10,
        verdict_frame=0,
        expected=value,
        partial=None,
        nolen=None,
        causes=IPV4_CAUSES,
    )


def ipv6(rows: U8, off: int, *, plen: int, nh: int, src: U8, dst: U8, flow: I64) -> None:
    """IPv6 fixed header (RFC 8200 §3)."""
    put32(rows, off, 0x6000_0000 | (flow & 0xFFFFF))
    put16(rows, off + 4, plen)
    put8(rows, off + 6, nh)
    put8(rows, off + 7, 64)
    rows[:, off + 8 : off + 24] = src
    rows[:, off + 24 : off + 40] = dst


def pseudo4(src: I64, dst: I64, proto: int, length: int) -> tuple[I64, I64]:
    """(with length, without length) folded IPv4 pseudo-header sums (RFC 793 §3.1)."""
    base = (src >> 16) + (src & 0xFFFF) + (dst >> 16) + (dst & 0xFFFF) + proto
    return fold(base + length).astype(np.int64), fold(base).astype(np.int64)


def l4_slot(
    rows: U8,
    proto: str,
    l4: int,
    length: int,
    pseudo: I64,
    nolen: I64 | None,
    causes: tuple[str, ...],
) -> Slot:
    """Fill the TCP/UDP checksum of rows[:, l4 : l4 + length] and describe the slot."""
    field_off = l4 + (16 if proto == "tcp" else 6)
    value = finish(pseudo.astype(np.uint64) + row_sums(rows, l4, l4 + length))
    if proto == "udp":
        value = np.where(value == 0, 0xFFFF, value)  # RFC 768: a computed 0 is sent as all ones
    put16(rows, field_off, value)
    return Slot(
        proto=proto,
        frame=0,
        field_off=field_off,
        verdict_frame=0,
        expected=value,
        partial=pseudo,
        nolen=nolen,
        causes=causes,
    )


def tcp(
    rows: U8, off: int, *, sport: I64, dport: I64, seq: I64, ack: I64, flags: int, ts: I64 | None
) -> int:
    """TCP header (RFC 9293 §3.1), optionally with NOP NOP timestamps (RFC 7323 §3)."""
    hlen = TCP_TS_HDR if ts is not None else 20
    put16(rows, off, sport)
    put16(rows, off + 2, dport)
    put32(rows, off + 4, seq)
    put32(rows, off + 8, ack)
    put16(rows, off + 12, ((hlen // 4) << 12) | flags)
    put16(rows, off + 14, 501)
    put16(rows, off + 16, 0)
    put16(rows, off + 18, 0)
    if ts is not None:
        put32(rows, off + 20, 0x0101_080A)
        put32(rows, off + 24, ts)
        put32(rows, off + 28, ts - 7)
    return hlen


def ranks(ctx: Ctx, key: str, flow: I64, nflows: int) -> I64:
    """Per-flow running index of each unit, in capture order, continued from earlier chunks."""
    counter = ctx.counters.setdefault(key, np.zeros(nflows, dtype=np.int64))
    order = np.argsort(flow, kind="stable")
    counts = np.bincount(flow, minlength=nflows)
    first = np.cumsum(counts) - counts
    rank = np.empty_like(flow)
    rank[order] = np.arange(flow.shape[0]) - first[flow[order]]
    result = counter[flow] + rank
    counter += counts
    return result


def payload(rows: U8, start: int, ctx: Ctx) -> None:
    width = rows.shape[1] - start
    if width > 0:
        offsets = ctx.rng.integers(0, ctx.pool.shape[0] - width, rows.shape[0])
        rows[:, start:] = gather(ctx.pool, offsets, width)


def flows(ctx: Ctx, n: int, nflows: int, space: int = 0) -> tuple[I64, I64, I64, I64, I64]:
    """(flow, client, server, client port, server port) per unit.

    `space` picks a disjoint set of connections (flow ids `space * nflows` on), so kinds that
    pass different spaces never share a 4-tuple; ids stay below 28000 so the ports are unique.
    """
    flow = ctx.rng.integers(0, nflows, n) + space * nflows
    client = flow % N_CLIENTS
    server = (flow * 7 + flow // N_CLIENTS) % N_SERVERS
    return flow, client, server, 32768 + (flow * 13) % 28000, np.where(flow % 3, 443, 80)
