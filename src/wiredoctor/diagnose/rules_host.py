"""Rules that read only the host: conntrack checksum drops, drivers refusing partial
checksums, rising InCsumErrors counters, and frames the kernel dropped for length.

Always holds: host diagnoses cite the kernel log lines (1-based, in the text they came from)
or the counters they rest on; their evidence capture is the log's or counters' source, with
no frames.
"""

from __future__ import annotations

from collections import Counter

from wiredoctor.checks.finding import Severity
from wiredoctor.diagnose.context import Inputs, Rule, join, make
from wiredoctor.diagnose.diagnosis import Diagnosis, Remedy
from wiredoctor.diagnose.hostmatch import (
    PLACEHOLDER,
    by_bus,
    conntrack_events,
    csum_error_events,
    hw_csum_events,
    length_events,
    partial_events,
    tx_off,
)
from wiredoctor.ipproto import IpProto

_IPV6_EXTENSION_HEADERS = {
    IpProto.HOPOPTS,
    IpProto.ROUTING,
    IpProto.FRAGMENT,
    IpProto.DSTOPTS,
    IpProto.AH,
    IpProto.MOBILITY,
}


def _source(inputs: Inputs) -> str:
    host = inputs.host
    return (host.kernel_log_source if host else "") or "kernel log"


def _conntrack(inputs: Inputs) -> list[Diagnosis]:
    events = conntrack_events(inputs.host)
    if not events:
        return []
    flows = Counter((e.proto, e.src, e.sport, e.dst, e.dport) for e in events)
    first = events[0]
    described = join(
        f"{proto} {src}:{sport} > {dst}:{dport}" + (f" ({n} times)" if n > 1 else "")
        for (proto, src, sport, dst, dport), n in list(flows.items())[:4]
    )
    text = (
        f"netfilter conntrack logged {len(events)} packet(s) with a bad {first.proto} checksum: "
        f"{described}. With net.netfilter.nf_conntrack_checksum=1 (the default) conntrack "
        f"verifies L4 checksums and marks failing packets INVALID; a ruleset that drops INVALID "
        f"packets (`-m conntrack --ctstate INVALID -j DROP`, common) then drops them, and the "
        f"sender sees only a lost packet."
    )
    syn = [e for e in events if "SYN" in e.flags and e.mss is not None]
    if syn:
        e = syn[0]
        text += (
            f" The dropped SYN{'-ACK' if 'ACK' in e.flags else ''} (seq {e.seq}) carries MSS "
            f"{e.mss}: if a device on the path rewrote the MSS option, its checksum update is "
            f"the suspect - an off-by-one checksum after an MSS clamp is a broken RFC 1624 "
            f"incremental update (see incremental-checksum-bug)."
        )
    return [
        make(
            CONNTRACK_BAD_CHECKSUM_DROP,
            capture=_source(inputs),
            confidence=0.9,
            explanation=text,
            remedies=(
                Remedy(
                    description="Capture before and after the device that rewrites these "
                    "packets and compare to see which field changed and how the checksum "
                    "was updated.",
                    command="wiredoctor diff before.pcap after.pcap",
                ),
                Remedy(
                    description="Fix or upgrade the rewriting device (tunnel daemon, NAT, MSS "
                    "clamp); clamp the MSS with the kernel instead, which recomputes checksums.",
                    command="iptables -t mangle -A FORWARD -p tcp --tcp-flags SYN,RST SYN "
                    "-j TCPMSS --clamp-mss-to-pmtu",
                ),
                Remedy(
                    description="Stopgap only: stop conntrack verifying checksums (the end "
                    "host still verifies and drops truly corrupt packets).",
                    command="sysctl -w net.netfilter.nf_conntrack_checksum=0",
                ),
            ),
            facts={
                "log_lines": [e.line for e in events],
                "flows": [
                    {
                        "proto": e.proto,
                        "src": e.src,
                        "sport": e.sport,
                        "dst": e.dst,
                        "dport": e.dport,
                        "seq": e.seq,
                        "ack": e.ack,
                        "flags": list(e.flags),
                        "mss": e.mss,
                    }
                    for e in events
                ],
            },
        )
    ]


def _partial(inputs: Inputs) -> list[Diagnosis]:
    events = partial_events(inputs.host)
    if not events:
        return []
    out: list[Diagnosis] = []
    groups: dict[tuple[str | None, str | None, int | None, int | None], list[int]] = {}
    for e in events:
        groups.setdefault((e.driver, e.bus_info, e.l4_proto, e.ip_version), []).append(e.line)
    for (driver, bus, proto, ip_version), lines in groups.items():
        iface = by_bus(inputs.host, bus)
        first = next(e for e in events if e.line == lines[0])
        who = f"{driver or 'a driver'}" + (f" at {bus}" if bus else "")
        if iface is None and first.device:
            name = first.device
        else:
            name = iface.name if iface is not None else PLACEHOLDER
        if proto is not None:
            proto_name = first.l4_name or str(proto)
            text = (
                f"{who} logged {len(lines)} time(s) that it was handed a packet with a partial "
                f"checksum (CHECKSUM_PARTIAL) but an upper-layer protocol 0x{proto:02x} "
                f"({proto_name}) it cannot offload. The driver reads only the first next-header "
                f"value"
            )
            if proto in {int(p) for p in _IPV6_EXTENSION_HEADERS}:
                text += (
                    " and does not walk the IPv6 extension-header chain (RFC 8200 §4) to "
                    "find the TCP/UDP header behind it - as with SRv6 inline mode, where the "
                    "routing header sits between IPv6 and TCP"
                )
            text += (
                ". The checksum is never completed: the packet leaves with only the "
                "pseudo-header sum and the receiver discards it."
            )
        else:
            text = (
                f"{who} logged {len(lines)} time(s) that it was handed a partial checksum on "
                f"an IP version ({ip_version}) it cannot offload; those packets leave with an "
                f"incomplete checksum."
            )
        if iface is not None:
            text += f" The device is {iface.name} on this host."
        out.append(
            make(
                DRIVER_PARTIAL_CHECKSUM_UNSUPPORTED,
                capture=_source(inputs),
                confidence=0.95,
                explanation=text,
                remedies=(
                    Remedy(
                        description="Turn transmit checksum offload off on that device so the "
                        "stack computes full checksums (also turns TSO/GSO off on it)."
                        + (
                            ""
                            if name != PLACEHOLDER
                            else f" Find its name with `ls /sys/bus/pci/devices/{bus}/net`."
                            if bus
                            else ""
                        ),
                        command=tx_off(name),
                    ),
                    Remedy(
                        description="For SRv6, use encap mode: the driver then sees the inner "
                        "headers' protocol and can offload it."
                    ),
                ),
                facts={
                    "driver": driver,
                    "bus_info": bus,
                    "l4_proto": proto,
                    "l4_name": first.l4_name,
                    "interface": iface.name if iface is not None else None,
                    "log_lines": lines,
                },
            )
        )
    return out


def _rx_errors(inputs: Inputs) -> list[Diagnosis]:
    host = inputs.host
    if host is None:
        return []
    counters = {
        k: v for k, v in sorted(host.counters.items()) if k.endswith("InCsumErrors") and v > 0
    }
    hw = hw_csum_events(host)
    other = csum_error_events(host)
    if not counters and not hw and not other:
        return []
    parts: list[str] = []
    if counters:
        since = "since the previous reading" if host.counters_delta else "since boot"
        parts.append(
            "The kernel counted packets that arrived with bad checksums "
            f"({since}): " + join(f"{k} = {v}" for k, v in counters.items()) + "."
        )
    devices = sorted({e.device for e in hw if e.device} | {e.device for e in other if e.device})
    if hw:
        parts.append(
            f"The kernel logged `hw csum failure` {len(hw)} time(s)"
            + (f" on {join(devices)}" if devices else "")
            + ": the checksum the NIC computed on receive (CHECKSUM_COMPLETE) did not match "
            "the data, so either the NIC/driver computes it wrong or the bytes changed after "
            "the NIC."
        )
    if other:
        parts.append(f"It also logged {len(other)} other bad-checksum report(s).")
    parts.append(
        "Packets with bad checksums are dropped by the receiving stack; if the counters keep "
        "rising the cause is live (a link corrupting bytes, a driver bug, a middlebox)."
    )
    iface = devices[0] if devices else PLACEHOLDER
    remedies = [
        Remedy(
            description="Read the counters twice a minute apart: rising means the cause is live.",
            command="nstat -az | grep -i csum",
        ),
        Remedy(
            description="Look for CRC and checksum errors on each NIC.",
            command=f"ethtool -S {iface} | grep -iE 'err|crc|csum'",
        ),
    ]
    if hw:
        remedies.append(
            Remedy(
                description="Work around a NIC that reports wrong receive checksums by turning "
                "rx checksum offload off (the CPU verifies instead); then update the driver "
                "and firmware.",
                command=f"ethtool -K {iface} rx off",
            )
        )
    confidence = 0.9 if hw else (0.85 if host.counters_delta else 0.7)
    return [
        make(
            RX_CHECKSUM_ERRORS,
            capture=host.counters_source or _source(inputs),
            confidence=confidence,
            explanation=" ".join(parts),
            remedies=remedies,
            facts={
                "counters": counters,
                "devices": devices,
                "log_lines": [e.line for e in hw] + [e.line for e in other],
            },
        )
    ]


def _over_mtu(inputs: Inputs) -> list[Diagnosis]:
    events = length_events(inputs.host)
    if not events:
        return []
    by_device: dict[str | None, list[int]] = {}
    for e in events:
        by_device.setdefault(e.device, []).append(e.line)
    out: list[Diagnosis] = []
    for device, lines in by_device.items():
        mine = [e for e in events if e.device == device]
        lengths = sorted({e.length for e in mine if e.length is not None})
        limits = sorted({e.limit for e in mine if e.limit is not None})
        text = (
            f"The kernel dropped {len(mine)} packet(s) for length"
            + (f" on {device}" if device else "")
            + (f": {join(str(n) for n in lengths)} bytes" if lengths else "")
            + (f" against a limit of {join(str(n) for n in limits)}" if limits else "")
            + "."
        )
        over = [n - m for n in lengths for m in limits if n > m]
        if over and min(over) <= 8:
            text += (
                f" {min(over)} byte(s) over: not a different MTU but something adding a few "
                f"bytes per frame - an Ethernet trailer from a driver, a VLAN tag counted "
                f"twice, or an encapsulation."
            )
        text += " Such drops are silent to the sender: large packets vanish, small ones pass."
        name = device or PLACEHOLDER
        target = lengths[-1] if lengths else None
        out.append(
            make(
                KERNEL_OVER_MTU_DROP,
                capture=_source(inputs),
                confidence=0.9,
                explanation=text,
                remedies=(
                    Remedy(
                        description="Find what makes the frames longer (capture with "
                        "`tcpdump -e -i any` and look for trailers) and fix that driver.",
                        command=f"tcpdump -e -n -i {name} -c 20 greater 1400",
                    ),
                    Remedy(
                        description="Or raise the MTU of the dropping device to fit.",
                        command=f"ip link set dev {name} mtu {target}" if target else None,
                    ),
                ),
                facts={"device": device, "lengths": lengths, "limits": limits, "log_lines": lines},
            )
        )
    return out


CONNTRACK_BAD_CHECKSUM_DROP = Rule(
    id="conntrack-bad-checksum-drop",
    title="netfilter conntrack dropped packets with bad checksums",
    severity=Severity.WARNING,
    references=("Documentation/networking/nf_conntrack-sysctl.rst", "RFC 1624"),
    infer=_conntrack,
)
DRIVER_PARTIAL_CHECKSUM_UNSUPPORTED = Rule(
    id="driver-partial-checksum-unsupported",
    title="A driver cannot offload the checksum it was handed",
    severity=Severity.WARNING,
    references=("Documentation/networking/checksum-offloads.rst", "RFC 8200 §4", "RFC 8754"),
    infer=_partial,
)
RX_CHECKSUM_ERRORS = Rule(
    id="rx-checksum-errors",
    title="The kernel is receiving packets with bad checksums",
    severity=Severity.WARNING,
    references=("RFC 1071", "Documentation/networking/checksum-offloads.rst"),
    infer=_rx_errors,
)
KERNEL_OVER_MTU_DROP = Rule(
    id="kernel-over-mtu-drop",
    title="The kernel dropped frames for their length",
    severity=Severity.WARNING,
    references=("RFC 894", "RFC 1191"),
    infer=_over_mtu,
)

HOST_RULES: tuple[Rule, ...] = (
    CONNTRACK_BAD_CHECKSUM_DROP,
    DRIVER_PARTIAL_CHECKSUM_UNSUPPORTED,
    RX_CHECKSUM_ERRORS,
    KERNEL_OVER_MTU_DROP,
)
