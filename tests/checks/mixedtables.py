"""A generated capture's tables that exercise nearly every check: flows in both and in one
direction, resends, SYNs, ICMP, UDP, trailers, long frames, cooked-capture duplicates and bad
checksums of every cause."""

from __future__ import annotations

import numpy as np

from wiredoctor.capture.record import LinkType
from wiredoctor.tables import CaptureTables, FrameFlag, empty_checksums, empty_frames

_FLAGS = np.array([16, 16, 16, 24, 24, 2, 18, 17, 4, 20, 0, 25, 3])
_HOSTS_HI = np.array([0, 0, 0, 0x20010DB8_00000000, 0x20010DB8_00000000], dtype=np.uint64)
_HOSTS_LO = np.array([0xFFFF_0A00_0001, 0xFFFF_0A00_0002, 0xFFFF_0A00_0003, 1, 2], dtype=np.uint64)


def mixed_tables(seed: int, n: int = 6000, ports: int = 0) -> CaptureTables:
    """A capture's tables with flows in both and in one direction, resends, SYNs, ICMP, UDP,
    trailers, long frames, cooked-capture duplicates and bad checksums of every cause; with
    `ports`, ports come from that many values instead of four (many more flows)."""
    rng = np.random.default_rng(seed)
    f = empty_frames(n)
    f["frame"] = np.arange(1, n + 1)
    f["ts_ns"] = 1_700_000_000_000_000_000 + np.cumsum(rng.integers(0, 3_000_000, n))
    f["linktype"] = rng.choice([LinkType.ETHERNET] * 4 + [LinkType.LINUX_SLL], n)
    sll = f["linktype"] == LinkType.LINUX_SLL
    f["sll_pkttype"] = np.where(sll, rng.integers(0, 5, n), -1)
    f["direction"] = rng.integers(0, 3, n)
    f["vlan_depth"] = rng.choice([0, 0, 0, 1, 2], n)
    a, b = rng.integers(0, 5, n), rng.integers(0, 5, n)
    v6 = (a >= 3) & (b >= 3)
    b = np.where(v6 | (a < 3), np.where(b >= 3, b - 3, b), b)
    b = np.where(v6, rng.integers(3, 5, n), b)
    a = np.where(~v6 & (a >= 3), a - 3, a)
    f["src_hi"], f["src_lo"] = _HOSTS_HI[a], _HOSTS_LO[a]
    f["dst_hi"], f["dst_lo"] = _HOSTS_HI[b], _HOSTS_LO[b]
    f["ip_version"] = np.where(v6, 6, 4)
    proto = rng.choice([6] * 8 + [17, 1, 58, -1], n)
    proto = np.where((proto == 1) & v6, 58, np.where((proto == 58) & ~v6, 1, proto))
    f["ip_proto"] = proto
    f["ip_hdr_len"] = np.where(v6, 40, 20)
    l4 = (proto == 6) | (proto == 17)
    pool = np.arange(1024, 1024 + ports) if ports else np.array([80, 443, 40000, 40001])
    f["sport"] = np.where(l4, rng.choice(pool, n), -1)
    f["dport"] = np.where(l4, rng.choice(pool, n), -1)
    tcp = proto == 6
    base = rng.choice([0, 1000, 2**32 - 3000], n)
    f["tcp_seq"] = np.where(tcp, (base + rng.integers(0, 8, n) * 500) % 2**32, 0)
    f["tcp_ack"] = np.where(tcp, (base + rng.integers(0, 8, n) * 500 + 1) % 2**32, 0)
    f["tcp_flags"] = np.where(tcp, rng.choice(_FLAGS, n), 0)
    f["tcp_win"] = np.where(tcp, rng.choice([0, 512, 512, 65535], n), 0)
    f["tcp_hdr_len"] = np.where(tcp, 20, 0)
    payload = rng.choice([0, 0, 0, 1, 100, 500, 1448, 3000], n)
    f["l4_payload_len"] = np.where(l4, payload, -1)
    icmp = (proto == 1) | (proto == 58)
    kinds4 = rng.choice([8, 8, 0, 3], n)
    kinds6 = rng.choice([128, 128, 129, 2], n)
    f["icmp_type"] = np.where(icmp, np.where(v6, kinds6, kinds4), -1)
    f["icmp_code"] = np.where(icmp, np.where(kinds4 == 3, 4, 0), -1)
    echo = icmp & ~np.isin(f["icmp_type"], (2, 3))
    f["icmp_id"] = np.where(echo, rng.integers(1, 3, n), -1)
    f["icmp_seq"] = np.where(echo, rng.integers(1, 6, n), -1)
    f["icmp_mtu"] = np.where(icmp & ~echo, rng.choice([1280, 1400, 1500], n), -1)
    hdr = f["ip_hdr_len"].astype(np.int64) + f["tcp_hdr_len"] + np.where(proto == 17, 8, 0)
    f["ip_len"] = hdr + np.maximum(payload, 0) + np.where(icmp, rng.choice([8, 1200, 1500], n), 0)
    f["outer_ip_len"] = f["ip_len"]
    f["ip_off"] = np.where(f["ip_version"] > 0, 14, -1)
    f["trailer_len"] = rng.choice([0] * 6 + [4, 8], n)
    f["pad_len"] = rng.choice([0, 0, 6], n)
    f["trailer_off"] = np.where(f["trailer_len"] > 0, 60, -1)
    f["trailer_nonzero_pad"] = rng.random(n) < 0.02
    f["wirelen"] = f["ip_len"] + 14 + 4 * f["vlan_depth"] + f["trailer_len"] + f["pad_len"]
    f["caplen"] = np.where(rng.random(n) < 0.03, 96, f["wirelen"])
    flag_bits = np.where(f["caplen"] < f["wirelen"], FrameFlag.SNAPLEN, 0)
    flag_bits |= np.where(rng.random(n) < 0.02, FrameFlag.FRAGMENT, 0)
    flag_bits |= np.where(rng.random(n) < 0.02, FrameFlag.IPV4_LEN_ZERO, 0)
    flag_bits |= np.where(rng.random(n) < 0.01, FrameFlag.TEXT_RETRANSMISSION, 0)
    flag_bits |= np.where(rng.random(n) < 0.01, FrameFlag.TEXT_DUP_ACK, 0)
    f["flags"] = flag_bits
    # A cooked capture sees some packets twice (`tcpdump -i any`): repeat rows right after.
    again = np.flatnonzero(sll[:-1] & (rng.random(n - 1) < 0.2))
    keep = f[["frame", "ts_ns", "sll_pkttype"]][again + 1].copy()
    f[again + 1] = f[again]
    f["frame"][again + 1], f["sll_pkttype"][again + 1] = keep["frame"], keep["sll_pkttype"]
    f["ts_ns"][again + 1] = np.maximum(keep["ts_ns"], f["ts_ns"][again] + 1000)
    f["ts_ns"] = np.maximum.accumulate(f["ts_ns"])

    m = 2 * n
    c = empty_checksums(m)
    c["frame"] = np.sort(rng.integers(1, n + 1, m))
    c["proto"] = rng.choice([1, 2, 3, 4, 5, 6], m)
    c["status"] = rng.choice([0, 1, 1, 2, 3, 4], m)
    c["cause"] = rng.integers(0, 7, m)
    c["note"] = rng.choice([0, 0, 0, 1, 2, 4, 8], m)
    c["value"] = rng.integers(0, 65536, m)
    c["expected"] = rng.integers(0, 65536, m)
    c["l4_len"] = rng.integers(8, 1500, m)
    return CaptureTables(
        path="mixed.pcap", index=0, format="pcap", linktypes=[1, 113], frames=f, checksums=c
    )
