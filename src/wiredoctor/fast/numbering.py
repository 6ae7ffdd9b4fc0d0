"""`number_rows`, compiled: the last pass of `fast.verify.verify_batches` over a batch's rows.

Every frame gets the index of its first checksum row in the capture's table (the rows of all
frames before it), and every checksum row its frame's number and the capture index. One pass
in frame order, per batch as it is finished, while its rows are still in cache (one pass
over the whole tables at the end took 40 ms a million frames, on the critical path); numpy
took a cumulative sum, a repeat of the frame numbers and two strided stores into the packed
rows (several times as long).

Always holds: checksum rows are laid out frame after frame in frame order (`n_cksum` rows
each), as the verification leaves them; nothing here allocates.
"""

from __future__ import annotations

import numpy as np

from wiredoctor.fast.jit import Int, Table, entry


@entry
def number_rows(frames: Table, cks: Table, capture: Int, first_row: Int) -> Int:
    """Set `cksum_row` of every frame (`first_row` + its first row in `cks`) and
    `frame`/`capture` of every checksum row; returns the rows numbered (len(cks) when the
    tables agree)."""
    row = np.int64(0)
    total = cks.shape[0]
    for i in range(frames.shape[0]):
        fr = frames[i]
        fr.cksum_row = first_row + row
        stop = min(row + np.int64(fr.n_cksum), total)
        number = fr.frame
        while row < stop:
            ck = cks[row]
            ck.frame = number
            ck.capture = capture
            row += 1
    return row
