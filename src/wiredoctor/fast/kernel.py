"""The one-pass kernel: every frame of a chunk walked from the link layer through its
encapsulation stack (IPIP, 6in4, 4in6, 6in6, GRE incl. bridging and ERSPAN, VXLAN, Geneve)
to the innermost upper layer, filling both tables exactly as `decode.verify.Verifier` would.

Frames the kernel does not fully handle (fragments other than the outermost ones `fast.ip`
walks, unknown link types, MPLS/PPPoE, lying lengths, headers cut short, ICMP errors quoting a
datagram, L2TP/Teredo, nesting deeper than `MAX_DATAGRAMS`, …) are marked `REDO_FRAME` in
`fallback` and verified again by the reference path, whose rows replace these. Those
outermost fragments are walked here (IPv4 header row; a first fragment's transport columns
and unverified upper-layer row) and marked `REDO_FRAGMENT`: only their reassembly is left to
do, in frame order (`fast.fallback`).

Always holds: `verify_chunk` writes only rows [0, n_frames) of `frames` and rows below the
count it returns of `cksums`; it never reads outside `buf[data_off[i] : data_off[i] +
min(caplen[i], len(buf) - data_off[i])]`; it stops early (returning how many frames it
finished) when fewer than `MAX_ROWS_PER_FRAME` checksum rows are left.
"""

from __future__ import annotations

import numpy as np

from wiredoctor.fast.hashing import payload_hash
from wiredoctor.fast.ip import IP_FALLBACK, IP_FRAGMENT, ipv4, ipv6
from wiredoctor.fast.jit import Bytes, Int, Row, Scratch, Table, entry, helper
from wiredoctor.fast.l4 import TUNNEL_ETHER, UP_DONE, UP_TUNNEL, upper
from wiredoctor.fast.link import (
    ETH_MAX_LENGTH,
    LINK_FALLBACK,
    LINK_IP4,
    LINK_IP6,
    ethertype_walk,
    walk_link,
)
from wiredoctor.fast.marks import (
    MAX_DATAGRAMS,
    MAX_ROWS_PER_FRAME,
    REDO_FRAGMENT,
    REDO_FRAME,
    REDO_NONE,
)
from wiredoctor.fast.rows import P_IPV4, ipv4_row
from wiredoctor.fast.wire import nonzero, u16
from wiredoctor.tables import FrameFlag

FCS_LEN = 4  # Ethernet frame check sequence (IEEE 802.3 §3.2.9)

FLAG_SNAPLEN = int(FrameFlag.SNAPLEN)
FLAG_NOT_IP = int(FrameFlag.NOT_IP)
FLAG_FRAGMENT = int(FrameFlag.FRAGMENT)


@helper
def _trailer(
    buf: Bytes, base: Int, cap: Int, wire: Int, end: Int, limit: Int
) -> tuple[Int, Int, Int, bool]:
    """Split the bytes after the outermost network message, as `decode.trailer`.

    Left-over bytes below the padding limit are padding when all zero (else none is); of the
    rest, a frame of at least limit + 4 bytes on the wire gives its last 4 to a presumed FCS
    (IEEE 802.3 §3.2.9, Wireshark's guess); what remains is trailer. Returns (pad_len,
    trailer_len, trailer_off, padding not all zero).
    """
    if end < 0 or end >= cap:
        return 0, 0, -1, False
    stop = max(min(limit, cap), end)
    dirty = bool(stop > end) and nonzero(buf, base, cap, end, stop)
    if dirty:
        stop = end
    rest = cap - stop
    if limit > 0 and wire >= limit + FCS_LEN and rest >= FCS_LEN:
        rest -= FCS_LEN
    return stop - end, rest, end, dirty


@helper
def _frame(
    buf: Bytes,
    base: Int,
    cap: Int,
    wire: Int,
    linktype: Int,
    fr: Row,
    ck: Table,
    n: Int,
    depths: Scratch,
    span: Scratch,
) -> tuple[Int, Int]:
    """Walk one frame; returns (next free checksum row, `REDO_*`). The payload to hash is
    left in `span` (start in `buf`, length; 0 when none).

    The encapsulation stack is a loop: each pass walks one IP datagram (after an inner
    Ethernet header when a tunnel carries one) and its upper layer, which either ends the
    walk or names the next level and the region of bytes it may use.
    """
    snaplen = bool(cap < wire)
    kind, off, end, limit = walk_link(buf, base, cap, linktype, fr)
    if kind == LINK_FALLBACK or off > 0xFFFF or cap - off > 0xFFFF:
        # Also frames whose trailer could overflow the 16-bit columns: the reference decides.
        return n, REDO_FRAME
    fr.l2_len = off
    if kind != LINK_IP4 and kind != LINK_IP6:
        fr.flags |= FLAG_NOT_IP
        fr.pad_len, fr.trailer_len, fr.trailer_off, dirty = _trailer(
            buf, base, cap, wire, end, limit
        )
        fr.trailer_nonzero_pad = dirty
        return n, REDO_NONE
    depths[:] = 0
    region = cap  # captured bytes the current level may use
    wire_limit = max(wire, cap)  # where the current level ends on the wire
    for level in range(MAX_DATAGRAMS + 1):
        if kind == TUNNEL_ETHER:
            # An Ethernet frame inside a tunnel: its tags are not the link's.
            if off + 14 > region:
                return n, REDO_FRAME
            etype = u16(buf, base, region, off + 12)
            if etype <= ETH_MAX_LENGTH:
                return n, REDO_NONE
            kind, off, end, _, _ = ethertype_walk(buf, base, region, off + 14, etype)
            if kind == LINK_FALLBACK:
                return n, REDO_FRAME
            if kind != LINK_IP4 and kind != LINK_IP6:
                return n, REDO_NONE
        if level == MAX_DATAGRAMS:
            return n, REDO_FRAME
        if level > 0:
            # Only the innermost datagram's upper layer fills the transport columns; the
            # uppers that lead on (UDP, GRE) wrote only these.
            fr.l4_off = -1
            fr.sport = -1
            fr.dport = -1
            fr.l4_payload_len = 0
            span[1] = 0
        if kind == LINK_IP4:
            state, l4, end, proto, addr, final = ipv4(
                buf, base, region, off, wire_limit, level == 0, fr
            )
            if state == IP_FALLBACK:
                return n, REDO_FRAME
            depth = depths[P_IPV4]
            depths[P_IPV4] += 1
            n = ipv4_row(ck, n, buf, base, region, off, l4 - off, depth)
        else:
            state, l4, end, proto, addr, final = ipv6(
                buf, base, region, off, wire_limit, level == 0, fr
            )
            if state == IP_FALLBACK:
                return n, REDO_FRAME
        if level == 0:
            fr.outer_ip_len = end - off
            fr.pad_len, fr.trailer_len, fr.trailer_off, dirty = _trailer(
                buf, base, cap, wire, end, limit
            )
            fr.trailer_nonzero_pad = dirty
        fr.tunnel_depth = level
        fragment = state == IP_FRAGMENT
        if fragment:
            fr.flags |= FLAG_FRAGMENT
            if fr.frag_off != 0:
                return n, REDO_FRAGMENT  # later fragments carry no upper-layer header
        state, n, kind, off, region = upper(
            buf,
            base,
            region,
            l4,
            end,
            proto,
            addr,
            kind == LINK_IP6,
            final,
            snaplen,
            fragment,
            depths,
            span,
            fr,
            ck,
            n,
        )
        if fragment:
            return n, REDO_FRAGMENT if state == UP_DONE else REDO_FRAME
        if state != UP_TUNNEL:
            return n, REDO_NONE if state == UP_DONE else REDO_FRAME
        wire_limit = region
    return n, REDO_FRAME


@entry
def verify_chunk(
    buf: Bytes,
    data_off: np.ndarray,
    caplen: np.ndarray,
    wirelen: np.ndarray,
    linktype: np.ndarray,
    ts_ns: np.ndarray,
    file_off: np.ndarray,
    iface: np.ndarray,
    direction: np.ndarray,
    first_frame: Int,
    capture: Int,
    template: Table,
    frames: Table,
    cksums: Table,
    fallback: np.ndarray,
    scratch: Scratch,
    hashing: Int,
) -> tuple[Int, Int]:
    """Verify the frames of a chunk into `frames` / `cksums`.

    The record columns are the batch's, sliced to the chunk; frame i is numbered
    `first_frame + i`. `template[0]` is a frame row with every column absent, copied into
    each row before it is filled; `fallback[i]` is set to the frame's `REDO_*` mark. A
    frame's `cksum_row` is the index of its first row in `cksums`, and every checksum row
    gets its frame's number and `capture`.
    `scratch` (int64, at least 18) is scratch space. Returns (frames finished, checksum rows
    written); payload hashes are set for the frames finished unless `hashing` is 0 (then
    `payload_hash` stays 0).
    """
    total = buf.shape[0]
    blank = template[0]
    depths = scratch[:16]
    span = scratch[16:18]
    n: Int = np.int64(0)
    limit = cksums.shape[0] - MAX_ROWS_PER_FRAME
    done = frames.shape[0]
    for i in range(frames.shape[0]):
        if n > limit:
            done = i
            break
        frames[i] = blank
        fr = frames[i]
        fr.frame = first_frame + i
        fr.capture = capture
        fr.iface = iface[i]
        fr.ts_ns = ts_ns[i]
        fr.caplen = caplen[i]
        fr.wirelen = wirelen[i]
        fr.linktype = linktype[i]
        fr.file_off = file_off[i]
        fr.direction = direction[i]
        base = data_off[i]
        cap = np.int64(caplen[i])
        wire = np.int64(wirelen[i])
        fr.cksum_row = n
        if cap < wire:
            fr.flags |= FLAG_SNAPLEN
        if base < 0 or base + cap > total:
            # Bytes outside the buffer: the batch is inconsistent; never read them.
            fallback[i] = REDO_FRAME
            continue
        first = n
        span[1] = 0
        n, redo = _frame(buf, base, cap, wire, np.int64(linktype[i]), fr, cksums, n, depths, span)
        fr.n_cksum = n - first
        for r in range(first, n):
            # Numbered now, while the rows are in cache (`numbering` then needs only set
            # each frame's `cksum_row` in a capture's tables).
            ck = cksums[r]
            ck.frame = fr.frame
            ck.capture = capture
        if span[1] > 0 and hashing != 0:
            # Hashed now, while the payload the checksum just summed is in cache.
            fr.payload_hash = payload_hash(buf, span[0], span[1])
        fallback[i] = redo
    return done, n
