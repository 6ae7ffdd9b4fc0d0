"""verify_batches on frames with known answers, and the driver's seams: chunks on threads,
a checksum buffer that runs short, fallback frames spliced back in order, empty input.
"""

from __future__ import annotations

import struct

import numpy as np
import pytest

from fast import frames as fb
from fast.compare import both_paths, differences
from wiredoctor.capture.record import LinkType
from wiredoctor.checksum.verdict import Cause, Proto, Status
from wiredoctor.fast import verify as fast_verify
from wiredoctor.fast.verify import verify_batches
from wiredoctor.tables import CHECKSUM_DTYPE, FRAME_DTYPE, FrameFlag

# The SYN of the OpenStack report: 10.0.0.240.56791 > 10.0.41.3.22, TCP length 40, with
# the field holding the folded pseudo-header sum 0x3e21 (tcpdump: incorrect -> 0x6de2).
SYN_OPTIONS = bytes.fromhex("020405b40402080a01ac9b740000000001030306")

# The SYN-ACK the Tinc report shows leaving the tunnel with its MSS clamped (IP bytes).
TINC_OFF_BY_ONE = bytes.fromhex(
    "4500003c00004000"
    "3f0604e10a500070"
    "ac1280090050a54f"
    "4a211b1080edfc2c"
    "a01268df03010000"
    "0204057d0402080a"
    "0862b134081b5bcd"
    "01030307"
)


def _rows(frames: np.ndarray, cks: np.ndarray, frame: int) -> np.ndarray:
    row = frames[frame - 1]
    start = int(row["cksum_row"])
    return cks[start : start + int(row["n_cksum"])]


def test_offload_partial_syn_from_the_openstack_report() -> None:
    segment = fb.tcp(fb.V4_A, fb.V4_B, options=SYN_OPTIONS, checksum=0x3E21)
    data = fb.ethernet(fb.ipv4(segment, ident=53611))
    frames, cks = verify_batches([fb.batch([fb.record(data)])])
    ip_row, tcp_row = _rows(frames, cks, 1)
    assert ip_row["proto"] == Proto.IPV4 and ip_row["status"] == Status.GOOD
    assert tcp_row["proto"] == Proto.TCP
    assert tcp_row["status"] == Status.BAD
    assert tcp_row["cause"] == Cause.OFFLOAD_PARTIAL
    assert tcp_row["value"] == 0x3E21 == tcp_row["partial"]
    assert tcp_row["expected"] == 0x6DE2
    assert tcp_row["field_off"] == 14 + 20 + 16 and tcp_row["l4_len"] == 40
    frame = frames[0]
    assert (frame["sport"], frame["dport"], frame["tcp_seq"]) == (56791, 22, 2650163743)
    assert (frame["tcp_mss"], frame["tcp_wscale"], frame["tcp_sack_perm"]) == (1460, 6, 1)
    assert (frame["tcp_has_ts"], frame["tcp_tsval"], frame["tcp_tsecr"]) == (1, 28089204, 0)
    assert frame["tcp_flags"] == 0x002 and frame["l4_payload_len"] == 0


def test_off_by_one_after_mss_clamp_from_the_tinc_report() -> None:
    record = fb.record(TINC_OFF_BY_ONE, linktype=LinkType.RAW)
    frames, cks = verify_batches([fb.batch([record])])
    _, tcp_row = _rows(frames, cks, 1)
    assert tcp_row["status"] == Status.BAD
    assert tcp_row["cause"] == Cause.OFF_BY_ONE
    assert (tcp_row["value"], tcp_row["expected"]) == (0x0301, 0x0302)
    assert frames[0]["tcp_mss"] == 1405
    assert frames[0]["l2_len"] == 0 and frames[0]["ip_version"] == 4


def test_vxlan_inner_flow_and_rows_in_dissection_order() -> None:
    inner = fb.ipv4(fb.tcp(fb.V4_B, fb.V4_A, b"inner", sport=80, dport=40000, checksum=0x1234))
    outer = fb.udp(fb.V4_A, fb.V4_B, fb.vxlan(fb.ethernet(inner)), sport=50000, dport=4789)
    data = fb.ethernet(fb.ipv4(outer, proto=17))
    frames, cks = verify_batches([fb.batch([fb.record(data)])])
    rows = _rows(frames, cks, 1)
    assert [(int(r["proto"]), int(r["depth"])) for r in rows] == [
        (Proto.IPV4, 0),
        (Proto.UDP, 0),
        (Proto.IPV4, 1),
        (Proto.TCP, 0),
    ]
    assert rows[3]["status"] == Status.BAD and rows[3]["cause"] == Cause.CORRUPT
    frame = frames[0]
    assert frame["tunnel_depth"] == 1
    assert (frame["sport"], frame["dport"]) == (80, 40000)
    assert frame["outer_ip_len"] == 20 + len(outer)
    assert frame["l4_payload_len"] == 5


def test_srh_final_destination_is_noted() -> None:
    segments = [fb.V6_B, bytes.fromhex("20010db80000000000000000000000ff")]
    srh = fb.routing(6, 4, 1, segments)
    upper = fb.tcp(fb.V6_A, segments[1], b"sr", final_dst=fb.V6_B)
    data = fb.ethernet(fb.ipv6(srh + upper, next_header=43, dst=segments[1]), 0x86DD)
    frames, cks = verify_batches([fb.batch([fb.record(data)])])
    (tcp_row,) = _rows(frames, cks, 1)
    assert tcp_row["status"] == Status.GOOD
    assert tcp_row["note"] & 4  # Note.FINAL_DESTINATION
    assert frames[0]["flags"] & FrameFlag.SRH
    assert frames[0]["ip_hdr_len"] == 40 + len(srh)


def _mixed_records() -> list:
    payload = bytes(range(200))
    recs = []
    for i in range(60):
        kind = i % 6
        if kind == 0:
            data = fb.ethernet(fb.ipv4(fb.tcp(fb.V4_A, fb.V4_B, payload[: i * 3])))
        elif kind == 1:
            data = fb.ethernet(fb.ipv6(fb.udp(fb.V6_A, fb.V6_B, payload), next_header=17), 0x86DD)
        elif kind == 2:
            data = fb.ethernet(fb.ipv4(fb.ipv4(fb.icmp_echo(seq=i), proto=1), proto=4))
        elif kind == 3:
            # A first fragment: the reference path verifies it.
            data = fb.ethernet(
                fb.ipv4(fb.udp(fb.V4_A, fb.V4_B, payload)[:64], proto=17, flags=0x1, ident=i)
            )
        elif kind == 4:
            data = fb.ethernet(
                fb.ipv4(fb.gre(fb.ipv4(fb.igmp(), proto=2), checksum=True), proto=47), vlans=[7]
            )
        else:
            data = fb.ethernet(struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + bytes(20), 0x0806)
        recs.append(fb.record(data, i + 1))
    return recs


def test_threads_and_a_short_checksum_buffer_change_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    recs = _mixed_records()
    batches = [fb.batch(recs[:25], 1), fb.batch(recs[25:], 26)]
    serial = verify_batches(batches)
    # Every batch on worker threads, and a checksum buffer so small the kernel resumes.
    monkeypatch.setattr(fast_verify, "PARALLEL_MIN_FRAMES", 1)
    monkeypatch.setattr(fast_verify, "ROWS_PER_FRAME_GUESS", 0)
    monkeypatch.setattr(fast_verify, "_threads", lambda: 2)
    threaded, ref = both_paths(batches)
    assert not differences(threaded, ref)
    assert not differences(threaded, serial)
    assert np.array_equal(threaded[0]["cksum_row"][1:], np.cumsum(threaded[0]["n_cksum"])[:-1])


def test_a_sink_gets_the_rows_of_the_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    # The kernel numbers the checksum rows it writes (frame, capture) for a sink, in every
    # chunk and after every resume of a buffer so short it runs out: the rows the sink gets
    # are the tables' rows, and so are the frames (but for `cksum_row`, which it never reads).
    recs = _mixed_records()
    batches = [fb.batch(recs[:25], 1), fb.batch(recs[25:], 26)]
    frames, cks = verify_batches(batches, capture_index=3)
    monkeypatch.setattr(fast_verify, "PARALLEL_MIN_FRAMES", 1)
    monkeypatch.setattr(fast_verify, "ROWS_PER_FRAME_GUESS", 0)
    monkeypatch.setattr(fast_verify, "_threads", lambda: 2)
    got: list[tuple[np.ndarray, np.ndarray]] = []

    def sink(f: np.ndarray, c: np.ndarray, bytes_read: int) -> None:
        got.append((f.copy(), c.copy()))

    empty = verify_batches(batches, capture_index=3, sink=sink)
    assert [len(t) for t in empty] == [0, 0]
    sunk_frames = np.concatenate([f for f, _ in got])
    sunk_cks = np.concatenate([c for _, c in got])
    assert len(got) == 2 and len(sunk_frames) == len(frames) == len(recs)
    assert sunk_cks.tolist() == cks.tolist()
    assert set(sunk_cks["capture"].tolist()) == {3}
    others = [n for n in FRAME_DTYPE.names if n != "cksum_row"]
    assert sunk_frames[others].tolist() == frames[others].tolist()
    for f, c in got:
        assert set(c["frame"].tolist()) <= set(f["frame"].tolist())


def test_empty_input_gives_empty_tables() -> None:
    frames, cks = verify_batches([])
    assert frames.dtype == FRAME_DTYPE and frames.shape == (0,)
    assert cks.dtype == CHECKSUM_DTYPE and cks.shape == (0,)


@pytest.mark.parametrize("kind", [1, 2, 3, 4, 5, 11, 12, 128])
def test_icmp_errors_are_told_by_protocol_not_by_ip_version(kind: int) -> None:
    # ICMPv6 carried over IPv4 and ICMP over IPv6 (both seen on broken translators): whether a
    # message quotes a datagram follows its own type numbers. The kernel once judged them by
    # the IP version and verified as plain messages errors the reference walks into.
    quoted4 = fb.ipv4(fb.udp(fb.V4_A, fb.V4_B, b"hello"), proto=17)
    quoted6 = fb.ipv6(fb.udp(fb.V6_A, fb.V6_B, b"hello"), next_header=17)
    data = []
    for quoted in (quoted4, quoted6):
        v6_in_v4 = fb.icmpv6(fb.V4_A, fb.V4_B, kind=kind, rest=0, payload=quoted)
        data.append(fb.ethernet(fb.ipv4(v6_in_v4, proto=58)))
        v4_in_v6 = fb.icmp(kind, 0, 0, quoted)
        data.append(fb.ethernet(fb.ipv6(v4_in_v6, next_header=1), ethertype=0x86DD))
    fast, ref = both_paths([fb.batch([fb.record(d, i + 1) for i, d in enumerate(data)])])
    assert differences(fast, ref) == []
    # The ICMPv6 destination-unreachable over IPv4 quotes its datagram: rows for it exist.
    if kind == 1:
        first = ref[1][ref[1]["frame"] == 1]
        assert first.shape[0] > 2
