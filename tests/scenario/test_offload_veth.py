"""The first seed case made for real: transmit checksum offload on a veth pair.

Two namespaces joined by a veth pair, addressed like the seed report (10.0.0.240 talking to
10.0.41.3), TCP and UDP traffic, tcpdump on the sender. With tx offload on, the sender's TCP
and UDP checksums hold only the pseudo-header sum; `wiredoctor check` must call that
`tx-checksum-offload` with exactly those frames as evidence (all of them sent by the capture
host, computed here from the bytes) and never `checksum-corruption`.
With tx offload off on both ends the same traffic gets a clean bill.

Root only (skipped with the reason otherwise); everything runs inside namespaces the test
makes, bounded in time, removed at the end also on failure (`lab.netns.Lab`).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import dpkt
import pytest

from lab.netns import Lab, require_lab
from wiredoctor.checksum.arith import pseudo_header_sum_ipv4, verifies
from wiredoctor.cli import main

pytestmark = pytest.mark.netns

SENDER = "10.0.0.240"
PEER = "10.0.41.3"
TCP_PORT = 22
UDP_PORT = 4000
CHECKSUM_DIAGNOSES = {
    "tx-checksum-offload",
    "incremental-checksum-bug",
    "checksum-corruption",
    "udp-zero-checksum-ipv6",
    "srv6-final-destination",
}

# Runs in the peer namespace: echo up to three datagrams, then exit (bounded by a timeout).
UDP_ECHO = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((sys.argv[1], int(sys.argv[2])))
s.settimeout(5)
try:
    for _ in range(3):
        data, peer = s.recvfrom(2048); s.sendto(data, peer)
except OSError:
    pass  # no more datagrams: the exchange is over
"""

UDP_SEND = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
for size in (17, 64, 301):
    s.sendto(bytes(i % 256 for i in range(size)), (sys.argv[1], int(sys.argv[2])))
    try:
        s.recvfrom(2048)
    except OSError:
        pass  # no echo within the timeout: send the next size
"""


def _record(tmp_path: Path, *, sender_tx: bool, peer_tx: bool) -> Path:
    """Make the traffic with the given tx offload settings; returns the sender's capture."""
    pcap = tmp_path / "sender.pcap"
    with Lab("of") as lab:
        client, server = lab.ns("c"), lab.ns("s")
        for ns in (client, server):
            # No IPv6: router/neighbour solicitations would only add unrelated frames.
            for knob in ("all", "default"):
                lab.run(ns, "sysctl", "-qw", f"net.ipv6.conf.{knob}.disable_ipv6=1")
        lab.link(client, "veth0", f"{SENDER}/16", server, "veth1", f"{PEER}/16")
        for ns, iface, on in ((client, "veth0", sender_tx), (server, "veth1", peer_tx)):
            lab.run(ns, "ethtool", "-K", iface, "tx", "on" if on else "off")
            features = lab.run(ns, "ethtool", "-k", iface).stdout
            assert f"tx-checksumming: {'on' if on else 'off'}" in features
        with lab.capture(client, "veth0", pcap):
            echo = lab.popen(server, sys.executable, "-c", UDP_ECHO, PEER, str(UDP_PORT))
            # 1000 bytes: one segment, so no TSO super-frame joins the picture.
            got = lab.tcp_transfer(server, client, PEER, TCP_PORT, 1000, timeout=5)
            assert got == 1000
            time.sleep(0.2)
            lab.run(client, sys.executable, "-c", UDP_SEND, PEER, str(UDP_PORT), timeout=15)
            echo.wait(timeout=10)
            time.sleep(1.2)  # past libpcap's buffer timeout, so the last frames are written
    return pcap


def _l4_frames(pcap: Path) -> dict[int, tuple[str, str]]:
    """{frame: (IPv4 source, "partial" | "good" | "bad")} of every TCP/UDP frame, by our own
    arithmetic: "partial" when the field holds exactly the pseudo-header sum."""
    out: dict[int, tuple[str, str]] = {}
    with pcap.open("rb") as capture:
        for number, (_ts, buf) in enumerate(dpkt.pcap.Reader(capture), start=1):
            eth = dpkt.ethernet.Ethernet(buf)
            if not isinstance(eth.data, dpkt.ip.IP) or eth.data.p not in (6, 17):
                continue
            ip = eth.data
            hlen = ip.hl * 4
            seg = buf[14 + hlen : 14 + ip.len]
            field_off = 16 if ip.p == 6 else 6
            value = int.from_bytes(seg[field_off : field_off + 2], "big")
            pseudo = pseudo_header_sum_ipv4(ip.src, ip.dst, ip.p, len(seg))
            state = "partial" if value == pseudo else "good" if verifies(seg, pseudo) else "bad"
            out[number] = (".".join(str(b) for b in ip.src), state)
    return out


def _with(frames: dict[int, tuple[str, str]], state: str, src: str | None = None) -> set[int]:
    return {n for n, (s, st) in frames.items() if st == state and src in (None, s)}


def _check(pcap: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    capsys.readouterr()
    status = main(["check", str(pcap), "--json"])
    report = json.loads(capsys.readouterr().out)
    return status, report


def _diagnoses(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {d["id"]: d for d in report["diagnoses"]}


def test_sender_offload_is_named_with_exactly_the_sent_frames(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every partial checksum was sent by the capture host, and all of them are the evidence.

    Not every frame the host sent is partial: the ACK a socket in TIME-WAIT sends (when the
    client ends up closing second) goes through the kernel's reply path, which sums in
    software. So the evidence is computed from the bytes, then checked against the sender.
    """
    require_lab("ethtool")
    pcap = _record(tmp_path, sender_tx=True, peer_tx=False)
    frames = _l4_frames(pcap)
    partial = _with(frames, "partial")
    sent = {n for n, (src, _) in frames.items() if src == SENDER}
    assert partial <= sent
    assert len(partial) >= 7, "handshake, data, FIN and 3 UDP datagrams from the sender"
    assert _with(frames, "good") == set(frames) - partial  # nothing else is wrong
    assert _with(frames, "good", PEER) == set(frames) - sent  # the peer's arrive complete

    status, report = _check(pcap, capsys)
    found = _diagnoses(report)
    assert "tx-checksum-offload" in found
    assert sorted(found["tx-checksum-offload"]["evidence"]["frames"]) == sorted(partial)
    assert "checksum-corruption" not in found
    assert report["summary"]["checksums"]["bad"] == len(partial)
    assert status in (0, 1)


def test_offload_on_both_ends_marks_inbound_frames_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """As in the seed, where the inbound SYN-ACK carried the same 0x3e21: on a veth pair the
    peer's packets arrive still partial, and they are no corruption either."""
    require_lab("ethtool")
    pcap = _record(tmp_path, sender_tx=True, peer_tx=True)
    frames = _l4_frames(pcap)
    partial = _with(frames, "partial")
    assert _with(frames, "partial", SENDER) and _with(frames, "partial", PEER)
    assert _with(frames, "good") == set(frames) - partial

    status, report = _check(pcap, capsys)
    found = _diagnoses(report)
    assert sorted(found["tx-checksum-offload"]["evidence"]["frames"]) == sorted(partial)
    assert "checksum-corruption" not in found
    assert status in (0, 1)


def test_offload_off_gives_a_clean_bill(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    require_lab("ethtool")
    pcap = _record(tmp_path, sender_tx=False, peer_tx=False)
    frames = _l4_frames(pcap)
    assert len(frames) >= 14
    assert _with(frames, "good") == set(frames)

    status, report = _check(pcap, capsys)
    fired = set(_diagnoses(report))
    # A loaded machine can make the namespaces' TCP resend a segment: a flow finding, not a
    # checksum one, and the only one a clean capture may carry.
    assert status == 0 or fired <= {"tcp-retransmissions"}, fired
    assert report["summary"]["checksums"]["bad"] == 0
    assert report["summary"]["checksums"]["good"] >= 2 * len(frames)  # IPv4 header + L4
    assert not CHECKSUM_DIAGNOSES & fired
