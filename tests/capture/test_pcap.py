"""pcap reading: every magic and byte order, hand-packed and checked field by field."""

from __future__ import annotations

from pathlib import Path

import dpkt
import pytest

from capture.packing import (
    PCAP_KUZNETZOV,
    PCAP_NS,
    PCAP_US,
    PcapRecord,
    frame,
    pcap_file,
)
from wiredoctor.capture.open import open_capture
from wiredoctor.capture.record import Direction, Record
from wiredoctor.capture.write import write_pcap

SECONDS = 1_700_000_000


def read(path: Path) -> tuple[list[Record], list[str], str]:
    with open_capture(str(path)) as source:
        records = list(source.records())
        return records, list(source.warnings), source.format


@pytest.mark.parametrize("big", [False, True], ids=["little", "big"])
@pytest.mark.parametrize(
    ("magic", "unit_ns"),
    [(PCAP_US, 1000), (PCAP_NS, 1), (PCAP_KUZNETZOV, 1000)],
    ids=["usec", "nsec", "kuznetzov"],
)
def test_every_magic_and_byte_order(tmp_path: Path, big: bool, magic: int, unit_ns: int) -> None:
    records = [
        PcapRecord(SECONDS, 123_456, frame(1, 60)),
        PcapRecord(SECONDS + 1, 999_999, frame(2, 54), wirelen=1514),
        PcapRecord(SECONDS + 2, 0, b""),
    ]
    path = tmp_path / "x.cap"
    header_len = 24
    record_header = 24 if magic == PCAP_KUZNETZOV else 16
    path.write_bytes(pcap_file(records, big=big, magic=magic, network=113))
    got, warnings, fmt = read(path)
    assert fmt == "pcap" and warnings == []
    assert [r.index for r in got] == [1, 2, 3]
    assert [r.ts_ns for r in got] == [
        SECONDS * 10**9 + 123_456 * unit_ns,
        (SECONDS + 1) * 10**9 + 999_999 * unit_ns,
        (SECONDS + 2) * 10**9,
    ]
    assert [r.caplen for r in got] == [60, 54, 0]
    assert [r.wirelen for r in got] == [60, 1514, 0]
    assert [r.data for r in got] == [frame(1, 60), frame(2, 54), b""]
    assert {r.linktype for r in got} == {113}
    first = header_len + record_header
    assert [r.file_offset for r in got] == [
        first,
        first + 60 + record_header,
        first + 60 + 54 + 2 * record_header,
    ]


def test_kuznetzov_packet_type_gives_direction(tmp_path: Path) -> None:
    # linux/if_packet.h: 0 host, 1 broadcast, 2 multicast, 3 otherhost, 4 outgoing.
    records = [PcapRecord(SECONDS, 0, frame(i, 20), pkt_type=t) for i, t in enumerate(range(6))]
    path = tmp_path / "k.pcap"
    path.write_bytes(pcap_file(records, magic=PCAP_KUZNETZOV))
    got, _, _ = read(path)
    assert [r.direction for r in got] == [Direction.INBOUND] * 4 + [
        Direction.OUTBOUND,
        Direction.UNKNOWN,
    ]


def test_plain_pcap_has_no_direction_and_no_comment(tmp_path: Path) -> None:
    path = tmp_path / "p.pcap"
    path.write_bytes(pcap_file([PcapRecord(1, 2, frame(1))]))
    (record,), _, _ = read(path)
    assert record.direction == Direction.UNKNOWN and record.comment == "" and record.interface == 0


def test_fcs_bits_in_the_link_type_field_are_not_the_link_type(tmp_path: Path) -> None:
    # draft-ietf-opsawg-pcap §5: bit 26 "F" and 4 bits of FCS length ride above the type.
    path = tmp_path / "fcs.pcap"
    path.write_bytes(pcap_file([PcapRecord(1, 0, frame(1))], network=(4 << 28) | (1 << 26) | 1))
    (record,), _, _ = read(path)
    assert record.linktype == 1


def test_caplen_above_snaplen_but_plausible_is_read(tmp_path: Path) -> None:
    # Wireshark and libpcap accept records longer than the snaplen up to 256 KiB.
    path = tmp_path / "s.pcap"
    path.write_bytes(pcap_file([PcapRecord(1, 0, frame(1, 300))], snaplen=96))
    (record,), warnings, _ = read(path)
    assert record.caplen == 300 and warnings == []


def test_absurd_caplen_stops_with_the_offset(tmp_path: Path) -> None:
    good = PcapRecord(1, 0, frame(1, 40))
    liar = PcapRecord(2, 0, frame(2, 40), incl_len=300_000)
    path = tmp_path / "liar.pcap"
    path.write_bytes(pcap_file([good, liar, good], snaplen=65535))
    got, warnings, _ = read(path)
    assert [r.data for r in got] == [frame(1, 40)]
    offset = 24 + 16 + 40
    assert warnings == [
        f"{path}: cut short at byte {offset}: record claims 300000 captured bytes, "
        "more than the snaplen 65535 and more than 262144"
    ]


def test_huge_snaplen_allows_big_records_but_not_beyond_the_file(tmp_path: Path) -> None:
    liar = PcapRecord(2, 0, frame(2, 40), incl_len=5_000_000)
    path = tmp_path / "big-snaplen.pcap"
    path.write_bytes(pcap_file([liar], snaplen=0xFFFF_FFFF))
    got, warnings, _ = read(path)
    assert got == []
    assert warnings == [f"{path}: cut short at byte 24: record incomplete (56 of 5000016 bytes)"]


def test_our_writer_agrees_with_dpkt(tmp_path: Path) -> None:
    records = [
        Record(index=i, ts_ns=SECONDS * 10**9 + i * 1_000_001, caplen=n, wirelen=n + i,
               linktype=1, data=frame(i, n))
        for i, n in enumerate([60, 1514, 0, 9000, 61], start=1)
    ]  # fmt: skip
    for nanosecond in (False, True):
        path = tmp_path / f"w{nanosecond}.pcap"
        assert write_pcap(str(path), records, linktype=1, nanosecond=nanosecond) == 5
        with path.open("rb") as handle:
            theirs = list(dpkt.pcap.Reader(handle))
        got, warnings, _ = read(path)
        assert warnings == []
        assert [bytes(buf) for _, buf in theirs] == [r.data for r in got]
        assert [r.data for r in got] == [r.data for r in records]
        assert [r.wirelen for r in got] == [r.wirelen for r in records]
        expected_ns = [r.ts_ns if nanosecond else r.ts_ns - r.ts_ns % 1000 for r in records]
        assert [r.ts_ns for r in got] == expected_ns


def test_dpkt_written_file_reads_the_same(tmp_path: Path) -> None:
    path = tmp_path / "dpkt.pcap"
    with path.open("wb") as handle:
        writer = dpkt.pcap.Writer(handle, snaplen=1500, linktype=101, nano=True)
        for i in range(1, 6):
            writer.writepkt(frame(i, 30 + i), ts=SECONDS + i)
    got, warnings, _ = read(path)
    assert warnings == []
    assert [r.data for r in got] == [frame(i, 30 + i) for i in range(1, 6)]
    assert [r.ts_ns for r in got] == [(SECONDS + i) * 10**9 for i in range(1, 6)]
    assert {r.linktype for r in got} == {101}
