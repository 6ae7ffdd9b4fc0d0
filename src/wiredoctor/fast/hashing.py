"""`payload_hash` for a whole chunk at once: FNV-1a 64, several frames in lockstep.

FNV-1a (draft-eastlake-fnv §2) is one multiply per byte, each waiting for the last, so one
frame at a time leaves the multiplier idle most cycles. Frames are ordered by payload length
(a counting sort) and hashed `LANES` at a time over their common length, which keeps that
many independent multiplies in flight; the few bytes left over are hashed one frame at a
time. The value is exactly `decode.fnv.fnv1a64` of each frame's payload.

Always holds: a frame with no payload bytes keeps hash 0; reads stay inside each frame's
span, which the walk bounded by the captured bytes.
"""

from __future__ import annotations

import numpy as np

from wiredoctor.fast.jit import Bytes, Int, Scratch, Table, helper

FNV_OFFSET = np.uint64(0xCBF29CE484222325)
FNV_PRIME = np.uint64(0x100000001B3)
LENGTH_BUCKETS = 1 << 16  # counting-sort buckets; longer payloads share the last one


@helper
def _finish(buf: Bytes, h: np.uint64, start: Int, lo: Int, hi: Int) -> np.uint64:
    """Continue hash `h` over buf[start + lo : start + hi]."""
    for k in range(start + lo, start + hi):
        h = (h ^ np.uint64(buf[k])) * FNV_PRIME
    return h


@helper
def hash_payloads(
    buf: Bytes, starts: Scratch, lengths: Scratch, order: Scratch, counts: Scratch, frames: Table
) -> None:
    """Set `payload_hash` of every frame i with lengths[i] > 0 to the FNV-1a 64 of
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
    # Four lanes: four frames of similar length hashed side by side.
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
        ha = FNV_OFFSET
        hb = FNV_OFFSET
        hc = FNV_OFFSET
        hd = FNV_OFFSET
        for k in range(common):
            ha = (ha ^ np.uint64(buf[sa + k])) * FNV_PRIME
            hb = (hb ^ np.uint64(buf[sb + k])) * FNV_PRIME
            hc = (hc ^ np.uint64(buf[sc + k])) * FNV_PRIME
            hd = (hd ^ np.uint64(buf[sd + k])) * FNV_PRIME
        frames[a].payload_hash = _finish(buf, ha, sa, common, lengths[a])
        frames[b].payload_hash = _finish(buf, hb, sb, common, lengths[b])
        frames[c].payload_hash = _finish(buf, hc, sc, common, lengths[c])
        frames[d].payload_hash = _finish(buf, hd, sd, common, lengths[d])
        g += 4
    while g < total:
        a = order[g]
        frames[a].payload_hash = _finish(buf, FNV_OFFSET, starts[a], 0, lengths[a])
        g += 1
