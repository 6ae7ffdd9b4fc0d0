"""Rewrite fields of raw IP packets the way a correct middlebox or service would.

`rewrite_tcp_mss` clamps the MSS option and updates the TCP checksum incrementally
(RFC 1624); `recompute_checksums` fills in the IPv4 header and transport checksums of a
packet whose checksums were left to an offload engine that never ran (the "compute the
checksum in the service" remedy).

Always holds: the input is never modified (bytes in, new bytes out); a packet these
functions cannot parse, or that lacks what they rewrite, comes back unchanged — packet
bytes never raise.
"""

from __future__ import annotations

from dataclasses import dataclass

from wiredoctor.checksum.arith import (
    internet_checksum,
    pseudo_header_sum_ipv4,
    pseudo_header_sum_ipv6,
)
from wiredoctor.checksum.incremental import aligned_window, incremental_update
from wiredoctor.errors import UsageError

TCP = 6
UDP = 17
ICMP = 1
ICMPV6 = 58
# IPv6 extension headers that use the generic (next header, length in 8-octet units - 1)
# layout: hop-by-hop 0, routing 43, destination options 60 (RFC 8200 §4.3-4.6). Fragment
# (44) has a fixed 8-byte length and is handled on its own.
_IPV6_GENERIC_EXT = frozenset({0, 43, 60})
_IPV6_FRAGMENT = 44


@dataclass(frozen=True, slots=True, kw_only=True)
class Transport:
    """Where the transport header of a raw IP packet starts and what sums it."""

    offset: int
    """Byte offset of the transport header in the packet."""
    protocol: int
    """IP protocol number of the transport header."""
    length: int
    """Transport length (header + data) the IP header states."""
    pseudo_sum: int
    """Folded pseudo-header sum over source, final destination, protocol and length."""
    pseudo_sum_nolen: int
    """The same sum without the length (what Windows LSO leaves in the field)."""
    first_fragment_only: bool
    """True when the packet is a fragment: its checksum covers bytes not in this packet."""


def _ipv4_final_destination(header: bytes) -> bytes:
    # RFC 791 §3.1 loose/strict source route (131/137): while the route is being followed
    # the destination field holds the next hop; the sender summed the pseudo-header over
    # the final destination, the last address of the route.
    i = 20
    dst = header[16:20]
    while i < len(header):
        kind = header[i]
        if kind == 0:
            break
        if kind == 1:
            i += 1
            continue
        if i + 1 >= len(header):
            break
        length = header[i + 1]
        if length < 2 or i + length > len(header):
            break
        if kind in (131, 137) and length >= 7:
            pointer = header[i + 2]
            route_end = i + length
            if pointer <= length and route_end - 4 >= i + 3:
                dst = header[route_end - 4 : route_end]
        i += length
    return dst


def locate_transport(packet: bytes) -> Transport | None:
    """The transport header of a raw IPv4 or IPv6 packet, or None when there is none to sum.

    IPv6 routing headers with segments left set the pseudo-header's final destination
    (RFC 8200 §8.1): the last address of a type 0 header, Segment List[0] of an SRH
    (RFC 8754 §2, the list is stored in reverse order).
    """
    if len(packet) < 20:
        return None
    version = packet[0] >> 4
    if version == 4:
        ihl = (packet[0] & 0x0F) * 4
        total = int.from_bytes(packet[2:4], "big")
        if ihl < 20 or len(packet) < ihl:
            return None
        if total == 0:
            # TSO / BIG TCP super-frames carry total length 0; the data is the datagram.
            total = len(packet)
        if total < ihl:
            return None
        frag = int.from_bytes(packet[6:8], "big")
        fragment = (frag & 0x1FFF) != 0 or (frag & 0x2000) != 0
        protocol = packet[9]
        length = total - ihl
        dst = _ipv4_final_destination(packet[:ihl])
        pseudo = pseudo_header_sum_ipv4(packet[12:16], dst, protocol, length)
        return Transport(
            offset=ihl,
            protocol=protocol,
            length=length,
            pseudo_sum=pseudo,
            pseudo_sum_nolen=pseudo_header_sum_ipv4(packet[12:16], dst, protocol, 0),
            first_fragment_only=fragment,
        )
    if version == 6 and len(packet) >= 40:
        payload_end = 40 + int.from_bytes(packet[4:6], "big")
        next_header = packet[6]
        offset = 40
        dst = packet[24:40]
        fragment = False
        while next_header in _IPV6_GENERIC_EXT or next_header == _IPV6_FRAGMENT:
            if offset + 8 > len(packet):
                return None
            if next_header == _IPV6_FRAGMENT:
                fragment = True
                next_header = packet[offset]
                offset += 8
                continue
            ext_len = (packet[offset + 1] + 1) * 8
            if next_header == 43 and offset + ext_len <= len(packet):
                routing_type = packet[offset + 2]
                segments_left = packet[offset + 3]
                if segments_left > 0 and routing_type == 0 and ext_len >= 24:
                    dst = packet[offset + ext_len - 16 : offset + ext_len]
                elif segments_left > 0 and routing_type == 4 and ext_len >= 24:
                    dst = packet[offset + 8 : offset + 24]
            next_header = packet[offset]
            offset += ext_len
        if offset > payload_end:
            return None
        length = payload_end - offset
        pseudo = pseudo_header_sum_ipv6(packet[8:24], dst, next_header, length)
        return Transport(
            offset=offset,
            protocol=next_header,
            length=length,
            pseudo_sum=pseudo,
            pseudo_sum_nolen=pseudo_header_sum_ipv6(packet[8:24], dst, next_header, 0),
            first_fragment_only=fragment,
        )
    return None


def _find_mss(tcp: bytes) -> int | None:
    """Offset (in the TCP header) of the MSS option's 2-byte value, or None."""
    if len(tcp) < 20:
        return None
    header_len = (tcp[12] >> 4) * 4
    end = min(header_len, len(tcp))
    i = 20
    while i < end:
        kind = tcp[i]
        if kind == 0:  # end of option list (RFC 9293 §3.2)
            return None
        if kind == 1:  # no-operation
            i += 1
            continue
        if i + 1 >= end:
            return None
        length = tcp[i + 1]
        if length < 2 or i + length > end:
            return None
        if kind == 2 and length == 4:
            return i + 2
        i += length
    return None


def rewrite_tcp_mss(packet: bytes, new_mss: int) -> bytes:
    """`packet` (raw IPv4/IPv6) with its TCP MSS option set to `new_mss`, checksum updated.

    The TCP checksum is updated incrementally (RFC 1624 eqn. 3) over the 16-bit aligned
    window that holds the option value, so the result equals full recomputation when the
    old checksum was right. A packet without TCP, without an MSS option, a fragment, or cut
    short before the option comes back unchanged. Raises `UsageError` for an MSS outside
    0..65535.
    """
    if not 0 <= new_mss <= 0xFFFF:
        raise UsageError(f"MSS must be 0..65535, got {new_mss}")
    transport = locate_transport(packet)
    if transport is None or transport.protocol != TCP or transport.first_fragment_only:
        return packet
    tcp = packet[transport.offset :]
    value_at = _find_mss(tcp)
    if value_at is None or value_at + 2 > len(tcp):
        return packet
    new_tcp = bytearray(tcp)
    new_tcp[value_at : value_at + 2] = new_mss.to_bytes(2, "big")
    start, end = aligned_window(value_at, value_at + 2)
    old_checksum = int.from_bytes(tcp[16:18], "big")
    new_checksum = incremental_update(old_checksum, tcp[start:end], bytes(new_tcp[start:end]))
    new_tcp[16:18] = new_checksum.to_bytes(2, "big")
    return packet[: transport.offset] + bytes(new_tcp)


def _set(buf: bytearray, at: int, value: int) -> None:
    buf[at : at + 2] = value.to_bytes(2, "big")


def recompute_checksums(packet: bytes) -> bytes:
    """`packet` (raw IPv4/IPv6) with its IPv4 header and TCP/UDP/ICMP/ICMPv6 checksums right.

    Only the outermost transport is summed (tunnelled inner packets are left as they are).
    A UDP checksum of 0 over IPv4 means "none" (RFC 768) and is kept; a computed UDP sum of
    0 is sent as 0xFFFF (RFC 768, RFC 8200 §8.1). Fragments and packets cut short keep
    their transport checksum (it covers bytes that are not all here).
    """
    out = bytearray(packet)
    if len(out) >= 20 and out[0] >> 4 == 4:
        ihl = (out[0] & 0x0F) * 4
        if 20 <= ihl <= len(out):
            _set(out, 10, 0)
            _set(out, 10, internet_checksum(out[:ihl]))
    transport = locate_transport(bytes(out))
    if transport is None or transport.first_fragment_only:
        return bytes(out)
    start = transport.offset
    end = start + transport.length
    if end > len(out):
        return bytes(out)
    field = {TCP: 16, UDP: 6, ICMP: 2, ICMPV6: 2}.get(transport.protocol)
    if field is None or end - start < field + 2:
        return bytes(out)
    at = start + field
    if transport.protocol == UDP and out[0] >> 4 == 4 and out[at : at + 2] == b"\x00\x00":
        return bytes(out)
    _set(out, at, 0)
    initial = 0 if transport.protocol == ICMP else transport.pseudo_sum
    value = internet_checksum(out[start:end], initial)
    if transport.protocol == UDP and value == 0:
        value = 0xFFFF
    _set(out, at, value)
    return bytes(out)
