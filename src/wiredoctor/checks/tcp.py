"""TCP connection checks over the flow view: SYN-ACK mismatch, retransmissions, dup ACKs,
zero windows (WD201–WD204).

Always holds: nothing loops per frame in Python; loops run over at most `flow_limit` flows or
over mismatching SYN-ACKs listed in facts; retransmissions count each resent row once.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from wiredoctor.checks.context import I64, CheckContext, Mask
from wiredoctor.checks.finding import Finding
from wiredoctor.checks.tcpflows import (
    ACK,
    FIN,
    RST,
    SYN,
    TcpView,
    first_in_group,
    is_flag,
    retransmitted,
    tcp_view,
)
from wiredoctor.checksum.verdict import CAUSE_NAMES, Proto, Status
from wiredoctor.distinct import distinct_pairs
from wiredoctor.tables import FrameFlag, take


def flows_facts(ctx: CheckContext, view: TcpView, sel: Mask) -> list[dict[str, Any]]:
    """[{src, sport, dst, dport, frames}] for the flows of the selected rows, busiest first."""
    if not sel.any():
        return []
    flows, counts = np.unique(view.flow[sel], return_counts=True)
    out = []
    for fl in flows[np.argsort(-counts, kind="stable")][: ctx.options.flow_limit].tolist():
        idx = np.flatnonzero(sel & (view.flow == fl))
        entry = ctx.endpoint(int(view.flow_row[fl]))
        entry["frames"] = [int(x) for x in view.frame[idx][:50].tolist()]
        entry["count"] = len(idx)
        out.append(entry)
    return out


def check_syn_ack(ctx: CheckContext) -> list[Finding]:
    """WD201: a SYN-ACK whose ack is not its SYN's seq + 1 (RFC 9293 §3.5).

    TCP Fast Open (RFC 7413 §3): a SYN with data may be acked at seq + 1 + data. A SYN-ACK
    matching an earlier SYN of the same 4-tuple (old connection attempt) is named as such.
    """
    view = tcp_view(ctx)
    syn = is_flag(view, SYN) & ~is_flag(view, ACK)
    synack = is_flag(view, SYN) & is_flag(view, ACK)
    if not syn.any() or not synack.any():
        return []
    # Combined (flow, frame) ordering key: dense flow ids and frame numbers fit 32 bits each.
    syn_idx = np.flatnonzero(syn)
    syn_key = (view.flow[syn_idx] << 32) | view.frame[syn_idx]
    by_key = np.argsort(syn_key, kind="stable")
    syn_idx, syn_key = syn_idx[by_key], syn_key[by_key]
    # SYN-ACKs in (flow, frame) order: the order pairs are listed in.
    sa_idx = np.flatnonzero(synack)
    sa_idx = sa_idx[np.argsort((view.flow[sa_idx] << 32) | view.frame[sa_idx], kind="stable")]
    peer = view.reverse[view.flow[sa_idx]]
    has_peer = peer >= 0
    sa_idx, peer = sa_idx[has_peer], peer[has_peer]
    want = (peer << 32) | view.frame[sa_idx]
    pos = np.searchsorted(syn_key, want) - 1
    found = (pos >= 0) & ((syn_key[np.maximum(pos, 0)] >> 32) == peer)
    sa_idx, pos = sa_idx[found], pos[found]
    syn_of = syn_idx[pos]
    # Relative numbers: the SYN's seq sits in the SYN's own flow space, the SYN-ACK's ack
    # was made relative to that same space.
    expected = view.seq[syn_of] + 1
    tfo = expected + view.payload[syn_of]
    ack = view.ack[sa_idx]
    bad = (ack != expected) & (ack != tfo)
    if not bad.any():
        return []
    pairs: list[dict[str, Any]] = []
    evidence: list[int] = []
    for i in np.flatnonzero(bad).tolist():
        s, a = int(syn_of[i]), int(sa_idx[i])
        evidence += [int(view.frame[s]), int(view.frame[a])]
        if len(pairs) >= ctx.options.flow_limit:
            continue
        fl = int(view.flow[s])
        base = int(view.seq0[fl])
        client = ctx.endpoint(int(view.flow_row[fl]))
        pair: dict[str, Any] = {
            "syn_frame": int(view.frame[s]),
            "synack_frame": int(view.frame[a]),
            "client": f"{client['src']}:{client['sport']}",
            "server": f"{client['dst']}:{client['dport']}",
            "syn_seq": (int(view.seq[s]) + base) & 0xFFFF_FFFF,
            "expected_ack": (int(expected[i]) + base) & 0xFFFF_FFFF,
            "ack": (int(ack[i]) + base) & 0xFFFF_FFFF,
            "acks_earlier_syn": None,
        }
        earlier = np.flatnonzero(syn & (view.flow == fl) & (view.frame < view.frame[s]))
        hit = earlier[view.seq[earlier] + 1 == ack[i]]
        if len(hit):
            pair["acks_earlier_syn"] = int(view.frame[hit[-1]])
            evidence.append(int(view.frame[hit[-1]]))
        pairs.append(pair)
    first = pairs[0]
    message = (
        f"{int(bad.sum())} SYN-ACKs do not acknowledge their SYN: frame "
        f"{first['synack_frame']} acks {first['ack']}, expected {first['expected_ack']}"
    )
    facts = {"count": int(bad.sum()), "pairs": pairs}
    return [ctx.finding("syn-ack-mismatch", message, evidence, facts)]


def _originals(view: TcpView) -> I64:
    """For each row: the first row of its flow that sent the same seq with sequence space
    (itself for pure ACKs); an RST's original is the first RST with its seq."""
    first = np.arange(len(view.rows), dtype=np.int64)
    rst = (view.flags & RST) != 0
    idx = np.flatnonzero((view.seg_len > 0) | rst)
    _, group_first = first_in_group(view.flow[idx], view.seq[idx], rst[idx].astype(np.int64))
    first[idx] = idx[group_first]
    return first


def _bad_l4(ctx: CheckContext, rows: I64) -> tuple[Mask, I64]:
    """For frame rows `rows`: whether the frame's TCP checksum is bad, and the cause code of
    that verdict (of the frame's last bad TCP checksum when it has several)."""
    c = take(ctx.checksums, ctx.listed)  # every bad checksum row is listed
    sel = (c["proto"] == Proto.TCP) & (c["status"] == Status.BAD)
    bad_rows = ctx.cksum_frame_row[ctx.listed[sel]][::-1]
    causes = c["cause"][sel][::-1].astype(np.int64)
    # Reversed, the first occurrence of a row is its last bad checksum.
    known, first = np.unique(bad_rows, return_index=True)
    if known.size == 0:
        return np.zeros(len(rows), dtype=bool), np.zeros(len(rows), dtype=np.int64)
    at = np.minimum(np.searchsorted(known, rows), known.size - 1)
    hit = known[at] == rows
    cause: I64 = np.where(hit, causes[first[at]], 0)
    return hit, cause


def _backoff(view: TcpView, again: Mask, first: I64) -> dict[str, Any]:
    """The resend pattern of the most-resent segment: intervals and whether they double."""
    resent = first[again]
    if resent.size == 0:
        return {"intervals_ms": [], "exponential_backoff": False, "segment_frames": []}
    groups, counts = np.unique(resent, return_counts=True)
    # Of equally resent segments, the first in (flow, frame) order.
    tied = groups[counts == counts.max()]
    top = int(tied[np.argmin((view.flow[tied] << 32) | view.frame[tied])])
    members = np.flatnonzero(first == top)
    ts = np.sort(view.ts_ns[members])
    intervals = np.diff(ts) / 1e6
    ratios = intervals[1:] / np.maximum(intervals[:-1], 1e-9)
    exponential = bool(len(intervals) >= 3 and float(np.median(ratios)) >= 1.5)
    return {
        "intervals_ms": [round(float(x), 3) for x in intervals[:20].tolist()],
        "exponential_backoff": exponential,
        "segment_frames": [int(x) for x in view.frame[members][:20].tolist()],
    }


def check_retransmissions(ctx: CheckContext) -> list[Finding]:
    """WD202: segments (FINs and SYNs included) sent again, with what the resends tell."""
    view = tcp_view(ctx)
    again = retransmitted(view, ctx)
    if not again.any():
        return []
    first = _originals(view)
    syn, fin, rst = is_flag(view, SYN), is_flag(view, FIN), is_flag(view, RST)
    data = view.payload > 0
    orig_rows = view.rows[first[again]]
    bad, cause = _bad_l4(ctx, orig_rows)
    has_orig = first[again] != np.flatnonzero(again)
    orig_bad = bad & has_orig
    causes, ncause = np.unique(cause[orig_bad], return_counts=True)
    # A FIN or SYN is answered when the peer acknowledged the sequence number after it.
    end = view.seq + view.seg_len
    acked = view.peer_ack[view.flow] >= end
    fin_rows, syn_rows = fin & ~acked, syn & ~acked
    unanswered_fin = distinct_pairs(view.flow[fin_rows], end[fin_rows])
    unanswered_syn = distinct_pairs(view.flow[syn_rows], end[syn_rows])
    evidence = np.r_[view.frame[again], view.frame[first[again]]]
    facts: dict[str, Any] = {
        "count": int(again.sum()),
        "data": int((again & data).sum()),
        "fin": int((again & fin & ~data).sum()),
        "syn": int((again & syn & ~data).sum()),
        "rst": int((again & rst & ~data & ~syn & ~fin).sum()),
        "flows": flows_facts(ctx, view, again),
        "bad_checksum": int(orig_bad.sum()),
        "bad_checksum_causes": {
            str(CAUSE_NAMES.get(int(k))): int(n) for k, n in zip(causes, ncause, strict=True)
        },
        "unanswered_fin": unanswered_fin,
        "unanswered_syn": unanswered_syn,
        **_backoff(view, again, first),
    }
    message = (
        f"{facts['count']} TCP segments were retransmitted ({facts['data']} data, "
        f"{facts['fin']} FIN, {facts['syn']} SYN, {facts['rst']} RST)"
    )
    if unanswered_fin:
        message += f"; {unanswered_fin} FINs never acknowledged"
    return [ctx.finding("tcp-retransmissions", message, evidence, facts)]


def check_dup_acks(ctx: CheckContext) -> list[Finding]:
    """WD203: pure ACKs repeating the previous segment of their flow direction.

    Wireshark's tcp.analysis.duplicate_ack: no payload, no SYN/FIN/RST, the same raw ack
    number and the same window as the previous segment sent the same way, which carried an
    ACK too (a segment without the ACK flag has no ack number to repeat).
    """
    view = tcp_view(ctx)
    dup = view.repeats_ack | ((view.frame_flags & FrameFlag.TEXT_DUP_ACK) != 0)
    if not dup.any():
        return []
    facts = {"count": int(dup.sum()), "flows": flows_facts(ctx, view, dup)}
    message = f"{facts['count']} duplicate ACKs: a receiver keeps asking for the same data"
    return [ctx.finding("tcp-dup-acks", message, view.frame[dup], facts)]


def check_zero_window(ctx: CheckContext) -> list[Finding]:
    """WD204: segments advertising a zero receive window (the receiver is not reading)."""
    view = tcp_view(ctx)
    # Printed windows are scaled values (Win=65536) that the 16-bit column cannot hold, so
    # text records do not say whether a window was really zero.
    text = (view.frame_flags & FrameFlag.TEXT_FIELDS) != 0
    zero = (view.win == 0) & ((view.flags & (RST | SYN)) == 0) & ~text
    if not zero.any():
        return []
    facts = {"count": int(zero.sum()), "flows": flows_facts(ctx, view, zero)}
    message = f"{facts['count']} segments advertise a zero window"
    return [ctx.finding("tcp-zero-window", message, view.frame[zero], facts)]
