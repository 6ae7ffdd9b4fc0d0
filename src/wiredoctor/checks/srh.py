"""The final destination of an IPv6 packet with a routing header, read from frame bytes.

RFC 8200 §8.1: the upper-layer pseudo-header uses the final destination, which for a packet
with a routing header is the last address of that header. Always holds: malformed or short
bytes give None, never an exception.
"""

from __future__ import annotations

import ipaddress

# Extension headers that may precede the routing header (RFC 8200 §4.1).
_HOP_BY_HOP = 0
_ROUTING = 43
_DEST_OPTS = 60


def final_destination(data: bytes, ip_off: int) -> str | None:
    """Text of the final destination for the IPv6 header at `ip_off`, or None without one."""
    if ip_off < 0 or len(data) < ip_off + 40 or data[ip_off] >> 4 != 6:
        return None
    next_header = data[ip_off + 6]
    off = ip_off + 40
    for _ in range(8):
        if len(data) < off + 8:
            return None
        if next_header == _ROUTING:
            return _routing_final(data, off)
        if next_header not in (_HOP_BY_HOP, _DEST_OPTS):
            return None
        next_header = data[off]
        off += (data[off + 1] + 1) * 8
    return None


def _routing_final(data: bytes, off: int) -> str | None:
    hdr_len = (data[off + 1] + 1) * 8
    routing_type = data[off + 2]
    segments_left = data[off + 3]
    if segments_left == 0 or len(data) < off + hdr_len:
        return None
    if routing_type == 4:
        # SRH (RFC 8754 §2): Segment List[0] is the last segment, i.e. the final destination.
        start = off + 8
    elif routing_type in (0, 2):
        # Type 0 (RFC 2460 §4.4, deprecated) lists addresses in path order; type 2 (RFC 6275
        # §6.4) carries the single home address. Either way the last one is final.
        start = off + hdr_len - 16
    else:
        return None
    if start < off + 8 or start + 16 > off + hdr_len:
        return None
    return str(ipaddress.IPv6Address(data[start : start + 16]))
