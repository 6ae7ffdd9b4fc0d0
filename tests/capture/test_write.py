"""The writers: atomic replacement, counts, refusals, and what tshark makes of the output."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from capture.packing import frame
from wiredoctor.capture.open import open_capture
from wiredoctor.capture.record import Direction, LinkType, Record
from wiredoctor.capture.write import write_pcap, write_pcapng
from wiredoctor.errors import UsageError


def record(i: int, **fields: object) -> Record:
    base: dict[str, object] = {
        "index": i, "ts_ns": 1_700_000_000 * 10**9 + i, "caplen": 60, "wirelen": 60,
        "linktype": 1, "data": frame(i),
    }  # fmt: skip
    base.update(fields)
    return Record(**base)  # type: ignore[arg-type]


def test_count_and_generator_input(tmp_path: Path) -> None:
    path = tmp_path / "g.pcap"
    assert write_pcap(str(path), (record(i) for i in range(1, 8)), linktype=1) == 7
    assert write_pcapng(str(tmp_path / "g.pcapng"), (record(i) for i in range(1, 4))) == 3
    assert write_pcap(str(tmp_path / "empty.pcap"), [], linktype=101) == 0
    with open_capture(str(tmp_path / "empty.pcap")) as source:
        assert list(source.records()) == [] and source.warnings == []


def test_failure_leaves_the_target_and_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "keep.pcap"
    path.write_bytes(b"precious")
    bad = [record(1), record(2, linktype=113)]
    with pytest.raises(UsageError, match="link type 113"):
        write_pcap(str(path), bad, linktype=1)
    with pytest.raises(UsageError, match="timestamp"):
        write_pcap(str(path), [record(1, ts_ns=-5)], linktype=1)
    with pytest.raises(UsageError, match="no bytes"):
        write_pcapng(str(path), [record(1, linktype=LinkType.TEXT_FIELDS, data=b"")])
    with pytest.raises(UsageError, match="out of range"):
        write_pcap(str(path), [record(1, wirelen=1 << 40)], linktype=1)
    assert path.read_bytes() == b"precious"
    assert sorted(os.listdir(tmp_path)) == ["keep.pcap"]


def test_rewriting_the_file_being_read(tmp_path: Path) -> None:
    # The reader maps the old file; the writer replaces the name with a new file.
    path = tmp_path / "same.pcap"
    write_pcap(str(path), [record(i) for i in range(1, 4)], linktype=1)
    with open_capture(str(path)) as source:
        count = write_pcap(str(path), (r for r in source.records() if r.index != 2), linktype=1)
    assert count == 2
    with open_capture(str(path)) as source:
        assert [r.data for r in source.records()] == [frame(1), frame(3)]


def test_file_mode_follows_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        write_pcap(str(tmp_path / "m.pcap"), [record(1)], linktype=1)
    finally:
        os.umask(old)
    assert (tmp_path / "m.pcap").stat().st_mode & 0o777 == 0o640


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed")
def test_tshark_reads_what_we_write(tmp_path: Path) -> None:
    path = tmp_path / "t.pcapng"
    records = [
        record(1, direction=Direction.INBOUND, comment="first one"),
        record(2, interface=1, linktype=113, caplen=40, data=frame(2, 40), wirelen=90,
               direction=Direction.OUTBOUND),
    ]  # fmt: skip
    write_pcapng(str(path), records, interfaces=[(1, 0), (113, 65535)], section_comment="hi")
    done = subprocess.run(
        ["tshark", "-n", "-r", str(path), "-T", "fields", "-E", "separator=|",
         "-e", "frame.interface_id", "-e", "frame.encap_type", "-e", "frame.cap_len",
         "-e", "frame.len", "-e", "frame.time_epoch", "-e", "frame.comment",
         "-e", "frame.packet_flags_direction"],
        capture_output=True, text=True, timeout=120, env={**os.environ, "TZ": "UTC"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = [line.split("|") for line in done.stdout.splitlines()]
    assert [line[:4] for line in lines] == [["0", "1", "60", "60"], ["1", "25", "40", "90"]]
    assert [line[4] for line in lines] == [
        "1700000000.000000001",
        "1700000000.000000002",
    ]
    assert lines[0][5] == "first one"
    assert [int(line[6], 16) for line in lines] == [1, 2]
