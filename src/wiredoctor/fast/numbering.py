"""`number_rows`, compiled: the last pass of `fast.verify.verify_batches` over a batch's rows
when it builds a capture's tables.

Every frame gets the index of its first checksum row in the capture's table (the rows of all
frames before it). The checksum rows already carry their frame's number and the capture
index: the verification kernel writes them with each row, and the reference path with the
rows it makes. One pass in frame order, per batch as it is finished, while its rows are
still in cache (one pass over the whole tables at the end took 40 ms a million frames, on
the critical path); numpy took a cumulative sum and a strided store into the packed rows
(several times as long).

Always holds: checksum rows are laid out frame after frame in frame order (`n_cksum` rows
each), as the verification leaves them; nothing here allocates.
"""

from __future__ import annotations

import numpy as np

from wiredoctor.fast.jit import Int, Table, entry


@entry
def number_rows(frames: Table, total: Int, first_row: Int) -> Int:
    """Set `cksum_row` of every frame to `first_row` + the rows of the frames before it
    (counted up to `total`, the batch's checksum rows); returns the rows counted (`total`
    when the frames agree with their rows)."""
    row = np.int64(0)
    for i in range(frames.shape[0]):
        fr = frames[i]
        fr.cksum_row = first_row + row
        row += np.int64(fr.n_cksum)
        if row > total:
            row = np.int64(total)
    return row
