"""The window loop shared by the pcap and pcapng readers.

A format's `Walker` indexes records inside one mapped window, with a numba kernel for a
stream of KERNEL_BYTES or more and in plain Python below that (this loop decides, once per
walk, from the stream's size; both give the same records). This loop maps the windows,
carries a record that straddles a window's end over to the next window (whose start is that
record), grows a window for a record bigger than it, turns the columns into
`RecordBatch`es, and turns a stop into one warning naming the byte offset.

Always holds: a stream shorter than KERNEL_BYTES is walked without importing numba; frames
are numbered 1, 2, 3… across windows and sections; a record is only
yielded when all its bytes are in the stream; the loop ends (every step advances or stops)
and never maps more than the window size or one record, whichever is larger.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Protocol, TypeVar, cast

import numpy as np
import numpy.typing as npt

from wiredoctor.capture.batch import RecordBatch
from wiredoctor.capture.stream import ByteStream, Window

Column = TypeVar("Column", bound=npt.NDArray[Any])

BATCH_MAX = 1 << 18
"""Most rows in one batch (bounds the column memory: 47 bytes per row, 12 MiB)."""

POOL_SIZE = 3
"""Column sets kept for reuse."""

KERNEL_BYTES = 1 << 20
"""Streams at least this long are walked by the numba kernels, shorter ones in plain Python.

Loading numba and its cached kernels takes longer than walking a capture this small in
Python, so a small capture never loads it. The same bound as `pipeline.SMALL_CAPTURE`, below
which the reference decoders verify the frames: a small capture is then read without numba
from end to end.
"""

AHEAD_SLACK = 1 << 20
"""How far before a window's end the next window is prepared from (a record carried over
that starts earlier, longer than this, gets a window mapped when needed)."""

# References to a column while `unshared` looks at it: the attribute, the tuple, the loop
# variable and getrefcount's argument (CPython counts).
_OWN_REFERENCES = 4


class Status(IntEnum):
    """How a walk over one window ended."""

    WINDOW_DONE = 0  # every record up to `pos` indexed; `pos` may lie past the window (skip)
    PARTIAL = 1  # the record at `pos` does not end inside the window
    FULL = 2  # the batch's capacity is used up; go on from `pos`
    STOP = 3  # the record at `pos` is unusable; stop reading here


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    """What one walk over (part of) a window found."""

    count: int
    """Rows filled in the columns."""
    pos: int
    """Window offset where the walk stopped (next record, or the troublesome one)."""
    status: Status
    need: int = 0
    """For PARTIAL: bytes from `pos` the record needs; for a skip: the skipped block's length."""
    problem: str = ""
    """For PARTIAL (used when the stream ends), STOP and a skip past the end: what is wrong."""
    skipped_from: int = -1
    """For WINDOW_DONE with `pos` past the window: window offset of the block skipped."""


class Columns:
    """Preallocated output columns one kernel call fills."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.data_off = np.empty(capacity, dtype=np.int64)
        self.caplen = np.empty(capacity, dtype=np.uint32)
        self.wirelen = np.empty(capacity, dtype=np.uint32)
        self.ts_ns = np.empty(capacity, dtype=np.int64)
        self.linktype = np.empty(capacity, dtype=np.uint16)
        self.iface = np.empty(capacity, dtype=np.uint16)
        self.direction = np.empty(capacity, dtype=np.uint8)
        self.comment_off = np.empty(capacity, dtype=np.int64)
        self.comment_len = np.empty(capacity, dtype=np.uint32)

    def unshared(self) -> bool:
        """True when no batch handed out still looks at these arrays (so they may be refilled).

        Every view a batch holds keeps a reference to its base array; with the batch gone,
        the only references left are this object's attribute and the call's argument.
        Reusing the arrays spares a fresh allocation's page faults, which cost more per
        record than the walk itself.
        """
        return all(
            sys.getrefcount(column) <= _OWN_REFERENCES
            for column in (
                self.data_off,
                self.caplen,
                self.wirelen,
                self.ts_ns,
                self.linktype,
                self.iface,
                self.direction,
                self.comment_off,
                self.comment_len,
            )
        )

    def batch(
        self, buf: npt.NDArray[np.uint8], window_start: int, count: int, first_frame: int
    ) -> RecordBatch:
        """The first `count` rows as a batch over `buf` (which starts at `window_start`)."""

        data_off = _trim(self.data_off, count)
        return RecordBatch(
            buf=buf,
            data_off=data_off,
            file_off=data_off + np.int64(window_start),
            caplen=_trim(self.caplen, count),
            wirelen=_trim(self.wirelen, count),
            ts_ns=_trim(self.ts_ns, count),
            linktype=_trim(self.linktype, count),
            iface=_trim(self.iface, count),
            direction=_trim(self.direction, count),
            comment_off=_trim(self.comment_off, count),
            comment_len=_trim(self.comment_len, count),
            first_frame=first_frame,
        )


def _trim(column: Column, count: int) -> Column:
    # Keep the rows used; copy when most of the allocation would otherwise sit idle.
    part = column[:count]
    return cast(Column, part.copy() if count * 4 < column.shape[0] else part)


class Walker(Protocol):
    """A format's record indexer over one window."""

    min_record: int
    """Smallest possible record, to size the columns."""

    def walk(self, buf: npt.NDArray[np.uint8], pos: int, columns: Columns, compiled: bool) -> Step:
        """Index records from `pos` on into `columns` (from row 0); `compiled` chooses the
        numba kernel over the plain-Python walk (same result, different start-up cost)."""
        ...


def drive(
    stream: ByteStream,
    start: int,
    walker: Walker,
    window_bytes: int,
    path: str,
    warnings: list[str],
    compiled: bool | None = None,
) -> Iterator[RecordBatch]:
    """Yield the batches of the records from stream offset `start` to the end.

    `compiled` forces the numba walk (True) or the plain one (False); by default the stream's
    size decides (KERNEL_BYTES).
    """
    window_bytes = max(window_bytes, 1)
    if compiled is None:
        compiled = stream.size >= KERNEL_BYTES
    frame = 1
    window_start = start
    size = window_bytes
    pool: list[Columns] = []
    window: Window | None = None
    retired: Window | None = None  # the window before: its last batch may still be in use
    while window_start < stream.size:
        if window is not None:
            # A consumer verifies the last batch of a window while this loop maps the next
            # one; releasing that window now would fault its pages back in one by one.
            if retired is not None:
                retired.release()
            retired = window
        window = stream.window(window_start, size)
        buf = window.buf
        at_end = window_start + buf.shape[0] >= stream.size
        if not at_end:
            # The next window starts at most AHEAD_SLACK before this one ends (a record
            # straddling the end is carried over): map it now, its pages faulted in on a
            # helper thread while this one is walked and verified.
            end = window_start + buf.shape[0]
            ahead = max(window_start, end - AHEAD_SLACK)
            stream.prepare(ahead, window_bytes + end - ahead)
        pos = 0
        while True:
            capacity = min(BATCH_MAX, (buf.shape[0] - pos) // walker.min_record + 1)
            columns = _columns(pool, capacity)
            step = walker.walk(buf, pos, columns, compiled)
            if step.count:
                yield columns.batch(buf, window_start, step.count, frame)
                frame += step.count
            pos = step.pos
            if step.status != Status.FULL:
                break
        if step.status == Status.STOP:
            _warn(warnings, path, window_start + pos, step.problem)
            return
        if step.status == Status.PARTIAL:
            if at_end:
                _warn(warnings, path, window_start + pos, step.problem)
                return
            # Carry the straddling record over: the next window starts with it and is at
            # least as large as the record.
            size = max(window_bytes, step.need)
        else:
            size = window_bytes
            if window_start + pos > stream.size:
                # A skipped block claimed bytes beyond the end of the stream.
                block = window_start + step.skipped_from
                problem = f"block incomplete ({stream.size - block} of {step.need} bytes)"
                _warn(warnings, path, block, problem)
                return
        window_start += pos


def _columns(pool: list[Columns], capacity: int) -> Columns:
    """Columns for the next batch: a pooled set no batch still uses, else a new one.

    A consumer looping over batches still holds the previous batch while asking for the
    next, so two sets in turn are enough for a streaming consumer; one that keeps its
    batches gets fresh columns every time.
    """
    for columns in pool:
        if columns.capacity >= capacity and columns.unshared():
            return columns
    columns = Columns(capacity)
    pool.append(columns)
    if len(pool) > POOL_SIZE:
        del pool[0]
    return columns


def _warn(warnings: list[str], path: str, offset: int, problem: str) -> None:
    message = f"{path}: cut short at byte {offset}: {problem}"
    if message not in warnings:
        warnings.append(message)
