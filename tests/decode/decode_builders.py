"""Frames built in code for the decoder tests: correct lengths and checksums unless told."""

from __future__ import annotations

import struct

from wiredoctor.capture.record import LinkType, Record
from wiredoctor.checksum.arith import internet_checksum
from wiredoctor.checksum.judge import pseudo_header_sum

MAC_A = bytes.fromhex("020000000001")
MAC_B = bytes.fromhex("020000000002")
V4_A = bytes([10, 0, 0, 240])
V4_B = bytes([10, 0, 41, 3])
V6_A = bytes.fromhex("20010db8000000000000000000000001")
V6_B = bytes.fromhex("20010db8000000000000000000000002")
V6_C = bytes.fromhex("20010db80000000000000000000000cc")


def record(
    data: bytes, linktype: int = LinkType.ETHERNET, index: int = 1, wirelen: int = -1
) -> Record:
    """A record holding `data` (wirelen defaults to the captured length)."""
    return Record(
        index=index,
        ts_ns=1_700_000_000_000_000_000 + index,
        caplen=len(data),
        wirelen=len(data) if wirelen < 0 else wirelen,
        linktype=linktype,
        data=data,
    )


def ethernet(
    payload: bytes, ethertype: int = 0x0800, tags: tuple[tuple[int, int], ...] = ()
) -> bytes:
    """Ethernet II with (tpid, vlan id) tags, outermost first."""
    head = MAC_B + MAC_A
    for tpid, vid in tags:
        head += struct.pack("!HH", tpid, vid)
    return head + struct.pack("!H", ethertype) + payload


def ipv4(
    payload: bytes,
    proto: int,
    src: bytes = V4_A,
    dst: bytes = V4_B,
    *,
    ident: int = 1,
    flags_frag: int = 0x4000,
    options: bytes = b"",
    total_length: int | None = None,
    checksum: int | None = None,
) -> bytes:
    """An IPv4 header (checksum computed unless given) followed by `payload`."""
    ihl = 5 + len(options) // 4
    length = 4 * ihl + len(payload) if total_length is None else total_length
    head = struct.pack(
        "!BBHHHBBH4s4s", 0x40 | ihl, 0, length, ident, flags_frag, 64, proto, 0, src, dst
    )
    head += options
    value = internet_checksum(head) if checksum is None else checksum
    return head[:10] + struct.pack("!H", value) + head[12:] + payload


def ipv6(
    payload: bytes, next_header: int, src: bytes = V6_A, dst: bytes = V6_B, plen: int | None = None
) -> bytes:
    """An IPv6 header followed by `payload` (extension headers included in it)."""
    length = len(payload) if plen is None else plen
    return struct.pack("!IHBB", 0x60000000, length, next_header, 64) + src + dst + payload


def l4_checksum(segment: bytes, proto: int, src: bytes, dst: bytes, field: int) -> bytes:
    """`segment` with its checksum field at `field` filled in over the pseudo-header."""
    zeroed = segment[:field] + b"\x00\x00" + segment[field + 2 :]
    value = internet_checksum(zeroed, pseudo_header_sum(src, dst, proto, len(segment)))
    if proto == 17 and value == 0:
        value = 0xFFFF
    return segment[:field] + struct.pack("!H", value) + segment[field + 2 :]


def tcp(
    src: bytes,
    dst: bytes,
    payload: bytes = b"",
    *,
    flags: int = 0x02,
    options: bytes = b"",
    checksum: int | None = None,
    pseudo_dst: bytes | None = None,
) -> bytes:
    """A TCP segment, checksum over the pseudo-header with `pseudo_dst` (default `dst`)."""
    opts = options + b"\x00" * (-len(options) % 4)
    words = 5 + len(opts) // 4
    head = struct.pack("!HHIIHHHH", 56791, 22, 2650163743, 0, (words << 12) | flags, 14600, 0, 0)
    segment = head + opts + payload
    if checksum is not None:
        return segment[:16] + struct.pack("!H", checksum) + segment[18:]
    return l4_checksum(segment, 6, src, pseudo_dst or dst, 16)


def udp(
    src: bytes,
    dst: bytes,
    payload: bytes = b"",
    *,
    sport: int = 5353,
    dport: int = 53,
    checksum: int | None = None,
) -> bytes:
    """A UDP datagram with a correct checksum unless `checksum` is given."""
    segment = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    if checksum is not None:
        return segment[:6] + struct.pack("!H", checksum) + segment[8:]
    return l4_checksum(segment, 17, src, dst, 6)


def icmp_echo(payload: bytes = b"abcdefgh", ident: int = 7, seq: int = 1) -> bytes:
    """An ICMP echo request with a correct checksum."""
    body = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + payload
    return body[:2] + struct.pack("!H", internet_checksum(body)) + body[4:]
