"""The way back to the reference path for frames the kernel hands back.

Frames marked `REDO_FRAME` (link types the kernel does not walk, headers that lie about their
lengths, the rarer encapsulations, fragments it does not walk) are verified by
`decode.verify.Verifier`, one record at a time and in frame order; their reference rows
replace the kernel's. Frames marked `REDO_FRAGMENT` (the outermost fragments `fast.ip`
walks) keep the kernel's rows; only their reassembly is left, and the frame that completes a
datagram gets the verdict over the reassembled bytes, as the reference gives it. A batch's
walked fragments are planned at once by `fast.fragments.plan_fragments` (compiled): the
datagrams it reassembles itself never touch Python; the keys it leaves (overlaps, duplicates,
datagrams spanning batches, …) go to the reference reassembly state
(`fast.tracked.TrackedFragments`, shared with the verifier), fragment by fragment and in
frame order with the `REDO_FRAME` frames. One `ReferencePath` lives for a whole capture, so
reassembly spans batches. `fast.splice.splice` (compiled) then copies the batch's checksum
rows with the rows of the frames that changed replaced.

Always holds: frames not handed back keep the kernel's rows untouched and in order; the rows
equal the reference path's, whichever path reassembled a datagram (when a frame verified in
full brings a fragment the plan did not foresee, the batch is redone by the reference alone
from the state it started with); the reference path is imported only when a capture needs
it (it is slower to import).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from wiredoctor.capture.record import Direction, Record
from wiredoctor.distinct import union
from wiredoctor.fast.marks import ACT_DONE, ACT_REFERENCE, MAX_PIECES, REDO_FRAGMENT
from wiredoctor.native.library import kernel
from wiredoctor.tables import CHECKSUM_DTYPE, ChecksumTable, FrameFlag, FrameTable, concat

if TYPE_CHECKING:
    from wiredoctor.decode.checksums import Occurrence
    from wiredoctor.decode.verify import Verifier
    from wiredoctor.fast.tracked import Guard, TrackedFragments
    from wiredoctor.fast.verify import Batch

REASSEMBLED = int(FrameFlag.REASSEMBLED)

Changed = tuple[int, int, ChecksumTable]
"""A frame whose rows change: (batch row, kernel rows kept (from its first), rows after)."""


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


@dataclass(frozen=True, slots=True, kw_only=True)
class _Plan:
    """The compiled plan of one batch's walked fragments."""

    walked: npt.NDArray[np.intp]
    """Batch rows of the walked fragments, in frame order."""
    action: npt.NDArray[np.uint8]
    """`fast.marks.ACT_*` per walked fragment."""
    verdict_of: npt.NDArray[np.int64]
    """Row in `verdicts` of a completing fragment's verdict, -1 none."""
    verdicts: ChecksumTable
    """The verdict rows the plan wrote."""
    guard: Guard
    """What the plan assumes about the reference state while the batch is finished."""


def _no_hash(data: bytes) -> int:
    """The `payload_hash` of a capture read without payload hashes."""
    return 0


class ReferencePath:
    """A reference verifier kept for one capture, fed only the frames the kernel hands back."""

    def __init__(self, capture_index: int, hashes: bool = True) -> None:
        self.capture_index = capture_index
        self.hashes = hashes
        """Whether `payload_hash` is computed (as `verify_batches` was asked)."""
        self._verifier: Verifier | None = None
        self._fragments: TrackedFragments | None = None
        self._outs = [np.empty(0, dtype=CHECKSUM_DTYPE), np.empty(0, dtype=CHECKSUM_DTYPE)]
        self.frames_redone = 0
        """Frames verified again in full."""
        self.fragments_added = 0
        """Fragments the kernel walked and only the reference reassembly saw."""
        self.fragments_planned = 0
        """Fragments the kernel walked and the compiled plan reassembled."""

    def _state(self) -> TrackedFragments:
        if self._fragments is None:
            from wiredoctor.fast.tracked import TrackedFragments

            self._fragments = TrackedFragments()
        return self._fragments

    def _reference(self) -> Verifier:
        if self._verifier is None:
            from wiredoctor.decode.verify import Verifier
            from wiredoctor.fast.hashes import hash_bytes

            hasher = hash_bytes if self.hashes else _no_hash
            self._verifier = Verifier(self.capture_index, hasher=hasher)
            self._verifier.fragments = self._state()
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
        returns the frame table (updated in place; `cksum_row` is left for the caller to
        number) and the batch's checksum rows with the rows of the frames that changed
        replaced. The rows returned may be a buffer this path reuses: they stay valid until
        its call after next (a caller keeps at most the batch before while it finishes the
        next: a sink reads them on its own thread)."""
        walked = redo[kinds[redo] == REDO_FRAGMENT]
        plan = self._plan(batch, frames, walked) if walked.shape[0] else None
        events = redo
        if plan is not None:
            events = union(redo[kinds[redo] != REDO_FRAGMENT], walked[plan.action == ACT_REFERENCE])
        changed = self._finish_in_order(batch, frames, events, kinds, plan)
        if changed is None:
            plan = None
            # Unguarded, the reference path cannot refuse: it gives a list.
            changed = self._finish_in_order(batch, frames, redo, kinds, None) or []
        pieces = [rows for _, _, rows in changed]
        targets = [np.array([row for row, _, _ in changed], dtype=np.int64)]
        keeps = [np.array([kept for _, kept, _ in changed], dtype=np.int64)]
        sizes = np.array([rows.shape[0] for rows in pieces], dtype=np.int64)
        ends = np.cumsum(sizes)
        firsts = [ends - sizes]
        lasts = [ends]
        flags = [np.zeros(len(changed), dtype=np.int64)]
        if plan is not None:
            done = plan.action == ACT_DONE
            rows_done = plan.walked[done]
            self.fragments_planned += int(np.count_nonzero(plan.action != ACT_REFERENCE))
            targets.append(rows_done.astype(np.int64))
            # As the reference: the IPv4 header row stays, a first fragment's unverified
            # row gives way to the verdict.
            keeps.append(np.full(rows_done.shape[0], -1, dtype=np.int64))
            verdict_of = plan.verdict_of[done]
            judged = verdict_of >= 0
            first = int(ends[-1]) if ends.shape[0] else 0
            firsts.append(first + np.where(judged, verdict_of, 0))
            lasts.append(firsts[-1] + judged)
            flags.append(np.full(rows_done.shape[0], REASSEMBLED, dtype=np.int64))
            pieces.append(plan.verdicts)
        rows_changed = np.concatenate(targets)
        if rows_changed.shape[0] == 0:
            return frames, cks
        by_row = np.argsort(rows_changed, kind="stable")
        extra = concat(pieces) if pieces else np.empty(0, dtype=CHECKSUM_DTYPE)
        return frames, self._splice(
            frames,
            cks,
            rows_changed[by_row],
            np.concatenate(keeps)[by_row],
            extra,
            np.concatenate(firsts)[by_row],
            np.concatenate(lasts)[by_row],
            np.concatenate(flags)[by_row],
        )

    def _splice(
        self,
        frames: FrameTable,
        cks: ChecksumTable,
        rows: npt.NDArray[np.int64],
        keep: npt.NDArray[np.int64],
        extra: ChecksumTable,
        extra_lo: npt.NDArray[np.int64],
        extra_hi: npt.NDArray[np.int64],
        flags: npt.NDArray[np.int64],
    ) -> ChecksumTable:
        """The batch's checksum rows with the rows of frames `rows` replaced
        (`fast.splice.splice`), in one of this path's two output buffers, used in turn: a
        fresh table of that size would cost more in page faults and zero-fill than the copy
        itself."""
        need = cks.shape[0] + extra.shape[0]
        self._outs.reverse()
        out = self._outs[0]
        if out.shape[0] < need:
            out = self._outs[0] = np.empty(need + need // 4, dtype=CHECKSUM_DTYPE)
        written = kernel("splice")(
            frames,
            np.ascontiguousarray(cks).view(np.uint8),
            CHECKSUM_DTYPE.itemsize,
            rows,
            keep,
            np.ascontiguousarray(extra).view(np.uint8),
            extra_lo,
            extra_hi,
            flags,
            out.view(np.uint8),
        )
        return out[:written]

    def _plan(self, batch: Batch, frames: FrameTable, walked: npt.NDArray[np.intp]) -> _Plan | None:
        """Plan a batch's walked fragments in compiled code; None when the reference
        reassembly holds so many datagrams that the plan's could push one out."""
        from wiredoctor.decode.reassembly import MAX_PENDING
        from wiredoctor.fast.tracked import Guard

        m = walked.shape[0]
        rows = walked.astype(np.int64)
        hashes = np.empty(m, dtype=np.uint64)
        kernel("key_hashes")(frames, rows, hashes)
        order = np.argsort(hashes, kind="stable").astype(np.int64)
        state = self._fragments
        held = state.held() if state is not None else np.empty(0, dtype=np.uint64)
        buf = np.asarray(batch.buf, dtype=np.uint8)
        if buf.flags.writeable:
            # One compiled signature, as for the kernel: a read-only byte buffer.
            buf = buf.view()
            buf.flags.writeable = False
        action = np.empty(m, dtype=np.uint8)
        verdict_of = np.empty(m, dtype=np.int64)
        opened = np.empty(m, dtype=np.uint8)
        verdicts = np.empty(m, dtype=CHECKSUM_DTYPE)
        count = kernel("plan_fragments")(
            buf,
            np.ascontiguousarray(batch.data_off, dtype=np.int64),
            frames,
            rows,
            hashes,
            order,
            held,
            self.capture_index,
            action,
            verdict_of,
            opened,
            verdicts,
            np.empty(MAX_PIECES, dtype=np.int64),
        )
        done = action == ACT_DONE
        waiting = np.cumsum(opened.astype(np.int64) - done)
        most = int(waiting.max()) if m else 0
        pending = len(state.pending) if state is not None else 0
        if most > 0 and pending + most + int(np.count_nonzero(action == ACT_REFERENCE)) >= (
            MAX_PENDING
        ):
            return None
        keys = hashes[done]
        last = batch.first_frame + walked[done].astype(np.int64)
        by_key = np.lexsort((last, keys))
        keys, last = keys[by_key], last[by_key]
        final = np.ones(keys.shape[0], dtype=bool)
        final[:-1] = keys[1:] != keys[:-1]
        guard = Guard(hashes=keys[final], last=last[final], open=most)
        return _Plan(
            walked=walked,
            action=action,
            verdict_of=verdict_of,
            verdicts=verdicts[: int(count)],
            guard=guard,
        )

    def _finish_in_order(
        self,
        batch: Batch,
        frames: FrameTable,
        rows: npt.NDArray[np.intp],
        kinds: npt.NDArray[np.uint8],
        plan: _Plan | None,
    ) -> list[Changed] | None:
        """Give rows `rows` of a batch to the reference path in frame order: frames to verify
        in full, fragments to reassemble. Returns the frames whose rows change; None when a
        fragment broke the plan's guard (the state is then as it was before the call)."""
        if rows.shape[0] == 0:
            return []
        guarded = plan is not None and plan.guard.hashes.shape[0] > 0
        saved: tuple[TrackedFragments | None, int, int] | None = None
        if guarded:
            saved = (copy.deepcopy(self._fragments), self.frames_redone, self.fragments_added)
        walked = rows[kinds[rows] == REDO_FRAGMENT]
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
        state = self._state()
        state.guard = plan.guard if guarded and plan is not None else None
        changed: list[Changed] = []
        try:
            for row, mark in zip(rows.tolist(), kinds[rows].tolist(), strict=True):
                if mark == REDO_FRAGMENT:
                    done, entry = self._add_fragment(batch.buf, *next(fragments))
                    if not done:
                        continue
                    frames["flags"][row] |= REASSEMBLED
                    rows_after = np.empty(0, dtype=CHECKSUM_DTYPE)
                    if entry is not None:
                        rows_after = self._row(int(frames["frame"][row]), entry)
                    # The IPv4 header row stays; a first fragment's unverified row gives way.
                    changed.append((row, int(frames["ip_version"][row] == 4), rows_after))
                else:
                    frame_row, checksum_rows = self._reference().feed(batch_record(batch, row))
                    start = frames["cksum_row"][row]
                    frames[row] = frame_row
                    frames["cksum_row"][row] = start  # where the kernel's rows are, for splice
                    rows_after = np.asarray(checksum_rows, dtype=CHECKSUM_DTYPE).reshape(-1)
                    self.frames_redone += 1
                    changed.append((row, 0, rows_after))
        finally:
            state.guard = None
        if saved is not None and state.broken:
            self._fragments, self.frames_redone, self.fragments_added = saved
            # The kernel never sets the flag: the redo decides afresh which frames complete.
            frames["flags"][walked] &= np.uint32(~REASSEMBLED & 0xFFFF_FFFF)
            if self._verifier is not None:
                self._verifier.fragments = self._state()
            return None
        return changed

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
        return self._state().add(
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

    def _row(self, frame: int, occ: Occurrence) -> ChecksumTable:
        """A reassembled verdict as the frame's upper-layer row (the only one of its proto
        in the frame: depth 0)."""
        from wiredoctor.decode.verify import checksum_values

        values = checksum_values(frame, self.capture_index, occ, 0)
        return np.array([values], dtype=CHECKSUM_DTYPE)
