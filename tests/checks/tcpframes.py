"""Ethernet/IPv4/TCP frames with correct checksums, and pcap files of them, for the flow
tests."""

from __future__ import annotations

import struct
from pathlib import Path

from wiredoctor.checksum.arith import internet_checksum, pseudo_header_sum_ipv4


def tcp_frame(
    src: int, dst: int, sport: int, dport: int, seq: int, ack: int, flags: int, win: int,
    data: bytes,
) -> bytes:  # fmt: skip
    """An Ethernet/IPv4/TCP frame with correct checksums."""
    s, d = struct.pack("!I", src), struct.pack("!I", dst)
    head = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, win, 0, 0)
    segment = head + data
    total = 20 + len(segment)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, 1, 0x4000, 64, 6, 0, s, d)
    ip = ip[:10] + struct.pack("!H", internet_checksum(ip)) + ip[12:]
    csum = internet_checksum(segment, pseudo_header_sum_ipv4(s, d, 6, len(segment)))
    segment = segment[:16] + struct.pack("!H", csum) + segment[18:]
    return bytes.fromhex("020000000002020000000001" + "0800") + ip + segment


def write_pcap(path: Path, frames: list[bytes], linktype: int = 1) -> None:
    """A pcap of `frames`, one millisecond apart."""
    head = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, linktype)
    records = [
        struct.pack("<IIII", 1_700_000_000 + i // 1000, (i % 1000) * 1000, len(f), len(f)) + f
        for i, f in enumerate(frames)
    ]
    path.write_bytes(head + b"".join(records))
