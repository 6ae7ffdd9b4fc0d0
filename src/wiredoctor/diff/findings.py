"""Observations a diff makes beside its diagnoses: hop counts, DSCP/ECN rewrites, rewritten
TCP sequence numbers and timestamps, trailers added on the way, duplicates, retransmissions.

Their codes (WD4xx) are catalogued in checks/codes.py with the single-capture ones;
`input_notes` says in plain sentences what the reader should know about the two inputs
(link types, how pairs were made, the clock).

Always holds: every Finding made here uses a WD4xx code from checks/codes.py; evidence
names capture B and its frames.
"""

from __future__ import annotations

import numpy as np

from wiredoctor.capture.record import linktype_name
from wiredoctor.checks.codes import CODES
from wiredoctor.checks.finding import Evidence, Finding
from wiredoctor.diff.common import DIRECTION_NAMES, frames_b, has, sample_pairs
from wiredoctor.diff.fields import Field
from wiredoctor.diff.result import DiffResult
from wiredoctor.distinct import distinct

_BY_SYMBOL = {c.symbol: c for c in CODES if c.code.startswith("WD4")}


def _finding(
    result: DiffResult, symbol: str, message: str, pairs: np.ndarray, facts: dict[str, object]
) -> Finding:
    code = _BY_SYMBOL[symbol]
    return Finding(
        code=code.code,
        symbol=symbol,
        severity=code.severity,
        message=message,
        evidence=Evidence(capture=result.b.path, frames=tuple(frames_b(result, pairs))),
        facts=facts,
    )


def _ttl(result: DiffResult) -> Finding | None:
    pairs = np.flatnonzero(has(result, Field.IP_TTL))
    if pairs.size == 0:
        return None
    ttl_a = result.a.frames["ttl"][result.pairing.a_rows[pairs]].astype(np.int64)
    ttl_b = result.b.frames["ttl"][result.pairing.b_rows[pairs]].astype(np.int64)
    # One integer per (direction, hops): a 1-D unique is far cheaper than a row-wise one.
    combined = (result.direction[pairs].astype(np.int64) + 1) * 256 + np.abs(ttl_a - ttl_b)
    kinds, counts = np.unique(combined, return_counts=True)
    rows = [
        {"direction": DIRECTION_NAMES[k // 256 - 1], "hops": k % 256, "count": n}
        for k, n in zip(kinds.tolist(), counts.tolist(), strict=True)
    ]
    text = ", ".join(f"{r['hops']} hop(s) {r['direction']} ({r['count']} packets)" for r in rows)
    return _finding(
        result, "diff-ttl-decrement", f"TTL / hop limit decremented: {text}", pairs, {"hops": rows}
    )


def _dsfield(result: DiffResult) -> Finding | None:
    pairs = np.flatnonzero(has(result, Field.IP_DSFIELD))
    if pairs.size == 0:
        return None
    ds_a = result.a.frames["dsfield"][result.pairing.a_rows[pairs]].astype(np.int64)
    ds_b = result.b.frames["dsfield"][result.pairing.b_rows[pairs]].astype(np.int64)
    d = result.direction[pairs]
    before = np.where(d < 0, ds_b, ds_a)
    after = np.where(d < 0, ds_a, ds_b)
    combined = ((d.astype(np.int64) + 1) << 16) | (before << 8) | after
    kinds, counts = np.unique(combined, return_counts=True)
    rows = [
        {
            "direction": DIRECTION_NAMES[(k >> 16) - 1],
            "before": (k >> 8) & 0xFF,
            "after": k & 0xFF,
            "count": n,
        }
        for k, n in zip(kinds.tolist(), counts.tolist(), strict=True)
    ]
    dscp = bool(((before >> 2) != (after >> 2)).any())
    ecn = bool(((before & 3) != (after & 3)).any())
    what = " and ".join(x for x, y in (("DSCP", dscp), ("ECN", ecn)) if y)
    text = ", ".join(f"0x{r['before']:02x} → 0x{r['after']:02x} ({r['count']})" for r in rows)
    # RFC 2474 §3 lets a domain re-mark DSCP; RFC 3168 §6.1 forbids clearing ECN (CE) bits.
    return _finding(
        result,
        "diff-dsfield-rewrite",
        f"{what} bits rewritten between the points: {text}",
        pairs,
        {"rewrites": rows, "dscp": dscp, "ecn": ecn},
    )


def _seq(result: DiffResult) -> Finding | None:
    seq = has(result, Field.TCP_SEQ)
    pairs = np.flatnonzero(seq | has(result, Field.TCP_ACK))
    if pairs.size == 0:
        return None
    idx = np.flatnonzero(seq)
    offsets = (
        result.b.frames["tcp_seq"][result.pairing.b_rows[idx]].astype(np.int64)
        - result.a.frames["tcp_seq"][result.pairing.a_rows[idx]]
    ) % (1 << 32)
    flows = distinct(result.pairing.flow_a[result.pairing.a_rows[pairs]]).size
    shifts = sorted({int(x) for x in offsets})[:20]
    return _finding(
        result,
        "diff-tcp-seq-rewritten",
        f"TCP sequence numbers rewritten between the points in {flows} flow(s) "
        "(a firewall randomising initial sequence numbers)",
        pairs,
        {
            "count": int(pairs.size),
            "flows": flows,
            "offsets": shifts,
            "acks": int(has(result, Field.TCP_ACK).sum()),
        },
    )


def _trailer(result: DiffResult) -> Finding | None:
    pairs = np.flatnonzero(has(result, Field.TRAILER))
    if pairs.size == 0:
        return None
    ta = result.a.frames["trailer_len"][result.pairing.a_rows[pairs]].astype(np.int64)
    tb = result.b.frames["trailer_len"][result.pairing.b_rows[pairs]].astype(np.int64)
    kinds, counts = np.unique((ta << 16) | tb, return_counts=True)
    rows = [
        {"a": k >> 16, "b": k & 0xFFFF, "count": n}
        for k, n in zip(kinds.tolist(), counts.tolist(), strict=True)
    ]
    text = ", ".join(f"{r['a']} → {r['b']} bytes ({r['count']})" for r in rows)
    return _finding(
        result,
        "diff-trailer-added",
        f"Ethernet trailer length changed on the way: {text}",
        pairs,
        {"changes": rows},
    )


def _retransmissions(result: DiffResult) -> list[Finding]:
    out = []
    retrans = np.flatnonzero(result.retransmission)
    if retrans.size:
        out.append(
            _finding(
                result,
                "diff-retransmission-pairs",
                f"{retrans.size} pair(s) are the same TCP segment with a different TS val: B holds "
                "another transmission of it (a retransmission), not the same packet",
                retrans,
                {"count": int(retrans.size), "pairs": sample_pairs(result, retrans)},
            )
        )
    rewritten = np.flatnonzero(has(result, Field.TCP_TSVAL) & ~result.retransmission)
    if rewritten.size:
        out.append(
            _finding(
                result,
                "diff-tcp-timestamps-rewritten",
                f"TCP TS val differs in {rewritten.size} pair(s) by a constant per flow: a device "
                "rewrites TCP timestamps",
                rewritten,
                {"count": int(rewritten.size)},
            )
        )
    return out


def _duplicates(result: DiffResult) -> Finding | None:
    da, db = result.pairing.duplicates_a, result.pairing.duplicates_b
    if da.size == 0 and db.size == 0:
        return None

    def listing(tables_frames: np.ndarray, dup: np.ndarray) -> list[dict[str, int]]:
        return [
            {"frame": int(tables_frames[r]), "copy_of": int(tables_frames[c])}
            for r, c in dup[:50].tolist()
        ]

    facts = {"a": listing(result.a.frames["frame"], da), "b": listing(result.b.frames["frame"], db)}
    code = _BY_SYMBOL["diff-duplicates"]
    return Finding(
        code=code.code,
        symbol=code.symbol,
        severity=code.severity,
        message=(
            f"Duplicated packets: {len(da)} at A, {len(db)} at B (exact repeats of a paired packet)"
        ),
        evidence=Evidence(
            capture=result.b.path, frames=tuple(int(result.b.frames["frame"][r]) for r in db[:, 0])
        ),
        facts=facts,
    )


def diff_findings(result: DiffResult) -> list[Finding]:
    """Every finding the diff makes, in catalogue order."""
    found = [f(result) for f in (_ttl, _dsfield, _seq, _trailer)]
    out = [f for f in found if f is not None]
    out.extend(_retransmissions(result))
    dup = _duplicates(result)
    if dup is not None:
        out.append(dup)
    return out


def input_notes(result: DiffResult) -> list[str]:
    """Sentences about the inputs and the method that the reader should know."""
    notes = []
    la = {linktype_name(x) for x in result.a.linktypes}
    lb = {linktype_name(x) for x in result.b.linktypes}
    if la != lb:
        notes.append(
            f"The captures use different link types (A: {', '.join(sorted(la))}; B: "
            f"{', '.join(sorted(lb))}); link-layer fields are compared only where both are "
            "Ethernet."
        )
    depth_a = set(result.a.frames["tunnel_depth"][result.pairing.a_rows].tolist())
    depth_b = set(result.b.frames["tunnel_depth"][result.pairing.b_rows].tolist())
    if depth_a != depth_b:
        notes.append("A tunnel is added or removed between the points: inner packets were paired.")
    if result.pairing.ambiguous_groups:
        notes.append(
            f"{result.pairing.ambiguous_groups} group(s) of look-alike packets were paired by "
            "timing (retransmissions, duplicates or drops among identical packets)."
        )
    if result.changes.bytes_compared < result.pairs:
        notes.append(
            f"{result.changes.bytes_compared} of {result.pairs} pairs were compared byte by "
            "byte; the rest by header fields and payload hashes."
        )
    if result.clock.offset_ns is None and result.pairs:
        notes.append(
            "No connection was seen in both directions, so the clock offset cannot be told "
            "apart from the delay: delays are B's timestamps minus A's."
        )
    return notes
