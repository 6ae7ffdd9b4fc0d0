"""The pcap record walk in plain Python, for captures too small to be worth loading numba.

The same walk as `pcap_kernel.walk_pcap` (draft-ietf-opsawg-pcap §5), the same arguments
and the same result tuple, so `pcap.PcapWalker` can use either; the tests hold the two to
equal columns, positions and codes on the whole corpus and on generated files.

Always holds: every read is checked against the window first; a record is indexed only when
all its bytes are in the window; rows are written from row 0 in record order; nothing here
raises on any bytes.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from wiredoctor.capture.pcap_format import (
    BAD_CAPLEN,
    EXTENDED_HEADER_LEN,
    HUGE_CAPLEN,
    MAX_PLAIN_CAPLEN,
    MAX_RECORD,
    PACKET_OUTGOING,
    RECORD_HEADER_LEN,
)

_HEADER = {False: struct.Struct("<IIII"), True: struct.Struct(">IIII")}


def walk_pcap(
    buf: npt.NDArray[np.uint8],
    pos: int,
    big: bool,
    nanosecond: bool,
    extended: bool,
    snaplen: int,
    data_off: npt.NDArray[np.int64],
    caplen: npt.NDArray[np.uint32],
    wirelen: npt.NDArray[np.uint32],
    ts_ns: npt.NDArray[np.int64],
    direction: npt.NDArray[np.uint8],
) -> tuple[int, int, int, int]:
    """Index records from `pos`: (rows filled, pos, status code, bytes needed / bad length).

    Fills the same columns as the kernel, in the same rows (`direction` only for the
    modified format; the caller fills the columns every pcap record shares).
    """
    rows: list[tuple[int, int, int, int, int]] = []
    header = EXTENDED_HEADER_LEN if extended else RECORD_HEADER_LEN
    with buf.data as view:
        pos, code, arg = _walk(
            view, pos, int(data_off.shape[0]), header, 1 if nanosecond else 1000, snaplen,
            _HEADER[bool(big)].unpack_from, rows,
        )  # fmt: skip
    n = len(rows)
    if n:
        offs, caps, wires, stamps, dirs = zip(*rows, strict=True)
        data_off[:n] = offs
        caplen[:n] = caps
        wirelen[:n] = wires
        ts_ns[:n] = stamps
        if extended:
            direction[:n] = dirs
    return n, pos, code, arg


def _walk(
    buf: memoryview,
    pos: int,
    capacity: int,
    header: int,
    unit: int,
    snaplen: int,
    unpack: Callable[[memoryview, int], tuple[Any, ...]],
    rows: list[tuple[int, int, int, int, int]],
) -> tuple[int, int, int]:
    """The loop of `walk_pcap`: appends (data offset, captured, wire length, time, direction)
    per record and returns (pos, code, arg)."""
    size = len(buf)
    while True:
        if pos >= size:
            return pos, 0, 0
        if len(rows) >= capacity:
            return pos, 2, 0
        if pos + header > size:
            return pos, 1, header
        seconds, fraction, incl, orig = unpack(buf, pos)
        if incl > MAX_PLAIN_CAPLEN and incl > snaplen:
            return pos, BAD_CAPLEN, incl
        if incl > MAX_RECORD:
            return pos, HUGE_CAPLEN, incl
        if pos + header + incl > size:
            return pos, 1, header + incl
        dirn = 0
        if header == EXTENDED_HEADER_LEN:
            pkt_type = buf[pos + 22]
            if pkt_type == PACKET_OUTGOING:
                dirn = 2
            elif pkt_type < PACKET_OUTGOING:
                dirn = 1
        # At most (2^32 - 1) * 10^9 + (2^32 - 1) * 1000 < 2^63: the kernel does not wrap
        # either.
        rows.append((pos + header, incl, orig, seconds * 1_000_000_000 + fraction * unit, dirn))
        pos += header + incl
