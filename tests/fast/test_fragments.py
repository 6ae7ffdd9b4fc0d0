"""IPv4 and IPv6 fragments walked by the kernel, with only their reassembly left to the reference
state: the tables equal the reference path's for trains in order, reordered, overlapping,
duplicated, cut by the capture, interleaved, and mixed with fragments the kernel hands back
whole (IPv4 options, IPv6 segments left or headers after the fragment header, GRE); split
across batches anywhere.
"""

from __future__ import annotations

import itertools
import random
import struct

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fast import frames as fb
from fast.compare import both_paths, differences, kernel_only
from wiredoctor.capture.record import Record
from wiredoctor.checksum.verdict import Note, Proto, Status
from wiredoctor.decode.reassembly import MAX_PENDING
from wiredoctor.fast.kernel import REDO_FRAGMENT, REDO_FRAME, REDO_NONE
from wiredoctor.tables import FrameFlag

NOP_OPTIONS = b"\x01\x01\x01\x01"  # a header the kernel does not walk when fragmented


def _ip_fragments(
    body: bytes, proto: int, ident: int, cuts: list[int], *, options: bytes = b""
) -> list[bytes]:
    """`body` cut at the 8-byte unit boundaries `cuts`, each piece an IPv4 fragment."""
    bounds = [0, *sorted({c * 8 for c in cuts if 0 < c * 8 < len(body)}), len(body)]
    out = []
    for lo, hi in itertools.pairwise(bounds):
        more = 1 if hi < len(body) else 0
        out.append(
            fb.ipv4(
                body[lo:hi], proto=proto, ident=ident, flags=more, frag=lo // 8, options=options
            )
        )
    return out


def _ip6_fragments(
    body: bytes,
    proto: int,
    ident: int,
    cuts: list[int],
    *,
    before: tuple[int, bytes] = (44, b""),
    after: bytes = b"",
) -> list[bytes]:
    """`body` cut at `cuts` (8-byte units) into IPv6 fragments; `before` is (first next
    header, an extension chain that leads to the fragment header), `after` a destination
    options header the first fragment carries before `body`."""
    body = after + body
    bounds = [0, *sorted({c * 8 for c in cuts if 0 < c * 8 < len(body)}), len(body)]
    nh = 60 if after else proto
    out = []
    for lo, hi in itertools.pairwise(bounds):
        more = 1 if hi < len(body) else 0
        fragment = struct.pack("!BBHI", nh, 0, lo | more, ident)  # lo is a multiple of 8
        out.append(fb.ipv6(before[1] + fragment + body[lo:hi], next_header=before[0]))
    return out


V6_BEFORE = [
    (44, b""),
    (60, fb.ipv6_ext(60, 44, b"\x01\x04\x00\x00\x00\x00")),  # destination options (PadN)
    (43, fb.routing(44, 4, 0, [fb.V6_B])),  # an SRH with no segments left
    (43, fb.routing(44, 0, 1, [bytes(15) + b"\x07"])),  # a final destination: handed back
]


def _body(kind: str, payload: bytes, v6: bool = False) -> tuple[int, bytes]:
    """(IP protocol, upper-layer bytes) of a datagram to fragment."""
    src, dst = (fb.V6_A, fb.V6_B) if v6 else (fb.V4_A, fb.V4_B)
    if kind == "udp":
        return 17, fb.udp(src, dst, payload)
    if kind == "udp-zero":
        return 17, fb.udp(src, dst, payload, checksum=0)  # not present over IPv4 only
    if kind == "udp-vxlan":
        return 17, fb.udp(src, dst, payload, sport=50000, dport=4789)
    if kind == "tcp":
        return 6, fb.tcp(src, dst, payload, options=bytes.fromhex("020405b4"))
    if kind == "icmp" and v6:
        return 58, fb.icmpv6(src, dst, 128, 0x00030009, payload)
    if kind == "icmp":
        return 1, fb.icmp_echo(3, 9, payload)
    if kind == "igmp":
        return 2, fb.igmp() + payload
    if kind == "gre":
        return 47, fb.gre(payload, checksum=True)
    return 50, payload  # ESP: no checksum the reference verifies


@st.composite
def fragment_trains(draw: st.DrawFn) -> list[Record]:
    """One to three datagrams as fragment trains, damaged and shuffled together."""
    frames: list[tuple[bytes, int | None]] = []  # (frame bytes, caplen or None)
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(
            st.sampled_from(
                ["udp", "udp", "tcp", "icmp", "igmp", "gre", "udp-vxlan", "udp-zero", "esp"]
            )
        )
        seed = draw(st.integers(0, 2**32 - 1))
        size = draw(st.integers(0, 400))
        payload = random.Random(seed).randbytes(size)
        v6 = draw(st.booleans())
        proto, body = _body(kind, payload, v6)
        if body and draw(st.integers(0, 5)) == 0:
            body = body[:-1] + bytes([body[-1] ^ 0x01])  # a covered byte: a bad checksum
        ident = draw(st.sampled_from([7, 7, 8, 0xFFFF]))  # equal ids: datagrams may collide
        cuts = draw(st.lists(st.integers(1, max(len(body) // 8, 1)), max_size=5))
        if v6:
            before = draw(st.sampled_from(V6_BEFORE))
            after = fb.ipv6_ext(60, proto, b"\x01\x00") if draw(st.integers(0, 5)) == 0 else b""
            ips = _ip6_fragments(body, proto, ident, cuts, before=before, after=after)
            whole = _ip6_fragments(body, proto, ident, cuts, after=after)
        else:
            options = NOP_OPTIONS if draw(st.integers(0, 4)) == 0 else b""
            ips = _ip_fragments(body, proto, ident, cuts, options=options)
            whole = _ip_fragments(body, proto, ident, cuts)
        if len(ips) > 1 and draw(st.booleans()):
            # Only some of the train handed back whole: both share the reassembly state.
            ips[0] = whole[0]
        for _ in range(draw(st.integers(0, 2))):
            # Overlaps (teardrop-like): a piece anywhere, with other bytes, maybe last.
            lo = draw(st.integers(0, len(body) // 8)) * 8
            hi = min(len(body), lo + 8 * draw(st.integers(0, 12)))
            junk = random.Random(seed + lo).randbytes(hi - lo)
            more = draw(st.booleans()) or hi < len(body)
            if v6:
                fragment = struct.pack("!BBHI", proto, 0, lo | int(more), ident)
                ips.append(fb.ipv6(fragment + junk, next_header=44))
            else:
                ips.append(fb.ipv4(junk, proto=proto, ident=ident, flags=int(more), frag=lo // 8))
        ips += draw(st.lists(st.sampled_from(ips), max_size=2))  # duplicates
        for ip in ips:
            frame = fb.ethernet(ip, 0x86DD if v6 else 0x0800)
            if len(frame) < 60 and draw(st.booleans()):
                frame += bytes(60 - len(frame))  # Ethernet padding after a short fragment
            caplen = None
            if draw(st.integers(0, 4)) == 0:
                # Cut by the snaplen, often one byte short of a checksum field's end.
                near = st.sampled_from([14 + 20 + k for k in (1, 3, 7, 17, 19, 24)])
                caplen = min(draw(near | st.integers(14, len(frame))), len(frame))
            frames.append((frame, caplen))
    if draw(st.booleans()):
        frames = draw(st.permutations(frames))  # reordered and interleaved
    return [fb.record(f, i + 1, caplen=c) for i, (f, c) in enumerate(frames)]


def _check_split(recs: list[Record], cuts: list[int]) -> None:
    bounds = [0, *sorted({c for c in cuts if 0 < c < len(recs)}), len(recs)]
    batches = [fb.batch(recs[lo:hi], lo + 1) for lo, hi in itertools.pairwise(bounds) if hi > lo]
    fast, ref = both_paths(batches)
    found = differences(fast, ref)
    assert not found, "\n".join(found)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fragment_trains(), st.lists(st.integers(0, 40), max_size=3))
def test_fragment_trains_fast_equals_reference(recs: list[Record], cuts: list[int]) -> None:
    _check_split(recs, cuts)


def _udp_train(ident: int, payload: bytes, cuts: list[int]) -> list[bytes]:
    return [
        fb.ethernet(ip) for ip in _ip_fragments(fb.udp(fb.V4_A, fb.V4_B, payload), 17, ident, cuts)
    ]


def test_plain_fragments_stay_in_the_kernel() -> None:
    train = _udp_train(5, bytes(range(200)) * 3, [40, 60])
    options = fb.ethernet(fb.ipv4(b"x" * 16, proto=17, ident=6, flags=1, options=NOP_OPTIONS))
    plain = fb.ethernet(fb.ipv4(fb.udp(fb.V4_A, fb.V4_B, b"hi")))
    recs = [fb.record(f, i + 1) for i, f in enumerate([*train, options, plain])]
    _, _, marks = kernel_only(fb.batch(recs))
    assert marks.tolist() == [REDO_FRAGMENT] * 3 + [REDO_FRAME, REDO_NONE]


def test_first_fragment_last_completes_in_its_own_frame() -> None:
    # The first fragment arrives last: its own unverified row gives way to the verdict over
    # the whole datagram, and the field is this frame's.
    train = _udp_train(11, bytes(range(256)) * 2, [30])
    recs = [fb.record(f, i + 1) for i, f in enumerate([train[1], train[0]])]
    fast, ref = both_paths([fb.batch(recs)])
    assert not differences(fast, ref)
    frames, cks = fast
    assert [int(f) & FrameFlag.FRAGMENT != 0 for f in frames["flags"]] == [True, True]
    assert [int(f) & FrameFlag.REASSEMBLED != 0 for f in frames["flags"]] == [False, True]
    assert frames["n_cksum"].tolist() == [1, 2]
    udp = cks[cks["proto"] == Proto.UDP]
    assert udp["frame"].tolist() == [2]
    assert int(udp["status"][0]) == Status.GOOD
    assert int(udp["note"][0]) == Note.REASSEMBLED
    assert int(udp["field_off"][0]) == 14 + 20 + 6
    assert int(udp["l4_len"][0]) == 8 + 512
    assert frames["frag_off"].tolist() == [240, 0]
    assert frames["ip_flags"].tolist() == [0, 2]
    assert frames["sport"].tolist() == [-1, 5353]


def test_cut_fragment_leaves_the_datagram_unverified() -> None:
    train = _udp_train(12, bytes(300), [20])
    recs = [fb.record(train[0], 1), fb.record(train[1], 2, caplen=60)]
    fast, ref = both_paths([fb.batch(recs)])
    assert not differences(fast, ref)
    frames, cks = fast
    udp = cks[cks["proto"] == Proto.UDP]
    assert udp["frame"].tolist() == [1, 2]
    assert udp["status"].tolist() == [Status.UNVERIFIED, Status.UNVERIFIED]
    assert udp["field_off"].tolist() == [14 + 20 + 6, -1]
    assert int(frames["flags"][1]) & FrameFlag.SNAPLEN


def test_pending_datagrams_are_bounded_as_in_the_reference() -> None:
    # More first fragments than the reassembly holds, then every second half: the oldest
    # datagrams were forgotten and complete nothing.
    extra = 8
    firsts, seconds = [], []
    for ident in range(MAX_PENDING + extra):
        a, b = _udp_train(ident, ident.to_bytes(2, "big") * 8, [1])
        firsts.append(a)
        seconds.append(b)
    frames_bytes = firsts + seconds[:extra] + seconds[-extra:]
    recs = [fb.record(f, i + 1) for i, f in enumerate(frames_bytes)]
    fast, ref = both_paths([fb.batch(recs[:3000], 1), fb.batch(recs[3000:], 3001)])
    assert not differences(fast, ref)
    done = np.flatnonzero(fast[0]["flags"] & FrameFlag.REASSEMBLED) + 1
    assert done.tolist() == list(range(len(recs) - extra + 1, len(recs) + 1))


def test_ipv6_fragments_stay_in_the_kernel_and_reassemble() -> None:
    body = fb.udp(fb.V6_A, fb.V6_B, bytes(range(100)) * 4)
    plain = _ip6_fragments(body, 17, 0x01020304, [20])
    routed = _ip6_fragments(body, 17, 9, [20], before=V6_BEFORE[3])
    frames_bytes = [fb.ethernet(ip, 0x86DD) for ip in [plain[1], routed[0], plain[0]]]
    recs = [fb.record(f, i + 1) for i, f in enumerate(frames_bytes)]
    _, _, marks = kernel_only(fb.batch(recs))
    assert marks.tolist() == [REDO_FRAGMENT, REDO_FRAME, REDO_FRAGMENT]
    fast, ref = both_paths([fb.batch(recs)])
    assert not differences(fast, ref)
    frames, cks = fast
    assert frames["ip_id"].tolist() == [0x01020304, 9, 0x01020304]
    assert frames["frag_off"].tolist() == [160, 0, 0]
    assert frames["ip_hdr_len"].tolist() == [48, 40 + 24 + 8, 48]
    assert [bool(int(f) & FrameFlag.REASSEMBLED) for f in frames["flags"]] == [False, False, True]
    udp = cks[cks["proto"] == Proto.UDP]
    assert udp["frame"].tolist() == [2, 3]
    assert udp["status"].tolist() == [Status.UNVERIFIED, Status.GOOD]
    assert int(udp["field_off"][1]) == 14 + 48 + 6
