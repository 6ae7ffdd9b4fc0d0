"""The pcap reader: the 24-byte file header, and the walker that indexes the records.

File format (draft-ietf-opsawg-pcap §4-§5): a file header (magic, version, reserved,
snaplen, link type with FCS bits in the top bits) then records of a 16-byte header
(seconds, fraction, captured length, original length) and the captured bytes. The modified
format (magic 0xa1b2cd34) adds ifindex (4), protocol (2), pkt_type (1) and a pad byte.
Records are indexed by `pcap_kernel` (numba, large captures) or `pcap_plain` (small ones);
the caller of `walk` says which.

Always holds: importing this module does not import numba; both walks read only inside the
window they are given and give the same columns, positions and messages; a captured length
above 256 KiB that also exceeds the snaplen stops the walk (no capture program writes one;
Wireshark refuses the same).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from wiredoctor.capture import pcap_plain
from wiredoctor.capture.detect import PCAP_MAGICS, PcapFlavour
from wiredoctor.capture.pcap_format import (
    BAD_CAPLEN,
    EXTENDED_HEADER_LEN,
    FILE_HEADER_LEN,
    HUGE_CAPLEN,
    LINKTYPE_MASK,
    MAX_PLAIN_CAPLEN,
    RECORD_HEADER_LEN,
)
from wiredoctor.capture.walk import Columns, Status, Step


@dataclass(frozen=True, slots=True, kw_only=True)
class PcapHeader:
    """The pcap file header."""

    flavour: PcapFlavour
    """Byte order, time unit and record header size, from the magic."""
    version_major: int
    """2 for every file written since 1998."""
    version_minor: int
    """4 for every file written since 1998."""
    snaplen: int
    """Largest number of bytes captured per packet."""
    linktype: int
    """LINKTYPE_* of every record."""
    fcs_bits: int
    """The top bits of the LinkType field (FCS length information), usually 0."""


def parse_header(head: bytes) -> PcapHeader | None:
    """The file header from the first 24 bytes, None when fewer are given or the magic is not
    a pcap magic."""
    flavour = PCAP_MAGICS.get(head[:4])
    if flavour is None or len(head) < FILE_HEADER_LEN:
        return None
    order: Literal["big", "little"] = "big" if flavour.big_endian else "little"
    network = int.from_bytes(head[20:24], order)
    return PcapHeader(
        flavour=flavour,
        version_major=int.from_bytes(head[4:6], order),
        version_minor=int.from_bytes(head[6:8], order),
        snaplen=int.from_bytes(head[16:20], order),
        linktype=network & LINKTYPE_MASK,
        fcs_bits=network >> 26,
    )


class PcapWalker:
    """Walks the records of one pcap file (implements walk.Walker)."""

    def __init__(self, header: PcapHeader) -> None:
        self.header = header
        self.min_record = (
            EXTENDED_HEADER_LEN if header.flavour.extended_header else RECORD_HEADER_LEN
        )

    def walk(self, buf: npt.NDArray[np.uint8], pos: int, columns: Columns, compiled: bool) -> Step:
        head = self.header
        walk_pcap: Callable[..., tuple[int, int, int, int]] = pcap_plain.walk_pcap
        if compiled:
            # Loaded only here: loading compiled code costs more than walking a small capture.
            from wiredoctor.native.library import kernel

            walk_pcap = kernel("walk_pcap")
        count, pos, code, arg = walk_pcap(
            buf,
            pos,
            head.flavour.big_endian,
            head.flavour.nanosecond,
            head.flavour.extended_header,
            head.snaplen,
            columns.data_off,
            columns.caplen,
            columns.wirelen,
            columns.ts_ns,
            columns.direction,
        )
        columns.linktype[:count] = head.linktype & 0xFFFF
        columns.iface[:count] = 0
        columns.comment_off[:count] = -1
        columns.comment_len[:count] = 0
        if not head.flavour.extended_header:
            columns.direction[:count] = 0
        if code == BAD_CAPLEN:
            problem = (
                f"record claims {arg} captured bytes, more than the snaplen {head.snaplen} "
                f"and more than {MAX_PLAIN_CAPLEN}"
            )
            return Step(count=count, pos=pos, status=Status.STOP, problem=problem)
        if code == HUGE_CAPLEN:
            problem = f"record claims {arg} captured bytes, more than any capture holds"
            return Step(count=count, pos=pos, status=Status.STOP, problem=problem)
        status = Status(code)
        problem = ""
        if status == Status.PARTIAL:
            have = buf.shape[0] - pos
            if arg == self.min_record:
                problem = f"record header incomplete ({have} of {arg} bytes)"
            else:
                problem = f"record incomplete ({have} of {arg} bytes)"
        return Step(count=count, pos=pos, status=status, need=arg, problem=problem)


__all__ = [
    "FILE_HEADER_LEN",
    "LINKTYPE_MASK",
    "MAX_PLAIN_CAPLEN",
    "PcapHeader",
    "PcapWalker",
    "parse_header",
]
