"""What malformed packet bytes become: values, never exceptions.

Every decoder here is total: given any bytes it returns a header or one of these values.
A `Truncated` says the capture (or an enclosing header) ended before a header did; a
`BadLength` says a length field contradicts the bytes around it; `Payload` is bytes that no
decoder here claims (application data, an unknown protocol, a non-first fragment).

Always holds: offsets are byte offsets in the frame as captured.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class Truncated:
    """A header cut short: fewer bytes remain than the header needs."""

    offset: int
    """Where the header starts in the frame."""
    layer: str
    """Which header (`tcp`, `ipv6.routing`, …)."""
    needed: int
    """Bytes the header needs."""
    available: int
    """Bytes that were there."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BadLength:
    """A length field that cannot be true: beyond the bytes, below the minimum, or inconsistent."""

    offset: int
    """Where the header that states the length starts."""
    layer: str
    """Which header."""
    field: str
    """The length field, as a Wireshark display-filter name (`ip.hdr_len`, `udp.length`)."""
    value: int
    """What the field says (in bytes)."""
    limit: int
    """The bound it violates (bytes available, or the minimum)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Payload:
    """Bytes no decoder here claims."""

    offset: int
    """Where the bytes start in the frame."""
    length: int
    """How many bytes were captured."""
    protocol: str
    """What they are as far as known (`ethertype 0x0806`, `ip.proto 50`, `fragment`, `data`)."""


Problem = Truncated | BadLength
