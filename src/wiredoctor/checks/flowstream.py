"""The TCP flow view built batch by batch while a capture is read, compiled with numba.

`flowscan` builds the view from a whole frame table in two passes; these kernels build the
same view from one batch of frame rows at a time, as the verifier finishes them, keeping
per-flow state between batches, so `check` never needs the whole frame table. Flows get
first-seen ids here; `streamed.StreamedView.finish` renumbers them in key order and turns
the raw acknowledgement numbers into the peer's relative ones, which needs every flow's
first sequence number and so waits for the last batch. Always holds: the kernels allocate
nothing (the caller passes every output, with room for one row per frame of the batch);
rows stay in capture order; only `passes` imports this module.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from wiredoctor.checks.flowscan import flow_keys, segment, slot_of, wrap32
from wiredoctor.checks.plainscan import NONE

_RST, _ACK = 4, 16
_SYN_FIN_RST = 1 | 2 | 4


@numba.njit(cache=True, nogil=True)
def tcp_stream_pass(
    frames: Any, counted: Any, first_row: int, slots: Any, keys: Any, rkeys: Any,
    flow_row: Any, state: Any, n_flows: int, rows: Any, flow: Any, seq: Any, ack: Any,
    prev_max_end: Any, ts_ns: Any, frame: Any, flags: Any, seg_len: Any, payload: Any,
    win: Any, ip_len: Any, frame_flags: Any, repeats: Any, pending_flow: Any,
    pending_ack: Any,
) -> tuple[int, int, int, int]:  # fmt: skip
    """Append the counted TCP rows of one batch that a check reads to the view's per-row
    outputs (sliced by the caller at the rows already held), flows numbered as first seen
    across batches.

    Per flow (`n_flows` held so far): its key, reverse key, the capture row of its first
    segment, and its `state` row (8 words, one cache line: what a row reads together):
    highest end so far, last raw ack, last window, the flow of the opposite direction (-1
    while not seen), the highest ack relative to that flow's first sequence number, the
    flows held when the opposite one was last looked for, the first sequence number (the
    others NONE before the first segment). `slots` (a power of two, -1 filled) is the
    open-addressing table over `keys`. `ack` gets the raw acknowledgement number (NONE
    without ACK).

    A segment that occupies no sequence space, is no RST, repeats no ACK and advertises a
    window is read by no check but for its acknowledgement, which counts in the flow's
    highest ack: such a row is not written (most pure ACKs of a bulk transfer). Its ack is
    counted here when the opposite direction was seen already, else it is appended to
    `pending_flow`/`pending_ack` (the flow and the raw ack, 8 bytes instead of a row) for
    `tcp_stream_finish`. Returns (frames done, rows written, flows held, acks pending): it
    stops before a frame that would open a flow beyond the per-flow arrays or fill `slots`
    over half; the caller grows them and calls again from there.
    """
    if state.shape[1] != 8 or state.shape[0] < len(keys):
        raise ValueError("tcp_stream_pass: state must have a row of 8 per flow")
    mask = np.uint64(len(slots) - 1)
    room = min(len(keys), len(slots) // 2)
    j = 0
    p = 0
    for i in range(len(frames)):
        r = frames[i]
        if r.ip_proto != 6 or r.sport < 0 or not counted[i]:
            continue
        key, rkey = flow_keys(r)
        s = slot_of(slots, keys, key, mask)
        fl = slots[s]
        if fl < 0:
            if n_flows + 1 > room:
                return i, j, n_flows, p
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
        # Wireshark's tcp.analysis.duplicate_ack, as flowscan.tcp_fill_pass.
        pure = data == 0 and bits & _ACK and not bits & _SYN_FIN_RST
        repeated = pure and ack_raw == state[fl, 1] and window == state[fl, 2]
        before = state[fl, 0]
        if rel_seq + length > before:
            state[fl, 0] = rel_seq + length
        state[fl, 1] = ack_raw
        state[fl, 2] = window
        if length == 0 and not bits & _RST and not repeated and window != 0:
            if peer < 0 and ack_raw != NONE:
                pending_flow[p] = fl
                pending_ack[p] = ack_raw
                p += 1
            continue
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
    return len(frames), j, n_flows, p


@numba.njit(cache=True, nogil=True)
def tcp_stream_slots(slots: Any, keys: Any, n_flows: int) -> None:
    """Fill a fresh `slots` table (a power of two, -1 filled) with the first `n_flows` keys."""
    mask = np.uint64(len(slots) - 1)
    for fl in range(n_flows):
        slots[slot_of(slots, keys, keys[fl], mask)] = fl


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
        value = ack[j]
        if value != NONE:
            peer = reverse[fl]
            value = wrap32(value - seq0[peer]) if peer >= 0 else NONE
            ack[j] = value
            if value > max_ack[fl]:
                max_ack[fl] = value
    for k in range(len(pending_flow)):
        fl = rank[pending_flow[k]]
        peer = reverse[fl]
        if peer >= 0:
            value = wrap32(np.int64(pending_ack[k]) - seq0[peer])
            if value > max_ack[fl]:
                max_ack[fl] = value
