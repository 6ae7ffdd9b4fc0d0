"""What a byte stream is, decided by its first bytes (never by the file name).

pcap magics (tcpdump.org pcap file format / draft-ietf-opsawg-pcap §4): 0xa1b2c3d4 µs,
0xa1b23c4d ns, 0xa1b2cd34 the modified ("Kuznetzov") µs format with 8 more bytes per record
header; written in the writer's byte order, so read both ways. pcapng starts with a Section
Header Block, type 0x0a0d0d0a (draft-ietf-opsawg-pcapng §4.1), a palindrome, so its
byte order comes from the byte-order magic 0x1a2b3c4d that follows the block length.

Always holds: `sniff` never raises; text is only claimed for bytes that decode and are
mostly printable.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class Kind(IntEnum):
    """Formats the readers know."""

    UNKNOWN = 0
    PCAP = 1
    PCAPNG = 2
    TEXT = 3


@dataclass(frozen=True, slots=True, kw_only=True)
class PcapFlavour:
    """How one pcap magic number says the file is written."""

    big_endian: bool
    """Header fields are big-endian."""
    nanosecond: bool
    """The fraction field counts nanoseconds (else microseconds)."""
    extended_header: bool
    """Record headers carry 8 extra bytes (ifindex, protocol, pkt_type, pad)."""


PCAP_MAGICS: dict[bytes, PcapFlavour] = {
    b"\xd4\xc3\xb2\xa1": PcapFlavour(big_endian=False, nanosecond=False, extended_header=False),
    b"\xa1\xb2\xc3\xd4": PcapFlavour(big_endian=True, nanosecond=False, extended_header=False),
    b"\x4d\x3c\xb2\xa1": PcapFlavour(big_endian=False, nanosecond=True, extended_header=False),
    b"\xa1\xb2\x3c\x4d": PcapFlavour(big_endian=True, nanosecond=True, extended_header=False),
    b"\x34\xcd\xb2\xa1": PcapFlavour(big_endian=False, nanosecond=False, extended_header=True),
    b"\xa1\xb2\xcd\x34": PcapFlavour(big_endian=True, nanosecond=False, extended_header=True),
}

PCAPNG_SHB = b"\x0a\x0d\x0d\x0a"

TEXT_SAMPLE = 1 << 16
"""Bytes looked at to decide whether input is text."""
TEXT_PRINTABLE_SHARE = 0.95
"""Share of printable (or whitespace) characters text must have."""


def sniff(head: bytes) -> Kind:
    """The kind of stream whose first bytes are `head` (give at least TEXT_SAMPLE bytes)."""
    if head[:4] in PCAP_MAGICS:
        return Kind.PCAP
    if head[:4] == PCAPNG_SHB:
        return Kind.PCAPNG
    if looks_like_text(head):
        return Kind.TEXT
    return Kind.UNKNOWN


def decode_text(raw: bytes) -> str:
    """UTF-8 when it is, else latin-1 (which decodes anything)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def looks_like_text(head: bytes) -> bool:
    """True when `head` decodes and at least 95% of it is printable or whitespace."""
    if not head or b"\x00" in head:
        return False
    sample = head[:TEXT_SAMPLE]
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError as problem:
        # A sample cut inside a multi-byte character is still UTF-8.
        if problem.start >= len(sample) - 3 and problem.reason == "unexpected end of data":
            text = sample[: problem.start].decode("utf-8")
        else:
            text = sample.decode("latin-1")
    if not text:
        return False
    printable = sum(1 for ch in text if ch.isprintable() or ch in "\t\n\r\f\v")
    return printable >= TEXT_PRINTABLE_SHARE * len(text)
