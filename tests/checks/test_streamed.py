"""`check` streams a capture through its checks (keeping only the rows they read) and finds
exactly what it finds on whole tables: same findings, facts, evidence and diagnoses, same
frame and checksum counts, on every capture of the shared corpus (read in small windows too,
so flow state crosses many batches) and on a generated capture with more flows than the
first flow table holds. Linux cooked captures, whose duplicate sightings need whole
tables, are read into tables instead."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from checks.tcpframes import tcp_frame, write_pcap
from wiredoctor.analysis import analyse
from wiredoctor.checks import tcpflows
from wiredoctor.checks.options import CheckOptions
from wiredoctor.checks.run import run_checks
from wiredoctor.checksum.verdict import Status
from wiredoctor.decode.fnv import payload_hash
from wiredoctor.diagnose.engine import diagnose
from wiredoctor.errors import WiredoctorError
from wiredoctor.pipeline import load_capture, stream_capture
from wiredoctor.tables import CaptureTables

PCAPS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus" / "pcaps"
OPTIONS = (CheckOptions(), CheckOptions(mtu=1400, flow_limit=3, sample_limit=2))


def _same(whole: CaptureTables, kept: CaptureTables, options: CheckOptions) -> None:
    assert whole.complete and not kept.complete
    want = run_checks(whole, options)
    got = run_checks(kept, options)
    assert [f.to_json() for f in got] == [f.to_json() for f in want]
    got_d = [d.to_json() for d in diagnose(got, [kept], None)]
    assert got_d == [d.to_json() for d in diagnose(want, [whole], None)]
    assert kept.n_frames == whole.n_frames == len(whole.frames)
    assert kept.status_counts(len(Status)).tolist() == whole.status_counts(len(Status)).tolist()
    assert kept.linktypes == whole.linktypes
    assert kept.warnings == whole.warnings
    # What was kept is what the checks read, not the capture.
    assert len(kept.frames) <= len(whole.frames)


@pytest.mark.corpus
@pytest.mark.parametrize("window", [None, 64 << 10])
def test_streamed_checks_equal_whole_tables_on_the_corpus(window: int | None) -> None:
    if not PCAPS.is_dir():
        pytest.skip(f"shared corpus not found at {PCAPS}")
    compared = cooked = 0
    for path in sorted(PCAPS.iterdir()):
        try:
            whole = load_capture(str(path))
        except WiredoctorError:
            continue  # unreadable on purpose (the corpus has some)
        for options in OPTIONS if window is None else OPTIONS[:1]:
            kept = stream_capture(str(path), options, window_bytes=window)
            if kept is None:
                cooked += whole.format != "text"
                continue
            _same(whole, kept, options)
            compared += 1
    assert compared >= 140 * (2 if window is None else 1), compared
    assert cooked >= 1  # the corpus has `tcpdump -i any` captures: they take tables


def _many_flows(path: Path, connections: int) -> None:
    """Connections from distinct ports: SYN, SYN-ACK (every 97th acking the wrong number),
    ACK, a data segment (every 13th sent again, every 29th acked twice with the same ack),
    and every 31st receiver advertising a zero window."""
    client, server = 0x0A000001, 0x0A000002
    frames: list[bytes] = []
    for c in range(connections):
        port = 1024 + c
        cs, ss = (c * 7919) & 0xFFFF_FFFF, (c * 104729 + 12345) & 0xFFFF_FFFF
        data = bytes([c % 251]) * 100
        frames.append(tcp_frame(client, server, port, 80, cs, 0, 0x02, 64240, b""))
        wrong = 5 if c % 97 == 0 else 1
        frames.append(tcp_frame(server, client, 80, port, ss, cs + wrong, 0x12, 65535, b""))
        frames.append(tcp_frame(client, server, port, 80, cs + 1, ss + 1, 0x10, 64240, b""))
        frames.append(tcp_frame(client, server, port, 80, cs + 1, ss + 1, 0x18, 64240, data))
        if c % 13 == 0:
            frames.append(tcp_frame(client, server, port, 80, cs + 1, ss + 1, 0x18, 64240, data))
        win = 0 if c % 31 == 0 else 65535
        frames.append(tcp_frame(server, client, 80, port, ss + 1, cs + 101, 0x10, win, b""))
        if c % 29 == 0:
            frames.append(tcp_frame(server, client, 80, port, ss + 1, cs + 101, 0x10, win, b""))
    head = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    records = [
        struct.pack("<IIII", 1_700_000_000 + i // 1000, (i % 1000) * 1000, len(f), len(f)) + f
        for i, f in enumerate(frames)
    ]
    path.write_bytes(head + b"".join(records))


@pytest.fixture(scope="module")
def many_flows(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("streamed") / "many-flows.pcap"
    _many_flows(path, 9000)  # 18,000 directional flows: more than FIRST_FLOWS
    return path


@pytest.mark.parametrize("window", [None, 256 << 10])
def test_streamed_checks_equal_whole_tables_with_many_flows(
    many_flows: Path, window: int | None
) -> None:
    whole = load_capture(str(many_flows))
    for options in OPTIONS:
        kept = stream_capture(str(many_flows), options, window_bytes=window)
        assert kept is not None
        _same(whole, kept, options)
        assert kept.prepared.view.n_flows == 18_000 > tcpflows.FIRST_FLOWS
    counts = {f.symbol: f.facts["count"] for f in run_checks(kept, OPTIONS[1])}
    assert counts == {
        "syn-ack-mismatch": 93,  # 9000 / 97, rounded up
        "tcp-retransmissions": 693,  # 9000 / 13, rounded up
        "tcp-dup-acks": 311,  # 9000 / 29, rounded up
        "tcp-zero-window": 291 + 11,  # 9000 / 31 rounded up, and the 11 multiples of 29 * 31
    }


def test_check_streams_large_captures_and_keeps_few_rows(many_flows: Path) -> None:
    result = analyse([str(many_flows)])
    (tables,) = result.captures
    assert not tables.complete
    assert tables.n_frames == 9000 * 5 + 693 + 311
    # Kept: the first frame of every flow; no checksum row is listed (all are good).
    assert len(tables.frames) == 18_000
    assert len(tables.checksums) == 0
    assert tables.status_counts(len(Status))[Status.GOOD] == 2 * tables.n_frames


def test_streamed_frames_carry_no_payload_hash(tmp_path: Path) -> None:
    """`check` streams without hashing payloads (its checks read the hashes only in Linux
    cooked captures, which are never streamed): a kept data frame has payload_hash 0 where
    the whole tables have the payload's hash, and the findings are the same."""
    frames = []
    for i in range(40):
        frame = tcp_frame(0x0A000001, 0x0A000002, 40000, 80, 1 + 100 * i, 1, 0x18, 512, b"y" * 100)
        if i == 7:  # a wrong TCP checksum: the frame is kept for the checksum checks
            frame = frame[:50] + bytes([frame[50] ^ 0x40]) + frame[51:]
        frames.append(frame)
    path = tmp_path / "hash.pcap"
    write_pcap(path, frames)
    whole = load_capture(str(path))
    kept = stream_capture(str(path), CheckOptions())
    assert kept is not None
    _same(whole, kept, CheckOptions())
    row = int(np.flatnonzero(kept.frames["frame"] == 8)[0])
    assert int(kept.frames["payload_hash"][row]) == 0
    assert int(whole.frames["payload_hash"][7]) == payload_hash(b"y" * 100) != 0
    assert int(whole.frames["l4_payload_len"][7]) == int(kept.frames["l4_payload_len"][row]) == 100


def _late_peers(path: Path, flows: int) -> None:
    """A capture started mid-connection: each client's pure ACK comes before anything of its
    server, so the ack is kept aside until the server's direction is seen. Even flows' ACK
    covers the server's FIN, which comes later (answered); odd flows' does not, and their
    FIN is sent again (unanswered)."""
    client, server = 0x0A000001, 0x0A000002
    frames: list[bytes] = []
    for c in range(flows):
        port = 2000 + c
        cs, ss = 1000 + c, 50_000 + 7 * c
        data = bytes([c % 251]) * 100
        covered = ss + 100 + 1 if c % 2 == 0 else ss + 100
        frames.append(tcp_frame(client, server, port, 80, cs, covered, 0x10, 64240, b""))
        frames.append(tcp_frame(server, client, 80, port, ss, cs, 0x18, 65535, data))
        frames.append(tcp_frame(server, client, 80, port, ss + 100, cs, 0x11, 65535, b""))
        if c % 2:
            frames.append(tcp_frame(server, client, 80, port, ss + 100, cs, 0x11, 65535, b""))
    head = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    records = [
        struct.pack("<IIII", 1_700_000_000, i * 1000, len(f), len(f)) + f
        for i, f in enumerate(frames)
    ]
    path.write_bytes(head + b"".join(records))


def test_acks_seen_before_their_peer_count_once_it_is_seen(tmp_path: Path) -> None:
    path = tmp_path / "late.pcap"
    _late_peers(path, 400)
    whole = load_capture(str(path))
    kept = stream_capture(str(path), CheckOptions(), window_bytes=16 << 10)
    assert kept is not None
    _same(whole, kept, CheckOptions())
    (found,) = [f for f in run_checks(kept) if f.symbol == "tcp-retransmissions"]
    assert (found.facts["count"], found.facts["fin"]) == (200, 200)
    assert found.facts["unanswered_fin"] == 200
    # The clients' pure ACKs and the servers' plain data were not kept as rows (the acks
    # were set aside, then counted): the FINs and their resends only.
    assert kept.prepared.view.rows.size == 400 + 200


def _cooked(path: Path, frames: int) -> None:
    """A Linux cooked (`tcpdump -i any`) capture over 1 MiB, each packet seen twice."""
    head = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 113)
    records = []
    for i in range(frames):
        eth = tcp_frame(0x0A000001, 0x0A000002, 40000, 80, 1000 + 500 * i, 1, 0x18, 512, b"x" * 500)
        for pkttype in (4, 0):  # sent by us, then to us on the other interface
            sll = struct.pack("!HHH8sH", pkttype, 1, 6, b"\x02" * 8, 0x0800)
            body = sll + eth[14:]
            records.append(struct.pack("<IIII", 1_700_000_000, i, len(body), len(body)) + body)
    path.write_bytes(head + b"".join(records))


def test_cooked_captures_are_checked_on_whole_tables(tmp_path: Path) -> None:
    path = tmp_path / "any.pcap"
    _cooked(path, 1200)
    assert path.stat().st_size > 1 << 20
    assert stream_capture(str(path), CheckOptions()) is None
    (tables,) = analyse([str(path)]).captures
    assert tables.complete
    assert tables.n_frames == 2400
    assert tables.warnings == []
