"""The TCP flow view: counted TCP segments grouped by direction of flow, in capture order.

Built once per run (cached in the context) with whole-column numpy: flow keys hash the address
halves and ports, one stable sort groups rows by flow, and sequence numbers are made relative
to each flow's first seen sequence number with RFC 1982 serial arithmetic, so wrap-around and
text captures with relative numbers (Wireshark lists) behave alike. Always holds: `rows` are
frame-table rows sorted by (flow, frame); every per-row array is aligned with `rows`;
`peer_ack` is in this flow's own sequence space.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from checks.slowchecks.context import I64, CheckContext, Mask, mix, wrap32
from wiredoctor.checks.tcpflows import first_in_group

FIN, SYN, RST, PSH, ACK = 1, 2, 4, 8, 16
_NONE = -(1 << 40)  # below any relative sequence number
_SPAN = 1 << 34  # per-flow offset that keeps flows apart in one running maximum


@dataclass(frozen=True, slots=True, kw_only=True)
class TcpView:
    """Counted TCP segments of one capture, grouped by flow direction."""

    rows: I64
    """Frame-table rows, sorted by (flow, frame)."""
    flow: I64
    """Dense id of the directional flow (src, sport → dst, dport) of each row."""
    n_flows: int
    starts: I64
    """Index into `rows` where each flow begins (length n_flows)."""
    reverse: I64
    """Per flow: the id of the opposite direction, -1 when it was not captured."""
    frame: I64
    ts: I64
    flags: I64
    seq: I64
    """Relative sequence number (0 = the flow's first seen seq)."""
    seg_len: I64
    """Sequence space the segment occupies: payload + SYN + FIN."""
    payload: I64
    ack: I64
    """Relative acknowledgement number in the peer flow's sequence space (_NONE without ACK)."""
    ack_raw: I64
    """The acknowledgement number as on the wire (-1 without the ACK flag)."""
    win: I64
    ip_len: I64
    prev_max_end: I64
    """Highest seq + seg_len sent earlier in the same flow (_NONE for a flow's first row)."""
    peer_ack: I64
    """Per flow: the highest acknowledgement its peer ever sent, in this flow's space."""
    seq0: I64
    """Per flow: the wire sequence number relative numbers count from."""


def tcp_view(ctx: CheckContext) -> TcpView:
    """The cached TCP flow view of the context's capture."""
    view = ctx.cache.get("tcp")
    if isinstance(view, TcpView):
        return view
    view = _build(ctx)
    ctx.cache["tcp"] = view
    return view


def _build(ctx: CheckContext) -> TcpView:
    f = ctx.frames
    sel = (f["ip_proto"] == 6) & (f["sport"] >= 0) & ctx.counted
    rows0 = np.flatnonzero(sel)

    # Gather column by column into contiguous arrays: indexing the structured table itself
    # copies whole records, and random gathers from its strided columns miss the cache.
    def g(name: str) -> I64:
        out: I64 = np.ascontiguousarray(f[name])[rows0]
        return out

    side_a = mix(g("src_hi"), g("src_lo"), g("sport"))
    side_b = mix(g("dst_hi"), g("dst_lo"), g("dport"))
    key = mix(side_a, side_b)
    rkey = mix(side_b, side_a)
    # One stable sort groups rows by flow and keeps capture order inside each flow.
    order = np.argsort(key, kind="stable")
    rows = rows0[order]
    sorted_key = key[order]
    new_flow = np.r_[True, sorted_key[1:] != sorted_key[:-1]] if len(order) else order > 0
    flow = np.cumsum(new_flow, dtype=np.int64) - 1
    starts = np.flatnonzero(new_flow).astype(np.int64)
    uniq = sorted_key[starts]
    n_flows = len(uniq)
    # Reverse flow of each flow: look the reversed key up among the flow keys.
    rkey_flow = rkey[order][starts]
    pos = np.clip(np.searchsorted(uniq, rkey_flow), 0, max(n_flows - 1, 0))
    reverse = np.where(uniq[pos] == rkey_flow, pos, -1).astype(np.int64) if n_flows else starts

    def s(name: str) -> I64:
        out: I64 = g(name)[order]
        return out

    flags = s("tcp_flags").astype(np.int64)
    payload = np.maximum(s("l4_payload_len").astype(np.int64), 0)
    seg_len = payload + ((flags & SYN) != 0) + ((flags & FIN) != 0)
    wire_seq = s("tcp_seq").astype(np.int64)
    seq0 = wire_seq[starts] if n_flows else wire_seq[:0]
    seq = wrap32(wire_seq - seq0[flow])

    has_ack = (flags & ACK) != 0
    ack = np.full(len(rows), _NONE, dtype=np.int64)
    peer_of_row = reverse[flow] if n_flows else flow
    ok = has_ack & (peer_of_row >= 0)
    ack_raw = np.where(has_ack, s("tcp_ack").astype(np.int64), -1)
    ack[ok] = wrap32(ack_raw[ok] - seq0[peer_of_row[ok]])

    # Running maximum of seq + seg_len per flow, shifted by one row: what the flow had
    # already covered when each segment was sent.
    end = seq + seg_len
    shifted = end + (1 << 32) + flow * _SPAN
    running = np.maximum.accumulate(shifted) if len(rows) else shifted
    prev = np.empty_like(running)
    if len(rows):
        prev[1:] = running[:-1]
        prev[0] = 0
    prev_max_end = prev - (1 << 32) - flow * _SPAN
    prev_max_end[starts] = _NONE

    # The highest acknowledgement each flow sent (in its peer's space), then swapped to peers.
    max_ack = np.maximum.reduceat(ack, starts) if n_flows else ack[:0]
    peer_ack = np.where(reverse >= 0, max_ack[np.maximum(reverse, 0)], _NONE).astype(np.int64)
    return TcpView(
        rows=rows.astype(np.int64),
        flow=flow,
        n_flows=n_flows,
        starts=starts,
        reverse=reverse,
        frame=s("frame").astype(np.int64),
        ts=s("ts_ns").astype(np.int64),
        flags=flags,
        seq=seq,
        seg_len=seg_len,
        payload=payload,
        ack=ack,
        ack_raw=ack_raw,
        win=s("tcp_win").astype(np.int64),
        ip_len=s("ip_len").astype(np.int64),
        prev_max_end=prev_max_end,
        peer_ack=peer_ack,
        seq0=seq0.astype(np.int64),
    )


def retransmitted(view: TcpView, ctx: CheckContext) -> Mask:
    """Rows that resend sequence space the flow already sent (not keep-alives), or RSTs again.

    Wireshark's rule (tcp.analysis.retransmission): the segment occupies sequence space and
    ends at or below the highest end sent before. A keep-alive (RFC 9293 §3.8.4: seq one
    below the next, at most one byte) is not a retransmission. Rows the text already marked
    `[TCP Retransmission]` count too.
    """
    from wiredoctor.tables import FrameFlag

    f = ctx.frames
    syn_fin = (view.flags & (SYN | FIN)) != 0
    keepalive = (view.payload <= 1) & ~syn_fin & (view.seq == view.prev_max_end - 1)
    again = (view.seg_len > 0) & (view.seq + view.seg_len <= view.prev_max_end) & ~keepalive
    rst = (view.flags & RST) != 0
    if rst.any():
        idx = np.flatnonzero(rst)
        _, first = first_in_group(view.flow[idx], view.seq[idx])
        again[idx[first != np.arange(len(idx))]] = True
    text = (f["flags"][view.rows] & FrameFlag.TEXT_RETRANSMISSION) != 0
    out: Mask = again | text
    return out
