"""Cut-short and hostile input: whole records kept, one warning naming the byte, no crash."""

from __future__ import annotations

import re
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capture.packing import (
    PCAP_KUZNETZOV,
    PCAP_NS,
    PcapRecord,
    block,
    epb,
    frame,
    idb,
    opb,
    pcap_file,
    pcap_header,
    shb,
    spb,
)
from wiredoctor.capture.open import open_capture
from wiredoctor.errors import InputError

CUT = re.compile(r": cut short at byte (\d+): ")


def pcap_pieces(magic: int) -> tuple[bytes, list[int]]:
    """A small pcap and the offsets where its header and records end."""
    records = [PcapRecord(10, i, frame(i, size)) for i, size in enumerate([14, 0, 33, 5], 1)]
    data = pcap_file(records, magic=magic, big=magic == PCAP_NS)
    header = 24 if magic == PCAP_KUZNETZOV else 16
    ends = [24]
    for record in records:
        ends.append(ends[-1] + header + len(record.data))
    assert ends[-1] == len(data)
    return data, ends


def pcapng_pieces() -> tuple[bytes, list[int], list[int]]:
    """A small two-section pcapng, its block ends, and which blocks are packets."""
    blocks = [
        shb(),
        idb(tsresol=9),
        epb(units=1, data=frame(1, 9), comment=b"c"),
        block(0x0BAD, b"\x00\x00\x7e\xd9 custom"),
        spb(data=frame(2, 12)),
        shb(big=True),
        idb(big=True, linktype=101),
        opb(big=True, data=frame(3, 7), flags=1),
        epb(big=True, data=frame(4, 0)),
    ]
    packets = [2, 4, 7, 8]
    ends = []
    total = 0
    for piece in blocks:
        total += len(piece)
        ends.append(total)
    return b"".join(blocks), ends, packets


def check_prefix(path: Path, data: bytes, cut: int, ends: list[int], window: int) -> int:
    """Open the first `cut` bytes of a pcap whose header and records end at `ends`.

    Whole records only, each with its own bytes; a warning exactly when the cut falls inside
    the header or a record, naming where that piece starts. Returns the records read.
    """
    path.write_bytes(data[:cut])
    with open_capture(str(path)) as source:
        got = [r for batch in source.batches(window) for r in batch.records()]
        warnings = list(source.warnings)
    assert len(got) == len([end for end in ends[1:] if end <= cut])
    for record in got:
        assert record.data == data[record.file_offset : record.file_offset + record.caplen]
    if cut in ends:
        assert warnings == [], (cut, warnings)
    else:
        assert len(warnings) == 1, (cut, warnings)
        assert warnings[0].startswith(f"{path}: cut short at byte ")
        found = CUT.search(warnings[0])
        start = max([0, *(end for end in ends if end < cut)])
        assert found is not None and int(found.group(1)) == start, (cut, warnings)
    return len(got)


@pytest.mark.parametrize("magic", [0xA1B2C3D4, PCAP_NS, PCAP_KUZNETZOV], ids=["us", "ns", "kuz"])
def test_pcap_cut_at_every_byte(tmp_path: Path, magic: int) -> None:
    data, ends = pcap_pieces(magic)
    path = tmp_path / "cut.pcap"
    seen = set()
    for cut in range(len(data) + 1):
        if cut < 4:
            path.write_bytes(data[:cut])
            with pytest.raises(InputError):
                open_capture(str(path))
            continue
        for window in (1 << 20, 37):
            seen.add(check_prefix(path, data, cut, ends, window))
    assert seen == {0, 1, 2, 3, 4}


def test_pcapng_cut_at_every_byte(tmp_path: Path) -> None:
    data, ends, packets = pcapng_pieces()
    packet_ends = [ends[i] for i in packets]
    path = tmp_path / "cut.pcapng"
    for cut in range(len(data) + 1):
        if cut < 4:
            path.write_bytes(data[:cut])
            with pytest.raises(InputError):
                open_capture(str(path))
            continue
        path.write_bytes(data[:cut])
        for window in (1 << 20, 41):
            with open_capture(str(path)) as source:
                got = [r for batch in source.batches(window) for r in batch.records()]
                warnings = list(source.warnings)
            assert len(got) == len([end for end in packet_ends if end <= cut]), cut
            for record in got:
                assert record.data == data[record.file_offset : record.file_offset + record.caplen]
            if cut in ends:
                assert warnings == [], (cut, warnings)
            else:
                start = max([0, *(end for end in ends if end < cut)])
                assert len(warnings) == 1, (cut, warnings)
                found = CUT.search(warnings[0])
                assert found is not None and int(found.group(1)) == start, (cut, warnings)


def test_pcap_header_cut_short_names_byte_zero(tmp_path: Path) -> None:
    path = tmp_path / "h.pcap"
    path.write_bytes(pcap_header()[:10])
    with open_capture(str(path)) as source:
        assert list(source.records()) == []
        assert source.warnings == [
            f"{path}: cut short at byte 0: file header incomplete (10 of 24 bytes)"
        ]


def test_skipped_block_claiming_bytes_past_the_end(tmp_path: Path) -> None:
    data = shb() + idb() + epb(data=frame(1)) + struct.pack("<II", 0x40000BAD, 1 << 30) + b"x" * 8
    path = tmp_path / "skip.pcapng"
    path.write_bytes(data)
    with open_capture(str(path)) as source:
        assert [r.data for r in source.records()] == [frame(1)]
        offset = 28 + 20 + 92
        assert source.warnings == [
            f"{path}: cut short at byte {offset}: block incomplete (16 of {1 << 30} bytes)"
        ]


def _open_any(path: Path, data: bytes) -> None:
    """Open and read everything; only InputError may escape, and records lie in the file."""
    path.write_bytes(data)
    try:
        source = open_capture(str(path))
    except InputError:
        return
    with source:
        for batch in source.batches(97):
            for record in batch.records():
                if source.format != "text":
                    start = record.file_offset
                    assert record.data == data[start : start + record.caplen]
                    assert record.caplen == len(record.data)


HOSTILE = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@HOSTILE
@given(st.binary(max_size=400))
def test_arbitrary_bytes(tmp_path: Path, data: bytes) -> None:
    _open_any(tmp_path / "any", data)


@HOSTILE
@given(st.sampled_from([0xA1B2C3D4, 0xA1B23C4D, 0xA1B2CD34]), st.booleans(), st.binary())
def test_pcap_header_then_arbitrary_bytes(
    tmp_path: Path, magic: int, big: bool, body: bytes
) -> None:
    header = pcap_header(magic=magic, big=big, snaplen=64)
    _open_any(tmp_path / "p", header + body)


@HOSTILE
@given(st.booleans(), st.binary(max_size=600))
def test_pcapng_start_then_arbitrary_bytes(tmp_path: Path, big: bool, body: bytes) -> None:
    _open_any(tmp_path / "n", shb(big=big) + idb(big=big, tsresol=0x85) + body)


@HOSTILE
@given(st.data())
def test_mutated_valid_captures(tmp_path: Path, data: st.DataObject) -> None:
    base = data.draw(
        st.sampled_from([pcap_pieces(0xA1B2C3D4)[0], pcap_pieces(PCAP_NS)[0], pcapng_pieces()[0]])
    )
    mutated = bytearray(base)
    for _ in range(data.draw(st.integers(1, 6))):
        where = data.draw(st.integers(0, len(mutated) - 1))
        mutated[where] = data.draw(st.integers(0, 255))
    _open_any(tmp_path / "m", bytes(mutated))
