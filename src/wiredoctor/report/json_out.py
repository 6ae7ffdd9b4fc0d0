"""JSON shapes of CONTRACT.md: the `check` document and the `packets` JSON Lines.

Always holds: `schema` is 1; frame numbers are 1-based; names of statuses, causes, protos
and link types are the contract's strings; nothing here prints.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from wiredoctor import __version__
from wiredoctor.capture.record import linktype_name
from wiredoctor.checksum.verdict import CAUSE_NAMES, PROTO_NAMES, STATUS_NAMES, Status
from wiredoctor.tables import CaptureTables

if TYPE_CHECKING:
    from wiredoctor.analysis import Analysis

SCHEMA = 1


def checksum_counts(tables: CaptureTables) -> dict[str, int]:
    """Occurrences per status name in one capture, every status present (zeros included)."""
    counts = tables.status_counts(len(Status))
    return {STATUS_NAMES[s]: int(counts[s]) for s in Status}


def capture_json(tables: CaptureTables) -> dict[str, Any]:
    """One entry of the document's `captures` list."""
    out: dict[str, Any] = {
        "path": tables.path,
        "format": tables.format,
        "linktypes": [linktype_name(lt) for lt in tables.linktypes],
        "frames": tables.n_frames,
    }
    if tables.warnings:
        out["warnings"] = list(tables.warnings)
    return out


def check_document(analysis: Analysis) -> dict[str, Any]:
    """The `wiredoctor check --json` document."""
    totals = dict.fromkeys(STATUS_NAMES.values(), 0)
    frames = 0
    for tables in analysis.captures:
        frames += tables.n_frames
        for name, n in checksum_counts(tables).items():
            totals[name] += n
    doc: dict[str, Any] = {
        "schema": SCHEMA,
        "tool": {"name": "wiredoctor", "version": __version__},
        "captures": [capture_json(t) for t in analysis.captures],
        "summary": {"frames": frames, "checksums": totals},
        "findings": [f.to_json() for f in analysis.findings],
        "diagnoses": [d.to_json() for d in analysis.diagnoses],
    }
    return doc


def checksum_entry(row: np.void) -> dict[str, Any]:
    """One element of a frame's `checksums` list in `packets --json`."""
    value = int(row["value"])
    expected = int(row["expected"])
    return {
        "proto": PROTO_NAMES[int(row["proto"])],
        "depth": int(row["depth"]),
        "status": STATUS_NAMES[int(row["status"])],
        "value": value if value >= 0 else None,
        "expected": expected if expected >= 0 else None,
        "cause": CAUSE_NAMES[int(row["cause"])],
    }


def packets_lines(tables: CaptureTables) -> Iterator[dict[str, Any]]:
    """The `packets --json` objects, one per frame, in capture order."""
    frames = tables.frames
    checksums = tables.checksums
    for i in range(len(frames)):
        row = frames[i]
        start = int(row["cksum_row"])
        stop = start + int(row["n_cksum"])
        yield {
            "frame": int(row["frame"]),
            "ts_ns": int(row["ts_ns"]),
            "caplen": int(row["caplen"]),
            "wirelen": int(row["wirelen"]),
            "linktype": linktype_name(int(row["linktype"])),
            "trailer_len": int(row["trailer_len"]),
            "checksums": [checksum_entry(checksums[j]) for j in range(start, stop)],
        }
