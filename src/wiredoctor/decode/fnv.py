"""`payload_hash`, the `payload_hash` column of the frame table (both speeds compute it so).

A word-wise hash in the FNV family: the FNV-1a 64 constants (draft-eastlake-fnv §2), but
one multiply per 8 bytes instead of per byte, with a shift-xor after each multiply so the
high bits of a product feed the low bits of the next step. Exactly:

* empty input hashes to 0;
* h = 0xCBF29CE484222325 XOR len(data);
* for each whole 8-byte word w, read little-endian:
  h = ((h XOR w) * 0x100000001B3) mod 2**64, then h = h XOR (h >> 29);
* the 1 to 7 bytes left over, if any, as one little-endian word zero-extended to 8 bytes,
  the same step;
* a result of 0 becomes 1.

Always holds: `payload_hash(data) == 0` exactly when `data` is empty, since the table
reserves 0 for "no payload"; the length enters the start value, so payloads that differ
only in trailing zero bytes hash apart.
"""

from __future__ import annotations

import struct

HASH_OFFSET_BASIS = 0xCBF29CE484222325
"""The FNV-1a 64 offset basis, XORed with the length to start."""
HASH_PRIME = 0x100000001B3
"""The FNV 64-bit prime."""
HASH_SHIFT = 29
"""The right shift of the xorshift after each multiply."""
_MASK = 0xFFFF_FFFF_FFFF_FFFF


def payload_hash(data: bytes | bytearray | memoryview) -> int:
    """The word-wise payload hash of `data` (module docstring), 0 for empty input."""
    raw = bytes(data)
    size = len(raw)
    if size == 0:
        return 0
    h = HASH_OFFSET_BASIS ^ size
    whole = size - size % 8
    # iter_unpack walks the words in C; only the arithmetic runs as bytecode.
    for (word,) in struct.iter_unpack("<Q", raw[:whole]):
        h = ((h ^ word) * HASH_PRIME) & _MASK
        h ^= h >> HASH_SHIFT
    if whole < size:
        h = ((h ^ int.from_bytes(raw[whole:], "little")) * HASH_PRIME) & _MASK
        h ^= h >> HASH_SHIFT
    return h or 1
