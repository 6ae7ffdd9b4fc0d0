"""The numba kernel that walks pcapng blocks inside one mapped window (large captures).

Blocks (draft-ietf-opsawg-pcapng §3.1): type (4), total length (4), body, total length (4).
Packet blocks are indexed here: Enhanced Packet Block (type 6, §4.3), Simple Packet Block
(type 3, §4.4) and the obsolete Packet Block (type 2, Appendix A). Section headers and
interface descriptions are handed back to Python (they are rare and carry the state the
kernel reads); every other block type is skipped by its length, even past the window.

`pcapng_plain.walk_pcapng` is the same walk in plain Python for small captures (same
arguments, same result; the tests compare them). The constants live in `pcapng_format`:
numba reads them as compile-time constants, so a change there needs this file touched too
(numba checks only this file's date against its cache).

Always holds: only `pcapng.PcapngWalker` imports this module, and only for captures large
enough to be worth loading numba; every read is checked against the window first; a block
length below 12 or a packet block above MAX_BLOCK stops the walk; a block length that is
not a multiple of 4 is rounded up and the trailing length copy is not compared (Wireshark
reads such files; so do we).
"""

from __future__ import annotations

import numba
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
from wiredoctor.capture.readint import u16, u32
from wiredoctor.capture.timestamps import RES_DECIMAL
from wiredoctor.capture.timestamps_kernel import units_to_ns
from wiredoctor.fast.prefetch import AHEAD, LINE, prefetch


@numba.njit(cache=True)
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

    Returns (rows filled, pos, code, arg, arg2); for a skip past the window end, code 0 with
    `pos` beyond the window and `arg` the skipped block's start.
    """
    size = buf.shape[0]
    capacity = data_off.shape[0]
    asked = max(pos, 0)  # bytes below this were prefetched
    while True:
        if pos >= size:
            return n, pos, 0, 0, 0
        # Where the next block starts is known only once this one is read: ask for the lines
        # ahead now (`fast.prefetch`), so that the walk does not wait on memory block by block.
        ahead = min(pos + AHEAD, size)
        asked = max(asked, pos)
        while asked < ahead:
            prefetch(buf, asked)
            asked += LINE
        if n >= capacity:
            return n, pos, 2, 0, 0
        if pos + 8 > size:
            return n, pos, 1, 8, 0
        block_type = u32(buf, pos, big)
        if block_type == BLOCK_SHB:
            return n, pos, CODE_SHB, 0, 0
        length = u32(buf, pos + 4, big)
        if length < 12:
            return n, pos, CODE_SHORT_BLOCK, length, 0
        # Lengths must be multiples of 4 (§3.1); some writers state the unpadded length of
        # a padded block. Wireshark rounds up, and so do we.
        length = (length + 3) & ~3
        if block_type != BLOCK_EPB and block_type != BLOCK_SPB and block_type != BLOCK_OPB:
            if block_type == BLOCK_IDB:
                if pos + length > size:
                    return n, pos, 1, length, 0
                return n, pos, CODE_IDB, length, 0
            # Unknown or uninteresting block (NRB, ISB, DSB, custom…): skip by its length.
            start = pos
            pos += length
            if pos > size:
                return n, pos, 0, start, 0
            continue
        if length > MAX_BLOCK:
            return n, pos, CODE_HUGE_BLOCK, length, 0
        if pos + length > size:
            return n, pos, 1, length, 0
        end = pos + length - 4  # the trailing length copy
        dirn = 0
        c_off = -1
        c_len = 0
        if block_type == BLOCK_SPB:
            if length < 16:
                return n, pos, CODE_BAD_PACKET, 0, length
            if n_if < 1:
                return n, pos, CODE_NO_INTERFACE, 0, n_if
            orig = u32(buf, pos + 8, big)
            cap = min(orig, end - (pos + 12))
            if if_snaplen[0] > 0:
                cap = min(cap, if_snaplen[0])
            ifc = 0
            units_ns = 0
            first = pos + 12
        else:
            if length < 32:
                return n, pos, CODE_BAD_PACKET, 0, length
            if block_type == BLOCK_EPB:
                ifc = u32(buf, pos + 8, big)
            else:
                ifc = u16(buf, pos + 8, big)
            if ifc >= n_if:
                return n, pos, CODE_NO_INTERFACE, ifc, n_if
            hi = np.uint64(u32(buf, pos + 12, big))
            lo = np.uint64(u32(buf, pos + 16, big))
            cap = u32(buf, pos + 20, big)
            orig = u32(buf, pos + 24, big)
            first = pos + 28
            if first + cap > end:
                return n, pos, CODE_BAD_PACKET, cap, length
            units = (hi << np.uint64(32)) | lo
            kind = if_res_kind[ifc]
            exponent = if_res_exp[ifc]
            # Fast paths for µs (the default) and ns, the resolutions nearly every file uses.
            if kind == RES_DECIMAL and exponent == 6:
                units_ns = int(np.int64(units * np.uint64(1000)))
            elif kind == RES_DECIMAL and exponent == 9:
                units_ns = int(np.int64(units))
            else:
                units_ns = int(units_to_ns(units, kind, exponent))
            units_ns += int(if_offset_s[ifc]) * 1_000_000_000
            # Options follow the data padded to 32 bits (§3.5).
            p = first + ((cap + 3) & ~3)
            while p + 4 <= end:
                code = u16(buf, p, big)
                olen = u16(buf, p + 2, big)
                if code == OPT_END or p + 4 + olen > end:
                    break
                if code == OPT_COMMENT and c_off < 0:
                    c_off = p + 4
                    c_len = olen
                elif code == OPT_FLAGS and olen >= 4:
                    # Bits 0-1: 00 unknown, 01 inbound, 10 outbound (§4.3.1).
                    bits = u32(buf, p + 4, big) & 3
                    if bits == 1 or bits == 2:
                        dirn = bits
                p += 4 + ((olen + 3) & ~3)
        data_off[n] = first
        caplen[n] = cap
        wirelen[n] = orig
        ts_ns[n] = units_ns
        linktypes[n] = if_linktype[ifc]
        iface[n] = ifc
        direction[n] = dirn
        comment_off[n] = c_off
        comment_len[n] = c_len
        n += 1
        pos += length
