"""Checksum checks over hand-built tables: grouping bad rows by cause, capture host inference,
the special verdicts (illegal zero, snaplen, final destination, 0xFFFF)."""

from __future__ import annotations

import ipaddress
import struct

from checks.tablekit import ACK, SYN, by_symbol, make_tables, tcp
from wiredoctor.capture.record import Direction, LinkType
from wiredoctor.checks.run import CheckOptions, run_checks
from wiredoctor.checksum.verdict import Cause, Note, Proto, Status
from wiredoctor.tables import FrameFlag

C, S = "10.0.0.240", "10.0.41.3"


def found(rows, checksums, **kw):
    return by_symbol(run_checks(make_tables(rows, checksums, **kw), CheckOptions()))


def row(frame: int, proto: Proto, status: Status, cause: Cause = Cause.NONE, **kw) -> dict:
    return {"frame": frame, "proto": proto, "status": status, "cause": cause, **kw}


def test_all_good_checksums_give_no_findings() -> None:
    rows = [tcp(C, S, 1, 2, 10, 0, SYN), tcp(S, C, 2, 1, 20, 11, SYN | ACK)]
    sums = [row(1, Proto.IPV4, Status.GOOD), row(1, Proto.TCP, Status.GOOD),
            row(2, Proto.TCP, Status.GOOD)]  # fmt: skip
    assert found(rows, sums) == {}


def test_seed_000_partial_sums_name_the_capture_host() -> None:
    rows = [tcp(C, S, 56791, 22, 2650163743, 0, SYN, tcp_hdr_len=40),
            tcp(C, S, 56791, 22, 2650163744, 1, ACK, payload=100)]  # fmt: skip
    sums = [
        row(1, Proto.TCP, Status.BAD, Cause.OFFLOAD_PARTIAL, value=0x3E21, expected=0x6DE2,
            partial=0x3E21, l4_len=40),
        row(2, Proto.TCP, Status.BAD, Cause.OFFLOAD_PARTIAL_NOLEN, value=5, expected=6, partial=9),
    ]  # fmt: skip
    f = found(rows, sums)["checksum-offload-partial"]
    assert f.code == "WD101"
    assert f.facts["count"] == 2 and f.facts["nolen_count"] == 1
    assert f.facts["protos"] == {"tcp": 2}
    assert f.facts["senders"] == [C] and f.facts["receivers"] == [S]
    assert f.facts["capture_hosts"] == [C]
    assert f.facts["unknown_direction"] == 2
    first = f.facts["sample"][0]
    assert (first["value"], first["expected"], first["partial"]) == (0x3E21, 0x6DE2, 0x3E21)
    assert first["src"] == C and first["dst"] == S and first["l4_len"] == 40
    assert f.evidence.frames == (1, 2)


def test_inbound_partial_sums_are_not_the_capture_host() -> None:
    # On a cooked capture, SLL packet type 0 (to us) marks the partial sums as arriving.
    rows = [tcp(S, C, 22, 56791, 5, 6, ACK, sll_pkttype=0, linktype=LinkType.LINUX_SLL),
            tcp(C, S, 56791, 22, 6, 6, ACK, sll_pkttype=4, linktype=LinkType.LINUX_SLL,
                payload=10)]  # fmt: skip
    sums = [row(1, Proto.TCP, Status.BAD, Cause.OFFLOAD_PARTIAL),
            row(2, Proto.TCP, Status.BAD, Cause.OFFLOAD_PARTIAL)]  # fmt: skip
    f = found(rows, sums)["checksum-offload-partial"]
    assert (f.facts["inbound"], f.facts["outbound"]) == (1, 1)
    assert f.facts["capture_hosts"] == [C]
    assert sorted(f.facts["senders"]) == sorted([C, S])


def test_pcapng_direction_is_used() -> None:
    rows = [tcp(S, C, 22, 1, 5, 6, ACK, direction=Direction.INBOUND)]
    f = found(rows, [row(1, Proto.TCP, Status.BAD, Cause.OFFLOAD_PARTIAL)])
    assert f["checksum-offload-partial"].facts["capture_hosts"] == []


def test_seed_004_off_by_one_after_mss_clamp() -> None:
    rows = [tcp("10.80.0.112", "172.18.128.9", 80, 42319, 1243683600, 2163080236, SYN | ACK)]
    sums = [row(1, Proto.TCP, Status.BAD, Cause.OFF_BY_ONE, value=0x0301, expected=0x0302)]
    f = found(rows, sums)["checksum-off-by-one"]
    assert f.code == "WD102" and f.facts["count"] == 1
    (flow,) = f.facts["flows"]
    assert flow == {"src": "10.80.0.112", "sport": 80, "dst": "172.18.128.9", "dport": 42319,
                    "frames": [1]}  # fmt: skip
    assert f.facts["sample"][0]["value"] == 0x0301


def test_corrupt_and_zero_are_separate_findings() -> None:
    rows = [tcp(C, S, 1, 2, 10, 0, SYN), {"src": C, "dst": S, "ip_proto": 17, "sport": 5,
            "dport": 53, "ip_len": 60}]  # fmt: skip
    sums = [row(1, Proto.TCP, Status.BAD, Cause.CORRUPT), row(2, Proto.UDP, Status.BAD, Cause.ZERO)]
    out = found(rows, sums)
    assert out["checksum-corrupt"].evidence.frames == (1,)
    assert out["checksum-corrupt"].facts["protos"] == {"tcp": 1}
    assert out["checksum-zero"].evidence.frames == (2,)
    assert out["checksum-zero"].facts["senders"] == [C]


def test_udp_zero_checksum_over_ipv6_lists_tunnel_ports() -> None:
    rows = [{"src": "fd00::1", "dst": "fd00::2", "ip_proto": 17, "sport": 40000, "dport": 4789,
             "ip_len": 100}]  # fmt: skip
    f = found(rows, [row(1, Proto.UDP, Status.ILLEGAL)])["udp-zero-checksum-ipv6"]
    assert f.facts["count"] == 1 and f.facts["tunnel_ports"] == [4789]
    assert f.facts["flows"] == [{"src": "fd00::1", "sport": 40000, "dst": "fd00::2",
                                 "dport": 4789}]  # fmt: skip


def test_snaplen_truncation() -> None:
    rows = [tcp(C, S, 1, 2, 10, 0, ACK, payload=1000, caplen=96, wirelen=1054,
                frame_flags=int(FrameFlag.SNAPLEN)), tcp(C, S, 1, 2, 1010, 0, ACK)]  # fmt: skip
    sums = [row(1, Proto.TCP, Status.UNVERIFIED, note=Note.SNAPLEN), row(2, Proto.TCP, Status.GOOD)]
    f = found(rows, sums)["snaplen-truncated"]
    assert f.facts == {"count": 1, "snaplens": [96], "unverified": 1}
    assert f.evidence.frames == (1,)


def _srh_frame(final: str, current: str) -> bytes:
    segments = [ipaddress.IPv6Address(final).packed, ipaddress.IPv6Address(current).packed]
    srh = bytes([6, 4, 4, 1, 1, 0, 0, 0]) + b"".join(segments)
    ip6 = struct.pack("!IHBB", 6 << 28, len(srh) + 20, 43, 64)
    ip6 += ipaddress.IPv6Address("fc00::1").packed + ipaddress.IPv6Address(current).packed
    return b"\x00" * 12 + b"\x86\xdd" + ip6 + srh + b"\x00" * 20


def test_final_destination_checksums_name_both_destinations() -> None:
    frame = _srh_frame("fc00::9", "fc00::5")
    rows = [tcp("fc00::1", "fc00::5", 1, 2, 3, 0, SYN, frame_flags=int(FrameFlag.SRH))]
    sums = [row(1, Proto.TCP, Status.GOOD, note=Note.FINAL_DESTINATION)]
    f = found(rows, sums, read_frame=lambda n: frame)["srv6-final-destination"]
    assert f.facts["final_destinations"] == ["fc00::9"]
    assert f.facts["current_destinations"] == ["fc00::5"]


def test_ffff_for_zero_is_noted() -> None:
    rows = [{"src": C, "dst": S, "ip_proto": 17, "sport": 5, "dport": 53, "ip_len": 60}]
    f = found(rows, [row(1, Proto.UDP, Status.GOOD, note=Note.FFFF_FOR_ZERO)])
    assert f["checksum-ffff-for-zero"].facts == {"count": 1}
