"""Exact timestamp arithmetic: capture time units to integer nanoseconds.

pcapng states each interface's resolution in `if_tsresol` (draft-ietf-opsawg-pcapng §4.2,
option 9): MSB clear means 10^-n s per unit, MSB set means 2^-n s; absent means 10^-6.
`if_tsoffset` (option 14) adds whole seconds.

Always holds: no floats anywhere; a 2^-n resolution rounds down to the nanosecond
(floor(units * 10^9 / 2^n)); arithmetic that overflows 64 bits wraps (hostile files give
a wrong time, never an exception). The numba kernel and the Python reference agree exactly
(the tests compare them).
"""

from __future__ import annotations

import numba
import numpy as np

NS_PER_S = 1_000_000_000

# Resolution kinds stored per interface for the kernels.
RES_DECIMAL = 0
RES_BINARY = 1

_U64_MASK = (1 << 64) - 1


def tsresol_parts(tsresol: int) -> tuple[int, int]:
    """(kind, exponent) of an `if_tsresol` byte: MSB set → binary 2^-n, else decimal 10^-n."""
    if tsresol & 0x80:
        return RES_BINARY, tsresol & 0x7F
    return RES_DECIMAL, tsresol & 0x7F


def units_to_ns_reference(units: int, kind: int, exponent: int) -> int:
    """Plain-Python floor(units * resolution * 10^9), wrapped to 64 bits like the kernel."""
    if kind == RES_BINARY:
        value = (units * NS_PER_S) >> exponent
    elif exponent <= 9:
        value = units * 10 ** (9 - exponent)
    else:
        value = units // 10 ** (exponent - 9)
    value &= _U64_MASK
    return value - (1 << 64) if value >> 63 else value


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
