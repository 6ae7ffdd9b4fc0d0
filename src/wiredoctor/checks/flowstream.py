"""The TCP flow view built batch by batch, compiled with numba.

The structured frame table is wide (one record of ~200 bytes per frame); reading a dozen of
its columns one by one walks all of it a dozen times, so the pass reads each record once. It
takes one batch of frame rows at a time, as the verifier finishes them, keeping per-flow
state between batches, so `check` never needs the whole frame table (a whole table is one
batch: `tcpflows.tcp_view`); `plainscan` holds the numpy passes small tables take. Flow keys
are the same splitmix64 as `context.mix`. Flows get first-seen ids here;
`tcpflows.StreamedView.finish` renumbers them in key order and turns the raw acknowledgement
numbers into the peer's relative ones, which needs every flow's first sequence number and so
waits for the last batch.

Plain data segments (sequence space, no SYN/FIN/RST, a window, no text marks, ending past
everything the flow sent before) are read by no check unless one is resent later, as the
original of its retransmission, or for the largest segment the peer acknowledged. So they
are not written: each is appended to a ring of the last `tcpflows.ORIGINALS` of them (one
sequential write: nothing is looked up per segment), and at the end of a batch that kept
retransmissions, the ring is read once for their (flow, sequence number): the segments
found there are written then, as the originals of those retransmissions; and each goes
into its flow's staircase of (end, IP length) points, from which `through` is answered at
the end. Memory is bounded by the flows, not by the capture's length; a
retransmission whose original fell out of the ring is reported without it.

Always holds: the kernels allocate nothing (the caller passes every output, with room for
two rows per frame of the batch); rows are in capture order but for originals, written at
the end of their retransmission's batch (`StreamedView.finish` sorts); only `passes`
imports this module.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

# NONE: below any relative sequence number, "no value" in the view's int64 columns; one
# definition for both speeds.
from wiredoctor.checks.plainscan import NONE
from wiredoctor.checks.tcpflows import FLOW_STATE, STAIR, STEPS
from wiredoctor.fast.prefetch import prefetch
from wiredoctor.tables import FrameFlag

_SEED = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)
_FIN, _SYN, _RST, _ACK = 1, 2, 4, 16
# What a text capture printed of a segment (it may mark a pure ACK a dup ACK or a
# retransmission, and its windows are not on the wire): the checks read all three.
_TEXT = int(FrameFlag.TEXT_FIELDS | FrameFlag.TEXT_RETRANSMISSION | FrameFlag.TEXT_DUP_ACK)
_RESENT = int(FrameFlag.TEXT_RETRANSMISSION)
_SYN_FIN_RST = 1 | 2 | 4
_HALF = 1 << 31
_LOW32 = 0xFFFF_FFFF
AHEAD = 16
"""Frames between the lookahead that asks for a frame's slot and the frame's own turn; its
flow's key and state row are asked for half way (once its slot has arrived)."""


@numba.njit(cache=True, nogil=True)
def _step(h: Any, value: Any) -> Any:
    """One column of `context.mix`: xor the value in, then the splitmix64 finaliser."""
    h = h ^ value
    h = (h ^ (h >> _S30)) * _M1
    h = (h ^ (h >> _S27)) * _M2
    return h ^ (h >> _S31)


@numba.njit(cache=True, nogil=True)
def wrap32(diff: Any) -> Any:
    # RFC 1982 serial arithmetic, as `context.wrap32`.
    return ((diff + _HALF) & _LOW32) - _HALF


@numba.njit(cache=True, nogil=True)
def flow_keys(r: Any) -> tuple[Any, Any]:
    """(key, reverse key) of a frame record's directional TCP flow: the address halves and
    port of each side hashed, then the two sides in order (`context.mix`'s splitmix64)."""
    a = _step(_step(_step(_SEED, np.uint64(r.src_hi)), np.uint64(r.src_lo)), np.uint64(r.sport))
    b = _step(_step(_step(_SEED, np.uint64(r.dst_hi)), np.uint64(r.dst_lo)), np.uint64(r.dport))
    return _step(_step(_SEED, a), b), _step(_step(_SEED, b), a)


@numba.njit(cache=True, nogil=True)
def slot_of(slots: Any, keys: Any, key: Any, mask: Any) -> Any:
    """The slot of the open-addressing table `slots` (flow ids, -1 for empty; `mask` its
    size less one) that holds `key`'s flow, or the empty slot where it would go."""
    s = key & mask
    while True:
        fl = slots[s]
        if fl < 0 or keys[fl] == key:
            return s
        s = (s + np.uint64(1)) & mask


@numba.njit(cache=True, nogil=True)
def _in_view(r: Any, counted: Any, i: Any) -> Any:
    """Whether frame i (record `r`) is a counted TCP segment: a row of the view."""
    return r.ip_proto == 6 and r.sport >= 0 and counted[i]


@numba.njit(cache=True, nogil=True)
def _look_ahead(
    frames: Any, counted: Any, i: Any, ahead: Any, slots: Any, keys: Any, state: Any, mask: Any
) -> None:
    """Ask for what frame i + AHEAD / 2 and frame i + AHEAD will read: the latter's keys are
    hashed into `ahead` and its slot asked for; the former's slot, asked for AHEAD / 2 frames
    ago, gives its flow, whose key and state row are asked for. A prefetch only: whatever
    the table holds by a frame's turn is what the frame reads."""
    last = ahead.shape[0] - 1
    a = i + AHEAD
    if a < len(frames):
        r = frames[a]
        if _in_view(r, counted, a):
            key, rkey = flow_keys(r)
            e = a & last
            ahead[e, 0] = a
            ahead[e, 1] = np.int64(key)
            ahead[e, 2] = np.int64(rkey)
            prefetch(slots, key & mask)
            prefetch(slots, rkey & mask)
    b = i + AHEAD // 2
    e = b & last
    if b < len(frames) and ahead[e, 0] == b:
        fl = slots[np.uint64(ahead[e, 1]) & mask]
        if fl >= 0:
            prefetch(keys, fl)
            # The row's 16 words span at most three cache lines: one of these is in each.
            prefetch(state, (fl, 0))
            prefetch(state, (fl, 8))
            prefetch(state, (fl, 15))


@numba.njit(cache=True, nogil=True)
def segment(r: Any) -> tuple[Any, Any, Any]:
    """(TCP flag bits, payload bytes, sequence space occupied: payload + SYN + FIN) of a
    frame record."""
    bits = np.int64(r.tcp_flags)
    data: Any = max(np.int64(r.l4_payload_len), 0)
    return bits, data, data + (1 if bits & _SYN else 0) + (1 if bits & _FIN else 0)


@numba.njit(cache=True, nogil=True)
def _climb(state: Any, fl: Any, end: Any, length: Any) -> bool:
    """Add the point (end, IP length) to flow `fl`'s staircase: the points not dominated by
    another of no greater end and no smaller length, which answer "the largest segment
    ending at or below P" for any P. False when it needs a fifth point (the caller keeps
    the row instead, where the same question is asked of the rows)."""
    free = -1
    for k in range(STEPS):
        have = state[fl, STAIR + STEPS + k]
        if have < 0:
            free = k
            continue
        if state[fl, STAIR + k] <= end and have >= length:
            return True
        if state[fl, STAIR + k] >= end and have <= length:
            state[fl, STAIR + STEPS + k] = -1
            free = k
    if free < 0:
        return False
    state[fl, STAIR + free] = end
    state[fl, STAIR + STEPS + free] = length
    return True


@numba.njit(cache=True, nogil=True)
def _log(ring: Any, cursor: Any, key: Any, words: tuple[Any, ...]) -> None:
    """Append a plain segment to the ring: 8 words, `key` (the flow's first-seen id and the
    relative sequence number), then `words`: tag, raw ack, highest end before, timestamp,
    frame | flags << 32 | window << 48, payload | IP length << 32, frame flags. The tag is
    the row + 1 while the row is not in the view, -(row + 1) once written. `cursor[0]`
    counts the segments ever appended."""
    e = cursor[0] & (ring.shape[0] - 1)
    ring[e, 0] = key
    for k in range(7):
        ring[e, k + 1] = words[k]
    cursor[0] += 1


@numba.njit(cache=True, nogil=True)
def _sift(a: Any, root: Any, end: Any) -> None:
    while 2 * root + 1 < end:
        child = 2 * root + 1
        if child + 1 < end and a[child] < a[child + 1]:
            child += 1
        if a[root] >= a[child]:
            return
        a[root], a[child] = a[child], a[root]
        root = child


@numba.njit(cache=True, nogil=True)
def _sort(a: Any, n: Any) -> None:
    """Heapsort of `a[:n]` in place (numba's sort allocates, and the kernels may not)."""
    for root in range(n // 2 - 1, -1, -1):
        _sift(a, root, n)
    for end in range(n - 1, 0, -1):
        a[0], a[end] = a[end], a[0]
        _sift(a, 0, end)


@numba.njit(cache=True, nogil=True)
def _holds(a: Any, n: Any, key: Any) -> Any:
    """Whether sorted `a[:n]` holds `key`."""
    lo, hi = 0, n
    while lo < hi:
        mid = (lo + hi) // 2
        if a[mid] < key:
            lo = mid + 1
        else:
            hi = mid
    return lo < n and a[lo] == key


@numba.njit(cache=True, nogil=True)
def _sequence(key: Any) -> Any:
    """The relative sequence number of an originals key (signed 32 bits)."""
    low = key & _LOW32
    return low - (1 << 32) if low >= _HALF else low


@numba.njit(cache=True, nogil=True)
def _original_key(fl: Any, rel_seq: Any) -> Any:
    return (np.int64(fl) << 32) | (np.int64(rel_seq) & _LOW32)


@numba.njit(cache=True, nogil=True)
def tcp_stream_pass(
    frames: Any, counted: Any, first_row: int, slots: Any, keys: Any, rkeys: Any,
    flow_row: Any, state: Any, ring: Any, cursor: Any, wanted: Any, ahead: Any, n_flows: int,
    rows: Any, flow: Any, seq: Any, ack: Any, prev_max_end: Any, ts_ns: Any, frame: Any,
    flags: Any, seg_len: Any, payload: Any, win: Any, ip_len: Any, frame_flags: Any,
    repeats: Any, pending_flow: Any, pending_ack: Any,
) -> tuple[int, int, int, int]:  # fmt: skip
    """Append the counted TCP rows of one batch that a check reads to the view's per-row
    outputs (sliced by the caller at the rows already held), flows numbered as first seen
    across batches.

    Per flow (`n_flows` held so far): its key, reverse key, the capture row of its first
    segment, and its `state` row (16 words, two cache lines): highest end so far, last raw
    ack, last window, the flow of the opposite direction (-1 while not seen), the highest
    ack relative to that flow's first sequence number, the flows held when the opposite one
    was last looked for, the first sequence number (the others NONE before the first
    segment), a spare word, then the staircase (`_climb`). `slots` (a power of two, -1
    filled) is the open-addressing table over `keys`; `ring` (a power of two rows of 8
    words) and `cursor` (one word, zero at first) hold the last plain data segments
    (`_log`); `wanted` has room for a key per frame of the batch; `ahead` (a power of two
    above AHEAD rows of 3 words, any content) holds the keys `_look_ahead` hashed (a
    capture of many flows outgrows the caches with these tables, and each frame reads three
    of their lines). `ack` gets the raw acknowledgement number (NONE without ACK).

    A segment that occupies no sequence space, is no RST, repeats no ACK, advertises a
    window and carries no text marks (a text capture may mark it a dup ACK or a
    retransmission itself) is read by no check but for its acknowledgement, which counts in
    the flow's highest ack: such a row is not written (most pure ACKs of a bulk transfer).
    Its ack is counted here when the opposite direction was seen already, else it is
    appended to `pending_flow`/`pending_ack` (the flow and the raw ack, 8 bytes instead of a
    row) for `tcp_stream_finish`. A plain data segment (module docstring) is treated alike,
    and goes into the staircase and the ring instead of the rows; once the batch is done,
    the segments of the ring with the flow and sequence number of a retransmission written
    (sequence space ending at or below the flow's highest end before, no RST, or marked by
    the text), not written yet, are written after the batch's rows. Returns (frames done,
    rows written, flows held, acks pending): it stops before a frame that would open a flow
    beyond the per-flow arrays or fill `slots` over half; the caller grows them and calls
    again from there.
    """
    if state.shape[1] != FLOW_STATE or state.shape[0] < len(keys):
        raise ValueError("tcp_stream_pass: state must have a row of FLOW_STATE per flow")
    size = ring.shape[0]
    if ring.shape[1] != 8 or size & (size - 1) or len(wanted) < len(frames):
        raise ValueError("tcp_stream_pass: ring must be 2^k rows of 8, wanted one per frame")
    last = ahead.shape[0] - 1
    if ahead.shape[1] != 3 or last < AHEAD or ahead.shape[0] & last:
        raise ValueError("tcp_stream_pass: ahead must be 2^k > AHEAD rows of 3")
    for e in range(last + 1):
        ahead[e, 0] = -1
    mask = np.uint64(len(slots) - 1)
    room = min(len(keys), len(slots) // 2)
    j = 0
    p = 0
    w = 0
    done = len(frames)
    for i in range(len(frames)):
        _look_ahead(frames, counted, i, ahead, slots, keys, state, mask)
        r = frames[i]
        if not _in_view(r, counted, i):
            continue
        e = i & last
        if ahead[e, 0] == i:
            key, rkey = np.uint64(ahead[e, 1]), np.uint64(ahead[e, 2])
        else:
            key, rkey = flow_keys(r)
        s = slot_of(slots, keys, key, mask)
        fl = slots[s]
        if fl < 0:
            if n_flows + 1 > room:
                done = i
                break
            fl = n_flows
            n_flows += 1
            slots[s] = fl
            keys[fl] = key
            rkeys[fl] = rkey
            flow_row[fl] = first_row + i
            state[fl, 0] = NONE
            state[fl, 1] = NONE
            state[fl, 2] = NONE
            state[fl, 3] = -1
            state[fl, 4] = NONE
            state[fl, 5] = -1
            state[fl, 6] = r.tcp_seq
            for k in range(STEPS):
                state[fl, STAIR + STEPS + k] = -1
        bits, data, length = segment(r)
        rel_seq = wrap32(np.int64(r.tcp_seq) - state[fl, 6])
        window = np.int64(r.tcp_win)
        ack_raw: Any = NONE
        if bits & _ACK:
            ack_raw = np.int64(r.tcp_ack)
        peer = state[fl, 3]
        if peer < 0 and state[fl, 5] != n_flows:
            # Looked up again only when flows were opened since the last time.
            peer = slots[slot_of(slots, keys, rkeys[fl], mask)]
            state[fl, 3] = peer
            state[fl, 5] = n_flows
        if peer >= 0 and ack_raw != NONE:
            rel_ack = wrap32(ack_raw - state[peer, 6])
            if rel_ack > state[fl, 4]:
                state[fl, 4] = rel_ack
        # Wireshark's tcp.analysis.duplicate_ack, as plainscan.tcp_fill_pass.
        pure = data == 0 and bits & _ACK and not bits & _SYN_FIN_RST
        repeated = pure and ack_raw == state[fl, 1] and window == state[fl, 2]
        before = state[fl, 0]
        if rel_seq + length > before:
            state[fl, 0] = rel_seq + length
        state[fl, 1] = ack_raw
        state[fl, 2] = window
        quiet = window != 0 and not r.flags & _TEXT and not bits & _SYN_FIN_RST
        # A plain data segment goes to its staircase (unless that is full) and the ring.
        plain = quiet and length > 0 and rel_seq + length > before
        plain = plain and _climb(state, fl, rel_seq + length, np.int64(r.ip_len))
        if plain:
            words = (
                np.int64(first_row + i + 1), np.int64(ack_raw), np.int64(before),
                np.int64(r.ts_ns), np.int64(r.frame) | (bits << 32) | (window << 48),
                np.int64(data) | (np.int64(r.ip_len) << 32), np.int64(r.flags),
            )  # fmt: skip
            _log(ring, cursor, _original_key(fl, rel_seq), words)
        if plain or (quiet and length == 0 and not repeated):
            if peer < 0 and ack_raw != NONE:
                pending_flow[p] = fl
                pending_ack[p] = ack_raw
                p += 1
            continue
        if length > 0 and not bits & _RST and (rel_seq + length <= before or r.flags & _RESENT):
            # A retransmission (or what the text marked one): its original is looked for.
            wanted[w] = _original_key(fl, rel_seq)
            w += 1
        rows[j] = first_row + i
        flow[j] = fl
        seq[j] = rel_seq
        ack[j] = ack_raw
        prev_max_end[j] = before
        ts_ns[j] = r.ts_ns
        frame[j] = r.frame
        flags[j] = bits
        seg_len[j] = length
        payload[j] = data
        win[j] = window
        ip_len[j] = r.ip_len
        frame_flags[j] = r.flags
        repeats[j] = repeated
        j += 1
    if w == 0:
        return done, j, n_flows, p
    # The originals of the rows kept: their copies in the ring not written yet.
    _sort(wanted, w)
    logged = cursor[0]
    for pos in range(max(logged - size, 0), logged):
        e = pos & (size - 1)
        tag = ring[e, 1]
        if tag <= 0 or not _holds(wanted, w, ring[e, 0]):
            continue
        # The same columns as a row written above, unpacked from the ring's words.
        packed, sizes = ring[e, 5], ring[e, 6]
        rows[j] = tag - 1
        flow[j] = ring[e, 0] >> 32
        seq[j] = _sequence(ring[e, 0])
        ack[j] = ring[e, 2]
        prev_max_end[j] = ring[e, 3]
        ts_ns[j] = ring[e, 4]
        frame[j] = packed & _LOW32
        flags[j] = (packed >> 32) & 0xFFFF
        seg_len[j] = sizes & _LOW32
        payload[j] = sizes & _LOW32
        win[j] = (packed >> 48) & 0xFFFF
        ip_len[j] = (sizes >> 32) & _LOW32
        frame_flags[j] = ring[e, 7]
        repeats[j] = False
        j += 1
        ring[e, 1] = -tag
    return done, j, n_flows, p


@numba.njit(cache=True, nogil=True)
def tcp_pending_fold(
    pending_flow: Any, pending_ack: Any, count: int, first: Any, low: Any, high: Any
) -> int:
    """Fold the first `count` pending acks to at most two per flow, in place: the lowest and
    the highest in serial order from the flow's first pending ack. Returns how many remain.

    `first` (-1 filled), `low` and `high` are per first-seen flow. The highest ack relative
    to the peer's first sequence number, which `tcp_stream_finish` takes, is one of these
    two unless the acks of the flow straddle the point 2^31 away from that number (a flow
    that acknowledged over 2 GiB before its peer's direction was first seen)."""
    for k in range(count):
        fl = pending_flow[k]
        raw = np.int64(pending_ack[k])
        if first[fl] < 0:
            first[fl] = raw
            low[fl] = 0
            high[fl] = 0
            continue
        d = wrap32(raw - first[fl])
        if d < low[fl]:
            low[fl] = d
        if d > high[fl]:
            high[fl] = d
    p = 0
    for fl in range(len(first)):
        if first[fl] < 0:
            continue
        pending_flow[p] = fl
        pending_ack[p] = (first[fl] + low[fl]) & _LOW32
        p += 1
        if high[fl] != low[fl]:
            pending_flow[p] = fl
            pending_ack[p] = (first[fl] + high[fl]) & _LOW32
            p += 1
    return p


@numba.njit(cache=True, nogil=True)
def tcp_stream_slots(slots: Any, keys: Any, n_flows: int) -> None:
    """Fill a fresh `slots` table (a power of two, -1 filled) with the first `n_flows` keys."""
    mask = np.uint64(len(slots) - 1)
    for fl in range(n_flows):
        slots[slot_of(slots, keys, keys[fl], mask)] = fl


@numba.njit(cache=True, nogil=True)
def _relative_ack(raw: Any, fl: Any, seq0: Any, reverse: Any, max_ack: Any) -> Any:
    """A raw ack of dense flow `fl` made relative to its peer's first sequence number (NONE
    without a captured peer), counted in the flow's highest ack."""
    peer = reverse[fl]
    value = wrap32(raw - seq0[peer]) if peer >= 0 else NONE
    if value > max_ack[fl]:
        max_ack[fl] = value
    return value


@numba.njit(cache=True, nogil=True)
def tcp_stream_finish(
    flow: Any, ack: Any, rank: Any, seq0: Any, reverse: Any, max_ack: Any, pending_flow: Any,
    pending_ack: Any,
) -> None:  # fmt: skip
    """In place: first-seen flow ids to dense ids (`rank`), raw acks to acks relative to the
    peer flow's first sequence number (NONE without a captured peer); `max_ack` (per dense
    flow, holding what the stream pass counted) takes each row's relative ack too, and each
    pending ack's. `seq0` and `reverse` are per dense flow."""
    for j in range(len(flow)):
        fl = rank[flow[j]]
        flow[j] = fl
        if ack[j] != NONE:
            ack[j] = _relative_ack(ack[j], fl, seq0, reverse, max_ack)
    for k in range(len(pending_flow)):
        _relative_ack(np.int64(pending_ack[k]), rank[pending_flow[k]], seq0, reverse, max_ack)
