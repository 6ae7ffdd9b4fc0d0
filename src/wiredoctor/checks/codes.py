"""The catalogue of finding codes: every observation a check can make, with its facts.

Always holds: codes and symbols are stable (the diagnosis rules and users' scripts key on
them); each entry documents the `facts` keys its Finding carries.
"""

from __future__ import annotations

from dataclasses import dataclass

from wiredoctor.checks.finding import Severity


@dataclass(frozen=True, slots=True, kw_only=True)
class FindingCode:
    """One kind of observation."""

    code: str
    symbol: str
    severity: Severity
    facts: str
    """The keys of `Finding.facts`, described for the rules that read them."""


CODES: tuple[FindingCode, ...] = (
    # Checksums (checks over the checksum table).
    FindingCode(
        code="WD101",
        symbol="checksum-offload-partial",
        severity=Severity.INFO,
        facts="count, nolen_count, protos {proto: n}, senders [addr], receivers [addr], "
        "outbound, inbound, unknown_direction (frame counts by capture direction), "
        "capture_hosts [addr] (inferred: the addresses that send partial sums), "
        "sample [{frame, proto, depth, src, dst, value, expected, partial, l4_len, cause}]",
    ),
    FindingCode(
        code="WD102",
        symbol="checksum-off-by-one",
        severity=Severity.ERROR,
        facts="count, protos, flows [{src, sport, dst, dport, frames}], senders [addr], "
        "sample (as WD101)",
    ),
    FindingCode(
        code="WD103",
        symbol="checksum-corrupt",
        severity=Severity.ERROR,
        facts="count, protos, senders, receivers, sample (as WD101)",
    ),
    FindingCode(
        code="WD104",
        symbol="checksum-zero",
        severity=Severity.WARNING,
        facts="count, protos, senders, sample",
    ),
    FindingCode(
        code="WD105",
        symbol="udp-zero-checksum-ipv6",
        severity=Severity.WARNING,
        facts="count, flows [{src, sport, dst, dport}], tunnel_ports [int]",
    ),
    FindingCode(
        code="WD106",
        symbol="snaplen-truncated",
        severity=Severity.INFO,
        facts="count, snaplens [int], unverified (checksum occurrences left unverified)",
    ),
    FindingCode(
        code="WD107",
        symbol="srv6-final-destination",
        severity=Severity.WARNING,
        facts="count, final_destinations [addr], current_destinations [addr]",
    ),
    FindingCode(
        code="WD108",
        symbol="segmentation-offload-frames",
        severity=Severity.INFO,
        facts="count, max_len, mtu, senders [addr], partial_checksum (how many of them carry "
        "a partial L4 checksum)",
    ),
    FindingCode(
        code="WD109",
        symbol="checksum-ffff-for-zero",
        severity=Severity.INFO,
        facts="count",
    ),
    # TCP flows.
    FindingCode(
        code="WD201",
        symbol="syn-ack-mismatch",
        severity=Severity.WARNING,
        facts="count, pairs [{syn_frame, synack_frame, client, server, syn_seq, expected_ack, ack, "
        "acks_earlier_syn (frame of an earlier SYN of the same 4-tuple that the ack fits, or "
        "null)}] (client/server as addr:port; wire sequence numbers, or the text's relative "
        "ones)",
    ),
    FindingCode(
        code="WD202",
        symbol="tcp-retransmissions",
        severity=Severity.WARNING,
        facts="count, data, fin, syn, rst, flows [{src, sport, dst, dport, frames, count}], "
        "bad_checksum (retransmitted segments whose original had a bad checksum), "
        "bad_checksum_causes {cause: n} (the originals' causes, e.g. offload-partial), "
        "unanswered_fin, unanswered_syn (distinct FINs/SYNs the peer never acknowledged), "
        "intervals_ms [float] (gaps between the sends of the most-resent segment), "
        "exponential_backoff (bool: those gaps keep growing about x2), "
        "segment_frames [int] (that segment's sends)",
    ),
    FindingCode(
        code="WD203",
        symbol="tcp-dup-acks",
        severity=Severity.INFO,
        facts="count, flows (as WD202)",
    ),
    FindingCode(
        code="WD204",
        symbol="tcp-zero-window",
        severity=Severity.INFO,
        facts="count, flows (as WD202)",
    ),
    FindingCode(
        code="WD205",
        symbol="full-size-segment-stall",
        severity=Severity.WARNING,
        facts="threshold (largest IP length that got through), stalled_len (smallest IP "
        "length resent and never acknowledged), count (stalled sends), too_big_seen (bool: "
        "any ICMP frag-needed / packet-too-big in the capture), flows [{src, sport, dst, "
        "dport, threshold, stalled_len, retransmissions, frames}]",
    ),
    # ICMP.
    FindingCode(
        code="WD210",
        symbol="ping-size-threshold",
        severity=Severity.WARNING,
        facts="destination, largest_answered, smallest_unanswered (ping -s payload sizes), "
        "ip_version, answered [int], unanswered [int], consistent (bool: no size below "
        "largest_answered went unanswered), too_big_seen (bool, as WD205); one finding per "
        "destination",
    ),
    FindingCode(
        code="WD211",
        symbol="icmp-too-big",
        severity=Severity.INFO,
        facts="count, mtus [int], senders [addr]",
    ),
    FindingCode(
        code="WD212",
        symbol="icmp-echo-unanswered",
        severity=Severity.INFO,
        facts="count, destinations [addr], sizes [int] (ping -s payload sizes left unanswered)",
    ),
    # Ethernet.
    FindingCode(
        code="WD301",
        symbol="ethernet-trailer",
        severity=Severity.WARNING,
        facts="count, lengths {len: n}, kinds {fcs|vss-monitoring|arista|metamako|exablaze|"
        "unknown: n} (over the frames read back), kinds_sampled (how many were read; 0 "
        "when the bytes are unavailable), full_size (frames whose trailer pushes them over "
        "the MTU), sample [{frame, kind, length, fcs, ...decoded fields: port, device, "
        "seconds, nanoseconds, original_fcs, flags, ticks}]",
    ),
    FindingCode(
        code="WD302",
        symbol="over-mtu-frame",
        severity=Severity.WARNING,
        facts="count, mtu, max_len, with_trailer (how many only exceed because of a trailer), "
        "lengths {frame length: n}, link_headers [int] (link header sizes allowed for)",
    ),
    FindingCode(
        code="WD303",
        symbol="nonzero-padding",
        severity=Severity.INFO,
        facts="count",
    ),
    # Two capture points (`wiredoctor diff`).
    FindingCode(
        code="WD401",
        symbol="diff-ttl-decrement",
        severity=Severity.INFO,
        facts="hops [{direction, hops, count}] (TTL / hop limit lost between the points)",
    ),
    FindingCode(
        code="WD402",
        symbol="diff-dsfield-rewrite",
        severity=Severity.WARNING,
        facts="rewrites [{direction, before, after, count}], dscp (bool), ecn (bool)",
    ),
    FindingCode(
        code="WD403",
        symbol="diff-tcp-seq-rewritten",
        severity=Severity.WARNING,
        facts="count, flows, offsets [int] (B seq − A seq per flow), acks (count of tcp.ack "
        "rewrites)",
    ),
    FindingCode(
        code="WD404",
        symbol="diff-trailer-added",
        severity=Severity.WARNING,
        facts="changes [{a, b, count}] (trailer lengths at A and B)",
    ),
    FindingCode(
        code="WD405",
        symbol="diff-retransmission-pairs",
        severity=Severity.INFO,
        facts="count, pairs [{a, b}] (same segment, different TS val: another transmission)",
    ),
    FindingCode(
        code="WD406",
        symbol="diff-tcp-timestamps-rewritten",
        severity=Severity.INFO,
        facts="count (pairs whose TS val differs by one constant per flow)",
    ),
    FindingCode(
        code="WD407",
        symbol="diff-duplicates",
        severity=Severity.INFO,
        facts="a [{frame, copy_of}], b [{frame, copy_of}]",
    ),
)

BY_SYMBOL: dict[str, FindingCode] = {c.symbol: c for c in CODES}
