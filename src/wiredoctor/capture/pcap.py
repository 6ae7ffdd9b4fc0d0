"""The pcap reader: the 24-byte file header in Python, record headers in a numba kernel.

File format (draft-ietf-opsawg-pcap §4-§5): a file header (magic, version, reserved,
snaplen, link type with FCS bits in the top bits) then records of a 16-byte header
(seconds, fraction, captured length, original length) and the captured bytes. The modified
format (magic 0xa1b2cd34) adds ifindex (4), protocol (2), pkt_type (1) and a pad byte.

Always holds: the kernel reads only inside the window it is given (every read checks its
bounds first); a record is indexed only when all its bytes are in the window; a captured
length above 256 KiB that also exceeds the snaplen stops the walk (no capture program
writes one; Wireshark refuses the same).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numba
import numpy as np
import numpy.typing as npt

from wiredoctor.capture.detect import PCAP_MAGICS, PcapFlavour
from wiredoctor.capture.readint import u32
from wiredoctor.capture.walk import Columns, Status, Step

FILE_HEADER_LEN = 24
MAX_PLAIN_CAPLEN = 262144
"""libpcap's MAXIMUM_SNAPLEN: larger records must be allowed by the file's snaplen."""
MAX_RECORD = 64 << 20
"""Larger records are treated as lies whatever the snaplen says (bounds one window)."""

# draft-ietf-opsawg-pcap §5: the LinkType field's top bits carry FCS information; the
# link type proper is the low 26 bits (libpcap LT_LINKTYPE).
LINKTYPE_MASK = 0x03FF_FFFF

# Kernel status codes beyond walk.Status.
_BAD_CAPLEN = 10
_HUGE_CAPLEN = 11

# linux/if_packet.h packet types in the modified format's pkt_type byte.
_PACKET_OUTGOING = 4


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


@numba.njit(cache=True)
def walk_pcap(
    buf: npt.NDArray[np.uint8],
    pos: int,
    big: bool,
    nanosecond: bool,
    extended: bool,
    snaplen: int,
    data_off: npt.NDArray[np.int64],
    caplen: npt.NDArray[np.uint32],
    wirelen: npt.NDArray[np.uint32],
    ts_ns: npt.NDArray[np.int64],
    direction: npt.NDArray[np.uint8],
) -> tuple[int, int, int, int]:
    """Index records from `pos`: (rows filled, pos, status code, bytes needed / bad length).

    Fills the per-record columns (and `direction` for the modified format); the columns
    that are the same for every pcap record are filled by the caller, vectorised.
    """
    size = buf.shape[0]
    capacity = data_off.shape[0]
    header = 24 if extended else 16
    unit = 1 if nanosecond else 1000
    n = 0
    while True:
        if pos >= size:
            return n, pos, 0, 0
        if n >= capacity:
            return n, pos, 2, 0
        if pos + header > size:
            return n, pos, 1, header
        seconds = u32(buf, pos, big)
        fraction = u32(buf, pos + 4, big)
        incl = u32(buf, pos + 8, big)
        orig = u32(buf, pos + 12, big)
        if incl > MAX_PLAIN_CAPLEN and incl > snaplen:
            return n, pos, _BAD_CAPLEN, incl
        if incl > MAX_RECORD:
            return n, pos, _HUGE_CAPLEN, incl
        if pos + header + incl > size:
            return n, pos, 1, header + incl
        data_off[n] = pos + header
        caplen[n] = incl
        wirelen[n] = orig
        ts_ns[n] = seconds * 1_000_000_000 + fraction * unit
        if extended:
            pkt_type = buf[pos + 22]
            dirn = 0
            if pkt_type == _PACKET_OUTGOING:
                dirn = 2
            elif pkt_type < _PACKET_OUTGOING:
                # PACKET_HOST, _BROADCAST, _MULTICAST, _OTHERHOST: received.
                dirn = 1
            direction[n] = dirn
        n += 1
        pos += header + incl


class PcapWalker:
    """Walks the records of one pcap file (implements walk.Walker)."""

    def __init__(self, header: PcapHeader) -> None:
        self.header = header
        self.min_record = 24 if header.flavour.extended_header else 16

    def walk(self, buf: npt.NDArray[np.uint8], pos: int, columns: Columns) -> Step:
        head = self.header
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
        if code == _BAD_CAPLEN:
            problem = (
                f"record claims {arg} captured bytes, more than the snaplen {head.snaplen} "
                f"and more than {MAX_PLAIN_CAPLEN}"
            )
            return Step(count=count, pos=pos, status=Status.STOP, problem=problem)
        if code == _HUGE_CAPLEN:
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
