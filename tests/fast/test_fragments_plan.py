"""The compiled reassembly plan (`fast.fragments`) against the reference path: clean trains in
and out of order, odd lengths, damaged and odd upper layers, over IPv4 and IPv6, judged in
compiled code; overlaps, duplicates, cut pieces and trains split across batches left to the
reference state; a frame verified in full that brings a fragment of a key the plan took, and
a reference state so full that the plan's datagrams could push one out, both redone by the
reference. Every case equals `decode.verify.verify_records` column by column, and the
counters say which path reassembled what.
"""

from __future__ import annotations

import itertools
import random
import struct
from collections.abc import Sequence

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fast import frames as fb
from fast.compare import differences, kernel_only
from wiredoctor.capture.batch import RecordBatch
from wiredoctor.capture.record import Record
from wiredoctor.checksum.verdict import Cause, Note, Proto, Status
from wiredoctor.decode.reassembly import MAX_PENDING
from wiredoctor.decode.verify import verify_records
from wiredoctor.fast.fallback import ReferencePath
from wiredoctor.fast.fragments import key_hashes
from wiredoctor.fast.hashes import key_hash_of
from wiredoctor.fast.kernel import REDO_FRAGMENT
from wiredoctor.fast.verify import _number_rows
from wiredoctor.tables import ChecksumTable, FrameFlag, FrameTable, concat, ipv4_mapped

NOP_OPTIONS = b"\x01\x01\x01\x01"  # a header the kernel hands back whole when fragmented

Tables = tuple[FrameTable, ChecksumTable]


def _run(batches: Sequence[RecordBatch]) -> tuple[Tables, Tables, ReferencePath]:
    """(fast tables, reference tables, the fast path's `ReferencePath`) for `batches`, the
    fast ones built batch by batch as `fast.verify.verify_batches` does."""
    path = ReferencePath(0)
    frame_parts, row_parts = [], []
    for batch in batches:
        frames, rows, marks = kernel_only(batch)
        redo = np.flatnonzero(marks)
        if redo.shape[0]:
            frames, rows = path.replace(batch, frames, rows, redo, marks)
        frame_parts.append(frames)
        row_parts.append(rows.copy())  # the path may reuse its buffer on the next call
    frames = concat(frame_parts)
    rows = concat(row_parts)
    _number_rows(frames, rows)
    ref = verify_records((r for b in batches for r in b.records()), 0)
    return (frames, rows), ref, path


def _batches(recs: list[Record], cuts: Sequence[int] = ()) -> list[RecordBatch]:
    bounds = [0, *sorted({c for c in cuts if 0 < c < len(recs)}), len(recs)]
    return [fb.batch(recs[lo:hi], lo + 1) for lo, hi in itertools.pairwise(bounds)]


def _same(recs: list[Record], cuts: Sequence[int] = ()) -> tuple[Tables, ReferencePath]:
    fast, ref, path = _run(_batches(recs, cuts))
    found = differences(fast, ref)
    assert not found, "\n".join(found)
    return fast, path


def _v4_train(body: bytes, proto: int, ident: int, cuts: Sequence[int]) -> list[bytes]:
    """`body` as IPv4 fragments cut at the 8-byte units `cuts`, in Ethernet frames."""
    bounds = [0, *sorted({c * 8 for c in cuts if 0 < c * 8 < len(body)}), len(body)]
    return [
        fb.ethernet(
            fb.ipv4(body[lo:hi], proto=proto, ident=ident, flags=int(hi < len(body)), frag=lo // 8)
        )
        for lo, hi in itertools.pairwise(bounds)
    ]


def _v6_train(body: bytes, proto: int, ident: int, cuts: Sequence[int]) -> list[bytes]:
    """`body` as IPv6 fragments (RFC 8200 §4.5) cut at `cuts`, in Ethernet frames."""
    bounds = [0, *sorted({c * 8 for c in cuts if 0 < c * 8 < len(body)}), len(body)]
    out = []
    for lo, hi in itertools.pairwise(bounds):
        header = struct.pack("!BBHI", proto, 0, lo | int(hi < len(body)), ident)
        out.append(fb.ethernet(fb.ipv6(header + body[lo:hi], next_header=44), 0x86DD))
    return out


def _records(frames: Sequence[bytes], caplens: dict[int, int] | None = None) -> list[Record]:
    caplens = caplens or {}
    return [fb.record(f, i + 1, caplen=caplens.get(i)) for i, f in enumerate(frames)]


def _upper_rows(cks: ChecksumTable) -> ChecksumTable:
    return cks[cks["proto"] != Proto.IPV4]


def test_python_and_compiled_key_hashes_agree() -> None:
    v4 = _v4_train(fb.udp(fb.V4_A, fb.V4_B, bytes(40)), 17, 0xBEEF, [3])
    v6 = _v6_train(fb.udp(fb.V6_A, fb.V6_B, bytes(40)), 17, 0xDEADBEEF, [3])
    batch = fb.batch(_records(v4 + v6))
    frames, _, marks = kernel_only(batch)
    assert marks.tolist() == [REDO_FRAGMENT] * 4
    out = np.empty(4, dtype=np.uint64)
    key_hashes(frames, np.arange(4, dtype=np.int64), out)
    keys = [(4, fb.V4_A, fb.V4_B, 0xBEEF, 17)] * 2 + [(6, fb.V6_A, fb.V6_B, 0xDEADBEEF, 0)] * 2
    assert [int(h) for h in out] == [key_hash_of(k) for k in keys]
    assert len(set(out.tolist())) == 2
    # Another identification, address or IPv4 protocol is another key.
    assert key_hash_of((4, fb.V4_A, fb.V4_B, 0xBEEE, 17)) != key_hash_of(keys[0])
    assert key_hash_of((4, fb.V4_B, fb.V4_A, 0xBEEF, 17)) != key_hash_of(keys[0])
    assert key_hash_of((4, fb.V4_A, fb.V4_B, 0xBEEF, 6)) != key_hash_of(keys[0])
    assert ipv4_mapped(fb.V4_A)[1] & 0xFFFF_FFFF == int.from_bytes(fb.V4_A, "big")


def test_clean_trains_in_any_order_are_judged_in_compiled_code() -> None:
    rng = random.Random(7)
    trains = []
    for ident, (v6, kind) in enumerate(itertools.product([False, True], ["udp", "tcp", "icmp"])):
        src, dst = (fb.V6_A, fb.V6_B) if v6 else (fb.V4_A, fb.V4_B)
        payload = rng.randbytes(1201 + ident)  # odd and even totals
        if kind == "udp":
            proto, body = 17, fb.udp(src, dst, payload)
        elif kind == "tcp":
            proto, body = 6, fb.tcp(src, dst, payload, flags=0x18)
        elif v6:
            proto, body = 58, fb.icmpv6(src, dst, 128, 0x00070001, payload)
        else:
            proto, body = 1, fb.icmp_echo(7, 1, payload)
        train = (_v6_train if v6 else _v4_train)(body, proto, 100 + ident, [37, 90, 120])
        trains.append(train)
    orders = [[0, 1, 2, 3], [3, 2, 1, 0], [2, 0, 3, 1], [1, 3, 0, 2], [1, 2, 3, 0], [3, 0, 1, 2]]
    frames = [train[k] for train, order in zip(trains, orders, strict=True) for k in order]
    (table, cks), path = _same(_records(frames))
    assert path.fragments_planned == 24 and path.fragments_added == 0
    completing = [4 * t + 4 for t in range(6)]  # every train completes on its last arrival
    assert (np.flatnonzero(table["flags"] & FrameFlag.REASSEMBLED) + 1).tolist() == completing
    upper = _upper_rows(cks)
    done = upper[upper["note"] & Note.REASSEMBLED != 0]
    assert done["frame"].tolist() == completing
    assert done["status"].tolist() == [Status.GOOD] * 6
    protos = [Proto.UDP, Proto.TCP, Proto.ICMP, Proto.UDP, Proto.TCP, Proto.ICMPV6]
    assert done["proto"].tolist() == protos
    # Trains 1 and 4 end with their first fragment: the field is in that frame, and that
    # frame's unverified row gave way to the verdict.
    assert done["field_off"].tolist() == [-1, 14 + 20 + 16, -1, -1, 14 + 48 + 16, -1]
    assert int(done["l4_len"][0]) == 8 + 1201
    assert int(table["n_cksum"][completing[1] - 1]) == 2


def test_damaged_and_odd_upper_layers_match_the_reference() -> None:
    rng = random.Random(11)
    payload = rng.randbytes(301)  # odd: the last byte is padded with zero (RFC 1071 §4.1)
    good = fb.udp(fb.V4_A, fb.V4_B, payload)
    value = int.from_bytes(good[6:8], "big")
    off_by_one = good[:6] + ((value + 1) & 0xFFFF).to_bytes(2, "big") + good[8:]
    flipped = good[:-1] + bytes([good[-1] ^ 0x40])
    no_checksum = fb.udp(fb.V4_A, fb.V4_B, payload, checksum=0)
    shorter = good[:4] + (8 + 200).to_bytes(2, "big") + good[6:]  # covers 208 bytes only
    longer = good[:4] + (8 + 400).to_bytes(2, "big") + good[6:]  # beyond the datagram
    lite = fb.udplite(fb.V4_A, fb.V4_B, payload, coverage=24)
    v6_zero = fb.udp(fb.V6_A, fb.V6_B, payload, checksum=0)
    igmp = fb.igmp() + rng.randbytes(40)  # its checksum covers the first 8 bytes only
    frames: list[bytes] = []
    for ident, (proto, body) in enumerate(
        [
            (17, off_by_one),
            (17, flipped),
            (17, no_checksum),
            (17, shorter),
            (17, longer),
            (136, lite),
        ]
    ):
        frames += _v4_train(body, proto, ident, [2, 20])[::-1]
    frames += _v6_train(v6_zero, 17, 77, [10])
    frames += _v4_train(igmp, 2, 78, [3])
    frames += _v4_train(rng.randbytes(100), 50, 79, [4])  # ESP: no checksum to judge
    (table, cks), path = _same(_records(frames))
    assert path.fragments_added == 0 and path.fragments_planned == len(frames)
    done = _upper_rows(cks)
    done = done[done["note"] & Note.REASSEMBLED != 0]
    assert [(int(r["status"]), int(r["cause"])) for r in done] == [
        (Status.BAD, Cause.OFF_BY_ONE),
        (Status.BAD, Cause.CORRUPT),
        (Status.NOT_PRESENT, Cause.NONE),
        (Status.BAD, Cause.CORRUPT),
        (Status.UNVERIFIED, Cause.NONE),
        (Status.GOOD, Cause.NONE),
        (Status.ILLEGAL, Cause.NONE),
        (Status.BAD, Cause.CORRUPT),
    ]
    assert done["l4_len"].tolist()[3:6] == [208, 8 + 301, 24]
    esp = np.flatnonzero(table["ip_proto"] == 50)
    assert [bool(table["flags"][r] & FrameFlag.REASSEMBLED) for r in esp] == [False, True]
    assert int(table["n_cksum"][esp[1]]) == 1  # its IPv4 header row only


def test_unclean_keys_go_to_the_reference_whole() -> None:
    body = fb.udp(fb.V4_A, fb.V4_B, bytes(range(256)) * 2)
    clean = _v4_train(body, 17, 1, [20, 40])
    duplicated = _v4_train(body, 17, 2, [20, 40])
    overlapping = _v4_train(body, 17, 3, [20, 40])
    overlap = fb.ethernet(fb.ipv4(bytes(64), proto=17, ident=3, flags=1, frag=16))
    cut = _v4_train(body, 17, 4, [20])
    frames = [
        clean[0],
        duplicated[0],
        duplicated[0],
        overlapping[0],
        overlap,
        cut[0],
        clean[1],
        duplicated[1],
        overlapping[1],
        overlapping[2],
        cut[1],
        duplicated[2],
        clean[2],
    ]
    (_, cks), path = _same(_records(frames, {10: 80}))
    assert path.fragments_planned == 3  # the clean train only
    assert path.fragments_added == len(frames) - 3
    done = _upper_rows(cks)
    done = done[done["note"] & Note.REASSEMBLED != 0]
    assert done["frame"].tolist() == [10, 11, 12, 13]
    assert done["status"].tolist() == [
        Status.BAD,  # the overlap's zeros lie under the second piece: the first copy wins
        Status.UNVERIFIED,  # a piece cut by the capture
        Status.GOOD,
        Status.GOOD,
    ]
    assert int(done["note"][1]) & Note.SNAPLEN


def test_trains_split_across_batches_finish_in_the_reference_state() -> None:
    trains = [
        _v4_train(fb.udp(fb.V4_A, fb.V4_B, bytes([i]) * 500), 17, i, [21, 42]) for i in range(6)
    ]
    frames = [f for train in trains for f in train]
    recs = _records(frames)
    # Batches cut inside trains 1, 3 (twice) and 5; trains 0, 2 and 4 stay whole.
    (table, _), path = _same(recs, [4, 10, 11, 17])
    assert path.fragments_added == 3 * 3 and path.fragments_planned == 3 * 3
    assert (np.flatnonzero(table["flags"] & FrameFlag.REASSEMBLED) + 1).tolist() == [
        3 * t + 3 for t in range(6)
    ]


def test_a_whole_frame_fragment_of_a_planned_key_redoes_the_batch() -> None:
    body = fb.udp(fb.V4_A, fb.V4_B, bytes(range(200)) * 2)
    train = _v4_train(body, 17, 9, [25])
    other = _v4_train(body, 17, 10, [25])
    repeated = _v4_train(body, 17, 11, [25])  # a duplicate: the reference's from the start
    # The same key as `train`, but with options: the kernel hands it back whole, and in
    # the reference it joins the datagram between the train's two pieces (a duplicate).
    intruder = fb.ethernet(
        fb.ipv4(body[200:], proto=17, ident=9, flags=0, frag=25, options=NOP_OPTIONS)
    )
    frames = [
        train[0],
        repeated[0],
        repeated[0],
        other[0],
        repeated[1],
        intruder,
        other[1],
        train[1],
    ]
    (table, cks), path = _same(_records(frames))
    assert path.fragments_planned == 0 and path.fragments_added == 7
    assert path.frames_redone == 1
    done = cks[cks["note"] & Note.REASSEMBLED != 0]
    assert done["frame"].tolist() == [5, 6, 7]  # the intruder completed train 9 first
    assert (np.flatnonzero(table["flags"] & FrameFlag.REASSEMBLED) + 1).tolist() == [5, 6, 7]
    # After the train's datagram is done the same key is free again: planned, no redo.
    (_, _), path = _same(_records([train[0], train[1], intruder]))
    assert path.fragments_planned == 2 and path.frames_redone == 1


def test_a_full_reference_state_keeps_the_plan_out() -> None:
    # The reference holds MAX_PENDING - 1 unfinished datagrams; a clean train would make
    # it MAX_PENDING, so a new key would push the oldest out: only the reference decides.
    firsts = [
        _v4_train(fb.udp(fb.V4_A, fb.V4_B, i.to_bytes(2, "big") * 8), 17, i, [1])[0]
        for i in range(MAX_PENDING - 1)
    ]
    clean = _v4_train(fb.udp(fb.V4_A, fb.V4_B, bytes(64)), 17, 60000, [3])
    late = _v4_train(fb.udp(fb.V4_A, fb.V4_B, bytes(32)), 17, 60001, [1])
    seconds = [
        _v4_train(fb.udp(fb.V4_A, fb.V4_B, i.to_bytes(2, "big") * 8), 17, i, [1])[1]
        for i in range(2)
    ]
    frames = [*firsts, clean[0], late[0], clean[1], *seconds]
    recs = _records(frames)
    (table, _), path = _same(recs, [len(firsts)])
    assert path.fragments_planned == 0
    done = np.flatnonzero(table["flags"] & FrameFlag.REASSEMBLED) + 1
    # The late first fragment pushed datagram 0 out; datagram 1 still completes.
    assert done.tolist() == [len(firsts) + 3, len(firsts) + 5]


@st.composite
def clean_trains(draw: st.DrawFn) -> list[Record]:
    """Several datagrams as clean trains, interleaved, some with a piece handed back whole
    (options) or duplicated, with plain frames between them."""
    frames: list[bytes] = []
    for ident in range(draw(st.integers(1, 5))):
        v6 = draw(st.booleans())
        src, dst = (fb.V6_A, fb.V6_B) if v6 else (fb.V4_A, fb.V4_B)
        payload = random.Random(draw(st.integers(0, 2**16))).randbytes(draw(st.integers(1, 700)))
        kind = draw(st.sampled_from(["udp", "tcp", "udplite", "esp"]))
        if kind == "udp":
            proto, body = 17, fb.udp(src, dst, payload)
        elif kind == "tcp":
            proto, body = 6, fb.tcp(src, dst, payload)
        elif kind == "udplite":
            proto, body = 136, fb.udplite(src, dst, payload, coverage=draw(st.sampled_from([0, 8])))
        else:
            proto, body = 50, payload
        if draw(st.integers(0, 4)) == 0:
            body = body[:-1] + bytes([body[-1] ^ 1])
        ident = draw(st.sampled_from([ident, 5]))  # equal ids: one key, several datagrams
        cuts = draw(st.lists(st.integers(1, max(len(body) // 8, 1)), min_size=1, max_size=4))
        train = (_v6_train if v6 else _v4_train)(body, proto, ident, cuts)
        if not v6 and len(train) > 1 and draw(st.integers(0, 5)) == 0:
            lo = 8 * sorted({c for c in cuts if 0 < c * 8 < len(body)})[-1]
            train[-1] = fb.ethernet(
                fb.ipv4(
                    body[lo:], proto=proto, ident=ident, flags=0, frag=lo // 8, options=NOP_OPTIONS
                )
            )
        if draw(st.integers(0, 6)) == 0:
            train.append(draw(st.sampled_from(train)))
        frames += draw(st.permutations(train))
    plain = fb.ethernet(fb.ipv4(fb.tcp(fb.V4_A, fb.V4_B, b"between")))
    for at in draw(st.lists(st.integers(0, len(frames)), max_size=3)):
        frames.insert(at, plain)
    return _records(frames)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(clean_trains(), st.lists(st.integers(1, 30), max_size=2))
def test_clean_trains_fast_equals_reference(recs: list[Record], cuts: list[int]) -> None:
    _same(recs, cuts)
