"""The two passes over the frame table that build the TCP flow view, compiled with numba.

The structured frame table is wide (one record of ~200 bytes per frame); reading a dozen of
its columns one by one walks all of it a dozen times. These kernels read each record once.
Pass one picks the counted TCP rows, hashes their directional flow keys (the same splitmix64
as `context.mix`) and numbers flows in first-seen order; pass two writes every per-row array
of the view in capture order and runs the per-flow state (highest end sent so far, highest
ack, the previous segment's ack and window). `plainscan` holds the same passes in numpy for
small tables and `passes` chooses. Always holds: the kernels allocate nothing (the caller
passes every output); rows stay in capture order; only `passes` imports this module.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

# NONE: below any relative sequence number, "no value" in the view's int64 columns; one
# definition for both speeds.
from wiredoctor.checks.plainscan import NONE

_SEED = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)
_FIN, _SYN, _ACK = 1, 2, 16
_SYN_FIN_RST = 1 | 2 | 4
_HALF = 1 << 31
_LOW32 = 0xFFFF_FFFF


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
def segment(r: Any) -> tuple[Any, Any, Any]:
    """(TCP flag bits, payload bytes, sequence space occupied: payload + SYN + FIN) of a
    frame record."""
    bits = np.int64(r.tcp_flags)
    data: Any = max(np.int64(r.l4_payload_len), 0)
    return bits, data, data + (1 if bits & _SYN else 0) + (1 if bits & _FIN else 0)


@numba.njit(cache=True, nogil=True)
def tcp_flows_pass(
    frames: Any, counted: Any, rows: Any, flow: Any, keys: Any, rkeys: Any, seq0: Any,
    slots: Any,
) -> tuple[int, int]:  # fmt: skip
    """Counted TCP rows in capture order with first-seen flow ids; per flow its key, reverse
    key and first sequence number. `slots` (a power of two, -1 filled) is the
    open-addressing table. Returns (rows found, flows found), flows -1 when `slots` is too
    small to stay at most half full."""
    mask = np.uint64(len(slots) - 1)
    n_rows = 0
    n_flows = 0
    for i in range(len(frames)):
        r = frames[i]
        if r.ip_proto != 6 or r.sport < 0 or not counted[i]:
            continue
        key, rkey = flow_keys(r)
        s = slot_of(slots, keys, key, mask)
        fl = slots[s]
        if fl < 0:
            if 2 * (n_flows + 1) > len(slots):
                return n_rows, -1  # over half full: the caller retries with more slots
            fl = n_flows
            n_flows += 1
            slots[s] = fl
            keys[fl] = key
            rkeys[fl] = rkey
            seq0[fl] = r.tcp_seq
        rows[n_rows] = i
        flow[n_rows] = fl
        n_rows += 1
    return n_rows, n_flows


@numba.njit(cache=True, nogil=True)
def tcp_fill_pass(
    frames: Any, rows: Any, flow: Any, rank: Any, seq0: Any, reverse: Any, wide: Any,
    frame: Any, flags: Any, seg_len: Any, payload: Any, win: Any, ip_len: Any,
    frame_flags: Any, repeats: Any, state: Any,
) -> None:  # fmt: skip
    """Per-row view arrays in capture order. `flow` holds first-seen ids and `rank` the
    dense id of each; `seq0`/`reverse` are per dense flow. `wide` rows: dense flow, seq, ack,
    prev_max_end; the other outputs are one column each. `repeats` marks pure ACKs repeating
    the previous segment's raw ack and window (dup ACK). `state` rows per dense flow: highest
    end so far, highest ack, last raw ack, last window; all start at NONE."""
    for j in range(len(rows)):
        fl = rank[flow[j]]
        r = frames[rows[j]]
        bits, data, length = segment(r)
        seq = wrap32(np.int64(r.tcp_seq) - seq0[fl])
        window = np.int64(r.tcp_win)
        ack: Any = NONE
        ack_raw: Any = NONE
        if bits & _ACK:
            ack_raw = np.int64(r.tcp_ack)
            peer = reverse[fl]
            if peer >= 0:
                ack = wrap32(ack_raw - seq0[peer])
        wide[0, j] = fl
        wide[1, j] = seq
        wide[2, j] = ack
        # The highest end the flow had covered before this segment, then with this one.
        wide[3, j] = state[0, fl]
        end = seq + length
        if end > state[0, fl]:
            state[0, fl] = end
        if ack > state[1, fl]:
            state[1, fl] = ack
        frame[j] = r.frame
        flags[j] = bits
        seg_len[j] = length
        payload[j] = data
        win[j] = window
        ip_len[j] = r.ip_len
        frame_flags[j] = r.flags
        # Wireshark's tcp.analysis.duplicate_ack: a pure ACK (no payload, no SYN/FIN/RST)
        # with the raw ack and window of the previous segment of its direction, which had an
        # ACK too; a row without ACK leaves NONE, which no raw ack equals.
        pure = data == 0 and bits & _ACK and not bits & _SYN_FIN_RST
        repeats[j] = pure and ack_raw == state[2, fl] and window == state[3, fl]
        state[2, fl] = ack_raw
        state[3, fl] = window
