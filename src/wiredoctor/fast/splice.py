"""`splice`, compiled: a batch's checksum rows copied with the rows of the frames that changed
replaced (`fast.fallback.ReferencePath` calls it through `wiredoctor.native`).

Always holds: writes only `out` and the changed frames' `n_cksum` and `flags`; nothing here
allocates.
"""

from __future__ import annotations

import numpy as np

from wiredoctor.fast.jit import Bytes, Int, Scratch, Table, entry, helper


@helper
def _copy_rows(src: Bytes, a: Int, b: Int, dst: Bytes, j: Int, width: Int) -> Int:
    """Copy rows [a, b) of `src` to `dst` from row `j` on (tables as bytes, `width` bytes a
    row); returns the next row of `dst`."""
    if b <= a:
        return j
    # Unsigned indices: no negative-index wraparound to check, so the loop compiles to a
    # block copy (about twenty times faster than with signed ones).
    s = np.uint64(a * width)
    d = np.uint64(j * width)
    for k in range(np.uint64((b - a) * width)):
        dst[d + k] = src[s + k]
    return j + (b - a)


@entry
def splice(
    frames: Table,
    cks: Bytes,
    width: Int,
    rows: Scratch,
    keep: Scratch,
    extra: Bytes,
    extra_lo: Scratch,
    extra_hi: Scratch,
    flags: Scratch,
    out: Bytes,
) -> Int:
    """Copy a batch's checksum rows to `out` with the rows of frames `rows` (in frame order)
    replaced (tables as bytes, `width` bytes a row).

    Changed frame t had the kernel rows from frames[rows[t]].cksum_row to the next frame's
    (the last ends with `cks`); of these the first keep[t] stay (keep[t] < 0: its IPv4
    header row, if any, as for a fragment completing a datagram), followed by rows
    [extra_lo[t], extra_hi[t]) of `extra`. The frame's `n_cksum` becomes its new number of
    rows and flags[t] is or-ed into its flags. The rows between changed frames are copied as
    they are. Returns the rows written (`out` must hold len(cks) + len(extra) rows).
    """
    n = frames.shape[0]
    total = cks.shape[0] // width
    j: Int = np.int64(0)
    done: Int = np.int64(0)
    for t in range(rows.shape[0]):
        fr = frames[rows[t]]
        lo = np.int64(fr.cksum_row)
        hi = np.int64(frames[rows[t] + 1].cksum_row) if rows[t] + 1 < n else total
        j = _copy_rows(cks, done, lo, out, j, width)
        kept = keep[t]
        if kept < 0:
            kept = 1 if fr.ip_version == 4 else 0
        kept = min(kept, hi - lo)
        first = j
        j = _copy_rows(cks, lo, lo + kept, out, j, width)
        j = _copy_rows(extra, extra_lo[t], extra_hi[t], out, j, width)
        fr.n_cksum = j - first
        fr.flags |= flags[t]
        done = hi
    return _copy_rows(cks, done, total, out, j, width)
