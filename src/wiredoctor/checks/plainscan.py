"""The table passes in plain numpy, for captures too small to be worth loading numba.

The frame and checksum passes take the arguments of their numba twins (`rowscan.frame_pass`,
`rowscan.checksum_pass`) and fill the same outputs with the same values; the two TCP passes
build the view `flowstream.tcp_stream_pass` builds, with every counted segment where the
compiled pass leaves out those no check reads. The tests compare the two on the whole corpus
and on generated tables. Whole-column numpy costs more per row than the kernels on a large table,
but nothing to load: `passes` picks this module for small tables.

Always holds: no numba import; outputs are written only where the kernel writes them (the
tail beyond a returned count is left alone); rows stay in table order; per-flow state starts
from what the caller put in `state`, as in the kernel.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from wiredoctor.capture.record import Direction, LinkType
from wiredoctor.checks.flowkeys import mix, wrap32
from wiredoctor.checksum.verdict import Status
from wiredoctor.tables import FrameFlag

I64 = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]

# Linux SLL packet types (packet(7)): 0 to us, 1 broadcast, 2 multicast, 3 to someone
# else, 4 sent by us.
_SLL_OUTGOING = 4
_FIN, _SYN, _ACK = 1, 2, 16
_SYN_FIN_RST = 1 | 2 | 4
NONE = -(1 << 40)
"""Below any relative sequence number: "no value" in the flow view's int64 columns."""


def _col(table: npt.NDArray[np.void], name: str) -> I64:
    """One column as int64 (values of every column here fit)."""
    out: I64 = table[name].astype(np.int64)
    return out


def frame_pass(
    frames: npt.NDArray[np.void], link_table: I64, mtu: int, direction: npt.NDArray[np.uint8],
    header: I64, lists: I64, counts: I64,
) -> int:  # fmt: skip
    """Fill `direction` and `header` per frame and the row lists `lists[k, :counts[k]]`:
    0 ICMP, 1 trailer, 2 non-zero padding, 3 snaplen cut (not text), 4 over MTU + link header.
    Returns bit 0 when a row is flagged DUPLICATE_SLL, bit 1 when an SLL row carries IP, bit
    2 when the rows are not all of one link type."""
    pkttype = _col(frames, "sll_pkttype")
    direction[:] = frames["direction"]
    direction[(pkttype >= 0) & (pkttype < _SLL_OUTGOING)] = Direction.INBOUND
    direction[pkttype == _SLL_OUTGOING] = Direction.OUTBOUND
    linktype = _col(frames, "linktype")
    size = link_table[linktype]
    eth = linktype == LinkType.ETHERNET
    size[eth] += 4 * _col(frames, "vlan_depth")[eth]
    wirelen = _col(frames, "wirelen")
    text = linktype == LinkType.TEXT_FIELDS
    ip_len = _col(frames, "ip_len")[text]
    size[text] = np.where(wirelen[text] >= ip_len, wirelen[text] - ip_len, 0)
    header[:] = size
    flags = _col(frames, "flags")
    wanted = (
        _col(frames, "icmp_type") >= 0,
        _col(frames, "trailer_len") > 0,
        _col(frames, "trailer_nonzero_pad") != 0,
        ((flags & FrameFlag.SNAPLEN) != 0) & ((flags & FrameFlag.TEXT_FIELDS) == 0),
        wirelen > size + mtu,
    )
    for k, mask in enumerate(wanted):
        rows = np.flatnonzero(mask)
        counts[k] = len(rows)
        lists[k, : len(rows)] = rows
    seen = 1 if bool(((flags & FrameFlag.DUPLICATE_SLL) != 0).any()) else 0
    sll = np.isin(linktype, (LinkType.LINUX_SLL, LinkType.LINUX_SLL2))
    if bool((sll & (_col(frames, "ip_version") > 0)).any()):
        seen |= 2
    if len(linktype) and bool((linktype != linktype[0]).any()):
        seen |= 4
    return seen


def checksum_pass(
    checksums: npt.NDArray[np.void], n_frames: int, note_mask: int, row_of: I64, listed: I64,
    tally: I64,
) -> int:  # fmt: skip
    """Frame row of each checksum row (`frame - 1` kept within the `n_frames` rows) and the
    rows that are bad, unverified, illegal or carry a `note_mask` bit; adds each row to
    `tally[status]`. Returns how many were listed."""
    row_of[:] = np.clip(_col(checksums, "frame") - 1, 0, max(n_frames - 1, 0))
    status = checksums["status"]
    tally += np.bincount(status, minlength=len(tally))[: len(tally)]
    wanted = np.isin(status, (Status.BAD, Status.UNVERIFIED, Status.ILLEGAL))
    wanted |= (_col(checksums, "note") & note_mask) != 0
    rows = np.flatnonzero(wanted)
    listed[: len(rows)] = rows
    return len(rows)


def tcp_flows_pass(
    frames: npt.NDArray[np.void], counted: Mask, rows: I64, flow: I64,
    keys: npt.NDArray[np.uint64], rkeys: npt.NDArray[np.uint64], seq0: I64,
) -> tuple[int, int]:  # fmt: skip
    """Counted TCP rows in capture order with first-seen flow ids; per flow its key, reverse
    key and first sequence number. Returns (rows found, flows found); needs no slot table
    (the kernel's open addressing is replaced by one sort)."""
    found = np.flatnonzero((frames["ip_proto"] == 6) & (frames["sport"] >= 0) & counted)
    sub = frames[["src_hi", "src_lo", "sport", "dst_hi", "dst_lo", "dport", "tcp_seq"]][found]
    side_a = mix(sub["src_hi"], sub["src_lo"], sub["sport"])
    side_b = mix(sub["dst_hi"], sub["dst_lo"], sub["dport"])
    key = mix(side_a, side_b)
    uniq, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    # Number flows in the order their first row appears, as the kernel's table does.
    by_first = np.argsort(first, kind="stable")
    ident = np.empty(len(uniq), dtype=np.int64)
    ident[by_first] = np.arange(len(uniq), dtype=np.int64)
    n_rows, n_flows = len(found), len(uniq)
    rows[:n_rows] = found
    flow[:n_rows] = ident[inverse.reshape(-1)]
    opener = first[by_first]
    keys[:n_flows] = uniq[by_first]
    rkeys[:n_flows] = mix(side_b[opener], side_a[opener])
    seq0[:n_flows] = sub["tcp_seq"][opener]
    return n_rows, n_flows


def tcp_fill_pass(
    frames: npt.NDArray[np.void], rows: I64, flow: I64, rank: I64, seq0: I64, reverse: I64,
    wide: I64, frame: npt.NDArray[Any], flags: npt.NDArray[Any], seg_len: npt.NDArray[Any],
    payload: npt.NDArray[Any], win: npt.NDArray[Any], ip_len: npt.NDArray[Any],
    frame_flags: npt.NDArray[Any], repeats: Mask, state: I64,
) -> None:  # fmt: skip
    """Per-row view arrays in capture order, and per dense flow the state after the last row
    (highest end, highest ack, last raw ack, last window), as `flowstream.tcp_stream_pass`."""
    sub = frames[
        ["frame", "flags", "tcp_flags", "tcp_seq", "tcp_ack", "tcp_win", "l4_payload_len",
         "ip_len"]
    ][rows]  # fmt: skip
    fl = rank[flow]
    bits = _col(sub, "tcp_flags")
    data = np.maximum(_col(sub, "l4_payload_len"), 0)
    length = data + ((bits & _SYN) != 0) + ((bits & _FIN) != 0)
    seq = wrap32(_col(sub, "tcp_seq") - seq0[fl])
    window = _col(sub, "tcp_win")
    has_ack = (bits & _ACK) != 0
    ack_raw = np.where(has_ack, _col(sub, "tcp_ack"), NONE)
    peer = reverse[fl]
    ack = np.where(has_ack & (peer >= 0), wrap32(ack_raw - seq0[np.maximum(peer, 0)]), NONE)
    runs = _FlowRuns(fl, state.shape[1])
    wide[0] = fl
    wide[1] = seq
    wide[2] = ack
    wide[3], state[0] = runs.max_before(seq + length, state[0])
    _, state[1] = runs.max_before(ack, state[1])
    ack_before, state[2] = runs.last_before(ack_raw, state[2])
    win_before, state[3] = runs.last_before(window, state[3])
    frame[:] = sub["frame"]
    flags[:] = bits
    seg_len[:] = length
    payload[:] = data
    win[:] = window
    ip_len[:] = sub["ip_len"]
    frame_flags[:] = sub["flags"]
    # Wireshark's tcp.analysis.duplicate_ack: a pure ACK (no payload, no SYN/FIN/RST) with the
    # raw ack and window of the previous segment of its direction (see flowstream).
    pure = (data == 0) & has_ack & ((bits & _SYN_FIN_RST) == 0)
    repeats[:] = pure & (ack_raw == ack_before) & (window == win_before)


class _FlowRuns:
    """Running values per flow over rows in capture order, each flow led by a start value.

    The start values sit before the rows in one stable sort by flow, so the element before a
    row in that order is its flow's previous row, or the flow's start value.
    """

    def __init__(self, flow: I64, n_flows: int) -> None:
        self.n_flows = n_flows
        groups = np.concatenate([np.arange(n_flows, dtype=np.int64), flow])
        self.order = np.argsort(groups, kind="stable")
        self.groups = groups[self.order]
        place = np.empty(len(groups), dtype=np.int64)
        place[self.order] = np.arange(len(groups), dtype=np.int64)
        self.before = place[n_flows:] - 1
        """Sorted position of the element before each row."""
        self.last = np.searchsorted(self.groups, np.arange(n_flows), side="right") - 1
        """Sorted position of each flow's last element."""

    def _sorted(self, values: I64, start: I64) -> I64:
        out: I64 = np.concatenate([start, values])[self.order]
        return out

    def last_before(self, values: I64, start: I64) -> tuple[I64, I64]:
        """(per row: its flow's previous value or start value, per flow: the last value)."""
        ordered = self._sorted(values, start)
        return ordered[self.before], ordered[self.last]

    def max_before(self, values: I64, start: I64) -> tuple[I64, I64]:
        """(per row: the largest of its flow's start value and earlier values, per flow: the
        largest of all)."""
        ordered = self._sorted(values, start)
        # Segmented running maximum: values become dense ranks, and each flow's ranks are
        # lifted above every earlier flow's, so one running maximum never crosses a flow.
        uniq, rank = np.unique(ordered, return_inverse=True)
        lifted = self.groups * len(uniq) + rank.reshape(-1)
        running = uniq[np.maximum.accumulate(lifted) - self.groups * len(uniq)]
        return running[self.before], running[self.last]
