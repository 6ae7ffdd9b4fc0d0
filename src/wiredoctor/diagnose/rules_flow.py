"""Rules about TCP flows: SYN-ACKs that acknowledge the wrong thing, and segments sent again
and again (FINs included), tied to bad checksums when the originals were bad.

Always holds: retransmissions are a symptom; when the same capture shows why (bad
checksums on the originals), the diagnosis says so and gives that cause's remedy.
"""

from __future__ import annotations

from wiredoctor.checks.finding import Severity
from wiredoctor.diagnose.context import Inputs, Rule, count, frames, join, make
from wiredoctor.diagnose.diagnosis import Diagnosis, Remedy
from wiredoctor.diagnose.hostmatch import names, tx_off, virtual_with_tx_csum


def _syn_ack(inputs: Inputs) -> list[Diagnosis]:
    out: list[Diagnosis] = []
    for capture, found in inputs.by_capture("syn-ack-mismatch").items():
        pairs = [p for f in found for p in (f.facts.get("pairs") or []) if isinstance(p, dict)]
        lines = []
        for p in pairs[:3]:
            lines.append(
                f"the SYN-ACK in frame {p.get('synack_frame')} acknowledges {p.get('ack')} "
                f"where {p.get('client')}'s SYN (frame {p.get('syn_frame')}, seq "
                f"{p.get('syn_seq')}) called for {p.get('expected_ack')}"
            )
        text = (
            f"{len(pairs) or sum(count(f, 'count') for f in found)} SYN-ACK(s) do not "
            f"acknowledge their SYN's sequence number + 1 (RFC 9293 §3.5): "
            + "; ".join(lines)
            + ". Likely causes: a firewall or load balancer between the capture point and the "
            "server that randomises initial sequence numbers and rewrites one direction only; "
            "or the SYN-ACK answers an earlier attempt on the same 4-tuple (an old SYN, a "
            "connection the server still holds). A client that gets such a SYN-ACK answers "
            "with a reset and the connection never opens."
        )
        out.append(
            make(
                SYN_ACK_MISMATCH,
                capture=capture,
                frame_list=frames(found),
                confidence=0.8,
                explanation=text,
                remedies=(
                    Remedy(
                        description="Capture at the client and at the server at the same time "
                        "and compare: a rewrite shows as changed sequence numbers.",
                        command="wiredoctor diff client.pcap server.pcap",
                    ),
                    Remedy(
                        description="Check middleboxes for TCP sequence-number randomisation "
                        "and turn it off for this traffic."
                    ),
                ),
                facts={"pairs": pairs},
            )
        )
    return out


def _has_checksums(inputs: Inputs, capture: str) -> bool:
    """False only for a known capture with frames but no checksum verdicts (a packet list)."""
    known = [t for t in inputs.captures if t.path == capture]
    return not known or any(t.status_counts(1).sum() or not t.n_frames for t in known)


def _retrans(inputs: Inputs) -> list[Diagnosis]:
    out: list[Diagnosis] = []
    related = inputs.by_capture(
        "checksum-offload-partial", "checksum-corrupt", "checksum-off-by-one", "tcp-dup-acks"
    )
    for capture, found in inputs.by_capture("tcp-retransmissions").items():
        total = sum(count(f) for f in found)
        fins = sum(count(f, "fin") for f in found)
        syns = sum(count(f, "syn") for f in found)
        bad = sum(count(f, "bad_checksum") for f in found)
        unanswered_fin = sum(count(f, "unanswered_fin") for f in found)
        others = related.get(capture, [])
        bad_findings = [f for f in others if f.symbol != "tcp-dup-acks"]
        text = f"{total} segment(s) were sent again"
        if fins:
            text += f", {fins} of them FINs"
        if syns:
            text += f", {syns} SYNs"
        text += (
            ", each time without the acknowledgement that would stop the retransmission "
            "timer (RFC 6298 doubles the wait each time)."
        )
        if unanswered_fin:
            text += (
                f" {unanswered_fin} FIN(s) were never acknowledged: the connection cannot close."
            )
        ports = virtual_with_tx_csum(inputs.host)
        remedies: list[Remedy] = []
        confidence = 0.7
        severity = Severity.WARNING
        symbols = {f.symbol for f in bad_findings}
        if bad or bad_findings:
            confidence = 0.9
            text += (
                " The originals carried bad checksums"
                + (f" ({bad} of the retransmitted segments)" if bad else "")
                + ": the receiver discarded them as corrupt, so from the sender's side they "
                "were simply lost."
            )
        if "checksum-off-by-one" in symbols:
            text += (
                " Their checksums are off by one after a rewrite on the path: the device's "
                "incremental checksum update is broken (see incremental-checksum-bug)."
            )
        elif "checksum-corrupt" in symbols:
            text += " Their bytes changed on the way (see checksum-corruption)."
        elif bad or "checksum-offload-partial" in symbols:
            text += (
                " Typical cause: transmit checksum offload on a virtual port (veth, tap, "
                "bridge) whose packets leave partially checksummed and reach a receiver that "
                "does verify them - pings still work (ICMP checksums are computed in "
                "software), TCP stalls."
            )
            if ports:
                text += f" Host facts: tx-checksumming is on for {join(i.name for i in ports)}."
            remedies.append(
                Remedy(
                    description="Turn transmit checksum offload off on the virtual port so the "
                    "stack computes full checksums (this also turns TSO/GSO off on it).",
                    command=tx_off(names(ports)[0]),
                )
            )
        elif not _has_checksums(inputs, capture):
            text += (
                " This capture shows no checksums (a packet list or header lines without "
                "them), so it cannot show why the peer ignored the segments. Segments that "
                "reach the capture point and are never acknowledged, while pings work, are "
                "most often discarded by the receiver for a bad checksum: transmit checksum "
                "offload on a virtual port (a container's veth, a tap) leaves the checksum "
                "unfinished. Confirm with `tcpdump -vv` on the receiver (look for "
                "'incorrect') or a rising TcpInCsumErrors counter."
            )
            remedies.append(
                Remedy(
                    description="If the checksums prove bad, turn transmit checksum offload "
                    "off on the virtual port (this also turns TSO/GSO off on it).",
                    command=tx_off(names(ports)[0]),
                )
            )
        remedies.append(
            Remedy(
                description="Capture at the receiving end too: a segment seen there but not "
                "acknowledged was dropped by the receiver (checksum, firewall); one not seen "
                "there was lost on the path.",
                command="wiredoctor diff sender.pcap receiver.pcap",
            )
        )
        out.append(
            make(
                TCP_RETRANSMISSIONS,
                capture=capture,
                frame_list=frames([*found, *others]),
                confidence=confidence,
                severity=severity,
                explanation=text,
                remedies=remedies,
                facts={"fin": fins, "syn": syns, "bad_checksum": bad},
            )
        )
    return out


SYN_ACK_MISMATCH = Rule(
    id="syn-ack-mismatch",
    title="A SYN-ACK acknowledges something other than its SYN",
    severity=Severity.WARNING,
    references=("RFC 9293 §3.5", "RFC 6528", "RFC 5961 §4"),
    infer=_syn_ack,
)
TCP_RETRANSMISSIONS = Rule(
    id="tcp-retransmissions",
    title="TCP segments sent again and again without being acknowledged",
    severity=Severity.WARNING,
    references=("RFC 6298", "RFC 9293 §3.8.1", "RFC 5681"),
    infer=_retrans,
)

FLOW_RULES: tuple[Rule, ...] = (SYN_ACK_MISMATCH, TCP_RETRANSMISSIONS)
