"""Test helper: the same traffic seen at two points, with what happens in between as code.

`Hop` describes the device between A and B (MACs rewritten, TTL decremented, MSS clamped,
NAT, checksum slips); `two_points` runs a list of packets through it both ways and returns
the two captures' tables.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from diff.tablebuild import (
    ETHERNET,
    build_tables,
    ether,
    forward,
    ipv4_tcp,
    tcp_options,
)
from wiredoctor.checksum.rewrite import rewrite_tcp_mss
from wiredoctor.tables import CaptureTables

CLIENT, SERVER = "10.0.1.2", "10.0.2.2"
MAC_C, MAC_RC, MAC_RS, MAC_S = 0x02000000000C, 0x0200000000A1, 0x0200000000A2, 0x02000000000D


@dataclass(frozen=True, slots=True, kw_only=True)
class Packet:
    """One packet as its sender emits it, and which way it travels."""

    ip: bytes
    t_ns: int
    to_server: bool = True


@dataclass(slots=True, kw_only=True)
class Hop:
    """What the device between the points does to a packet (raw IP in, raw IP out)."""

    rewrite: list[Callable[[bytes, bool], bytes]] = field(default_factory=list)
    delay_ns: int = 40_000
    clock_offset_ns: int = 0
    """B's clock minus A's."""
    drop: Callable[[bytes, bool], bool] = lambda ip, to_server: False


def handshake(t0: int = 1_000_000_000, *, sport: int = 40000, mss: int = 1460) -> list[Packet]:
    """SYN, SYN-ACK, ACK, a few data segments both ways."""
    out = [
        Packet(
            ip=ipv4_tcp(
                CLIENT,
                SERVER,
                sport,
                80,
                seq=100,
                flags=0x02,
                ip_id=11,
                options=tcp_options(mss=mss, sack_perm=True, ts=(1000, 0), wscale=7),
            ),
            t_ns=t0,
        ),
        Packet(
            ip=ipv4_tcp(
                SERVER,
                CLIENT,
                80,
                sport,
                seq=5000,
                ack=101,
                flags=0x12,
                ip_id=0,
                options=tcp_options(mss=mss, sack_perm=True, ts=(2000, 1000), wscale=7),
            ),
            t_ns=t0 + 200_000,
            to_server=False,
        ),
    ]
    for k in range(6):
        out.append(
            Packet(
                ip=ipv4_tcp(
                    CLIENT,
                    SERVER,
                    sport,
                    80,
                    seq=101 + 100 * k,
                    ack=5001,
                    ip_id=12 + k,
                    flags=0x18,
                    payload=bytes([k + 1]) * 100,
                    options=tcp_options(ts=(1001 + k, 2000)),
                ),
                t_ns=t0 + 400_000 + 100_000 * k,
            )
        )
        out.append(
            Packet(
                ip=ipv4_tcp(
                    SERVER,
                    CLIENT,
                    80,
                    sport,
                    seq=5001,
                    ack=201 + 100 * k,
                    ip_id=1 + k,
                    options=tcp_options(ts=(2001 + k, 1001 + k)),
                ),
                t_ns=t0 + 450_000 + 100_000 * k,
                to_server=False,
            )
        )
    return out


def clamp(mss: int) -> Callable[[bytes, bool], bytes]:
    """A correct MSS clamp (RFC 1624 incremental update) on SYNs in both directions."""

    def rewrite(ip: bytes, _to_server: bool) -> bytes:
        return rewrite_tcp_mss(ip, mss)

    return rewrite


def two_points(packets: list[Packet], hop: Hop) -> tuple[CaptureTables, CaptureTables]:
    """Tables of the capture at A (client side) and at B (server side) of `hop`."""
    at_a: list[tuple[int, bytes, int]] = []
    at_b: list[tuple[int, bytes, int]] = []
    for p in packets:
        after = p.ip
        for step in hop.rewrite:
            after = step(after, p.to_server)
        after = forward(after)
        if p.to_server:
            at_a.append((p.t_ns, ether(p.ip, MAC_C, MAC_RC), ETHERNET))
            if not hop.drop(p.ip, True):
                b_time = p.t_ns + hop.delay_ns + hop.clock_offset_ns
                at_b.append((b_time, ether(after, MAC_RS, MAC_S), ETHERNET))
        else:
            at_b.append((p.t_ns + hop.clock_offset_ns, ether(p.ip, MAC_S, MAC_RS), ETHERNET))
            if not hop.drop(p.ip, False):
                at_a.append((p.t_ns + hop.delay_ns, ether(after, MAC_RC, MAC_C), ETHERNET))
    at_a.sort(key=lambda f: f[0])
    at_b.sort(key=lambda f: f[0])
    return build_tables(at_a, "a.pcap", 0), build_tables(at_b, "b.pcap", 1)
