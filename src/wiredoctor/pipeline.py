"""From a path to verified tables: open the capture, verify it, keep the source for reads.

Binary captures go through the fast verifier; text (tcpdump output, Wireshark lists, hex
dumps) and captures under a megabyte go through the reference decoders (which also handle
records that carry printed fields instead of bytes): for them, loading the compiled kernels
would cost more than decoding in Python. So do captures of up to FIRST_RUN_FRAMES frames
while the compiled kernels are not built yet (the first run after an install that did not
build them): building takes longer than decoding them, so the build is started in the
background for the runs after (`native.background`). For `check`, a capture on the fast
path is streamed through the checks instead of held (`checks.streamed`).

Always holds: the tables returned are exactly what the reference decoders would produce, or
for a streamed capture exactly the rows of them its checks read but for `payload_hash`,
which a streamed capture leaves 0 (the differential tests hold both speeds, and both ways,
to that); reader warnings are kept, not printed; the capture source stays open for
`read_frame` until `close()` or until the tables go.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np
import numpy.typing as npt

from wiredoctor.capture.batch import RecordBatch
from wiredoctor.capture.open import open_capture
from wiredoctor.capture.record import Record
from wiredoctor.capture.source import CaptureSource
from wiredoctor.capture.walk import KERNEL_BYTES
from wiredoctor.checks.options import CheckOptions
from wiredoctor.distinct import distinct
from wiredoctor.tables import CaptureTables, ChecksumTable, FrameTable

SMALL_CAPTURE = KERNEL_BYTES
"""Below this many bytes the reference decoders finish before the kernels would be loaded
(the bound under which the record walk is plain Python too: such a capture never loads
numba)."""

FIRST_RUN_FRAMES = 30_000
"""While the compiled kernels are not built, captures of at most this many frames (and
FIRST_RUN_BYTES) are read by the reference decoders: about 2.5 s here, where building the
kernels takes about 8 s."""

FIRST_RUN_BYTES = 64 << 20
"""The bytes bound of the same choice (the reference decoders sum checksums in Python)."""

_COUNT_WINDOW = 4 << 20
"""Window of the frame count that makes that choice (it stops past FIRST_RUN_FRAMES)."""

STREAM_WINDOW = 24 << 20
"""Bytes of the capture each batch maps when `check` streams it. Up to three windows are
mapped at a time (the batch being verified, the one being finished, the next one read
ahead), and the batch buffers scale with it, so this bounds most of the memory a streamed
capture takes; but every batch costs a few milliseconds more of CPU (per-batch calls, and
the TCP pass finding its flows' state out of cache again). On the 1M-frame benchmark
capture 24 MiB windows took 198 MiB at peak against 234 MiB with 32 MiB windows, with no
difference in CPU time beyond the noise of nine alternating runs (median ratio 1.005)."""

Progress = Callable[[int, int], None]
"""Called with (bytes done, bytes in all) as a capture is read."""


def _reporting(
    batches: Iterator[RecordBatch], total: int, progress: Progress
) -> Iterator[RecordBatch]:
    for batch in batches:
        yield batch
        if len(batch):
            progress(int(batch.file_off[-1]) + int(batch.caplen[-1]), total)


def _reference_records(source: CaptureSource) -> Iterable[Record] | None:
    """The records the reference decoders verify, or None when this capture goes to the
    fast path (see the module docstring)."""
    if source.format == "text" or source.size < SMALL_CAPTURE:
        return source.records(compiled=False)
    if source.size > FIRST_RUN_BYTES:
        return None
    # Imported here: a text or small capture never needs the compiled kernels' place.
    from wiredoctor.native.library import pending

    target = pending()
    if target is None:
        return None
    # The batches that count the frames are kept (a walk that keeps its batches gets fresh
    # columns for each) and are the ones verified: the capture is walked once.
    walked: list[RecordBatch] = []
    frames = 0
    for batch in source.batches(_COUNT_WINDOW, compiled=False):
        walked.append(batch)
        frames += len(batch)
        if frames > FIRST_RUN_FRAMES:
            return None
    from wiredoctor.native.background import build_later

    build_later(target)
    return (record for batch in walked for record in batch.records())


def load_capture(
    path: str,
    index: int = 0,
    progress: Progress | None = None,
    checks: CheckOptions | None = None,
) -> CaptureTables:
    """Read and verify one capture; `index` numbers it among the inputs.

    With `checks` (what `check` passes), a capture for the fast path is streamed: the
    tables returned hold only the rows those checks read (`checks.streamed`; `complete` is
    False), so memory grows with the capture's TCP segments, not with its frames.
    """
    source = open_capture(path)
    try:
        # Each speed is imported only when used: the fast path loads numba, which a small
        # capture never needs, and a large one needs the reference decoders only for the
        # rare frames the kernel hands back.
        records = _reference_records(source)
        if records is None and checks is not None:
            streamed = _stream_source(source, path, index, progress, checks)
            if streamed is not None:
                return streamed
        if records is not None:
            from wiredoctor.decode.verify import verify_records

            frames, checksums = verify_records(records, capture_index=index)
        else:
            from wiredoctor.fast.verify import verify_batches

            batches = source.batches()
            if progress is not None:
                batches = _reporting(batches, source.size, progress)
            frames, checksums = verify_batches(
                batches, capture_index=index, capture_bytes=source.size
            )
    except BaseException:
        source.close()
        raise
    if progress is not None:
        progress(source.size, source.size)
    linktypes = [int(x) for x in distinct(frames["linktype"])]
    return _tables(source, path, index, frames, checksums, linktypes)


def _tables(
    source: CaptureSource,
    path: str,
    index: int,
    frames: FrameTable,
    checksums: ChecksumTable,
    linktypes: list[int],
    prepared: Any = None,
) -> CaptureTables:
    """The capture's tables, reading frame bytes back from `source` (kept open for as long
    as the tables live); `prepared`: what `check` kept of a streamed capture."""
    file_off = frames["file_off"]
    caplen = frames["caplen"]
    numbers = frames["frame"]
    first = int(numbers[0]) if len(frames) else 1
    # Frame numbers ascend. Whole tables number every frame: a frame's row is found by
    # subtraction. A streamed capture holds only the frames its checks read: their numbers
    # are searched, as one int64 copy (numpy would copy and widen the strided uint32
    # column at every search).
    whole = not len(frames) or int(numbers[-1]) - first == len(frames) - 1
    kept: npt.NDArray[np.int64] | None = None if whole else numbers.astype(np.int64)

    def read_frame(frame: int) -> bytes:
        if kept is None:
            row = frame - first
            found = 0 <= row < len(frames)
        else:
            row = int(np.searchsorted(kept, frame))
            found = row < len(kept) and int(kept[row]) == frame
        if not found or int(file_off[row]) < 0:
            return b""
        return source.read_frame(int(file_off[row]), int(caplen[row]))

    tables = CaptureTables(
        path=path,
        index=index,
        format=source.format,
        linktypes=linktypes,
        frames=frames,
        checksums=checksums,
        warnings=list(source.warnings),
        read_frame=read_frame,
        close=source.close,
        prepared=prepared,
    )
    weakref.finalize(tables, source.close)
    return tables


def stream_capture(
    path: str, checks: CheckOptions, index: int = 0, window_bytes: int | None = None
) -> CaptureTables | None:
    """`path` read through the fast path for `check`, whatever its size, keeping only the
    rows the checks read; None for text, and for a capture whose checks need whole tables
    (as `load_capture` decides for large captures; the tests hold both to equal findings).
    `window_bytes` sets how much of the capture each batch maps."""
    source = open_capture(path)
    try:
        if source.format != "text":
            streamed = _stream_source(source, path, index, None, checks, window_bytes)
            if streamed is not None:
                return streamed
    except BaseException:
        source.close()
        raise
    source.close()
    return None


def _stream_source(
    source: CaptureSource,
    path: str,
    index: int,
    progress: Progress | None,
    checks: CheckOptions,
    window_bytes: int | None = None,
) -> CaptureTables | None:
    """The capture read for `check` with only the rows its checks read kept, or None when
    its checks need whole tables (`streamed.NeedTables`: the caller reads it again)."""
    from wiredoctor.checks.streamed import NeedTables, StreamedChecks
    from wiredoctor.fast.verify import verify_batches

    sink = StreamedChecks(checks, source.size)
    warned = len(source.warnings)
    batches = source.batches(STREAM_WINDOW if window_bytes is None else window_bytes)
    if progress is not None:
        batches = _reporting(batches, source.size, progress)
    try:
        # No payload hashes: the checks read them only in Linux cooked captures, which are
        # never streamed (NeedTables below).
        verify_batches(
            batches, capture_index=index, capture_bytes=source.size, sink=sink.add, hashes=False
        )
    except NeedTables:
        del source.warnings[warned:]  # the walk again says what it says
        return None
    if progress is not None:
        progress(source.size, source.size)
    frames, checksums, inputs = sink.finish()
    return _tables(source, path, index, frames, checksums, sorted(sink.linktypes), inputs)
