"""The fast verifier: record batches in, the two columnar tables out, equal to the reference.

Each batch is split into chunks that the nogil kernel walks on worker threads (one chunk per
core for large batches, one chunk inline for small ones). Frames the kernel hands back
(fragments, unknown link types, lying lengths, …) are verified again by the reference
`decode.verify.Verifier`, in frame order and with its reassembly state kept across batches;
their rows replace the kernel's.

Always holds: the frame table has one row per record in input order; a frame's checksum rows
are contiguous and `cksum_row` / `n_cksum` point at them; the tables have exactly the dtypes
of `tables.FRAME_DTYPE` / `tables.CHECKSUM_DTYPE`.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

from wiredoctor.fast import cache
from wiredoctor.fast.fallback import ReferencePath
from wiredoctor.fast.growing import Growing, estimate_rows
from wiredoctor.fast.marks import MAX_ROWS_PER_FRAME
from wiredoctor.native.announce import announce_compile
from wiredoctor.native.library import NativeKernel, kernel
from wiredoctor.tables import (
    CHECKSUM_DTYPE,
    FRAME_DTYPE,
    ChecksumTable,
    FrameTable,
    concat,
    empty_frames,
)

PARALLEL_MIN_FRAMES = 8_000  # below this, thread hand-off costs more than it saves
ROWS_PER_FRAME_GUESS = 3  # IPv4 header + L4 is the common case; the kernel resumes if short


class Batch(Protocol):
    """The columns of `capture.batch.RecordBatch` the fast path reads (read-only)."""

    @property
    def buf(self) -> npt.NDArray[np.uint8]: ...
    @property
    def data_off(self) -> npt.NDArray[np.int64]: ...
    @property
    def file_off(self) -> npt.NDArray[np.int64]: ...
    @property
    def caplen(self) -> npt.NDArray[np.uint32]: ...
    @property
    def wirelen(self) -> npt.NDArray[np.uint32]: ...
    @property
    def ts_ns(self) -> npt.NDArray[np.int64]: ...
    @property
    def linktype(self) -> npt.NDArray[np.uint16]: ...
    @property
    def iface(self) -> npt.NDArray[np.uint16]: ...
    @property
    def direction(self) -> npt.NDArray[np.uint8]: ...
    @property
    def first_frame(self) -> int: ...

    def __len__(self) -> int: ...


def _threads() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


_compiled = False


def _ensure_compiled() -> None:
    """Load the kernel (the shared library is built, and announced, on first use), or say
    once that numba's JIT compiles it."""
    global _compiled
    if _compiled:
        return
    run = kernel("verify_chunk")
    if not isinstance(run, NativeKernel) and not cache.kernel_cached(run):
        announce_compile()
    _compiled = True


_TEMPLATE = empty_frames(1)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Columns:
    """A batch's record columns in the exact dtypes the kernel was compiled for."""

    buf: npt.NDArray[np.uint8]
    """The batch buffer, read-only."""
    data_off: npt.NDArray[np.int64]
    """Frame offsets in `buf`."""
    caplen: npt.NDArray[np.uint32]
    """Captured lengths."""
    wirelen: npt.NDArray[np.uint32]
    """Lengths on the wire."""
    linktype: npt.NDArray[np.uint16]
    """LINKTYPE_* per frame."""
    ts_ns: npt.NDArray[np.int64]
    """Timestamps."""
    file_off: npt.NDArray[np.int64]
    """Offsets in the capture stream."""
    iface: npt.NDArray[np.uint16]
    """Interface ids."""
    direction: npt.NDArray[np.uint8]
    """Directions."""
    first_frame: int
    """Frame number of row 0."""
    capture: int
    """The capture index."""
    hashing: int
    """1: set each frame's `payload_hash`; 0: leave it 0."""

    @classmethod
    def of(cls, batch: Batch, capture: int, hashes: bool = True) -> _Columns:
        """Normalise a batch's columns (no copy when they already have the right dtypes)."""
        buf = np.asarray(batch.buf, dtype=np.uint8)
        if buf.flags.writeable:
            # One compiled signature: the kernel always sees a read-only byte buffer.
            buf = buf.view()
            buf.flags.writeable = False
        return cls(
            buf=buf,
            data_off=np.ascontiguousarray(batch.data_off, dtype=np.int64),
            caplen=np.ascontiguousarray(batch.caplen, dtype=np.uint32),
            wirelen=np.ascontiguousarray(batch.wirelen, dtype=np.uint32),
            linktype=np.ascontiguousarray(batch.linktype, dtype=np.uint16),
            ts_ns=np.ascontiguousarray(batch.ts_ns, dtype=np.int64),
            file_off=np.ascontiguousarray(batch.file_off, dtype=np.int64),
            iface=np.ascontiguousarray(batch.iface, dtype=np.uint16),
            direction=np.ascontiguousarray(batch.direction, dtype=np.uint8),
            first_frame=int(batch.first_frame),
            capture=capture,
            hashing=int(hashes),
        )


def chunk_room(frames: int) -> int:
    """Checksum rows a chunk of `frames` frames is given (the kernel resumes if short)."""
    return frames * ROWS_PER_FRAME_GUESS + MAX_ROWS_PER_FRAME + 1


def _run_chunk(
    cols: _Columns,
    lo: int,
    hi: int,
    frames: FrameTable,
    fallback: npt.NDArray[np.uint8],
    first: ChecksumTable | None = None,
    number: bool = False,
) -> ChecksumTable:
    """Run the kernel over rows [lo, hi) of a batch, growing the checksum buffer if short.

    Writes frames[lo:hi] and fallback[lo:hi]; the kernel numbers the checksum rows it
    writes, and the frames' `cksum_row` relative to the buffer it wrote them into. `first`,
    of `chunk_room(hi - lo)` rows, takes the checksum rows (a buffer reused from batch to
    batch) until it is full. `number`: make `cksum_row` relative to the chunk's rows here,
    on the thread that wrote them (else `_number_rows` numbers the capture's rows later).
    """
    parts: list[ChecksumTable] = []
    held = 0
    start = lo
    while start < hi:
        room = chunk_room(hi - start)
        if first is not None and start == lo:
            cks = first
        else:
            cks = np.empty(room, dtype=CHECKSUM_DTYPE)
        done, rows = kernel("verify_chunk")(
            cols.buf,
            cols.data_off[start:hi],
            cols.caplen[start:hi],
            cols.wirelen[start:hi],
            cols.linktype[start:hi],
            cols.ts_ns[start:hi],
            cols.file_off[start:hi],
            cols.iface[start:hi],
            cols.direction[start:hi],
            cols.first_frame + start,
            cols.capture,
            _TEMPLATE,
            frames[start:hi],
            cks,
            fallback[start:hi],
            np.zeros(18, dtype=np.int64),
            cols.hashing,
        )
        parts.append(cks[:rows])
        if number and held:
            frames["cksum_row"][start : start + int(done)] += np.uint32(held)
        held += int(rows)
        start += int(done)
    return parts[0] if len(parts) == 1 else concat(parts)


@dataclass(slots=True, kw_only=True)
class _Started:
    """A batch whose kernel chunks are running (or done) on the pool."""

    batch: Batch
    """The batch (its window stays mapped until the batch is finished)."""
    frames: FrameTable
    """The batch's rows of the frame table, being written by the kernel."""
    fallback: npt.NDArray[np.uint8]
    """The kernel's `REDO_*` mark per frame."""
    pieces: list[Future[ChecksumTable]]
    """Each chunk's checksum rows (`cksum_row` relative to its own piece)."""
    slot: _Slot
    """The buffers the batch writes into."""
    spans: list[tuple[int, int]]
    """The frame rows of each chunk."""
    sizes: list[int] = field(default_factory=list)
    """Checksum rows of each chunk (known after `wait`)."""

    def wait(self) -> ChecksumTable:
        """The batch's checksum rows, once every chunk is done (the frames' `cksum_row`
        still relative to their chunk's piece: `_number_rows` sets them); valid until the
        batch after next is started."""
        pieces = [f.result() for f in self.pieces]
        self.sizes = [int(p.shape[0]) for p in pieces]
        return pieces[0] if len(pieces) == 1 else self.slot.join(pieces)

    def rows_of_batch(self) -> None:
        """After `wait` of a batch whose chunks numbered their own rows: make `cksum_row`
        relative to the batch's joined rows."""
        offset = 0
        for (lo, hi), size in zip(self.spans, self.sizes, strict=True):
            if offset:
                self.frames["cksum_row"][lo:hi] += np.uint32(offset)
            offset += size


class _Slot:
    """What a batch in flight writes into, reused by every other batch (two are in flight:
    one verified on the pool, one finished here): the frame rows when a sink takes them,
    each chunk's checksum rows, and those rows joined. Fresh memory costs a page fault and
    zero-filling on first touch; reused buffers are still mapped, and mostly in cache."""

    GROWTH = 1.25

    def __init__(self) -> None:
        self.frames = np.empty(0, dtype=FRAME_DTYPE)
        self.chunks: list[ChecksumTable] = []
        self.joined = np.empty(0, dtype=np.uint8)
        self.sinking: Future[None] | None = None
        """The sink still reading this slot's rows, if any."""

    def release(self) -> None:
        """Wait until the sink is done with the rows of the batch before (its error, such as
        `NeedTables`, is raised here)."""
        if self.sinking is not None:
            done, self.sinking = self.sinking, None
            done.result()

    def frame_rows(self, n: int) -> FrameTable:
        if self.frames.shape[0] < n:
            self.frames = np.empty(int(n * self.GROWTH), dtype=FRAME_DTYPE)
        return self.frames[:n]

    def chunk(self, index: int, rows: int) -> ChecksumTable:
        while len(self.chunks) <= index:
            self.chunks.append(np.empty(0, dtype=CHECKSUM_DTYPE))
        if self.chunks[index].shape[0] < rows:
            self.chunks[index] = np.empty(int(rows * self.GROWTH), dtype=CHECKSUM_DTYPE)
        return self.chunks[index][:rows]

    def join(self, pieces: list[ChecksumTable]) -> ChecksumTable:
        """The pieces one after the other, in this slot's buffer."""
        total = sum(p.nbytes for p in pieces)
        if self.joined.shape[0] < total:
            self.joined = np.empty(int(total * self.GROWTH), dtype=np.uint8)
        return concat(pieces, self.joined)


def _start_batch(
    batch: Batch,
    capture_index: int,
    pool: ThreadPoolExecutor | None,
    workers: int,
    frames: FrameTable,
    slot: _Slot,
    number: bool = False,
    hashes: bool = True,
) -> _Started:
    """Run the kernel over a batch into `frames` (len(batch) rows): on the pool in one
    chunk per worker for large batches, inline otherwise; `number` as for `_run_chunk`,
    `hashes` as for `verify_batches`."""
    n = len(batch)
    fallback = np.zeros(n, dtype=np.uint8)
    cols = _Columns.of(batch, capture_index, hashes)
    _ensure_compiled()
    if pool is None or n < PARALLEL_MIN_FRAMES:
        done: Future[ChecksumTable] = Future()
        first = slot.chunk(0, chunk_room(n))
        done.set_result(_run_chunk(cols, 0, n, frames, fallback, first, number))
        spans = [(0, n)]
        pieces = [done]
    else:
        bounds = [int(x) for x in np.linspace(0, n, workers + 1)]
        spans = list(itertools.pairwise(bounds))
        pieces = []
        for i, (lo, hi) in enumerate(spans):
            room = slot.chunk(i, chunk_room(hi - lo))
            pieces.append(pool.submit(_run_chunk, cols, lo, hi, frames, fallback, room, number))
    return _Started(
        batch=batch, frames=frames, fallback=fallback, pieces=pieces, slot=slot, spans=spans
    )


class Sink(Protocol):
    """Takes a finished batch's rows instead of the capture's tables (`verify_batches`)."""

    def __call__(self, frames: FrameTable, checksums: ChecksumTable, bytes_read: int) -> None:
        """`frames`: the batch's frame rows (valid during the call only); `checksums`: its
        checksum rows; `bytes_read`: bytes of the capture up to its last frame."""


def verify_batches(
    batches: Iterable[Batch],
    capture_index: int = 0,
    capture_bytes: int = 0,
    sink: Sink | None = None,
    hashes: bool = True,
) -> tuple[FrameTable, ChecksumTable]:
    """Verify every frame of `batches` (one capture, in order) with the compiled kernels.

    Returns the same (FrameTable, ChecksumTable) as `decode.verify.verify_records` would for
    the same records; `capture_index` fills the `capture` column. `capture_bytes`, the
    size of the capture when known, lets the frame table be reserved once at the first
    batch.

    The kernel of one batch runs on the pool while this thread reads the next batch (the
    walk) and then finishes the one before (frames handed back to the reference path, in
    frame order; its rows numbered in the capture's tables), so reading and verifying
    overlap.

    With `sink`, each finished batch's rows go to it instead of into tables (the batch's
    frame rows are then written into one of two buffers reused batch after batch, so a
    capture of any size needs the memory of two batches), and both tables returned are
    empty. The sink runs on a thread of its own, batch after batch in order, while this
    thread reads and finishes the next batch; an exception it raises is raised here.

    With `hashes` False every `payload_hash` is left 0 (hashing the payloads is about a
    tenth of the kernel's work; `check` reads the hashes only in Linux cooked captures).
    """
    reference = ReferencePath(capture_index, hashes)
    frames = Growing(FRAME_DTYPE)
    cks = Growing(CHECKSUM_DTYPE)
    reserved = capture_bytes <= 0
    workers = _threads()
    pool: ThreadPoolExecutor | None = None
    running: list[_Started] = []  # at most one batch in flight
    slots = (_Slot(), _Slot())
    batches_started = 0
    sinker = ThreadPoolExecutor(max_workers=1) if sink is not None else None

    def finish(started: _Started) -> None:
        rows = started.wait()
        redo = np.flatnonzero(started.fallback)
        if sink is not None:
            # The kernel gave every checksum row its frame and capture, and the chunks made
            # `cksum_row` relative to their own rows; the sink reads no `cksum_row`, the
            # reference path needs it relative to the batch's rows.
            if redo.shape[0]:
                started.rows_of_batch()
                _, rows = reference.replace(
                    started.batch, started.frames, rows, redo, started.fallback
                )
            assert sinker is not None
            started.slot.sinking = sinker.submit(
                sink, started.frames, rows, _bytes_read(started.batch)
            )
            return
        if redo.shape[0]:
            # The reference path finds each frame's rows by `cksum_row`: number them in the
            # batch's rows first.
            _number_rows(started.frames, rows)
            _, rows = reference.replace(started.batch, started.frames, rows, redo, started.fallback)
        if capture_bytes > 0 and cks.size == 0:
            # The checksum rows per byte of the first batch size the whole table once.
            read = _bytes_read(started.batch)
            cks.reserve(estimate_rows(int(rows.shape[0]), read, capture_bytes))
        _number_rows(started.frames, rows, cks.size)
        cks.append(rows)

    try:
        for batch in batches:
            n = len(batch)
            if n == 0:
                continue
            slot = slots[batches_started % 2]
            batches_started += 1
            if sink is not None:
                slot.release()
                target = slot.frame_rows(n)
            else:
                if not reserved:
                    reserved = True
                    frames.reserve(estimate_rows(n, _bytes_read(batch), capture_bytes))
                if running and frames.size + n > frames.capacity:
                    # Growing moves the rows: nothing may be writing into them then.
                    finish(running.pop())
                target = frames.extend(n)
            if pool is None and workers > 1 and n >= PARALLEL_MIN_FRAMES:
                pool = ThreadPoolExecutor(max_workers=workers)
            started = _start_batch(
                batch, capture_index, pool, workers, target, slot, sink is not None, hashes
            )
            if running:
                finish(running.pop())
            running.append(started)
        while running:
            finish(running.pop())
        for slot in slots:
            slot.release()
    finally:
        if pool is not None:
            pool.shutdown()
        if sinker is not None:
            sinker.shutdown(cancel_futures=True)
    return frames.finish(), cks.finish()


def _bytes_read(batch: Batch) -> int:
    """Bytes of the capture read up to the end of a batch's last frame."""
    return int(batch.file_off[-1]) + int(batch.caplen[-1])


def _number_rows(frames: FrameTable, cks: ChecksumTable, first_row: int = 0) -> None:
    """Point every frame at its checksum rows (`first_row` being the capture's table row of
    cks[0]; the rows carry their frame and capture already)."""
    numbered = int(kernel("number_rows")(frames, cks.shape[0], first_row))
    if numbered != cks.shape[0]:
        raise AssertionError(f"{numbered} checksum rows numbered of {cks.shape[0]}")
