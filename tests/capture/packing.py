"""Hand-packed capture bytes for the reader tests, independent of wiredoctor's writers.

Each helper packs exactly what the format documents say (draft-ietf-opsawg-pcap,
draft-ietf-opsawg-pcapng), with knobs for the lies and oddities the readers must survive.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

PCAP_US = 0xA1B2C3D4
PCAP_NS = 0xA1B23C4D
PCAP_KUZNETZOV = 0xA1B2CD34


def order(big: bool) -> str:
    return ">" if big else "<"


@dataclass(frozen=True)
class PcapRecord:
    seconds: int
    fraction: int
    data: bytes
    wirelen: int | None = None
    incl_len: int | None = None  # lie about the captured length
    pkt_type: int = 0  # modified format only


def pcap_header(
    *, big: bool = False, magic: int = PCAP_US, snaplen: int = 65535, network: int = 1
) -> bytes:
    return struct.pack(order(big) + "IHHiIII", magic, 2, 4, 0, 0, snaplen, network)


def pcap_record(record: PcapRecord, *, big: bool = False, modified: bool = False) -> bytes:
    incl = len(record.data) if record.incl_len is None else record.incl_len
    wire = len(record.data) if record.wirelen is None else record.wirelen
    head = struct.pack(order(big) + "IIII", record.seconds, record.fraction, incl, wire)
    if modified:
        # ifindex, protocol (ETH_P_IP), pkt_type, pad
        head += struct.pack(order(big) + "IHBB", 3, 0x0800, record.pkt_type, 0)
    return head + record.data


def pcap_file(
    records: list[PcapRecord],
    *,
    big: bool = False,
    magic: int = PCAP_US,
    snaplen: int = 65535,
    network: int = 1,
) -> bytes:
    modified = magic == PCAP_KUZNETZOV
    body = b"".join(pcap_record(r, big=big, modified=modified) for r in records)
    return pcap_header(big=big, magic=magic, snaplen=snaplen, network=network) + body


def option(code: int, value: bytes, *, big: bool = False) -> bytes:
    return struct.pack(order(big) + "HH", code, len(value)) + value + b"\x00" * (-len(value) % 4)


def end_of_options(*, big: bool = False) -> bytes:
    return struct.pack(order(big) + "HH", 0, 0)


def block(
    block_type: int, body: bytes, *, big: bool = False, stated_length: int | None = None
) -> bytes:
    body += b"\x00" * (-len(body) % 4)
    total = len(body) + 12
    stated = total if stated_length is None else stated_length
    fmt = order(big) + "II"
    return struct.pack(fmt, block_type, stated) + body + struct.pack(order(big) + "I", stated)


def shb(*, big: bool = False, options: bytes = b"", major: int = 1) -> bytes:
    body = struct.pack(order(big) + "IHHq", 0x1A2B3C4D, major, 0, -1) + options
    return block(0x0A0D0D0A, body, big=big)


def idb(
    *,
    big: bool = False,
    linktype: int = 1,
    snaplen: int = 0,
    tsresol: int | None = None,
    tsoffset: int | None = None,
) -> bytes:
    options = b""
    if tsresol is not None:
        options += option(9, bytes([tsresol]), big=big)
    if tsoffset is not None:
        options += option(14, struct.pack(order(big) + "q", tsoffset), big=big)
    if options:
        options += end_of_options(big=big)
    return block(1, struct.pack(order(big) + "HHI", linktype, 0, snaplen) + options, big=big)


def epb(
    *,
    big: bool = False,
    interface: int = 0,
    units: int = 0,
    data: bytes = b"",
    wirelen: int | None = None,
    flags: int | None = None,
    comment: bytes | None = None,
    caplen: int | None = None,
) -> bytes:
    options = b""
    if comment is not None:
        options += option(1, comment, big=big)
    if flags is not None:
        options += option(2, struct.pack(order(big) + "I", flags), big=big)
    if options:
        options += end_of_options(big=big)
    fixed = struct.pack(
        order(big) + "IIIII",
        interface,
        units >> 32,
        units & 0xFFFF_FFFF,
        len(data) if caplen is None else caplen,
        len(data) if wirelen is None else wirelen,
    )
    padded = data + b"\x00" * (-len(data) % 4)
    return block(6, fixed + padded + options, big=big)


def opb(
    *,
    big: bool = False,
    interface: int = 0,
    drops: int = 0,
    units: int = 0,
    data: bytes = b"",
    wirelen: int | None = None,
    flags: int | None = None,
) -> bytes:
    options = b""
    if flags is not None:
        options += option(2, struct.pack(order(big) + "I", flags), big=big)
        options += end_of_options(big=big)
    fixed = struct.pack(
        order(big) + "HHIIII",
        interface,
        drops,
        units >> 32,
        units & 0xFFFF_FFFF,
        len(data),
        len(data) if wirelen is None else wirelen,
    )
    padded = data + b"\x00" * (-len(data) % 4)
    return block(2, fixed + padded + options, big=big)


def spb(*, big: bool = False, data: bytes = b"", wirelen: int | None = None) -> bytes:
    original = len(data) if wirelen is None else wirelen
    return block(3, struct.pack(order(big) + "I", original) + data, big=big)


def frame(n: int, size: int = 60) -> bytes:
    """Distinct, recognisable frame bytes (not a valid packet; the readers do not care)."""
    return bytes((n * 7 + i) & 0xFF for i in range(size))
