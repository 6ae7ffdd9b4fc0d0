"""Checksum checks: the checksum table's bad rows grouped by cause, and the special verdicts.

WD101 offload partial sums, WD102 off by one, WD103 corrupt, WD104 zero, WD105 illegal zero UDP
checksum over IPv6, WD106 snaplen truncation, WD107 checksums valid only against a routing
header's final destination, WD109 0xFFFF sent for a computed zero. Always holds: each finding
counts checksum occurrences (rows), lists every frame involved as evidence, and samples at most
`options.sample_limit` rows in its facts.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from wiredoctor.capture.record import Direction
from wiredoctor.checks.context import I64, CheckContext, Mask
from wiredoctor.checks.finding import Finding
from wiredoctor.checks.srh import final_destination
from wiredoctor.checksum.verdict import CAUSE_NAMES, PROTO_NAMES, Cause, Note, Proto, Status
from wiredoctor.distinct import distinct
from wiredoctor.tables import take

# UDP destination ports of tunnels that may carry a zero UDP checksum over IPv6 (RFC 6935,
# RFC 6936): VXLAN (RFC 7348), Geneve (RFC 8926), LISP data (RFC 9300), GTP-U, MPLS-in-UDP
# (RFC 7510), GUE/FOU (draft-ietf-intarea-gue), VXLAN-GPE.
TUNNEL_PORTS: frozenset[int] = frozenset({4789, 6081, 4341, 2152, 6635, 6080, 4790})


def _listed(ctx: CheckContext) -> npt.NDArray[np.void]:
    """The listed checksum rows (see `CheckContext.listed`) as a small table of their own."""
    cached = ctx.cache.get("listed")
    if cached is None:
        cached = take(ctx.checksums, ctx.listed)
        ctx.cache["listed"] = cached
    out: npt.NDArray[np.void] = cached
    return out


def _protos(ctx: CheckContext, sel: I64) -> dict[str, int]:
    names, counts = np.unique(ctx.checksums["proto"][sel], return_counts=True)
    return {
        PROTO_NAMES.get(int(p), str(int(p))): int(c) for p, c in zip(names, counts, strict=True)
    }


def _sample(ctx: CheckContext, sel: I64) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i in sel[: ctx.options.sample_limit].tolist():
        c = ctx.checksums[i]
        row = int(ctx.cksum_frame_row[i])
        out.append(
            {
                "frame": int(c["frame"]),
                "proto": PROTO_NAMES.get(int(c["proto"]), str(int(c["proto"]))),
                "depth": int(c["depth"]),
                "src": ctx.addr(row, "src"),
                "dst": ctx.addr(row, "dst"),
                "value": int(c["value"]),
                "expected": int(c["expected"]),
                "partial": int(c["partial"]),
                "l4_len": int(c["l4_len"]),
                "cause": CAUSE_NAMES.get(int(c["cause"])),
            }
        )
    return out


def _where(ctx: CheckContext, sel: Mask) -> I64:
    """Checksum-table rows of a mask over the listed rows, in table order."""
    out: I64 = ctx.listed[sel]
    return out


def _bad(ctx: CheckContext, *causes: Cause) -> I64:
    c = _listed(ctx)
    return _where(ctx, (c["status"] == Status.BAD) & np.isin(c["cause"], causes))


def _frames(ctx: CheckContext, sel: I64) -> npt.NDArray[np.uint32]:
    frames: npt.NDArray[np.uint32] = distinct(ctx.checksums["frame"][sel])
    return frames


def check_offload_partial(ctx: CheckContext) -> list[Finding]:
    """WD101: fields holding the folded pseudo-header sum (Linux CHECKSUM_PARTIAL, LSO)."""
    sel = _bad(ctx, Cause.OFFLOAD_PARTIAL, Cause.OFFLOAD_PARTIAL_NOLEN)
    if sel.size == 0:
        return []
    rows = distinct(ctx.cksum_frame_row[sel])
    direction = ctx.direction[rows]
    # The capture host is whoever hands partial sums to the tap: the senders of such frames,
    # except frames the capture says came in (a veth peer's partial sums arrive inbound).
    host_rows = rows[direction != Direction.INBOUND]
    senders = ctx.addresses(rows, "src")
    facts = {
        "count": int(sel.size),
        "nolen_count": int((ctx.checksums["cause"][sel] == Cause.OFFLOAD_PARTIAL_NOLEN).sum()),
        "protos": _protos(ctx, sel),
        "senders": senders,
        "receivers": ctx.addresses(rows, "dst"),
        "outbound": int((direction == Direction.OUTBOUND).sum()),
        "inbound": int((direction == Direction.INBOUND).sum()),
        "unknown_direction": int((direction == Direction.UNKNOWN).sum()),
        "capture_hosts": ctx.addresses(host_rows, "src"),
        "sample": _sample(ctx, sel),
    }
    message = (
        f"{facts['count']} checksums hold only the pseudo-header sum (filled in later by the "
        f"NIC); sent by {', '.join(senders[:3])}"
    )
    return [ctx.finding("checksum-offload-partial", message, _frames(ctx, sel), facts)]


def check_off_by_one(ctx: CheckContext) -> list[Finding]:
    """WD102: fields one away from the correct value: a broken RFC 1624 incremental update."""
    sel = _bad(ctx, Cause.OFF_BY_ONE)
    if sel.size == 0:
        return []
    rows = ctx.cksum_frame_row[sel]
    f = ctx.frames
    # Per flow: its first row (frame numbers are unique, so that row is the first frame's)
    # and its frames.
    groups: dict[tuple[int, ...], tuple[int, list[int]]] = {}
    for r in rows.tolist():
        row = f[r]
        key = (int(row["src_hi"]), int(row["src_lo"]), int(row["sport"]),
               int(row["dst_hi"]), int(row["dst_lo"]), int(row["dport"]))  # fmt: skip
        groups.setdefault(key, (r, []))[1].append(int(row["frame"]))
        if len(groups) > ctx.options.flow_limit:
            groups.pop(key)
            break
    flows = []
    for first, frames in groups.values():
        flows.append({**ctx.endpoint(first), "frames": sorted(set(frames))[:50]})
    facts = {
        "count": int(sel.size),
        "protos": _protos(ctx, sel),
        "flows": flows,
        "senders": ctx.addresses(distinct(rows), "src"),
        "sample": _sample(ctx, sel),
    }
    message = (
        f"{facts['count']} checksums are off by exactly one: a device rewrote a field and "
        "updated the checksum incrementally, wrongly"
    )
    return [ctx.finding("checksum-off-by-one", message, _frames(ctx, sel), facts)]


def check_corrupt(ctx: CheckContext) -> list[Finding]:
    """WD103: wrong checksums that no offload or update slip explains."""
    sel = _bad(ctx, Cause.CORRUPT)
    if sel.size == 0:
        return []
    rows = distinct(ctx.cksum_frame_row[sel])
    facts = {
        "count": int(sel.size),
        "protos": _protos(ctx, sel),
        "senders": ctx.addresses(rows, "src"),
        "receivers": ctx.addresses(rows, "dst"),
        "sample": _sample(ctx, sel),
    }
    message = f"{facts['count']} checksums are wrong in a way no offload explains"
    return [ctx.finding("checksum-corrupt", message, _frames(ctx, sel), facts)]


def check_zero(ctx: CheckContext) -> list[Finding]:
    """WD104: a zero field where a checksum was due."""
    sel = _bad(ctx, Cause.ZERO)
    if sel.size == 0:
        return []
    rows = distinct(ctx.cksum_frame_row[sel])
    facts = {
        "count": int(sel.size),
        "protos": _protos(ctx, sel),
        "senders": ctx.addresses(rows, "src"),
        "sample": _sample(ctx, sel),
    }
    message = f"{facts['count']} checksum fields are zero where a checksum was due"
    return [ctx.finding("checksum-zero", message, _frames(ctx, sel), facts)]


def check_udp_zero_ipv6(ctx: CheckContext) -> list[Finding]:
    """WD105: UDP over IPv6 with checksum 0, illegal outside RFC 6935 tunnels."""
    c = _listed(ctx)
    sel = _where(ctx, (c["status"] == Status.ILLEGAL) & (c["proto"] == Proto.UDP))
    if sel.size == 0:
        return []
    rows = distinct(ctx.cksum_frame_row[sel])
    f = ctx.frames
    keys = np.stack([f["src_lo"][rows], f["dst_lo"][rows], f["sport"][rows], f["dport"][rows]], 1)
    _, first = np.unique(keys, axis=0, return_index=True)
    flows = [ctx.endpoint(int(rows[i])) for i in np.sort(first)[: ctx.options.flow_limit]]
    ports = sorted({int(p) for p in f["dport"][rows].tolist()} & TUNNEL_PORTS)
    facts = {"count": int(sel.size), "flows": flows, "tunnel_ports": ports}
    message = f"{facts['count']} UDP datagrams over IPv6 carry no checksum (zero is illegal)"
    return [ctx.finding("udp-zero-checksum-ipv6", message, _frames(ctx, sel), facts)]


def check_snaplen(ctx: CheckContext) -> list[Finding]:
    """WD106: frames cut by the capture's snaplen; their checksums could not be verified."""
    f = ctx.frames
    # Text records carry no bytes at all; that is not a snapshot length (the frame pass
    # leaves them out).
    rows = ctx.cut_rows
    if rows.size == 0:
        return []
    cut = np.zeros(len(f), dtype=bool)
    cut[rows] = True
    c = _listed(ctx)
    unverified = (c["status"] == Status.UNVERIFIED) & cut[ctx.cksum_frame_row[ctx.listed]]
    unverified |= (c["note"] & Note.SNAPLEN) != 0
    snaplens = distinct(f["caplen"][rows])
    facts = {
        "count": int(rows.size),
        "snaplens": [int(x) for x in snaplens[-10:].tolist()],
        "unverified": int(unverified.sum()),
    }
    message = (
        f"{facts['count']} frames were cut by the capture's snapshot length; "
        f"{facts['unverified']} checksums could not be verified"
    )
    return [ctx.finding("snaplen-truncated", message, f["frame"][rows], facts)]


def check_final_destination(ctx: CheckContext) -> list[Finding]:
    """WD107: L4 checksums that hold only with the routing header's final destination."""
    c = _listed(ctx)
    sel = _where(ctx, ((c["note"] & Note.FINAL_DESTINATION) != 0) & (c["status"] == Status.GOOD))
    if sel.size == 0:
        return []
    rows = distinct(ctx.cksum_frame_row[sel])
    finals: list[str] = []
    for r in rows[: ctx.options.sample_limit].tolist():
        data = ctx.frame_bytes(int(ctx.frames["frame"][r]))
        found = final_destination(data, int(ctx.frames["ip_off"][r]))
        if found is not None and found not in finals:
            finals.append(found)
    facts = {
        "count": int(sel.size),
        "final_destinations": finals,
        "current_destinations": ctx.addresses(rows, "dst"),
    }
    message = (
        f"{facts['count']} L4 checksums hold only against the routing header's final "
        "destination, not the current IPv6 destination"
    )
    return [ctx.finding("srv6-final-destination", message, _frames(ctx, sel), facts)]


def check_ffff_for_zero(ctx: CheckContext) -> list[Finding]:
    """WD109: 0xFFFF sent where 0x0000 was computed (equal in ones' complement; good)."""
    sel = _where(ctx, (_listed(ctx)["note"] & Note.FFFF_FOR_ZERO) != 0)
    if sel.size == 0:
        return []
    facts = {"count": int(sel.size)}
    message = f"{facts['count']} checksums carry 0xFFFF for a computed 0x0000 (valid)"
    return [ctx.finding("checksum-ffff-for-zero", message, _frames(ctx, sel), facts)]
