"""The fourth seed report rebuilt: a driver appends 2 bytes, 1472-byte pings vanish.

The capture is made here the way the report's was (`tcpdump -i any`, Linux cooked): echo
requests arrive with a 2-byte trailer; payloads up to 1470 are answered, 1472 is not,
because 1500 + 2 bytes no longer fit the 1500-byte MTU and the kernel drops the frame.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import pytest

from wiredoctor.capture.record import LinkType, Record
from wiredoctor.capture.write import write_pcap
from wiredoctor.checksum import internet_checksum, ones_sum
from wiredoctor.cli import main

LAPTOP = bytes([10, 0, 0, 100])
FLOATING = bytes([10, 0, 0, 131])
SIZES = (56, 1000, 1400, 1460, 1468, 1470, 1472, 1472, 1472)
SLL_INCOMING, SLL_OUTGOING = 0, 4


def ipv4_icmp(src: bytes, dst: bytes, icmp_type: int, ident: int, seq: int, size: int) -> bytes:
    payload = bytes((i * 7) & 0xFF for i in range(size))
    icmp = struct.pack("!BBHHH", icmp_type, 0, 0, ident, seq) + payload
    icmp = icmp[:2] + struct.pack("!H", internet_checksum(icmp)) + icmp[4:]
    total = 20 + len(icmp)
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, seq, 0x4000, 64, 1, 0, src, dst)
    header = header[:10] + struct.pack("!H", (~ones_sum(header)) & 0xFFFF) + header[12:]
    return header + icmp


def sll(pkttype: int, packet: bytes) -> bytes:
    mac = bytes.fromhex("0c4de9a1b2c3") + b"\x00\x00"
    return struct.pack("!HHH", pkttype, 1, 6) + mac + struct.pack("!H", 0x0800) + packet


def build(path: Path) -> tuple[list[int], list[int]]:
    """Write the capture; returns (frames with the trailer, frames over the MTU)."""
    records: list[Record] = []
    trailered: list[int] = []
    over: list[int] = []
    ts = 1_490_000_000_000_000_000
    for seq, size in enumerate(SIZES, start=1):
        request = sll(SLL_INCOMING, ipv4_icmp(LAPTOP, FLOATING, 8, 0x1D2A, seq, size))
        request += b"\x95\x7f"  # the driver's 2 bytes
        records.append(_record(len(records) + 1, ts, request))
        trailered.append(len(records))
        if size + 28 + 2 > 1500:
            over.append(len(records))
        ts += 200_000
        if size <= 1470:
            reply = sll(SLL_OUTGOING, ipv4_icmp(FLOATING, LAPTOP, 0, 0x1D2A, seq, size))
            records.append(_record(len(records) + 1, ts, reply))
        ts += 1_000_000_000
    write_pcap(str(path), records, linktype=LinkType.LINUX_SLL)
    return trailered, over


def _record(index: int, ts: int, data: bytes) -> Record:
    return Record(
        index=index,
        ts_ns=ts,
        caplen=len(data),
        wirelen=len(data),
        linktype=LinkType.LINUX_SLL,
        data=data,
    )


def by_id(doc: dict[str, Any], ident: str) -> dict[str, Any]:
    found = [d for d in doc["diagnoses"] if d["id"] == ident]
    assert found, f"no {ident} among {[d['id'] for d in doc['diagnoses']]}"
    return found[0]


def test_two_byte_trailer_makes_full_size_pings_vanish(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capture = tmp_path / "any.pcap"
    trailered, over = build(capture)
    status = main(["check", str(capture), "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert status == 1
    blackhole = by_id(doc, "pmtu-blackhole")
    assert blackhole["evidence"]["largest_answered"] == 1470
    assert blackhole["evidence"]["smallest_unanswered"] == 1472
    trailer = by_id(doc, "ethernet-trailer")
    assert trailer["evidence"]["frames"] == trailered
    over_mtu = by_id(doc, "over-mtu-frame")
    assert over_mtu["evidence"]["frames"] == over
    assert "checksum-corruption" not in {d["id"] for d in doc["diagnoses"]}
