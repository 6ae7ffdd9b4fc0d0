"""Which unpaired packets were lost between the points, and which pairs are retransmissions.

A packet seen only at A was lost on the way A→B only if its flow travels A→B and B was
capturing when it should have arrived; a packet seen only at B was lost on the way B→A under
the same two conditions mirrored. Flows never seen at both points are not "lost" (they may
never have been routed past the other point), nor are exact repeats of a paired packet.

A pair whose TCP segment is the same (seq, flags, payload) but whose TS val differs holds
two different transmissions of the segment — unless the whole flow's TS vals differ by one
constant, which is a device rewriting timestamps (RFC 7323 §7.1 allows a per-connection
offset), not a retransmission.

Always holds: the returned rows are subsets of `Pairing.only_a` / `only_b`, ascending.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from wiredoctor.diff.fields import Field
from wiredoctor.diff.keys import Keys, reverse_flow_ids
from wiredoctor.diff.result import Changes, Pairing, Rows
from wiredoctor.distinct import difference, within
from wiredoctor.tables import CaptureTables

# A flow whose TS vals all differ by one constant over at least this many pairs is rewritten.
_REWRITE_MIN_PAIRS = 3


def _flow_direction(
    flows: Keys, direction: npt.NDArray[np.int8]
) -> tuple[Keys, npt.NDArray[np.int64]]:
    uniq, inverse = np.unique(flows, return_inverse=True)
    sums = np.bincount(inverse, weights=direction.astype(np.float64), minlength=uniq.size)
    return uniq, np.sign(sums).astype(np.int64)


def _lookup(
    keys: Keys, values: npt.NDArray[np.int64], query: Keys
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.int64]]:
    if keys.size == 0 or query.size == 0:
        return np.zeros(query.size, np.bool_), np.zeros(query.size, np.int64)
    pos = np.minimum(np.searchsorted(keys, query), keys.size - 1)
    hit = keys[pos] == query
    return hit, np.where(hit, values[pos], 0)


def _lost_side(
    tables: CaptureTables,
    other: CaptureTables,
    only: Rows,
    duplicates: npt.NDArray[np.int64],
    flows: Keys,
    paired_rows: Rows,
    pair_direction: npt.NDArray[np.int8],
    pair_delta: npt.NDArray[np.int64],
    sign: int,
) -> Rows:
    """Rows of `only` lost on their way from this capture's point to the other's.

    `sign` is +1 for A (flows going A→B) and −1 for B; `pair_delta` is (other − this) time.
    """
    if only.size == 0 or paired_rows.size == 0 or len(other.frames) == 0:
        return np.zeros(0, dtype=np.int64)
    candidates = difference(only, duplicates[:, 0]) if duplicates.size else only
    dir_keys, dir_values = _flow_direction(flows[paired_rows], pair_direction)
    cand_flows = flows[candidates]
    hit, d = _lookup(dir_keys, dir_values, cand_flows)
    rev_hit, rev_d = _lookup(dir_keys, dir_values, reverse_flow_ids(tables.frames[candidates]))
    travels = hit | rev_hit
    # A flow with no pair of its own travels opposite to its reverse flow only when the
    # pairs show traffic crossing the points both ways; if every pair went the same way
    # (both directions of a connection seen upstream first), so did this packet.
    both_ways = bool((pair_direction > 0).any() and (pair_direction < 0).any())
    d = np.where(hit, d, -rev_d if both_ways else rev_d)
    # From A, unknown direction counts as A→B (A is the first point by convention).
    outward = (d * sign > 0) | ((d == 0) & (sign > 0))

    # Expected arrival at the other point: this packet's time + its flow's usual delta.
    order = np.lexsort((pair_delta, flows[paired_rows]))
    g, v = flows[paired_rows][order], pair_delta[order]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    counts = np.diff(np.r_[starts, g.size])
    med_hit, med = _lookup(g[starts], v[starts + (counts - 1) // 2], cand_flows)
    overall = int(np.median(pair_delta))
    arrival = tables.frames["ts_ns"][candidates] + np.where(med_hit, med, overall)
    ts_other = other.frames["ts_ns"]
    inside = (arrival >= ts_other.min()) & (arrival <= ts_other.max())
    out: Rows = candidates[travels & outward & inside].astype(np.int64)
    return out


def lost_rows(
    a: CaptureTables, b: CaptureTables, pairing: Pairing, direction: npt.NDArray[np.int8]
) -> tuple[Rows, Rows]:
    """(A rows lost on the way A→B, B rows lost on the way B→A)."""
    delta = b.frames["ts_ns"][pairing.b_rows] - a.frames["ts_ns"][pairing.a_rows]
    lost_a = _lost_side(
        a,
        b,
        pairing.only_a,
        pairing.duplicates_a,
        pairing.flow_a,
        pairing.a_rows,
        direction,
        delta,
        +1,
    )
    lost_b = _lost_side(
        b,
        a,
        pairing.only_b,
        pairing.duplicates_b,
        pairing.flow_b,
        pairing.b_rows,
        direction,
        -delta,
        -1,
    )
    return lost_a, lost_b


def retransmissions(
    a: CaptureTables, b: CaptureTables, pairing: Pairing, changes: Changes
) -> npt.NDArray[np.bool_]:
    """Per pair: the same segment with another TS val, i.e. B holds another transmission."""
    ra, rb = pairing.a_rows, pairing.b_rows
    tsval_changed = (changes.mask >> np.uint64(int(Field.TCP_TSVAL))) & np.uint64(1) == 1
    same_segment = (
        (a.frames["tcp_seq"][ra] == b.frames["tcp_seq"][rb])
        & (a.frames["l4_payload_len"][ra] == b.frames["l4_payload_len"][rb])
        & (a.frames["payload_hash"][ra] == b.frames["payload_hash"][rb])
        & (a.frames["tcp_has_ts"][ra] > 0)
        & (b.frames["tcp_has_ts"][rb] > 0)
    )
    candidate: npt.NDArray[np.bool_] = tsval_changed & same_segment
    if not candidate.any():
        return candidate
    idx = np.flatnonzero(candidate)
    shift = b.frames["tcp_tsval"][rb[idx]].astype(np.int64) - a.frames["tcp_tsval"][ra[idx]]
    flows = pairing.flow_a[ra[idx]]
    order = np.lexsort((shift, flows))
    g, s = flows[order], shift[order]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    ends = np.r_[starts[1:], g.size]
    constant = (s[starts] == s[ends - 1]) & (ends - starts >= _REWRITE_MIN_PAIRS)
    rewritten_flows = g[starts][constant]
    candidate[idx[within(flows, rewritten_flows)]] = False
    return candidate
