"""The TCP header (RFC 9293 §3.1) and its options.

Options decoded: EOL, NOP, MSS, window scale, SACK-permitted, SACK blocks, timestamps,
TCP Fast Open (RFC 7413); everything else (MPTCP, TCP-AO, experiments) is kept raw.

Always holds: `decode_tcp` returns a `Tcp` only when data offset >= 5 words and all the
header's bytes are in the data; an option whose length overruns the header ends the option
list as a raw option with the bytes that remain.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

from wiredoctor.decode.values import BadLength, Truncated


class TcpOptionKind(IntEnum):
    """TCP option kinds (IANA tcp-parameters)."""

    EOL = 0
    NOP = 1
    MSS = 2
    WINDOW_SCALE = 3
    SACK_PERMITTED = 4
    SACK = 5
    TIMESTAMPS = 8
    MPTCP = 30
    FAST_OPEN = 34


class TcpFlag(IntEnum):
    """Bits of `Tcp.flags` (12 bits: the 8 classic flags, AE = accurate ECN, 3 reserved)."""

    FIN = 0x001
    SYN = 0x002
    RST = 0x004
    PSH = 0x008
    ACK = 0x010
    URG = 0x020
    ECE = 0x040
    CWR = 0x080
    AE = 0x100


@dataclass(frozen=True, slots=True, kw_only=True)
class TcpMss:
    """tcp.options.mss_val."""

    offset: int
    """Byte offset of the option kind."""
    value: int
    """Maximum segment size."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TcpWindowScale:
    """tcp.options.wscale.shift."""

    offset: int
    """Byte offset of the option kind."""
    shift: int
    """Window scale shift count."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TcpSackPermitted:
    """tcp.options.sack_perm."""

    offset: int
    """Byte offset of the option kind."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TcpSack:
    """tcp.options.sack: the (left edge, right edge) blocks."""

    offset: int
    """Byte offset of the option kind."""
    blocks: tuple[tuple[int, int], ...]
    """SACK blocks in order."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TcpTimestamps:
    """tcp.options.timestamp."""

    offset: int
    """Byte offset of the option kind."""
    tsval: int
    """tcp.options.timestamp.tsval."""
    tsecr: int
    """tcp.options.timestamp.tsecr."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TcpFastOpen:
    """tcp.options.tfo: a cookie (empty in a cookie request)."""

    offset: int
    """Byte offset of the option kind."""
    cookie: bytes
    """The cookie bytes."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TcpRawOption:
    """Any other option (NOP and EOL too), kept as bytes."""

    offset: int
    """Byte offset of the option kind."""
    kind: int
    """tcp.option_kind."""
    data: bytes
    """The bytes after kind and length."""


TcpOption = TcpMss | TcpWindowScale | TcpSackPermitted | TcpSack | TcpTimestamps | TcpFastOpen
TcpAnyOption = TcpOption | TcpRawOption


@dataclass(frozen=True, slots=True, kw_only=True)
class Tcp:
    """A TCP header with decoded options."""

    offset: int
    """Byte offset of the header in the frame."""
    source_port: int
    """tcp.srcport."""
    destination_port: int
    """tcp.dstport."""
    sequence: int
    """tcp.seq_raw."""
    acknowledgment: int
    """tcp.ack_raw."""
    data_offset_words: int
    """Header length in 32-bit words (tcp.hdr_len / 4)."""
    flags: int
    """12 bits, see TcpFlag."""
    window: int
    """tcp.window_size_value (unscaled)."""
    checksum: int
    """tcp.checksum."""
    urgent_pointer: int
    """tcp.urgent_pointer."""
    options: tuple[TcpAnyOption, ...]
    """The options in order."""

    @property
    def header_length(self) -> int:
        """Header length in bytes."""
        return self.data_offset_words * 4

    def option(self, kind: type[TcpOption]) -> TcpOption | None:
        """The first option of the given class, or None."""
        for opt in self.options:
            if isinstance(opt, kind):
                return opt
        return None


def _option(kind: int, pos: int, value: bytes) -> TcpAnyOption:
    if kind == TcpOptionKind.MSS and len(value) == 2:
        return TcpMss(offset=pos, value=int.from_bytes(value, "big"))
    if kind == TcpOptionKind.WINDOW_SCALE and len(value) == 1:
        return TcpWindowScale(offset=pos, shift=value[0])
    if kind == TcpOptionKind.SACK_PERMITTED and not value:
        return TcpSackPermitted(offset=pos)
    if kind == TcpOptionKind.SACK and value and len(value) % 8 == 0:
        blocks = struct.unpack(f"!{len(value) // 4}I", value)
        return TcpSack(offset=pos, blocks=tuple(zip(blocks[::2], blocks[1::2], strict=True)))
    if kind == TcpOptionKind.TIMESTAMPS and len(value) == 8:
        tsval, tsecr = struct.unpack("!II", value)
        return TcpTimestamps(offset=pos, tsval=tsval, tsecr=tsecr)
    if kind == TcpOptionKind.FAST_OPEN:
        return TcpFastOpen(offset=pos, cookie=value)
    return TcpRawOption(offset=pos, kind=kind, data=value)


def _options(data: bytes, start: int, end: int) -> tuple[TcpAnyOption, ...]:
    out: list[TcpAnyOption] = []
    pos = start
    while pos < end:
        kind = data[pos]
        if kind in (TcpOptionKind.EOL, TcpOptionKind.NOP):
            out.append(TcpRawOption(offset=pos, kind=kind, data=b""))
            pos += 1
            if kind == TcpOptionKind.EOL:
                break
            continue
        if pos + 1 >= end:
            out.append(TcpRawOption(offset=pos, kind=kind, data=b""))
            break
        length = data[pos + 1]
        if length < 2 or pos + length > end:
            out.append(TcpRawOption(offset=pos, kind=kind, data=data[pos + 2 : end]))
            break
        out.append(_option(kind, pos, data[pos + 2 : pos + length]))
        pos += length
    return tuple(out)


def decode_tcp(data: bytes, offset: int) -> Tcp | Truncated | BadLength:
    """The TCP header at `offset`."""
    available = len(data) - offset
    if available < 20:
        return Truncated(offset=offset, layer="tcp", needed=20, available=max(available, 0))
    sport, dport, seq, ack, offflags, win, csum, urg = struct.unpack_from("!HHIIHHHH", data, offset)
    words = offflags >> 12
    if words < 5:
        return BadLength(offset=offset, layer="tcp", field="tcp.hdr_len", value=words * 4, limit=20)
    if available < words * 4:
        return Truncated(offset=offset, layer="tcp", needed=words * 4, available=available)
    return Tcp(
        offset=offset,
        source_port=sport,
        destination_port=dport,
        sequence=seq,
        acknowledgment=ack,
        data_offset_words=words,
        flags=offflags & 0x0FFF,
        window=win,
        checksum=csum,
        urgent_pointer=urg,
        options=_options(data, offset + 20, offset + words * 4) if words > 5 else (),
    )
