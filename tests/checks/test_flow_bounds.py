"""The compiled TCP view keeps rows for what the checks read of single segments, not for
every segment: a bulk transfer leaves no rows at all; a retransmission's original is found
in a bounded ring of recent data segments and written then (one that fell out of the ring
is reported without it), also when it came batches before; the largest acknowledged
segment of each flow is answered from a staircase of at most four points per flow plus the
rows beyond it, equal to what the numpy view computes over every segment; acks set aside
for a flow whose opposite direction comes later fold to two per flow; and flows opened
while the pass looks ahead, or past the size of its tables, change nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from checks.tcpframes import tcp_frame, write_pcap
from checks.test_plain_passes import assert_same_view
from wiredoctor.checks import tcpflows
from wiredoctor.checks.options import CheckOptions
from wiredoctor.checks.run import run_checks
from wiredoctor.checks.tcp import _originals
from wiredoctor.checks.tcpflows import StreamedView, TcpView, build_view, retransmitted
from wiredoctor.pipeline import load_capture, stream_capture
from wiredoctor.tables import FrameTable

CLIENT, SERVER = 0x0A000001, 0x0A000002
CS, SS = 1_000_000, 7_000_000


def _transfer(sizes: list[int], acked_through: int, resend: tuple[int, ...] = ()) -> list[bytes]:
    """The client sends one data segment of each size, the server acknowledges every second
    one, and the first `acked_through` in all but never more, then the client resends the
    segments numbered in `resend`."""
    frames, starts, seq = [], [], CS
    for k, size in enumerate(sizes):
        starts.append(seq)
        data = bytes([k % 251]) * size
        frames.append(tcp_frame(CLIENT, SERVER, 40000, 80, seq, SS, 0x18, 64240, data))
        seq += size
        if k % 2 and k < acked_through:
            frames.append(tcp_frame(SERVER, CLIENT, 80, 40000, SS, seq, 0x10, 65535, b""))
    if acked_through % 2:  # the last acknowledged segment was not acknowledged in the loop
        ack = starts[acked_through - 1] + sizes[acked_through - 1]
        frames.append(tcp_frame(SERVER, CLIENT, 80, 40000, SS, ack, 0x10, 65535, b""))
    for k in resend:
        data = bytes([k % 251]) * sizes[k]
        frames.append(tcp_frame(CLIENT, SERVER, 40000, 80, starts[k], SS, 0x18, 64240, data))
    return frames


def _frames(tmp_path: Path, frames: list[bytes]) -> FrameTable:
    path = tmp_path / "flow.pcap"
    write_pcap(path, frames)
    table: FrameTable = load_capture(str(path)).frames
    return table


def _views(frames: FrameTable) -> tuple[TcpView, TcpView]:
    counted = np.ones(len(frames), dtype=bool)
    return build_view(frames, counted, compiled=True), build_view(frames, counted, compiled=False)


def test_a_bulk_transfer_leaves_no_rows(tmp_path: Path) -> None:
    frames = _frames(tmp_path, _transfer([1000] * 3000, acked_through=3000))
    kernel, plain = _views(frames)
    assert kernel.rows.size == 0
    assert plain.rows.size == len(frames) == 3000 + 1500
    assert kernel.n_flows == plain.n_flows == 2
    # The client's segments (IP length 1040) were acknowledged; the server sent none.
    assert sorted(kernel.through.tolist()) == sorted(plain.through.tolist()) == [-1, 1040]


@pytest.mark.parametrize("acked", [7, 10, 0])
def test_the_largest_acknowledged_segment_past_four_steps(tmp_path: Path, acked: int) -> None:
    sizes = [100 * (k + 1) for k in range(10)]  # each larger and later: no step hides another
    kernel, plain = _views(_frames(tmp_path, _transfer(sizes, acked_through=acked)))
    assert np.array_equal(kernel.through, plain.through)
    want = 40 + sizes[acked - 1] if acked else -1
    assert kernel.through.max() == want
    # Four points fit the client's staircase; the other six segments were kept as rows.
    assert kernel.rows.size == 6
    assert np.array_equal(kernel.rows, plain.rows[plain.seg_len > 0][4:])


def test_originals_are_written_when_their_retransmission_comes(tmp_path: Path) -> None:
    frames = _frames(tmp_path, _transfer([500] * 2000, acked_through=1990, resend=(5, 1995)))
    kernel, plain = _views(frames)
    for view in (kernel, plain):
        again = np.flatnonzero(retransmitted(view, _Ctx()))
        first = _originals(view)[again]
        assert view.frame[again].tolist() == [len(frames) - 1, len(frames)]
        # Frame numbers of the two originals: segment 5 and segment 1995, each after the
        # acks sent before it (one per two segments).
        assert view.frame[first].tolist() == [5 + 1 + 2, 1995 + 1 + 995]
    assert kernel.rows.size == 4


def test_an_original_out_of_the_ring_is_reported_without_it(tmp_path: Path) -> None:
    frames = _frames(tmp_path, _transfer([500] * 2000, acked_through=1990, resend=(5, 1995)))
    small = StreamedView(frames_hint=64)  # a ring of 64: segment 5 is long gone
    small.add(np.ascontiguousarray(frames), np.ones(len(frames), dtype=bool), 0)
    view = small.finish()
    again = np.flatnonzero(retransmitted(view, _Ctx()))
    first = _originals(view)[again]
    assert view.frame[again].tolist() == [len(frames) - 1, len(frames)]
    assert view.frame[first].tolist() == [len(frames) - 1, 1995 + 1 + 995]
    assert view.rows.size == 3


class _Ctx:
    """The one thing `retransmitted` asks of a context: a cache."""

    def __init__(self) -> None:
        self.cache: dict[str, object] = {}


def test_acks_set_aside_fold_to_two_per_flow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The client's direction alone for a while (its acks wait for the server's first
    sequence number), then the server's: folded or not, the server's data counts as
    acknowledged up to the client's highest ack."""
    frames = [
        tcp_frame(CLIENT, SERVER, 40000, 80, CS + 100 * k, SS + 10 * k, 0x18, 64240, b"c" * 100)
        for k in range(1000)
    ]
    frames.append(tcp_frame(SERVER, CLIENT, 80, 40000, SS, CS, 0x18, 65535, b"s" * 1400))
    frames.append(tcp_frame(SERVER, CLIENT, 80, 40000, SS + 9990, CS, 0x11, 65535, b""))
    table = _frames(tmp_path, frames)
    kernel, plain = _views(table)
    monkeypatch.setattr(tcpflows, "PENDING", 64)
    folded, _ = _views(table)
    for view in (kernel, plain, folded):
        server = int(view.flow[view.frame == len(frames)][0])
        assert view.peer_ack[server] == 10 * 999  # up to the FIN (at 9990), not past it
        assert view.through[server] == 1440
    assert np.array_equal(folded.peer_ack, plain.peer_ack)


def test_streamed_in_small_windows_originals_come_from_earlier_batches(tmp_path: Path) -> None:
    path = tmp_path / "resent.pcap"
    write_pcap(path, _transfer([500] * 2000, acked_through=1990, resend=(5, 1995)))
    whole = load_capture(str(path))
    kept = stream_capture(str(path), CheckOptions(), window_bytes=16 << 10)  # ~29 frames each
    assert kept is not None and not kept.complete
    want = [f.to_json() for f in run_checks(whole)]
    assert [f.to_json() for f in run_checks(kept)] == want
    (found,) = [f for f in run_checks(kept) if f.symbol == "tcp-retransmissions"]
    # Both originals, from batches long before, are in the evidence.
    assert {5 + 1 + 2, 1995 + 1 + 995} <= set(found.evidence.frames)


def test_flows_opened_ahead_and_past_the_tables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each client opens its flow with a data segment and its server answers three flows
    later, inside the window the pass hashes ahead (`flowstream.AHEAD` frames), so a slot
    looked at ahead is still empty when the lookahead reads it; with per-flow tables of 64
    the pass stops and grows them five times within the one batch."""
    frames = []
    for k in range(600):
        port = 20000 + k
        frames.append(tcp_frame(CLIENT, SERVER, port, 80, CS + k, SS + k, 0x18, 64240, b"q"))
        if k >= 3:
            back = port - 3
            frames.append(tcp_frame(SERVER, CLIENT, 80, back, SS + k - 3, CS + k - 2, 0x10, 9, b""))
        if k % 50 == 49:  # a retransmission now and then
            frames.append(tcp_frame(CLIENT, SERVER, port, 80, CS + k, SS + k, 0x18, 64240, b"q"))
    table = _frames(tmp_path, frames)
    monkeypatch.setattr(tcpflows, "FIRST_FLOWS", 64)
    kernel, plain = _views(table)
    assert kernel.n_flows == plain.n_flows == 600 + 597
    assert_same_view(kernel, plain)
    # Every flow but the last three clients' found its opposite direction.
    assert int((kernel.reverse >= 0).sum()) == 2 * 597
    assert kernel.rows.size > 0
