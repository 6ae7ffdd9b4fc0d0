"""One pass over each table for what every run needs, compiled with numba.

The frame pass resolves each frame's direction and link-header size and lists the few rows
most checks look at (ICMP, trailers, non-zero padding, snaplen cuts, frames over the MTU);
the checksum pass maps checksum rows to frame rows and lists the rows that are not plainly
good. Reading each wide record once costs less than a column pass per question; `plainscan`
holds the same passes in numpy for small tables and `passes` chooses. Always holds: the
kernels allocate nothing (the caller passes every output) and list rows in table order; only
`passes` imports this module.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from wiredoctor.capture.record import Direction, LinkType
from wiredoctor.checksum.verdict import Status
from wiredoctor.tables import FrameFlag

# Plain ints: the kernels read them as compile-time constants.
# Linux SLL packet types (packet(7)): 0 to us, 1 broadcast, 2 multicast, 3 to someone
# else, 4 sent by us.
_SLL_OUTGOING = 4
_INBOUND, _OUTBOUND = int(Direction.INBOUND), int(Direction.OUTBOUND)
_ETHERNET, _TEXT = int(LinkType.ETHERNET), int(LinkType.TEXT_FIELDS)
_SLL, _SLL2 = int(LinkType.LINUX_SLL), int(LinkType.LINUX_SLL2)
_SNAPLEN, _TEXT_FIELDS = int(FrameFlag.SNAPLEN), int(FrameFlag.TEXT_FIELDS)
_DUPLICATE_SLL = int(FrameFlag.DUPLICATE_SLL)
_BAD, _UNVERIFIED, _ILLEGAL = int(Status.BAD), int(Status.UNVERIFIED), int(Status.ILLEGAL)


@numba.njit(cache=True, nogil=True)
def frame_pass(
    frames: Any, link_table: Any, mtu: int, direction: Any, header: Any, lists: Any,
    counts: Any,
) -> int:  # fmt: skip
    """Fill `direction` and `header` per frame and the row lists `lists[k, :counts[k]]`:
    0 ICMP, 1 trailer, 2 non-zero padding, 3 snaplen cut (not text), 4 over MTU + link header.
    Returns bit 0 when a row is flagged DUPLICATE_SLL, bit 1 when an SLL row carries IP, bit
    2 when the rows are not all of one link type."""
    seen = 0
    for k in range(5):
        counts[k] = 0
    first_lt = frames[0].linktype if len(frames) else 0
    for i in range(len(frames)):
        r = frames[i]
        d = r.direction
        pkttype = r.sll_pkttype
        if pkttype == _SLL_OUTGOING:
            d = _OUTBOUND
        elif pkttype >= 0 and pkttype < _SLL_OUTGOING:
            d = _INBOUND
        direction[i] = d
        lt = r.linktype
        if lt != first_lt:
            seen |= 4
        h = link_table[lt]
        if lt == _ETHERNET:
            h += 4 * r.vlan_depth
        elif lt == _TEXT:
            h = r.wirelen - r.ip_len if r.wirelen >= r.ip_len else 0
        header[i] = h
        if r.icmp_type >= 0:
            lists[0, counts[0]] = i
            counts[0] += 1
        if r.trailer_len > 0:
            lists[1, counts[1]] = i
            counts[1] += 1
        if r.trailer_nonzero_pad != 0:
            lists[2, counts[2]] = i
            counts[2] += 1
        flags = r.flags
        if flags & _SNAPLEN and not flags & _TEXT_FIELDS:
            lists[3, counts[3]] = i
            counts[3] += 1
        if r.wirelen > h + mtu:
            lists[4, counts[4]] = i
            counts[4] += 1
        if flags & _DUPLICATE_SLL:
            seen |= 1
        if lt in (_SLL, _SLL2) and r.ip_version > 0:
            seen |= 2
    return seen


@numba.njit(cache=True, nogil=True)
def checksum_pass(
    checksums: Any, n_frames: int, note_mask: int, row_of: Any, listed: Any, tally: Any
) -> int:
    """Frame row of each checksum row (`frame - 1` kept within the `n_frames` rows: right
    when frames are numbered 1..n without gaps) and the rows that are bad, unverified,
    illegal or carry a `note_mask` bit; adds each row to `tally[status]` (one slot per
    `Status` value). Returns how many were listed."""
    last = max(n_frames - 1, 0)
    m = 0
    for i in range(len(checksums)):
        c = checksums[i]
        row_of[i] = min(max(np.int64(c.frame) - 1, 0), last)
        s = c.status
        if s < len(tally):
            tally[s] += 1
        if s in (_BAD, _UNVERIFIED, _ILLEGAL) or c.note & note_mask:
            listed[m] = i
            m += 1
    return m
