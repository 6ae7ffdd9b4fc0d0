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

from checks.slowchecks.context import I64, CheckContext, Mask, mix
from wiredoctor.checks.finding import Finding
from wiredoctor.tables import FrameFlag, address_text

_ECHO_REQUEST = {4: 8, 6: 128}
_ECHO_REPLY = {4: 0, 6: 129}
_ICMP_PROTO = {4: 1, 6: 58}
_MAX_DESTINATIONS = 100


def _icmp_rows(ctx: CheckContext) -> I64:
    """Frame rows carrying ICMP or ICMPv6 (few, usually): the checks work on these only."""
    cached = ctx.cache.get("icmp_rows")
    if cached is None:
        cached = np.flatnonzero(ctx.column("icmp_type") >= 0)
        ctx.cache["icmp_rows"] = cached
    out: I64 = cached
    return out


def _kind(ctx: CheckContext, table: dict[int, int]) -> I64:
    rows = _icmp_rows(ctx)
    f = ctx.frames
    version, proto, kind = f["ip_version"][rows], f["ip_proto"][rows], f["icmp_type"][rows]
    out = np.zeros(len(rows), dtype=bool)
    for ip_version, icmp_type in table.items():
        out |= (version == ip_version) & (proto == _ICMP_PROTO[ip_version]) & (kind == icmp_type)
    # Non-first fragments carry no ICMP header; their columns are absent anyway.
    out &= f["icmp_id"][rows] >= 0
    out &= ctx.counted[rows]
    picked: I64 = rows[out]
    return picked


def too_big_rows(ctx: CheckContext) -> I64:
    """Rows of ICMP destination unreachable / fragmentation needed (RFC 792, RFC 1191 §4) and
    ICMPv6 packet too big (RFC 4443 §3.2)."""
    rows = _icmp_rows(ctx)
    f = ctx.frames
    version, proto, kind = f["ip_version"][rows], f["ip_proto"][rows], f["icmp_type"][rows]
    v4 = (version == 4) & (proto == 1) & (kind == 3) & (f["icmp_code"][rows] == 4)
    v6 = (version == 6) & (proto == 58) & (kind == 2)
    picked: I64 = rows[v4 | v6]
    return picked


def _echo(ctx: CheckContext) -> tuple[I64, I64, Mask, I64]:
    """(request rows, reply rows, answered per request, ping -s payload size per request)."""
    cached = ctx.cache.get("echo")
    if cached is None:
        cached = _match_echo(ctx)
        ctx.cache["echo"] = cached
    out: tuple[I64, I64, Mask, I64] = cached
    return out


def _match_echo(ctx: CheckContext) -> tuple[I64, I64, Mask, I64]:
    f = ctx.frames
    req = _kind(ctx, _ECHO_REQUEST)
    rep = _kind(ctx, _ECHO_REPLY)
    q, r = f[req], f[rep]
    req_key = mix(q["src_hi"], q["src_lo"], q["dst_hi"], q["dst_lo"], q["icmp_id"], q["icmp_seq"])
    rep_key = mix(r["dst_hi"], r["dst_lo"], r["src_hi"], r["src_lo"], r["icmp_id"], r["icmp_seq"])
    answered = np.isin(req_key, rep_key)
    hdr = q["ip_hdr_len"].astype(np.int64)
    hdr = np.where(hdr > 0, hdr, np.where(q["ip_version"] == 6, 40, 20))
    size = q["ip_len"].astype(np.int64) - hdr - 8
    # A fragmented request states only its first fragment's length.
    frag = (q["flags"] & (FrameFlag.FRAGMENT | FrameFlag.REASSEMBLED)) != 0
    size[frag] = -1
    return req, rep, answered, size


def check_ping_sweep(ctx: CheckContext) -> list[Finding]:
    """WD210: pings of several sizes to one destination where the larger ones go unanswered."""
    req, rep, answered, size = _echo(ctx)
    if req.size == 0:
        return []
    f = ctx.frames
    dest = mix(f["dst_hi"][req], f["dst_lo"][req], f["ip_version"][req])
    known = size >= 0
    pairs = np.unique(np.stack([dest[known], size[known].astype(np.uint64)], 1), axis=0)
    dests, nsizes = np.unique(pairs[:, 0], return_counts=True)
    too_big = bool(too_big_rows(ctx).size)
    findings: list[Finding] = []
    for d in dests[nsizes >= 2][:_MAX_DESTINATIONS].tolist():
        mine = (dest == d) & known
        ok_sizes = np.unique(size[mine & answered])
        lost_sizes = np.setdiff1d(np.unique(size[mine & ~answered]), ok_sizes)
        if ok_sizes.size == 0 or lost_sizes.size == 0:
            continue
        largest = int(ok_sizes.max())
        above = lost_sizes[lost_sizes > largest]
        if above.size == 0:
            continue  # losses are not about size
        row = int(req[np.flatnonzero(mine)[0]])
        hi, lo = int(f["dst_hi"][row]), int(f["dst_lo"][row])
        replies = rep[(f["src_hi"][rep] == hi) & (f["src_lo"][rep] == lo)]
        facts: dict[str, Any] = {
            "destination": address_text(hi, lo),
            "largest_answered": largest,
            "smallest_unanswered": int(above.min()),
            "ip_version": int(f["ip_version"][row]),
            "answered": [int(x) for x in ok_sizes.tolist()],
            "unanswered": [int(x) for x in lost_sizes.tolist()],
            "consistent": bool(lost_sizes.min() > largest),
            "too_big_seen": too_big,
        }
        message = (
            f"pings to {facts['destination']} with payload up to {largest} bytes are "
            f"answered, from {facts['smallest_unanswered']} bytes on they are not"
        )
        frames = np.r_[f["frame"][req[mine]], f["frame"][replies]]
        findings.append(ctx.finding("ping-size-threshold", message, frames, facts))
    return findings


def check_too_big(ctx: CheckContext) -> list[Finding]:
    """WD211: ICMP fragmentation-needed / ICMPv6 packet-too-big messages, with their MTUs."""
    rows = too_big_rows(ctx)
    if rows.size == 0:
        return []
    announced = np.unique(ctx.frames["icmp_mtu"][rows])
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
        "sizes": [int(x) for x in np.unique(size[~answered])[:50].tolist()],
    }
    message = f"{facts['count']} echo requests got no reply"
    return [ctx.finding("icmp-echo-unanswered", message, ctx.frames["frame"][lost], facts)]
