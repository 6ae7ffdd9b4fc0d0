"""`payload_hash` for a whole chunk at once: the word-wise hash of `decode.fnv`, several
frames in lockstep.

Whole words are read through a `uint64` view of the payload's bytes (one load each; putting
a word together from eight byte loads cost four times as long). Frames are ordered by payload
length (a counting sort) and hashed four at a time over their common number of whole
words, so independent multiply chains overlap; the words left over and the tail are hashed
one frame at a time. The value is exactly `decode.fnv.payload_hash` of each frame's payload.

Always holds: a frame with no payload bytes keeps hash 0; no read leaves the frame's span
(which the walk bounded by the captured bytes): the views cover whole words inside it and
the tail is read byte by byte. Words are little-endian, as the machines numba targets here
(x86-64, aarch64) are.
"""

from __future__ import annotations

import numpy as np

from wiredoctor.fast.jit import Bytes, Int, Scratch, Table, entry, helper
from wiredoctor.fast.marks import HASH_OFFSET_BASIS, HASH_PRIME, HASH_SHIFT, LENGTH_BUCKETS


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
def start_value(length: Int) -> np.uint64:
    """The hash state before the first word of a `length`-byte payload."""
    return HASH_OFFSET_BASIS ^ np.uint64(length)


@helper
def finish(buf: Bytes, h: np.uint64, start: Int, done: Int, length: Int) -> np.uint64:
    """Continue state `h` over buf[start + done : start + length] (`done` a multiple of 8)
    and close the hash; 0 for an empty payload."""
    if length <= 0:
        return np.uint64(0)
    whole = length - length % 8
    if whole > done:
        words = buf[start + done : start + whole].view(np.uint64)
        for k in range(words.shape[0]):
            h = step(h, words[k])
    if whole < length:
        h = step(h, tail(buf, start + whole, start + length))
    if h == 0:
        return np.uint64(1)
    return h


@helper
def payload_hash(buf: Bytes, start: Int, length: Int) -> np.uint64:
    """`decode.fnv.payload_hash` of buf[start : start + length]."""
    return finish(buf, start_value(length), start, 0, length)


@helper
def hash_payloads(
    buf: Bytes, starts: Scratch, lengths: Scratch, order: Scratch, counts: Scratch, frames: Table
) -> None:
    """Set `payload_hash` of every frame i with lengths[i] > 0 to the payload hash of
    buf[starts[i] : starts[i] + lengths[i]]. `order` (len(frames)) and `counts`
    (LENGTH_BUCKETS + 1) are scratch space."""
    total = frames.shape[0]
    counts[:] = 0
    for i in range(total):
        counts[min(lengths[i], LENGTH_BUCKETS - 1) + 1] += 1
    for b in range(LENGTH_BUCKETS):
        counts[b + 1] += counts[b]
    for i in range(total):
        bucket = min(lengths[i], LENGTH_BUCKETS - 1)
        order[counts[bucket]] = i
        counts[bucket] += 1
    g = 0
    while g < total and lengths[order[g]] == 0:
        g += 1
    # Four lanes: four frames of similar length hashed side by side over their whole words.
    while g + 4 <= total:
        a = order[g]
        b = order[g + 1]
        c = order[g + 2]
        d = order[g + 3]
        sa = starts[a]
        sb = starts[b]
        sc = starts[c]
        sd = starts[d]
        common = min(min(lengths[a], lengths[b]), min(lengths[c], lengths[d]))
        common -= common % 8
        wa = buf[sa : sa + common].view(np.uint64)
        wb = buf[sb : sb + common].view(np.uint64)
        wc = buf[sc : sc + common].view(np.uint64)
        wd = buf[sd : sd + common].view(np.uint64)
        ha = start_value(lengths[a])
        hb = start_value(lengths[b])
        hc = start_value(lengths[c])
        hd = start_value(lengths[d])
        for k in range(common // 8):
            ha = step(ha, wa[k])
            hb = step(hb, wb[k])
            hc = step(hc, wc[k])
            hd = step(hd, wd[k])
        frames[a].payload_hash = finish(buf, ha, sa, common, lengths[a])
        frames[b].payload_hash = finish(buf, hb, sb, common, lengths[b])
        frames[c].payload_hash = finish(buf, hc, sc, common, lengths[c])
        frames[d].payload_hash = finish(buf, hd, sd, common, lengths[d])
        g += 4
    while g < total:
        a = order[g]
        frames[a].payload_hash = payload_hash(buf, starts[a], lengths[a])
        g += 1


@entry
def hash_array(buf: Bytes) -> np.uint64:
    """`decode.fnv.payload_hash` of a whole byte array (`fast.hashes.hash_bytes` calls it)."""
    return payload_hash(buf, 0, buf.shape[0])
