"""TCP flow checks over hand-built tables: SYN-ACK mismatch, retransmissions, dup ACKs, zero
windows and the full-size-segment stall, each with a good and a bad example."""

from __future__ import annotations

import pytest

from checks.tablekit import ACK, FIN, PSH, SYN, by_symbol, handshake, make_tables, tcp
from wiredoctor.capture.record import LinkType
from wiredoctor.checks.run import CheckOptions, run_checks
from wiredoctor.checksum.verdict import Cause, Proto, Status
from wiredoctor.tables import FrameFlag

C, S = "10.0.0.240", "10.0.41.3"


def found(rows, checksums=(), **kw):
    return by_symbol(run_checks(make_tables(rows, list(checksums), **kw), CheckOptions()))


def test_clean_handshake_has_no_tcp_findings() -> None:
    rows = handshake(C, S, 56791, 22, 2650163743, 1530502549)
    assert found(rows) == {}


def test_seed_000_syn_ack_acks_something_else() -> None:
    rows = [
        tcp(C, S, 56791, 22, 2650163743, 0, SYN),
        tcp(S, C, 22, 56791, 1530502549, 3098447117, SYN | ACK),
    ]
    f = found(rows)["syn-ack-mismatch"]
    assert f.code == "WD201"
    (pair,) = f.facts["pairs"]
    assert pair["syn_seq"] == 2650163743
    assert pair["expected_ack"] == 2650163744
    assert pair["ack"] == 3098447117
    assert pair["client"] == f"{C}:56791" and pair["server"] == f"{S}:22"
    assert pair["acks_earlier_syn"] is None
    assert f.evidence.frames == (1, 2)


def test_fast_open_syn_with_data_is_not_a_mismatch() -> None:
    rows = [
        tcp(C, S, 40000, 443, 1000, 0, SYN, payload=100),
        tcp(S, C, 443, 40000, 7000, 1101, SYN | ACK),
    ]
    assert "syn-ack-mismatch" not in found(rows)


def test_syn_ack_for_an_earlier_syn_is_named() -> None:
    rows = [
        tcp(C, S, 40000, 80, 1000, 0, SYN, ts_ms=0),
        tcp(C, S, 40000, 80, 9000, 0, SYN, ts_ms=3000),
        tcp(S, C, 80, 40000, 7000, 1001, SYN | ACK, ts_ms=3001),
    ]
    (pair,) = found(rows)["syn-ack-mismatch"].facts["pairs"]
    assert pair["syn_frame"] == 2 and pair["expected_ack"] == 9001
    assert pair["acks_earlier_syn"] == 1


def _seed_002(text_flags: bool):
    """The Wireshark list of seed 002 (relative numbers, no bytes)."""
    cli, srv = "192.168.252.3", "192.168.4.9"
    a, b = (cli, srv, 41967, 23899), (srv, cli, 23899, 41967)
    spec = [
        (1, 0.000000, a, 0, 0, SYN, 0),
        (2, 0.000034, b, 0, 1, SYN | ACK, 0),
        (3, 0.000697, a, 1, 1, ACK, 0),
        (4, 5.652282, a, 1, 1, FIN | ACK, 0),
        (5, 5.652344, b, 1, 2, FIN | ACK, 0),
        (6, 5.863070, b, 1, 2, FIN | ACK, FrameFlag.TEXT_RETRANSMISSION),
        (7, 5.869813, a, 1, 1, FIN | ACK, FrameFlag.TEXT_RETRANSMISSION),
        (8, 5.869825, b, 2, 2, ACK, FrameFlag.TEXT_DUP_ACK),
        (9, 6.083882, b, 1, 2, FIN | ACK, FrameFlag.TEXT_RETRANSMISSION),
        (12, 6.513879, b, 1, 2, FIN | ACK, FrameFlag.TEXT_RETRANSMISSION),
        (13, 7.413872, b, 1, 2, FIN | ACK, FrameFlag.TEXT_RETRANSMISSION),
    ]
    rows = []
    for frame, t, ends, seq, ack, flags, text in spec:
        marks = FrameFlag.TEXT_FIELDS | (text if text_flags else 0)
        rows.append(
            tcp(*ends, seq, ack, flags, win=65535, frame=frame, ts_ms=t * 1000,
                frame_flags=int(marks), linktype=LinkType.TEXT_FIELDS, tcp_hdr_len=32)
        )  # fmt: skip
    return rows


@pytest.mark.parametrize("text_flags", [True, False])
def test_seed_002_fin_retransmissions_with_backoff(text_flags: bool) -> None:
    out = found(_seed_002(text_flags))
    f = out["tcp-retransmissions"]
    assert f.facts["count"] == 5
    assert (f.facts["fin"], f.facts["data"], f.facts["syn"], f.facts["rst"]) == (5, 0, 0, 0)
    # The server's FIN (seq 1) is never acknowledged by the client; the client's is.
    assert f.facts["unanswered_fin"] == 1
    assert f.facts["intervals_ms"] == pytest.approx([210.726, 220.812, 429.997, 899.993])
    assert f.facts["exponential_backoff"] is True
    assert f.facts["segment_frames"] == [5, 6, 9, 12, 13]
    assert set(f.evidence.frames) == {4, 5, 6, 7, 9, 12, 13}
    assert out["tcp-dup-acks"].evidence.frames == (8,)


def _transfer(lost_forever: bool):
    rows = handshake(C, S, 40000, 80, 100, 900)
    rows += [
        tcp(C, S, 40000, 80, 101, 901, ACK | PSH, payload=100, ts_ms=10),
        tcp(S, C, 80, 40000, 901, 201, ACK, ts_ms=11),
    ]
    # Three full-size segments sent, then the first resent with backoff.
    for i in range(3):
        rows.append(tcp(C, S, 40000, 80, 201 + 1460 * i, 901, ACK, payload=1460, ts_ms=20 + i))
    for k, t in enumerate((220, 620, 1420)):
        rows.append(tcp(C, S, 40000, 80, 201, 901, ACK, payload=1460, ts_ms=t))
        if not lost_forever and k == 0:
            rows.append(tcp(S, C, 80, 40000, 901, 201 + 3 * 1460, ACK, ts_ms=t + 1))
            break
    return rows


def test_full_size_segments_stall_while_small_ones_pass() -> None:
    out = found(_transfer(lost_forever=True))
    stall = out["full-size-segment-stall"]
    assert stall.code == "WD205"
    assert stall.facts["threshold"] == 140
    assert stall.facts["stalled_len"] == 1500
    assert stall.facts["too_big_seen"] is False
    (flow,) = stall.facts["flows"]
    assert flow["retransmissions"] == 3 and flow["frames"] == [9, 10, 11]
    retrans = out["tcp-retransmissions"]
    assert retrans.facts["data"] == 3
    assert retrans.facts["intervals_ms"] == [200.0, 400.0, 800.0]
    assert retrans.facts["exponential_backoff"] is True


def test_one_lost_segment_recovered_is_not_a_stall() -> None:
    out = found(_transfer(lost_forever=False))
    assert "full-size-segment-stall" not in out
    assert out["tcp-retransmissions"].facts["count"] == 1


def test_keepalive_is_not_a_retransmission() -> None:
    rows = handshake(C, S, 40000, 80, 100, 900)
    rows.append(tcp(C, S, 40000, 80, 100, 901, ACK, payload=0, ts_ms=60000))
    rows.append(tcp(C, S, 40000, 80, 100, 901, ACK, payload=1, ts_ms=120000))
    assert "tcp-retransmissions" not in found(rows)


def test_retransmission_of_a_segment_with_bad_checksum() -> None:
    rows = handshake(C, S, 40000, 80, 100, 900)
    rows.append(tcp(C, S, 40000, 80, 101, 901, ACK, payload=500, ts_ms=10))
    rows.append(tcp(C, S, 40000, 80, 101, 901, ACK, payload=500, ts_ms=210))
    bad = {"frame": 4, "proto": Proto.TCP, "status": Status.BAD, "cause": Cause.CORRUPT,
           "value": 1, "expected": 7}  # fmt: skip
    f = found(rows, [bad])["tcp-retransmissions"]
    assert f.facts["bad_checksum"] == 1
    assert f.facts["bad_checksum_causes"] == {"corrupt": 1}
    assert f.evidence.frames == (4, 5)


def test_rst_sent_twice_counts_as_rst_retransmission() -> None:
    rows = handshake(C, S, 40000, 80, 100, 900)
    rows.append(tcp(S, C, 80, 40000, 901, 0, 4, ts_ms=10))
    rows.append(tcp(S, C, 80, 40000, 901, 0, 4, ts_ms=20))
    f = found(rows)["tcp-retransmissions"]
    assert f.facts["rst"] == 1 and f.evidence.frames == (4, 5)


def test_zero_window_and_dup_acks() -> None:
    rows = handshake(C, S, 40000, 80, 100, 900)
    rows += [
        tcp(S, C, 80, 40000, 901, 101, ACK, win=0, ts_ms=10),
        tcp(S, C, 80, 40000, 901, 101, ACK, win=512, ts_ms=11),
        tcp(S, C, 80, 40000, 901, 101, ACK, win=512, ts_ms=12),
    ]
    out = found(rows)
    assert out["tcp-zero-window"].evidence.frames == (4,)
    assert out["tcp-dup-acks"].evidence.frames == (6,)


def test_sequence_wraparound_is_not_a_retransmission() -> None:
    rows = handshake(C, S, 40000, 80, 2**32 - 600, 900)
    seq = 2**32 - 599
    for i in range(4):
        rows.append(
            tcp(C, S, 40000, 80, (seq + 500 * i) % 2**32, 901, ACK, payload=500, ts_ms=10 + i)
        )
    assert "tcp-retransmissions" not in found(rows)


def test_text_windows_are_not_read_as_zero() -> None:
    # Wireshark prints scaled windows (Win=65536) that wrap to 0 in the 16-bit column.
    rows = _seed_002(text_flags=True)
    for row in rows:
        row["tcp_win"] = 0
    assert "tcp-zero-window" not in found(rows)


def test_text_records_are_not_snaplen_truncated() -> None:
    rows = _seed_002(text_flags=True)
    for row in rows:
        row["caplen"], row["wirelen"] = 0, 66
        row["frame_flags"] |= int(FrameFlag.SNAPLEN)
    assert "snaplen-truncated" not in found(rows)


def test_one_direction_of_pure_acks_has_no_dup_acks() -> None:
    # Only the receiver's side was captured: its acks advance, nothing repeats.
    rows = [tcp(S, C, 80, 40000, 901, 1000 + 1448 * i, ACK, ts_ms=i) for i in range(50)]
    assert "tcp-dup-acks" not in found(rows)


def test_one_direction_repeated_ack_is_a_dup_ack() -> None:
    rows = [tcp(S, C, 80, 40000, 901, 1000 + 1448 * i, ACK, ts_ms=i) for i in range(5)]
    rows.append(tcp(S, C, 80, 40000, 901, 1000 + 1448 * 4, ACK, ts_ms=6))
    # A segment without the ACK flag has no ack number: its successor is no repeat.
    rows.append(tcp(S, C, 80, 40000, 901, 0, 0, ts_ms=7))
    rows.append(tcp(S, C, 80, 40000, 901, 0, ACK, ts_ms=8))
    assert found(rows)["tcp-dup-acks"].evidence.frames == (6,)
