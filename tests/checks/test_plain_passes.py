"""The numpy table passes (`plainscan`, used for small captures) fill exactly what the numba
passes (`rowscan`, used for large ones) fill: every output array, count and returned value;
and the TCP flow view of the compiled pass (`flowstream`) is the numpy view without the rows
no check reads. On generated tables, on hypothesis tables with narrow value ranges (so
flows, duplicates and edge values collide), and on every capture of the shared corpus."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from checks.mixedtables import mixed_tables
from wiredoctor.capture.record import LinkType
from wiredoctor.checks import passes
from wiredoctor.checks.context import LINK_TABLE, NOTES_READ, build_context
from wiredoctor.checks.options import CheckOptions
from wiredoctor.checks.tcp import _originals
from wiredoctor.checks.tcpflows import FIN, RST, SYN, TcpView, build_view, tcp_view
from wiredoctor.pipeline import load_capture
from wiredoctor.tables import CaptureTables, FrameFlag, empty_checksums, empty_frames

PCAPS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus" / "pcaps"

Arrays = dict[str, Any]
SPEEDS = (True, False)


def assert_same(kernel: Arrays, plain: Arrays) -> None:
    assert kernel.keys() == plain.keys()
    for name, want in kernel.items():
        got = plain[name]
        if isinstance(want, np.ndarray):
            assert got.dtype == want.dtype, name
            assert np.array_equal(got, want), name
        else:
            assert got == want, name


def frame_outputs(frames: npt.NDArray[np.void], mtu: int, compiled: bool) -> Arrays:
    n = len(frames)
    direction = np.full(n, 99, dtype=np.uint8)
    header = np.full(n, -7, dtype=np.int64)
    lists = np.full((5, n), -7, dtype=np.int64)
    counts = np.full(5, -7, dtype=np.int64)
    seen = passes.frame_pass(
        frames, LINK_TABLE, mtu, direction, header, lists, counts, compiled=compiled
    )
    out: Arrays = {"seen": seen, "direction": direction, "header": header, "counts": counts}
    for k in range(5):
        out[f"list{k}"] = lists[k, : counts[k]]
    return out


def checksum_outputs(
    checksums: npt.NDArray[np.void], n_frames: int, mask: int, compiled: bool
) -> Arrays:
    row_of = np.full(len(checksums), -7, dtype=np.int64)
    listed = np.full(len(checksums), -7, dtype=np.int64)
    tally = np.arange(5, dtype=np.int64)  # added to, not overwritten
    m = passes.checksum_pass(checksums, n_frames, mask, row_of, listed, tally, compiled=compiled)
    return {"m": m, "row_of": row_of, "listed": listed[:m], "tally": tally}


_PER_FLOW = ("n_flows", "reverse", "seq0", "flow_row", "peer_ack", "through")


def assert_same_view(kernel: TcpView, plain: TcpView) -> None:
    """The compiled view is the numpy view without the rows no check reads: every per-flow
    value equal, every row it keeps equal, every row it leaves out either a segment
    without sequence space, RST, repeated ACK, zero window or text marks, or a plain data
    segment (no SYN, FIN or RST, a window, no text marks, ending past all the flow sent
    before), and every retransmission's original kept."""
    assert_same(
        {name: getattr(kernel, name) for name in _PER_FLOW},
        {name: getattr(plain, name) for name in _PER_FLOW},
    )
    at = np.searchsorted(plain.rows, kernel.rows)
    assert np.array_equal(plain.rows[np.minimum(at, max(len(plain.rows) - 1, 0))], kernel.rows)
    per_row = [f.name for f in fields(TcpView) if f.name not in _PER_FLOW]
    assert_same(
        {name: getattr(kernel, name) for name in per_row},
        {name: getattr(plain, name)[at] for name in per_row},
    )
    left = np.ones(len(plain.rows), dtype=bool)
    left[at] = False
    text = FrameFlag.TEXT_FIELDS | FrameFlag.TEXT_RETRANSMISSION | FrameFlag.TEXT_DUP_ACK
    quiet = (plain.win != 0) & ((plain.frame_flags & text) == 0)
    quiet &= (plain.flags & (SYN | FIN | RST)) == 0
    pure = (plain.seg_len == 0) & ~plain.repeats_ack
    data = (plain.seg_len > 0) & (plain.seq + plain.seg_len > plain.prev_max_end)
    assert (quiet & (pure | data))[left].all()
    resent = (plain.seg_len > 0) & (plain.seq + plain.seg_len <= plain.prev_max_end)
    assert not left[_originals(plain)[resent]].any()


def views(frames: npt.NDArray[np.void], counted: Any) -> tuple[TcpView, TcpView]:
    """(compiled view, numpy view) of one table."""
    return build_view(frames, counted, compiled=True), build_view(frames, counted, compiled=False)


def context_and_view(
    tables: CaptureTables, options: CheckOptions, kernel_rows: int, monkeypatch: Any
) -> Arrays:
    monkeypatch.setattr(passes, "KERNEL_ROWS", kernel_rows)
    ctx = build_context(tables, options)
    view = tcp_view(ctx)
    out: Arrays = {}
    for f in fields(ctx):
        value = getattr(ctx, f.name)
        if isinstance(value, np.ndarray) and f.name not in ("frames", "checksums"):
            out[f"ctx.{f.name}"] = value
    out["view"] = view
    return out


def compare_all(tables: CaptureTables, seed: int) -> None:
    frames, checksums = tables.frames, tables.checksums
    for mtu in (1500, 1400, 0):
        assert_same(*(frame_outputs(frames, mtu, c) for c in SPEEDS))
    for mask in (NOTES_READ, 0, 0xFF):
        for n_frames in (len(frames), 0, max(len(frames) // 2, 1)):
            assert_same(*(checksum_outputs(checksums, n_frames, mask, c) for c in SPEEDS))
    rng = np.random.default_rng(seed)
    for counted in (np.ones(len(frames), dtype=bool), rng.random(len(frames)) < 0.8):
        assert_same_view(*views(frames, counted))


def compare_context(tables: CaptureTables, monkeypatch: Any) -> None:
    for options in (CheckOptions(), CheckOptions(mtu=1400)):
        kernel = context_and_view(tables, options, 0, monkeypatch)
        plain = context_and_view(tables, options, 1 << 62, monkeypatch)
        assert_same_view(kernel.pop("view"), plain.pop("view"))
        assert_same(kernel, plain)


@pytest.mark.parametrize("seed", range(3))
def test_generated_tables(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    tables = mixed_tables(seed, n=3000)
    compare_all(tables, seed)
    compare_context(tables, monkeypatch)
    # The generated table reaches every list and the `seen` bits of SLL rows with IP and of
    # mixed link types, so equality means much.
    out = frame_outputs(tables.frames, 1500, False)
    assert all(len(out[f"list{k}"]) for k in range(5)) and out["seen"] == 2 | 4


def test_text_rows_flagged_duplicates_and_gapped_frames(monkeypatch: pytest.MonkeyPatch) -> None:
    tables = mixed_tables(11, n=800)
    f = tables.frames
    f["linktype"][::7] = LinkType.TEXT_FIELDS
    f["flags"][::7] |= np.uint32(FrameFlag.TEXT_FIELDS)
    f["wirelen"][::14] = 10  # shorter than the IP length text stated
    f["flags"][5::50] |= np.uint32(FrameFlag.DUPLICATE_SLL)
    f["frame"] = np.arange(1, len(f) + 1) * 2  # numbers with gaps
    compare_all(tables, 11)
    compare_context(tables, monkeypatch)
    assert frame_outputs(f, 1500, True)["seen"] == 1 | 2 | 4


@pytest.mark.parametrize("compiled", SPEEDS)
def test_seen_link_types_and_status_tally(compiled: bool) -> None:
    """Bit 2 of `seen` says the rows are of more than one link type; the checksum pass adds
    every row to the tally of its status (what a streamed capture reports per status)."""
    tables = mixed_tables(5, n=400)
    frames, checksums = tables.frames.copy(), tables.checksums
    frames["linktype"] = LinkType.ETHERNET
    assert frame_outputs(frames, 1500, compiled)["seen"] & 4 == 0
    frames["linktype"][-1] = LinkType.RAW
    assert frame_outputs(frames, 1500, compiled)["seen"] & 4 == 4
    frames["linktype"][-1] = LinkType.ETHERNET
    frames["linktype"][0] = LinkType.RAW
    assert frame_outputs(frames, 1500, compiled)["seen"] & 4 == 4
    assert frame_outputs(frames[:0], 1500, compiled)["seen"] == 0
    tally = checksum_outputs(checksums, len(frames), NOTES_READ, compiled)["tally"]
    status = checksums["status"]
    assert len(set(status.tolist())) >= 3
    want = np.arange(5) + np.bincount(status, minlength=5)
    assert tally.tolist() == want.tolist()


@st.composite
def narrow_tables(draw: st.DrawFn) -> CaptureTables:
    """Tables whose columns take few values (colliding flows, repeats) plus extreme ones."""
    n = draw(st.integers(0, 60))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    f = empty_frames(n)
    f["frame"] = np.arange(1, n + 1)
    f["linktype"] = rng.choice([0, 1, 1, 101, 113, 276, LinkType.TEXT_FIELDS, 65535], n)
    f["sll_pkttype"] = rng.choice([-128, -1, 0, 3, 4, 5, 127], n)
    f["direction"] = rng.integers(0, 3, n)
    f["vlan_depth"] = rng.choice([0, 1, 255], n)
    f["wirelen"] = rng.choice([0, 60, 1514, 1518, 2**32 - 1], n)
    f["ip_len"] = rng.choice([0, 40, 1500, 2**32 - 1], n)
    f["ip_version"] = rng.choice([0, 4, 6], n)
    f["ip_proto"] = rng.choice([6, 6, 6, 17, 1, -1], n)
    f["sport"] = rng.choice([-1, 0, 80, 2**31 - 1], n)
    f["dport"] = rng.choice([-1, 0, 80, 443], n)
    f["src_hi"], f["dst_hi"] = rng.choice(np.array([0, 2**64 - 1], dtype=np.uint64), (2, n))
    f["src_lo"], f["dst_lo"] = rng.choice(np.array([1, 2, 2**63], dtype=np.uint64), (2, n))
    f["tcp_seq"] = rng.choice([0, 1, 2**31, 2**32 - 1], n)
    f["tcp_ack"] = rng.choice([0, 1, 2**31, 2**32 - 1], n)
    f["tcp_flags"] = rng.integers(0, 64, n)
    f["tcp_win"] = rng.choice([0, 65535], n)
    f["l4_payload_len"] = rng.choice([-(2**31), -1, 0, 1, 2**31 - 1], n)
    f["icmp_type"] = rng.choice([-1, 0, 255], n)
    f["trailer_len"] = rng.choice([0, 0, 4], n)
    f["trailer_nonzero_pad"] = rng.choice([0, 1], n)
    f["flags"] = rng.integers(0, 1 << 13, n)
    m = draw(st.integers(0, 2 * n + 1))
    c = empty_checksums(m)
    c["frame"] = np.sort(rng.integers(0, n + 3, m))
    c["status"] = rng.integers(0, 6, m)
    c["note"] = rng.integers(0, 256, m)
    return CaptureTables(path="t.pcap", index=0, format="pcap", linktypes=[], frames=f,
                         checksums=c)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(narrow_tables(), st.integers(0, 2**32 - 1))
def test_narrow_tables(tables: CaptureTables, seed: int) -> None:
    compare_all(tables, seed)


@pytest.fixture(scope="module")
def corpus_tables() -> list[CaptureTables]:
    if not PCAPS.is_dir():
        pytest.skip(f"shared corpus not found at {PCAPS}")
    loaded = [load_capture(str(path)) for path in sorted(PCAPS.iterdir())]
    yield loaded  # type: ignore[misc]
    for tables in loaded:
        if tables.close is not None:
            tables.close()


@pytest.mark.corpus
def test_corpus(corpus_tables: list[CaptureTables], monkeypatch: pytest.MonkeyPatch) -> None:
    assert len(corpus_tables) > 100
    flows = 0
    for seed, tables in enumerate(corpus_tables):
        compare_all(tables, seed)
        compare_context(tables, monkeypatch)
        flows += views(tables.frames, np.ones(len(tables.frames), dtype=bool))[1].n_flows
    assert flows > 300
