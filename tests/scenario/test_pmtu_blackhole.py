"""A real PMTU black hole in network namespaces: client – r1 – r2 – server, MTU 1400 between
the routers, r1's ICMP fragmentation-needed dropped. The client's own capture must show the
ping size threshold (1372/1373 = 1400 − 28) and the stalled full-size TCP segments."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lab.netns import Lab, require_lab
from wiredoctor.checks.run import CheckOptions, run_checks

pytestmark = [pytest.mark.netns, pytest.mark.slow]


SERVER = "10.71.3.2"
PORT = 5201


def _build(lab: Lab, tag: str) -> tuple[str, str, str]:
    client, r1, r2, server = (lab.ns(n) for n in ("cl", "r1", "r2", "sv"))
    cif = f"c{tag}"
    lab.link(client, cif, "10.71.1.2/24", r1, f"a{tag}", "10.71.1.1/24")
    lab.link(r1, f"b{tag}", "10.71.2.1/24", r2, f"d{tag}", "10.71.2.2/24", mtu=1400)
    lab.link(r2, f"e{tag}", "10.71.3.1/24", server, f"s{tag}", f"{SERVER}/24")
    lab.run(client, "ip", "route", "add", "default", "via", "10.71.1.1")
    lab.run(server, "ip", "route", "add", "default", "via", "10.71.3.1")
    lab.run(r1, "ip", "route", "add", "10.71.3.0/24", "via", "10.71.2.2")
    lab.run(r2, "ip", "route", "add", "10.71.1.0/24", "via", "10.71.2.1")
    for router in (r1, r2):
        lab.run(router, "sysctl", "-qw", "net.ipv4.ip_forward=1")
    for chain in ("OUTPUT", "FORWARD"):
        lab.run(r1, "iptables", "-A", chain, "-p", "icmp", "--icmp-type",
                "fragmentation-needed", "-j", "DROP")  # fmt: skip
    # Wire-size segments in the client's capture (no TSO/GSO super-frames), no MTU probing.
    lab.run(client, "ethtool", "-K", cif, "tso", "off", "gso", "off", check=False)
    lab.run(client, "sysctl", "-qw", "net.ipv4.tcp_mtu_probing=0")
    return client, server, cif


def test_pmtu_black_hole_seen_from_the_client(tmp_path: Path) -> None:
    require_lab("iptables", "ping", "ethtool")
    from wiredoctor.pipeline import load_capture

    tag = str(os.getpid() % 10000)
    pcap = tmp_path / "client.pcap"
    with Lab("pm") as lab:
        client, server, cif = _build(lab, tag)
        lab.run(client, "ping", "-c", "1", "-W", "2", SERVER, check=False)  # ARP, routes
        with lab.capture(client, cif, pcap):
            for size in range(1369, 1377):
                lab.run(client, "ping", "-M", "do", "-s", str(size), "-c", "1", "-W", "1",
                        SERVER, check=False, timeout=5)  # fmt: skip
            got = lab.tcp_transfer(server, client, SERVER, PORT, 300_000, timeout=5)
    assert got < 300_000, "the transfer should stall in the black hole"

    findings = run_checks(load_capture(str(pcap)), CheckOptions())
    by = {}
    for f in findings:
        by.setdefault(f.symbol, f)

    sweep = by["ping-size-threshold"]
    assert sweep.facts["destination"] == SERVER
    assert sweep.facts["largest_answered"] == 1372
    assert sweep.facts["smallest_unanswered"] == 1373
    assert sweep.facts["answered"] == [1369, 1370, 1371, 1372]
    assert sweep.facts["unanswered"] == [1373, 1374, 1375, 1376]
    assert sweep.facts["too_big_seen"] is False
    assert "icmp-too-big" not in by

    stall = by["full-size-segment-stall"]
    assert stall.facts["stalled_len"] == 1500
    assert stall.facts["threshold"] <= 1400
    flow = stall.facts["flows"][0]
    assert (flow["dst"], flow["dport"]) == (SERVER, PORT)
    assert flow["retransmissions"] >= 2

    retrans = by["tcp-retransmissions"]
    assert retrans.facts["data"] >= 2
    assert set(flow["frames"]) <= set(retrans.evidence.frames)
