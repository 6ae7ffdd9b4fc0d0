"""Link checks: offload super-frames (WD108), Ethernet trailers (WD301), over-MTU frames
(WD302) and non-zero padding (WD303).

A frame is over-MTU when its length exceeds the MTU plus its link header (Ethernet 14 + 4 per
VLAN tag, SLL 16, SLL2 20). Super-frames made or merged by TSO/GSO/GRO are explained by
offload, so they are WD108 and never WD302. Always holds: the checks start from the row lists
of the context's frame pass (over-long, trailer, padding rows); only a bounded sample of
trailers is read back from the frame bytes.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from wiredoctor.checks.context import CheckContext, Mask
from wiredoctor.checks.finding import Finding
from wiredoctor.checks.trailers import classify_trailer
from wiredoctor.tables import FrameFlag

_TCP = 6


def super_frames(ctx: CheckContext) -> Mask:
    """Over-MTU frames that offload explains.

    IPv4 total length 0 (TSO/BIG TCP, the length left for the NIC), an IPv6 jumbogram
    (RFC 2675, BIG TCP), a datagram above the MTU whose L4 checksum holds only the partial sum
    (GSO, CHECKSUM_PARTIAL), or a TCP datagram above the MTU carrying more than one full
    segment's worth of payload (TSO on send, GRO/LRO on receive).
    """
    cached = ctx.cache.get("super")
    if cached is not None:
        done: Mask = cached
        return done
    f = ctx.frames
    mtu = ctx.options.mtu
    rows = ctx.over_rows  # few: the tests below run on over-long frames only
    big_ip = f["outer_ip_len"][rows].astype(np.int64) > mtu
    hdrs = f["ip_hdr_len"][rows].astype(np.int64) + f["tcp_hdr_len"][rows].astype(np.int64)
    tcp_multi = (f["ip_proto"][rows] == _TCP) & big_ip
    tcp_multi &= f["l4_payload_len"][rows].astype(np.int64) > mtu - hdrs
    explained = (f["flags"][rows] & (FrameFlag.IPV4_LEN_ZERO | FrameFlag.JUMBOGRAM)) != 0
    explained |= big_ip & ctx.partial_frame[rows]
    explained |= tcp_multi
    out = np.zeros(len(f), dtype=bool)
    out[rows[explained]] = True
    ctx.cache["super"] = out
    return out


def check_super_frames(ctx: CheckContext) -> list[Finding]:
    """WD108: TSO/GSO/GRO super-frames (larger than the MTU, made by the capture host)."""
    sel = super_frames(ctx)
    if not sel.any():
        return []
    rows = np.flatnonzero(sel)
    wire = ctx.frames["wirelen"][rows]
    facts = {
        "count": int(rows.size),
        "max_len": int(wire.max()),
        "mtu": ctx.options.mtu,
        "senders": ctx.addresses(rows, "src"),
        "partial_checksum": int(ctx.partial_frame[rows].sum()),
    }
    message = (
        f"{facts['count']} frames up to {facts['max_len']} bytes exceed MTU {facts['mtu']}: "
        "segmentation/receive offload super-frames"
    )
    return [ctx.finding("segmentation-offload-frames", message, ctx.frames["frame"][rows], facts)]


def _trailer_only(ctx: CheckContext) -> Mask:
    """Frames over the limit only because of their trailer."""
    out = np.zeros(len(ctx.frames), dtype=bool)
    rows = ctx.over_rows
    f = ctx.frames
    trailer = f["trailer_len"][rows].astype(np.int64)
    bare = f["wirelen"][rows].astype(np.int64) - trailer
    out[rows] = (trailer > 0) & (bare <= ctx.link_header[rows] + ctx.options.mtu)
    return out


def check_over_mtu(ctx: CheckContext) -> list[Finding]:
    """WD302: frames longer than the link MTU allows, that offload does not explain."""
    rows = ctx.over_rows[~super_frames(ctx)[ctx.over_rows]]
    if rows.size == 0:
        return []
    f = ctx.frames
    with_trailer = _trailer_only(ctx)[rows]
    lengths = Counter(int(x) for x in f["wirelen"][rows].tolist())
    facts = {
        "count": int(rows.size),
        "mtu": ctx.options.mtu,
        "max_len": int(f["wirelen"][rows].max()),
        "with_trailer": int(with_trailer.sum()),
        "lengths": {str(k): v for k, v in sorted(lengths.items())[:20]},
        "link_headers": sorted({int(x) for x in ctx.link_header[rows].tolist()}),
    }
    message = (
        f"{facts['count']} frames exceed MTU {facts['mtu']} plus link header "
        f"(up to {facts['max_len']} bytes)"
    )
    if facts["with_trailer"]:
        message += f"; {facts['with_trailer']} only because of a trailer"
    return [ctx.finding("over-mtu-frame", message, f["frame"][rows], facts)]


def check_trailer(ctx: CheckContext) -> list[Finding]:
    """WD301: bytes after the IP datagram beyond minimum-size padding, and what they are."""
    f = ctx.frames
    rows = ctx.trailer_rows
    if rows.size == 0:
        return []
    lengths = Counter(int(x) for x in f["trailer_len"][rows].tolist())
    kinds: Counter[str] = Counter()
    examples: list[dict[str, Any]] = []
    for r in rows[: ctx.options.trailer_sample].tolist():
        row = f[r]
        data = ctx.frame_bytes(int(row["frame"]))
        if data:
            start = int(row["trailer_off"]) + int(row["pad_len"])
            info = classify_trailer(
                data, start, start + int(row["trailer_len"]), int(row["linktype"]),
                int(row["ts_ns"]),
            )  # fmt: skip
            kinds[info.kind] += 1
            if len(examples) < ctx.options.sample_limit:
                examples.append(
                    {"frame": int(row["frame"]), "kind": info.kind, "length": info.length,
                     "fcs": info.fcs, **info.fields}
                )  # fmt: skip
    full_size = _trailer_only(ctx)
    facts = {
        "count": int(rows.size),
        "lengths": {str(k): v for k, v in sorted(lengths.items())},
        "kinds": dict(kinds.most_common()),
        "kinds_sampled": sum(kinds.values()),
        "full_size": int(full_size.sum()),
        "sample": examples,
    }
    named = ", ".join(f"{k} ×{n}" for k, n in kinds.most_common()) or "kind not read"
    message = f"{facts['count']} frames carry bytes after the IP datagram ({named})"
    if facts["full_size"]:
        message += f"; on {facts['full_size']} the trailer pushes the frame over the MTU"
    return [ctx.finding("ethernet-trailer", message, f["frame"][rows], facts)]


def check_nonzero_padding(ctx: CheckContext) -> list[Finding]:
    """WD303: minimum-size padding that is not all zeros (IEEE 802.3 leaves it unspecified,
    but non-zero padding leaks memory or marks a tap)."""
    rows = ctx.nonzero_pad_rows
    if rows.size == 0:
        return []
    facts = {"count": int(rows.size)}
    message = f"{facts['count']} frames pad to the minimum size with non-zero bytes"
    return [ctx.finding("nonzero-padding", message, ctx.frames["frame"][rows], facts)]
