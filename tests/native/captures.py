"""Captures the compiled-kernel tests read: over 1 MiB, so the fast path is chosen."""

from __future__ import annotations

import struct
from pathlib import Path


def large_pcap(path: Path, frames: int = 2400, size: int = 400) -> None:
    """Over 1 MiB of IPv4/TCP frames with every checksum left zero: the compiled path.

    Payloads are `size` to `size` + 899 bytes long (by frame number)."""
    head = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    src, dst = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])
    records = []
    for i in range(frames):
        payload = bytes([i % 251]) * (size + i % 900)
        tcp = struct.pack("!HHIIBBHHH", 40000, 80, 1000 + i * 2000, 1, 5 << 4, 0x18, 512, 0, 0)
        body = tcp + payload
        total = 20 + len(body)
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, i, 0, 64, 6, 0, src, dst)
        frame = bytes.fromhex("0200000000020200000000010800") + ip + body
        records.append(struct.pack("<IIII", 1_700_000_000, i, len(frame), len(frame)) + frame)
    path.write_bytes(head + b"".join(records))
