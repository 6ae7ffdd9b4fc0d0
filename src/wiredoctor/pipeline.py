"""From a path to verified tables: open the capture, verify it, keep the source for reads.

Binary captures go through the fast verifier; text (tcpdump output, Wireshark lists, hex
dumps) and captures under a megabyte go through the reference decoders (which also handle
records that carry printed fields instead of bytes): for them, loading the compiled kernels
would cost more than decoding in Python.

Always holds: the tables returned are exactly what the reference decoders would produce
(the differential tests hold both speeds to that); reader warnings are kept, not printed;
the capture source stays open for `read_frame` until `close()` or until the tables go.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator

import numpy as np

from wiredoctor.capture.batch import RecordBatch
from wiredoctor.capture.open import open_capture
from wiredoctor.capture.walk import KERNEL_BYTES
from wiredoctor.tables import CaptureTables

SMALL_CAPTURE = KERNEL_BYTES
"""Below this many bytes the reference decoders finish before the kernels would be loaded
(the bound under which the record walk is plain Python too: such a capture never loads
numba)."""

Progress = Callable[[int, int], None]
"""Called with (bytes done, bytes in all) as a capture is read."""


def _reporting(
    batches: Iterator[RecordBatch], total: int, progress: Progress
) -> Iterator[RecordBatch]:
    for batch in batches:
        yield batch
        if len(batch):
            progress(int(batch.file_off[-1]) + int(batch.caplen[-1]), total)


def load_capture(path: str, index: int = 0, progress: Progress | None = None) -> CaptureTables:
    """Read and verify one capture; `index` numbers it among the inputs."""
    source = open_capture(path)
    try:
        # Each speed is imported only when used: the fast path loads numba, which a small
        # capture never needs, and a large one needs the reference decoders only for the
        # rare frames the kernel hands back.
        if source.format == "text" or source.size < SMALL_CAPTURE:
            from wiredoctor.decode.verify import verify_records

            frames, checksums = verify_records(source.records(), capture_index=index)
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
    file_off = frames["file_off"]
    caplen = frames["caplen"]
    first = int(frames["frame"][0]) if len(frames) else 1

    def read_frame(frame: int) -> bytes:
        row = frame - first
        if not 0 <= row < len(frames) or int(file_off[row]) < 0:
            return b""
        return source.read_frame(int(file_off[row]), int(caplen[row]))

    tables = CaptureTables(
        path=path,
        index=index,
        format=source.format,
        linktypes=[int(x) for x in np.unique(frames["linktype"])],
        frames=frames,
        checksums=checksums,
        warnings=list(source.warnings),
        read_frame=read_frame,
        close=source.close,
    )
    weakref.finalize(tables, source.close)
    return tables
