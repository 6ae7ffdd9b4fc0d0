"""The way back to the reference path for frames the kernel hands back.

Frames marked `REDO_FRAME` (link types the kernel does not walk, headers that lie about their
lengths, the rarer encapsulations, fragments it does not walk) are verified by
`decode.verify.Verifier`, one record at a time and in frame order; their reference rows
replace the kernel's. Frames marked `REDO_FRAGMENT` (the outermost fragments `fast.ip`
walks) keep the kernel's rows: only their fragment goes to the verifier's reassembly state
(`decode.reassembly.Fragments`), and the frame that completes a datagram gets the verdict
over the reassembled bytes, as the reference gives it. One `ReferencePath` lives for a whole
capture, so reassembly spans batches and both kinds share it in frame order.

Always holds: frames not handed back keep the kernel's rows untouched and in order; the
reference path is imported only when a capture needs it (it is slower to import).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from wiredoctor.capture.record import Direction, Record
from wiredoctor.fast.kernel import REDO_FRAGMENT
from wiredoctor.tables import ChecksumTable, FrameFlag, FrameTable

if TYPE_CHECKING:
    from wiredoctor.decode.checksums import Occurrence
    from wiredoctor.decode.verify import Verifier
    from wiredoctor.fast.verify import Batch

REASSEMBLED = int(FrameFlag.REASSEMBLED)


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
        self._verifier: Verifier | None = None
        self.frames_redone = 0
        """Frames verified again in full."""
        self.fragments_added = 0
        """Fragments the kernel walked and only reassembly saw."""

    def _reference(self) -> Verifier:
        if self._verifier is None:
            from wiredoctor.decode.verify import Verifier
            from wiredoctor.fast.hashing import hash_bytes

            self._verifier = Verifier(self.capture_index, hasher=hash_bytes)
        return self._verifier

    def replace(
        self,
        batch: Batch,
        frames: FrameTable,
        cks: ChecksumTable,
        redo: npt.NDArray[np.intp],
        kinds: npt.NDArray[np.uint8],
    ) -> tuple[FrameTable, ChecksumTable]:
        """Finish rows `redo` of a batch (`kinds`: the kernel's `REDO_*` mark per row);
        returns the frame table (updated in place) and the batch's checksum rows with the
        rows of the frames that changed replaced."""
        starts = frames["cksum_row"].astype(np.int64)
        marks = kinds[redo]
        walked = redo[marks == REDO_FRAGMENT]
        fragments = zip(
            frames["frame"][walked].tolist(),
            batch.data_off[walked].tolist(),
            frames["caplen"][walked].tolist(),
            frames["wirelen"][walked].tolist(),
            frames["ip_version"][walked].tolist(),
            frames["ip_off"][walked].tolist(),
            frames["ip_hdr_len"][walked].tolist(),
            frames["ip_len"][walked].tolist(),
            frames["frag_off"][walked].tolist(),
            frames["ip_flags"][walked].tolist(),
            frames["ip_id"][walked].tolist(),
            frames["ip_proto"][walked].tolist(),
            strict=True,
        )
        changed: list[tuple[int, ChecksumTable]] = []
        for row, mark in zip(redo.tolist(), marks.tolist(), strict=True):
            if mark == REDO_FRAGMENT:
                done, entry = self._add_fragment(batch.buf, *next(fragments))
                if not done:
                    continue
                frames["flags"][row] |= REASSEMBLED
                begin = int(starts[row])
                # The IPv4 header row stays; a first fragment's unverified row gives way.
                rows = cks[begin : begin + int(frames["ip_version"][row] == 4)]
                if entry is not None:
                    rows = _concat([rows, self._row(int(frames["frame"][row]), entry, cks)])
            else:
                frame_row, checksum_rows = self._reference().feed(batch_record(batch, row))
                frames[row] = frame_row
                rows = np.asarray(checksum_rows, dtype=cks.dtype).reshape(-1)
                self.frames_redone += 1
            frames["n_cksum"][row] = rows.shape[0]
            changed.append((row, rows))
        if not changed:
            return frames, cks
        pieces: list[ChecksumTable] = []
        n = frames.shape[0]
        total = int(cks.shape[0])
        previous = 0
        for row, rows in changed:
            begin = int(starts[previous]) if previous < n else total
            pieces.append(cks[begin : int(starts[row])])
            pieces.append(rows)
            previous = row + 1
        if previous < n:
            pieces.append(cks[int(starts[previous]) :])
        return frames, _concat(pieces)

    def _add_fragment(
        self,
        buf: npt.NDArray[np.uint8],
        frame: int,
        base: int,
        caplen: int,
        wirelen: int,
        version: int,
        ip_off: int,
        hdr_len: int,
        ip_len: int,
        frag_off: int,
        ip_flags: int,
        ip_id: int,
        ip_proto: int,
    ) -> tuple[bool, Occurrence | None]:
        """Give one kernel-walked fragment to the reassembly state, as
        `decode.verify.Verifier` would for the same frame."""
        from wiredoctor.decode.checksums import UPPER_PROTO
        from wiredoctor.decode.reassembly import FirstFragment

        self.fragments_added += 1
        # The fragmentable part follows the headers the kernel walked (IHL 5; IPv6: the
        # fragment header, then the upper layer in a first fragment).
        start = ip_off + hdr_len
        stop = min(ip_off + ip_len, caplen)
        at, size = (ip_off + 12, 4) if version == 4 else (ip_off + 8, 16)
        # Addresses and the fragment's bytes, in one copy.
        raw = buf[base + at : base + max(stop, start)].tobytes()
        source, destination = raw[:size], raw[size : 2 * size]
        first: FirstFragment | None = None
        proto = UPPER_PROTO.get(ip_proto) if frag_off == 0 else None
        if proto is not None:
            first = FirstFragment(
                proto=proto,
                relative=0,
                source=source,
                destination=destination,
                wire_destination=destination,
                ipv6=version == 6,
            )
        return self._reference().fragments.add(
            (version, source, destination, ip_id, ip_proto if version == 4 else 0),
            frame,
            frag_off,
            bool(ip_flags & 2),
            raw[start - at :],
            ip_off + ip_len > caplen,
            first=first,
            start=start,
            snaplen=caplen < wirelen,
        )

    def _row(self, frame: int, occ: Occurrence, cks: ChecksumTable) -> ChecksumTable:
        """A reassembled verdict as the frame's upper-layer row (the only one of its proto
        in the frame: depth 0)."""
        values = (
            frame,
            self.capture_index,
            int(occ.proto),
            0,
            int(occ.status),
            int(occ.cause),
            int(occ.note),
            occ.value,
            occ.expected,
            occ.partial,
            occ.field_off,
            occ.length,
        )
        return np.array([values], dtype=cks.dtype)


def _concat(pieces: list[ChecksumTable]) -> ChecksumTable:
    """Join checksum rows as raw bytes (numpy copies packed records field by field)."""
    raw = np.concatenate([np.ascontiguousarray(p).view(np.uint8) for p in pieces])
    return raw.view(pieces[0].dtype)
