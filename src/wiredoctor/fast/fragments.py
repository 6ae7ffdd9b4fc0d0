"""Fragment reassembly on the fast path: every kernel-walked fragment of a batch at once.

The kernel walks outermost fragments itself (`REDO_FRAGMENT`: their IPv4 header row, a first
fragment's columns and unverified upper-layer row stand) and leaves only their reassembly.
`plan_fragments` groups a batch's walked fragments by the reference's reassembly key (IP
version, addresses, identification, IPv4 protocol; RFC 791 §3.2, RFC 8200 §4.5), replays each
key's arrivals in frame order as `decode.reassembly.Reassembler` does, and for a key whose
datagrams are all clean judges each one's upper-layer checksum over its reassembled bytes on
the frame that completes it, as `decode.reassembly.Fragments` does. Clean: every piece
captured whole and not empty, none overlapping another, one last fragment (MF clear) and no
piece beyond the end it gives, at most `MAX_PIECES` pieces and `MAX_DATAGRAM` bytes, complete
within the batch. Such a datagram completes on exactly the fragment that brings the covered
bytes up to its length, in any arrival order (disjoint pieces tile [0, length) only then).
Any other key (overlaps, duplicates, cut pieces, a datagram open at the batch's end, a key
the reference state holds, two keys with one hash) goes to the reference path whole.

`fast.tracked.TrackedFragments` is the reassembly state shared with the reference verifier.

Always holds: reads stay inside each fragment's captured bytes (`ip_off + ip_len <= caplen`
is checked before any is read); nothing here allocates (the callers pass every array); a
verdict row equals `decode.reassembly`'s occurrence for the same datagram.
"""

from __future__ import annotations

import numpy as np

from wiredoctor.checksum.verdict import Note
from wiredoctor.fast.hashing import step
from wiredoctor.fast.jit import Bytes, Int, Row, Scratch, Table, entry, helper
from wiredoctor.fast.l4 import (
    IPPROTO_GRE,
    IPPROTO_ICMP,
    IPPROTO_ICMPV6,
    IPPROTO_IGMP,
    IPPROTO_TCP,
    IPPROTO_UDP,
    IPPROTO_UDPLITE,
    P_GRE,
    P_ICMP,
    P_ICMPV6,
    P_IGMP,
    P_TCP,
    P_UDP,
    P_UDPLITE,
)
from wiredoctor.fast.marks import (
    ACT_DONE,
    ACT_REFERENCE,
    ACT_WAIT,
    HASH_OFFSET_BASIS,
    MAX_PIECES,
)
from wiredoctor.fast.rows import (
    CAUSE_NONE,
    NOTE_SNAPLEN,
    UNDECIDED,
    UNVERIFIED,
    checksum_field,
    covered,
    emit,
    judge_sum,
    pseudo_sums,
)
from wiredoctor.fast.wire import fold, ones_sum, u16

MAX_DATAGRAM = 0xFFFF  # reassembled bytes the compiled path judges (beyond: jumbo rules)

NOTE_REASSEMBLED = int(Note.REASSEMBLED)

Pieces = tuple[Bytes, Scratch, Table, Scratch, Scratch]
"""A datagram's pieces: the batch buffer, frame offsets, frame table, walked rows, and the
walked indices of the pieces."""


@helper
def key_hash(fr: Row) -> np.uint64:
    """A 64-bit hash of one fragment row's reassembly key (`key_hash_of` computes the same)."""
    proto = np.int64(fr.ip_proto) if fr.ip_version == 4 else np.int64(0)
    h = HASH_OFFSET_BASIS ^ np.uint64(fr.ip_version)
    h = step(h, np.uint64(fr.src_hi))
    h = step(h, np.uint64(fr.src_lo))
    h = step(h, np.uint64(fr.dst_hi))
    h = step(h, np.uint64(fr.dst_lo))
    h = step(h, np.uint64(fr.ip_id))
    return step(h, np.uint64(proto))


@entry
def key_hashes(frames: Table, rows: Scratch, out: np.ndarray) -> None:
    """out[i] = `key_hash` of frames[rows[i]]."""
    for i in range(rows.shape[0]):
        out[i] = key_hash(frames[rows[i]])


@helper
def _same_key(a: Row, b: Row) -> bool:
    """The two fragment rows have the same reassembly key."""
    return bool(
        a.ip_version == b.ip_version
        and a.src_hi == b.src_hi
        and a.src_lo == b.src_lo
        and a.dst_hi == b.dst_hi
        and a.dst_lo == b.dst_lo
        and a.ip_id == b.ip_id
        and (a.ip_version != 4 or a.ip_proto == b.ip_proto)
    )


@helper
def _holds(sorted_hashes: np.ndarray, h: np.uint64) -> bool:
    """Binary search of a sorted uint64 array."""
    lo = 0
    hi = sorted_hashes.shape[0]
    while lo < hi:
        mid = (lo + hi) >> 1
        if sorted_hashes[mid] < h:
            lo = mid + 1
        else:
            hi = mid
    return bool(lo < sorted_hashes.shape[0] and sorted_hashes[lo] == h)


@helper
def _checksum_proto(ipproto: Int) -> Int:
    """The `Proto` code whose checksum the reference verifies for an IP protocol, -1 none
    (`decode.checksums.UPPER_PROTO`)."""
    if ipproto == IPPROTO_TCP:
        return P_TCP
    if ipproto == IPPROTO_UDP:
        return P_UDP
    if ipproto == IPPROTO_UDPLITE:
        return P_UDPLITE
    if ipproto == IPPROTO_ICMP:
        return P_ICMP
    if ipproto == IPPROTO_ICMPV6:
        return P_ICMPV6
    if ipproto == IPPROTO_IGMP:
        return P_IGMP
    if ipproto == IPPROTO_GRE:
        return P_GRE
    return -1


@helper
def _words(x: np.uint64, count: Int) -> Int:
    """Sum of the lowest `count` big-endian 16-bit words of `x`."""
    total: Int = np.int64(0)
    for k in range(count):
        total += np.int64((x >> np.uint64(16 * k)) & np.uint64(0xFFFF))
    return total


@helper
def _address_sum(fr: Row) -> Int:
    """The pseudo-header address sum of a fragment row: source plus destination, as the
    first fragment carries them (no source route: the kernel walks plain headers only)."""
    if fr.ip_version == 4:
        total = _words(fr.src_lo, 2) + _words(fr.dst_lo, 2)
    else:
        total = _words(fr.src_hi, 4) + _words(fr.src_lo, 4)
        total += _words(fr.dst_hi, 4) + _words(fr.dst_lo, 4)
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return total


@helper
def _piece_u16(src: Pieces, count: Int, pos: Int, total: Int) -> Int:
    """The 16-bit field at even offset `pos` of a reassembled datagram of `total` bytes, -1
    when it runs past the end. Pieces start at multiples of 8 (RFC 791 §3.1, RFC 8200 §4.5),
    so an even field never straddles two."""
    buf, data_off, frames, walked, piece_of = src
    if pos + 2 > total:
        return -1
    for k in range(count):
        row = walked[piece_of[k]]
        fr = frames[row]
        lo = np.int64(fr.frag_off)
        size = np.int64(fr.ip_len) - np.int64(fr.ip_hdr_len)
        if lo <= pos < lo + size:
            base = data_off[row] + np.int64(fr.ip_off) + np.int64(fr.ip_hdr_len)
            return u16(buf, base, size, pos - lo)
    return -1


@helper
def _piece_sum(src: Pieces, count: Int, a: Int, b: Int) -> Int:
    """Folded RFC 1071 sum of bytes [a, b) of a reassembled datagram (`a` even), summed piece
    by piece in place: each piece's part starts at an even offset of the datagram, so the
    parts' sums add (RFC 1071 §2 (B)); only the datagram's last byte can be odd, and
    `ones_sum` pads it with zero as the whole-datagram sum would."""
    buf, data_off, frames, walked, piece_of = src
    total: Int = np.int64(0)
    for k in range(count):
        row = walked[piece_of[k]]
        fr = frames[row]
        lo = np.int64(fr.frag_off)
        size = np.int64(fr.ip_len) - np.int64(fr.ip_hdr_len)
        x = max(a, lo)
        y = min(b, lo + size)
        if y > x:
            base = data_off[row] + np.int64(fr.ip_off) + np.int64(fr.ip_hdr_len)
            total += ones_sum(buf, base, size, x - lo, y - lo)
    return fold(total)


@helper
def _verdict(
    src: Pieces,
    count: Int,
    head: Int,
    last: Int,
    total: Int,
    capture: Int,
    verdicts: Table,
    nv: Int,
) -> Int:
    """Append to `verdicts` the verdict over the reassembled bytes of a clean datagram of
    `total` bytes (its `count` pieces are the walked indices in `piece_of`; `head` the first
    fragment, `last` the one completing it), as `decode.reassembly` gives it: the upper
    layer's row as `fast.rows.upper_row` would write it over those bytes (UDP length,
    UDP-Lite coverage, pseudo-header, zero and 0xFFFF rules alike), noted REASSEMBLED, its
    field in this frame only when this frame is the first fragment. Returns the next free
    row (`nv` unchanged when the upper layer has no checksum: the reference adds none).
    """
    frames = src[2]
    walked = src[3]
    hf = frames[walked[head]]
    proto = _checksum_proto(np.int64(hf.ip_proto))
    if proto < 0:
        return nv
    lf = frames[walked[last]]
    snaplen = lf.caplen < lf.wirelen
    v6 = hf.ip_version == 6
    field = checksum_field(proto)
    value = _piece_u16(src, count, field, total)
    word4 = _piece_u16(src, count, 4, total) if total >= 6 else -1
    length, pseudo_length, status = covered(proto, v6, value, total, word4)
    note: Int = np.int64(NOTE_REASSEMBLED)
    pseudo = proto in (P_TCP, P_UDP, P_UDPLITE, P_ICMPV6)
    partial: Int = np.int64(-1)
    nolen: Int = np.int64(-1)
    if pseudo:
        partial, nolen = pseudo_sums(_address_sum(hf), np.int64(hf.ip_proto), pseudo_length)
    expected: Int = np.int64(-1)
    cause: Int = np.int64(CAUSE_NONE)
    field_off: Int = np.int64(-1)
    if value >= 0 and lf.frag_off == 0:
        # The field lies in this frame only when this frame is the first fragment.
        field_off = np.int64(lf.ip_off) + np.int64(lf.ip_hdr_len) + field
    if not (value >= 0 and total >= length >= 0):
        if status == UNDECIDED:
            status = UNVERIFIED
        if snaplen:
            note |= NOTE_SNAPLEN
    else:
        rest = fold(_piece_sum(src, count, 0, field) + _piece_sum(src, count, field + 2, length))
        status, cause, note, expected = judge_sum(
            rest, value, proto, pseudo, partial, nolen, status, note
        )
    row = verdicts[nv]
    row.frame = lf.frame
    row.capture = capture
    return emit(
        verdicts, nv, proto, 0, status, cause, note, value, expected, partial, field_off, length
    )


@entry
def plan_fragments(
    buf: Bytes,
    data_off: Scratch,
    frames: Table,
    walked: Scratch,
    hashes: np.ndarray,
    order: Scratch,
    excluded: np.ndarray,
    capture: Int,
    action: np.ndarray,
    verdict_of: Scratch,
    opened: np.ndarray,
    verdicts: Table,
    piece_of: Scratch,
) -> Int:
    """Plan the reassembly of a batch's walked fragments.

    `walked` are their rows in `frames` (frame order), `hashes` their `key_hash`, `order`
    the walked indices sorted by hash, stably; `excluded` the sorted hashes of keys the
    reference state holds. Writes per walked fragment `action` (`ACT_*`), `verdict_of` (its
    row in `verdicts` for `ACT_DONE` with a checksummed upper layer, else -1) and `opened`
    (1 for the first arrival of a clean datagram). `piece_of` (scratch) holds `MAX_PIECES`,
    `verdicts` a row per walked fragment. Returns the number of verdict rows written.
    """
    m = walked.shape[0]
    src = (buf, data_off, frames, walked, piece_of)
    for i in range(m):
        action[i] = ACT_REFERENCE
        verdict_of[i] = -1
        opened[i] = 0
    nv: Int = np.int64(0)
    g = 0
    while g < m:
        h = hashes[order[g]]
        e = g + 1
        while e < m and hashes[order[e]] == h:
            e += 1
        clean = not _holds(excluded, h)
        first = frames[walked[order[g]]]
        for t in range(g + 1, e):
            if clean and not _same_key(first, frames[walked[order[t]]]):
                clean = False  # two keys share a hash: the reference path takes both
        run_nv = nv
        count = 0
        total: Int = np.int64(-1)
        covered: Int = np.int64(0)
        head = -1
        t = g
        while clean and t < e:
            i = order[t]
            t += 1
            fr = frames[walked[i]]
            start = np.int64(fr.ip_off) + np.int64(fr.ip_hdr_len)
            stop = np.int64(fr.ip_off) + np.int64(fr.ip_len)
            offset = np.int64(fr.frag_off)
            size = stop - start
            end = offset + size
            more = (fr.ip_flags & 2) != 0
            if stop > fr.caplen or size <= 0 or end > MAX_DATAGRAM or count >= MAX_PIECES:
                clean = False
                break
            for k in range(count):
                other = frames[walked[piece_of[k]]]
                lo = np.int64(other.frag_off)
                hi = lo + np.int64(other.ip_len) - np.int64(other.ip_hdr_len)
                if offset < hi and lo < end:
                    clean = False  # an overlap or a duplicate: Wireshark's rules apply
                if not more and hi > end:
                    clean = False  # a piece beyond the end the last fragment gives
            if not clean:
                break
            if more and total >= 0 and end > total:
                clean = False
                break
            if not more:
                if total >= 0:
                    clean = False  # a second last fragment moves the end
                    break
                total = end
            if count == 0:
                opened[i] = 1
            if offset == 0:
                head = i
            piece_of[count] = i
            count += 1
            covered += size
            action[i] = ACT_WAIT
            if total >= 0 and covered == total:
                action[i] = ACT_DONE
                before = nv
                nv = _verdict(src, count, head, i, total, capture, verdicts, nv)
                if nv > before:
                    verdict_of[i] = before
                count = 0
                total = -1
                covered = 0
                head = -1
        if count > 0:
            clean = False  # still open at the batch's end: later bytes are needed
        if not clean:
            nv = run_nv
            for u in range(g, e):
                action[order[u]] = ACT_REFERENCE
                verdict_of[order[u]] = -1
                opened[order[u]] = 0
        g = e
    return nv
