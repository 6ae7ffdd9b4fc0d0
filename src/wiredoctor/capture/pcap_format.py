"""What the pcap format fixes, shared by the record walkers (plain Python and numba).

File format: draft-ietf-opsawg-pcap §4 (file header) and §5 (record header). Always holds:
this module imports nothing heavy, so the small-capture path can use it without numba.
"""

from __future__ import annotations

FILE_HEADER_LEN = 24
RECORD_HEADER_LEN = 16
EXTENDED_HEADER_LEN = 24
"""The modified (Kuznetzov) format adds ifindex (4), protocol (2), pkt_type (1), pad (1)."""

MAX_PLAIN_CAPLEN = 262144
"""libpcap's MAXIMUM_SNAPLEN: larger records must be allowed by the file's snaplen."""
MAX_RECORD = 64 << 20
"""Larger records are treated as lies whatever the snaplen says (bounds one window)."""

# draft-ietf-opsawg-pcap §5: the LinkType field's top bits carry FCS information; the
# link type proper is the low 26 bits (libpcap LT_LINKTYPE).
LINKTYPE_MASK = 0x03FF_FFFF

# Walker status codes beyond walk.Status (0 window done, 1 partial, 2 full).
BAD_CAPLEN = 10
"""The captured length exceeds both the snaplen and MAX_PLAIN_CAPLEN."""
HUGE_CAPLEN = 11
"""The captured length exceeds MAX_RECORD."""

# linux/if_packet.h packet types in the modified format's pkt_type byte: PACKET_HOST (0),
# _BROADCAST, _MULTICAST, _OTHERHOST are received; PACKET_OUTGOING (4) was sent.
PACKET_OUTGOING = 4
