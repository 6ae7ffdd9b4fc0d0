"""Byte plumbing for the benchmark generator: big-endian field writes, ones'-complement sums
over many rows at once, and the pcap / pcapng record writers.

Always holds: every function works on whole arrays (one row per frame) or copies with a numba
loop; nothing here loops over packets in Python. Sums follow RFC 1071: big-endian 16-bit
words, an odd last byte padded with a zero byte, folded with end-around carry.
"""

from __future__ import annotations

import struct
from typing import BinaryIO

import numba
import numpy as np
import numpy.typing as npt

U8 = npt.NDArray[np.uint8]
U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]

PCAP_RECORD_HEADER = 16
"""ts_sec, ts_usec, incl_len, orig_len (pcap-savefile draft, "Packet Record")."""
EPB_OVERHEAD = 32
"""Enhanced Packet Block: type, length, interface, ts high, ts low, caplen, origlen, length."""
LINKTYPE_ETHERNET = 1
SNAPLEN = 262144


@numba.njit(cache=True, nogil=True)
def _gather(pool: U8, offsets: I64, width: int, out: U8) -> None:  # pragma: no cover - numba
    for i in range(offsets.shape[0]):
        o = offsets[i]
        for j in range(width):
            out[i, j] = pool[o + j]


@numba.njit(cache=True, nogil=True)
def _scatter(out: U8, rows: U8, dst: I64) -> None:  # pragma: no cover - numba
    width = rows.shape[1]
    for i in range(rows.shape[0]):
        d = dst[i]
        for j in range(width):
            out[d + j] = rows[i, j]


def gather(pool: U8, offsets: I64, width: int) -> U8:
    """Rows `pool[o : o + width]` for every offset `o`, as one (n, width) array."""
    out = np.empty((offsets.shape[0], width), dtype=np.uint8)
    if width and offsets.shape[0]:
        _gather(pool, offsets.astype(np.int64), width, out)
    return out


def scatter(out: U8, rows: U8, dst: I64) -> None:
    """Copy row `i` of `rows` to `out[dst[i]:]` (rows of one length, any destinations)."""
    if rows.shape[0] and rows.shape[1]:
        _scatter(out, np.ascontiguousarray(rows), dst.astype(np.int64))


def put8(rows: U8, off: int, values: npt.ArrayLike) -> None:
    """Write one byte per row at column `off`."""
    rows[:, off] = np.asarray(values).astype(np.uint8)


def put16(rows: U8, off: int, values: npt.ArrayLike) -> None:
    """Write a big-endian 16-bit field per row at column `off`."""
    vals = np.asarray(values, dtype=np.int64) & 0xFFFF
    rows[:, off] = (vals >> 8).astype(np.uint8)
    rows[:, off + 1] = (vals & 0xFF).astype(np.uint8)


def put32(rows: U8, off: int, values: npt.ArrayLike) -> None:
    """Write a big-endian 32-bit field per row at column `off`."""
    vals = np.asarray(values, dtype=np.int64) & 0xFFFF_FFFF
    put16(rows, off, vals >> 16)
    put16(rows, off + 2, vals & 0xFFFF)


def get16(rows: U8, off: int) -> npt.NDArray[np.int64]:
    """The big-endian 16-bit field at column `off` of every row."""
    return (rows[:, off].astype(np.int64) << 8) | rows[:, off + 1].astype(np.int64)


def fold(total: npt.ArrayLike) -> U64:
    """Fold wide ones'-complement accumulators to 16 bits with end-around carry."""
    acc = np.asarray(total, dtype=np.uint64)
    while acc.size and int(acc.max()) > 0xFFFF:
        acc = (acc & np.uint64(0xFFFF)) + (acc >> np.uint64(16))
    return acc


def row_sums(rows: U8, start: int, stop: int) -> U64:
    """Folded ones'-complement sum of `rows[:, start:stop]` per row (RFC 1071 §4.1)."""
    n = rows.shape[0]
    span = stop - start
    even = span - span % 2
    total = np.zeros(n, dtype=np.uint64)
    if even:
        total += rows[:, start : start + even].view(">u2").sum(axis=1, dtype=np.uint64)
    if span % 2:
        # The odd byte is the high half of a word whose low half is zero.
        total += rows[:, stop - 1].astype(np.uint64) << np.uint64(8)
    return fold(total)


def finish(total: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """The checksum field value for a folded sum: its ones' complement (RFC 1071 §1)."""
    return (~fold(total).astype(np.int64)) & 0xFFFF


def pcap_header() -> bytes:
    """Classic pcap file header: little-endian, microseconds, Ethernet."""
    return struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, SNAPLEN, LINKTYPE_ETHERNET)


def pcapng_header() -> bytes:
    """A Section Header Block and one Interface Description Block (Ethernet, µs, no options)."""
    shb = struct.pack("<IIIHHqI", 0x0A0D0D0A, 28, 0x1A2B3C4D, 1, 0, -1, 28)
    idb = struct.pack("<IIHHII", 0x00000001, 20, LINKTYPE_ETHERNET, 0, SNAPLEN, 20)
    return shb + idb


def record_sizes(fmt: str, caplen: I64) -> I64:
    """Bytes each record takes in the file, header and padding included."""
    if fmt == "pcap":
        return caplen + PCAP_RECORD_HEADER
    return EPB_OVERHEAD + ((caplen + 3) // 4) * 4


def record_headers(fmt: str, caplen: I64, ts_us: I64) -> U8:
    """The per-record header bytes (before the frame bytes) as an (n, h) array."""
    n = caplen.shape[0]
    if fmt == "pcap":
        head = np.empty((n, 4), dtype="<u4")
        head[:, 0] = ts_us // 1_000_000
        head[:, 1] = ts_us % 1_000_000
        head[:, 2] = caplen
        head[:, 3] = caplen
        return head.view(np.uint8).reshape(n, PCAP_RECORD_HEADER)
    size = record_sizes(fmt, caplen)
    head = np.empty((n, 7), dtype="<u4")
    head[:, 0] = 0x00000006
    head[:, 1] = size
    head[:, 2] = 0
    head[:, 3] = ts_us >> 32
    head[:, 4] = ts_us & 0xFFFF_FFFF
    head[:, 5] = caplen
    head[:, 6] = caplen
    return head.view(np.uint8).reshape(n, 28)


def write_chunk(
    sink: BinaryIO, fmt: str, groups: list[tuple[U8, I64]], caplen: I64, ts_us: I64
) -> int:
    """Write one chunk of records; `groups` are (rows, frame positions in the chunk).

    Returns the bytes written. Frame `k` of the chunk is the row whose position is `k`.
    """
    sizes = record_sizes(fmt, caplen)
    starts = np.zeros(caplen.shape[0], dtype=np.int64)
    np.cumsum(sizes[:-1], out=starts[1:])
    total = int(sizes.sum())
    out = np.zeros(total, dtype=np.uint8)
    heads = record_headers(fmt, caplen, ts_us)
    scatter(out, heads, starts)
    data_at = starts + heads.shape[1]
    for rows, positions in groups:
        scatter(out, rows, data_at[positions])
    if fmt == "pcapng":
        # The block length is repeated after the (padded) data: RFC-draft pcapng §4.3.
        trail = sizes.astype("<u4").view(np.uint8).reshape(-1, 4)
        scatter(out, trail, starts + sizes - 4)
    sink.write(out.data)
    return total
