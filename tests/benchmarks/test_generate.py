"""The benchmark generator's ground truth is exact: re-verifying every checksum of a small
generated capture (dpkt for the framing, wiredoctor's reference arithmetic for the sums) finds
exactly the injected faults, each with the cause the truth names, and nothing else.
"""

from __future__ import annotations

import csv
import importlib
import json
import struct
from collections import Counter
from pathlib import Path
from types import ModuleType

import dpkt
import pytest

from wiredoctor.checksum.arith import (
    internet_checksum,
    pseudo_header_sum_ipv4,
    pseudo_header_sum_ipv6,
    verifies,
)
from wiredoctor.checksum.verdict import CAUSE_NAMES, classify_cause

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture
def gen(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    return importlib.import_module("generate")


def _field(data: bytes, off: int) -> int:
    return int(struct.unpack_from("!H", data, off)[0])


def _zeroed(data: bytes, off: int) -> bytes:
    return data[:off] + b"\x00\x00" + data[off + 2 :]


def _verdict(
    proto: str, data: bytes, field_off: int, pseudo: int, nolen: int | None
) -> tuple[str, str | None]:
    """('good' | 'bad', cause) of one checksum over `data` (field at `field_off`)."""
    if verifies(data, pseudo):
        return "good", None
    value = _field(data, field_off)
    expected = internet_checksum(_zeroed(data, field_off), pseudo)
    if proto == "udp" and expected == 0:
        expected = 0xFFFF  # RFC 768: a computed zero is sent as all ones
    partial = pseudo if proto in ("tcp", "udp") else -1
    return "bad", CAUSE_NAMES[classify_cause(value, expected, partial, nolen)]


def _reverify(frames: list[bytes]) -> tuple[set[tuple[int, str, int, str]], Counter[str]]:
    """Every bad checksum as (frame, proto, depth, cause), and the count of each status."""
    bad: set[tuple[int, str, int, str]] = set()
    status: Counter[str] = Counter()
    pending: dict[tuple[bytes, bytes, int], tuple[int, dict[int, bytes]]] = {}

    def note(frame: int, proto: str, verdict: tuple[str, str | None]) -> None:
        status[verdict[0]] += 1
        if verdict[0] == "bad":
            assert verdict[1] is not None
            bad.add((frame, proto, 0, verdict[1]))

    for number, buf in enumerate(frames, start=1):
        eth = dpkt.ethernet.Ethernet(buf)
        l3 = 14 + 4 * len(getattr(eth, "vlan_tags", []))
        ethertype = _field(buf, l3 - 2)  # dpkt keeps 0x8100 in `type` for tagged frames
        if ethertype == dpkt.ethernet.ETH_TYPE_ARP:
            continue
        if ethertype == dpkt.ethernet.ETH_TYPE_IP6:
            ip6 = dpkt.ip6.IP6(buf[l3:])
            seg = buf[l3 + 40 : l3 + 40 + ip6.plen]
            proto = {6: "tcp", 17: "udp"}[ip6.nxt]
            pseudo = pseudo_header_sum_ipv6(ip6.src, ip6.dst, ip6.nxt, len(seg))
            note(number, proto, _verdict(proto, seg, 16 if proto == "tcp" else 6, pseudo, None))
            continue
        assert ethertype == dpkt.ethernet.ETH_TYPE_IP
        ip = dpkt.ip.IP(buf[l3:])
        hlen = ip.hl * 4
        note(number, "ipv4", _verdict("ipv4", buf[l3 : l3 + hlen], 10, 0, None))
        body = buf[l3 + hlen : l3 + ip.len]
        more, offset = bool(ip.mf), int(ip.offset)
        if more or offset:
            # Reassemble (RFC 791 §3.2); the L4 verdict lands on the completing fragment.
            key = (ip.src, ip.dst, ip.id)
            _, parts = pending.setdefault(key, (0, {}))
            parts[offset] = body
            if more:
                status["unverified"] += 1
                continue
            pending.pop(key)
            body = b"".join(parts[k] for k in sorted(parts))
        proto = {1: "icmp", 6: "tcp", 17: "udp"}[ip.p]
        if proto == "icmp":
            note(number, proto, _verdict(proto, body, 2, 0, None))
            continue
        pseudo = pseudo_header_sum_ipv4(ip.src, ip.dst, ip.p, len(body))
        nolen = pseudo_header_sum_ipv4(ip.src, ip.dst, ip.p, 0) if proto == "tcp" else None
        note(number, proto, _verdict(proto, body, 16 if proto == "tcp" else 6, pseudo, nolen))
    assert not pending, "every fragmented datagram is complete"
    return bad, status


def _frames(path: Path) -> list[tuple[float, bytes]]:
    with path.open("rb") as src:
        reader = dpkt.pcapng.Reader(src) if path.suffix == ".pcapng" else dpkt.pcap.Reader(src)
        return [(ts, bytes(buf)) for ts, buf in reader]


def test_truth_names_exactly_the_bad_checksums(gen: ModuleType, tmp_path: Path) -> None:
    path = tmp_path / "g.pcap"
    # Small chunks so that units and per-flow counters cross chunk boundaries.
    summary = gen.generate(path, packets=3000, seed=7, error_rate=0.2, chunk=700)
    frames = _frames(path)
    assert len(frames) == summary["frames"] == 3000
    truth = gen.read_truth(path)
    bad, status = _reverify([buf for _, buf in frames])
    assert bad == truth
    counts = summary["checksums"]
    assert status["bad"] == counts["bad"] == len(truth)
    assert status["good"] == counts["good"]
    assert status["unverified"] == counts["unverified"] > 0


def test_faults_cover_every_cause_and_protocol(gen: ModuleType, tmp_path: Path) -> None:
    path = tmp_path / "g.pcap"
    gen.generate(path, packets=4000, seed=11, error_rate=0.2)
    truth = gen.read_truth(path)
    pairs = {(proto, cause) for _, proto, _, cause in truth}
    for proto in ("ipv4", "tcp", "udp", "icmp"):
        for cause in ("off-by-one", "corrupt"):
            assert (proto, cause) in pairs
    for proto in ("ipv4", "tcp", "icmp"):
        assert (proto, "zero") in pairs
    for proto in ("tcp", "udp"):
        assert (proto, "offload-partial") in pairs
    assert ("tcp", "offload-partial-nolen") in pairs
    # UDP over IPv4 with a zero field has no checksum (RFC 768): never injected as a fault.
    assert ("udp", "zero") not in pairs


def test_truth_rows_carry_value_and_expected(gen: ModuleType, tmp_path: Path) -> None:
    path = tmp_path / "g.pcap"
    gen.generate(path, packets=2000, seed=3, error_rate=0.1)
    frames = _frames(path)
    with gen.truth_csv(path).open(newline="") as src:
        rows = list(csv.DictReader(src))
    assert rows
    for row in rows:
        value, expected = int(row["value"]), int(row["expected"])
        assert value != expected
        if row["cause"] == "zero":
            assert value == 0
        if row["cause"] == "off-by-one":
            assert abs(value - expected) == 1
        if row["proto"] == "ipv4":
            buf = frames[int(row["frame"]) - 1][1]
            l3 = 18 if buf[12:14] == b"\x81\x00" else 14
            assert _field(buf, l3 + 10) == value


def test_pcap_and_pcapng_hold_the_same_frames(gen: ModuleType, tmp_path: Path) -> None:
    a, b = tmp_path / "g.pcap", tmp_path / "g.pcapng"
    gen.generate(a, packets=1500, seed=5, fmt="pcap")
    gen.generate(b, packets=1500, seed=5, fmt="pcapng")
    assert _frames(a) == _frames(b)
    assert gen.read_truth(a) == gen.read_truth(b)
    assert b.read_bytes()[:4] == b"\x0a\x0d\x0d\x0a"  # pcapng Section Header Block


def test_deterministic_for_a_seed(gen: ModuleType, tmp_path: Path) -> None:
    gen.generate(tmp_path / "a.pcap", packets=800, seed=9)
    gen.generate(tmp_path / "b.pcap", packets=800, seed=9)
    gen.generate(tmp_path / "c.pcap", packets=800, seed=10)
    a, b, c = (tmp_path / n for n in ("a.pcap", "b.pcap", "c.pcap"))
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()


def test_min_bytes_sizes_the_capture(gen: ModuleType, tmp_path: Path) -> None:
    path = tmp_path / "big.pcap"
    summary = gen.generate(path, packets=0, min_bytes=3_000_000, chunk=1000)
    assert 3_000_000 <= path.stat().st_size == summary["bytes"]
    assert path.stat().st_size < 3_000_000 + 1000 * 1600
    truth = json.loads(gen.truth_json(path).read_text())
    assert truth["frames"] == summary["frames"] == sum(truth["kinds"].values())


def test_excluded_kinds_are_left_out(gen: ModuleType, tmp_path: Path) -> None:
    path = tmp_path / "nofrag.pcap"
    summary = gen.generate(path, packets=3000, seed=4, exclude=("udp4-fragmented", "arp"))
    assert "udp4-fragmented" not in summary["kinds"] and "arp" not in summary["kinds"]
    assert summary["checksums"]["unverified"] == 0  # only first fragments are unverified
    assert sum(summary["kinds"].values()) == 3000
    with pytest.raises(ValueError):
        gen.generate(tmp_path / "x.pcap", packets=10, exclude=("tcp4-ack",))
