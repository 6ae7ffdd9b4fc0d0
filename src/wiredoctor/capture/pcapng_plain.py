"""The pcapng block walk in plain Python, for captures too small to be worth loading numba.

The same walk as `pcapng_kernel.walk_pcapng` (draft-ietf-opsawg-pcapng §3.1, §4.3, §4.4,
Appendix A): the same arguments, the same result tuple and the same rows, so
`pcapng.PcapngWalker` can use either; the tests hold the two equal on the whole corpus and
on generated files. Timestamps use `timestamps.units_to_ns_reference` and then wrap to 64
bits where the kernel's int64 arithmetic wraps.

Always holds: every read is checked against the window first; section headers and interface
descriptions are handed back to the caller exactly where the kernel hands them back; nothing
here raises on any bytes.
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
import numpy.typing as npt

from wiredoctor.capture.pcapng_format import (
    BLOCK_EPB,
    BLOCK_IDB,
    BLOCK_OPB,
    BLOCK_SHB,
    BLOCK_SPB,
    CODE_BAD_PACKET,
    CODE_HUGE_BLOCK,
    CODE_IDB,
    CODE_NO_INTERFACE,
    CODE_SHB,
    CODE_SHORT_BLOCK,
    MAX_BLOCK,
    OPT_COMMENT,
    OPT_END,
    OPT_FLAGS,
)
from wiredoctor.capture.timestamps import NS_PER_S, units_to_ns_reference

_U64 = (1 << 64) - 1


class _Reader:
    """Unsigned integers of one byte order from a window (the caller checks the bounds)."""

    __slots__ = ("head", "packet", "u16", "u32", "u32x2")

    def __init__(self, big: bool) -> None:
        mark = ">" if big else "<"
        self.head = struct.Struct(mark + "II").unpack_from
        self.u16 = struct.Struct(mark + "H").unpack_from
        self.u32 = struct.Struct(mark + "I").unpack_from
        self.u32x2 = struct.Struct(mark + "HH").unpack_from
        # EPB / OPB after type and length: the id field read as 32 bits, then the
        # timestamp halves and the two lengths (§4.3, Appendix A).
        self.packet = struct.Struct(mark + "IIIII").unpack_from


_READERS = {False: _Reader(False), True: _Reader(True)}


def _wrap64(value: int) -> int:
    """`value` as the kernel's int64 arithmetic leaves it (two's complement wrap)."""
    value &= _U64
    return value - (1 << 64) if value >> 63 else value


def walk_pcapng(
    buf: npt.NDArray[np.uint8],
    pos: int,
    n: int,
    big: bool,
    if_linktype: npt.NDArray[np.uint16],
    if_snaplen: npt.NDArray[np.int64],
    if_res_kind: npt.NDArray[np.int64],
    if_res_exp: npt.NDArray[np.int64],
    if_offset_s: npt.NDArray[np.int64],
    n_if: int,
    data_off: npt.NDArray[np.int64],
    caplen: npt.NDArray[np.uint32],
    wirelen: npt.NDArray[np.uint32],
    ts_ns: npt.NDArray[np.int64],
    linktypes: npt.NDArray[np.uint16],
    iface: npt.NDArray[np.uint16],
    direction: npt.NDArray[np.uint8],
    comment_off: npt.NDArray[np.int64],
    comment_len: npt.NDArray[np.uint32],
) -> tuple[int, int, int, int, int]:
    """Index packet blocks from `pos`, filling rows from `n`.

    Returns (rows filled, pos, code, arg, arg2) as the kernel does; for a skip past the
    window end, code 0 with `pos` beyond the window and `arg` the skipped block's start.
    """
    first_row = n
    rows: list[tuple[int, int, int, int, int, int, int, int, int]] = []
    with buf.data as view:
        pos, code, arg, arg2 = _walk(
            view,
            pos,
            int(data_off.shape[0]) - n,
            _READERS[bool(big)],
            (
                if_linktype.tolist(),
                if_snaplen.tolist(),
                if_res_kind.tolist(),
                if_res_exp.tolist(),
                if_offset_s.tolist(),
            ),
            n_if,
            rows,
        )
    end = first_row + len(rows)
    if rows:
        targets: tuple[npt.NDArray[Any], ...] = (
            data_off, caplen, wirelen, ts_ns, linktypes, iface, direction, comment_off,
            comment_len,
        )  # fmt: skip
        for target, values in zip(targets, zip(*rows, strict=True), strict=True):
            target[first_row:end] = values
    return end, pos, code, arg, arg2


def _walk(
    buf: memoryview,
    pos: int,
    room: int,
    read: _Reader,
    interfaces: tuple[list[int], list[int], list[int], list[int], list[int]],
    n_if: int,
    rows: list[tuple[int, int, int, int, int, int, int, int, int]],
) -> tuple[int, int, int, int]:
    """The loop of `walk_pcapng`: appends one row tuple per packet block (data offset,
    captured, wire length, time, link type, interface, direction, comment offset, comment
    length) and returns (pos, code, arg, arg2)."""
    if_linktype, if_snaplen, if_res_kind, if_res_exp, if_offset_s = interfaces
    size = len(buf)
    while True:
        if pos >= size:
            return pos, 0, 0, 0
        if len(rows) >= room:
            return pos, 2, 0, 0
        if pos + 8 > size:
            return pos, 1, 8, 0
        block_type, length = read.head(buf, pos)
        if block_type == BLOCK_SHB:
            return pos, CODE_SHB, 0, 0
        if length < 12:
            return pos, CODE_SHORT_BLOCK, length, 0
        # Lengths must be multiples of 4 (§3.1); some writers state the unpadded length of
        # a padded block. Wireshark rounds up, and so does the kernel.
        length = (length + 3) & ~3
        if block_type not in (BLOCK_EPB, BLOCK_SPB, BLOCK_OPB):
            if block_type == BLOCK_IDB:
                if pos + length > size:
                    return pos, 1, length, 0
                return pos, CODE_IDB, length, 0
            # Unknown or uninteresting block (NRB, ISB, DSB, custom…): skip by its length.
            start = pos
            pos += length
            if pos > size:
                return pos, 0, start, 0
            continue
        if length > MAX_BLOCK:
            return pos, CODE_HUGE_BLOCK, length, 0
        if pos + length > size:
            return pos, 1, length, 0
        end = pos + length - 4  # the trailing length copy
        dirn = 0
        c_off = -1
        c_len = 0
        if block_type == BLOCK_SPB:
            if length < 16:
                return pos, CODE_BAD_PACKET, 0, length
            if n_if < 1:
                return pos, CODE_NO_INTERFACE, 0, n_if
            (orig,) = read.u32(buf, pos + 8)
            cap = min(orig, end - (pos + 12))
            if if_snaplen[0] > 0:
                cap = min(cap, if_snaplen[0])
            ifc = 0
            stamp = 0
            first = pos + 12
        else:
            if length < 32:
                return pos, CODE_BAD_PACKET, 0, length
            ifc, hi, lo, cap, orig = read.packet(buf, pos + 8)
            if block_type == BLOCK_OPB:
                # Appendix A: a 16-bit interface id, then a 16-bit drops count.
                (ifc,) = read.u16(buf, pos + 8)
            if ifc >= n_if:
                return pos, CODE_NO_INTERFACE, ifc, n_if
            first = pos + 28
            if first + cap > end:
                return pos, CODE_BAD_PACKET, cap, length
            units = (hi << 32) | lo
            stamp = units_to_ns_reference(units, if_res_kind[ifc], if_res_exp[ifc])
            stamp = _wrap64(stamp + if_offset_s[ifc] * NS_PER_S)
            # Options follow the data padded to 32 bits (§3.5).
            p = first + ((cap + 3) & ~3)
            while p + 4 <= end:
                code, olen = read.u32x2(buf, p)
                if code == OPT_END or p + 4 + olen > end:
                    break
                if code == OPT_COMMENT and c_off < 0:
                    c_off = p + 4
                    c_len = olen
                elif code == OPT_FLAGS and olen >= 4:
                    # Bits 0-1: 00 unknown, 01 inbound, 10 outbound (§4.3.1).
                    bits = read.u32(buf, p + 4)[0] & 3
                    if bits in (1, 2):
                        dirn = bits
                p += 4 + ((olen + 3) & ~3)
        rows.append((first, cap, orig, stamp, if_linktype[ifc], ifc, dirn, c_off, c_len))
        pos += length
