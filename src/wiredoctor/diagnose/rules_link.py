"""Rules about sizes on the link: Ethernet trailers, frames over the MTU, PMTU black holes.

Always holds: the arithmetic shown to the user is the arithmetic used (ICMP echo payload +
8-byte ICMP header + 20-byte IPv4 or 40-byte IPv6 header = IP packet size); a trailer and
an over-MTU frame seen together are told as one story (as when a 2-byte driver trailer
pushes full-size frames over the MTU).
"""

from __future__ import annotations

from wiredoctor.checks.finding import Finding, Severity
from wiredoctor.diagnose.context import Inputs, Rule, count, fact, frames, join, make, strings
from wiredoctor.diagnose.diagnosis import Diagnosis, Remedy
from wiredoctor.diagnose.hostmatch import PLACEHOLDER, length_events

# MTUs that links and tunnels commonly have; a threshold a few bytes off one of them means
# something adds bytes to every frame (a trailer, a tag, an encapsulation).
COMMON_MTUS = (9000, 1500, 1492, 1480, 1476, 1460, 1450, 1440, 1420, 1400, 1380, 1280)


def _trailer_lengths(found: list[Finding]) -> list[int]:
    out: set[int] = set()
    for f in found:
        lengths = f.facts.get("lengths") or {}
        if isinstance(lengths, dict):
            out.update(int(k) for k in lengths if str(k).isdigit())
    return sorted(out)


def _trailer(inputs: Inputs) -> list[Diagnosis]:
    out: list[Diagnosis] = []
    for capture, found in inputs.by_capture("ethernet-trailer").items():
        lengths = _trailer_lengths(found)
        kinds: dict[str, int] = {}
        for f in found:
            for k, v in (f.facts.get("kinds") or {}).items():
                kinds[str(k)] = kinds.get(str(k), 0) + int(v)
        full = sum(count(f, "full_size") for f in found)
        only_fcs = set(kinds) == {"fcs"}
        text = (
            f"{sum(count(f) for f in found)} frame(s) carry {join(str(n) for n in lengths)} "
            f"byte(s) after the IP datagram that are not the padding Ethernet needs to reach "
            f"60 bytes (IEEE 802.3 §3.2.8)."
        )
        if kinds:
            text += " Trailer kinds: " + join(f"{k} ({v})" for k, v in sorted(kinds.items())) + "."
        if only_fcs:
            text += " A 4-byte FCS kept by the capture is harmless."
        else:
            text += (
                " Some drivers (USB adapters especially) append stray bytes to every frame; "
                "capture appliances add timestamp trailers (Wireshark shows some as "
                "VSS-Monitoring)."
            )
        if full:
            text += (
                f" On {full} full-size frame(s) the trailer pushes the frame over the MTU, so "
                f"a switch or the next kernel drops exactly the largest packets."
            )
        out.append(
            make(
                ETHERNET_TRAILER,
                capture=capture,
                frame_list=frames(found),
                confidence=0.9,
                severity=Severity.WARNING if full else Severity.INFO,
                explanation=text,
                remedies=(
                    Remedy(
                        description="Find the interface whose driver adds the bytes and update "
                        "or replace that driver.",
                        command=f"ethtool -i {PLACEHOLDER}",
                    ),
                    Remedy(
                        description="Meanwhile lower the MTU on that link by the trailer length.",
                        command=f"ip link set dev {PLACEHOLDER} mtu {1500 - max(lengths or [0])}",
                    ),
                ),
                facts={"trailer_lengths": lengths, "full_size": full},
            )
        )
    return out


def _over_mtu(inputs: Inputs) -> list[Diagnosis]:
    out: list[Diagnosis] = []
    events = length_events(inputs.host)
    trailers = inputs.by_capture("ethernet-trailer")
    for capture, found in inputs.by_capture("over-mtu-frame").items():
        mtu = max((count(f, "mtu") for f in found), default=0)
        max_len = max((count(f, "max_len") for f in found), default=0)
        with_trailer = sum(count(f, "with_trailer") for f in found)
        related = trailers.get(capture, [])
        text = (
            f"{sum(count(f) for f in found)} frame(s) up to {max_len} bytes exceed the "
            f"{mtu}-byte MTU and segmentation offload does not explain them (not sent by "
            f"the capture host as one large buffer). A receiver or bridge with this MTU "
            f"drops them silently."
        )
        confidence = 0.8
        if with_trailer:
            confidence = 0.9
            lengths = _trailer_lengths(related)
            text += (
                f" {with_trailer} of them are over only because of an Ethernet trailer"
                + (f" of {join(str(n) for n in lengths)} byte(s)" if lengths else "")
                + ": the payload fits, the extra bytes a driver appended do not."
            )
        devices = sorted({e.device for e in events if e.device})
        if events:
            confidence = min(1.0, confidence + 0.05)
            e = events[0]
            text += (
                f" The kernel log shows the drops: {e.device or 'a device'} dropped "
                f"{e.length}-byte packets (limit {e.limit}), line {e.line}."
            )
        iface = devices[0] if devices else PLACEHOLDER
        fit = max_len - 14 if max_len > 14 else mtu  # frame length minus the Ethernet header
        out.append(
            make(
                OVER_MTU_FRAME,
                capture=capture,
                frame_list=frames(found),
                confidence=confidence,
                explanation=text,
                remedies=(
                    Remedy(
                        description="Remove what makes frames longer (update the driver that "
                        "adds a trailer) or raise the MTU of the receiving links to match.",
                        command=f"ip link set dev {iface} mtu {fit}",
                    ),
                ),
                facts={"mtu": mtu, "max_len": max_len, "with_trailer": with_trailer},
            )
        )
    return out


def _pmtu(inputs: Inputs) -> list[Diagnosis]:
    out: list[Diagnosis] = []
    too_big = inputs.by_capture("icmp-too-big")
    trailers = inputs.by_capture("ethernet-trailer")
    for capture, found in inputs.by_capture(
        "ping-size-threshold", "full-size-segment-stall"
    ).items():
        sweep = [f for f in found if f.symbol == "ping-size-threshold"]
        stall = [f for f in found if f.symbol == "full-size-segment-stall"]
        icmp = too_big.get(capture, [])
        facts: dict[str, object] = {}
        parts: list[str] = []
        limit = None
        if sweep:
            f = sweep[0]
            largest = fact(f, "largest_answered")
            smallest = fact(f, "smallest_unanswered")
            v6 = fact(f, "ip_version") == 6
            hdr = 8 + (40 if v6 else 20)
            facts.update(largest_answered=largest, smallest_unanswered=smallest)
            if isinstance(largest, int) and isinstance(smallest, int):
                limit = largest + hdr
                parts.append(
                    f"Echo requests to {fact(f, 'destination', 'the target')} with {largest} "
                    f"payload bytes are answered, {smallest} are not: {largest} + 8 (ICMP) + "
                    f"{hdr - 8} (IP{'v6' if v6 else 'v4'}) = {limit} bytes pass, "
                    f"{smallest + hdr} do not."
                )
        if stall:
            f = stall[0]
            threshold = fact(f, "threshold")
            parts.append(
                f"TCP segments of {fact(f, 'stalled_len')} bytes are retransmitted without "
                f"ever being acknowledged while {threshold}-byte ones get through."
            )
            if limit is None and isinstance(threshold, int):
                limit = threshold
        if limit is not None:
            facts["path_limit"] = limit
            nearest = min(COMMON_MTUS, key=lambda m: abs(m - limit) if m >= limit else 1 << 30)
            gap = nearest - limit
            if 0 < gap < 20:
                parts.append(
                    f"The limit is {gap} byte(s) under a {nearest}-byte MTU - no MTU is that "
                    f"odd, so something adds {gap} byte(s) to each frame: an Ethernet trailer "
                    f"or an encapsulation header."
                )
                facts["gap"] = gap
        if trailers.get(capture):
            parts.append("The same capture shows Ethernet trailers (see ethernet-trailer).")
        if icmp:
            mtus = strings(icmp, "mtus")
            parts.append(
                f"ICMP too-big messages did come back (MTU {join(mtus)}): path MTU discovery "
                f"works at least partly, so this is less likely a pure black hole."
            )
        else:
            parts.append(
                "No ICMP fragmentation-needed (type 3 code 4, RFC 1191) or packet-too-big "
                "(ICMPv6 type 2, RFC 8201) came back, so the sender never learns to send "
                "smaller: a path MTU black hole."
            )
        mtu_cmd = f"ip link set dev {PLACEHOLDER} mtu {limit}" if limit else None
        out.append(
            make(
                PMTU_BLACKHOLE,
                capture=capture,
                frame_list=frames([*found, *icmp]),
                confidence=0.6 if icmp else 0.85,
                explanation=" ".join(parts),
                remedies=(
                    Remedy(
                        description="Let ICMP fragmentation-needed through every firewall "
                        "on the path.",
                        command="iptables -I INPUT -p icmp --icmp-type fragmentation-needed "
                        "-j ACCEPT",
                    ),
                    Remedy(
                        description="And ICMPv6 packet-too-big (never filter it, RFC 4890).",
                        command="ip6tables -I INPUT -p icmpv6 --icmpv6-type packet-too-big "
                        "-j ACCEPT",
                    ),
                    Remedy(
                        description="Clamp the TCP MSS to the path MTU on the router.",
                        command="iptables -t mangle -A FORWARD -p tcp --tcp-flags SYN,RST SYN "
                        "-j TCPMSS --clamp-mss-to-pmtu",
                    ),
                    Remedy(
                        description="Or lower the MTU on the sending interface to what passes.",
                        command=mtu_cmd,
                    ),
                ),
                facts=facts,
            )
        )
    return out


ETHERNET_TRAILER = Rule(
    id="ethernet-trailer",
    title="Bytes after the IP datagram: an Ethernet trailer",
    severity=Severity.WARNING,
    references=("IEEE 802.3 §3.2.8", "RFC 894"),
    infer=_trailer,
)
OVER_MTU_FRAME = Rule(
    id="over-mtu-frame",
    title="Frames longer than the link MTU",
    severity=Severity.WARNING,
    references=("RFC 894", "RFC 791"),
    infer=_over_mtu,
)
PMTU_BLACKHOLE = Rule(
    id="pmtu-blackhole",
    title="Packets above a size vanish: path MTU black hole",
    severity=Severity.ERROR,
    references=("RFC 1191", "RFC 8201", "RFC 2923", "RFC 4890", "RFC 4821"),
    infer=_pmtu,
)

LINK_RULES: tuple[Rule, ...] = (ETHERNET_TRAILER, OVER_MTU_FRAME, PMTU_BLACKHOLE)
