"""ICMP checks: echo requests matched to replies, ping size sweeps, too-big messages
(WD210–WD212).

Echo requests and replies match on (addresses swapped, identifier, sequence) — RFC 792 for
ICMP (types 8/0), RFC 4443 §4.1–4.2 for ICMPv6 (types 128/129). Payload sizes are counted as
`ping -s` counts them: ICMP length − 8. Always holds: matching is vectorised over whole
columns; Python loops run only over destinations that got several sizes (bounded).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from wiredoctor.checks.context import I64, CheckContext, Mask, mix
from wiredoctor.checks.finding import Finding
from wiredoctor.distinct import difference, distinct, within
from wiredoctor.tables import FrameFlag, address_text, take

_ECHO_REQUEST = {4: 8, 6: 128}
_ECHO_REPLY = {4: 0, 6: 129}
_ICMP_PROTO = {4: 1, 6: 58}
_MAX_DESTINATIONS = 100


def _icmp_rows(ctx: CheckContext) -> I64:
    """Frame rows carrying ICMP or ICMPv6 (few, usually): the checks work on these only."""
    return ctx.icmp_rows


def _col(ctx: CheckContext, name: str) -> npt.NDArray[Any]:
    """One frame-table column at the ICMP rows (a view of their records, gathered once per
    run: one copy of the rows is cheaper than a strided gather per column)."""
    records = ctx.cache.get("icmp")
    if records is None:
        frames, rows = ctx.frames, _icmp_rows(ctx)
        records = take(frames, rows) if isinstance(frames, np.ndarray) else frames[rows]
        ctx.cache["icmp"] = records
    out: npt.NDArray[Any] = records[name]
    return out


def _kind(ctx: CheckContext, table: dict[int, int]) -> Mask:
    """Which ICMP rows are of the kinds in `table` (echo requests or replies)."""
    version, proto, kind = _col(ctx, "ip_version"), _col(ctx, "ip_proto"), _col(ctx, "icmp_type")
    out = np.zeros(len(version), dtype=bool)
    for ip_version, icmp_type in table.items():
        out |= (version == ip_version) & (proto == _ICMP_PROTO[ip_version]) & (kind == icmp_type)
    # Non-first fragments carry no ICMP header; their columns are absent anyway.
    out &= _col(ctx, "icmp_id") >= 0
    out &= ctx.counted[_icmp_rows(ctx)]
    return out


def too_big_rows(ctx: CheckContext) -> I64:
    """Rows of ICMP destination unreachable / fragmentation needed (RFC 792, RFC 1191 §4) and
    ICMPv6 packet too big (RFC 4443 §3.2)."""
    cached = ctx.cache.get("too_big")
    if cached is None:
        version, proto, kind = (
            _col(ctx, "ip_version"), _col(ctx, "ip_proto"), _col(ctx, "icmp_type")
        )  # fmt: skip
        v4 = (version == 4) & (proto == 1) & (kind == 3) & (_col(ctx, "icmp_code") == 4)
        v6 = (version == 6) & (proto == 58) & (kind == 2)
        cached = _icmp_rows(ctx)[v4 | v6]
        ctx.cache["too_big"] = cached
    picked: I64 = cached
    return picked


def _echo(ctx: CheckContext) -> tuple[I64, I64, Mask, I64]:
    """(request rows, reply rows, answered per request, ping -s payload size per request)."""
    cached = ctx.cache.get("echo")
    if cached is None:
        cached = _match_echo(ctx)
        ctx.cache["echo"] = cached
    out: tuple[I64, I64, Mask, I64] = cached
    return out


def _echo_at(ctx: CheckContext) -> tuple[I64, I64]:
    """Places among the ICMP rows of (echo requests, echo replies): the checks read their
    columns through `_col`, gathered once, instead of gathering each column again."""
    cached = ctx.cache.get("echo_at")
    if cached is None:
        cached = (
            np.flatnonzero(_kind(ctx, _ECHO_REQUEST)),
            np.flatnonzero(_kind(ctx, _ECHO_REPLY)),
        )
        ctx.cache["echo_at"] = cached
    out: tuple[I64, I64] = cached
    return out


def _match_echo(ctx: CheckContext) -> tuple[I64, I64, Mask, I64]:
    at_req, at_rep = _echo_at(ctx)
    rows = _icmp_rows(ctx)
    names = ("src_hi", "src_lo", "dst_hi", "dst_lo", "icmp_id", "icmp_seq")
    q = {
        name: _col(ctx, name)[at_req]
        for name in (*names, "ip_hdr_len", "ip_version", "ip_len", "flags")
    }
    r = {name: _col(ctx, name)[at_rep] for name in names}
    req_key = mix(q["src_hi"], q["src_lo"], q["dst_hi"], q["dst_lo"], q["icmp_id"], q["icmp_seq"])
    rep_key = mix(r["dst_hi"], r["dst_lo"], r["src_hi"], r["src_lo"], r["icmp_id"], r["icmp_seq"])
    answered = within(req_key, rep_key)
    hdr = q["ip_hdr_len"].astype(np.int64)
    hdr = np.where(hdr > 0, hdr, np.where(q["ip_version"] == 6, 40, 20))
    size = q["ip_len"].astype(np.int64) - hdr - 8
    # A fragmented request states only its first fragment's length.
    frag = (q["flags"] & (FrameFlag.FRAGMENT | FrameFlag.REASSEMBLED)) != 0
    size[frag] = -1
    return rows[at_req], rows[at_rep], answered, size


def check_ping_sweep(ctx: CheckContext) -> list[Finding]:
    """WD210: pings of several sizes to one destination where the larger ones go unanswered."""
    req, _rep, answered, size = _echo(ctx)
    if req.size == 0:
        return []
    at_req, at_rep = _echo_at(ctx)
    dst_hi, dst_lo = _col(ctx, "dst_hi")[at_req], _col(ctx, "dst_lo")[at_req]
    version = _col(ctx, "ip_version")[at_req]
    reply_hi, reply_lo = _col(ctx, "src_hi")[at_rep], _col(ctx, "src_lo")[at_rep]
    frame = _col(ctx, "frame")
    dest = mix(dst_hi, dst_lo, version)
    known = size >= 0
    # Distinct (destination, size) pairs, then sizes per destination (in destination order).
    d, s = dest[known], size[known]
    order = np.lexsort((s, d))
    d, s = d[order], s[order]
    new_pair = np.ones(len(d), dtype=bool)
    new_pair[1:] = (d[1:] != d[:-1]) | (s[1:] != s[:-1])
    dests, nsizes = np.unique(d[new_pair], return_counts=True)
    too_big = bool(too_big_rows(ctx).size)
    findings: list[Finding] = []
    for d in dests[nsizes >= 2][:_MAX_DESTINATIONS].tolist():
        mine = (dest == d) & known
        ok_sizes = distinct(size[mine & answered])
        lost_sizes = difference(size[mine & ~answered], ok_sizes)
        if ok_sizes.size == 0 or lost_sizes.size == 0:
            continue
        largest = int(ok_sizes.max())
        above = lost_sizes[lost_sizes > largest]
        if above.size == 0:
            continue  # losses are not about size
        first = int(np.flatnonzero(mine)[0])
        hi, lo = int(dst_hi[first]), int(dst_lo[first])
        replies = (reply_hi == hi) & (reply_lo == lo)
        facts: dict[str, Any] = {
            "destination": address_text(hi, lo),
            "largest_answered": largest,
            "smallest_unanswered": int(above.min()),
            "ip_version": int(version[first]),
            "answered": [int(x) for x in ok_sizes.tolist()],
            "unanswered": [int(x) for x in lost_sizes.tolist()],
            "consistent": bool(lost_sizes.min() > largest),
            "too_big_seen": too_big,
        }
        message = (
            f"pings to {facts['destination']} with payload up to {largest} bytes are "
            f"answered, from {facts['smallest_unanswered']} bytes on they are not"
        )
        frames = np.r_[frame[at_req[mine]], frame[at_rep[replies]]]
        findings.append(ctx.finding("ping-size-threshold", message, frames, facts))
    return findings


def check_too_big(ctx: CheckContext) -> list[Finding]:
    """WD211: ICMP fragmentation-needed / ICMPv6 packet-too-big messages, with their MTUs."""
    rows = too_big_rows(ctx)
    if rows.size == 0:
        return []
    announced = distinct(ctx.frames["icmp_mtu"][rows])
    mtus = [int(x) for x in announced[announced >= 0].tolist()]
    facts: dict[str, Any] = {
        "count": int(rows.size),
        "mtus": mtus,
        "senders": ctx.addresses(rows, "src"),
    }
    message = (
        f"{facts['count']} ICMP too-big messages announce MTU "
        f"{', '.join(str(m) for m in mtus) or 'unknown'}"
    )
    return [ctx.finding("icmp-too-big", message, ctx.frames["frame"][rows], facts)]


def check_unanswered_echo(ctx: CheckContext) -> list[Finding]:
    """WD212: echo requests that never got their reply in this capture."""
    req, _rep, answered, size = _echo(ctx)
    lost = req[~answered]
    if lost.size == 0:
        return []
    facts = {
        "count": int(lost.size),
        "destinations": ctx.addresses(lost, "dst"),
        "sizes": [int(x) for x in distinct(size[~answered])[:50].tolist()],
    }
    message = f"{facts['count']} echo requests got no reply"
    return [ctx.finding("icmp-echo-unanswered", message, ctx.frames["frame"][lost], facts)]
