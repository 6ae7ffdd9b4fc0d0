"""FNV-1a 64-bit, the `payload_hash` of the frame table (both speeds compute it this way).

FNV-1a (Fowler/Noll/Vo, draft-eastlake-fnv §2): start from the 64-bit offset basis; for each
byte, XOR it into the hash, then multiply by the 64-bit FNV prime modulo 2**64.

Always holds: `fnv1a64(b"") == 0` here, not the offset basis: the table reserves 0 for "no
payload", so an empty payload hashes to 0 by definition.
"""

from __future__ import annotations

FNV64_OFFSET_BASIS = 0xCBF29CE484222325
FNV64_PRIME = 0x100000001B3
_MASK = 0xFFFF_FFFF_FFFF_FFFF


def fnv1a64(data: bytes | bytearray | memoryview) -> int:
    """FNV-1a 64 of `data`, 0 for empty input."""
    if not data:
        return 0
    value = FNV64_OFFSET_BASIS
    prime = FNV64_PRIME
    for byte in bytes(data):
        value = ((value ^ byte) * prime) & _MASK
    return value
