"""The way back to the reference path for frames the kernel hands back.

Fragments (which need reassembly state), link types the kernel does not walk, headers that
lie about their lengths and the rarer encapsulations are verified by
`decode.verify.Verifier`, one record at a time and in frame order; one `ReferencePath` lives
for a whole capture so reassembly spans batches. The reference rows replace the kernel's
rows for those frames.

Always holds: frames not handed back keep the kernel's rows untouched and in order; the
reference path is imported only when a capture needs it (it is slower to import).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from wiredoctor.capture.record import Direction, Record
from wiredoctor.tables import ChecksumTable, FrameTable, empty_checksums

if TYPE_CHECKING:
    from wiredoctor.fast.verify import Batch


def batch_record(batch: Batch, row: int) -> Record:
    """Row `row` of a batch as a `Record` (copies its bytes)."""
    start = int(batch.data_off[row])
    caplen = int(batch.caplen[row])
    comment = ""
    reader = getattr(batch, "comment", None)
    if callable(reader):
        comment = str(reader(row))
    return Record(
        index=batch.first_frame + row,
        ts_ns=int(batch.ts_ns[row]),
        caplen=caplen,
        wirelen=int(batch.wirelen[row]),
        linktype=int(batch.linktype[row]),
        interface=int(batch.iface[row]),
        data=batch.buf[start : start + caplen].tobytes(),
        direction=Direction(int(batch.direction[row])),
        file_offset=int(batch.file_off[row]),
        comment=comment,
    )


class ReferencePath:
    """A reference verifier kept for one capture, fed only the frames the kernel hands back."""

    def __init__(self, capture_index: int) -> None:
        self.capture_index = capture_index
        self._verifier: Any = None
        self.frames_redone = 0

    def _feed(self, record: Record) -> tuple[FrameTable, ChecksumTable]:
        if self._verifier is None:
            from wiredoctor.decode.verify import Verifier
            from wiredoctor.fast.hashing import hash_bytes

            self._verifier = Verifier(self.capture_index, hasher=hash_bytes)
        frame_row, checksum_rows = self._verifier.feed(record)
        return frame_row, checksum_rows

    def replace(
        self,
        batch: Batch,
        frames: FrameTable,
        cks: ChecksumTable,
        redo: npt.NDArray[np.intp],
    ) -> tuple[FrameTable, ChecksumTable]:
        """Re-verify rows `redo` of a batch; returns the frame table (updated in place) and
        the batch's checksum rows with the kernel's rows for those frames replaced."""
        n = frames.shape[0]
        starts = frames["cksum_row"].astype(np.int64)
        total = int(cks.shape[0])
        pieces: list[ChecksumTable] = []
        previous = 0
        for row in redo.tolist():
            begin = int(starts[previous]) if previous < n else total
            pieces.append(cks[begin : int(starts[row])])
            frame_row, checksum_rows = self._feed(batch_record(batch, row))
            frames[row] = frame_row
            rows = np.asarray(checksum_rows, dtype=cks.dtype).reshape(-1)
            frames[row]["n_cksum"] = rows.shape[0]
            pieces.append(rows)
            previous = row + 1
            self.frames_redone += 1
        if previous < n:
            pieces.append(cks[int(starts[previous]) :])
        if not pieces:
            return frames, empty_checksums(0)
        raw = np.concatenate([np.ascontiguousarray(p).view(np.uint8) for p in pieces])
        return frames, raw.view(cks.dtype)
