"""The diff's diagnoses: mss-clamping, nat, incremental-checksum-bug, checksum-corruption,
packets-lost-between-points, payload-modified (ids from CONTRACT.md).

Each rule reads the pair columns of a DiffResult and returns at most one Diagnosis whose
facts carry the details a person needs (values before → after, the NAT mapping, which
rewrite broke the checksum, which sizes were lost); `diagnose_diff` also returns the
findings (findings.py) and notes about the inputs.

Always holds: "before" is the upstream copy of a packet (A for A→B pairs, B for B→A
pairs); evidence names capture B and its frames unless said otherwise, and `a_frames`
in the facts lists the matching A frames.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import numpy.typing as npt

from wiredoctor.checks.finding import Evidence, Finding, Severity
from wiredoctor.diagnose.diagnosis import Diagnosis, Remedy
from wiredoctor.diff.common import (
    DIRECTION_NAMES,
    endpoint,
    flow_text,
    frames_a,
    frames_b,
    has,
    proto_name,
    sample_pairs,
)
from wiredoctor.diff.fields import FORWARDING, Field, field_name, fields_in
from wiredoctor.diff.findings import diff_findings, input_notes
from wiredoctor.diff.result import CHECKSUM_KEYS, DiffResult, Update
from wiredoctor.distinct import distinct, within

_SYN, _ACK = 0x02, 0x10


def _evidence(result: DiffResult, pairs: npt.NDArray[np.int64]) -> Evidence:
    return Evidence(capture=result.b.path, frames=tuple(frames_b(result, pairs)))


def mss_clamping(result: DiffResult) -> Diagnosis | None:
    """A device rewrote the TCP MSS option of SYNs and/or SYN-ACKs."""
    pairs = np.flatnonzero(has(result, Field.TCP_MSS))
    if pairs.size == 0:
        return None
    fa, fb = result.a.frames, result.b.frames
    rewrites: Counter[tuple[str, int, int, str]] = Counter()
    for i in pairs.tolist():
        ra, rb = int(result.pairing.a_rows[i]), int(result.pairing.b_rows[i])
        d = int(result.direction[i])
        up, down = (fb[rb], fa[ra]) if d < 0 else (fa[ra], fb[rb])
        kind = "syn_ack" if int(up["tcp_flags"]) & _ACK else "syn"
        rewrites[(DIRECTION_NAMES[d], int(up["tcp_mss"]), int(down["tcp_mss"]), kind)] += 1
    table: dict[tuple[str, int, int], dict[str, int]] = {}
    for (direction, before, after, kind), n in sorted(rewrites.items()):
        entry = table.setdefault((direction, before, after), {"syn": 0, "syn_ack": 0})
        entry[kind] += n
    rows = [
        {"direction": d, "before": before, "after": after, **counts}
        for (d, before, after), counts in table.items()
    ]
    text = "; ".join(
        f"{r['before']} → {r['after']} ({r['direction']}: {r['syn']} SYN, {r['syn_ack']} SYN-ACK)"
        for r in rows
    )
    return Diagnosis(
        id="mss-clamping",
        severity=Severity.INFO,
        confidence=0.97,
        title=f"A device between the points rewrites the TCP MSS option: {text}",
        explanation=(
            "The SYN and SYN-ACK segments carry a different maximum segment size at the two "
            "points while the rest of the segment is the same packet: something on the path "
            "(a firewall TCPMSS rule, a VPN, a router's adjust-mss) lowers the MSS so that "
            "segments fit a smaller MTU further on (RFC 9293 §3.7.1)."
        ),
        evidence=_evidence(result, pairs),
        remedies=(
            Remedy(
                description="If the clamp is not intended, find the rule that sets it",
                command="iptables-save | grep -i tcpmss",
            ),
        ),
        facts={"rewrites": rows, "a_frames": frames_a(result, pairs)},
    )


def nat(result: DiffResult) -> Diagnosis | None:
    """Addresses or ports rewritten between the points; facts carry the mapping table."""
    rewritten = np.zeros(result.pairs, dtype=np.bool_)
    for field in (Field.IP_SRC, Field.IP_DST, Field.SPORT, Field.DPORT, Field.ICMP_ID):
        rewritten |= has(result, field)
    pairs = np.flatnonzero(rewritten)
    if pairs.size == 0:
        return None
    flows = result.pairing.flow_a[result.pairing.a_rows[pairs]]
    _, first, counts = np.unique(flows, return_index=True, return_counts=True)
    fa, fb = result.a.frames, result.b.frames
    mapping: list[dict[str, Any]] = []
    kinds: set[str] = set()
    for idx, n in zip(first.tolist(), counts.tolist(), strict=True):
        i = int(pairs[idx])
        ra, rb = fa[result.pairing.a_rows[i]], fb[result.pairing.b_rows[i]]
        d = int(result.direction[i])
        src_changed = endpoint(ra, "src") != endpoint(rb, "src")
        dst_changed = endpoint(ra, "dst") != endpoint(rb, "dst")
        # Source NAT rewrites the source on the way out and the destination on the way back.
        if src_changed:
            kinds.add("source" if d >= 0 else "destination")
        if dst_changed:
            kinds.add("destination" if d >= 0 else "source")
        mapping.append(
            {
                "proto": proto_name(int(ra["ip_proto"])),
                "direction": DIRECTION_NAMES[d],
                "a": {"src": endpoint(ra, "src"), "dst": endpoint(ra, "dst")},
                "b": {"src": endpoint(rb, "src"), "dst": endpoint(rb, "dst")},
                "packets": int(n),
            }
        )
    mapping.sort(key=lambda m: (m["direction"], m["a"]["src"], m["a"]["dst"]))
    first_map = mapping[0]
    return Diagnosis(
        id="nat",
        severity=Severity.INFO,
        confidence=0.95,
        title=(
            f"Addresses or ports are translated ({' and '.join(sorted(kinds))} NAT), e.g. "
            f"{first_map['a']['src']} > {first_map['a']['dst']} at A is "
            f"{first_map['b']['src']} > {first_map['b']['dst']} at B"
        ),
        explanation=(
            "The same packets carry different addresses or ports at the two points: a device "
            "between them translates them (RFC 3022), and translates the replies back. The "
            "mapping lists every translated flow as seen at each point."
        ),
        evidence=_evidence(result, pairs),
        facts={"kinds": sorted(kinds), "mapping": mapping[:200], "flows": len(mapping)},
    )


def _update_pairs(result: DiffResult, codes: tuple[Update, ...]) -> npt.NDArray[np.int64]:
    hit = np.isin(result.changes.updates, [int(c) for c in codes]).any(axis=1)
    return np.flatnonzero(hit)


_NOT_A_REWRITE = FORWARDING | (1 << int(Field.L4_CHECKSUM))


def _rewrites(result: DiffResult, pairs: npt.NDArray[np.int64]) -> npt.NDArray[np.uint64]:
    """Masks of the fields rewritten in `pairs`: forwarding, checksums and, for pairs that
    are retransmissions, the TS val (it differs because the segment was sent again) left out."""
    masks = result.changes.mask[pairs] & ~np.uint64(_NOT_A_REWRITE)
    retrans = result.retransmission[pairs]
    masks[retrans] &= ~np.uint64(1 << int(Field.TCP_TSVAL))
    return masks


def _rewrite_mask(result: DiffResult, pairs: npt.NDArray[np.int64]) -> int:
    """OR of the fields rewritten in `pairs` (see `_rewrites`)."""
    return int(np.bitwise_or.reduce(_rewrites(result, pairs))) if pairs.size else 0


def _rewrite_fields(result: DiffResult, pairs: npt.NDArray[np.int64]) -> list[str]:
    """Names of the fields rewritten in `pairs`, most frequent first."""
    names: Counter[str] = Counter()
    head = pairs[:10_000]
    for i, mask in zip(head.tolist(), _rewrites(result, head).tolist(), strict=True):
        row = result.b.frames[result.pairing.b_rows[i]]
        for field in fields_in(int(mask)):
            names[field_name(field, int(row["ip_version"]), int(row["ip_proto"]))] += 1
    return [name for name, _ in names.most_common()]


def _checksum_bug_remedies(fields: list[str]) -> tuple[Remedy, ...]:
    out = [
        Remedy(
            description="Upgrade or fix the software between the points that rewrites "
            f"{', '.join(fields) or 'the packets'}: it must update checksums as RFC 1624 "
            "eqn. 3 says (or recompute them)"
        )
    ]
    if "tcp.options.mss_val" in fields:
        out.append(
            Remedy(
                description="Meanwhile, stop that device clamping the MSS and clamp it with a "
                "correct implementation instead",
                command="iptables -t mangle -A FORWARD -p tcp --tcp-flags SYN,RST SYN "
                "-j TCPMSS --clamp-mss-to-pmtu",
            )
        )
    return tuple(out)


def incremental_checksum_bug(result: DiffResult) -> Diagnosis | None:
    """Checksums off by one after a rewrite: a broken RFC 1624 incremental update."""
    pairs = _update_pairs(result, (Update.OFF_BY_ONE,))
    if pairs.size == 0:
        return None
    protos = sorted(
        {
            key
            for k, key in enumerate(CHECKSUM_KEYS)
            if (result.changes.updates[pairs, k] == Update.OFF_BY_ONE).any()
        }
    )
    fields = _rewrite_fields(result, pairs)
    # Pairs with the same rewrite whose checksum was updated correctly: the bug is not
    # systematic (it depends on the values, as a mishandled carry does).
    rewrite_mask = np.uint64(_rewrite_mask(result, pairs))
    same_rewrite = (result.changes.mask & rewrite_mask) != 0
    correct = np.flatnonzero(same_rewrite & (result.changes.updates == Update.CORRECT).any(axis=1))
    rewrite = ", ".join(fields) if fields else "no visible field"
    return Diagnosis(
        id="incremental-checksum-bug",
        severity=Severity.ERROR,
        confidence=0.95 if fields else 0.6,
        title=(
            f"{pairs.size} packet(s) leave the rewriting device with the {'/'.join(protos)} "
            f"checksum off by one after it changed {rewrite}"
        ),
        explanation=(
            "The device between the points rewrote a field and patched the checksum "
            "incrementally instead of recomputing it; the result is exactly one away from the "
            "correct value in ones' complement arithmetic, the signature of a mishandled "
            "end-around carry or a -0/+0 confusion (RFC 1624 §3-5). Receivers and conntrack "
            "drop such packets as bad (`nf_ct_tcp: bad TCP checksum`), so connections fail "
            "now and then."
        ),
        evidence=_evidence(result, pairs),
        remedies=_checksum_bug_remedies(fields),
        facts={
            "protos": protos,
            "rewritten_fields": fields,
            "pairs": sample_pairs(result, pairs),
            "a_frames": frames_a(result, pairs),
            "correct_with_same_rewrite": int(correct.size),
        },
    )


def checksum_corruption(result: DiffResult) -> Diagnosis | None:
    """Checksums wrong at B in a way no incremental-update slip explains."""
    pairs = _update_pairs(result, (Update.WRONG, Update.NOT_UPDATED))
    if pairs.size == 0:
        return None
    not_updated = int((result.changes.updates[pairs] == Update.NOT_UPDATED).any(axis=1).sum())
    fields = _rewrite_fields(result, pairs)
    return Diagnosis(
        id="checksum-corruption",
        severity=Severity.ERROR,
        confidence=0.85,
        title=(
            f"{pairs.size} packet(s) arrive at B with a checksum that does not verify "
            f"({not_updated} not updated after a rewrite)"
        ),
        explanation=(
            "At A these packets verified; at B the checksum is wrong. Where fields were "
            "rewritten and the checksum kept its old value, the rewriting device forgot to "
            "update it; otherwise the bytes changed in flight or in a driver."
        ),
        evidence=_evidence(result, pairs),
        facts={
            "not_updated": not_updated,
            "rewritten_fields": fields,
            "pairs": sample_pairs(result, pairs),
            "a_frames": frames_a(result, pairs),
        },
    )


def _direction_sizes(
    result: DiffResult, lost_rows: npt.NDArray[np.int64], side: int
) -> dict[str, object] | None:
    """MTU pattern of one direction: lost sizes vs delivered sizes of the same flows."""
    if lost_rows.size == 0:
        return None
    tables = result.a if side > 0 else result.b
    lost_len = tables.frames["ip_len"][lost_rows].astype(np.int64)
    flows_all = result.pairing.flow_a if side > 0 else result.pairing.flow_b
    lost_flows = distinct(flows_all[lost_rows])
    own_rows = result.pairing.a_rows if side > 0 else result.pairing.b_rows
    same_dir = (result.direction * side >= 0) & within(flows_all[own_rows], lost_flows)
    delivered = tables.frames["ip_len"][own_rows[same_dir]].astype(np.int64)
    largest = int(delivered.max()) if delivered.size else None
    smallest_lost = int(lost_len.min())
    only_large = largest is not None and smallest_lost > largest
    return {
        "direction": "a->b" if side > 0 else "b->a",
        "capture": tables.path,
        "frames": [int(x) for x in tables.frames["frame"][lost_rows]],
        "count": int(lost_rows.size),
        "sizes": sorted({int(x) for x in lost_len})[:50],
        "smallest_lost": smallest_lost,
        "largest_delivered": largest,
        "only_large": bool(only_large),
        "flows": sorted({flow_text(tables.frames[r]) for r in lost_rows[:1000].tolist()})[:50],
    }


def packets_lost(result: DiffResult) -> Diagnosis | None:
    """Packets seen at one point that never reached the other."""
    parts = [
        p
        for p in (
            _direction_sizes(result, result.lost_a, +1),
            _direction_sizes(result, result.lost_b, -1),
        )
        if p is not None
    ]
    if not parts:
        return None
    total = sum(int(p["count"]) for p in parts)  # type: ignore[call-overload]
    large = [p for p in parts if p["only_large"]]
    title = f"{total} packet(s) seen at one point never reached the other"
    explanation = (
        "These packets belong to flows whose other packets made it, and the other capture was "
        "running when they should have arrived; something between the points dropped them."
    )
    remedies: tuple[Remedy, ...] = ()
    if large:
        p = large[0]
        title += (
            f"; only packets larger than {p['largest_delivered']} bytes were lost "
            f"({p['direction']}, smallest lost {p['smallest_lost']})"
        )
        explanation += (
            f" Only IP packets above {p['largest_delivered']} bytes were lost: that points "
            "at the MTU of a link between the points (or a device that drops what it would "
            "have to fragment) — a path-MTU problem; if no ICMP 'fragmentation needed' / "
            "'packet too big' comes back, a PMTU black hole (RFC 8201, RFC 1191)."
        )
        remedies = (
            Remedy(
                description="Find the smallest MTU between the points and lower the sender's "
                "MTU or clamp the MSS to fit it",
                command=f"ping -M do -s {int(str(p['largest_delivered'])) - 28} <host beyond B>",
            ),
        )
    first = parts[0]
    frames = first["frames"]
    return Diagnosis(
        id="packets-lost-between-points",
        severity=Severity.WARNING,
        confidence=0.9 if large else 0.8,
        title=title,
        explanation=explanation,
        evidence=Evidence(capture=str(first["capture"]), frames=tuple(frames)),  # type: ignore[arg-type]
        remedies=remedies,
        facts={"lost": parts},
    )


def payload_modified(result: DiffResult) -> Diagnosis | None:
    """Payload bytes differ between the two copies of a packet."""
    pairs = np.flatnonzero(has(result, Field.PAYLOAD))
    if pairs.size == 0:
        return None
    examples = []
    for i in pairs[:5].tolist():
        ranges = [c.field for c in result.changes.extra.get(i, ()) if c.field.startswith("payload")]
        examples.append({"a": result.frame_a(i), "b": result.frame_b(i), "ranges": ranges})
    flows = sorted(
        {flow_text(result.a.frames[result.pairing.a_rows[i]]) for i in pairs[:1000].tolist()}
    )
    return Diagnosis(
        id="payload-modified",
        severity=Severity.WARNING,
        confidence=0.9,
        title=f"The payload of {pairs.size} packet(s) changed between the points",
        explanation=(
            "The same packets (same flow, sequence numbers and IP identification) carry "
            "different payload bytes at the two points: an application-level gateway or proxy "
            "rewrites them, or they are corrupted on the way."
        ),
        evidence=_evidence(result, pairs),
        facts={"count": int(pairs.size), "examples": examples, "flows": flows[:50]},
    )


RULES = (
    mss_clamping,
    nat,
    incremental_checksum_bug,
    checksum_corruption,
    packets_lost,
    payload_modified,
)
"""Every diff rule, in the order their diagnoses are listed."""


def diagnose_diff(result: DiffResult) -> tuple[list[Diagnosis], list[Finding], list[str]]:
    """Diagnoses, findings and input notes for a result whose pairs and changes are known."""
    diagnoses = [d for d in (rule(result) for rule in RULES) if d is not None]
    return diagnoses, diff_findings(result), input_notes(result)
