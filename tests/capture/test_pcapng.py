"""pcapng reading: sections, interfaces, resolutions, packet block kinds, options, oddities."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from capture.packing import block, epb, frame, idb, opb, option, shb, spb
from wiredoctor.capture.open import open_capture
from wiredoctor.capture.record import Direction, Record
from wiredoctor.capture.write import write_pcapng

BASE_S = 1_700_000_000


def read(tmp_path: Path, data: bytes) -> tuple[list[Record], list[str]]:
    path = tmp_path / "t.ng"
    path.write_bytes(data)
    with open_capture(str(path)) as source:
        assert source.format == "pcapng"
        return list(source.records()), [w.replace(str(path), "P") for w in source.warnings]


@pytest.mark.parametrize("big", [False, True], ids=["little", "big"])
def test_epb_fields_options_and_default_resolution(tmp_path: Path, big: bool) -> None:
    units = BASE_S * 1_000_000 + 654_321  # default if_tsresol: microseconds
    data = (
        shb(big=big)
        + idb(big=big, linktype=1, snaplen=0)
        + epb(big=big, units=units, data=frame(1, 61), wirelen=1514, flags=1, comment=b"first")
        + epb(big=big, units=units + 1, data=frame(2, 64), flags=2)
        + epb(big=big, units=units + 2, data=frame(3, 3), flags=3, comment=b"odd\x00")
    )
    got, warnings = read(tmp_path, data)
    assert warnings == []
    assert [r.index for r in got] == [1, 2, 3]
    assert [r.ts_ns for r in got] == [(units + i) * 1000 for i in range(3)]
    assert [(r.caplen, r.wirelen) for r in got] == [(61, 1514), (64, 64), (3, 3)]
    assert [r.data for r in got] == [frame(1, 61), frame(2, 64), frame(3, 3)]
    # epb_flags bits 0-1: 01 inbound, 10 outbound, 11 is not a direction.
    assert [r.direction for r in got] == [Direction.INBOUND, Direction.OUTBOUND, Direction.UNKNOWN]
    assert [r.comment for r in got] == ["first", "", "odd"]
    # SHB is 28 bytes, the IDB 20; the first EPB's data starts 28 bytes into the block.
    assert got[0].file_offset == 28 + 20 + 28


def test_sections_reset_interfaces_and_change_byte_order(tmp_path: Path) -> None:
    data = (
        shb(big=False)
        + idb(linktype=1, tsresol=9)  # ns
        + idb(linktype=113, tsresol=3)  # ms
        + epb(interface=1, units=BASE_S * 1000 + 5, data=frame(1))
        + epb(interface=0, units=BASE_S * 10**9 + 7, data=frame(2))
        + shb(big=True)
        + idb(big=True, linktype=101, tsresol=0x80 | 10, tsoffset=100)  # 2^-10 s, +100 s
        + epb(big=True, interface=0, units=(BASE_S << 10) + 1, data=frame(3))
        + shb(big=False)
        + idb(linktype=276, tsresol=6)
        + epb(interface=0, units=42, data=frame(4))
    )
    got, warnings = read(tmp_path, data)
    assert warnings == []
    assert [r.index for r in got] == [1, 2, 3, 4]
    assert [r.linktype for r in got] == [113, 1, 101, 276]
    assert [r.interface for r in got] == [1, 0, 0, 0]
    assert [r.ts_ns for r in got] == [
        BASE_S * 10**9 + 5_000_000,
        BASE_S * 10**9 + 7,
        # 1/1024 s = 976562.5 ns: rounded down.
        (BASE_S + 100) * 10**9 + 976_562,
        42_000,
    ]


def test_a_packet_naming_an_interface_of_the_previous_section_stops(tmp_path: Path) -> None:
    first = shb() + idb() + idb() + epb(interface=1, data=frame(1))
    data = first + shb() + idb() + epb(interface=1, data=frame(2))
    got, warnings = read(tmp_path, data)
    assert [r.data for r in got] == [frame(1)]
    offset = len(first) + 28 + 20
    assert warnings == [
        f"P: cut short at byte {offset}: packet block names interface 1; "
        "the section describes 1 interface(s)"
    ]


def test_spb_takes_interface_zero_snaplen_and_has_no_time(tmp_path: Path) -> None:
    data = (
        shb()
        + idb(linktype=1, snaplen=40)
        + spb(data=frame(1, 40), wirelen=100)  # captured 40 of 100
        + spb(data=frame(2, 30))  # shorter than the snaplen
    )
    got, warnings = read(tmp_path, data)
    assert warnings == []
    assert [(r.caplen, r.wirelen, r.ts_ns) for r in got] == [(40, 100, 0), (30, 30, 0)]
    assert [r.data for r in got] == [frame(1, 40), frame(2, 30)]
    assert got[0].file_offset == 28 + 20 + 12


def test_spb_without_snaplen_is_bounded_by_its_block(tmp_path: Path) -> None:
    # Original length 1000, but only 40 bytes in the block: never read past the block.
    data = shb() + idb(snaplen=0) + spb(data=frame(1, 40), wirelen=1000) + epb(data=frame(2))
    got, warnings = read(tmp_path, data)
    assert warnings == []
    assert [(r.caplen, r.wirelen) for r in got] == [(40, 1000), (60, 60)]
    assert got[0].data == frame(1, 40) and got[1].data == frame(2)


def test_opb_obsolete_packet_block(tmp_path: Path) -> None:
    data = (
        shb(big=True)
        + idb(big=True, linktype=1)
        + idb(big=True, linktype=0)
        + opb(big=True, interface=1, drops=3, units=BASE_S * 10**6, data=frame(1, 50), flags=2)
    )
    (record,), warnings = read(tmp_path, data)
    assert warnings == []
    assert record.interface == 1 and record.linktype == 0
    assert record.ts_ns == BASE_S * 10**9 and record.data == frame(1, 50)
    assert record.direction == Direction.OUTBOUND


def test_unknown_blocks_are_skipped(tmp_path: Path) -> None:
    custom = block(0x00000BAD, struct.pack("<I", 32473) + b"an example Custom Block\x00")
    isb = block(5, b"\x00" * 12)
    nrb = block(4, b"\x00" * 4)
    data = shb() + nrb + idb() + custom + epb(data=frame(1)) + isb + block(0x12345678, b"x" * 9)
    data += epb(data=frame(2))
    got, warnings = read(tmp_path, data)
    assert warnings == []
    assert [r.data for r in got] == [frame(1), frame(2)]


def test_block_length_not_a_multiple_of_four_is_rounded_up(tmp_path: Path) -> None:
    # As in the Wireshark wiki's icmp2.pcapng: an OPB states 110 for a 112-byte block.
    odd = bytearray(opb(data=frame(1, 78)))
    assert len(odd) == 112
    odd[4:8] = struct.pack("<I", 110)
    odd[-4:] = struct.pack("<I", 110)
    data = shb() + idb() + bytes(odd) + opb(data=frame(2, 78))
    got, warnings = read(tmp_path, data)
    assert warnings == []
    assert [r.data for r in got] == [frame(1, 78), frame(2, 78)]


def test_section_options_and_unknown_options_are_ignored(tmp_path: Path) -> None:
    options = option(1, b"section comment") + option(2988, b"vendor") + option(0, b"")
    data = shb(options=options) + idb(tsresol=9) + epb(units=5, data=frame(1))
    (record,), warnings = read(tmp_path, data)
    assert warnings == [] and record.ts_ns == 5


def test_unsupported_major_version_stops(tmp_path: Path) -> None:
    data = shb() + idb() + epb(data=frame(1)) + shb(major=2) + idb() + epb(data=frame(2))
    got, warnings = read(tmp_path, data)
    assert [r.data for r in got] == [frame(1)]
    offset = 28 + 20 + 28 + 60 + 4
    assert warnings == [f"P: cut short at byte {offset}: section of pcapng version 2, only "
                        "version 1 exists"]  # fmt: skip


@pytest.mark.parametrize("length", [0, 4, 8, 11])
def test_block_length_below_twelve_stops(tmp_path: Path, length: int) -> None:
    bad = struct.pack("<II", 6, length) + b"\x00" * 24
    data = shb() + idb() + epb(data=frame(1)) + bad + epb(data=frame(2))
    got, warnings = read(tmp_path, data)
    assert [r.data for r in got] == [frame(1)]
    offset = 28 + 20 + 92
    assert warnings == [f"P: cut short at byte {offset}: block length {length} is below the "
                        "12-byte minimum"]  # fmt: skip


def test_epb_caplen_beyond_its_block_stops(tmp_path: Path) -> None:
    data = shb() + idb() + epb(data=frame(1, 8), caplen=5000) + epb(data=frame(2))
    got, warnings = read(tmp_path, data)
    assert got == []
    assert warnings == [
        "P: cut short at byte 48: packet block of 40 bytes cannot hold its 5000 bytes of data"
    ]


def test_writer_round_trip_with_interfaces_comments_and_directions(tmp_path: Path) -> None:
    records = [
        Record(index=1, ts_ns=BASE_S * 10**9 + 1, caplen=60, wirelen=60, linktype=1,
               interface=0, data=frame(1), direction=Direction.INBOUND, comment="héllo"),
        Record(index=2, ts_ns=BASE_S * 10**9 + 2, caplen=7, wirelen=1500, linktype=113,
               interface=1, data=frame(2, 7), direction=Direction.OUTBOUND),
        Record(index=3, ts_ns=(1 << 62) + 3, caplen=0, wirelen=0, linktype=1, interface=0,
               data=b""),
    ]  # fmt: skip
    path = tmp_path / "w.pcapng"
    count = write_pcapng(
        str(path), records, interfaces=[(1, 0), (113, 128)], section_comment="made in a test"
    )
    assert count == 3
    with open_capture(str(path)) as source:
        got = list(source.records())
        assert source.warnings == []
        for record in got:
            assert source.read_frame(record.file_offset, record.caplen) == record.data
    assert [r.data for r in got] == [r.data for r in records]
    assert [(r.ts_ns, r.caplen, r.wirelen, r.linktype, r.interface) for r in got] == [
        (r.ts_ns, r.caplen, r.wirelen, r.linktype, r.interface) for r in records
    ]
    assert [r.direction for r in got] == [r.direction for r in records]
    assert [r.comment for r in got] == ["héllo", "", ""]


def test_writer_describes_interfaces_on_first_use(tmp_path: Path) -> None:
    records = [
        Record(index=1, ts_ns=1, caplen=60, wirelen=60, linktype=101, interface=0, data=frame(1)),
        Record(index=2, ts_ns=2, caplen=60, wirelen=60, linktype=101, interface=1, data=frame(2)),
    ]
    path = tmp_path / "lazy.pcapng"
    assert write_pcapng(str(path), records) == 2
    with open_capture(str(path)) as source:
        got = list(source.records())
    assert [(r.linktype, r.interface, r.ts_ns) for r in got] == [(101, 0, 1), (101, 1, 2)]
