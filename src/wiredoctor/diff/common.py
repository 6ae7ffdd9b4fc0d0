"""Small views of a DiffResult that both the diagnoses and the findings read.

Always holds: frame numbers returned are 1-based numbers of the capture named; a direction
name is `a->b`, `b->a` or `unknown`; nothing here changes the result.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from wiredoctor.diff.fields import Field
from wiredoctor.diff.result import DiffResult
from wiredoctor.tables import address_text

DIRECTION_NAMES: dict[int, str] = {1: "a->b", -1: "b->a", 0: "unknown"}
SAMPLE = 20
"""How many example pairs a diagnosis lists in its facts."""


def has(result: DiffResult, field: Field) -> npt.NDArray[np.bool_]:
    """Per pair: True where `field` changed."""
    out: npt.NDArray[np.bool_] = (
        (result.changes.mask >> np.uint64(int(field))) & np.uint64(1)
    ) == 1
    return out


def frames_b(result: DiffResult, pairs: npt.NDArray[np.int64]) -> list[int]:
    """B's frame numbers of the given pair numbers."""
    return [int(x) for x in result.b.frames["frame"][result.pairing.b_rows[pairs]]]


def frames_a(result: DiffResult, pairs: npt.NDArray[np.int64]) -> list[int]:
    """A's frame numbers of the given pair numbers."""
    return [int(x) for x in result.a.frames["frame"][result.pairing.a_rows[pairs]]]


def endpoint(row: np.void, which: str) -> str:
    """`addr:port` (or just `addr` without ports) of a frame row's source or destination."""
    hi, lo = int(row[f"{which}_hi"]), int(row[f"{which}_lo"])
    addr = address_text(hi, lo)
    port = int(row["sport" if which == "src" else "dport"])
    if port < 0:
        return addr
    return f"[{addr}]:{port}" if ":" in addr else f"{addr}:{port}"


def proto_name(ip_proto: int) -> str:
    """Short transport name for messages."""
    return {6: "tcp", 17: "udp", 1: "icmp", 58: "icmpv6", 136: "udplite"}.get(
        ip_proto, f"proto-{ip_proto}"
    )


def flow_text(row: np.void) -> str:
    """`tcp 10.0.0.1:40000 > 10.0.0.2:80` for a frame row."""
    return f"{proto_name(int(row['ip_proto']))} {endpoint(row, 'src')} > {endpoint(row, 'dst')}"


def sample_pairs(result: DiffResult, pairs: npt.NDArray[np.int64]) -> list[dict[str, int]]:
    """Up to SAMPLE pairs as {"a": frame, "b": frame}."""
    head = pairs[:SAMPLE]
    return [
        {"a": fa, "b": fb}
        for fa, fb in zip(frames_a(result, head), frames_b(result, head), strict=True)
    ]
