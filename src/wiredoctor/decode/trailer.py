"""Ethernet padding and trailers: the bytes after the outermost network message.

Wireshark's split (eth.padding / eth.trailer, as tshark 4.0 prints them), once the payload
dissector has said how long the network message is (IP total length, ARP size, 802.3 length):

1. the captured bytes left over below the 60-byte minimum frame (IEEE 802.3 §3.2.7, FCS
   excluded) are padding when they are all zero; when any is not zero, no byte is padding
   (the frame carries a trailer, not padding);
2. of what remains, on a frame of 64 bytes or more on the wire, the last 4 bytes are taken
   for the FCS when at least 4 remain (Wireshark's guess when the capture does not say);
3. the rest is trailer.

Linux cooked captures of Ethernet interfaces (ARPHRD_ETHER) carry the same bytes behind a
16-byte (SLL) or 20-byte (SLL2) header instead of the 14-byte Ethernet one, so both limits
move by the difference. Other link types have no padding and no FCS: every left-over byte is
trailer.

Always holds: pad_len + trailer_len (+ 4 when an FCS was taken) == captured bytes after the
message's end (0 when the end is unknown, e.g. IPv4 total length 0, or beyond the captured
bytes); trailer_off is that end, -1 when there are no such bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

from wiredoctor.capture.record import LinkType
from wiredoctor.decode.frame import DecodedFrame
from wiredoctor.decode.link import ETHERNET_MIN_FRAME, LinuxSll, LinuxSll2

ARPHRD_ETHER = 1
"""Linux hardware type of Ethernet interfaces (if_arp.h)."""

FCS_LEN = 4
"""Ethernet frame check sequence bytes (IEEE 802.3 §3.2.9)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Padding:
    """How the bytes after the outermost network message divide."""

    pad_len: int
    """Bytes below the minimum frame size (eth.padding)."""
    trailer_len: int
    """Bytes beyond it (eth.trailer)."""
    trailer_off: int
    """Offset of the first left-over byte, -1 when none."""
    nonzero_pad: bool
    """Bytes below the minimum frame were not all zero (so they count as trailer, not padding:
    drivers that pad with stale memory, or a real trailer on a short frame)."""


NO_PADDING = Padding(pad_len=0, trailer_len=0, trailer_off=-1, nonzero_pad=False)


def padding_limit(decoded: DecodedFrame) -> int:
    """Frame offset below which left-over bytes may be padding (0: no Ethernet framing)."""
    linktype = decoded.record.linktype
    if linktype == LinkType.ETHERNET:
        return ETHERNET_MIN_FRAME
    if decoded.layers and isinstance(decoded.layers[0], LinuxSll | LinuxSll2):
        sll = decoded.layers[0]
        if sll.arphrd_type == ARPHRD_ETHER:
            header = 16 if isinstance(sll, LinuxSll) else 20
            return ETHERNET_MIN_FRAME - 14 + header
    return 0


def split_trailer(decoded: DecodedFrame) -> Padding:
    """The padding/trailer split of one decoded frame."""
    end = decoded.network_end
    data = decoded.record.data
    if end < 0 or end >= len(data):
        return NO_PADDING
    limit = padding_limit(decoded)
    pad_stop = max(min(limit, len(data)), end)
    pad = data[end:pad_stop]
    nonzero = any(pad)
    if nonzero:
        pad_stop = end
    rest = len(data) - pad_stop
    wire_min_with_fcs = limit + FCS_LEN
    if limit and decoded.record.wirelen >= wire_min_with_fcs and rest >= FCS_LEN:
        rest -= FCS_LEN
    return Padding(
        pad_len=pad_stop - end,
        trailer_len=rest,
        trailer_off=end,
        nonzero_pad=nonzero,
    )
