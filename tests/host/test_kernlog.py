"""Kernel log parsing: prefixes, re-wrapped lines, and each recognised message shape."""

from __future__ import annotations

from pathlib import Path

import pytest

from wiredoctor.host.events import (
    ChecksumError,
    ConntrackBadChecksum,
    HwCsumFailure,
    LengthDrop,
    PartialChecksumUnsupported,
)
from wiredoctor.host.kernlog import parse_kernel_log
from wiredoctor.host.kernmsg import ip_proto_name, recognise, tcp_option_mss

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SEEDS = Path(__file__).resolve().parents[2] / ".." / "shared" / "seeds"


def _log(name: str) -> str:
    return (FIXTURES / name).read_text()


def _seed(prefix: str) -> str:
    found = sorted(SEEDS.glob(f"{prefix}_*.txt")) if SEEDS.is_dir() else []
    if not found:
        pytest.skip(f"shared seed {prefix} not present beside the repository")
    return found[0].read_text()


def test_seed_004_conntrack_line_wrapped_over_four_lines() -> None:
    log = parse_kernel_log(_seed("004"))
    assert len(log.events) == 1
    event = log.events[0]
    assert isinstance(event, ConntrackBadChecksum)
    assert (event.src, event.dst, event.sport, event.dport) == (
        "10.80.0.112",
        "172.18.128.9",
        80,
        42319,
    )
    assert (event.seq, event.ack, event.window, event.length, event.ttl) == (
        1243683600,
        2163080236,
        26847,
        60,
        63,
    )
    assert event.flags == ("ACK", "SYN")
    assert event.tcp_options_hex == "0204057D0402080A0862AF40081B5BCD01030307"
    assert event.mss == 1405
    assert event.logger == "nf_ct_tcp"
    line = log.lines[0]
    assert line.timestamp == "2015-09-09T11:42:13.097949-04:00"
    assert line.uptime == pytest.approx(22743995.678025)
    assert line.text.endswith("OPT (0204057D0402080A0862AF40081B5BCD01030307)")


def test_seed_001_partial_checksum_lines() -> None:
    log = parse_kernel_log(_seed("001"))
    assert [e.line for e in log.events] == [23, 24, 25]
    for event in log.events:
        assert isinstance(event, PartialChecksumUnsupported)
        assert (event.driver, event.bus_info, event.l4_proto) == ("ixgbe", "0000:0b:00.1", 0x2B)
        assert event.l4_name == "IPv6 routing header"


def test_seed_prose_yields_no_events() -> None:
    # Seed 003 talks about "over-mtu packet" in prose; that is not a log line.
    assert parse_kernel_log(_seed("003")).events == ()
    assert parse_kernel_log(_seed("000")).events == ()


def test_dmesg_with_uptime_and_netdev_prefix() -> None:
    log = parse_kernel_log(_log("kern-dmesg.txt"))
    partial = [e for e in log.events if isinstance(e, PartialChecksumUnsupported)]
    assert [(e.driver, e.bus_info, e.device, e.l4_proto) for e in partial] == [
        ("ixgbe", "0000:0b:00.1", "eth2", 0x3C)
    ] * 2
    assert partial[0].l4_name == "IPv6 destination options header"
    hw = [e for e in log.events if isinstance(e, HwCsumFailure)]
    assert [(e.device, e.line) for e in hw] == [("eth3", 4)]
    drops = [e for e in log.events if isinstance(e, LengthDrop)]
    assert [(e.device, e.length, e.limit, e.kind) for e in drops] == [
        ("br-int", 1518, 1500, "over-mtu")
    ] * 2
    assert log.lines[0].uptime == 0.0 and log.lines[1].uptime == pytest.approx(1022.448311)


def test_dmesg_T_netcp_decimal_udp_reports() -> None:
    log = parse_kernel_log(_log("kern-dmesg-T.txt"))
    first, second, third = log.events
    assert isinstance(first, PartialChecksumUnsupported)
    assert (first.driver, first.bus_info, first.device, first.l4_proto) == (
        "netcp",
        "2620110.netcp",
        "eth0",
        132,
    )
    assert first.l4_name == "SCTP"
    assert isinstance(second, ChecksumError)
    assert (second.proto, second.src, second.sport, second.dst, second.dport) == (
        "UDP",
        "192.0.2.7",
        5353,
        "198.51.100.9",
        53,
    )
    assert isinstance(third, LengthDrop)
    assert (third.kind, third.length, third.limit) == ("short", 120, 512)
    assert log.lines[0].timestamp == "Tue Sep  9 11:42:13 2025"


def test_syslog_skips_other_programs_and_reads_new_conntrack_prefix() -> None:
    log = parse_kernel_log(_log("kern-syslog.txt"))
    assert [x.line for x in log.lines] == [2, 3]
    tcp, udp = log.events
    assert isinstance(tcp, ConntrackBadChecksum) and isinstance(udp, ConntrackBadChecksum)
    assert (tcp.logger, tcp.proto, tcp.mss, tcp.seq, tcp.ip_id) == (
        "nf_ct_proto_6",
        "TCP",
        1460,
        1000,
        0,
    )
    assert (udp.proto, udp.in_iface, udp.length, udp.ip_id, udp.seq) == (
        "UDP",
        "eth0",
        40,
        4242,
        None,
    )
    assert log.lines[0].host == "gw1"


def test_journal_iso_ipv6_conntrack_keeps_icmp_fields_apart() -> None:
    log = parse_kernel_log(_log("kern-journal-iso.txt"))
    icmp, hw = log.events
    assert isinstance(icmp, ConntrackBadChecksum)
    assert (icmp.proto, icmp.src, icmp.dst, icmp.ttl) == (
        "ICMPv6",
        "2001:db8::1",
        "2001:db8::2",
        64,
    )
    assert icmp.ip_id is None and icmp.seq is None
    assert isinstance(hw, HwCsumFailure) and hw.device == "eth0"


def test_mail_quoted_and_wrapped_lines_are_rejoined() -> None:
    log = parse_kernel_log(_log("kern-mail-wrapped.txt"))
    ct, partial = log.events
    assert isinstance(ct, ConntrackBadChecksum)
    assert (ct.line, ct.src, ct.dport, ct.seq, ct.mss) == (
        4,
        "203.0.113.5",
        40000,
        3000000000,
        1356,
    )
    assert isinstance(partial, PartialChecksumUnsupported)
    assert (partial.line, partial.bus_info, partial.l4_proto) == (11, "0000:3b:00.0", 43)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ixgbe 0000:01:00.0: partial checksum but proto=2c!", 0x2C),
        ("igb 0000:02:00.0: partial checksum but l4 proto=0!", 0),
        ("nfp 0000:04:00.0 ens1: partial checksum but l4 proto=32!", 0x32),
    ],
)
def test_partial_checksum_variants(text: str, expected: int) -> None:
    event = recognise(1, text)
    assert isinstance(event, PartialChecksumUnsupported)
    assert event.l4_proto == expected


def test_partial_checksum_ip_version_variant() -> None:
    event = recognise(1, "fm10k 0000:05:00.0: partial checksum but ip version=5!")
    assert isinstance(event, PartialChecksumUnsupported)
    assert (event.ip_version, event.l4_proto) == (5, None)


def test_unknown_device_in_hw_csum_failure_and_unrelated_text() -> None:
    event = recognise(1, "<unknown>: hw csum failure")
    assert isinstance(event, HwCsumFailure) and event.device is None
    assert recognise(1, "e1000e: Intel(R) PRO/1000 Network Driver") is None
    assert recognise(1, "Solutions: the checksum error is in prose", generic=False) is None


def test_protocol_names_and_mss_decoding() -> None:
    names = {
        n: ip_proto_name(n)
        for n in (0x00, 0x06, 0x11, 0x29, 0x2B, 0x2C, 0x32, 0x33, 0x3A, 0x3C, 0x2F, 0x04)
    }
    assert names[0x2B] == "IPv6 routing header"
    assert names[0x3A] == "ICMPv6"
    assert names[0x32] == "ESP" and names[0x33] == "AH" and names[0x2F] == "GRE"
    assert ip_proto_name(253) == "protocol 253"
    assert tcp_option_mss(bytes.fromhex("0101080a0000000100000002020405b4")) == 1460
    assert tcp_option_mss(bytes.fromhex("0204")) is None
    assert tcp_option_mss(bytes.fromhex("00020405b4")) is None
