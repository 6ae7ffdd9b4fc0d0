"""RecordBatch: many records as columns over one buffer, the shape the fast path consumes.

A batch is what the readers produce and what `records()` is built from, so both speeds see
exactly the same frames. Row i's bytes are `buf[data_off[i] : data_off[i] + caplen[i]]`.

Always holds: every column has the same length; every row's bytes (and comment bytes) lie
inside `buf`; `first_frame + i` is row i's 1-based frame number; `buf` is a view of a mapped
window (never a copy of a whole capture). The readers never write to `buf`; it is writable
only because numba compiles read-only arrays into slower loops, and it is a private
copy-on-write mapping, so a write could never reach the capture file.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from wiredoctor.capture.record import Direction, Record

U8 = npt.NDArray[np.uint8]
I64 = npt.NDArray[np.int64]
U32 = npt.NDArray[np.uint32]
U16 = npt.NDArray[np.uint16]


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordBatch:
    """Consecutive frames of one capture as numpy columns over a shared byte buffer."""

    buf: U8
    """The bytes the offsets point into (a zero-copy view of the mapped window when possible;
    treat as read-only)."""
    data_off: I64
    """Offset of each frame's bytes within `buf`."""
    file_off: I64
    """Offset of each frame's bytes within the (decompressed) capture stream, -1 for none."""
    caplen: U32
    """Bytes captured per frame."""
    wirelen: U32
    """Bytes each frame had on the wire, as the capture states it."""
    ts_ns: I64
    """Timestamp per frame, nanoseconds since the Unix epoch."""
    linktype: U16
    """LINKTYPE_* per frame (from the pcap header or the frame's pcapng interface)."""
    iface: U16
    """pcapng interface id within its section (0 for pcap)."""
    direction: npt.NDArray[np.uint8]
    """capture.record.Direction per frame."""
    comment_off: I64
    """Offset within `buf` of the frame's first comment (UTF-8), -1 when it has none."""
    comment_len: U32
    """Length in bytes of that comment."""
    first_frame: int
    """1-based frame number of row 0."""

    def __len__(self) -> int:
        return int(self.caplen.shape[0])

    def frame_bytes(self, row: int) -> bytes:
        """The captured bytes of row `row` (0-based within the batch)."""
        start = int(self.data_off[row])
        return self.buf[start : start + int(self.caplen[row])].tobytes()

    def comment(self, row: int) -> str:
        """The comment of row `row`, or "" (invalid UTF-8 is replaced, never raised)."""
        start = int(self.comment_off[row])
        if start < 0:
            return ""
        raw = self.buf[start : start + int(self.comment_len[row])].tobytes()
        # pcapng strings are not zero-terminated (§3.5), but some writers add a NUL.
        return raw.rstrip(b"\x00").decode("utf-8", errors="replace")

    def records(self) -> Iterator[Record]:
        """The rows as `Record`s (copies the frame bytes)."""
        for row in range(len(self)):
            yield Record(
                index=self.first_frame + row,
                ts_ns=int(self.ts_ns[row]),
                caplen=int(self.caplen[row]),
                wirelen=int(self.wirelen[row]),
                linktype=int(self.linktype[row]),
                interface=int(self.iface[row]),
                data=self.frame_bytes(row),
                direction=Direction(int(self.direction[row])),
                file_offset=int(self.file_off[row]),
                comment=self.comment(row),
            )


def batch_from_records(records: Sequence[Record], first_frame: int) -> RecordBatch:
    """A batch holding copies of `records` (used for text input, which is small).

    `file_off` is each frame's offset in the concatenation of the records' bytes, the stream
    a text source's `read_frame` serves from (-1 for records without bytes).
    """
    n = len(records)
    chunks: list[bytes] = []
    data_off = np.empty(n, dtype=np.int64)
    comment_off = np.full(n, -1, dtype=np.int64)
    comment_len = np.zeros(n, dtype=np.uint32)
    pos = 0
    file_off = np.full(n, -1, dtype=np.int64)
    for row, record in enumerate(records):
        data_off[row] = pos
        if record.data:
            file_off[row] = pos
        chunks.append(record.data)
        pos += len(record.data)
    for row, record in enumerate(records):
        if record.comment:
            raw = record.comment.encode("utf-8")
            comment_off[row] = pos
            comment_len[row] = len(raw)
            chunks.append(raw)
            pos += len(raw)
    # A bytearray, so the array is writable like a mapped window (one numba specialisation).
    buf = np.frombuffer(bytearray(b"".join(chunks)), dtype=np.uint8)
    return RecordBatch(
        buf=buf,
        data_off=data_off,
        file_off=file_off,
        caplen=np.array([len(r.data) for r in records], dtype=np.uint32),
        wirelen=np.array([r.wirelen for r in records], dtype=np.uint32),
        ts_ns=np.array([r.ts_ns for r in records], dtype=np.int64),
        linktype=np.array([r.linktype for r in records], dtype=np.uint16),
        iface=np.array([r.interface for r in records], dtype=np.uint16),
        direction=np.array([int(r.direction) for r in records], dtype=np.uint8),
        comment_off=comment_off,
        comment_len=comment_len,
        first_frame=first_frame,
    )
