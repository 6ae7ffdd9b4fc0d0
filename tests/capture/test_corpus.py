"""The shared corpus: every capture opens and agrees with tshark frame by frame.

Compared per frame: count, captured and wire length, interface id and link type (tshark
prints Wireshark's WTAP encapsulation numbers, mapped below from LINKTYPE values).
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from wiredoctor.capture.open import open_capture

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus"

# LINKTYPE_* → Wireshark WTAP_ENCAP_* as tshark 4.0 prints frame.encap_type.
WTAP_OF_LINKTYPE = {
    0: 15,  # BSD null/loopback
    1: 1,  # Ethernet
    12: 7,  # DLT_RAW as written by libpcap on most platforms: raw IP
    101: 7,  # LINKTYPE_RAW: raw IP
    113: 25,  # Linux SLL
    229: 130,  # raw IPv6
    276: 210,  # Linux SLL2
}

# Frames tshark lists that are not packets. tshark 4.0 turns pcapng Custom Blocks (type
# 0x00000BAD / 0x40000BAD, here with Wireshark's example PEN 32473) into frames without an
# encapsulation; capinfos, libpcap and wiredoctor count packets only, so 8 packets, not 11.
NOT_PACKETS = {
    "gopacket__be-test202.pcapng": {1: 24, 7: 60, 10: 32},  # tshark frame → custom data bytes
}

# Files whose frames tshark numbers as we do but which carry oddities we check explicitly.
pytestmark = pytest.mark.corpus


def corpus_files() -> list[Path]:
    pcaps = CORPUS / "pcaps"
    if not pcaps.is_dir():
        return []
    return sorted(pcaps.iterdir())


@pytest.fixture(scope="module")
def pcaps() -> list[Path]:
    files = corpus_files()
    if not files:
        pytest.skip(f"the shared capture corpus is absent ({CORPUS / 'pcaps'})")
    return files


def oracle_rows(path: Path) -> list[dict[str, str]]:
    with (CORPUS / "oracle" / "tshark" / f"{path.name}.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_every_frame_agrees_with_tshark(pcaps: list[Path]) -> None:
    total = 0
    formats: set[str] = set()
    for path in pcaps:
        rows = oracle_rows(path)
        skipped = NOT_PACKETS.get(path.name, {})
        for number, size in skipped.items():
            row = rows[number - 1]
            assert row["frame.encap_type"] == "" and int(row["frame.len"]) == size
            assert row["frame.protocols"] == "data"
        rows = [row for row in rows if int(row["frame.number"]) not in skipped]
        with open_capture(str(path)) as source:
            records = list(source.records())
            assert source.warnings == [], path.name
            formats.add(source.format)
        assert len(records) == len(rows), path.name
        for record, row in zip(records, rows, strict=True):
            expected = (
                int(row["frame.cap_len"]),
                int(row["frame.len"]),
                int(row["frame.interface_id"] or 0),
                int(row["frame.encap_type"]),
            )
            got = (
                record.caplen,
                record.wirelen,
                record.interface,
                WTAP_OF_LINKTYPE.get(record.linktype, -record.linktype),
            )
            assert got == expected, (path.name, record.index)
            assert len(record.data) == record.caplen
        total += len(records)
    assert formats == {"pcap", "pcapng"}
    # 23,960 tshark frames less the 3 custom blocks above.
    assert total == 23_957


def test_small_windows_give_the_same_batches(pcaps: list[Path]) -> None:
    # Windows far smaller than the files force records across window ends everywhere.
    for path in pcaps:
        with open_capture(str(path)) as source:
            whole = [
                (int(b.file_off[i]), int(b.caplen[i]), int(b.ts_ns[i]))
                for b in source.batches()
                for i in range(len(b))
            ]
            windowed = [
                (int(b.file_off[i]), int(b.caplen[i]), int(b.ts_ns[i]))
                for b in source.batches(3000)
                for i in range(len(b))
            ]
        assert windowed == whole, path.name


def test_the_odd_block_length_file_reads_whole(pcaps: list[Path]) -> None:
    # Its obsolete packet blocks state 110 bytes for 112-byte blocks; tshark reads all 8.
    path = CORPUS / "pcaps" / "wireshark-wiki__icmp2.pcapng"
    with open_capture(str(path)) as source:
        records = list(source.records())
    assert [r.caplen for r in records] == [78] * 8
    assert records[0].data[12:14] == b"\x08\x00"  # an IPv4 Ethernet frame
