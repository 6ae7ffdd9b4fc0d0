"""The `diff --json` document (CONTRACT.md, schema 1) built from a DiffResult.

The contract's keys — schema, a, b, pairs [{a, b, delay_ns, changes [{field, a, b}],
checksum_update}], only_in_a, only_in_b, diagnoses — are exactly as documented. Added
beside them: per pair `confidence`, `match`, `direction` and, where true,
`retransmission` / `checksum_partial`; top level `summary`, `clock`, `lost`,
`duplicates`, `findings`, `notes`.

`document_head` / `document_tail` are the keys before and after `pairs`, shared with
`jsonstream.write_diff_json`, which writes the same document as text without building it.

Always holds: frame numbers are 1-based; `delay_ns` is B's timestamp minus A's minus the
clock offset (when one was estimated; negative for packets that reached B's point first);
the document contains only JSON types.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from wiredoctor.diff.common import DIRECTION_NAMES
from wiredoctor.diff.result import CHECKSUM_KEYS, MATCH_NAMES, UPDATE_NAMES, DiffResult
from wiredoctor.diff.values import pair_changes_many

SCHEMA = 1


def summary(result: DiffResult) -> dict[str, Any]:
    """Counts and the clock, as the `summary` object."""
    delays = result.delay_ns[result.direction != 0]
    return {
        "frames_a": len(result.a.frames),
        "frames_b": len(result.b.frames),
        "pairs": result.pairs,
        "only_in_a": int(result.pairing.only_a.size),
        "only_in_b": int(result.pairing.only_b.size),
        "lost_a_to_b": int(result.lost_a.size),
        "lost_b_to_a": int(result.lost_b.size),
        "duplicates_a": int(result.pairing.duplicates_a.shape[0]),
        "duplicates_b": int(result.pairing.duplicates_b.shape[0]),
        "retransmission_pairs": int(result.retransmission.sum()),
        "changed_pairs": int((result.changes.mask != 0).sum()),
        "bytes_compared": result.changes.bytes_compared,
        "median_one_way_delay_ns": (
            int(np.median(np.abs(delays)))
            if delays.size and result.clock.offset_ns is not None
            else None
        ),
    }


def _update_dicts(result: DiffResult) -> list[dict[str, str]]:
    """`checksum_update` of every pair, one dict object per distinct combination."""
    updates = result.changes.updates
    if updates.shape[0] == 0:
        return []
    uniq, inverse = np.unique(updates, axis=0, return_inverse=True)
    dicts = [
        {key: UPDATE_NAMES[int(c)] for key, c in zip(CHECKSUM_KEYS, row, strict=True) if c}
        for row in uniq.tolist()
    ]
    return [dicts[k] for k in inverse.reshape(-1).tolist()]


def pairs_json(result: DiffResult) -> list[dict[str, Any]]:
    """The `pairs` array, built column by column."""
    n = result.pairs
    everyone = np.arange(n, dtype=np.int64)
    changes = pair_changes_many(result, everyone)
    frames_a = result.a.frames["frame"][result.pairing.a_rows].tolist()
    frames_b = result.b.frames["frame"][result.pairing.b_rows].tolist()
    delays = result.delay_ns.tolist()
    confidence = np.round(result.pairing.confidence.astype(np.float64), 2).tolist()
    matches = [MATCH_NAMES[m] for m in result.pairing.match.tolist()]
    directions = [DIRECTION_NAMES[d] for d in result.direction.tolist()]
    updates = _update_dicts(result)
    out = [
        {
            "a": frames_a[i],
            "b": frames_b[i],
            "delay_ns": delays[i],
            "changes": changes[i],
            "checksum_update": updates[i],
            "confidence": confidence[i],
            "match": matches[i],
            "direction": directions[i],
        }
        for i in range(n)
    ]
    for i in np.flatnonzero(result.retransmission).tolist():
        out[i]["retransmission"] = True
    for i in np.flatnonzero(result.changes.partial).tolist():
        bits = int(result.changes.partial[i])
        out[i]["checksum_partial"] = [k for m, k in enumerate(CHECKSUM_KEYS) if bits >> m & 1]
    return out


def document_head(result: DiffResult) -> dict[str, Any]:
    """The keys of the document before `pairs`, in document order."""
    clock = result.clock
    return {
        "schema": SCHEMA,
        "a": result.a.path,
        "b": result.b.path,
        "summary": summary(result),
        "clock": {
            "offset_ns": clock.offset_ns,
            "one_way_delay_ns": clock.one_way_delay_ns,
            "median_delta_ns": clock.median_delta_ns,
            "method": clock.method,
            "connections": clock.connections,
        },
    }


def document_tail(result: DiffResult) -> dict[str, Any]:
    """The keys of the document after `pairs`, in document order."""
    frames_a, frames_b = result.a.frames["frame"], result.b.frames["frame"]
    return {
        "only_in_a": frames_a[result.pairing.only_a].tolist(),
        "only_in_b": frames_b[result.pairing.only_b].tolist(),
        "lost": {
            "a_to_b": frames_a[result.lost_a].tolist(),
            "b_to_a": frames_b[result.lost_b].tolist(),
        },
        "duplicates": {
            "a": [
                {"frame": int(frames_a[r]), "copy_of": int(frames_a[c])}
                for r, c in result.pairing.duplicates_a.tolist()
            ],
            "b": [
                {"frame": int(frames_b[r]), "copy_of": int(frames_b[c])}
                for r, c in result.pairing.duplicates_b.tolist()
            ],
        },
        "diagnoses": [d.to_json() for d in result.diagnoses],
        "findings": [f.to_json() for f in result.findings],
        "notes": list(result.notes),
    }


def diff_json(result: DiffResult) -> dict[str, Any]:
    """The whole `diff --json` document (`jsonstream.write_diff_json` writes it as text)."""
    return {**document_head(result), "pairs": pairs_json(result), **document_tail(result)}
