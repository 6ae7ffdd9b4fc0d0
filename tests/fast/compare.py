"""Column-by-column comparison of the fast tables with the reference tables.

Always holds: `differences` lists every column that differs, with the first frame (or
checksum row) where it does, both values, and the whole rows for context.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from wiredoctor.capture.batch import RecordBatch
from wiredoctor.decode.verify import verify_records
from wiredoctor.fast.verify import _Slot, _start_batch, verify_batches
from wiredoctor.tables import FRAME_DTYPE, ChecksumTable, FrameTable


def _table_differences(name: str, fast: np.ndarray, ref: np.ndarray) -> list[str]:
    if fast.shape != ref.shape:
        return [f"{name}: {fast.shape[0]} rows (fast) vs {ref.shape[0]} (reference)"]
    out: list[str] = []
    for field in ref.dtype.names or ():
        if np.array_equal(fast[field], ref[field]):
            continue
        row = int(np.flatnonzero(fast[field] != ref[field])[0])
        frame = int(ref["frame"][row])
        out.append(
            f"{name}.{field}: first differs at row {row} (frame {frame}): "
            f"fast {fast[field][row]!r} reference {ref[field][row]!r}\n"
            f"  fast      {fast[row]}\n  reference {ref[row]}"
        )
    return out


def differences(
    fast: tuple[FrameTable, ChecksumTable], ref: tuple[FrameTable, ChecksumTable]
) -> list[str]:
    """Every column of either table where the fast and reference tables differ."""
    return _table_differences("frames", fast[0], ref[0]) + _table_differences(
        "checksums", fast[1], ref[1]
    )


def both_paths(
    batches: Sequence[RecordBatch], capture_index: int = 0
) -> tuple[tuple[FrameTable, ChecksumTable], tuple[FrameTable, ChecksumTable]]:
    """(fast tables, reference tables) for the same batches (the reference reads their
    records, so both see exactly the same frames)."""
    fast = verify_batches(batches, capture_index)
    ref = verify_records((r for b in batches for r in b.records()), capture_index)
    return fast, ref


def kernel_only(batch: RecordBatch) -> tuple[FrameTable, ChecksumTable, np.ndarray]:
    """The kernel's own tables for one batch and its `REDO_*` mark per frame, before the
    reference path finishes anything (one chunk, on this thread)."""
    frames = np.empty(len(batch), dtype=FRAME_DTYPE)
    started = _start_batch(batch, 0, None, 1, frames, _Slot())
    return frames, started.wait(), started.fallback
