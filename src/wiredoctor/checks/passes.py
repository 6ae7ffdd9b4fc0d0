"""Which speed runs the table passes: the compiled kernels for large tables, numpy for small.

`rowscan` and `flowstream` read each wide frame record once in compiled loops, which pays off
on captures of hundreds of thousands of frames; loading their compiled code (through
`wiredoctor.native`: the shared library, or numba's JIT) costs more than a whole-column
numpy pass (`plainscan`) over a table of a few thousand rows. This is the one place that
chooses, by the frame table's rows (KERNEL_ROWS); the two speeds give the same outputs, so
the choice never changes a finding.

Always holds: compiled code is loaded only when a table of KERNEL_ROWS frames or more is
scanned; every function here has the signature of the pass it runs, plus `compiled` to
force a speed (None: by size).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from wiredoctor.checks import plainscan
from wiredoctor.native.library import kernel

I64 = npt.NDArray[np.int64]

KERNEL_ROWS = 50_000
"""Frame tables with at least this many rows are scanned by the numba kernels."""


def use_kernels(frame_rows: int, compiled: bool | None = None) -> bool:
    """True when the numba kernels should scan a capture of `frame_rows` frames."""
    return frame_rows >= KERNEL_ROWS if compiled is None else compiled


def frame_pass(
    frames: npt.NDArray[np.void], link_table: I64, mtu: int, direction: npt.NDArray[np.uint8],
    header: I64, lists: I64, counts: I64, *, compiled: bool | None = None,
) -> int:  # fmt: skip
    """`rowscan.frame_pass` or `plainscan.frame_pass` (same outputs)."""
    if use_kernels(len(frames), compiled):
        run = kernel("frame_pass")
        return int(run(frames, link_table, mtu, direction, header, lists, counts))
    return plainscan.frame_pass(frames, link_table, mtu, direction, header, lists, counts)


def checksum_pass(
    checksums: npt.NDArray[np.void], n_frames: int, note_mask: int, row_of: I64, listed: I64,
    tally: I64, *, compiled: bool | None = None,
) -> int:  # fmt: skip
    """`rowscan.checksum_pass` or `plainscan.checksum_pass` (same outputs), chosen by the
    frame count like the other passes of the same capture."""
    if use_kernels(n_frames, compiled):
        run = kernel("checksum_pass")
        return int(run(checksums, n_frames, note_mask, row_of, listed, tally))
    return plainscan.checksum_pass(checksums, n_frames, note_mask, row_of, listed, tally)


def tcp_stream(*args: Any) -> tuple[int, int, int, int]:
    """`flowstream.tcp_stream_pass` (compiled only: it serves captures the fast path read)."""
    done, written, flows, pending = kernel("tcp_stream_pass")(*args)
    return int(done), int(written), int(flows), int(pending)


def tcp_pending_fold(
    pending_flow: npt.NDArray[np.int32], pending_ack: npt.NDArray[np.uint32], count: int,
    first: I64, low: I64, high: I64,
) -> int:  # fmt: skip
    """`flowstream.tcp_pending_fold`."""
    return int(kernel("tcp_pending_fold")(pending_flow, pending_ack, count, first, low, high))


def tcp_stream_slots(slots: I64, keys: npt.NDArray[np.uint64], n_flows: int) -> None:
    """`flowstream.tcp_stream_slots`."""
    kernel("tcp_stream_slots")(slots, keys, n_flows)


def tcp_stream_finish(*args: Any) -> None:
    """`flowstream.tcp_stream_finish`."""
    kernel("tcp_stream_finish")(*args)
