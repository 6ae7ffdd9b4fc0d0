"""What one captured frame is: everything the capture file says about it, nothing inferred.

Always holds: `ts_ns` is an int (never a float); `caplen == len(data)` for records that carry
bytes; `wirelen >= caplen` unless the file itself lies (then kept as the file says: truncation
is not corruption, and a lying file is reported, not repaired).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class LinkType(IntEnum):
    """LINKTYPE_* values from the tcpdump.org link-layer header types registry."""

    NULL = 0
    ETHERNET = 1
    RAW_DLT12 = 12
    """Raw IP as written with DLT_RAW's platform number (most systems)."""
    RAW_DLT14 = 14
    """Raw IP as written with DLT_RAW's OpenBSD number."""
    RAW = 101
    LOOP = 108
    LINUX_SLL = 113
    IPV4 = 228
    IPV6 = 229
    LINUX_SLL2 = 276
    # Records made from text that states header fields but carries no bytes.
    TEXT_FIELDS = 65535


LINKTYPE_NAMES: dict[int, str] = {
    LinkType.NULL: "null",
    LinkType.ETHERNET: "ethernet",
    LinkType.RAW_DLT12: "raw",
    LinkType.RAW_DLT14: "raw",
    LinkType.RAW: "raw",
    LinkType.LOOP: "loop",
    LinkType.LINUX_SLL: "linux-sll",
    LinkType.IPV4: "ipv4",
    LinkType.IPV6: "ipv6",
    LinkType.LINUX_SLL2: "linux-sll2",
    LinkType.TEXT_FIELDS: "text",
}


def linktype_name(linktype: int) -> str:
    """The short name used in JSON output (`ethernet`, `linux-sll`, …, or `linktype-N`)."""
    return LINKTYPE_NAMES.get(linktype, f"linktype-{linktype}")


class Direction(IntEnum):
    """Which way a frame went relative to the capture host, when the capture says so.

    From the Linux SLL/SLL2 packet type or the pcapng `epb_flags` direction bits.
    """

    UNKNOWN = 0
    INBOUND = 1
    OUTBOUND = 2


@dataclass(frozen=True, slots=True, kw_only=True)
class Record:
    """One frame as the capture holds it."""

    index: int
    """1-based frame number, as tshark and Wireshark count."""
    ts_ns: int
    """Timestamp in nanoseconds since the Unix epoch."""
    caplen: int
    """Bytes captured (len(data) for records with bytes)."""
    wirelen: int
    """Bytes the frame had on the wire."""
    linktype: int
    """LINKTYPE_* of the interface the frame was captured on."""
    interface: int = 0
    """pcapng interface id (0 for pcap)."""
    data: bytes = b""
    """The captured bytes."""
    direction: Direction = Direction.UNKNOWN
    """Inbound/outbound when the capture format states it (pcapng epb_flags)."""
    file_offset: int = -1
    """Offset of the frame's bytes in the (decompressed) capture stream (-1 when none)."""
    comment: str = ""
    """A comment the capture or text carried for this frame."""
    stated: object | None = None
    """For text-only records: the fields the text stated (a `textio` dataclass), else None."""
