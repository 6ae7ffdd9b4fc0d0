"""Fixtures for the oracle tests: the shared corpus and a small pcap/pcapng reader.

The reader is deliberately tiny and independent of the package's own capture layer, so the
oracle tests measure the decoders and nothing else.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from wiredoctor.capture.record import Record

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus"

PCAP_MAGICS = {
    b"\xd4\xc3\xb2\xa1": ("<", 1000),
    b"\xa1\xb2\xc3\xd4": (">", 1000),
    b"\x4d\x3c\xb2\xa1": ("<", 1),
    b"\xa1\xb2\x3c\x4d": (">", 1),
    b"\x34\xcd\xb2\xa1": ("<", 1000),  # Kuznetzov's modified pcap
    b"\xa1\xb2\xcd\x34": (">", 1000),
}


def _pcap(raw: bytes) -> Iterator[Record]:
    order, scale = PCAP_MAGICS[raw[:4]]
    modified = raw[:4] in (b"\x34\xcd\xb2\xa1", b"\xa1\xb2\xcd\x34")
    (linktype,) = struct.unpack_from(order + "I", raw, 20)
    linktype &= 0x0FFFFFFF
    pos, index = 24, 0
    while pos + 16 <= len(raw):
        sec, frac, incl, orig = struct.unpack_from(order + "IIII", raw, pos)
        start = pos + (24 if modified else 16)
        data = raw[start : start + incl]
        if len(data) < incl:
            break
        index += 1
        yield Record(
            index=index,
            ts_ns=sec * 1_000_000_000 + frac * scale,
            caplen=incl,
            wirelen=orig,
            linktype=linktype,
            data=data,
            file_offset=pos,
        )
        pos = start + incl


def _pcapng(raw: bytes) -> Iterator[Record]:
    pos, index, order = 0, 0, "<"
    links: list[int] = []
    scales: list[tuple[int, int]] = []  # (multiplier, divisor) to nanoseconds per interface
    while pos + 12 <= len(raw):
        (btype,) = struct.unpack_from(order + "I", raw, pos)
        if btype == 0x0A0D0D0A:
            order = "<" if raw[pos + 8 : pos + 12] == b"\x4d\x3c\x2b\x1a" else ">"
            links, scales = [], []
        (blen,) = struct.unpack_from(order + "I", raw, pos + 4)
        if blen < 12:
            break
        body = raw[pos + 8 : pos + blen - 4]
        if btype == 1:
            links.append(struct.unpack_from(order + "H", body, 0)[0])
            scales.append(_tsresol(body, order))
        elif btype in (6, 3, 2):
            if btype == 6:
                iface, hi, lo, incl, orig = struct.unpack_from(order + "IIIII", body, 0)
                data = body[20 : 20 + incl]
            elif btype == 2:  # obsolete Packet Block: 16-bit interface id and drops count
                iface, _, hi, lo, incl, orig = struct.unpack_from(order + "HHIIII", body, 0)
                data = body[20 : 20 + incl]
            else:
                iface, hi, lo = 0, 0, 0
                (orig,) = struct.unpack_from(order + "I", body, 0)
                data = body[4 : 4 + orig]
                incl = len(data)
            index += 1
            yield Record(
                index=index,
                # A few corpus files hold absurd times; keep them in int64 range.
                ts_ns=(((hi << 32) | lo) * scales[iface][0] // scales[iface][1]) % (1 << 63)
                if iface < len(scales)
                else 0,
                caplen=incl,
                wirelen=orig,
                linktype=links[iface] if iface < len(links) else -1,
                interface=iface,
                data=bytes(data),
                file_offset=pos,
            )
        elif btype in (0x0BAD, 0x40000BAD):
            index += 1  # tshark numbers custom blocks as frames; keep its numbering
        pos += (blen + 3) & ~3  # some writers forget the 32-bit padding in the length


def _tsresol(body: bytes, order: str) -> tuple[int, int]:
    """The if_tsresol option of an interface block as (multiplier, divisor) to nanoseconds."""
    pos = 8
    while pos + 4 <= len(body):
        code, length = struct.unpack_from(order + "HH", body, pos)
        if code == 0:
            break
        if code == 9 and length >= 1:
            res = body[pos + 4]
            per_second = 2 ** (res & 0x7F) if res & 0x80 else 10**res
            return 1_000_000_000, per_second
        pos += 4 + length + (-length % 4)
    return 1000, 1


def read_records(path: Path) -> list[Record]:
    """Every record of a pcap or pcapng file."""
    raw = path.read_bytes()
    if raw[:4] == b"\x0a\x0d\x0d\x0a":
        return list(_pcapng(raw))
    return list(_pcap(raw))


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The shared capture corpus, or a visible skip when it is not beside the project."""
    if not (CORPUS / "pcaps").is_dir():
        pytest.skip(f"shared capture corpus not found at {CORPUS}")
    return CORPUS


@pytest.fixture(scope="session")
def reader() -> Callable[[Path], list[Record]]:
    """The test-local capture reader."""
    return read_records
