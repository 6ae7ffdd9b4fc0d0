"""What the caller can tune about the checks: the link MTU and how much each finding samples.

Always holds: options are plain values (frozen); defaults describe an ordinary Ethernet link.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckOptions:
    """Settings for one run of the checks."""

    mtu: int = 1500
    """Link MTU in bytes (IP datagram size); frames above MTU + link header are over-MTU."""
    sample_limit: int = 20
    """How many example rows a finding's `sample` facts list at most."""
    flow_limit: int = 20
    """How many flows a finding's `flows` facts list at most."""
    trailer_sample: int = 256
    """How many frames with a trailer are read back to name the trailer's kind."""
    duplicate_window_ns: int = 5_000_000
    """Two identical packets closer than this on a Linux cooked capture are one packet seen
    on two interfaces (`tcpdump -i any`)."""
