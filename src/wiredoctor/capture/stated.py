"""Fields that text states about a packet whose bytes it does not show.

tcpdump `-v` header lines and Wireshark packet lists describe packets without their bytes.
A record made from such text carries a `StatedFields` in `Record.stated` and has no data;
the checks that need no payload bytes still run on it, labelled as coming from printed fields.

Always holds: a field the text did not state is None; nothing is guessed.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class StatedFields:
    """What one line (or wrapped group of lines) of text says about one packet."""

    source_line: int
    """1-based line number in the text where the packet starts."""
    ip_version: int | None = None
    src: str | None = None
    dst: str | None = None
    ip_len: int | None = None
    """IP total length as printed (`length 60` in tcpdump's IP part)."""
    ip_id: int | None = None
    ttl: int | None = None
    tos: int | None = None
    df: bool | None = None
    proto: int | None = None
    """IP protocol number (6 TCP, 17 UDP, 1 ICMP, …)."""
    sport: int | None = None
    dport: int | None = None
    tcp_flags: int | None = None
    """FIN=1 SYN=2 RST=4 PSH=8 ACK=16 URG=32 ECE=64 CWR=128."""
    seq: int | None = None
    ack: int | None = None
    relative_seq: bool = False
    """True when seq/ack are relative (Wireshark's default), not the wire values."""
    window: int | None = None
    mss: int | None = None
    wscale: int | None = None
    sack_perm: bool | None = None
    tsval: int | None = None
    tsecr: int | None = None
    payload_len: int | None = None
    frame_len: int | None = None
    """Frame length as a packet list prints it."""
    checksum: int | None = None
    """The L4 checksum value as printed."""
    checksum_verdict: str | None = None
    """`correct` or `incorrect` as tcpdump printed it, else None."""
    checksum_expected: int | None = None
    """tcpdump's `incorrect -> 0x…` value."""
    icmp_type: int | None = None
    icmp_code: int | None = None
    icmp_id: int | None = None
    icmp_seq: int | None = None
    retransmission: bool = False
    """Wireshark marked it `[TCP Retransmission]`."""
    dup_ack: bool = False
    """Wireshark marked it `[TCP Dup ACK …]`."""
