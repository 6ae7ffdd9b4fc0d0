"""Every rule has a good example (it fires, with the right values) and a bad one (it must not)."""

from __future__ import annotations

from typing import Any

import pytest

from wiredoctor.checks.codes import BY_SYMBOL
from wiredoctor.checks.finding import Evidence, Finding, Severity
from wiredoctor.diagnose.catalogue import DIAGNOSIS_IDS
from wiredoctor.diagnose.context import Inputs
from wiredoctor.diagnose.diagnosis import Diagnosis
from wiredoctor.diagnose.engine import diagnose, has_problems
from wiredoctor.diagnose.rules import RULES, RULES_BY_ID
from wiredoctor.host.facts import DriverInfo, Feature, HostFacts, IfaceKind, Interface
from wiredoctor.host.kernlog import parse_kernel_log


def finding(
    symbol: str, frames: tuple[int, ...] = (1,), capture: str = "a.pcap", **facts: Any
) -> Finding:
    code = BY_SYMBOL[symbol]
    return Finding(
        code=code.code,
        symbol=symbol,
        severity=code.severity,
        message=symbol,
        evidence=Evidence(capture=capture, frames=frames),
        facts=facts,
    )


def host(
    *, log: str = "", counters: dict[str, int] | None = None, interfaces: tuple[Interface, ...] = ()
) -> HostFacts:
    parsed = parse_kernel_log(log)
    return HostFacts(
        source="files",
        interfaces=interfaces,
        counters=counters or {},
        kernel_lines=parsed.lines,
        kernel_events=parsed.events,
        kernel_log_source="kern.log" if log else "",
    )


def veth(name: str, address: str, *, tx: bool, gro: bool = True) -> Interface:
    return Interface(
        name=name,
        kind=IfaceKind.VETH,
        peer="ifindex 4 (netns id 0)",
        mtu=1500,
        addresses=(address,),
        driver=DriverInfo(driver="veth", version="1.0"),
        features=(
            Feature(name="tx-checksumming", on=tx),
            Feature(name="tx-checksum-ip-generic", on=tx),
            Feature(name="generic-receive-offload", on=gro),
        ),
    )


def run(rule_id: str, findings: list[Finding], facts: HostFacts | None = None) -> list[Diagnosis]:
    return RULES_BY_ID[rule_id].infer(Inputs(findings=tuple(findings), captures=(), host=facts))


def commands(d: Diagnosis) -> list[str]:
    return [r.command for r in d.remedies if r.command]


WD101 = dict(
    count=3,
    nolen_count=0,
    protos={"tcp": 3},
    senders=["10.0.0.240"],
    receivers=["10.0.41.3"],
    outbound=0,
    inbound=0,
    unknown_direction=3,
    capture_hosts=["10.0.0.240"],
)
CONNTRACK = (
    "Sep  9 11:42:13 gw kernel: nf_ct_tcp: bad TCP checksum IN= OUT= SRC=10.80.0.112 "
    "DST=172.18.128.9 LEN=60 TTL=63 ID=0 DF PROTO=TCP SPT=80 DPT=42319 SEQ=1243683600 "
    "ACK=2163080236 WINDOW=26847 RES=0x00 ACK SYN URGP=0 OPT\n"
    "(0204057D0402080A0862AF40081B5BCD01030307)\n"
)


def test_catalogue_and_rules_cover_the_contract() -> None:
    assert len(DIAGNOSIS_IDS) == 20 and len(set(DIAGNOSIS_IDS)) == 20
    rule_ids = [r.id for r in RULES]
    assert len(rule_ids) == len(set(rule_ids)) == 16
    assert set(DIAGNOSIS_IDS) - set(rule_ids) == {
        "mss-clamping",
        "nat",
        "packets-lost-between-points",
        "payload-modified",
    }
    assert all(r.references for r in RULES)


def test_tx_checksum_offload_sent_is_info_and_host_names_interface() -> None:
    [d] = run("tx-checksum-offload", [finding("checksum-offload-partial", (1, 2, 5), **WD101)])
    assert (d.severity, d.confidence) == (Severity.INFO, 0.85)
    assert d.evidence.frames == (1, 2, 5) and "10.0.0.240" in d.explanation
    assert "ethtool -K <iface> tx off" in commands(d)
    facts = host(
        interfaces=(veth("veth0", "10.0.0.240", tx=True), veth("veth9", "10.9.9.9", tx=True))
    )
    [d] = run("tx-checksum-offload", [finding("checksum-offload-partial", **WD101)], facts)
    assert d.confidence >= 0.9 and "ethtool -K veth0 tx off" in commands(d)
    assert "veth9" not in " ".join(commands(d))
    [d] = run(
        "tx-checksum-offload",
        [finding("checksum-offload-partial", **WD101)],
        host(interfaces=(veth("veth0", "10.0.0.240", tx=False),)),
    )
    assert d.confidence < 0.9


def test_tx_checksum_offload_received_is_a_warning_with_service_remedy() -> None:
    facts = dict(WD101, inbound=3, outbound=0, unknown_direction=0)
    [d] = run("tx-checksum-offload", [finding("checksum-offload-partial", **facts)])
    assert d.severity == Severity.WARNING and d.facts["direction"] == "received"
    assert "service segment" in d.explanation
    assert any("compute the full L4 checksum" in r.description for r in d.remedies)


def test_tx_checksum_offload_bad_example() -> None:
    assert run("tx-checksum-offload", [finding("checksum-off-by-one", count=1, flows=[])]) == []


def test_segmentation_offload() -> None:
    f = finding(
        "segmentation-offload-frames", (4,), count=1, max_len=9014, mtu=1500, senders=["10.0.0.240"]
    )
    [d] = run("segmentation-offload", [f], host(interfaces=(veth("veth0", "10.0.0.240", tx=True),)))
    assert d.severity == Severity.INFO and d.confidence == 0.95
    assert "ethtool -K veth0 tso off gso off gro off" in commands(d)
    assert (
        run("segmentation-offload", [finding("over-mtu-frame", count=1, mtu=1500, max_len=1518)])
        == []
    )


FLOW = {"src": "10.80.0.112", "sport": 80, "dst": "172.18.128.9", "dport": 42319, "frames": [2]}


def test_incremental_checksum_bug_with_and_without_conntrack() -> None:
    f = finding("checksum-off-by-one", (2,), count=1, protos={"tcp": 1}, flows=[FLOW])
    [plain] = run("incremental-checksum-bug", [f])
    [confirmed] = run("incremental-checksum-bug", [f], host(log=CONNTRACK))
    assert plain.severity == Severity.ERROR and "RFC 1624" in plain.explanation
    assert confirmed.confidence > plain.confidence and confirmed.facts["conntrack_lines"] == [1]
    other = dict(FLOW, sport=81)
    [unrelated] = run(
        "incremental-checksum-bug",
        [finding("checksum-off-by-one", count=1, flows=[other])],
        host(log=CONNTRACK),
    )
    assert unrelated.confidence == plain.confidence
    assert run("incremental-checksum-bug", [finding("checksum-corrupt", count=1)]) == []


def test_checksum_corruption_uses_counters_and_hw_csum_failure() -> None:
    f = finding(
        "checksum-corrupt", (7, 9), count=2, protos={"tcp": 2}, senders=["a"], receivers=["b"]
    )
    [plain] = run("checksum-corruption", [f])
    facts = host(log="[ 5.0] eth3: hw csum failure\n", counters={"TcpInCsumErrors": 12})
    [backed] = run("checksum-corruption", [f], facts)
    assert plain.severity == Severity.ERROR and backed.confidence > plain.confidence
    assert "ethtool -S eth3 | grep -iE 'err|crc|csum'" in commands(backed)
    assert "TcpInCsumErrors = 12" in backed.explanation
    assert run("checksum-corruption", [finding("checksum-offload-partial", **WD101)]) == []


def test_udp_zero_checksum_ipv6() -> None:
    flows = [{"src": "2001:db8::1", "sport": 5000, "dst": "2001:db8::2", "dport": 53}]
    [d] = run(
        "udp-zero-checksum-ipv6",
        [finding("udp-zero-checksum-ipv6", count=1, flows=flows, tunnel_ports=[])],
    )
    assert d.severity == Severity.WARNING
    tunnel = [{"src": "2001:db8::1", "sport": 5000, "dst": "2001:db8::2", "dport": 4789}]
    [t] = run(
        "udp-zero-checksum-ipv6",
        [finding("udp-zero-checksum-ipv6", count=1, flows=tunnel, tunnel_ports=[4789])],
    )
    assert t.severity == Severity.INFO
    assert run("udp-zero-checksum-ipv6", [finding("checksum-zero", count=1)]) == []


def test_truncated_capture() -> None:
    [d] = run(
        "truncated-capture",
        [finding("snaplen-truncated", (1, 2), count=2, snaplens=[96], unverified=4)],
    )
    assert "tcpdump -s 0 -i <iface> -w capture.pcap" in commands(d) and "96" in d.explanation
    assert d.severity == Severity.INFO
    assert run("truncated-capture", []) == []


def test_srv6_final_destination_with_gro_on() -> None:
    f = finding(
        "srv6-final-destination",
        (3,),
        count=1,
        final_destinations=["fc00::9"],
        current_destinations=["fc00::2"],
    )
    facts = host(
        log="ixgbe 0000:0b:00.1: partial checksum but l4 proto=2b!\n",
        interfaces=(veth("sr0", "fc00::2", tx=True, gro=True),),
    )
    [d] = run("srv6-final-destination", [f], facts)
    assert "ethtool -K sr0 gro off" in commands(d) and d.confidence == 0.9
    assert "fc00::9" in d.explanation and "ixgbe" in d.explanation
    assert run("srv6-final-destination", [finding("checksum-corrupt", count=1)]) == []


def test_ethernet_trailer_and_over_mtu_told_together() -> None:
    trailer = finding(
        "ethernet-trailer",
        (1, 2),
        count=2,
        lengths={"2": 2},
        kinds={"vss-monitoring": 2},
        full_size=1,
    )
    over = finding("over-mtu-frame", (2,), count=1, mtu=1500, max_len=1516, with_trailer=1)
    [t] = run("ethernet-trailer", [trailer])
    assert t.severity == Severity.WARNING and t.facts["trailer_lengths"] == [2]
    assert "ip link set dev <iface> mtu 1498" in commands(t)
    [o] = run(
        "over-mtu-frame",
        [trailer, over],
        host(log="[ 9.1] br-int: dropped over-mtu packet: 1518 > 1500\n"),
    )
    assert o.evidence.frames == (2,) and "of 2 byte(s)" in o.explanation
    assert "br-int" in o.explanation and o.confidence == pytest.approx(0.95)
    fcs = finding("ethernet-trailer", count=1, lengths={"4": 1}, kinds={"fcs": 1}, full_size=0)
    [f] = run("ethernet-trailer", [fcs])
    assert f.severity == Severity.INFO
    assert run("over-mtu-frame", [trailer]) == []


def test_pmtu_blackhole_arithmetic_and_odd_gap() -> None:
    sweep = finding(
        "ping-size-threshold",
        (1, 2, 3),
        destination="10.0.0.131",
        largest_answered=1470,
        smallest_unanswered=1472,
        ip_version=4,
        answered=[1470],
        unanswered=[1472],
    )
    [d] = run("pmtu-blackhole", [sweep])
    assert d.facts["largest_answered"] == 1470 and d.facts["smallest_unanswered"] == 1472
    assert d.facts["path_limit"] == 1498 and d.facts["gap"] == 2
    assert "1470 + 8 (ICMP) + 20 (IPv4) = 1498" in d.explanation
    assert "ip link set dev <iface> mtu 1498" in commands(d)
    assert any("TCPMSS" in c for c in commands(d))
    too_big = finding("icmp-too-big", (9,), count=1, mtus=[1400], senders=["10.0.0.1"])
    [with_icmp] = run("pmtu-blackhole", [sweep, too_big])
    assert with_icmp.confidence < d.confidence and 9 in with_icmp.evidence.frames
    assert run("pmtu-blackhole", [too_big]) == []


def test_syn_ack_mismatch() -> None:
    pairs = [
        {
            "syn_frame": 1,
            "synack_frame": 2,
            "client": "10.0.0.240",
            "server": "10.0.41.3",
            "syn_seq": 2650163743,
            "expected_ack": 2650163744,
            "ack": 3098447117,
        }
    ]
    [d] = run("syn-ack-mismatch", [finding("syn-ack-mismatch", (1, 2), pairs=pairs)])
    assert "3098447117" in d.explanation and "2650163744" in d.explanation
    assert d.severity == Severity.WARNING
    assert run("syn-ack-mismatch", [finding("tcp-dup-acks", count=1, flows=[])]) == []


def test_tcp_retransmissions_tied_to_bad_checksums() -> None:
    r = finding(
        "tcp-retransmissions",
        (6, 7, 9),
        count=3,
        data=0,
        fin=3,
        syn=0,
        rst=0,
        flows=[],
        bad_checksum=3,
        unanswered_fin=1,
        unanswered_syn=0,
        intervals_ms=[210, 430],
    )
    facts = host(interfaces=(veth("eth1", "192.168.4.9", tx=True),))
    [d] = run("tcp-retransmissions", [r], facts)
    assert "ethtool -K eth1 tx off" in commands(d) and d.confidence == 0.9
    assert "3 of them FINs" in d.explanation
    plain = finding(
        "tcp-retransmissions", (6,), count=1, data=1, fin=0, syn=0, rst=0, flows=[], bad_checksum=0
    )
    [p] = run("tcp-retransmissions", [plain])
    assert p.confidence == 0.7 and not any("tx off" in c for c in commands(p))
    assert run("tcp-retransmissions", [finding("tcp-dup-acks", count=2, flows=[])]) == []
    off_by_one = finding("checksum-off-by-one", (5,), count=1, flows=[FLOW])
    [o] = run("tcp-retransmissions", [plain, off_by_one], facts)
    assert "incremental-checksum-bug" in o.explanation and o.evidence.frames == (5, 6)
    assert not any("tx off" in c for c in commands(o))


def test_conntrack_bad_checksum_drop() -> None:
    [d] = run("conntrack-bad-checksum-drop", [], host(log=CONNTRACK))
    assert d.evidence.capture == "kern.log" and d.facts["log_lines"] == [1]
    [flow] = d.facts["flows"]
    assert (flow["src"], flow["dst"], flow["sport"], flow["dport"], flow["seq"], flow["mss"]) == (
        "10.80.0.112",
        "172.18.128.9",
        80,
        42319,
        1243683600,
        1405,
    )
    assert "MSS 1405" in d.explanation
    assert run("conntrack-bad-checksum-drop", [], host(log="[ 1.0] eth0: link up\n")) == []
    assert run("conntrack-bad-checksum-drop", [], None) == []


def test_driver_partial_checksum_names_interface_by_bus() -> None:
    log = "ixgbe 0000:0b:00.1: partial checksum but l4 proto=2b!\n" * 2
    [d] = run("driver-partial-checksum-unsupported", [], host(log=log))
    assert (d.facts["driver"], d.facts["bus_info"], d.facts["l4_name"]) == (
        "ixgbe",
        "0000:0b:00.1",
        "IPv6 routing header",
    )
    assert "ethtool -K <iface> tx off" in commands(d) and "0x2b" in d.explanation
    nic = Interface(
        name="enp11s0f1",
        kind=IfaceKind.PHYSICAL,
        driver=DriverInfo(driver="ixgbe", bus_info="0000:0b:00.1"),
    )
    [named] = run("driver-partial-checksum-unsupported", [], host(log=log, interfaces=(nic,)))
    assert "ethtool -K enp11s0f1 tx off" in commands(named)
    assert (
        run("driver-partial-checksum-unsupported", [], host(log="[ 1.0] eth0: hw csum failure\n"))
        == []
    )


def test_rx_checksum_errors() -> None:
    [d] = run(
        "rx-checksum-errors", [], host(counters={"TcpInCsumErrors": 17, "UdpInCsumErrors": 0})
    )
    assert d.facts["counters"] == {"TcpInCsumErrors": 17} and d.confidence == 0.7
    [hw] = run("rx-checksum-errors", [], host(log="[ 5.0] eth3: hw csum failure\n"))
    assert "ethtool -K eth3 rx off" in commands(hw) and hw.confidence == 0.9
    assert run("rx-checksum-errors", [], host(counters={"TcpInCsumErrors": 0})) == []


def test_kernel_over_mtu_drop() -> None:
    line = "br-int: dropped over-mtu packet: 1518 > 1500"
    log = f"[ 9.1] {line}\n[ 9.2] {line}\n"
    [d] = run("kernel-over-mtu-drop", [], host(log=log))
    assert (d.facts["device"], d.facts["lengths"], d.facts["limits"], d.facts["log_lines"]) == (
        "br-int",
        [1518],
        [1500],
        [1, 2],
    )
    assert "ip link set dev br-int mtu 1518" in commands(d)
    short = "[ 1.0] UDP: short packet: From 192.0.2.7:5353 512/120 to 198.51.100.9:53\n"
    assert run("kernel-over-mtu-drop", [], host(log=short)) == []


def test_engine_orders_and_exit_semantics() -> None:
    findings = [
        finding("checksum-offload-partial", **WD101),
        finding("checksum-off-by-one", (2,), count=1, flows=[FLOW]),
    ]
    out = diagnose(findings, [], host(log=CONNTRACK))
    assert [d.id for d in out] == [
        "incremental-checksum-bug",
        "conntrack-bad-checksum-drop",
        "tx-checksum-offload",
    ]
    assert has_problems(out)
    assert not has_problems(diagnose([finding("checksum-offload-partial", **WD101)], [], None))
    assert diagnose([], [], None) == []
    doc = out[0].to_json()
    assert doc["id"] == "incremental-checksum-bug" and doc["evidence"]["frames"] == [2]


def test_retransmissions_in_a_list_without_checksums_point_at_offload() -> None:
    from wiredoctor.tables import CaptureTables, empty_checksums, empty_frames

    listing = CaptureTables(
        path="list.txt",
        index=0,
        format="text",
        linktypes=[65535],
        frames=empty_frames(6),
        checksums=empty_checksums(0),
    )
    retrans = finding(
        "tcp-retransmissions", (4, 5, 6), "list.txt", count=3, fin=3, unanswered_fin=1
    )
    from wiredoctor.diagnose.engine import diagnose

    [d] = [x for x in diagnose([retrans], [listing], None) if x.id == "tcp-retransmissions"]
    assert "shows no checksums" in d.explanation
    assert any("tx off" in c for c in commands(d))


def test_received_gro_super_frames_with_partial_sums_are_an_artefact() -> None:
    partial = finding(
        "checksum-offload-partial",
        (8, 9, 12),
        count=3,
        protos={"tcp": 3},
        senders=["192.168.1.21"],
        receivers=["192.168.1.253"],
        inbound=3,
        outbound=0,
    )
    merged = finding("segmentation-offload-frames", (8, 9, 12), count=3, max_len=65232)
    [d] = run("tx-checksum-offload", [partial, merged])
    assert d.severity == Severity.INFO
    assert "tcp_gro_complete" in d.explanation
    assert d.facts["capture_hosts"] == ["192.168.1.253"]
    assert any("gro off" in c for c in commands(d))
    # The same frames without the super-frame finding: metadata lost on the way (a warning).
    [lost] = run("tx-checksum-offload", [partial])
    assert lost.severity == Severity.WARNING
