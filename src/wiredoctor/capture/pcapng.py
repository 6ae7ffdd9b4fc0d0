"""The pcapng reader: section and interface state in Python, packet blocks in a walker.

Packet blocks are indexed by `pcapng_kernel` (numba, large captures) or `pcapng_plain`
(small ones); the caller of `walk` says which, and both give the same rows and codes.

Section Header Block (draft-ietf-opsawg-pcapng §4.1): a new section resets the interface
list and may change byte order. Interface Description Block (§4.2): link type, snaplen and
the options the timestamps need, `if_tsresol` (9) and `if_tsoffset` (14). Interface ids
are numbered per section, as the EPB's Interface ID field counts them (and tshark 4.0
prints them).

Always holds: importing this module does not import numba; the walker's state after a
window is the state at the first byte of the next window; every read of a block checks the
block lies in the window; interface ids that the batch columns cannot hold (above 65535)
stop the walk instead of wrapping.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from wiredoctor.capture import pcapng_format as block
from wiredoctor.capture import pcapng_plain
from wiredoctor.capture.timestamps import RES_DECIMAL, tsresol_parts
from wiredoctor.capture.walk import Columns, Status, Step

BOM_BIG = b"\x1a\x2b\x3c\x4d"
BOM_LITTLE = b"\x4d\x3c\x2b\x1a"
MAX_INTERFACES = 1 << 16

OPT_TSRESOL = 9
OPT_TSOFFSET = 14


@dataclass(frozen=True, slots=True, kw_only=True)
class Interface:
    """What an Interface Description Block says about one capture interface."""

    linktype: int
    """LINKTYPE_* of the interface's packets."""
    snaplen: int
    """Largest number of bytes captured per packet, 0 for no limit."""
    res_kind: int
    """timestamps.RES_DECIMAL or RES_BINARY (from if_tsresol)."""
    res_exp: int
    """Units are 10^-res_exp or 2^-res_exp seconds (default 10^-6)."""
    offset_s: int
    """if_tsoffset: seconds added to every timestamp (default 0)."""


def parse_interface(body: bytes, big: bool) -> Interface:
    """An IDB from its bytes (type through trailing length; at least 20 bytes)."""
    order: Literal["big", "little"] = "big" if big else "little"
    linktype = int.from_bytes(body[8:10], order)
    snaplen = int.from_bytes(body[12:16], order)
    res_kind, res_exp = RES_DECIMAL, 6
    offset_s = 0
    pos, end = 16, len(body) - 4
    while pos + 4 <= end:
        code = int.from_bytes(body[pos : pos + 2], order)
        length = int.from_bytes(body[pos + 2 : pos + 4], order)
        value = body[pos + 4 : pos + 4 + length]
        if code == block.OPT_END or pos + 4 + length > end:
            break
        if code == OPT_TSRESOL and length >= 1:
            res_kind, res_exp = tsresol_parts(value[0])
        elif code == OPT_TSOFFSET and length >= 8:
            offset_s = int.from_bytes(value[:8], order, signed=True)
        pos += 4 + ((length + 3) & ~3)
    return Interface(
        linktype=linktype, snaplen=snaplen, res_kind=res_kind, res_exp=res_exp, offset_s=offset_s
    )


class PcapngWalker:
    """Walks the blocks of one pcapng stream (implements walk.Walker)."""

    min_record = 12

    def __init__(self) -> None:
        self.big = False
        self.sections = 0
        self.interfaces: list[Interface] = []
        self._arrays = self._pack()

    def _pack(
        self,
    ) -> tuple[
        npt.NDArray[np.uint16],
        npt.NDArray[np.int64],
        npt.NDArray[np.int64],
        npt.NDArray[np.int64],
        npt.NDArray[np.int64],
    ]:
        ifs = self.interfaces or [
            Interface(linktype=0, snaplen=0, res_kind=RES_DECIMAL, res_exp=6, offset_s=0)
        ]
        return (
            np.array([i.linktype for i in ifs], dtype=np.uint16),
            np.array([i.snaplen for i in ifs], dtype=np.int64),
            np.array([i.res_kind for i in ifs], dtype=np.int64),
            np.array([i.res_exp for i in ifs], dtype=np.int64),
            # Seconds beyond ±2^33 would overflow the product anyway; clamp to keep int64.
            np.array([max(-(1 << 40), min(1 << 40, i.offset_s)) for i in ifs], dtype=np.int64),
        )

    def walk(self, buf: npt.NDArray[np.uint8], pos: int, columns: Columns, compiled: bool) -> Step:
        walk_pcapng: Callable[..., tuple[int, int, int, int, int]] = pcapng_plain.walk_pcapng
        if compiled:
            # Loaded only here: loading compiled code costs more than walking a small capture.
            from wiredoctor.native.library import kernel

            walk_pcapng = kernel("walk_pcapng")
        filled = 0
        while True:
            linktype, snaplen, res_kind, res_exp, offset_s = self._arrays
            filled, pos, code, arg, arg2 = walk_pcapng(
                buf,
                pos,
                filled,
                self.big,
                linktype,
                snaplen,
                res_kind,
                res_exp,
                offset_s,
                len(self.interfaces),
                columns.data_off,
                columns.caplen,
                columns.wirelen,
                columns.ts_ns,
                columns.linktype,
                columns.iface,
                columns.direction,
                columns.comment_off,
                columns.comment_len,
            )
            if code == block.CODE_SHB:
                step_or_len = self._section(buf, pos)
            elif code == block.CODE_IDB:
                step_or_len = self._interface(buf, pos, arg)
            else:
                return self._step(buf, filled, pos, code, arg, arg2)
            if isinstance(step_or_len, Step):
                return Step(
                    count=filled,
                    pos=step_or_len.pos,
                    status=step_or_len.status,
                    need=step_or_len.need,
                    problem=step_or_len.problem,
                )
            pos += step_or_len

    def _section(self, buf: npt.NDArray[np.uint8], pos: int) -> Step | int:
        """Start a new section at `pos`; its length, or the Step that stops the walk."""
        have = buf.shape[0] - pos
        if have < 12:
            problem = f"section header block incomplete ({have} of at least 28 bytes)"
            return Step(count=0, pos=pos, status=Status.PARTIAL, need=12, problem=problem)
        head = buf[pos : pos + 16].tobytes()
        bom = head[8:12]
        if bom not in (BOM_BIG, BOM_LITTLE):
            problem = f"section header block with unknown byte-order magic 0x{bom.hex()}"
            return Step(count=0, pos=pos, status=Status.STOP, problem=problem)
        big = bom == BOM_BIG
        order: Literal["big", "little"] = "big" if big else "little"
        length = (int.from_bytes(head[4:8], order) + 3) & ~3
        if length < 28:
            problem = f"section header block length {length} is below 28"
            return Step(count=0, pos=pos, status=Status.STOP, problem=problem)
        if length > block.MAX_BLOCK:
            problem = f"section header block length {length} is beyond any real header"
            return Step(count=0, pos=pos, status=Status.STOP, problem=problem)
        if length > have:
            problem = f"section header block incomplete ({have} of {length} bytes)"
            return Step(count=0, pos=pos, status=Status.PARTIAL, need=length, problem=problem)
        major = int.from_bytes(head[12:14], order)
        if major != 1:
            # §4.1: a reader must not read a section whose major version it does not know.
            problem = f"section of pcapng version {major}, only version 1 exists"
            return Step(count=0, pos=pos, status=Status.STOP, problem=problem)
        self.big = big
        self.sections += 1
        self.interfaces = []
        self._arrays = self._pack()
        return length

    def _interface(self, buf: npt.NDArray[np.uint8], pos: int, length: int) -> Step | int:
        """Add the interface described at `pos`; its length, or the Step that stops."""
        if length < 20:
            problem = f"interface description block length {length} is below 20"
            return Step(count=0, pos=pos, status=Status.STOP, problem=problem)
        if len(self.interfaces) >= MAX_INTERFACES:
            problem = f"more than {MAX_INTERFACES} interfaces in one section"
            return Step(count=0, pos=pos, status=Status.STOP, problem=problem)
        self.interfaces.append(parse_interface(buf[pos : pos + length].tobytes(), self.big))
        self._arrays = self._pack()
        return length

    def _step(
        self, buf: npt.NDArray[np.uint8], filled: int, pos: int, code: int, arg: int, arg2: int
    ) -> Step:
        """Turn a kernel result into a Step with a message for the person reading."""
        have = buf.shape[0] - pos
        if code == Status.WINDOW_DONE:
            if pos > buf.shape[0]:
                return Step(
                    count=filled,
                    pos=pos,
                    status=Status.WINDOW_DONE,
                    need=pos - arg,
                    skipped_from=arg,
                )
            return Step(count=filled, pos=pos, status=Status.WINDOW_DONE)
        if code == Status.FULL:
            return Step(count=filled, pos=pos, status=Status.FULL)
        if code == Status.PARTIAL:
            what = "block header" if arg == 8 else "block"
            problem = f"{what} incomplete ({have} of {arg} bytes)"
            return Step(count=filled, pos=pos, status=Status.PARTIAL, need=arg, problem=problem)
        if code == block.CODE_SHORT_BLOCK:
            problem = f"block length {arg} is below the 12-byte minimum"
        elif code == block.CODE_HUGE_BLOCK:
            problem = f"packet block length {arg} is beyond {block.MAX_BLOCK} bytes"
        elif code == block.CODE_NO_INTERFACE:
            problem = (
                f"packet block names interface {arg}; the section describes {arg2} interface(s)"
            )
        else:
            problem = f"packet block of {arg2} bytes cannot hold its {arg} bytes of data"
        return Step(count=filled, pos=pos, status=Status.STOP, problem=problem)
