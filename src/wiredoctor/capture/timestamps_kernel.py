"""The numba form of the timestamp conversion, for the pcapng kernel (large captures).

`units_to_ns` computes exactly `timestamps.units_to_ns_reference` (floor of units times the
resolution in nanoseconds, wrapped to 64 bits) with 64-bit integers only.

Always holds: no floats; no product exceeds 2^64 before it is meant to wrap; only the
numba walkers import this module.
"""

from __future__ import annotations

import numba
import numpy as np

from wiredoctor.capture.timestamps import NS_PER_S, RES_DECIMAL


@numba.njit(cache=True, inline="always")
def _pow10(n: int) -> np.uint64:
    result = np.uint64(1)
    for _ in range(n):
        result = result * np.uint64(10)
    return result


@numba.njit(cache=True)
def units_to_ns(units: np.uint64, kind: int, exponent: int) -> np.int64:
    """Kernel form of `units_to_ns_reference` over uint64 units (same value, same wrap)."""
    ns = np.uint64(NS_PER_S)
    if kind == RES_DECIMAL:
        if exponent <= 9:
            return np.int64(units * _pow10(9 - exponent))
        if exponent - 9 >= 20:
            # 10^20 exceeds any 64-bit count of units: the quotient is 0.
            return np.int64(0)
        return np.int64(units // _pow10(exponent - 9))
    # Binary: floor(units * 10^9 / 2^n) without a 128-bit product. Split units into whole
    # seconds q and remainder r < 2^n; then floor(r * 10^9 / 2^n) is computed on 32-bit
    # halves of r so that no partial product exceeds 2^63.
    if exponent >= 64:
        whole = np.uint64(0)
        rem = units
    else:
        whole = units >> np.uint64(exponent)
        rem = units - (whole << np.uint64(exponent))
    rem_hi = rem >> np.uint64(32)
    rem_lo = rem & np.uint64(0xFFFFFFFF)
    if exponent < 32:
        # Here rem < 2^32 so rem * 10^9 < 2^62.
        frac = (rem_lo * ns) >> np.uint64(exponent)
    else:
        inner = rem_hi * ns + ((rem_lo * ns) >> np.uint64(32))
        shift = exponent - 32
        frac = np.uint64(0) if shift >= 64 else inner >> np.uint64(shift)
    return np.int64(whole * ns + frac)
