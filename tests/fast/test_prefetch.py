"""fast.prefetch compiles on this machine's LLVM and changes no value."""

from __future__ import annotations

import numba
import numpy as np

from wiredoctor.fast.prefetch import AHEAD, LINE, prefetch


@numba.njit
def _sum_with_prefetch(buf: np.ndarray) -> int:
    total = 0
    asked = 0
    for i in range(buf.shape[0]):
        while asked < min(i + AHEAD, buf.shape[0]):
            prefetch(buf, asked)
            asked += LINE
        total += buf[i]
    prefetch(buf, buf.shape[0] - 1)  # the last byte: still inside, still no effect
    return total


def test_a_loop_with_prefetches_computes_what_it_did_without() -> None:
    data = np.random.default_rng(7).integers(0, 256, 3 * AHEAD + 5, dtype=np.uint8)
    assert _sum_with_prefetch(data) == int(data.sum(dtype=np.int64))
    readonly = data.copy()
    readonly.flags.writeable = False
    assert _sum_with_prefetch(readonly) == int(data.sum(dtype=np.int64))
