"""The numba kernel that indexes pcap records inside one mapped window (large captures).

Record header (draft-ietf-opsawg-pcap §5): seconds, fraction, captured length, original
length; the modified format adds ifindex, protocol, pkt_type and a pad byte (24 bytes).
`pcap_plain.walk_pcap` is the same walk in plain Python for small captures; both return the
same tuple for the same input, and the tests compare them.

Always holds: every read is checked against the window first; a record is indexed only when
all its bytes are in the window; only `pcap.PcapWalker` imports this module, and only for
captures large enough to be worth loading numba.
"""

from __future__ import annotations

import numba
import numpy as np
import numpy.typing as npt

from wiredoctor.capture.pcap_format import (
    BAD_CAPLEN,
    HUGE_CAPLEN,
    MAX_PLAIN_CAPLEN,
    MAX_RECORD,
    PACKET_OUTGOING,
)
from wiredoctor.capture.readint import u32
from wiredoctor.fast.prefetch import AHEAD, LINE, prefetch


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
    asked = pos  # bytes below this were prefetched
    while True:
        if pos >= size:
            return n, pos, 0, 0
        # The next header's place is known only once this one is read: ask for the lines
        # ahead now (`fast.prefetch`), so that the walk does not wait on memory record by
        # record.
        ahead = min(pos + AHEAD, size)
        while asked < ahead:
            prefetch(buf, asked)
            asked += LINE
        if n >= capacity:
            return n, pos, 2, 0
        if pos + header > size:
            return n, pos, 1, header
        seconds = u32(buf, pos, big)
        fraction = u32(buf, pos + 4, big)
        incl = u32(buf, pos + 8, big)
        orig = u32(buf, pos + 12, big)
        if incl > MAX_PLAIN_CAPLEN and incl > snaplen:
            return n, pos, BAD_CAPLEN, incl
        if incl > MAX_RECORD:
            return n, pos, HUGE_CAPLEN, incl
        if pos + header + incl > size:
            return n, pos, 1, header + incl
        data_off[n] = pos + header
        caplen[n] = incl
        wirelen[n] = orig
        ts_ns[n] = seconds * 1_000_000_000 + fraction * unit
        if extended:
            pkt_type = buf[pos + 22]
            dirn = 0
            if pkt_type == PACKET_OUTGOING:
                dirn = 2
            elif pkt_type < PACKET_OUTGOING:
                # PACKET_HOST, _BROADCAST, _MULTICAST, _OTHERHOST: received.
                dirn = 1
            direction[n] = dirn
        n += 1
        pos += header + incl
