"""`payload_hash` in the kernels: the word-wise hash of `decode.fnv`, exactly.

Whole words are read through a `uint64` view of the payload's bytes (one load each; putting
a word together from eight byte loads cost four times as long). The four lanes of each
32-byte block are independent multiply chains, so they overlap in the CPU; the kernel hashes
a frame's payload right after summing its checksum, while its bytes are still in cache (a
separate pass over a chunk's payloads afterwards read them from memory again: a quarter of
the kernel's time, against an eighth now).

Always holds: a payload of no bytes hashes to 0; no read leaves the payload's span (which
the walk bounded by the captured bytes): the views cover whole words inside it and the tail
is read byte by byte. Words are little-endian, as the machines numba targets here (x86-64,
aarch64) are.
"""

from __future__ import annotations

import numpy as np

from wiredoctor.fast.jit import Bytes, Int, entry, helper
from wiredoctor.fast.marks import HASH_OFFSET_BASIS, HASH_PRIME, HASH_SHIFT

BLOCK = 32
"""Bytes of one block: a word for each of the four lanes (`decode.fnv.HASH_LANES`)."""


@helper
def tail(buf: Bytes, pos: Int, stop: Int) -> np.uint64:
    """The bytes buf[pos : stop] (fewer than 8) as one little-endian word, zero-extended."""
    w = np.uint64(0)
    shift = np.uint64(0)
    for k in range(pos, stop):
        w |= np.uint64(buf[k]) << shift
        shift += np.uint64(8)
    return w


@helper
def step(h: np.uint64, w: np.uint64) -> np.uint64:
    """One step of the hash: mix word `w` into `h`."""
    h = (h ^ w) * HASH_PRIME
    return h ^ (h >> HASH_SHIFT)


@helper
def payload_hash(buf: Bytes, start: Int, length: Int) -> np.uint64:
    """`decode.fnv.payload_hash` of buf[start : start + length]."""
    if length <= 0:
        return np.uint64(0)
    seed = HASH_OFFSET_BASIS ^ np.uint64(length)
    h0 = seed
    h1 = seed ^ np.uint64(1)
    h2 = seed ^ np.uint64(2)
    h3 = seed ^ np.uint64(3)
    blocks = length // BLOCK
    if blocks > 0:
        words = buf[start : start + blocks * BLOCK].view(np.uint64)
        for k in range(blocks):
            h0 = step(h0, words[4 * k])
            h1 = step(h1, words[4 * k + 1])
            h2 = step(h2, words[4 * k + 2])
            h3 = step(h3, words[4 * k + 3])
    h = step(step(step(h0, h1), h2), h3)
    done = blocks * BLOCK
    whole = length - length % 8
    if whole > done:
        rest = buf[start + done : start + whole].view(np.uint64)
        for k in range(rest.shape[0]):
            h = step(h, rest[k])
    if whole < length:
        h = step(h, tail(buf, start + whole, start + length))
    if h == 0:
        return np.uint64(1)
    return h


@entry
def hash_array(buf: Bytes) -> np.uint64:
    """`decode.fnv.payload_hash` of a whole byte array (`fast.hashes.hash_bytes` calls it)."""
    return payload_hash(buf, 0, buf.shape[0])
