"""Integers from a byte window in either byte order, for the numba kernels.

Always holds: these helpers do not check bounds (numba does not either); every caller
checks that the bytes it reads lie inside the window before calling.
"""

from __future__ import annotations

import numba
import numpy as np
import numpy.typing as npt


@numba.njit(cache=True, inline="always")
def u32(buf: npt.NDArray[np.uint8], p: int, big: bool) -> int:
    """The unsigned 32-bit integer at `p` (as a non-negative int64)."""
    if big:
        return int(
            (np.int64(buf[p]) << 24)
            | (np.int64(buf[p + 1]) << 16)
            | (np.int64(buf[p + 2]) << 8)
            | np.int64(buf[p + 3])
        )
    return int(
        (np.int64(buf[p + 3]) << 24)
        | (np.int64(buf[p + 2]) << 16)
        | (np.int64(buf[p + 1]) << 8)
        | np.int64(buf[p])
    )


@numba.njit(cache=True, inline="always")
def u16(buf: npt.NDArray[np.uint8], p: int, big: bool) -> int:
    """The unsigned 16-bit integer at `p`."""
    if big:
        return int((np.int64(buf[p]) << 8) | np.int64(buf[p + 1]))
    return int((np.int64(buf[p + 1]) << 8) | np.int64(buf[p]))
