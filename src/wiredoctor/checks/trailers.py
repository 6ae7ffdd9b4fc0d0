"""Naming the bytes after an IP datagram: Ethernet FCS, or a tap/switch trailer.

Formats, as Wireshark's heuristic trailer dissectors describe them:
* FCS — IEEE 802.3 §3.2.9: CRC-32 of the frame from the destination address on, sent least
  significant byte first.
* VSS-Monitoring (packet-vssmonitoring.c): an optional 8-byte timestamp (seconds, then
  nanoseconds whose top two bits name the clock source) and a 1- or 2-byte port stamp.
* Metamako (packet-metamako.c): original FCS, optional TLV extensions, seconds, nanoseconds,
  then one word of flags (8 bits), device id (16) and port (8); maybe a new FCS after it.
* Exablaze (packet-exablaze.c): 16 bytes — original FCS, device, port, seconds, a 40-bit
  binary fraction of a second, one spare byte — maybe followed by a new FCS.
* Arista 7150 (alohr/wireshark-dissectors packet-arista.c; Arista EOS "Timestamping on the
  7150 Series"): a 4-byte hardware tick counter inserted before a recomputed FCS.
The timestamp heuristics (within 30 days, one week for Exablaze, of the capture time) are the
dissectors'. Always holds: classification never raises; short or odd bytes are "unknown".
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any

from wiredoctor.capture.record import LinkType

_MONTH = 30 * 86400
_WEEK = 7 * 86400
_NS = 1_000_000_000


@dataclass(frozen=True, slots=True, kw_only=True)
class TrailerInfo:
    """What one frame's trailer turned out to be."""

    kind: str
    """`fcs`, `vss-monitoring`, `metamako`, `exablaze`, `arista` or `unknown`."""
    length: int
    """Trailer bytes examined (FCS included)."""
    fcs: bool
    """True when the last four bytes are a valid Ethernet FCS."""
    fields: dict[str, Any] = field(default_factory=dict)
    """Decoded fields (port, device, seconds, nanoseconds, …), JSON-serialisable."""


def _be(data: bytes, off: int, size: int) -> int:
    return int.from_bytes(data[off : off + size], "big")


def _near(seconds: int, capture_s: int, window: int) -> bool:
    return abs(seconds - capture_s) <= window


def fcs_valid(frame: bytes) -> bool:
    """True when the last four bytes are the Ethernet CRC-32 of everything before them."""
    if len(frame) < 18:
        return False
    return zlib.crc32(frame[:-4]) == int.from_bytes(frame[-4:], "little")


def _exablaze(body: bytes, capture_s: int) -> dict[str, Any] | None:
    for tail in (0, 4):
        off = len(body) - tail - 16
        if off < 0:
            continue
        seconds = _be(body, off + 6, 4)
        if not _near(seconds, capture_s, _WEEK):
            continue
        fraction = _be(body, off + 10, 5)
        return {
            "original_fcs": _be(body, off, 4),
            "device": body[off + 4],
            "port": body[off + 5],
            "seconds": seconds,
            "nanoseconds": (fraction * _NS) >> 40,
        }
    return None


def _metamako(body: bytes, capture_s: int) -> dict[str, Any] | None:
    size = len(body)
    for _attempt in range(2):  # without, then with, an unverified trailing FCS
        if size < 16:
            return None
        meta = _be(body, size - 4, 4)
        nanos = _be(body, size - 8, 4)
        seconds = _be(body, size - 12, 4)
        rest = size - 12
        if seconds > 3600 and nanos < _NS and _near(seconds, capture_s, _MONTH):
            flags = meta >> 24
            tlvs = 0
            if flags & 0x2:
                # TLV extensions, parsed from the timestamp backwards; bit 5 marks the last.
                while rest >= 4:
                    word = _be(body, rest - 4, 4)
                    words = (word >> 6) & 0x3
                    if word & 0x1F == 0x1F:
                        words = ((word >> 6) & 0x3FF) + 1
                    rest -= 4 + 4 * words
                    tlvs += 1
                    if (word >> 5) & 1:
                        break
            if rest >= 4:
                return {
                    "original_fcs": _be(body, rest - 4, 4),
                    "seconds": seconds,
                    "nanoseconds": nanos,
                    "flags": flags,
                    "device": (meta >> 8) & 0xFFFF,
                    "port": meta & 0xFF,
                    "extensions": tlvs,
                }
        size -= 4
    return None


def _vss(body: bytes, capture_s: int) -> dict[str, Any] | None:
    size = len(body)
    if size not in (1, 2, 8, 9, 10):
        return None
    out: dict[str, Any] = {}
    off = 0
    if size >= 8:
        seconds = _be(body, 0, 4)
        raw = _be(body, 4, 4)
        nanos = raw & 0x3FFFFFFF
        if seconds == 0 or nanos >= _NS:
            return None
        if seconds > 3600 and not _near(seconds, capture_s, _MONTH):
            return None
        out.update(seconds=seconds, nanoseconds=nanos, clock_source=raw >> 30)
        off = 8
    if size - off:
        out["port"] = _be(body, off, size - off)
    return out


def classify_trailer(frame: bytes, start: int, end: int, linktype: int, ts_ns: int) -> TrailerInfo:
    """Name the trailer at `frame[start:end]`; `ts_ns` is the frame's capture time."""
    start = max(0, min(start, len(frame)))
    end = max(start, min(end, len(frame)))
    body = frame[start:end]
    capture_s = ts_ns // _NS
    has_fcs = linktype == LinkType.ETHERNET and end == len(frame) and len(body) >= 4
    has_fcs = has_fcs and fcs_valid(frame)
    if has_fcs:
        body = body[:-4]
    length = end - start
    if not body:
        kind = "fcs" if has_fcs else "unknown"
        return TrailerInfo(kind=kind, length=length, fcs=has_fcs)
    found = _exablaze(body, capture_s)
    if found is not None:
        return TrailerInfo(kind="exablaze", length=length, fcs=has_fcs, fields=found)
    found = _metamako(body, capture_s)
    if found is not None:
        return TrailerInfo(kind="metamako", length=length, fcs=has_fcs, fields=found)
    if has_fcs and len(body) == 4:
        ticks = _be(body, 0, 4)
        # The 7150 skips bit 7 of its 31-bit tick counter.
        fields = {"ticks": ((ticks & 0xFFFFFF00) >> 1) | (ticks & 0x7F)}
        return TrailerInfo(kind="arista", length=length, fcs=True, fields=fields)
    found = _vss(body, capture_s)
    if found is not None:
        return TrailerInfo(kind="vss-monitoring", length=length, fcs=has_fcs, fields=found)
    return TrailerInfo(kind="unknown", length=length, fcs=has_fcs)
