"""`diff` on real captures: client – router – server in namespaces, captured on both router
interfaces at once. The router clamps the MSS, or masquerades; copies of its captures with a
checksum nudged by one or with the large packets dropped stand in for broken devices."""

from __future__ import annotations

import os
import struct
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from diff.tablebuild import pcap_frames, write_pcap
from lab.netns import Lab, require_lab
from wiredoctor.diff import DiffResult, diff_captures, diff_json

pytestmark = [pytest.mark.netns]

SERVER = "10.72.2.2"
CLIENT = "10.72.1.2"
ROUTER_SERVER_SIDE = "10.72.2.1"
PORT = 5202
_LINGER_S = 1.5


def _router_captures(tmp_path: Path, rule: list[str], nbytes: int = 30_000) -> tuple[Path, Path]:
    """Run one TCP transfer through the router with `rule` installed; (client-side, server-side)
    captures taken on the router."""
    tag = str(os.getpid() % 10000)
    a_pcap, b_pcap = tmp_path / "a.pcap", tmp_path / "b.pcap"
    with Lab("df") as lab:
        client, router, server = (lab.ns(n) for n in ("cl", "rt", "sv"))
        cif, rcif, rsif, sif = f"c{tag}", f"rc{tag}", f"rs{tag}", f"s{tag}"
        for ns in (client, router, server):
            lab.run(ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
            lab.run(ns, "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1")
        lab.link(client, cif, f"{CLIENT}/24", router, rcif, "10.72.1.1/24")
        lab.link(router, rsif, f"{ROUTER_SERVER_SIDE}/24", server, sif, f"{SERVER}/24")
        lab.run(client, "ip", "route", "add", "default", "via", "10.72.1.1")
        lab.run(server, "ip", "route", "add", "default", "via", ROUTER_SERVER_SIDE)
        lab.run(router, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        # Checksums filled in by the stack (no offload), frames as on the wire (no GRO/TSO).
        for ns, iface in ((client, cif), (router, rcif), (router, rsif), (server, sif)):
            lab.run(ns, "ethtool", "-K", iface, "tx", "off", "tso", "off", "gso", "off",
                    "gro", "off", check=False)  # fmt: skip
        lab.run(router, "iptables", *[r.replace("OUT_IF", rsif) for r in rule])
        lab.run(client, "ping", "-c", "1", "-W", "2", SERVER, check=False)  # ARP on both links
        with lab.capture(router, rcif, a_pcap), lab.capture(router, rsif, b_pcap):
            got = lab.tcp_transfer(server, client, SERVER, PORT, nbytes, timeout=5)
            # tcpdump hands packets over a buffer block at a time (about every second without
            # --immediate-mode): stay long enough for the last block to reach the file.
            time.sleep(_LINGER_S)
    assert got == nbytes
    return a_pcap, b_pcap


@contextmanager
def _diffed(a: Path, b: Path) -> Iterator[DiffResult]:
    from wiredoctor.cli.diff import opened

    with ExitStack() as stack:
        ta = stack.enter_context(opened(str(a), 0))
        tb = stack.enter_context(opened(str(b), 1))
        yield diff_captures(ta, tb)


def _b_column(result: DiffResult, i: int, name: str) -> int:
    """A column of pair `i`'s frame at B."""
    return int(result.b.frames[name][result.pairing.b_rows[i]])


def test_router_clamping_mss(tmp_path: Path) -> None:
    require_lab("iptables", "ethtool")
    rule = ["-t", "mangle", "-A", "FORWARD", "-p", "tcp", "--tcp-flags", "SYN,RST", "SYN",
            "-j", "TCPMSS", "--set-mss", "1200"]  # fmt: skip
    a, b = _router_captures(tmp_path, rule)
    with _diffed(a, b) as result:
        doc = diff_json(result)
        syns = [
            (i, p)
            for i, p in enumerate(doc["pairs"])
            if _b_column(result, i, "ip_proto") == 6 and _b_column(result, i, "tcp_flags") & 0x02
        ]
        assert len(syns) == 2  # the SYN and the SYN-ACK
        for _, p in syns:
            changes = {c["field"]: (c["a"], c["b"]) for c in p["changes"]}
            before, after = changes["tcp.options.mss_val"]
            # The client side sees the SYN before the clamp and the SYN-ACK after it.
            assert (before, after) == ((1460, 1200) if p["direction"] == "a->b" else (1200, 1460))
            assert p["checksum_update"]["tcp"] == "correct"
        others = [p for i, p in enumerate(doc["pairs"]) if all(i != j for j, _ in syns)]
        assert len(others) >= 10
        for p in others:
            fields = {c["field"] for c in p["changes"]}
            assert fields == {"eth.src", "eth.dst", "ip.ttl", "ip.checksum"}, p
            assert p["checksum_update"] in (
                {"ip": "correct", "tcp": "unchanged"},
                {"ip": "correct", "icmp": "unchanged"},
            )
            ttl = next(c for c in p["changes"] if c["field"] == "ip.ttl")
            assert ttl["a"] - ttl["b"] == (1 if p["direction"] == "a->b" else -1)
        assert {p["direction"] for p in doc["pairs"]} == {"a->b", "b->a"}
        assert doc["only_in_a"] == [] and doc["only_in_b"] == []
        assert abs(doc["clock"]["offset_ns"]) < 5_000_000  # one host, one clock
        assert [d["id"] for d in doc["diagnoses"]] == ["mss-clamping"]
        assert not result.anomalies


def _edit_tcp_checksum(frame: bytes, delta: int) -> bytes:
    """Ethernet/IPv4/TCP frame with its TCP checksum moved by `delta` in ones' complement."""
    ihl = (frame[14] & 15) * 4
    at = 14 + ihl + 16
    value = int.from_bytes(frame[at : at + 2], "big")
    nudged = value + delta
    nudged = (nudged - 1) % 0xFFFF + 1 if nudged > 0 else 0xFFFF + nudged  # end-around carry
    return frame[:at] + struct.pack("!H", nudged & 0xFFFF) + frame[at + 2 :]


def test_router_masquerading_then_broken_copies(tmp_path: Path) -> None:
    require_lab("iptables", "ethtool")
    rule = ["-t", "nat", "-A", "POSTROUTING", "-o", "OUT_IF", "-j", "MASQUERADE"]
    a, b = _router_captures(tmp_path, rule)
    with _diffed(a, b) as result:
        doc = diff_json(result)
        nat = next(d for d in doc["diagnoses"] if d["id"] == "nat")
        mapping = nat["evidence"]["mapping"]
        out = [m for m in mapping if m["direction"] == "a->b" and m["proto"] == "tcp"]
        back = [m for m in mapping if m["direction"] == "b->a" and m["proto"] == "tcp"]
        assert out and back
        assert out[0]["a"]["src"].startswith(f"{CLIENT}:")
        assert out[0]["b"]["src"].startswith(f"{ROUTER_SERVER_SIDE}:")
        assert out[0]["a"]["dst"] == out[0]["b"]["dst"] == f"{SERVER}:{PORT}"
        assert back[0]["a"]["dst"] == out[0]["a"]["src"]
        assert back[0]["b"]["dst"] == out[0]["b"]["src"]
        assert nat["evidence"]["kinds"] == ["source"]
        assert all(p["checksum_update"].get("tcp") in ("correct", None) for p in doc["pairs"])
        assert not result.anomalies

        # The client's outgoing segments at B: pick two and nudge their checksums by one.
        outgoing = [
            i
            for i, p in enumerate(doc["pairs"])
            if p["direction"] == "a->b" and _b_column(result, i, "ip_proto") == 6
        ]
        chosen = sorted({doc["pairs"][outgoing[0]]["b"], doc["pairs"][outgoing[3]]["b"]})
        large_a = sorted(
            int(result.a.frames["frame"][r])
            for r, d in zip(result.pairing.a_rows, result.direction, strict=True)
            if d > 0 and int(result.a.frames["ip_len"][r]) > 1000
        )
        large_b = {
            doc["pairs"][i]["b"]
            for i in range(len(doc["pairs"]))
            if doc["pairs"][i]["a"] in large_a
        }
    frames_b = pcap_frames(b)
    broken = [
        (ts, _edit_tcp_checksum(data, -1) if n + 1 in chosen else data, lt)
        for n, (ts, data, lt) in enumerate(frames_b)
    ]
    write_pcap(tmp_path / "b-off-by-one.pcap", broken)
    with _diffed(a, tmp_path / "b-off-by-one.pcap") as result:
        doc = diff_json(result)
        bug = next(d for d in doc["diagnoses"] if d["id"] == "incremental-checksum-bug")
        assert bug["evidence"]["frames"] == chosen
        assert "ip.src" in bug["evidence"]["rewritten_fields"]
        assert result.anomalies

    assert large_a, "the transfer should carry full-size segments"
    lossy = [f for n, f in enumerate(frames_b) if n + 1 not in large_b]
    write_pcap(tmp_path / "b-lossy.pcap", lossy)
    with _diffed(a, tmp_path / "b-lossy.pcap") as result:
        doc = diff_json(result)
        lost = next(d for d in doc["diagnoses"] if d["id"] == "packets-lost-between-points")
        part = lost["evidence"]["lost"][0]
        assert part["direction"] == "a->b"
        assert part["frames"] == large_a
        assert part["only_large"] is True
        assert part["largest_delivered"] < 1000 < part["smallest_lost"]
        assert "only packets larger than" in lost["title"]
