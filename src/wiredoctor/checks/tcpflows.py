"""The TCP flow view: counted TCP segments in capture order, each with its direction of flow.

Built once per run (cached in the context): for large tables by the compiled pass of
`flowstream` over the whole table as one batch (`StreamedView`, which `check` also runs
batch by batch as it streams a capture), for small ones by the two numpy passes of
`plainscan`. Flow keys hash the address halves and ports, flows get dense ids in key order,
and sequence numbers are made relative to each flow's first seen sequence number with RFC
1982 serial arithmetic, so wrap-around and text captures with relative numbers (Wireshark
lists) behave alike. Always holds: `rows` are frame-table rows in capture order; every
per-row array is aligned with `rows`; `peer_ack` is in this flow's own sequence space; the
compiled pass leaves out the segments no check reads (pure ACKs that repeat nothing, plain
data segments that are no retransmission's original, see `flowstream`), so both give the
same findings, not the same rows; what the checks ask of every segment (`through`) is a
per-flow value both compute over all of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from wiredoctor.checks import plainscan
from wiredoctor.checks.context import I64, CheckContext, Mask
from wiredoctor.checks.passes import (
    tcp_pending_fold,
    tcp_stream,
    tcp_stream_finish,
    tcp_stream_slots,
    use_kernels,
)
from wiredoctor.checks.plainscan import NONE
from wiredoctor.fast.growing import Growing
from wiredoctor.tables import FrameTable

FIN, SYN, RST, PSH, ACK = 1, 2, 4, 8, 16
_NONE = NONE


@dataclass(frozen=True, slots=True, kw_only=True)
class TcpView:
    """Counted TCP segments of one capture, grouped by flow direction."""

    rows: I64
    """Frame-table rows, in capture order."""
    flow: I64
    """Dense id of the directional flow (src, sport → dst, dport) of each row."""
    n_flows: int
    reverse: I64
    """Per flow: the id of the opposite direction, -1 when it was not captured."""
    frame: npt.NDArray[np.uint32]
    """1-based frame number."""
    flags: npt.NDArray[np.uint16]
    """TCP flag bits."""
    seq: I64
    """Relative sequence number (0 = the flow's first seen seq)."""
    seg_len: npt.NDArray[np.int32]
    """Sequence space the segment occupies: payload + SYN + FIN."""
    payload: npt.NDArray[np.int32]
    """Payload bytes (0 when the column says none)."""
    ack: I64
    """Relative acknowledgement number in the peer flow's sequence space (_NONE without ACK)."""
    win: npt.NDArray[np.uint16]
    """The window field as on the wire (unscaled)."""
    ip_len: npt.NDArray[np.uint32]
    """IP total length of the innermost datagram."""
    frame_flags: npt.NDArray[np.uint32]
    """`FrameFlag` bits of each row's frame."""
    repeats_ack: Mask
    """Pure ACKs repeating the raw ack and window of the previous segment of their flow."""
    prev_max_end: I64
    """Highest seq + seg_len sent earlier in the same flow (_NONE for a flow's first row)."""
    peer_ack: I64
    """Per flow: the highest acknowledgement its peer ever sent, in this flow's space."""
    seq0: I64
    """Per flow: the wire sequence number relative numbers count from."""
    ts_ns: I64
    """Timestamp of each row."""
    flow_row: I64
    """Per flow: the frame-table row of its first segment (whose addresses and ports name
    the flow)."""
    through: I64
    """Per flow: the largest IP total length of its segments with sequence space that the
    peer acknowledged (-1 when none was)."""


def tcp_view(ctx: CheckContext) -> TcpView:
    """The cached TCP flow view of the context's capture."""
    view = ctx.cache.get("tcp")
    if isinstance(view, TcpView):
        return view
    view = build_view(ctx.frames, ctx.counted)
    ctx.cache["tcp"] = view
    return view


def build_view(frames: FrameTable, counted: Mask, *, compiled: bool | None = None) -> TcpView:
    """The view of a whole frame table (`counted`: the rows flow analysis counts), by the
    compiled pass or the numpy passes (`passes.use_kernels` chooses; `compiled` forces)."""
    n = len(frames)
    if use_kernels(n, compiled):
        # One batch of the compiled stream pass (what `check` runs batch by batch).
        stream = StreamedView(n)
        stream.add(np.ascontiguousarray(frames), np.ascontiguousarray(counted), 0)
        return stream.finish()
    # Pass one: counted TCP rows, flows numbered as first seen. The arrays are touched only
    # as far as they are used.
    rows_cap = np.empty(n, dtype=np.int64)
    flow_cap = np.empty(n, dtype=np.int64)
    keys_seen = np.empty(n, dtype=np.uint64)
    rkeys_seen = np.empty(n, dtype=np.uint64)
    seq0_seen = np.empty(n, dtype=np.int64)
    n_rows, n_flows = plainscan.tcp_flows_pass(
        frames, counted, rows_cap, flow_cap, keys_seen, rkeys_seen, seq0_seen
    )
    rank, reverse, seq0 = order_flows(keys_seen, rkeys_seen, seq0_seen, n_flows)
    # First-seen ids appear in increasing order: a row that raises the running maximum
    # opens its flow.
    flow_seen = flow_cap[:n_rows]
    opens = np.ones(n_rows, dtype=bool)
    if n_rows:
        opens[1:] = flow_seen[1:] > np.maximum.accumulate(flow_seen)[:-1]
    flow_row = np.empty(n_flows, dtype=np.int64)
    flow_row[rank] = rows_cap[:n_rows][opens]

    # Pass two: every per-row array, in capture order.
    wide = np.empty((4, n_rows), dtype=np.int64)
    frame = np.empty(n_rows, dtype=np.uint32)
    flags = np.empty(n_rows, dtype=np.uint16)
    seg_len = np.empty(n_rows, dtype=np.int32)
    payload = np.empty(n_rows, dtype=np.int32)
    win = np.empty(n_rows, dtype=np.uint16)
    ip_len = np.empty(n_rows, dtype=np.uint32)
    frame_flags = np.empty(n_rows, dtype=np.uint32)
    repeats = np.empty(n_rows, dtype=bool)
    state = np.full((4, n_flows), _NONE, dtype=np.int64)
    plainscan.tcp_fill_pass(
        frames, rows_cap[:n_rows], flow_cap[:n_rows], rank, seq0, reverse, wide, frame, flags,
        seg_len, payload, win, ip_len, frame_flags, repeats, state,
    )  # fmt: skip
    flow, seq, ack, prev_max_end = wide
    # The highest acknowledgement each flow sent (in its peer's space), then swapped to peers.
    peer_ack = peer_acks(state[1], reverse)
    through = np.full(n_flows, -1, dtype=np.int64)
    acked_through(through, flow, seq, seg_len, ip_len, peer_ack)
    return TcpView(
        rows=rows_cap[:n_rows],
        flow=flow,
        n_flows=n_flows,
        reverse=reverse,
        frame=frame,
        flags=flags,
        seq=seq,
        seg_len=seg_len,
        payload=payload,
        ack=ack,
        win=win,
        ip_len=ip_len,
        frame_flags=frame_flags,
        prev_max_end=prev_max_end,
        repeats_ack=repeats,
        peer_ack=peer_ack,
        seq0=seq0,
        ts_ns=frames["ts_ns"][rows_cap[:n_rows]].astype(np.int64),
        flow_row=flow_row,
        through=through,
    )


def acked_through(
    through: I64, flow: I64, seq: I64, seg_len: npt.NDArray[np.int32],
    ip_len: npt.NDArray[np.uint32], peer_ack: I64,
) -> None:  # fmt: skip
    """Raise each flow's `through` to the IP length of its rows with sequence space that the
    peer acknowledged (up to the segment's end)."""
    acked = (peer_ack[flow] >= seq + seg_len) & (seg_len > 0)
    np.maximum.at(through, flow[acked], ip_len[acked].astype(np.int64))


def peer_acks(max_ack: I64, reverse: I64) -> I64:
    """Per flow, the highest acknowledgement its peer sent (`max_ack`: each flow's own, in its
    peer's space), NONE for a flow whose opposite direction was not captured."""
    out: I64 = np.where(reverse >= 0, max_ack[np.maximum(reverse, 0)], NONE).astype(np.int64)
    return out


def order_flows(
    keys: npt.NDArray[np.uint64], rkeys: npt.NDArray[np.uint64], seq0: I64, n_flows: int
) -> tuple[I64, I64, I64]:
    """From flows numbered as first seen (their key, reverse key and first sequence number):
    (dense id of each in key order, per dense id the dense id of the opposite direction or
    -1, per dense id its first sequence number). Key order is what orders flows with equal
    counts in the facts."""
    order = np.argsort(keys[:n_flows], kind="stable")
    rank = np.empty(n_flows, dtype=np.int64)
    rank[order] = np.arange(n_flows, dtype=np.int64)
    uniq = keys[:n_flows][order]
    rkey_flow = rkeys[:n_flows][order]
    pos = np.clip(np.searchsorted(uniq, rkey_flow), 0, max(n_flows - 1, 0))
    reverse = np.where(uniq[pos] == rkey_flow, pos, -1).astype(np.int64) if n_flows else order
    return rank, reverse, seq0[:n_flows][order]


def first_in_group(*keys: I64) -> tuple[I64, I64]:
    """For rows grouped by equal `keys`: (sort order, index of each row's group's first row).

    Rows keep capture order within a group (the sort is stable), so the first row of a group
    is the earliest sighting — the original of a retransmission.
    """
    order = np.lexsort(keys[::-1]) if keys[0].size else np.zeros(0, dtype=np.int64)
    same = np.ones(max(len(order) - 1, 0), dtype=bool)
    for k in keys:
        ks = k[order]
        same &= ks[1:] == ks[:-1]
    new = np.r_[True, ~same] if len(order) else same
    group_first = np.maximum.accumulate(np.where(new, np.arange(len(order)), 0))
    first = np.empty(len(order), dtype=np.int64)
    first[order] = order[group_first]
    return order.astype(np.int64), first


def retransmitted(view: TcpView, ctx: CheckContext) -> Mask:
    """Rows that resend sequence space the flow already sent (not keep-alives), or RSTs again.

    Wireshark's rule (tcp.analysis.retransmission): the segment occupies sequence space and
    ends at or below the highest end sent before. A keep-alive (RFC 9293 §3.8.4: seq one
    below the next, at most one byte) is not a retransmission. Rows the text already marked
    `[TCP Retransmission]` count too.
    """
    from wiredoctor.tables import FrameFlag

    cached = ctx.cache.get("retransmitted")
    if cached is not None:
        done: Mask = cached
        return done
    syn_fin = (view.flags & (SYN | FIN)) != 0
    keepalive = (view.payload <= 1) & ~syn_fin & (view.seq == view.prev_max_end - 1)
    again = (view.seg_len > 0) & (view.seq + view.seg_len <= view.prev_max_end) & ~keepalive
    rst = (view.flags & RST) != 0
    if rst.any():
        idx = np.flatnonzero(rst)
        _, first = first_in_group(view.flow[idx], view.seq[idx])
        again[idx[first != np.arange(len(idx))]] = True
    text = (view.frame_flags & FrameFlag.TEXT_RETRANSMISSION) != 0
    out: Mask = again | text
    ctx.cache["retransmitted"] = out
    return out


def is_flag(view: TcpView, bit: int) -> Mask:
    """Rows with TCP flag `bit` set."""
    out: Mask = (view.flags & bit) != 0
    return out


FIRST_FLOWS = 1 << 14
"""Flows the per-flow arrays hold at first (doubled when full)."""


FLOW_STATE = 16
"""Words of state per flow `flowstream.tcp_stream_pass` keeps, a row of 128 bytes (it
refuses any other shape)."""

STAIR = 8
"""First word of a flow's staircase in its state row (`flowstream._climb`): STEPS ends,
then their STEPS IP lengths (-1: a free step)."""

STEPS = 4
"""Points of a flow's staircase."""

PENDING = 1 << 20
"""Acks set aside (8 bytes each) above which they are folded to two per flow
(`flowstream.tcp_pending_fold`)."""

AHEAD_ROWS = 32
"""Rows of the ring where `flowstream.tcp_stream_pass` keeps the flow keys it hashed ahead
of their frames (a power of two above its `AHEAD`)."""

ORIGINALS = 1 << 18
"""Plain data segments the ring of `flowstream._log` holds (64 bytes each, 16 MiB), so a
retransmission finds its original among about that many data segments before it (less
the rest of its batch)."""


_ROW_COLUMNS: tuple[tuple[str, Any], ...] = (
    ("rows", np.int64),
    ("flow", np.int64),
    ("seq", np.int64),
    ("ack", np.int64),
    ("prev_max_end", np.int64),
    ("ts_ns", np.int64),
    ("frame", np.uint32),
    ("flags", np.uint16),
    ("seg_len", np.int32),
    ("payload", np.int32),
    ("win", np.uint16),
    ("ip_len", np.uint32),
    ("frame_flags", np.uint32),
    ("repeats", np.bool_),
)


class StreamedView:
    """The TCP flow view, grown batch by batch (`flowstream.tcp_stream_pass`)."""

    def __init__(self, frames_hint: int = 0) -> None:
        """`frames_hint`: frames of the whole capture when known (a smaller one needs a
        smaller ring of recent data segments)."""
        self.cols = {name: Growing(np.dtype(dtype)) for name, dtype in _ROW_COLUMNS}
        """The per-row columns, in the kernel's order."""
        self.pending_flow = Growing(np.dtype(np.int32))
        self.pending_ack = Growing(np.dtype(np.uint32))
        """Acks of pure ACKs kept aside until the opposite direction is seen."""
        self.n_flows = 0
        self.slots = np.full(FIRST_FLOWS * 4, -1, dtype=np.int64)
        self.keys = np.empty(FIRST_FLOWS, dtype=np.uint64)
        self.rkeys = np.empty(FIRST_FLOWS, dtype=np.uint64)
        self.flow_row = np.empty(FIRST_FLOWS, dtype=np.int64)
        self.state = np.empty((FIRST_FLOWS, FLOW_STATE), dtype=np.int64)
        entries = ORIGINALS
        if 0 < frames_hint < ORIGINALS:
            entries = max(1 << int(frames_hint - 1).bit_length(), 64)
        self.ring = np.empty((entries, 8), dtype=np.int64)
        self.cursor = np.zeros(1, dtype=np.int64)
        self.wanted = np.empty(0, dtype=np.int64)
        self.ahead = np.empty((AHEAD_ROWS, 3), dtype=np.int64)

    @property
    def size(self) -> int:
        """Rows held."""
        return self.cols["rows"].size

    def reserve(self, rows: int) -> None:
        """Room for `rows` rows in all (rows never written cost no memory)."""
        for column in self.cols.values():
            column.reserve(rows)

    def _more_flows(self) -> None:
        """Double the per-flow arrays, and the slot table with them."""
        size = 2 * self.keys.shape[0]
        for name in ("keys", "rkeys", "flow_row"):
            old = getattr(self, name)
            grown = np.empty(size, dtype=old.dtype)
            grown[: self.n_flows] = old[: self.n_flows]
            setattr(self, name, grown)
        state = np.empty((size, FLOW_STATE), dtype=np.int64)
        state[: self.n_flows] = self.state[: self.n_flows]
        self.state = state
        self.slots = np.full(size * 4, -1, dtype=np.int64)
        tcp_stream_slots(self.slots, self.keys, self.n_flows)

    def _fold_pending(self) -> None:
        """Fold the acks set aside to two per flow (a capture of one direction only would
        set aside nearly every segment's)."""
        flows = self.n_flows
        first = np.full(flows, -1, dtype=np.int64)
        low, high = np.empty(flows, dtype=np.int64), np.empty(flows, dtype=np.int64)
        flow, ack = self.pending_flow.finish(trim=False), self.pending_ack.finish(trim=False)
        left = tcp_pending_fold(flow, ack, len(flow), first, low, high)
        self.pending_flow.truncate(left)
        self.pending_ack.truncate(left)

    def add(self, frames: FrameTable, counted: npt.NDArray[np.bool_], first_row: int) -> I64:
        """Append one batch's counted TCP rows; returns the rows of the flows it opened."""
        flows_before = self.n_flows
        start = 0
        while True:
            # Room for two rows (a segment and its original) and one pending ack per frame
            # left in the batch.
            left = len(frames) - start
            if self.wanted.shape[0] < left:
                self.wanted = np.empty(left, dtype=np.int64)
            outputs = [column.spare(2 * left) for column in self.cols.values()]
            aside = [self.pending_flow.spare(left), self.pending_ack.spare(left)]
            done, written, self.n_flows, pending = tcp_stream(
                frames[start:], counted[start:], first_row + start,
                self.slots, self.keys, self.rkeys, self.flow_row, self.state, self.ring,
                self.cursor, self.wanted, self.ahead, self.n_flows, *outputs, *aside,
            )  # fmt: skip
            for column in self.cols.values():
                column.keep(written)
            self.pending_flow.keep(pending)
            self.pending_ack.keep(pending)
            start += done
            if self.pending_flow.size > PENDING:
                self._fold_pending()
            if start >= len(frames):
                break
            self._more_flows()
        opened: I64 = self.flow_row[flows_before : self.n_flows].copy()
        return opened

    def finish(self) -> TcpView:
        """The view, flows numbered in key order (as `tcpflows.tcp_view` numbers them)."""
        n_flows = self.n_flows
        first_seq = np.ascontiguousarray(self.state[:n_flows, 6])
        rank, reverse, seq0 = order_flows(self.keys, self.rkeys, first_seq, n_flows)
        c = {name: column.finish(trim=False) for name, column in self.cols.items()}
        rows = c["rows"]
        if rows.size > 1 and not (rows[1:] > rows[:-1]).all():
            # Originals were written at the end of their retransmission's batch.
            order = np.argsort(rows, kind="stable")
            c = {name: column[order] for name, column in c.items()}
        # The highest ack of each flow, counted by the stream pass for rows it did not keep.
        max_ack = np.empty(n_flows, dtype=np.int64)
        max_ack[rank] = self.state[:n_flows, 4]
        tcp_stream_finish(
            c["flow"], c["ack"], rank, seq0, reverse, max_ack,
            self.pending_flow.finish(trim=False), self.pending_ack.finish(trim=False),
        )  # fmt: skip
        peer_ack = peer_acks(max_ack, reverse)
        flow_row = np.empty(n_flows, dtype=np.int64)
        flow_row[rank] = self.flow_row[:n_flows]
        # The staircases answer for the segments not written, the rows for the others.
        ends = self.state[:n_flows, STAIR : STAIR + STEPS]
        lengths = self.state[:n_flows, STAIR + STEPS : STAIR + 2 * STEPS]
        acked = (lengths >= 0) & (ends <= peer_ack[rank][:, None])
        through = np.empty(n_flows, dtype=np.int64)
        through[rank] = np.where(acked, lengths, -1).max(axis=1, initial=-1)
        acked_through(through, c["flow"], c["seq"], c["seg_len"], c["ip_len"], peer_ack)
        return TcpView(
            rows=c["rows"],
            flow=c["flow"],
            n_flows=n_flows,
            reverse=reverse,
            frame=c["frame"],
            flags=c["flags"],
            seq=c["seq"],
            seg_len=c["seg_len"],
            payload=c["payload"],
            ack=c["ack"],
            win=c["win"],
            ip_len=c["ip_len"],
            frame_flags=c["frame_flags"],
            prev_max_end=c["prev_max_end"],
            repeats_ack=c["repeats"],
            peer_ack=peer_ack,
            seq0=seq0,
            ts_ns=c["ts_ns"],
            flow_row=flow_row,
            through=through,
        )
