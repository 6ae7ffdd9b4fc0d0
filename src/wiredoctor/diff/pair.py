"""Pair each packet of capture A with its copy in capture B, then diff them: `diff_captures`.

Pairing runs in levels from strict to loose (`LEVELS`). Each level hashes the invariants it
trusts into one key per row (keys.py), sorts A's and B's unpaired rows together by key, and
pairs groups where both sides have the same number of rows in time order — all in numpy.
Only groups with unequal counts (drops, duplicates, retransmissions of identical bytes) are
walked in Python, in time order against the delay expected for their flow. The first three
levels use invariants alone (the third pairs one-to-one groups only, enough to learn NAT
mappings when sequence numbers were rewritten too); the later ones are bound to flows: A's
5-tuple is mapped to the B 5-tuple its packets were paired with so far, which is how NAT'd
flows keep pairing when their TCP sequence numbers were randomised or their payload changed.

Always holds: a row is paired at most once; every pair agrees on the columns of the level
that made it (two independent 64-bit hashes of them agree); A rows of a pair are ascending
in the result.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from wiredoctor.diff.keys import Keys, flow_ids, hash_columns, stable_flags
from wiredoctor.diff.result import DiffResult, Match, Pairing, Rows
from wiredoctor.tables import CaptureTables, FrameTable


@dataclass(frozen=True, slots=True, kw_only=True)
class Level:
    """One pairing pass: the invariants it matches on and how much a match there is worth."""

    match: Match
    columns: tuple[str, ...]
    """Frame-table columns in the key (`flags` means the stable TCP flags)."""
    flow: bool
    """True when the key includes the (mapped) flow."""
    confidence: float
    unique_only: bool = False
    """Pair only groups of exactly one A and one B row (keys too weak to order look-alikes)."""


LEVELS: tuple[Level, ...] = (
    Level(
        match=Match.EXACT,
        columns=(
            "ip_proto",
            "flags",
            "l4_payload_len",
            "payload_hash",
            "tcp_seq",
            "tcp_ack",
            "ip_id",
            "frag_off",
            "tcp_tsval",
            "icmp_type",
            "icmp_seq",
        ),
        flow=False,
        confidence=1.0,
    ),
    Level(
        match=Match.CONTENT_SEQ,
        columns=(
            "ip_proto",
            "flags",
            "l4_payload_len",
            "payload_hash",
            "tcp_seq",
            "tcp_ack",
            "frag_off",
            "icmp_type",
            "icmp_seq",
        ),
        flow=False,
        confidence=0.95,
    ),
    Level(
        match=Match.IDS,
        columns=(
            "ip_proto",
            "flags",
            "l4_payload_len",
            "payload_hash",
            "ip_id",
            "frag_off",
            "tcp_tsval",
            "icmp_type",
        ),
        flow=False,
        confidence=0.85,
        unique_only=True,
    ),
    Level(
        match=Match.FLOW_IDS,
        columns=(
            "ip_proto",
            "flags",
            "l4_payload_len",
            "payload_hash",
            "ip_id",
            "frag_off",
            "tcp_tsval",
            "icmp_type",
        ),
        flow=True,
        confidence=0.9,
    ),
    Level(
        match=Match.FLOW_HEADER,
        columns=(
            "ip_proto",
            "flags",
            "tcp_seq",
            "tcp_ack",
            "ip_id",
            "tcp_tsval",
            "icmp_type",
            "icmp_seq",
        ),
        flow=True,
        confidence=0.85,
    ),
    Level(
        match=Match.FLOW_CONTENT,
        columns=("ip_proto", "flags", "l4_payload_len", "payload_hash", "icmp_type"),
        flow=True,
        confidence=0.7,
    ),
    Level(
        match=Match.FLOW_IDS_ONLY,
        columns=("ip_proto", "flags", "ip_id", "tcp_tsval", "icmp_type"),
        flow=True,
        confidence=0.6,
    ),
)

# Pairs chosen among look-alikes are worth less than a one-to-one match of the same level.
_IN_ORDER_FACTOR = 0.9
_BY_TIME_FACTOR = 0.8
# Smallest tolerance for "arrived when expected": under it, clocks and queues are noise.
_MIN_TOLERANCE_NS = 2_000_000
# Confidence from which a pair teaches the flow mapping and the delay model.
_TEACHING_CONFIDENCE = 0.9


def _column(frames: FrameTable, name: str, rows: Rows | None) -> npt.NDArray[np.generic]:
    """One key column, for `rows` only (None: the whole table, read without a gather)."""
    column = stable_flags(frames) if name == "flags" else frames[name]
    return column if rows is None else column[rows]


def _level_keys(
    frames: FrameTable, level: Level, flows: Keys | None, rows: Rows | None, seed: int = 0
) -> Keys:
    """The level's key for `rows` (None: every row); another `seed` gives an independent hash."""
    cols = [_column(frames, name, rows) for name in level.columns]
    if flows is not None:
        cols.append(flows if rows is None else flows[rows])
    n = len(frames) if rows is None else rows.size
    return hash_columns(cols, n, seed)


@dataclass(slots=True, kw_only=True)
class _State:
    """Pairs made so far (kept as growing lists of arrays)."""

    a_parts: list[Rows]
    b_parts: list[Rows]
    match_parts: list[npt.NDArray[np.uint8]]
    conf_parts: list[npt.NDArray[np.float32]]
    paired_a: npt.NDArray[np.bool_]
    paired_b: npt.NDArray[np.bool_]
    ambiguous: int = 0

    def add(self, a: Rows, b: Rows, match: Match, conf: npt.NDArray[np.float32]) -> None:
        self.a_parts.append(a)
        self.b_parts.append(b)
        self.match_parts.append(np.full(a.size, int(match), dtype=np.uint8))
        self.conf_parts.append(conf.astype(np.float32))
        self.paired_a[a] = True
        self.paired_b[b] = True

    def arrays(self) -> tuple[Rows, Rows, npt.NDArray[np.uint8], npt.NDArray[np.float32]]:
        if not self.a_parts:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, np.zeros(0, np.uint8), np.zeros(0, np.float32)
        return (
            np.concatenate(self.a_parts),
            np.concatenate(self.b_parts),
            np.concatenate(self.match_parts),
            np.concatenate(self.conf_parts),
        )


def _flow_mapping(
    flow_a: Keys, flow_b: Keys, a: Rows, b: Rows, conf: npt.NDArray[np.float32]
) -> Keys:
    """Every A row's flow translated to the B flow its confident pairs mostly went to."""
    good = conf >= _TEACHING_CONFIDENCE
    fa, fb = flow_a[a[good]], flow_b[b[good]]
    mapped = flow_a.copy()
    if fa.size == 0:
        return mapped
    order = np.lexsort((fb, fa))
    fa, fb = fa[order], fb[order]
    new_pair = np.r_[True, (fa[1:] != fa[:-1]) | (fb[1:] != fb[:-1])]
    starts = np.flatnonzero(new_pair)
    counts = np.diff(np.r_[starts, fa.size])
    pair_fa, pair_fb = fa[starts], fb[starts]
    # Majority per A flow: sort by (flow, -count) and keep the first of each flow.
    best = np.lexsort((-counts, pair_fa))
    pair_fa, pair_fb = pair_fa[best], pair_fb[best]
    first = np.r_[True, pair_fa[1:] != pair_fa[:-1]]
    keys, values = pair_fa[first], pair_fb[first]
    pos = np.searchsorted(keys, flow_a)
    pos_clipped = np.minimum(pos, keys.size - 1)
    hit = keys[pos_clipped] == flow_a
    mapped[hit] = values[pos_clipped[hit]]
    return mapped


@dataclass(frozen=True, slots=True, kw_only=True)
class _DelayModel:
    """Expected (B time − A time) per A flow, and how far a copy may stray from it."""

    flows: Keys
    medians: npt.NDArray[np.int64]
    overall: int
    tolerance: int

    def expect(self, flow: Keys) -> npt.NDArray[np.int64]:
        out = np.full(flow.size, self.overall, dtype=np.int64)
        if self.flows.size:
            pos = np.minimum(np.searchsorted(self.flows, flow), self.flows.size - 1)
            hit = self.flows[pos] == flow
            out[hit] = self.medians[pos[hit]]
        return out


def _group_medians(
    groups: Keys, values: npt.NDArray[np.int64]
) -> tuple[Keys, npt.NDArray[np.int64]]:
    """Lower median of `values` per distinct group id (sorted ids)."""
    order = np.lexsort((values, groups))
    g, v = groups[order], values[order]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    counts = np.diff(np.r_[starts, g.size])
    return g[starts], v[starts + (counts - 1) // 2]


def _delay_model(
    a: CaptureTables, b: CaptureTables, flow_a: Keys, state: _State
) -> _DelayModel | None:
    ra, rb, _, conf = state.arrays()
    good = conf >= _TEACHING_CONFIDENCE
    if not good.any():
        return None
    ra, rb = ra[good], rb[good]
    delta = b.frames["ts_ns"][rb] - a.frames["ts_ns"][ra]
    flows, medians = _group_medians(flow_a[ra], delta)
    model = _DelayModel(flows=flows, medians=medians, overall=int(np.median(delta)), tolerance=0)
    residual = np.abs(delta - model.expect(flow_a[ra]))
    tol = max(_MIN_TOLERANCE_NS, int(10 * np.median(residual)))
    return _DelayModel(flows=flows, medians=medians, overall=model.overall, tolerance=tol)


def _greedy(
    ta: npt.NDArray[np.int64], tb: npt.NDArray[np.int64], expect: npt.NDArray[np.int64], tol: int
) -> list[tuple[int, int]]:
    """Pair two time-sorted runs of look-alike packets, each B copy near its expected time."""
    out: list[tuple[int, int]] = []
    i = j = 0
    while i < ta.size and j < tb.size:
        residual = int(tb[j]) - int(ta[i]) - int(expect[i])
        if abs(residual) <= tol:
            out.append((i, j))
            i += 1
            j += 1
        elif residual < 0:
            j += 1  # B's copy came too early for this A packet: a B-only packet
        else:
            i += 1  # nothing near enough in B: this A packet did not arrive
    return out


def _run_level(
    a: CaptureTables,
    b: CaptureTables,
    level: Level,
    state: _State,
    flows: tuple[Keys, Keys] | None,
    flow_a: Keys,
) -> None:
    cand_a = np.flatnonzero(~state.paired_a & (a.frames["ip_version"] > 0))
    cand_b = np.flatnonzero(~state.paired_b & (b.frames["ip_version"] > 0))
    if cand_a.size == 0 or cand_b.size == 0:
        return
    # Whole-table columns are read in place; only small remainders are gathered.
    sub_a = None if cand_a.size == len(a.frames) else cand_a
    sub_b = None if cand_b.size == len(b.frames) else cand_b
    flows_a = flows[0] if flows else None
    flows_b = flows[1] if flows else None
    ka = _level_keys(a.frames, level, flows_a, sub_a)
    kb = _level_keys(b.frames, level, flows_b, sub_b)
    check_a = _level_keys(a.frames, level, flows_a, sub_a, seed=1)
    check_b = _level_keys(b.frames, level, flows_b, sub_b, seed=1)
    key = np.concatenate([ka, kb])
    check = np.concatenate([check_a, check_b])
    side = np.concatenate([np.zeros(cand_a.size, np.int8), np.ones(cand_b.size, np.int8)])
    ts = np.concatenate([a.frames["ts_ns"][cand_a], b.frames["ts_ns"][cand_b]])
    rows = np.concatenate([cand_a, cand_b])
    # Stable: rows of equal key, side and time keep their capture order.
    order = np.lexsort((ts, side, key))
    key, side, ts, rows, check = key[order], side[order], ts[order], rows[order], check[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    sizes = np.diff(np.r_[starts, key.size])
    n_a = np.add.reduceat((side == 0).astype(np.int64), starts)
    n_b = sizes - n_a
    group = np.repeat(np.arange(starts.size), sizes)

    # Equal groups: the k-th A row pairs with the k-th B row, both in time order.
    equal = (n_a == n_b) & (n_a > 0)
    if level.unique_only:
        equal &= n_a == 1
    sel = np.flatnonzero(equal[group] & (side == 0))
    partner = sel + n_a[group[sel]]
    # A second, independent hash must agree too: a 64-bit collision cannot pair two packets.
    same = check[sel] == check[partner]
    pa, pb = rows[sel[same]], rows[partner[same]]
    conf = np.full(pa.size, level.confidence, dtype=np.float32)
    conf[n_a[group[sel[same]]] > 1] *= _IN_ORDER_FACTOR
    if pa.size:
        state.add(pa, pb, level.match, conf)

    # Unequal groups: walk them by time against the delay expected for the flow.
    unequal = np.flatnonzero((n_a != n_b) & (n_a > 0) & (n_b > 0))
    if unequal.size == 0 or level.unique_only:
        return
    # The delay model learns from every confident pair so far, this level's included.
    model = _delay_model(a, b, flow_a, state)
    more_a, more_b, conf_list = [], [], []
    for g in unequal.tolist():
        s, na, nb = int(starts[g]), int(n_a[g]), int(n_b[g])
        ra, rb = rows[s : s + na], rows[s + na : s + na + nb]
        ta, tb = ts[s : s + na], ts[s + na : s + na + nb]
        state.ambiguous += 1
        if model is None:
            matched = [(k, k) for k in range(min(na, nb))]
        else:
            matched = _greedy(ta, tb, model.expect(flow_a[ra]), model.tolerance)
        ca, cb = check[s : s + na], check[s + na : s + na + nb]
        for i, j in matched:
            if ca[i] == cb[j]:
                more_a.append(int(ra[i]))
                more_b.append(int(rb[j]))
                conf_list.append(level.confidence * _BY_TIME_FACTOR)
    if more_a:
        state.add(
            np.array(more_a, np.int64),
            np.array(more_b, np.int64),
            level.match,
            np.array(conf_list, np.float32),
        )


# A repeat further apart than this is a retransmission (RTO ≥ 200 ms, TLP ≥ 10 ms in Linux,
# RFC 6298 §2 and RFC 8985 §7), not a copy made by the network or the capture.
DUPLICATE_WINDOW_NS = 5_000_000


def _duplicates(
    frames: FrameTable, flows: Keys, paired_rows: Rows, unpaired: Rows
) -> npt.NDArray[np.int64]:
    """(row, copy-of row) for unpaired rows that repeat a paired row of the same capture
    within DUPLICATE_WINDOW_NS."""
    if paired_rows.size == 0 or unpaired.size == 0:
        return np.zeros((0, 2), dtype=np.int64)
    exact = LEVELS[0]
    keys_p = _level_keys(frames, exact, flows, paired_rows)
    keys_u = _level_keys(frames, exact, flows, unpaired)
    order = np.argsort(keys_p, kind="stable")
    sorted_keys = keys_p[order]
    pos = np.minimum(np.searchsorted(sorted_keys, keys_u), sorted_keys.size - 1)
    copy_of = paired_rows[order[pos]]
    ts = frames["ts_ns"]
    near = np.abs(ts[unpaired] - ts[copy_of]) <= DUPLICATE_WINDOW_NS
    hit = (sorted_keys[pos] == keys_u) & near
    return np.stack([unpaired[hit], copy_of[hit]], axis=1).astype(np.int64)


def pair_rows(a: CaptureTables, b: CaptureTables) -> Pairing:
    """Pair the IP frames of A with their copies in B (see the module docstring)."""
    flow_a, flow_b = flow_ids(a.frames), flow_ids(b.frames)
    state = _State(
        a_parts=[],
        b_parts=[],
        match_parts=[],
        conf_parts=[],
        paired_a=np.zeros(len(a.frames), dtype=np.bool_),
        paired_b=np.zeros(len(b.frames), dtype=np.bool_),
    )
    mapped: Keys | None = None
    for level in LEVELS:
        if level.flow and mapped is None:
            ra, rb, _, conf = state.arrays()
            mapped = _flow_mapping(flow_a, flow_b, ra, rb, conf)
        flows = (mapped, flow_b) if level.flow and mapped is not None else None
        _run_level(a, b, level, state, flows, flow_a)
    ra, rb, match, conf = state.arrays()
    order = np.argsort(ra, kind="stable")
    ra, rb, match, conf = ra[order], rb[order], match[order], conf[order]
    only_a = np.flatnonzero(~state.paired_a & (a.frames["ip_version"] > 0)).astype(np.int64)
    only_b = np.flatnonzero(~state.paired_b & (b.frames["ip_version"] > 0)).astype(np.int64)
    return Pairing(
        a_rows=ra.astype(np.int64),
        b_rows=rb.astype(np.int64),
        match=match,
        confidence=conf,
        only_a=only_a,
        only_b=only_b,
        duplicates_a=_duplicates(a.frames, flow_a, ra, only_a),
        duplicates_b=_duplicates(b.frames, flow_b, rb, only_b),
        flow_a=flow_a,
        flow_b=flow_b,
        ambiguous_groups=state.ambiguous,
    )


def diff_captures(a: CaptureTables, b: CaptureTables) -> DiffResult:
    """Pair the packets of two capture points and name what changed between them."""
    from wiredoctor.diff.changes import compute_changes
    from wiredoctor.diff.clock import estimate_clock
    from wiredoctor.diff.diagnoses import diagnose_diff
    from wiredoctor.diff.lost import lost_rows, retransmissions

    pairing = pair_rows(a, b)
    clock, direction, delay = estimate_clock(a, b, pairing)
    changes = compute_changes(a, b, pairing, direction)
    lost_a, lost_b = lost_rows(a, b, pairing, direction)
    partial = DiffResult(
        a=a,
        b=b,
        pairing=pairing,
        clock=clock,
        direction=direction,
        delay_ns=delay,
        changes=changes,
        lost_a=lost_a,
        lost_b=lost_b,
        retransmission=retransmissions(a, b, pairing, changes),
    )
    diagnoses, findings, notes = diagnose_diff(partial)
    return DiffResult(
        a=a,
        b=b,
        pairing=pairing,
        clock=clock,
        direction=direction,
        delay_ns=delay,
        changes=changes,
        lost_a=lost_a,
        lost_b=lost_b,
        retransmission=partial.retransmission,
        diagnoses=tuple(diagnoses),
        findings=tuple(findings),
        notes=tuple(notes),
    )
