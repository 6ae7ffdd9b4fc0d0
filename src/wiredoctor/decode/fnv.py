"""`payload_hash`, the `payload_hash` column of the frame table (both speeds compute it so).

A word-wise hash in the FNV family: the FNV-1a 64 constants (draft-eastlake-fnv §2), one
multiply per 8 bytes instead of per byte, with a shift-xor after each multiply so the high
bits of a product feed the low bits of the next step; four independent lanes over each
32-byte block, so the multiplies of a payload overlap in the CPU. Exactly, with
step(h, w) = ((h XOR w) * 0x100000001B3) mod 2**64, then h XOR (h >> 29), and words read
little-endian:

* empty input hashes to 0;
* s = 0xCBF29CE484222325 XOR len(data); lanes h0..h3 = s XOR 0, 1, 2, 3;
* for each whole 32-byte block of words w0..w3: hj = step(hj, wj);
* h = step(step(step(h0, h1), h2), h3);
* for each whole 8-byte word after the last block: h = step(h, w);
* the 1 to 7 bytes left over, if any, as one word zero-extended to 8 bytes: h = step(h, w);
* a result of 0 becomes 1.

Always holds: `payload_hash(data) == 0` exactly when `data` is empty, since the table
reserves 0 for "no payload"; the length enters the start value, so payloads that differ
only in trailing zero bytes hash apart; the lanes start apart, so swapping words between
lanes changes the value.
"""

from __future__ import annotations

import struct

HASH_OFFSET_BASIS = 0xCBF29CE484222325
"""The FNV-1a 64 offset basis, XORed with the length to start."""
HASH_PRIME = 0x100000001B3
"""The FNV 64-bit prime."""
HASH_SHIFT = 29
"""The right shift of the xorshift after each multiply."""
HASH_LANES = 4
"""Words of a block, one per lane."""
_MASK = 0xFFFF_FFFF_FFFF_FFFF


def _step(h: int, word: int) -> int:
    h = ((h ^ word) * HASH_PRIME) & _MASK
    return h ^ (h >> HASH_SHIFT)


def payload_hash(data: bytes | bytearray | memoryview) -> int:
    """The word-wise payload hash of `data` (module docstring), 0 for empty input."""
    raw = bytes(data)
    size = len(raw)
    if size == 0:
        return 0
    start = HASH_OFFSET_BASIS ^ size
    h0, h1, h2, h3 = start, start ^ 1, start ^ 2, start ^ 3
    blocks = size - size % (8 * HASH_LANES)
    # iter_unpack walks the words in C; only the arithmetic runs as bytecode.
    for w0, w1, w2, w3 in struct.iter_unpack("<4Q", raw[:blocks]):
        h0 = ((h0 ^ w0) * HASH_PRIME) & _MASK
        h0 ^= h0 >> HASH_SHIFT
        h1 = ((h1 ^ w1) * HASH_PRIME) & _MASK
        h1 ^= h1 >> HASH_SHIFT
        h2 = ((h2 ^ w2) * HASH_PRIME) & _MASK
        h2 ^= h2 >> HASH_SHIFT
        h3 = ((h3 ^ w3) * HASH_PRIME) & _MASK
        h3 ^= h3 >> HASH_SHIFT
    h = _step(_step(_step(h0, h1), h2), h3)
    whole = size - size % 8
    for (word,) in struct.iter_unpack("<Q", raw[blocks:whole]):
        h = _step(h, word)
    if whole < size:
        h = _step(h, int.from_bytes(raw[whole:], "little"))
    return h or 1
