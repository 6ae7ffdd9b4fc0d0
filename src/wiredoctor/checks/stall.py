"""The PMTU signature in TCP: small segments get acknowledged, full-size ones are resent in
vain (WD205).

Always holds: a flow is reported only when at least two resends of never-acknowledged data
were seen and every such segment is larger than everything of that flow that got through;
the threshold is an IP total length (what the path let through), not a payload size.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from wiredoctor.checks.context import CheckContext
from wiredoctor.checks.finding import Finding
from wiredoctor.checks.icmp import too_big_rows
from wiredoctor.checks.tcpflows import retransmitted, tcp_view

_MIN_RESENDS = 2


def check_full_size_stall(ctx: CheckContext) -> list[Finding]:
    """WD205: connections whose full-size segments are retransmitted and never acknowledged."""
    view = tcp_view(ctx)
    if view.n_flows == 0:
        return []
    again = retransmitted(view, ctx)
    end = view.seq + view.seg_len
    acked = (view.peer_ack[view.flow] >= end) & (view.seg_len > 0)
    stalled = again & ~acked & (view.payload > 0)
    if stalled.sum() < _MIN_RESENDS:
        return []
    n = view.n_flows
    through = view.through
    smallest = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(smallest, view.flow[stalled], view.ip_len[stalled])
    resends = np.bincount(view.flow[stalled], minlength=n)
    hit = np.flatnonzero((resends >= _MIN_RESENDS) & (through >= 0) & (smallest > through))
    if hit.size == 0:
        return []
    hit = hit[np.argsort(-resends[hit], kind="stable")]
    flows: list[dict[str, Any]] = []
    evidence: list[int] = []
    for fl in hit.tolist():
        idx = np.flatnonzero(stalled & (view.flow == fl))
        evidence += view.frame[idx].tolist()
        if len(flows) < ctx.options.flow_limit:
            flows.append(
                {
                    **ctx.endpoint(int(view.flow_row[fl])),
                    "threshold": int(through[fl]),
                    "stalled_len": int(smallest[fl]),
                    "retransmissions": int(resends[fl]),
                    "frames": [int(x) for x in view.frame[idx][:50].tolist()],
                }
            )
    threshold = int(through[hit].max())
    stalled_len = int(smallest[hit].min())
    facts = {
        "threshold": threshold,
        "stalled_len": stalled_len,
        "count": len(evidence),
        "too_big_seen": bool(too_big_rows(ctx).size),
        "flows": flows,
    }
    message = (
        f"{len(hit)} TCP connections stall: segments of IP length {stalled_len} are resent "
        f"and never acknowledged, while up to {threshold} got through"
    )
    return [ctx.finding("full-size-segment-stall", message, evidence, facts)]
