"""What `check` keeps of a capture read batch by batch: the rows the checks read, not the
tables.

The fast verifier hands each batch's frame and checksum rows to `StreamedChecks.add` (on a
thread of its own), then writes the batch after next over them. From each batch this keeps:
the row lists of the frame pass; the checksum rows the checks read (bad, unverified,
illegal, or with a note they read) and the count of every status; the frame rows those
lists and rows point at, and the first frame of every TCP flow, with their direction,
link-header size and "counted" flag (the checks read per-frame values there only); and the
TCP flow view, built by `flowstream` with its per-flow state carried from batch to batch,
without the segments no check reads. `StreamedInputs.context` then makes the same
`CheckContext` that `build_context` makes from whole tables (the differential tests hold
the two to the same findings).

Always holds: batches arrive in capture order with frames numbered 1.. without gaps
(otherwise `NeedTables`); Linux cooked captures (`-i any`), whose duplicate sightings are
found by comparing frames across the whole capture, raise `NeedTables` too, and the caller
reads such a capture into tables instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from wiredoctor.checks.context import (
    LINK_TABLE,
    NOTES_READ,
    CheckContext,
    mask_of,
    partial_rows,
    row_lists,
)
from wiredoctor.checks.options import CheckOptions
from wiredoctor.checks.passes import checksum_pass, frame_pass
from wiredoctor.checks.sparse import SparseFrames, SparseValues
from wiredoctor.checks.tcpflows import StreamedView, TcpView
from wiredoctor.checksum.verdict import Status
from wiredoctor.distinct import distinct
from wiredoctor.fast.growing import Growing, estimate_rows
from wiredoctor.tables import (
    CHECKSUM_DTYPE,
    FRAME_DTYPE,
    CaptureTables,
    ChecksumTable,
    FrameFlag,
    FrameTable,
    take,
)

I64 = npt.NDArray[np.int64]


class NeedTables(Exception):
    """This capture's checks need whole tables (see the module docstring)."""


@dataclass(slots=True, kw_only=True)
class StreamedInputs:
    """Everything `check` kept of one capture (see the module docstring)."""

    options: CheckOptions
    """The options the frame pass ran with (the MTU)."""
    n_frames: int
    """Frames in the capture."""
    status: I64
    """Checksums in the capture per `checksum.verdict.Status` value."""
    frame_rows: I64
    """Full-table row of each kept frame (the capture's `frames`)."""
    cksum_frame_row: I64
    """Full-table frame row of each kept checksum row (the capture's `checksums`)."""
    direction: npt.NDArray[np.uint8]
    """Direction of each kept frame."""
    link_header: I64
    """Link-header bytes of each kept frame."""
    counted: npt.NDArray[np.bool_]
    """Whether each kept frame counts for flow analysis."""
    lists: list[I64]
    """ICMP, trailer, non-zero padding, snaplen-cut and over-MTU rows."""
    view: TcpView

    def context(self, tables: CaptureTables, options: CheckOptions) -> CheckContext:
        """The checks' context over the kept rows."""
        if options != self.options:
            raise ValueError("a streamed capture is checked with the options it was read with")
        checksums = tables.checksums
        listed = np.arange(len(checksums), dtype=np.int64)
        frames = SparseFrames(tables.frames, self.frame_rows, self.n_frames)
        # Per-frame arrays, kept at the kept frames only: the checks read them there.
        at = frames.position(partial_rows(checksums, listed, self.cksum_frame_row))
        partial = mask_of(len(self.frame_rows), at)
        ctx = CheckContext(
            tables=tables,
            options=options,
            frames=frames,  # type: ignore[arg-type]
            checksums=checksums,
            cksum_frame_row=self.cksum_frame_row,
            direction=SparseValues(frames, self.direction),  # type: ignore[arg-type]
            link_header=SparseValues(frames, self.link_header),  # type: ignore[arg-type]
            counted=SparseValues(frames, self.counted),  # type: ignore[arg-type]
            partial_frame=SparseValues(frames, partial),  # type: ignore[arg-type]
            listed=listed,
            **row_lists(self.lists),
        )
        ctx.cache["tcp"] = self.view
        return ctx


class _Scratch:
    """Per-batch arrays of the frame pass, reused batch after batch."""

    def __init__(self) -> None:
        self.direction = np.empty(0, dtype=np.uint8)
        self.header = np.empty(0, dtype=np.int64)
        self.counted = np.empty(0, dtype=bool)

    def sized(self, n: int) -> None:
        if self.direction.shape[0] < n:
            self.direction = np.empty(n, dtype=np.uint8)
            self.header = np.empty(n, dtype=np.int64)
            self.counted = np.empty(n, dtype=bool)


class StreamedChecks:
    """The batch sink of `fast.verify.verify_batches` for `check` (see the module
    docstring)."""

    def __init__(self, options: CheckOptions, capture_bytes: int = 0) -> None:
        self.options = options
        self.capture_bytes = capture_bytes
        self.n_frames = 0
        self.scratch = _Scratch()
        self.lists = [Growing(np.dtype(np.int64)) for _ in range(5)]
        self.kept = Growing(FRAME_DTYPE)
        self.kept_rows = Growing(np.dtype(np.int64))
        self.kept_direction = Growing(np.dtype(np.uint8))
        self.kept_header = Growing(np.dtype(np.int64))
        self.kept_counted = Growing(np.dtype(np.bool_))
        self.checksums = Growing(CHECKSUM_DTYPE)
        self.cksum_frame_row = Growing(np.dtype(np.int64))
        self.status = np.zeros(max(Status) + 1, dtype=np.int64)
        self.linktypes: set[int] = set()
        self.view = StreamedView()

    def _reserve(self, kept: int, read: int) -> None:
        """Size the view and the kept rows once for the whole capture from the first batch's
        rows per byte (growing a large array later copies it: twice the memory for a
        moment)."""
        whole = self.capture_bytes
        self.view.reserve(estimate_rows(max(self.view.size, 1), read, whole))
        rows = estimate_rows(max(kept, 1), read, whole)
        for column in (
            self.kept, self.kept_rows, self.kept_direction, self.kept_header, self.kept_counted,
        ):  # fmt: skip
            column.reserve(rows)

    def add(self, frames: FrameTable, checksums: ChecksumTable, bytes_read: int = 0) -> None:
        """Take one batch's rows (its frames numbered on from the batches before)."""
        n, first_row = len(frames), self.n_frames
        if n == 0:
            return
        if int(frames["frame"][0]) != first_row + 1 or int(frames["frame"][-1]) != first_row + n:
            raise NeedTables("frames are not numbered 1.. without gaps")
        work = self.scratch
        work.sized(n)
        direction, header, counted = work.direction[:n], work.header[:n], work.counted[:n]
        lists = np.empty((5, n), dtype=np.int64)  # pages touched only as far as listed
        counts = np.empty(5, dtype=np.int64)
        seen = frame_pass(
            frames, LINK_TABLE, self.options.mtu, direction, header, lists, counts, compiled=True
        )
        if seen & 2:
            raise NeedTables("a Linux cooked capture")
        if seen & 1:
            counted[:] = (frames["flags"] & FrameFlag.DUPLICATE_SLL) == 0
        else:
            counted[:] = True
        row_of = np.empty(len(checksums), dtype=np.int64)
        listed = np.empty(len(checksums), dtype=np.int64)
        m = checksum_pass(
            checksums, first_row + n, NOTES_READ, row_of, listed, self.status, compiled=True
        )
        picked = listed[:m]
        self.checksums.append(take(checksums, picked))
        self.cksum_frame_row.append(row_of[picked])
        opened = self.view.add(frames, counted, first_row)
        found = [lists[k, : counts[k]] + first_row for k in range(5)]
        keep = distinct(np.concatenate([*found, row_of[picked], opened]))
        if first_row == 0 and self.capture_bytes > 0 and bytes_read > 0:
            self._reserve(len(keep), bytes_read)
        for column, rows in zip(self.lists, found, strict=True):
            column.append(rows)
        local = keep - first_row
        self.kept.append(take(frames, local))
        self.kept_rows.append(keep)
        self.kept_direction.append(direction[local])
        self.kept_header.append(header[local])
        self.kept_counted.append(counted[local])
        if seen & 4:  # rows of several link types (rare: the frame pass saw it)
            self.linktypes.update(int(x) for x in distinct(frames["linktype"]))
        else:
            self.linktypes.add(int(frames["linktype"][0]))
        self.n_frames += n

    def finish(self) -> tuple[FrameTable, ChecksumTable, StreamedInputs]:
        """(kept frame rows, kept checksum rows, the rest of what the checks need).

        The arrays are views of their reservations: the pages never written cost address
        space only, and trimming would copy them."""
        inputs = StreamedInputs(
            options=self.options,
            n_frames=self.n_frames,
            status=self.status,
            frame_rows=self.kept_rows.finish(trim=False),
            cksum_frame_row=self.cksum_frame_row.finish(trim=False),
            direction=self.kept_direction.finish(trim=False),
            link_header=self.kept_header.finish(trim=False),
            counted=self.kept_counted.finish(trim=False),
            lists=[column.finish(trim=False) for column in self.lists],
            view=self.view.finish(),
        )
        return self.kept.finish(trim=False), self.checksums.finish(trim=False), inputs
