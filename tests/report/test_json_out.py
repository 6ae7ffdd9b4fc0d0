"""The JSON shapes of CONTRACT.md, produced from tables built here."""

from __future__ import annotations

from wiredoctor.capture.record import LinkType
from wiredoctor.checksum.verdict import Cause, Proto, Status
from wiredoctor.report.json_out import checksum_counts, packets_lines
from wiredoctor.report.packets_text import packet_lines
from wiredoctor.tables import CaptureTables, empty_checksums, empty_frames, ipv4_mapped


def two_frame_tables() -> CaptureTables:
    frames = empty_frames(2)
    frames["frame"] = [1, 2]
    frames["ts_ns"] = [1_700_000_000_123_456_000, 1_700_000_000_223_456_000]
    frames["caplen"] = [74, 60]
    frames["wirelen"] = [74, 60]
    frames["linktype"] = LinkType.ETHERNET
    frames["ip_version"] = 4
    src = ipv4_mapped(bytes([10, 0, 0, 240]))
    dst = ipv4_mapped(bytes([10, 0, 41, 3]))
    frames["src_hi"], frames["src_lo"] = src
    frames["dst_hi"], frames["dst_lo"] = dst
    frames["ip_proto"] = 6
    frames["sport"], frames["dport"] = 56791, 22
    frames["tcp_flags"] = [2, 16]
    frames["ip_len"] = [60, 40]
    frames["cksum_row"] = [0, 2]
    frames["n_cksum"] = [2, 1]
    frames["trailer_len"] = [0, 6]
    checks = empty_checksums(3)
    checks["frame"] = [1, 1, 2]
    checks["proto"] = [Proto.IPV4, Proto.TCP, Proto.IPV4]
    checks["status"] = [Status.GOOD, Status.BAD, Status.UNVERIFIED]
    checks["cause"] = [Cause.NONE, Cause.OFFLOAD_PARTIAL, Cause.NONE]
    checks["value"] = [4660, 0x3E21, -1]
    checks["expected"] = [4660, 0x6DE2, -1]
    return CaptureTables(
        path="a.pcap",
        index=0,
        format="pcap",
        linktypes=[1],
        frames=frames,
        checksums=checks,
    )


def test_packets_json_lines_follow_the_contract() -> None:
    lines = list(packets_lines(two_frame_tables()))
    assert lines[0] == {
        "frame": 1,
        "ts_ns": 1_700_000_000_123_456_000,
        "caplen": 74,
        "wirelen": 74,
        "linktype": "ethernet",
        "trailer_len": 0,
        "checksums": [
            {
                "proto": "ipv4",
                "depth": 0,
                "status": "good",
                "value": 4660,
                "expected": 4660,
                "cause": None,
            },
            {
                "proto": "tcp",
                "depth": 0,
                "status": "bad",
                "value": 15905,
                "expected": 28130,
                "cause": "offload-partial",
            },
        ],
    }
    assert lines[1]["checksums"] == [
        {
            "proto": "ipv4",
            "depth": 0,
            "status": "unverified",
            "value": None,
            "expected": None,
            "cause": None,
        }
    ]
    assert lines[1]["trailer_len"] == 6


def test_checksum_counts_name_every_status() -> None:
    counts = checksum_counts(two_frame_tables())
    assert counts == {"good": 1, "bad": 1, "unverified": 1, "not-present": 0, "illegal": 0}


def test_packet_listing_shows_bad_frames_only_unless_all() -> None:
    tables = two_frame_tables()
    bad_only = list(packet_lines(tables, show_all=False))
    assert len(bad_only) == 1
    assert "10.0.0.240.56791 > 10.0.41.3.22 TCP [S]" in bad_only[0]
    assert "tcp BAD 0x3e21 (should be 0x6de2, offload-partial)" in bad_only[0]
    assert len(list(packet_lines(tables, show_all=True))) == 2
