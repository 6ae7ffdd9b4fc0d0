"""The offset between the two capture clocks, the one-way delay, and which way each pair went.

For a packet that travels A→B, (B time − A time) = offset + delay; for one that travels
B→A it is offset − delay. A connection seen in both directions therefore gives the offset
as the mean of its two directions' median deltas and the delay as half their difference
(the NTP on-wire assumption of a symmetric path, RFC 5905 §8). The overall estimate is the
median over connections, so a few queued or retransmitted packets do not move it.

Direction per pair comes first from the TTL / hop limit (it only goes down along a path),
then from the flow it belongs to, then from its flow's delay relative to the offset.

Always holds: only pairs at or above `_TRUSTED` confidence feed the estimate; a direction
is +1 (A→B), −1 (B→A) or 0 (unknown).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from wiredoctor.diff.keys import Keys, reverse_flow_ids
from wiredoctor.diff.result import ClockEstimate, Pairing
from wiredoctor.tables import CaptureTables

_TRUSTED = 0.9


def _medians_by(groups: Keys, values: npt.NDArray[np.int64]) -> tuple[Keys, npt.NDArray[np.int64]]:
    """Sorted distinct groups and the lower median of `values` in each."""
    order = np.lexsort((values, groups))
    g, v = groups[order], values[order]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]]) if g.size else np.zeros(0, np.int64)
    counts = np.diff(np.r_[starts, g.size])
    return g[starts], v[starts + (counts - 1) // 2].astype(np.int64)


def _sign_by(groups: Keys, values: npt.NDArray[np.int8]) -> tuple[Keys, npt.NDArray[np.int8]]:
    """Sorted distinct groups and the sign of the sum of `values` in each (majority)."""
    uniq, inverse = np.unique(groups, return_inverse=True)
    sums = np.bincount(inverse, weights=values.astype(np.float64), minlength=uniq.size)
    return uniq, np.sign(sums).astype(np.int8)


def _lookup(
    keys: Keys, values: npt.NDArray[np.int64] | npt.NDArray[np.int8], query: Keys, default: int
) -> npt.NDArray[np.int64]:
    """values[keys == q] for each q in `query` (keys sorted), `default` where absent."""
    out = np.full(query.size, default, dtype=np.int64)
    if keys.size:
        pos = np.minimum(np.searchsorted(keys, query), keys.size - 1)
        hit = keys[pos] == query
        out[hit] = values[pos[hit]]
    return out


def estimate_clock(
    a: CaptureTables, b: CaptureTables, pairing: Pairing
) -> tuple[ClockEstimate, npt.NDArray[np.int8], npt.NDArray[np.int64]]:
    """The clock estimate, each pair's direction and each pair's offset-corrected delay."""
    ra, rb = pairing.a_rows, pairing.b_rows
    delta = b.frames["ts_ns"][rb] - a.frames["ts_ns"][ra]
    n = ra.size
    if n == 0:
        empty = ClockEstimate(
            offset_ns=None,
            one_way_delay_ns=None,
            median_delta_ns=None,
            method="none",
            connections=0,
        )
        return empty, np.zeros(0, np.int8), delta.astype(np.int64)

    flows = pairing.flow_a[ra]
    trusted = pairing.confidence >= _TRUSTED
    if not trusted.any():
        trusted = np.ones(n, dtype=np.bool_)
    med_flows, med_values = _medians_by(flows[trusted], delta[trusted])

    # Connections seen in both directions: flow f and the flow whose reverse is f.
    uniq, first = np.unique(flows, return_index=True)
    reverse = reverse_flow_ids(a.frames[ra[first]])
    missing = np.iinfo(np.int64).min
    m1 = _lookup(med_flows, med_values, uniq, missing)
    m2 = _lookup(med_flows, med_values, reverse, missing)
    both = (uniq < reverse) & (m1 != missing) & (m2 != missing)
    offsets = ((m1[both] + m2[both]) // 2).tolist()
    delays = (np.abs(m1[both] - m2[both]) // 2).tolist()
    median_delta = int(np.median(delta[trusted]))

    # TTL / hop limit only decreases along the path (RFC 791 §3.2, RFC 8200 §3).
    ttl_a = a.frames["ttl"][ra].astype(np.int16)
    ttl_b = b.frames["ttl"][rb].astype(np.int16)
    direction = np.sign(ttl_a - ttl_b).astype(np.int8)
    unknown = np.flatnonzero(direction == 0)
    if unknown.size:
        sign_flows, signs = _sign_by(flows, direction)
        direction[unknown] = _lookup(sign_flows, signs, flows[unknown], 0).astype(np.int8)

    method = "none"
    offset: int | None = None
    one_way: int | None = None
    if offsets:
        offset, one_way, method = int(np.median(offsets)), int(np.median(delays)), "reverse-flows"
    else:
        fwd = delta[trusted & (direction > 0)]
        bwd = delta[trusted & (direction < 0)]
        if fwd.size and bwd.size:
            there, back = int(np.median(fwd)), int(np.median(bwd))
            offset, one_way, method = (there + back) // 2, (there - back) // 2, "ttl-directions"

    if offset is not None:
        # Flows whose direction TTL could not tell: the side of the offset their delay is on.
        unknown = np.flatnonzero(direction == 0)
        if unknown.size:
            flow_delay = _lookup(med_flows, med_values, flows[unknown], offset)
            direction[unknown] = np.sign(flow_delay - offset).astype(np.int8)
        delay = delta - offset
    else:
        delay = delta
    estimate = ClockEstimate(
        offset_ns=offset,
        one_way_delay_ns=one_way,
        median_delta_ns=median_delta,
        method=method,
        connections=len(offsets),
    )
    return estimate, direction, delay.astype(np.int64)
