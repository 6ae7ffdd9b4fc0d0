"""Bounded reads of big-endian fields and RFC 1071 sums over a frame window, for the kernels.

Every function takes the batch buffer, the frame's first byte `base` and the number of bytes
`cap` that may be read from it (the caplen, clipped to the buffer). numba does not check
bounds, so each read checks its own: a field that does not fit returns -1, a sum covers only
the bytes that exist. Offsets are relative to the frame start.

Always holds: no function here reads outside `buf[base : base + cap]`; sums are folded with
end-around carry and are 0 only when every byte summed is 0 (as `checksum.arith.ones_sum`).
"""

from __future__ import annotations

import numpy as np

from wiredoctor.fast.jit import Bytes, Int, helper


@helper
def u8(buf: Bytes, base: Int, cap: Int, off: Int) -> Int:
    """The byte at `off`, or -1 when it is not in the window."""
    if off < 0 or off >= cap:
        return -1
    return np.int64(buf[base + off])


@helper
def u16(buf: Bytes, base: Int, cap: Int, off: Int) -> Int:
    """The big-endian 16-bit field at `off`, or -1 when it is not wholly in the window."""
    if off < 0 or off + 2 > cap:
        return -1
    p = base + off
    return (np.int64(buf[p]) << 8) | np.int64(buf[p + 1])


@helper
def u32(buf: Bytes, base: Int, cap: Int, off: Int) -> Int:
    """The big-endian 32-bit field at `off`, or -1 when it is not wholly in the window."""
    if off < 0 or off + 4 > cap:
        return -1
    p = base + off
    return (
        (np.int64(buf[p]) << 24)
        | (np.int64(buf[p + 1]) << 16)
        | (np.int64(buf[p + 2]) << 8)
        | np.int64(buf[p + 3])
    )


@helper
def u64(buf: Bytes, base: Int, cap: Int, off: Int) -> Int:
    """The big-endian 64-bit field at `off` as a wrapping int, or 0 when it does not fit."""
    if off < 0 or off + 8 > cap:
        return 0
    hi = u32(buf, base, cap, off)
    lo = u32(buf, base, cap, off + 4)
    return (hi << 32) | lo


@helper
def fold(total: Int) -> Int:
    """Fold a non-negative wide ones'-complement accumulator to 16 bits (end-around carry)."""
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return total


@helper
def ones_sum(buf: Bytes, base: Int, cap: Int, lo: Int, hi: Int) -> Int:
    """Folded sum of the big-endian 16-bit words in frame bytes [lo, hi), clipped to the window.

    An odd final byte is padded with zero (RFC 1071 §4.1). The bulk is summed as native
    32-bit words and byte-swapped once at the end, which gives the same folded value because
    the ones'-complement sum does not depend on byte order (RFC 1071 §2 (B)).
    """
    if lo < 0:
        lo = 0
    if hi > cap:
        hi = cap
    if hi <= lo:
        return 0
    start = base + lo
    n4 = (hi - lo) >> 2
    acc = np.uint64(0)
    if n4 > 0:
        words = buf[start : start + n4 * 4].view(np.uint32)
        for j in range(n4):
            acc += np.uint64(words[j])
    # Fold the native-order sum to 16 bits, then swap it to network order.
    acc = (acc & np.uint64(0xFFFFFFFF)) + (acc >> np.uint64(32))
    acc = (acc & np.uint64(0xFFFFFFFF)) + (acc >> np.uint64(32))
    native = fold(np.int64(acc))
    total = ((native & 0xFF) << 8) | (native >> 8)
    i = start + n4 * 4
    end = base + hi
    while i + 1 < end:
        total += (np.int64(buf[i]) << 8) | np.int64(buf[i + 1])
        i += 2
    if i < end:
        total += np.int64(buf[i]) << 8
    return fold(total)


@helper
def nonzero(buf: Bytes, base: Int, cap: Int, lo: Int, hi: Int) -> bool:
    """True when any byte of [lo, hi) (clipped to the window) is not zero."""
    if lo < 0:
        lo = 0
    if hi > cap:
        hi = cap
    i = base + lo
    while i < base + hi and buf[i] == 0:
        i += 1
    return i < base + hi
