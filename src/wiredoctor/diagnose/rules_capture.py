"""Rules about what a capture can and cannot show: zero UDP checksums over IPv6, frames cut
by the snapshot length, and SRv6 packets whose checksums cover the final destination.

Always holds: a capture artefact (short snaplen) is `info`; checksums a receiver will drop
are `warning`.
"""

from __future__ import annotations

from wiredoctor.checks.finding import Severity
from wiredoctor.diagnose.context import Inputs, Rule, count, frames, join, make, strings
from wiredoctor.diagnose.diagnosis import Diagnosis, Remedy
from wiredoctor.diagnose.hostmatch import PLACEHOLDER, names, partial_events


def _udp_zero_v6(inputs: Inputs) -> list[Diagnosis]:
    out: list[Diagnosis] = []
    for capture, found in inputs.by_capture("udp-zero-checksum-ipv6").items():
        ports = [int(p) for p in strings(found, "tunnel_ports") if p.isdigit()]
        flows = [x for f in found for x in (f.facts.get("flows") or []) if isinstance(x, dict)]
        tunnel_only = bool(ports) and all(
            fl.get("dport") in ports or fl.get("sport") in ports for fl in flows
        )
        text = (
            f"{sum(count(f) for f in found)} UDP datagram(s) over IPv6 carry checksum 0. IPv6 "
            f"has no header checksum, so RFC 8200 §8.1 makes the UDP checksum mandatory and "
            f"receivers discard zero-checksum datagrams; RFC 6935/6936 allow zero only for "
            f"tunnel protocols whose endpoints both agree to it."
        )
        if tunnel_only:
            text += (
                f" All of them are tunnel traffic (ports {join(str(p) for p in ports)}): "
                f"allowed if the receiving endpoint accepts zero checksums."
            )
        out.append(
            make(
                UDP_ZERO_CHECKSUM_IPV6,
                capture=capture,
                frame_list=frames(found),
                confidence=0.9,
                severity=Severity.INFO if tunnel_only else Severity.WARNING,
                explanation=text,
                remedies=(
                    Remedy(
                        description="Make the sending tunnel compute UDP checksums over IPv6 "
                        "(Linux vxlan/geneve: the default udp6zerocsumtx off).",
                        command=f"ip link set {PLACEHOLDER} type vxlan noudp6zerocsumtx",
                    ),
                    Remedy(
                        description="Or let the receiving tunnel accept zero checksums (RFC 6936).",
                        command=f"ip link set {PLACEHOLDER} type vxlan udp6zerocsumrx",
                    ),
                ),
                facts={"tunnel_ports": ports},
            )
        )
    return out


def _truncated(inputs: Inputs) -> list[Diagnosis]:
    out: list[Diagnosis] = []
    for capture, found in inputs.by_capture("snaplen-truncated").items():
        snaplens = strings(found, "snaplens")
        unverified = sum(count(f, "unverified") for f in found)
        out.append(
            make(
                TRUNCATED_CAPTURE,
                capture=capture,
                frame_list=frames(found),
                confidence=1.0,
                explanation=(
                    f"{sum(count(f) for f in found)} frame(s) were cut to {join(snaplens) or 'a'} "
                    f"byte(s) by the capture's snapshot length, so {unverified} checksum(s) "
                    f"could not be verified. A cut frame is not a corrupt frame: the wire carried "
                    f"all of it."
                ),
                remedies=(
                    Remedy(
                        description="Capture whole frames.",
                        command=f"tcpdump -s 0 -i {PLACEHOLDER} -w capture.pcap",
                    ),
                ),
                facts={"snaplens": snaplens, "unverified": unverified},
            )
        )
    return out


def _srv6(inputs: Inputs) -> list[Diagnosis]:
    out: list[Diagnosis] = []
    host = inputs.host
    gro_on = [i for i in host.interfaces if i.is_on("generic-receive-offload")] if host else []
    rh = [e for e in partial_events(host) if e.l4_proto == 43]
    for capture, found in inputs.by_capture("srv6-final-destination").items():
        finals = strings(found, "final_destinations")
        text = (
            f"{sum(count(f) for f in found)} packet(s) carry an IPv6 routing header (SRH) with "
            f"segments left, and their L4 checksums are valid only against the final "
            f"destination ({join(finals)}), as RFC 8200 §8.1 prescribes. A node that checks "
            f"them against the current destination address - GRO on an SR router or on the "
            f"final host in inline mode - computes a mismatch, marks them csum_bad and "
            f"flushes or drops them."
        )
        confidence = 0.85
        if gro_on:
            confidence = 0.9
            text += f" Host facts: GRO is on for {join(i.name for i in gro_on)}."
        if rh:
            text += (
                f" The kernel log also shows {rh[0].driver or 'a driver'} refusing partial "
                f"checksums behind a routing header (line {rh[0].line})."
            )
        iface = names(gro_on)[0]
        out.append(
            make(
                SRV6_FINAL_DESTINATION,
                capture=capture,
                frame_list=frames(found),
                confidence=confidence,
                explanation=text,
                remedies=(
                    Remedy(
                        description="Turn GRO off on the SR nodes' receiving interfaces "
                        "(more per-packet CPU on receive).",
                        command=f"ethtool -K {iface} gro off",
                    ),
                    Remedy(
                        description="Or use SRv6 encap mode: the inner packet's pseudo-header "
                        "then never changes along the path."
                    ),
                ),
                facts={"final_destinations": finals, "gro_on": [i.name for i in gro_on]},
            )
        )
    return out


UDP_ZERO_CHECKSUM_IPV6 = Rule(
    id="udp-zero-checksum-ipv6",
    title="UDP over IPv6 without a checksum",
    severity=Severity.WARNING,
    references=("RFC 8200 §8.1", "RFC 6935", "RFC 6936"),
    infer=_udp_zero_v6,
)
TRUNCATED_CAPTURE = Rule(
    id="truncated-capture",
    title="The capture's snapshot length cut the packets",
    severity=Severity.INFO,
    references=("pcap-savefile(5): snaplen",),
    infer=_truncated,
)
SRV6_FINAL_DESTINATION = Rule(
    id="srv6-final-destination",
    title="SRv6: L4 checksums computed for the final destination trip GRO on SR nodes",
    severity=Severity.WARNING,
    references=("RFC 8200 §8.1", "RFC 8754", "RFC 8986"),
    infer=_srv6,
)

CAPTURE_RULES: tuple[Rule, ...] = (
    UDP_ZERO_CHECKSUM_IPV6,
    TRUNCATED_CAPTURE,
    SRV6_FINAL_DESTINATION,
)
