"""Byte-level comparison of two copies of one packet: what the table columns cannot show.

Starting at the innermost IP header of each copy (the table's `ip_off`), the headers are
laid side by side and every differing byte is named by where it sits: the IPv6 flow label
(RFC 8200 §3), IPv4 options (RFC 791 §3.1) or IPv6 extension headers, the TCP urgent
pointer and options other than MSS / window scale / SACK-permitted / timestamps (RFC 9293
§3.1, RFC 7323), and payload byte ranges. Fields the columns already compare (TTL, ports,
MSS value…) are left to them.

Also `changed_offsets`, the frame offsets where two copies differ once aligned at their IP
headers, for the byte view of one example.

Always holds: packet bytes never raise; every slice is clipped to the captured bytes;
payload ranges are half-open offsets into the L4 payload, at most `_MAX_RANGES` of them.
"""

from __future__ import annotations

import numpy as np

from wiredoctor.diff.fields import Field, bit
from wiredoctor.diff.result import FieldChange
from wiredoctor.errors import WiredoctorError
from wiredoctor.tables import CaptureTables

_MAX_RANGES = 8
_MAX_HEX = 32
# TCP options whose values have their own columns (RFC 9293 §3.2, RFC 7323 §2-3, RFC 2018).
_VALUE_OPTIONS = frozenset({2, 3, 4, 8})


def _hex(data: bytes) -> str:
    return data[:_MAX_HEX].hex() + ("…" if len(data) > _MAX_HEX else "")


def frame_bytes(tables: CaptureTables, frame: int) -> bytes:
    """The captured bytes of `frame`, or b"" when the capture cannot give them (any more)."""
    if tables.read_frame is None:
        return b""
    try:
        return tables.read_frame(frame)
    except WiredoctorError:
        # A closed source or a frame without bytes: the columns still diff the pair.
        return b""


def _tcp_option_shape(options: bytes) -> list[tuple[int, bytes]]:
    """Options as (kind, bytes) with the column-compared values blanked; never raises."""
    out: list[tuple[int, bytes]] = []
    i = 0
    while i < len(options):
        kind = options[i]
        if kind in (0, 1):  # end of list, no-operation: one byte each
            out.append((kind, b""))
            i += 1
            continue
        if i + 1 >= len(options) or options[i + 1] < 2:
            out.append((kind, options[i:]))
            break
        length = options[i + 1]
        body = options[i + 2 : i + length]
        out.append((kind, bytes(len(body)) if kind in _VALUE_OPTIONS else bytes(body)))
        i += length
    return out


def _payload_ranges(pa: bytes, pb: bytes) -> list[FieldChange]:
    if len(pa) != len(pb):
        limit = min(len(pa), len(pb))
        first = next((k for k in range(limit) if pa[k] != pb[k]), limit)
        return [FieldChange(field=f"payload[{first}:]", a=_hex(pa[first:]), b=_hex(pb[first:]))]
    va = np.frombuffer(pa, dtype=np.uint8)
    vb = np.frombuffer(pb, dtype=np.uint8)
    diff = np.flatnonzero(va != vb)
    if diff.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(diff) > 1)
    starts = np.r_[diff[0], diff[breaks + 1]]
    ends = np.r_[diff[breaks], diff[-1]] + 1
    out = [
        FieldChange(field=f"payload[{s}:{e}]", a=_hex(pa[s:e]), b=_hex(pb[s:e]))
        for s, e in zip(starts.tolist()[:_MAX_RANGES], ends.tolist()[:_MAX_RANGES], strict=True)
    ]
    if starts.size > _MAX_RANGES:
        s = int(starts[_MAX_RANGES])
        out.append(FieldChange(field=f"payload[{s}:]", a=_hex(pa[s:]), b=_hex(pb[s:])))
    return out


def _l4_header_len(row: np.void) -> int:
    proto = int(row["ip_proto"])
    if proto == 6:
        return int(row["tcp_hdr_len"])
    if proto in (17, 136, 1, 58):
        return 8  # UDP / UDP-Lite header, ICMP / ICMPv6 echo header (RFC 768, 792, 4443)
    return 0


def _payload(data: bytes, row: np.void) -> bytes:
    l4 = int(row["l4_off"])
    if l4 < 0:
        return b""
    start = l4 + _l4_header_len(row)
    end = int(row["ip_off"]) + int(row["ip_len"])
    return data[start : min(end, len(data))]


def compare_frames(
    data_a: bytes, row_a: np.void, data_b: bytes, row_b: np.void
) -> tuple[int, list[FieldChange]]:
    """(mask bits, changes) that the bytes of the two copies show beyond the columns."""
    bits = 0
    out: list[FieldChange] = []
    ia, ib = int(row_a["ip_off"]), int(row_b["ip_off"])
    if not data_a or not data_b or ia < 0 or ib < 0:
        return 0, []
    version = int(row_a["ip_version"])
    if version != int(row_b["ip_version"]):
        return 0, []
    ha, hb = int(row_a["ip_hdr_len"]), int(row_b["ip_hdr_len"])
    base_len = 20 if version == 4 else 40
    if version == 6 and len(data_a) >= ia + 4 and len(data_b) >= ib + 4:
        flow_a = int.from_bytes(data_a[ia : ia + 4], "big") & 0xFFFFF
        flow_b = int.from_bytes(data_b[ib : ib + 4], "big") & 0xFFFFF
        if flow_a != flow_b:
            bits |= bit(Field.IPV6_FLOW)
            out.append(FieldChange(field="ipv6.flow", a=flow_a, b=flow_b))
    opts_a = data_a[ia + base_len : ia + ha]
    opts_b = data_b[ib + base_len : ib + hb]
    if opts_a != opts_b:
        bits |= bit(Field.IP_OPTIONS)
        name = "ip.options" if version == 4 else "ipv6.ext_headers"
        out.append(FieldChange(field=name, a=_hex(opts_a), b=_hex(opts_b)))

    proto = int(row_a["ip_proto"])
    la, lb = int(row_a["l4_off"]), int(row_b["l4_off"])
    if proto == 6 and proto == int(row_b["ip_proto"]) and la >= 0 and lb >= 0:
        urg_a, urg_b = data_a[la + 18 : la + 20], data_b[lb + 18 : lb + 20]
        if len(urg_a) == 2 and len(urg_b) == 2 and urg_a != urg_b:
            bits |= bit(Field.TCP_URGENT)
            out.append(
                FieldChange(
                    field="tcp.urgent_pointer",
                    a=int.from_bytes(urg_a, "big"),
                    b=int.from_bytes(urg_b, "big"),
                )
            )
        ta = data_a[la + 20 : la + int(row_a["tcp_hdr_len"])]
        tb = data_b[lb + 20 : lb + int(row_b["tcp_hdr_len"])]
        if _tcp_option_shape(ta) != _tcp_option_shape(tb):
            bits |= bit(Field.TCP_OPTIONS)
            out.append(FieldChange(field="tcp.options", a=_hex(ta), b=_hex(tb)))

    pa, pb = _payload(data_a, row_a), _payload(data_b, row_b)
    if pa != pb:
        bits |= bit(Field.PAYLOAD)
        out.extend(_payload_ranges(pa, pb))
    return bits, out


def changed_offsets(
    data_a: bytes, row_a: np.void, data_b: bytes, row_b: np.void
) -> tuple[set[int], set[int]]:
    """Offsets in A's frame and in B's frame whose bytes differ, aligned at the IP headers.

    Bytes before the IP header (link layer) are compared from the IP header backwards, so
    a pushed VLAN tag or a different link type shows as changed link bytes only.
    """
    ia, ib = int(row_a["ip_off"]), int(row_b["ip_off"])
    if ia < 0 or ib < 0:
        return set(), set()
    in_a: set[int] = set()
    in_b: set[int] = set()
    after = min(len(data_a) - ia, len(data_b) - ib)
    for k in range(after):
        if data_a[ia + k] != data_b[ib + k]:
            in_a.add(ia + k)
            in_b.add(ib + k)
    in_a.update(range(ia + after, len(data_a)))
    in_b.update(range(ib + after, len(data_b)))
    before = min(ia, ib)
    for k in range(1, before + 1):
        if data_a[ia - k] != data_b[ib - k]:
            in_a.add(ia - k)
            in_b.add(ib - k)
    in_a.update(range(0, ia - before))
    in_b.update(range(0, ib - before))
    return in_a, in_b
