"""Typed kernel log entries: the log line as re-joined, and the events wiredoctor recognises.

Always holds: every event keeps the 1-based line number where its entry starts in the text
it came from and the message text as re-joined; a field the message did not state is None.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class KernelLine:
    """One kernel log entry with its prefixes taken apart."""

    line: int
    """1-based line number in the source text where the entry starts."""
    text: str
    """The kernel's message without syslog/journal/dmesg prefixes, wrapped lines re-joined."""
    timestamp: str | None = None
    """Wall-clock time as printed (syslog, RFC 3339 or `dmesg -T`), None when absent."""
    uptime: float | None = None
    """Seconds since boot from a `[ 1234.5678]` prefix, None when absent."""
    host: str | None = None
    """Host name from a syslog or journal prefix."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ConntrackBadChecksum:
    """netfilter conntrack found a bad L4 checksum and marked the packet invalid."""

    line: int
    """Line number of the entry."""
    text: str
    """The message as re-joined."""
    logger: str
    """The prefix the kernel used: `nf_ct_tcp`, `nf_ct_udp`, `nf_ct_proto_6`, …"""
    proto: str
    """Upper-layer protocol name: `TCP`, `UDP`, `UDPLITE`, `ICMP`, `ICMPv6`, or a number."""
    in_iface: str | None = None
    """IN= interface (empty string means none, as netfilter prints `IN=`)."""
    out_iface: str | None = None
    """OUT= interface."""
    src: str | None = None
    dst: str | None = None
    length: int | None = None
    """LEN=: IP total length (IPv4) or payload length + 40 (IPv6)."""
    ttl: int | None = None
    """TTL= or HOPLIMIT=."""
    ip_id: int | None = None
    """ID= (IPv4 identification)."""
    sport: int | None = None
    dport: int | None = None
    seq: int | None = None
    ack: int | None = None
    window: int | None = None
    flags: tuple[str, ...] = ()
    """TCP flags named in the line (`ACK`, `SYN`, …)."""
    tcp_options_hex: str | None = None
    """The TCP `OPT (…)` bytes as hex."""
    mss: int | None = None
    """MSS decoded from the TCP options (kind 2), RFC 9293 §3.2."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PartialChecksumUnsupported:
    """A driver was handed CHECKSUM_PARTIAL for a header it cannot checksum in hardware."""

    line: int
    text: str
    driver: str | None = None
    """Driver name from the dev_warn prefix (`ixgbe`)."""
    bus_info: str | None = None
    """Device bus address from the prefix (`0000:0b:00.1`)."""
    device: str | None = None
    """Network device name when the prefix carries one."""
    l4_proto: int | None = None
    """The protocol / next-header value the driver saw (0x2b = IPv6 routing header)."""
    l4_name: str | None = None
    """Its name (IANA protocol numbers registry), e.g. `IPv6 routing header`."""
    ip_version: int | None = None
    """For the `ip version=` variant: the version the driver could not handle."""


@dataclass(frozen=True, slots=True, kw_only=True)
class HwCsumFailure:
    """netdev_rx_csum_fault: the device's CHECKSUM_COMPLETE value did not match the data."""

    line: int
    text: str
    device: str | None = None
    """The device named before `: hw csum failure` (None for `<unknown>`/`<NULL>`)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LengthDrop:
    """A frame or packet dropped because of its length."""

    line: int
    text: str
    device: str | None = None
    """The device named in the message."""
    length: int | None = None
    """The offending length in bytes."""
    limit: int | None = None
    """The limit it exceeded (the MTU), when stated."""
    kind: str = "over-mtu"
    """`over-mtu` (longer than allowed) or `short` (shorter than its header says)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ChecksumError:
    """Another kernel report of a bad checksum (UDP `bad checksum`, driver csum errors)."""

    line: int
    text: str
    proto: str | None = None
    device: str | None = None
    src: str | None = None
    dst: str | None = None
    sport: int | None = None
    dport: int | None = None


KernelEvent = (
    ConntrackBadChecksum | PartialChecksumUnsupported | HwCsumFailure | LengthDrop | ChecksumError
)
