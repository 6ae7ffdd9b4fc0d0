"""Hash keys over frame-table columns: the invariants pairs are matched on, and flow ids.

A key is a 64-bit hash of several columns, computed for whole tables at once with numpy
(wrapping uint64 arithmetic, a multiply–xorshift mix). Two rows with the same columns get
the same key; the pairing also requires a second hash with another seed to agree, so a
collision would need two independent 64-bit hashes to collide at once.

Always holds: functions here take and return whole arrays; no Python loop per row.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from wiredoctor.tables import FrameTable

Keys = npt.NDArray[np.uint64]

_MULT = np.uint64(0x9E3779B97F4A7C15)
_SEED = 0x243F6A8885A308D3
_SHIFT = np.uint64(31)

# TCP flags that a path never rewrites (FIN, SYN, RST, ACK): PSH is re-set by segmentation
# offload and ECE/CWR/AE by ECN-aware middleboxes (RFC 3168 §6.1), so they stay out of keys.
STABLE_TCP_FLAGS = 0x17


def _as_u64(column: npt.NDArray[np.generic]) -> Keys:
    # Negative "absent" values (-1) wrap to all-ones, which is as good a value as any.
    return (
        column.astype(np.int64).view(np.uint64)
        if column.dtype.kind == "i"
        else (column.astype(np.uint64))
    )


def hash_columns(columns: list[npt.NDArray[np.generic]], n: int, seed: int = 0) -> Keys:
    """A 64-bit key per row mixing every array in `columns` (each of length `n`).

    Different `seed`s give independent hashes of the same columns.
    """
    h = np.full(n, (_SEED + seed * 0x632BE59BD9B4E019) & 0xFFFF_FFFF_FFFF_FFFF, dtype=np.uint64)
    for column in columns:
        h ^= _as_u64(column)
        h *= _MULT
        h ^= h >> _SHIFT
    return h


def stable_flags(frames: FrameTable) -> npt.NDArray[np.uint16]:
    """TCP flags without PSH and the ECN bits (see STABLE_TCP_FLAGS)."""
    return frames["tcp_flags"] & np.uint16(STABLE_TCP_FLAGS)


def flow_ids(frames: FrameTable) -> Keys:
    """Directional flow id per row: addresses, IP protocol, ports (ICMP: the echo id)."""
    n = len(frames)
    return hash_columns(
        [
            frames["src_hi"],
            frames["src_lo"],
            frames["dst_hi"],
            frames["dst_lo"],
            frames["ip_proto"],
            frames["sport"],
            frames["dport"],
            frames["icmp_id"],
        ],
        n,
    )


def reverse_flow_ids(frames: FrameTable) -> Keys:
    """The flow id of the opposite direction of each row's flow (for echo: the reply)."""
    n = len(frames)
    return hash_columns(
        [
            frames["dst_hi"],
            frames["dst_lo"],
            frames["src_hi"],
            frames["src_lo"],
            frames["ip_proto"],
            frames["dport"],
            frames["sport"],
            frames["icmp_id"],
        ],
        n,
    )
