"""Exact timestamp arithmetic: capture time units to integer nanoseconds.

pcapng states each interface's resolution in `if_tsresol` (draft-ietf-opsawg-pcapng §4.2,
option 9): MSB clear means 10^-n s per unit, MSB set means 2^-n s; absent means 10^-6.
`if_tsoffset` (option 14) adds whole seconds.

Always holds: no floats anywhere; a 2^-n resolution rounds down to the nanosecond
(floor(units * 10^9 / 2^n)); arithmetic that overflows 64 bits wraps (hostile files give
a wrong time, never an exception). This module imports no numba: the plain-Python walker
uses `units_to_ns_reference`, and `timestamps_kernel.units_to_ns` (the numba form) agrees
with it exactly (the tests compare them).
"""

from __future__ import annotations

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
