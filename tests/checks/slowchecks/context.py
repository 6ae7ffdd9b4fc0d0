"""What every check shares: the tables, resolved direction, link header sizes, flow hashing.

Built once per run by `build_context`. Direction and link header sizes come from src's numpy
frame pass (`wiredoctor.checks.plainscan`, held equal to the numba pass by
tests/checks/test_plain_passes.py) and the hashing from src's `flowkeys`, rather than from
copies kept here. Always holds: arrays are aligned with the frame table (one entry per frame
row) unless named for the checksum table; nothing here mutates the
tables; `counted` is False only for the second sighting of a packet on a Linux cooked
capture (`tcpdump -i any`), so flow analysis counts each packet once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from wiredoctor.capture.record import LinkType
from wiredoctor.checks import plainscan
from wiredoctor.checks.codes import BY_SYMBOL
from wiredoctor.checks.finding import Evidence, Finding
from wiredoctor.checks.flowkeys import mix as mix
from wiredoctor.checks.flowkeys import wrap32 as wrap32
from wiredoctor.checks.options import CheckOptions
from wiredoctor.checksum.verdict import Cause, Proto, Status
from wiredoctor.errors import WiredoctorError
from wiredoctor.tables import CaptureTables, FrameFlag, address_text

I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]
Mask = npt.NDArray[np.bool_]

# Bytes in front of the IP header per link type (tcpdump.org LINKTYPE_* registry); Ethernet
# adds 4 per 802.1Q/802.1ad tag on top of its 14.
LINK_HEADER: dict[int, int] = {
    LinkType.NULL: 4,
    LinkType.ETHERNET: 14,
    LinkType.RAW: 0,
    LinkType.LOOP: 4,
    LinkType.LINUX_SLL: 16,
    LinkType.IPV4: 0,
    LinkType.IPV6: 0,
    LinkType.LINUX_SLL2: 20,
}


@dataclass(slots=True, kw_only=True)
class CheckContext:
    """One capture's tables plus the per-frame arrays several checks need."""

    tables: CaptureTables
    options: CheckOptions
    frames: npt.NDArray[np.void]
    checksums: npt.NDArray[np.void]
    cksum_frame_row: I64
    """Frame-table row of each checksum row."""
    direction: npt.NDArray[np.uint8]
    """Direction per frame: the capture's own, or from the SLL packet type."""
    link_header: I64
    """Bytes of link-layer header per frame (VLAN tags included)."""
    counted: Mask
    """False for the second sighting of the same packet on a cooked capture."""
    partial_frame: Mask
    """True for frames with an L4 checksum holding only the pseudo-header sum."""
    cache: dict[str, Any] = field(default_factory=dict)
    """Results shared between checks (e.g. the TCP flow view), computed on first use."""

    def finding(
        self,
        symbol: str,
        message: str,
        frames: Iterable[int] | npt.NDArray[Any],
        facts: dict[str, Any],
    ) -> Finding:
        """A Finding of the catalogued `symbol` whose evidence is every frame in `frames`."""
        entry = BY_SYMBOL[symbol]
        numbers = np.unique(
            np.asarray(list(frames) if not isinstance(frames, np.ndarray) else frames)
        )
        return Finding(
            code=entry.code,
            symbol=symbol,
            severity=entry.severity,
            message=message,
            evidence=Evidence(
                capture=self.tables.path, frames=tuple(int(x) for x in numbers.tolist())
            ),
            facts=facts,
        )

    def column(self, name: str) -> npt.NDArray[Any]:
        """A contiguous copy of one frame-table column, made once per run.

        Whole-column arithmetic on the structured table's strided columns touches every
        record's cache line; the copy pays that once.
        """
        key = f"column:{name}"
        cached = self.cache.get(key)
        if cached is None:
            cached = np.ascontiguousarray(self.frames[name])
            self.cache[key] = cached
        out: npt.NDArray[Any] = cached
        return out

    def frame_bytes(self, frame: int) -> bytes:
        """The captured bytes of a frame, or b"" when the capture cannot give them back."""
        read = self.tables.read_frame
        if read is None:
            return b""
        try:
            return read(frame)
        except WiredoctorError:
            # A source closed or cut short: the check goes on without the bytes.
            return b""

    def addr(self, row: int, which: str = "src") -> str:
        """Text of the source or destination address of frame-table row `row`."""
        f = self.frames[row]
        return address_text(int(f[f"{which}_hi"]), int(f[f"{which}_lo"]))

    def addresses(self, rows: npt.NDArray[Any], which: str = "src", limit: int = 50) -> list[str]:
        """Distinct addresses (`src` or `dst`) of the given frame rows, most frequent first."""
        if len(rows) == 0:
            return []
        hi = self.frames[f"{which}_hi"][rows]
        lo = self.frames[f"{which}_lo"][rows]
        pairs = np.stack([hi, lo], axis=1)
        uniq, counts = np.unique(pairs, axis=0, return_counts=True)
        order = np.argsort(-counts, kind="stable")[:limit]
        return [address_text(int(uniq[i, 0]), int(uniq[i, 1])) for i in order]

    def endpoint(self, row: int) -> dict[str, Any]:
        """{src, sport, dst, dport} of one frame-table row."""
        f = self.frames[row]
        return {
            "src": self.addr(row, "src"),
            "sport": int(f["sport"]),
            "dst": self.addr(row, "dst"),
            "dport": int(f["dport"]),
        }


def _frame_pass(frames: npt.NDArray[np.void], mtu: int) -> tuple[npt.NDArray[np.uint8], I64]:
    """(direction, link header bytes) per frame, from the numpy frame pass."""
    n = len(frames)
    table = np.zeros(1 << 16, dtype=np.int64)
    for lt, size in LINK_HEADER.items():
        table[lt] = size
    direction = np.empty(n, dtype=np.uint8)
    header = np.empty(n, dtype=np.int64)
    lists = np.empty((5, n), dtype=np.int64)
    counts = np.empty(5, dtype=np.int64)
    plainscan.frame_pass(frames, table, mtu, direction, header, lists, counts)
    return direction, header


def _counted(frames: npt.NDArray[np.void], window_ns: int) -> Mask:
    """False for rows that repeat a packet already seen on another interface of an SLL capture.

    The decoders flag such rows DUPLICATE_SLL; when none are flagged the same test is made
    here from the columns: same IP header and L4 fields and payload, close in time.
    """
    flags = frames["flags"]
    dup = (flags & FrameFlag.DUPLICATE_SLL) != 0
    sll = np.isin(frames["linktype"], (LinkType.LINUX_SLL, LinkType.LINUX_SLL2))
    sll &= frames["ip_version"] > 0
    if dup.any() or not sll.any():
        kept: Mask = ~dup
        return kept
    rows = np.flatnonzero(sll)
    f = frames[rows]
    key = mix(
        f["src_hi"], f["src_lo"], f["dst_hi"], f["dst_lo"], f["ip_id"], f["ip_len"],
        f["ttl"], f["ip_proto"], f["sport"], f["dport"], f["tcp_seq"], f["tcp_ack"],
        f["tcp_flags"], f["tcp_win"], f["icmp_type"], f["icmp_seq"], f["payload_hash"],
    )  # fmt: skip
    ts = f["ts_ns"]
    order = np.lexsort((ts, key))
    k, t = key[order], ts[order]
    same = (k[1:] == k[:-1]) & (t[1:] - t[:-1] <= window_ns)
    dup[rows[order[1:][same]]] = True
    counted: Mask = ~dup
    return counted


def build_context(tables: CaptureTables, options: CheckOptions) -> CheckContext:
    """Everything the checks share for one capture."""
    frames = tables.frames
    checksums = tables.checksums
    numbers = np.ascontiguousarray(checksums["frame"]).astype(np.int64)
    n = len(frames)
    if n and int(frames["frame"][0]) == 1 and int(frames["frame"][-1]) == n:
        rows = numbers - 1  # frames numbered 1..n without gaps: the row is the number - 1
    else:
        rows = np.searchsorted(frames["frame"], numbers).astype(np.int64)
    rows = np.clip(rows, 0, max(n - 1, 0))
    bad = np.flatnonzero(checksums["status"] == Status.BAD)
    partial = np.isin(checksums["cause"][bad], (Cause.OFFLOAD_PARTIAL, Cause.OFFLOAD_PARTIAL_NOLEN))
    partial &= np.isin(checksums["proto"][bad], (Proto.TCP, Proto.UDP, Proto.UDPLITE, Proto.ICMPV6))
    partial_frame = np.zeros(n, dtype=bool)
    partial_frame[rows[bad[partial]]] = True
    direction, link_header = _frame_pass(frames, options.mtu)
    return CheckContext(
        tables=tables,
        options=options,
        frames=frames,
        checksums=checksums,
        cksum_frame_row=rows,
        direction=direction,
        link_header=link_header,
        counted=_counted(frames, options.duplicate_window_ns),
        partial_frame=partial_frame,
    )
