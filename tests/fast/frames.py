"""Frames built in code for the fast-path tests: correct headers and checksums by default,
with knobs to corrupt, truncate or lie.

Always holds: builders return bytes exactly as they would be on the wire; checksums are
computed with `checksum.arith` unless a test passes its own value.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from wiredoctor.capture.batch import RecordBatch, batch_from_records
from wiredoctor.capture.record import LinkType, Record
from wiredoctor.checksum.arith import (
    internet_checksum,
    pseudo_header_sum_ipv4,
    pseudo_header_sum_ipv6,
)

MAC_A = bytes.fromhex("020000000001")
MAC_B = bytes.fromhex("020000000002")
V4_A = bytes([10, 0, 0, 240])
V4_B = bytes([10, 0, 41, 3])
V6_A = bytes.fromhex("20010db8000000000000000000000001")
V6_B = bytes.fromhex("20010db8000000000000000000000002")


def ethernet(payload: bytes, ethertype: int = 0x0800, vlans: Sequence[int] = ()) -> bytes:
    """Ethernet II with optional 802.1Q tags (outermost first)."""
    tags = b"".join(struct.pack("!HH", 0x8100, vid) for vid in vlans)
    return MAC_B + MAC_A + tags + struct.pack("!H", ethertype) + payload


def tcp(
    src: bytes,
    dst: bytes,
    payload: bytes = b"",
    *,
    sport: int = 56791,
    dport: int = 22,
    seq: int = 2650163743,
    ack: int = 0,
    flags: int = 0x02,
    options: bytes = b"",
    checksum: int | None = None,
    final_dst: bytes | None = None,
) -> bytes:
    """A TCP segment; the checksum uses `final_dst` (else `dst`) in the pseudo-header."""
    opts = options + b"\x00" * (-len(options) % 4)
    hdr_words = 5 + len(opts) // 4
    head = struct.pack("!HHIIHHHH", sport, dport, seq, ack, (hdr_words << 12) | flags, 14600, 0, 0)
    segment = head + opts + payload
    if checksum is None:
        target = final_dst or dst
        if len(src) == 4:
            initial = pseudo_header_sum_ipv4(src, target, 6, len(segment))
        else:
            initial = pseudo_header_sum_ipv6(src, target, 6, len(segment))
        checksum = internet_checksum(segment, initial)
    return segment[:16] + struct.pack("!H", checksum) + segment[18:]


def udp(
    src: bytes,
    dst: bytes,
    payload: bytes = b"",
    *,
    sport: int = 5353,
    dport: int = 53,
    checksum: int | None = None,
) -> bytes:
    """A UDP datagram with a correct checksum unless one is given (0xFFFF for a computed 0)."""
    head = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0)
    datagram = head + payload
    if checksum is None:
        if len(src) == 4:
            initial = pseudo_header_sum_ipv4(src, dst, 17, len(datagram))
        else:
            initial = pseudo_header_sum_ipv6(src, dst, 17, len(datagram))
        checksum = internet_checksum(datagram, initial) or 0xFFFF
    return datagram[:6] + struct.pack("!H", checksum) + datagram[8:]


def icmp_echo(ident: int = 1, seq: int = 1, payload: bytes = b"", request: bool = True) -> bytes:
    """An ICMP echo request/reply with a correct checksum."""
    body = struct.pack("!BBHHH", 8 if request else 0, 0, 0, ident, seq) + payload
    value = internet_checksum(body)
    return body[:2] + struct.pack("!H", value) + body[4:]


def ipv4(
    payload: bytes,
    *,
    proto: int = 6,
    src: bytes = V4_A,
    dst: bytes = V4_B,
    ttl: int = 64,
    ident: int = 53611,
    flags: int = 0x2,
    frag: int = 0,
    options: bytes = b"",
    total_length: int | None = None,
    checksum: int | None = None,
) -> bytes:
    """An IPv4 header (with options) followed by `payload`."""
    opts = options + b"\x00" * (-len(options) % 4)
    ihl = 5 + len(opts) // 4
    length = ihl * 4 + len(payload) if total_length is None else total_length
    head = (
        struct.pack(
            "!BBHHHBBH4s4s",
            0x40 | ihl,
            0,
            length,
            ident,
            (flags << 13) | frag,
            ttl,
            proto,
            0,
            src,
            dst,
        )
        + opts
    )
    if checksum is None:
        checksum = internet_checksum(head)
    return head[:10] + struct.pack("!H", checksum) + head[12:] + payload


def ipv6(
    payload: bytes,
    *,
    next_header: int = 6,
    src: bytes = V6_A,
    dst: bytes = V6_B,
    hop_limit: int = 64,
    payload_length: int | None = None,
) -> bytes:
    """An IPv6 header followed by `payload` (extension headers are part of `payload`)."""
    plen = len(payload) if payload_length is None else payload_length
    return struct.pack("!IHBB16s16s", 6 << 28, plen, next_header, hop_limit, src, dst) + payload


def pseudo_sum(src: bytes, dst: bytes, proto: int, length: int) -> int:
    """The pseudo-header sum for either IP version (by address length)."""
    if len(src) == 4:
        return pseudo_header_sum_ipv4(src, dst, proto, length)
    return pseudo_header_sum_ipv6(src, dst, proto, length)


def udplite(src: bytes, dst: bytes, payload: bytes = b"", *, coverage: int = 0) -> bytes:
    """A UDP-Lite datagram (RFC 3828) with a correct checksum over `coverage` bytes."""
    datagram = struct.pack("!HHHH", 5000, 5001, coverage, 0) + payload
    covered = datagram if coverage == 0 else datagram[:coverage]
    value = internet_checksum(covered, pseudo_sum(src, dst, 136, len(datagram))) or 0xFFFF
    return datagram[:6] + struct.pack("!H", value) + datagram[8:]


def icmpv6(
    src: bytes, dst: bytes, kind: int = 128, rest: int = 0x00010001, payload: bytes = b""
) -> bytes:
    """An ICMPv6 message with a correct checksum (RFC 4443 §2.3)."""
    body = struct.pack("!BBHI", kind, 0, 0, rest) + payload
    value = internet_checksum(body, pseudo_sum(src, dst, 58, len(body)))
    return body[:2] + struct.pack("!H", value) + body[4:]


def icmp(kind: int, code: int = 0, rest: int = 0, payload: bytes = b"") -> bytes:
    """Any ICMP message with a correct checksum."""
    body = struct.pack("!BBHI", kind, code, 0, rest) + payload
    return body[:2] + struct.pack("!H", internet_checksum(body)) + body[4:]


def igmp(kind: int = 0x16, group: bytes = bytes([239, 1, 2, 3])) -> bytes:
    """An IGMPv2 message with a correct checksum (RFC 2236 §2.3)."""
    body = struct.pack("!BBH4s", kind, 0, 0, group)
    return body[:2] + struct.pack("!H", internet_checksum(body)) + body[4:]


def gre(
    payload: bytes,
    protocol: int = 0x0800,
    *,
    checksum: bool = False,
    key: int | None = None,
    sequence: int | None = None,
) -> bytes:
    """A GRE header (RFC 2784 / RFC 2890) with its optional fields, then `payload`."""
    flags = (0x8000 if checksum else 0) | (0x2000 if key is not None else 0)
    flags |= 0x1000 if sequence is not None else 0
    head = struct.pack("!HH", flags, protocol)
    if checksum:
        head += b"\x00\x00\x00\x00"
    if key is not None:
        head += struct.pack("!I", key)
    if sequence is not None:
        head += struct.pack("!I", sequence)
    packet = head + payload
    if checksum:
        value = internet_checksum(packet)
        packet = packet[:4] + struct.pack("!H", value) + packet[6:]
    return packet


def vxlan(inner_frame: bytes, vni: int = 42) -> bytes:
    """A VXLAN header (RFC 7348 §5) and the inner Ethernet frame."""
    return struct.pack("!BBHI", 0x08, 0, 0, vni << 8) + inner_frame


def geneve(inner: bytes, protocol: int = 0x6558, options: bytes = b"") -> bytes:
    """A Geneve header (RFC 8926 §3) with raw options, then the inner payload."""
    opts = options + b"\x00" * (-len(options) % 4)
    return struct.pack("!BBHI", len(opts) // 4, 0, protocol, 7 << 8) + opts + inner


def sll(payload: bytes, protocol: int = 0x0800, pkttype: int = 4, hatype: int = 1) -> bytes:
    """A Linux cooked (SLL) header."""
    return struct.pack("!HHH8sH", pkttype, hatype, 6, MAC_A + b"\x00\x00", protocol) + payload


def sll2(payload: bytes, protocol: int = 0x0800, pkttype: int = 0, hatype: int = 1) -> bytes:
    """A Linux cooked v2 (SLL2) header."""
    return struct.pack("!HHIHBB8s", protocol, 0, 3, hatype, pkttype, 6, MAC_A + b"\x00\x00") + (
        payload
    )


def null(payload: bytes, family: int = 2, little: bool = True) -> bytes:
    """A BSD null/loopback header with the family in the given byte order."""
    return family.to_bytes(4, "little" if little else "big") + payload


def ipv6_ext(kind: int, next_header: int, body: bytes) -> bytes:
    """An IPv6 options or routing header: next header, length in 8-byte units, body."""
    total = 2 + len(body)
    body += b"\x00" * (-total % 8)
    return bytes([next_header, (2 + len(body)) // 8 - 1]) + body


def routing(next_header: int, rtype: int, segleft: int, addresses: Sequence[bytes]) -> bytes:
    """A routing header of type 0, 2 or 4 (SRH: last entry, flags, tag)."""
    if rtype == 4:
        head = bytes([rtype, segleft, len(addresses) - 1, 0, 0, 0])
    else:
        head = bytes([rtype, segleft, 0, 0, 0, 0])
    return ipv6_ext(43, next_header, head + b"".join(addresses))


def record(
    data: bytes,
    index: int = 1,
    *,
    linktype: int = LinkType.ETHERNET,
    wirelen: int | None = None,
    caplen: int | None = None,
) -> Record:
    """A record of `data`, optionally cut to `caplen` with a larger `wirelen`."""
    cut = data if caplen is None else data[:caplen]
    return Record(
        index=index,
        ts_ns=1_700_000_000_000_000_000 + index * 1000,
        caplen=len(cut),
        wirelen=len(data) if wirelen is None else wirelen,
        linktype=linktype,
        data=cut,
    )


def batch(records: Sequence[Record], first_frame: int = 1) -> RecordBatch:
    """The records as one batch, as the capture readers would deliver them."""
    return batch_from_records(list(records), first_frame)
