"""Row hashing and sequence-number arithmetic that the checks and both speeds of their passes
share.

Always holds: `mix` is the splitmix64 finaliser applied column by column, exactly what the
numba flow pass (`flowstream`) computes per row, so hashes from either path are equal; the
arithmetic wraps modulo 2^64 and never warns.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]

MIX_SEED = np.uint64(0x9E3779B97F4A7C15)


def mix(*columns: npt.NDArray[Any]) -> U64:
    """A 64-bit hash per row of the given integer columns (splitmix64 finaliser per column)."""
    n = len(columns[0])
    h = np.full(n, MIX_SEED, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for col in columns:
            h = h ^ col.astype(np.uint64)
            h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            h = h ^ (h >> np.uint64(31))
    return h


def wrap32(diff: I64) -> I64:
    """A 32-bit sequence-number difference as a signed value (RFC 1982 serial arithmetic)."""
    return ((diff + (1 << 31)) & 0xFFFF_FFFF) - (1 << 31)
