"""`payload_hash` for a whole chunk at once: the word-wise hash of `decode.fnv`, several
frames in lockstep.

Each step of the hash is a multiply and a shift-xor that wait for the previous step, so one
frame at a time leaves the multiplier idle most cycles. Frames are ordered by payload length
(a counting sort) and hashed `LANES` at a time over their common number of whole words,
which keeps that many independent chains in flight; the words left over and the tail are
hashed one frame at a time. The value is exactly `decode.fnv.payload_hash` of each frame's
payload.

Always holds: a frame with no payload bytes keeps hash 0; every read checks its own bounds
against the frame's span (which the walk bounded by the captured bytes), so a word that
would run past the span is read as the zero-extended tail instead.
"""

from __future__ import annotations

import numpy as np

from wiredoctor.fast.jit import Bytes, Int, Scratch, Table, entry, helper

HASH_OFFSET_BASIS = np.uint64(0xCBF29CE484222325)  # decode.fnv.HASH_OFFSET_BASIS
HASH_PRIME = np.uint64(0x100000001B3)  # decode.fnv.HASH_PRIME
HASH_SHIFT = np.uint64(29)  # decode.fnv.HASH_SHIFT
LENGTH_BUCKETS = 1 << 16  # counting-sort buckets; longer payloads share the last one


@helper
def word(buf: Bytes, pos: Int, stop: Int) -> np.uint64:
    """The little-endian word at buf[pos : min(pos + 8, stop)], zero-extended; 0 when
    pos >= stop."""
    if pos + 8 <= stop:
        return (
            np.uint64(buf[pos])
            | (np.uint64(buf[pos + 1]) << np.uint64(8))
            | (np.uint64(buf[pos + 2]) << np.uint64(16))
            | (np.uint64(buf[pos + 3]) << np.uint64(24))
            | (np.uint64(buf[pos + 4]) << np.uint64(32))
            | (np.uint64(buf[pos + 5]) << np.uint64(40))
            | (np.uint64(buf[pos + 6]) << np.uint64(48))
            | (np.uint64(buf[pos + 7]) << np.uint64(56))
        )
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
    stop = start + length
    pos = start + done
    while pos < stop:
        h = step(h, word(buf, pos, stop))
        pos += 8
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
        ea = sa + lengths[a]
        eb = sb + lengths[b]
        ec = sc + lengths[c]
        ed = sd + lengths[d]
        common = min(min(lengths[a], lengths[b]), min(lengths[c], lengths[d]))
        common -= common % 8
        ha = start_value(lengths[a])
        hb = start_value(lengths[b])
        hc = start_value(lengths[c])
        hd = start_value(lengths[d])
        for k in range(0, common, 8):
            ha = step(ha, word(buf, sa + k, ea))
            hb = step(hb, word(buf, sb + k, eb))
            hc = step(hc, word(buf, sc + k, ec))
            hd = step(hd, word(buf, sd + k, ed))
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
def _hash_array(buf: Bytes) -> np.uint64:
    """`decode.fnv.payload_hash` of a whole byte array."""
    return payload_hash(buf, 0, buf.shape[0])


def hash_bytes(data: bytes) -> int:
    """`decode.fnv.payload_hash` of `data`, compiled: the reference path's frames handed back
    by the kernel hash their payloads with this (same values, far fewer cycles)."""
    if not data:
        return 0
    return int(_hash_array(np.frombuffer(data, dtype=np.uint8)))
