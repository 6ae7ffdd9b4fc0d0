"""What changed in each pair: field masks from the table columns, checksum updates, bytes.

The columns of both frame tables are compared for all pairs at once (one uint64 mask per
pair, see fields.Field). Frame bytes are read only for pairs the columns cannot fully
explain — payload or header-length differences, a bad checksum at B — and, up to
`BYTE_BUDGET` pairs, for everyone (IPv6 flow label, options, urgent pointer live only in
the bytes); bytediff.py names what the bytes show.

`checksum_update` (CONTRACT.md) per checksum: `unchanged` when neither it nor anything it
covers changed; else from the downstream copy's verdict in the checksum table (B's, or A's
for a pair that travelled B→A): good → `correct`, a pseudo-header-only sum (offload at the
capture host) → `correct` with the proto flagged in `Changes.partial`, the same value as
upstream → `not-updated`, expected ± 1 in ones' complement → `off-by-one`, else `wrong`.

Always holds: masks only carry bits for fields present on both sides (an Ethernet field is
not "changed" because one side is Linux cooked capture); values come from the same rows
the mask was computed from.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from wiredoctor.checksum.verdict import Cause, Proto, Status
from wiredoctor.diff.bytediff import compare_frames, frame_bytes
from wiredoctor.diff.fields import COVERED, Field, bit
from wiredoctor.diff.result import CHECKSUM_KEYS, Changes, FieldChange, Pairing, Update
from wiredoctor.distinct import distinct
from wiredoctor.tables import CaptureTables, FrameTable

if TYPE_CHECKING:
    pass

BYTE_BUDGET = 20_000
"""Up to this many pairs, every pair is also compared byte by byte."""
_SAMPLE_PER_SIGNATURE = 100
"""Beyond the budget: this many pairs of each distinct column-change mask are."""

_PROTO_OF_KEY: dict[str, Proto] = {
    "ip": Proto.IPV4,
    "tcp": Proto.TCP,
    "udp": Proto.UDP,
    "udplite": Proto.UDPLITE,
    "icmp": Proto.ICMP,
    "icmpv6": Proto.ICMPV6,
}
_ETHERNET = 1


def innermost_checksum_rows(tables: CaptureTables, proto: Proto) -> npt.NDArray[np.int64]:
    """Per frame row: the checksum-table row of the innermost `proto` checksum, or -1."""
    out = np.full(len(tables.frames), -1, dtype=np.int64)
    ck = tables.checksums
    rows = np.flatnonzero(ck["proto"] == int(proto))
    if rows.size == 0 or len(tables.frames) == 0:
        return out
    numbers = tables.frames["frame"]
    frame_rows = np.minimum(np.searchsorted(numbers, ck["frame"][rows]), numbers.size - 1)
    known = numbers[frame_rows] == ck["frame"][rows]
    rows, frame_rows = rows[known], frame_rows[known]
    if not ck["depth"][rows].any() and (frame_rows.size < 2 or (np.diff(frame_rows) > 0).all()):
        out[frame_rows] = rows  # one occurrence per frame: nothing to choose
        return out
    order = np.lexsort((ck["depth"][rows], frame_rows))
    rows, frame_rows = rows[order], frame_rows[order]
    last = np.r_[frame_rows[1:] != frame_rows[:-1], True]
    out[frame_rows[last]] = rows[last]
    return out


def _take(
    column: npt.NDArray[Any], rows: npt.NDArray[np.int64], absent: int = -1
) -> npt.NDArray[np.int64]:
    out = np.full(rows.size, absent, dtype=np.int64)
    ok = rows >= 0
    out[ok] = column[rows[ok]]
    return out


_CHUNK = 1 << 16
"""Pairs compared per step: whole rows are gathered once per chunk (cache-friendly)."""


def _column_mask(
    a: CaptureTables, b: CaptureTables, ra: npt.NDArray[np.int64], rb: npt.NDArray[np.int64]
) -> npt.NDArray[np.uint64]:
    mask = np.zeros(ra.size, dtype=np.uint64)
    for start in range(0, ra.size, _CHUNK):
        end = min(start + _CHUNK, ra.size)
        mask[start:end] = _chunk_mask(a.frames[ra[start:end]], b.frames[rb[start:end]])
    return mask


def _chunk_mask(fa: FrameTable, fb: FrameTable) -> npt.NDArray[np.uint64]:
    """Change bits of aligned frame rows `fa[i]` ↔ `fb[i]`."""
    mask = np.zeros(len(fa), dtype=np.uint64)

    def col(name: str) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
        return fa[name], fb[name]

    def mark(field: Field, cond: npt.NDArray[np.bool_]) -> None:
        nonlocal mask
        mask |= cond.astype(np.uint64) << np.uint64(int(field))

    def differs(name: str) -> npt.NDArray[np.bool_]:
        x, y = col(name)
        return np.asarray(x != y)

    lt_a, lt_b = col("linktype")
    eth = (lt_a == _ETHERNET) & (lt_b == _ETHERNET)
    va, vb = col("ip_version")
    same_v = va == vb
    v4 = same_v & (va == 4)
    pa, pb = col("ip_proto")
    same_p = same_v & (pa == pb)
    tcp = same_p & (pa == 6)
    icmp = same_p & ((pa == 1) | (pa == 58))
    ports = same_p & ((pa == 6) | (pa == 17) | (pa == 136))

    mark(Field.ETH_SRC, eth & differs("eth_src"))
    mark(Field.ETH_DST, eth & differs("eth_dst"))
    mark(Field.VLAN_ID, eth & differs("vlan_id"))
    mark(Field.IP_VERSION, ~same_v)
    mark(Field.IP_SRC, same_v & (differs("src_hi") | differs("src_lo")))
    mark(Field.IP_DST, same_v & (differs("dst_hi") | differs("dst_lo")))
    mark(Field.IP_TTL, same_v & differs("ttl"))
    mark(Field.IP_ID, v4 & differs("ip_id"))
    mark(Field.IP_DSFIELD, same_v & differs("dsfield"))
    fl_a, fl_b = col("ip_flags")
    mark(Field.IP_DF, v4 & ((fl_a & 1) != (fl_b & 1)))
    mark(Field.IP_LEN, same_v & differs("ip_len"))
    mark(Field.SPORT, ports & differs("sport"))
    mark(Field.DPORT, ports & differs("dport"))
    for field, name in (
        (Field.TCP_SEQ, "tcp_seq"),
        (Field.TCP_ACK, "tcp_ack"),
        (Field.TCP_FLAGS, "tcp_flags"),
        (Field.TCP_WIN, "tcp_win"),
        (Field.TCP_MSS, "tcp_mss"),
        (Field.TCP_WSCALE, "tcp_wscale"),
        (Field.TCP_SACK_PERM, "tcp_sack_perm"),
    ):
        mark(field, tcp & differs(name))
    ts = tcp & (differs("tcp_has_ts") | (col("tcp_has_ts")[0] > 0))
    mark(Field.TCP_TSVAL, ts & (differs("tcp_has_ts") | differs("tcp_tsval")))
    mark(Field.TCP_TSECR, ts & (differs("tcp_has_ts") | differs("tcp_tsecr")))
    mark(Field.ICMP_ID, icmp & differs("icmp_id"))
    mark(Field.ICMP_SEQ, icmp & differs("icmp_seq"))
    mark(Field.PAYLOAD, same_p & (differs("l4_payload_len") | differs("payload_hash")))
    mark(Field.TRAILER, differs("trailer_len"))
    mark(Field.TUNNEL, differs("tunnel_depth"))
    return mask


def _checksum_columns(
    tables: CaptureTables, rows: npt.NDArray[np.int64]
) -> dict[str, tuple[npt.NDArray[np.int64], ...]]:
    """Per checksum key: (value, expected, status, cause) of each row's innermost checksum.

    Keys of protocols the capture has no checksum of are left out; status 255 marks rows
    without that checksum.
    """
    out: dict[str, tuple[npt.NDArray[np.int64], ...]] = {}
    ck = tables.checksums
    present = set(distinct(ck["proto"]).tolist())
    for key in CHECKSUM_KEYS:
        if int(_PROTO_OF_KEY[key]) not in present:
            continue  # no such checksum in this capture: the key stays out
        where = innermost_checksum_rows(tables, _PROTO_OF_KEY[key])[rows]
        out[key] = (
            _take(ck["value"], where),
            _take(ck["expected"], where),
            _take(ck["status"], where, absent=255),
            _take(ck["cause"], where, absent=0),
        )
    return out


def _fold(x: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    return np.where(x > 0xFFFF, (x & 0xFFFF) + (x >> 16), x)


def _near(value: npt.NDArray[np.int64], expected: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    """value = expected ± 1, in two's or ones' complement (as checksum.verdict.classify_cause)."""
    out: npt.NDArray[np.bool_] = (expected >= 0) & (
        (value == (expected + 1) & 0xFFFF)
        | (value == (expected - 1) & 0xFFFF)
        | (value == _fold(expected + 1))
        | (value == _fold(expected + 0xFFFE))
    )
    return out


def _downstream(
    direction: npt.NDArray[np.int8],
    ca: dict[str, tuple[npt.NDArray[np.int64], ...]],
    cb: dict[str, tuple[npt.NDArray[np.int64], ...]],
) -> tuple[
    dict[str, tuple[npt.NDArray[np.int64], ...]], dict[str, tuple[npt.NDArray[np.int64], ...]]
]:
    """(upstream, downstream) checksum columns: B is downstream unless the pair went B→A."""
    back = direction < 0
    if not back.any():
        return ca, cb
    up: dict[str, tuple[npt.NDArray[np.int64], ...]] = {}
    down: dict[str, tuple[npt.NDArray[np.int64], ...]] = {}
    for key in ca.keys() & cb.keys():
        up[key] = tuple(np.where(back, y, x) for x, y in zip(ca[key], cb[key], strict=True))
        down[key] = tuple(np.where(back, x, y) for x, y in zip(ca[key], cb[key], strict=True))
    return up, down


def _classify(
    mask: npt.NDArray[np.uint64],
    ca: dict[str, tuple[npt.NDArray[np.int64], ...]],
    cb: dict[str, tuple[npt.NDArray[np.int64], ...]],
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
    """Update codes judged on the downstream copy `cb` against the upstream copy `ca`."""
    n = mask.size
    updates = np.zeros((n, len(CHECKSUM_KEYS)), dtype=np.uint8)
    partial_bits = np.zeros(n, dtype=np.uint8)
    for k, key in enumerate(CHECKSUM_KEYS):
        if key not in ca or key not in cb:
            continue
        va, _, sa, _ = ca[key]
        vb, eb, sb, cause_b = cb[key]
        present = (sa != 255) & (sb != 255)
        covered = (mask & np.uint64(COVERED[key])) != 0
        same = va == vb
        upd = np.zeros(n, dtype=np.uint8)
        unchanged = present & ~covered & same
        rest = present & ~unchanged
        good = rest & (sb == Status.GOOD)
        zero = rest & (sb == Status.NOT_PRESENT)  # UDP over IPv4 without checksum: legal
        bad = rest & (sb == Status.BAD)
        partial = bad & (
            (cause_b == Cause.OFFLOAD_PARTIAL) | (cause_b == Cause.OFFLOAD_PARTIAL_NOLEN)
        )
        wrong = bad & ~partial
        off = wrong & ~same & ((cause_b == Cause.OFF_BY_ONE) | _near(vb, eb))
        upd[unchanged] = Update.UNCHANGED
        upd[good | partial | (zero & ~same)] = Update.CORRECT
        upd[zero & same] = Update.UNCHANGED
        upd[wrong & same] = Update.NOT_UPDATED
        upd[wrong & ~same] = Update.WRONG
        upd[off] = Update.OFF_BY_ONE
        updates[:, k] = upd
        partial_bits |= partial.astype(np.uint8) << np.uint8(k)
    return updates, partial_bits


def _byte_candidates(
    a: CaptureTables,
    b: CaptureTables,
    pairing: Pairing,
    mask: npt.NDArray[np.uint64],
    cb: dict[str, tuple[npt.NDArray[np.int64], ...]],
) -> npt.NDArray[np.int64]:
    n = mask.size
    if a.read_frame is None or b.read_frame is None or n == 0:
        return np.zeros(0, dtype=np.int64)
    if n <= BYTE_BUDGET:
        return np.arange(n, dtype=np.int64)
    ra, rb = pairing.a_rows, pairing.b_rows
    need = (mask & np.uint64(bit(Field.PAYLOAD))) != 0
    for name in ("ip_hdr_len", "tcp_hdr_len"):
        need |= a.frames[name][ra] != b.frames[name][rb]
    for columns in cb.values():
        need |= columns[2] == Status.BAD
    # A sample of every kind of change: the bytes may add a field to the whole group.
    order = np.argsort(mask, kind="stable")
    sorted_mask = mask[order]
    starts = np.flatnonzero(np.r_[True, sorted_mask[1:] != sorted_mask[:-1]])
    sample = np.concatenate([order[s : s + _SAMPLE_PER_SIGNATURE] for s in starts.tolist()])
    need[sample] = True
    return np.flatnonzero(need).astype(np.int64)


def _values_table(
    columns: dict[str, tuple[npt.NDArray[np.int64], ...]], n: int
) -> npt.NDArray[np.int32]:
    out = np.full((n, len(CHECKSUM_KEYS)), -1, dtype=np.int32)
    for k, key in enumerate(CHECKSUM_KEYS):
        if key in columns:
            out[:, k] = columns[key][0]
    return out


def compute_changes(
    a: CaptureTables, b: CaptureTables, pairing: Pairing, direction: npt.NDArray[np.int8]
) -> Changes:
    """Masks, checksum updates and byte-level extras for every pair of `pairing`.

    Checksum updates are judged on the copy downstream of the change: B's, or A's for pairs
    that travelled B→A (`direction` −1).
    """
    ra, rb = pairing.a_rows, pairing.b_rows
    mask = _column_mask(a, b, ra, rb)
    ca, cb = _checksum_columns(a, ra), _checksum_columns(b, rb)
    l4_changed = np.zeros(ra.size, dtype=np.bool_)
    for key in ca.keys() & cb.keys():
        value_differs = (ca[key][2] != 255) & (cb[key][2] != 255) & (ca[key][0] != cb[key][0])
        if key == "ip":
            mask |= value_differs.astype(np.uint64) << np.uint64(int(Field.IP_CHECKSUM))
        else:
            l4_changed |= value_differs
    mask |= l4_changed.astype(np.uint64) << np.uint64(int(Field.L4_CHECKSUM))

    extra: dict[int, tuple[FieldChange, ...]] = {}
    up, down = _downstream(direction, ca, cb)
    candidates = _byte_candidates(a, b, pairing, mask, down)
    if candidates.size and a.read_frame is not None and b.read_frame is not None:
        for i in candidates.tolist():
            row_a, row_b = a.frames[ra[i]], b.frames[rb[i]]
            data_a = frame_bytes(a, int(row_a["frame"]))
            data_b = frame_bytes(b, int(row_b["frame"]))
            bits, found = compare_frames(data_a, row_a, data_b, row_b)
            if bits:
                mask[i] |= np.uint64(bits)
            if found:
                extra[i] = tuple(found)
    updates, partial = _classify(mask, up, down)
    return Changes(
        mask=mask,
        updates=updates,
        partial=partial,
        checksums_a=_values_table(ca, ra.size),
        checksums_b=_values_table(cb, ra.size),
        extra=extra,
        bytes_compared=int(candidates.size),
    )
