"""What every check shares: the tables, resolved direction, link header sizes, flow hashing,
and the short row lists most checks start from.

Built once per run by `build_context` with one pass over each table (`passes`: numba kernels
for large tables, numpy for small ones, the same values either way). Always
holds: per-frame arrays are aligned with the frame table unless named for the checksum table;
row lists are ascending; nothing here mutates the tables; `counted` is False only for the
second sighting of a packet on a Linux cooked capture (`tcpdump -i any`), so flow analysis
counts each packet once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, TypedDict

import numpy as np
import numpy.typing as npt

from wiredoctor.capture.record import LinkType
from wiredoctor.checks.codes import BY_SYMBOL
from wiredoctor.checks.finding import Evidence, Finding
from wiredoctor.checks.flowkeys import mix as mix
from wiredoctor.checks.flowkeys import wrap32 as wrap32
from wiredoctor.checks.options import CheckOptions
from wiredoctor.checks.passes import checksum_pass, frame_pass
from wiredoctor.checksum.verdict import Cause, Note, Proto, Status
from wiredoctor.distinct import distinct
from wiredoctor.errors import WiredoctorError
from wiredoctor.tables import CaptureTables, FrameFlag, address_text, take

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
    listed: I64
    """Checksum-table rows that are bad, unverified, illegal or carry a note the checks read
    (every checksum check looks at these only)."""
    icmp_rows: I64
    """Frame rows carrying an ICMP or ICMPv6 header."""
    trailer_rows: I64
    """Frame rows with bytes after the IP datagram beyond padding."""
    nonzero_pad_rows: I64
    """Frame rows padded with non-zero bytes."""
    cut_rows: I64
    """Frame rows cut by the snapshot length (text records excluded)."""
    over_rows: I64
    """Frame rows longer than the MTU plus their link header."""
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
        if isinstance(frames, np.ndarray):
            numbers = frames.astype(np.int64, copy=False)
        else:
            numbers = np.asarray(list(frames), dtype=np.int64)
        # Evidence of a column mask is already sorted and distinct; only sort what is not.
        if len(numbers) > 1 and not bool((numbers[1:] > numbers[:-1]).all()):
            numbers = distinct(numbers)
        return Finding(
            code=entry.code,
            symbol=symbol,
            severity=entry.severity,
            message=message,
            evidence=Evidence(capture=self.tables.path, frames=tuple(numbers.tolist())),
            facts=facts,
        )

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


def mask_of(n: int, rows: Any) -> Mask:
    """A mask of `n` rows, True at `rows`."""
    out = np.zeros(n, dtype=bool)
    out[rows] = True
    return out


class RowLists(TypedDict):
    """The `CheckContext` fields the frame pass's five row lists fill."""

    icmp_rows: I64
    trailer_rows: I64
    nonzero_pad_rows: I64
    cut_rows: I64
    over_rows: I64


def row_lists(lists: Iterable[I64]) -> RowLists:
    """The frame pass's row lists (ICMP, trailer, non-zero padding, snaplen cut, over MTU,
    in its order) as the context's fields."""
    icmp, trailer, pad, cut, over = lists
    return RowLists(
        icmp_rows=icmp, trailer_rows=trailer, nonzero_pad_rows=pad, cut_rows=cut, over_rows=over
    )


def _link_table() -> I64:
    table = np.zeros(1 << 16, dtype=np.int64)
    for lt, size in LINK_HEADER.items():
        table[lt] = size
    return table


LINK_TABLE = _link_table()
"""`LINK_HEADER` as an array indexed by link type (what the frame pass reads)."""

NOTES_READ = int(Note.FFFF_FOR_ZERO | Note.FINAL_DESTINATION | Note.SNAPLEN)
"""Checksum notes a check reads: rows with them are listed even when good."""


def _counted(frames: npt.NDArray[np.void], window_ns: int, seen: int) -> Mask:
    """False for rows that repeat a packet already seen on another interface of an SLL capture.

    The decoders flag such rows DUPLICATE_SLL; when none are flagged the same test is made
    here from the columns: same IP header and L4 fields and payload, close in time. `seen`
    is what the frame pass found: bit 0 a flagged row, bit 1 an SLL row with IP.
    """
    if not seen & 3:
        return np.ones(len(frames), dtype=bool)
    dup = (frames["flags"] & FrameFlag.DUPLICATE_SLL) != 0
    if seen & 1:
        kept: Mask = ~dup
        return kept
    sll = np.isin(frames["linktype"], (LinkType.LINUX_SLL, LinkType.LINUX_SLL2))
    sll &= frames["ip_version"] > 0
    rows = np.flatnonzero(sll)
    f = take(frames, rows)
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


def _checksum_rows(
    frames: npt.NDArray[np.void], checksums: npt.NDArray[np.void]
) -> tuple[I64, I64]:
    """(frame row of every checksum row, the listed checksum rows)."""
    n = len(frames)
    rows = np.empty(len(checksums), dtype=np.int64)
    listed = np.empty(len(checksums), dtype=np.int64)
    tally = np.zeros(len(Status), dtype=np.int64)  # the statuses: not needed here
    m = checksum_pass(checksums, n, NOTES_READ, rows, listed, tally)
    if not (n and int(frames["frame"][0]) == 1 and int(frames["frame"][-1]) == n):
        # Frame numbers with gaps: look each up (numbers are strictly increasing).
        numbers = np.ascontiguousarray(checksums["frame"]).astype(np.int64)
        rows = np.searchsorted(frames["frame"], numbers).astype(np.int64)
        rows = np.clip(rows, 0, max(n - 1, 0))
    return rows, listed[:m].copy()


def partial_rows(checksums: npt.NDArray[np.void], listed: I64, rows: I64) -> I64:
    """Frame rows (distinct, ascending) carrying an L4 checksum that holds only the
    pseudo-header sum (`rows`: the frame row of every checksum row)."""
    sub = take(checksums, listed)
    bad = sub["status"] == Status.BAD
    partial = bad & np.isin(sub["cause"], (Cause.OFFLOAD_PARTIAL, Cause.OFFLOAD_PARTIAL_NOLEN))
    partial &= np.isin(sub["proto"], (Proto.TCP, Proto.UDP, Proto.UDPLITE, Proto.ICMPV6))
    found: I64 = distinct(rows[listed[partial]])
    return found


def build_context(tables: CaptureTables, options: CheckOptions) -> CheckContext:
    """Everything the checks share for one capture."""
    prepared = tables.prepared
    if prepared is not None:
        # A capture `check` streamed: its inputs were kept while it was read.
        made: CheckContext = prepared.context(tables, options)
        return made
    frames = tables.frames
    checksums = tables.checksums
    n = len(frames)
    rows, listed = _checksum_rows(frames, checksums)
    direction = np.empty(n, dtype=np.uint8)
    header = np.empty(n, dtype=np.int64)
    lists = np.empty((5, n), dtype=np.int64)
    counts = np.empty(5, dtype=np.int64)
    seen = frame_pass(frames, LINK_TABLE, options.mtu, direction, header, lists, counts)
    return CheckContext(
        tables=tables,
        options=options,
        frames=frames,
        checksums=checksums,
        cksum_frame_row=rows,
        direction=direction,
        link_header=header,
        counted=_counted(frames, options.duplicate_window_ns, seen),
        partial_frame=mask_of(n, partial_rows(checksums, listed, rows)),
        listed=listed,
        **row_lists(lists[k, : counts[k]].copy() for k in range(5)),
    )
