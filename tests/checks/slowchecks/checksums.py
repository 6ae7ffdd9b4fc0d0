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

from checks.slowchecks.context import CheckContext, Mask
from wiredoctor.capture.record import Direction
from wiredoctor.checks.finding import Finding
from wiredoctor.checks.srh import final_destination
from wiredoctor.checksum.verdict import CAUSE_NAMES, PROTO_NAMES, Cause, Note, Proto, Status
from wiredoctor.tables import FrameFlag

# UDP destination ports of tunnels that may carry a zero UDP checksum over IPv6 (RFC 6935,
# RFC 6936): VXLAN (RFC 7348), Geneve (RFC 8926), LISP data (RFC 9300), GTP-U, MPLS-in-UDP
# (RFC 7510), GUE/FOU (draft-ietf-intarea-gue), VXLAN-GPE.
TUNNEL_PORTS: frozenset[int] = frozenset({4789, 6081, 4341, 2152, 6635, 6080, 4790})


def _protos(ctx: CheckContext, sel: Mask) -> dict[str, int]:
    names, counts = np.unique(ctx.checksums["proto"][sel], return_counts=True)
    return {
        PROTO_NAMES.get(int(p), str(int(p))): int(c) for p, c in zip(names, counts, strict=True)
    }


def _sample(ctx: CheckContext, sel: Mask) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i in np.flatnonzero(sel)[: ctx.options.sample_limit].tolist():
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


def _bad(ctx: CheckContext, *causes: Cause) -> Mask:
    c = ctx.checksums
    out: Mask = (c["status"] == Status.BAD) & np.isin(c["cause"], causes)
    return out


def _frames(ctx: CheckContext, sel: Mask) -> npt.NDArray[np.uint32]:
    frames: npt.NDArray[np.uint32] = np.unique(ctx.checksums["frame"][sel])
    return frames


def check_offload_partial(ctx: CheckContext) -> list[Finding]:
    """WD101: fields holding the folded pseudo-header sum (Linux CHECKSUM_PARTIAL, LSO)."""
    sel = _bad(ctx, Cause.OFFLOAD_PARTIAL, Cause.OFFLOAD_PARTIAL_NOLEN)
    if not sel.any():
        return []
    rows = np.unique(ctx.cksum_frame_row[sel])
    direction = ctx.direction[rows]
    # The capture host is whoever hands partial sums to the tap: the senders of such frames,
    # except frames the capture says came in (a veth peer's partial sums arrive inbound).
    host_rows = rows[direction != Direction.INBOUND]
    senders = ctx.addresses(rows, "src")
    facts = {
        "count": int(sel.sum()),
        "nolen_count": int((sel & (ctx.checksums["cause"] == Cause.OFFLOAD_PARTIAL_NOLEN)).sum()),
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
    if not sel.any():
        return []
    rows = ctx.cksum_frame_row[sel]
    f = ctx.frames
    groups: dict[tuple[int, ...], list[int]] = {}
    for r in rows.tolist():
        key = (int(f["src_hi"][r]), int(f["src_lo"][r]), int(f["sport"][r]),
               int(f["dst_hi"][r]), int(f["dst_lo"][r]), int(f["dport"][r]))  # fmt: skip
        groups.setdefault(key, []).append(int(f["frame"][r]))
        if len(groups) > ctx.options.flow_limit:
            groups.pop(key)
            break
    flows = []
    for frames in groups.values():
        first = int(np.searchsorted(f["frame"], frames[0]))
        flows.append({**ctx.endpoint(first), "frames": sorted(set(frames))[:50]})
    facts = {
        "count": int(sel.sum()),
        "protos": _protos(ctx, sel),
        "flows": flows,
        "senders": ctx.addresses(np.unique(rows), "src"),
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
    if not sel.any():
        return []
    rows = np.unique(ctx.cksum_frame_row[sel])
    facts = {
        "count": int(sel.sum()),
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
    if not sel.any():
        return []
    rows = np.unique(ctx.cksum_frame_row[sel])
    facts = {
        "count": int(sel.sum()),
        "protos": _protos(ctx, sel),
        "senders": ctx.addresses(rows, "src"),
        "sample": _sample(ctx, sel),
    }
    message = f"{facts['count']} checksum fields are zero where a checksum was due"
    return [ctx.finding("checksum-zero", message, _frames(ctx, sel), facts)]


def check_udp_zero_ipv6(ctx: CheckContext) -> list[Finding]:
    """WD105: UDP over IPv6 with checksum 0, illegal outside RFC 6935 tunnels."""
    c = ctx.checksums
    sel = (c["status"] == Status.ILLEGAL) & (c["proto"] == Proto.UDP)
    if not sel.any():
        return []
    rows = np.unique(ctx.cksum_frame_row[sel])
    f = ctx.frames
    keys = np.stack([f["src_lo"][rows], f["dst_lo"][rows], f["sport"][rows], f["dport"][rows]], 1)
    _, first = np.unique(keys, axis=0, return_index=True)
    flows = [ctx.endpoint(int(rows[i])) for i in np.sort(first)[: ctx.options.flow_limit]]
    ports = sorted({int(p) for p in f["dport"][rows].tolist()} & TUNNEL_PORTS)
    facts = {"count": int(sel.sum()), "flows": flows, "tunnel_ports": ports}
    message = f"{facts['count']} UDP datagrams over IPv6 carry no checksum (zero is illegal)"
    return [ctx.finding("udp-zero-checksum-ipv6", message, _frames(ctx, sel), facts)]


def check_snaplen(ctx: CheckContext) -> list[Finding]:
    """WD106: frames cut by the capture's snaplen; their checksums could not be verified."""
    f = ctx.frames
    # Text records carry no bytes at all; that is not a snapshot length.
    flags = f["flags"]
    cut = ((flags & FrameFlag.SNAPLEN) != 0) & ((flags & FrameFlag.TEXT_FIELDS) == 0)
    if not cut.any():
        return []
    c = ctx.checksums
    unverified = (c["status"] == Status.UNVERIFIED) & cut[ctx.cksum_frame_row]
    unverified |= (c["note"] & Note.SNAPLEN) != 0
    snaplens = np.unique(f["caplen"][cut])
    facts = {
        "count": int(cut.sum()),
        "snaplens": [int(x) for x in snaplens[-10:].tolist()],
        "unverified": int(unverified.sum()),
    }
    message = (
        f"{facts['count']} frames were cut by the capture's snapshot length; "
        f"{facts['unverified']} checksums could not be verified"
    )
    return [ctx.finding("snaplen-truncated", message, f["frame"][cut], facts)]


def check_final_destination(ctx: CheckContext) -> list[Finding]:
    """WD107: L4 checksums that hold only with the routing header's final destination."""
    c = ctx.checksums
    sel = ((c["note"] & Note.FINAL_DESTINATION) != 0) & (c["status"] == Status.GOOD)
    if not sel.any():
        return []
    rows = np.unique(ctx.cksum_frame_row[sel])
    finals: list[str] = []
    for r in rows[: ctx.options.sample_limit].tolist():
        data = ctx.frame_bytes(int(ctx.frames["frame"][r]))
        found = final_destination(data, int(ctx.frames["ip_off"][r]))
        if found is not None and found not in finals:
            finals.append(found)
    facts = {
        "count": int(sel.sum()),
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
    sel = (ctx.checksums["note"] & Note.FFFF_FOR_ZERO) != 0
    if not sel.any():
        return []
    facts = {"count": int(sel.sum())}
    message = f"{facts['count']} checksums carry 0xFFFF for a computed 0x0000 (valid)"
    return [ctx.finding("checksum-ffff-for-zero", message, _frames(ctx, sel), facts)]
