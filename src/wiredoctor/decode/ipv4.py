"""The IPv4 header (RFC 791) with its options, and the destination its pseudo-header uses.

Always holds: `decode_ipv4` returns an `IPv4` only when the whole header (IHL*4 bytes) is in
the data and IHL >= 5; a shorter header is `Truncated`, an IHL below 5 a `BadLength`. The
total length is kept as stated (0 for TSO / BIG TCP super-frames, RFC 791 §3.1 allows no such
value; the verifier derives the real length from the frame).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

from wiredoctor.decode.values import BadLength, Truncated


class IPv4OptionKind(IntEnum):
    """Option types whose layout matters here (RFC 791 §3.1, IANA ip-parameters)."""

    END = 0
    NOP = 1
    LSRR = 131  # loose source and record route
    SSRR = 137  # strict source and record route


@dataclass(frozen=True, slots=True, kw_only=True)
class IPv4Option:
    """One IPv4 option: its type, length and data bytes (single-byte options have no length)."""

    offset: int
    """Byte offset of the option type in the frame."""
    kind: int
    """ip.opt.type."""
    length: int
    """ip.opt.len (1 for END and NOP)."""
    data: bytes
    """The bytes after type and length."""


@dataclass(frozen=True, slots=True, kw_only=True)
class IPv4:
    """An IPv4 header."""

    offset: int
    """Byte offset of the header in the frame."""
    version: int
    """ip.version (4)."""
    header_length_words: int
    """IHL: header length in 32-bit words (ip.hdr_len / 4)."""
    dsfield: int
    """ip.dsfield: DSCP << 2 | ECN."""
    total_length: int
    """ip.len as stated (0 on TSO / BIG TCP super-frames)."""
    identification: int
    """ip.id."""
    flags: int
    """3 bits: 0x4 reserved, 0x2 DF, 0x1 MF."""
    fragment_offset: int
    """ip.frag_offset in 8-byte units."""
    ttl: int
    """ip.ttl."""
    protocol: int
    """ip.proto."""
    checksum: int
    """ip.checksum."""
    source: bytes
    """ip.src, 4 bytes."""
    destination: bytes
    """ip.dst, 4 bytes, as on the wire."""
    options: tuple[IPv4Option, ...]
    """The options in order (END and NOP included)."""

    @property
    def header_length(self) -> int:
        """Header length in bytes."""
        return self.header_length_words * 4

    @property
    def more_fragments(self) -> bool:
        """ip.flags.mf."""
        return bool(self.flags & 1)

    @property
    def dont_fragment(self) -> bool:
        """ip.flags.df."""
        return bool(self.flags & 2)

    @property
    def is_fragment(self) -> bool:
        """True for any fragment of a larger datagram (MF set or a non-zero offset)."""
        return self.more_fragments or self.fragment_offset != 0

    @property
    def final_destination(self) -> bytes:
        """Where the datagram is going: the last address of an unfinished source route.

        RFC 791 §3.1 (LSRR/SSRR): while the pointer has not passed the route data, the
        destination field holds the next hop and the route's last address is the final
        destination; the TCP/UDP pseudo-header uses the final one (RFC 1122 §4.2.2.7 via
        §3.2.1.8: the transport sees the source route's end points).
        """
        for option in self.options:
            if option.kind in (IPv4OptionKind.LSRR, IPv4OptionKind.SSRR) and len(option.data) >= 5:
                pointer = option.data[0]
                route = option.data[1:]
                usable = len(route) - len(route) % 4
                # The pointer counts octets from the option type (1-based), so route data
                # starts at 4 and an address is left while pointer <= length - 3.
                if usable and pointer <= len(option.data) - 1:
                    return route[usable - 4 : usable]
        return self.destination


def _options(data: bytes, start: int, end: int) -> tuple[IPv4Option, ...]:
    """The options in data[start:end]; a length that overruns stops the walk (kept as data)."""
    out: list[IPv4Option] = []
    pos = start
    while pos < end:
        kind = data[pos]
        if kind in (IPv4OptionKind.END, IPv4OptionKind.NOP):
            out.append(IPv4Option(offset=pos, kind=kind, length=1, data=b""))
            pos += 1
            if kind == IPv4OptionKind.END:
                break
            continue
        if pos + 1 >= end:
            out.append(IPv4Option(offset=pos, kind=kind, length=0, data=b""))
            break
        length = data[pos + 1]
        if length < 2 or pos + length > end:
            out.append(IPv4Option(offset=pos, kind=kind, length=length, data=data[pos + 2 : end]))
            break
        out.append(
            IPv4Option(offset=pos, kind=kind, length=length, data=data[pos + 2 : pos + length])
        )
        pos += length
    return tuple(out)


def decode_ipv4(data: bytes, offset: int) -> IPv4 | Truncated | BadLength:
    """The IPv4 header at `offset`."""
    available = len(data) - offset
    if available < 20:
        return Truncated(offset=offset, layer="ip", needed=20, available=max(available, 0))
    vihl, tos, total, ident, flagfrag, ttl, proto, csum = struct.unpack_from(
        "!BBHHHBBH", data, offset
    )
    ihl = vihl & 0xF
    if ihl < 5:
        return BadLength(offset=offset, layer="ip", field="ip.hdr_len", value=ihl * 4, limit=20)
    if available < ihl * 4:
        return Truncated(offset=offset, layer="ip", needed=ihl * 4, available=available)
    return IPv4(
        offset=offset,
        version=vihl >> 4,
        header_length_words=ihl,
        dsfield=tos,
        total_length=total,
        identification=ident,
        flags=flagfrag >> 13,
        fragment_offset=flagfrag & 0x1FFF,
        ttl=ttl,
        protocol=proto,
        checksum=csum,
        source=data[offset + 12 : offset + 16],
        destination=data[offset + 16 : offset + 20],
        options=_options(data, offset + 20, offset + ihl * 4) if ihl > 5 else (),
    )
