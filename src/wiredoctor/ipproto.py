"""IP protocol numbers and IPv6 next-header values (IANA "Assigned Internet Protocol
Numbers"), shared by the decoders and by the kernel-log readers.

Always holds: values are IANA's; names follow the decoders' use.
"""

from __future__ import annotations

from enum import IntEnum


class IpProto(IntEnum):
    """IP protocol / IPv6 next-header numbers wiredoctor decodes or names."""

    HOPOPTS = 0
    ICMP = 1
    IGMP = 2
    IPIP = 4
    TCP = 6
    UDP = 17
    IPV6 = 41
    ROUTING = 43
    FRAGMENT = 44
    GRE = 47
    ESP = 50
    AH = 51
    ICMPV6 = 58
    NO_NEXT = 59
    DSTOPTS = 60
    SCTP = 132
    MOBILITY = 135
    UDPLITE = 136
    ETHERNET = 143  # RFC 8986 SRv6 End.DX2: an Ethernet frame follows
