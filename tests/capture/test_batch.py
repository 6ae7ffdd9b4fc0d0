"""Batches: windows that split records, reused columns, and agreement with records()."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from capture.packing import PCAP_NS, PcapRecord, epb, frame, idb, pcap_file, shb, spb
from wiredoctor.capture import walk
from wiredoctor.capture.batch import RecordBatch, batch_from_records
from wiredoctor.capture.open import open_capture
from wiredoctor.capture.record import Direction, Record


def sizes(n: int) -> list[int]:
    return [(i * 37) % 97 for i in range(n)]


@pytest.fixture
def pcap_path(tmp_path: Path) -> Path:
    path = tmp_path / "many.pcap"
    records = [PcapRecord(100 + i, i, frame(i, s)) for i, s in enumerate(sizes(300), 1)]
    path.write_bytes(pcap_file(records, magic=PCAP_NS))
    return path


@pytest.fixture
def pcapng_path(tmp_path: Path) -> Path:
    path = tmp_path / "many.pcapng"
    blocks = [shb(), idb(tsresol=9), idb(linktype=113, snaplen=50)]
    for i, s in enumerate(sizes(300), 1):
        if i % 3 == 0:
            blocks.append(spb(data=frame(i, min(s, 50)), wirelen=s))
        else:
            blocks.append(epb(interface=i % 2, units=i, data=frame(i, s), flags=1 + i % 2))
    path.write_bytes(b"".join(blocks))
    return path


def columns(batches: list[RecordBatch]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for name in ("file_off", "caplen", "wirelen", "ts_ns", "linktype", "iface", "direction"):
        out[name] = [int(x) for b in batches for x in getattr(b, name)]
    out["frame"] = [b.first_frame + i for b in batches for i in range(len(b))]
    return out


@pytest.mark.parametrize("which", ["pcap_path", "pcapng_path"])
def test_any_window_size_gives_the_same_batches(
    which: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = str(request.getfixturevalue(which))
    with open_capture(path) as source:
        reference = list(source.batches())
        expected = columns(reference)
        expected_bytes = [b.frame_bytes(i) for b in reference for i in range(len(b))]
        assert expected["frame"] == list(range(1, 301))
        # Small batches too: the column sets are then reused while older batches live.
        monkeypatch.setattr(walk, "BATCH_MAX", 7)
        for window in (1, 13, 100, 1000, 4096):
            kept = list(source.batches(window))
            assert columns(kept) == expected, window
            assert [b.frame_bytes(i) for b in kept for i in range(len(b))] == expected_bytes
            streamed = [b.frame_bytes(i) for b in source.batches(window) for i in range(len(b))]
            assert streamed == expected_bytes


def test_streaming_reuses_column_sets(pcap_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[int] = []

    class Counting(walk.Columns):
        def __init__(self, capacity: int) -> None:
            made.append(capacity)
            super().__init__(capacity)

    monkeypatch.setattr(walk, "Columns", Counting)
    monkeypatch.setattr(walk, "BATCH_MAX", 7)
    with open_capture(str(pcap_path)) as source:
        total = 0
        for batch in source.batches():
            total += len(batch)
        assert total == 300
        assert len(made) <= walk.POOL_SIZE
        made.clear()
        kept = list(source.batches())
        assert len(made) == len(kept) == 43


def test_records_match_batches(pcapng_path: Path) -> None:
    with open_capture(str(pcapng_path)) as source:
        records = list(source.records())
        batches = list(source.batches(333))
    rows = [record for batch in batches for record in batch.records()]
    assert rows == records
    assert {r.direction for r in records if r.caplen and r.index % 3} == {
        Direction.INBOUND,
        Direction.OUTBOUND,
    }


def test_batch_buffers_are_private_views(pcap_path: Path) -> None:
    before = pcap_path.read_bytes()
    with open_capture(str(pcap_path)) as source:
        (batch,) = list(source.batches())
    assert batch.buf.base is not None  # a view of the mapping, not a copy
    assert batch.data_off.dtype == np.int64 and batch.caplen.dtype == np.uint32
    assert batch.linktype.dtype == np.uint16 and batch.direction.dtype == np.uint8
    # Batches stay readable after the source is closed.
    assert batch.frame_bytes(4) == frame(5, sizes(300)[4])
    # The mapping is copy-on-write: even a careless consumer cannot change the file.
    batch.buf[: len(before) - 24] = 0
    assert pcap_path.read_bytes() == before
    with open_capture(str(pcap_path)) as source:
        assert next(iter(source.batches())).frame_bytes(4) == frame(5, sizes(300)[4])


def test_column_sets_are_reused_only_when_free() -> None:
    columns_set = walk.Columns(10)
    buf = np.zeros(4, dtype=np.uint8)
    held = columns_set.batch(buf, 0, 10, 1)
    assert not columns_set.unshared()
    only_caplen = held.caplen
    del held
    assert not columns_set.unshared()
    del only_caplen
    assert columns_set.unshared()


def test_batch_from_records() -> None:
    records = [
        Record(index=1, ts_ns=5, caplen=3, wirelen=9, linktype=1, data=b"abc", comment="one"),
        Record(index=2, ts_ns=6, caplen=0, wirelen=0, linktype=65535, interface=2),
        Record(index=3, ts_ns=7, caplen=2, wirelen=2, linktype=101, data=b"de",
               direction=Direction.OUTBOUND),
    ]  # fmt: skip
    batch = batch_from_records(records, first_frame=10)
    assert len(batch) == 3 and batch.first_frame == 10
    assert list(batch.file_off) == [0, -1, 3]
    assert list(batch.iface) == [0, 2, 0] and list(batch.direction) == [0, 0, 2]
    assert [batch.frame_bytes(i) for i in range(3)] == [b"abc", b"", b"de"]
    assert [batch.comment(i) for i in range(3)] == ["one", "", ""]
    assert [r.index for r in batch.records()] == [10, 11, 12]
