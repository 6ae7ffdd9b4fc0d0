"""Rules about checksums: offload artefacts (checksum and segmentation), broken incremental
updates, and real corruption.

Always holds: an artefact (partial sums on frames the capture host sent, TSO/GRO frames,
a short snaplen) is `info`; a checksum that will make a receiver drop the packet is
`warning` or `error`.
"""

from __future__ import annotations

from wiredoctor.checks.finding import Finding, Severity
from wiredoctor.diagnose.context import Inputs, Rule, count, frames, join, make, strings
from wiredoctor.diagnose.diagnosis import Diagnosis, Remedy
from wiredoctor.diagnose.hostmatch import (
    PLACEHOLDER,
    conntrack_events,
    csum_error_events,
    flow_matches,
    hw_csum_events,
    interfaces_for,
    names,
    tx_off,
    with_feature_on,
)


def _proto_counts(found: list[Finding]) -> str:
    """`2 TCP, 1 UDP` from the findings' `protos` facts ({proto: n})."""
    totals: dict[str, int] = {}
    for f in found:
        protos = f.facts.get("protos") or {}
        if isinstance(protos, dict):
            for name, n in protos.items():
                totals[str(name)] = totals.get(str(name), 0) + int(n)
    return join(f"{n} {name.upper()}" for name, n in sorted(totals.items()))


def _example(found: list[Finding]) -> str:
    """The arithmetic for the first sampled occurrence, so the reader can check it."""
    for f in found:
        for sample in f.facts.get("sample") or []:
            if not isinstance(sample, dict) or sample.get("partial") is None:
                continue
            proto = str(sample.get("proto", "")).upper()
            return (
                f" For example, frame {sample.get('frame')}: the {proto} checksum "
                f"0x{int(sample['value']):04x} is exactly the folded pseudo-header sum of "
                f"{sample.get('src')} → {sample.get('dst')}, {proto} length "
                f"{sample.get('l4_len')}; the finished checksum would be "
                f"0x{int(sample['expected']):04x}."
            )
    return ""


def _merged_by_gro(inputs: Inputs, capture: str, found: list[Finding]) -> bool:
    """True when (nearly) every partial-sum frame is also a receive-offload super-frame."""
    partial = set(frames(found))
    merged = set(frames(inputs.by_capture("segmentation-offload-frames").get(capture, [])))
    return bool(partial) and len(partial & merged) >= 0.9 * len(partial)


def _tx_offload(inputs: Inputs) -> list[Diagnosis]:
    out: list[Diagnosis] = []
    for capture, found in inputs.by_capture("checksum-offload-partial").items():
        total = sum(count(f) for f in found)
        nolen = sum(count(f, "nolen_count") for f in found)
        inbound = sum(count(f, "inbound") for f in found)
        outbound = sum(count(f, "outbound") for f in found)
        hosts = strings(found, "capture_hosts") or strings(found, "senders")
        receivers = strings(found, "receivers")
        protos = _proto_counts(found)
        ifaces = interfaces_for(inputs.host, hosts)
        on = with_feature_on(ifaces, "tx-checksumming")
        off = [i for i in ifaces if i.is_on("tx-checksumming") is False]
        received = inbound > 0 and outbound == 0
        merged = _merged_by_gro(inputs, capture, found)
        what = f"{total} checksum(s) ({protos or 'L4'})"
        text = (
            f"{what} hold only the folded pseudo-header sum (RFC 1071 sum over source, "
            f"destination, protocol and length; RFC 9293 §3.1, RFC 8200 §8.1). Linux hands "
            f"such packets to the device as CHECKSUM_PARTIAL: the stack writes the "
            f"pseudo-header sum and the NIC adds the rest on the way out, after the point "
            f"where the capture copied the bytes."
        )
        text += _example(found)
        if nolen:
            text += (
                f" {nolen} of them omit the length from the pseudo-header sum, the form "
                f"Windows large-send offload leaves."
            )
        severity = Severity.INFO
        confidence = 0.85
        remedies: list[Remedy] = []
        iface_names = names(on or ifaces)
        if received and merged:
            text += (
                f" These frames were received ({join(receivers)}) and are larger than the "
                f"MTU: GRO/LRO merged several segments into one before the capture saw them, "
                f"and Linux's GRO completion (tcp_gro_complete) leaves the merged packet's "
                f"TCP checksum as the pseudo-header sum, marked as already verified. A "
                f"capture artefact, not corruption: the segments on the wire were checked "
                f"one by one."
            )
            remedies.append(
                Remedy(
                    description="Nothing to fix. To capture the frames as they were on the "
                    "wire, turn receive offload off while capturing (costs CPU).",
                    command=f"ethtool -K {iface_names[0] if iface_names else PLACEHOLDER} "
                    "gro off lro off",
                )
            )
        elif received:
            severity = Severity.WARNING
            text += (
                f" These frames were received by the capture host ({join(receivers)}), so "
                f"something between the sender and here dropped the checksum metadata: a "
                f"veth or tap path that rebuilds the packet (a service segment, a userspace "
                f"proxy) turns the 'checksum to be filled in' mark into a plain bad checksum, "
                f"and the destination discards the packet."
            )
            remedies.append(
                Remedy(
                    description="Have the program that rebuilds the packet (the service "
                    "segment or proxy) compute the full L4 checksum before handing it back "
                    "to the kernel."
                )
            )
            remedies.append(
                Remedy(
                    description="Or turn transmit checksum offload off at the sender's "
                    "virtual port; this also turns TSO/GSO off on it (they need checksum "
                    "offload), costing CPU on large transfers.",
                    command=tx_off(iface_names[0]),
                )
            )
        elif len(hosts) > 1 and set(hosts) <= set(receivers):
            text += (
                f" Both ends of the conversation ({join(hosts)}) send partial sums, so both "
                f"run on the capturing machine (VMs, containers or namespaces joined by a "
                f"bridge, tap or veth): their packets never cross a NIC here, and the kernel "
                f"passes the 'checksum not yet filled in' mark along with each packet. On its "
                f"own this is harmless, and a reply to a SYN shows the receiver accepted it. "
                f"If a receiver does drop them, a hop on the path lost that mark (a service "
                f"that rebuilds the packet, a userspace switch): capture at both ends and "
                f"compare."
            )
            remedies.append(
                Remedy(
                    description="Capture at both endpoints at the same time and compare the "
                    "same packets byte by byte.",
                    command="wiredoctor diff sender.pcap receiver.pcap",
                )
            )
            remedies.append(
                Remedy(
                    description="Cross-check the receivers' kernel counters: checksum drops "
                    "raise TcpInCsumErrors / UdpInCsumErrors; unchanged counters mean the "
                    "packets were accepted.",
                    command="nstat -az TcpInCsumErrors UdpInCsumErrors",
                )
            )
        else:
            text += (
                f" The frames were sent by the capture host ({join(hosts) or 'its own'} "
                f"addresses): this is a capture artefact, not corruption; the wire carries "
                f"correct checksums."
            )
            remedies.append(
                Remedy(
                    description="Nothing to fix. To see final checksums, capture on the "
                    "receiver or on a switch port mirror instead of the sender."
                )
            )
            remedies.append(
                Remedy(
                    description="Or, to make the capture show final checksums, turn transmit "
                    "checksum offload off for the test (this also turns TSO/GSO off and "
                    "costs CPU).",
                    command=tx_off(iface_names[0]),
                )
            )
        if on:
            from wiredoctor.host.facts import IfaceKind  # host facts exist: loaded already

            confidence = 0.95
            detail = join(f"{i.name} ({i.kind})" for i in on)
            text += (
                f" Host facts agree: tx-checksumming is on for {detail}, which carries "
                f"{join(hosts)}."
            )
            veth_peers = [i.peer for i in on if i.kind == IfaceKind.VETH and i.peer]
            if veth_peers:
                text += (
                    f" A veth never reaches a NIC: the checksum stays partial and only the "
                    f"skb's metadata tells the peer ({join(veth_peers)}) that it is fine."
                )
        elif off:
            confidence = 0.6
            text += (
                f" Note: host facts show tx-checksumming off on {join(i.name for i in off)}; "
                f"the capture may come from another host or another time."
            )
        out.append(
            make(
                TX_CHECKSUM_OFFLOAD,
                capture=capture,
                frame_list=frames(found),
                confidence=confidence,
                severity=severity,
                explanation=text,
                remedies=remedies,
                facts={
                    "capture_hosts": receivers if received else hosts,
                    "direction": "received" if received else "sent",
                    "interfaces": [i.name for i in on],
                },
            )
        )
    return out


def _segmentation(inputs: Inputs) -> list[Diagnosis]:
    out: list[Diagnosis] = []
    for capture, found in inputs.by_capture("segmentation-offload-frames").items():
        senders = strings(found, "senders")
        max_len = max((count(f, "max_len") for f in found), default=0)
        mtu = max((count(f, "mtu") for f in found), default=0)
        ifaces = interfaces_for(inputs.host, senders)
        offloading = [
            i
            for i in ifaces
            if any(
                i.is_on(n)
                for n in (
                    "tcp-segmentation-offload",
                    "generic-segmentation-offload",
                    "generic-receive-offload",
                )
            )
        ]
        iface = names(offloading or ifaces)[0]
        text = (
            f"{sum(count(f) for f in found)} frame(s) up to {max_len} bytes exceed the "
            f"{mtu or 'link'}-byte MTU. TSO/GSO hand the driver one large segment that the NIC "
            f"(or the kernel just before the driver) cuts into MTU-sized packets; GRO/LRO merge "
            f"received packets before the capture point. The capture sees the large buffer, "
            f"the wire never does."
        )
        confidence = 0.8
        if offloading:
            confidence = 0.95
            on_names = join(i.name for i in offloading)
            text += f" Host facts: segmentation/receive offload is on for {on_names}."
        out.append(
            make(
                SEGMENTATION_OFFLOAD,
                capture=capture,
                frame_list=frames(found),
                confidence=confidence,
                explanation=text,
                remedies=(
                    Remedy(
                        description="Nothing to fix: an artefact of where the capture was taken."
                    ),
                    Remedy(
                        description="To capture wire-sized frames, turn the offloads off for "
                        "the test (more CPU per byte while off).",
                        command=f"ethtool -K {iface} tso off gso off gro off",
                    ),
                ),
                facts={"max_len": max_len, "mtu": mtu, "senders": senders},
            )
        )
    return out


def _incremental(inputs: Inputs) -> list[Diagnosis]:
    out: list[Diagnosis] = []
    events = conntrack_events(inputs.host)
    for capture, found in inputs.by_capture("checksum-off-by-one").items():
        flows: list[dict[str, object]] = []
        for f in found:
            flows.extend(x for x in (f.facts.get("flows") or []) if isinstance(x, dict))
        matched = [e for e in events if any(flow_matches(e, fl) for fl in flows)]
        text = (
            f"{sum(count(f) for f in found)} checksum(s) are exactly one off the correct value "
            f"(in ones' complement). That is the signature of a device that rewrote a field - "
            f"an MSS clamp, NAT - and patched the checksum incrementally (RFC 1624) with the "
            f"old RFC 1141 formula, which mishandles the +0/-0 case, instead of recomputing it. "
            f"The receiver sees a bad checksum and discards the packet; retransmissions may "
            f"get through when the rewritten bytes change (timestamps)."
        )
        confidence = 0.85
        if matched:
            confidence = 0.97
            e = matched[0]
            mss = f", MSS option {e.mss}" if e.mss is not None else ""
            text += (
                f" The host's kernel log confirms it: netfilter conntrack rejected "
                f"{e.src}:{e.sport} > {e.dst}:{e.dport} for a bad checksum (line {e.line}{mss})."
            )
        out.append(
            make(
                INCREMENTAL_CHECKSUM_BUG,
                capture=capture,
                frame_list=frames(found),
                confidence=confidence,
                explanation=text,
                remedies=(
                    Remedy(
                        description="Capture before and after the device that rewrites "
                        "the packets (tunnel endpoint, NAT, MSS clamp) and compare: the "
                        "diff names the changed field and the off-by-one update.",
                        command="wiredoctor diff before.pcap after.pcap",
                    ),
                    Remedy(
                        description="Upgrade or fix the rewriting software; meanwhile let "
                        "the kernel clamp the MSS instead (it recomputes checksums correctly).",
                        command="iptables -t mangle -A FORWARD -p tcp --tcp-flags SYN,RST SYN "
                        "-j TCPMSS --clamp-mss-to-pmtu",
                    ),
                ),
                facts={"flows": flows, "conntrack_lines": [e.line for e in matched]},
            )
        )
    return out


def _corruption(inputs: Inputs) -> list[Diagnosis]:
    out: list[Diagnosis] = []
    host = inputs.host
    csum_counters = {}
    if host is not None:
        csum_counters = {
            k: v for k, v in host.counters.items() if k.endswith("InCsumErrors") and v > 0
        }
    hw = hw_csum_events(host)
    other = csum_error_events(host)
    for capture, found in inputs.by_capture("checksum-corrupt", "checksum-zero").items():
        corrupt = [f for f in found if f.symbol == "checksum-corrupt"]
        zero = [f for f in found if f.symbol == "checksum-zero"]
        n = sum(count(f) for f in corrupt)
        text = (
            f"{n} checksum(s) are wrong and match none of the artefacts (not the pseudo-header "
            f"sum offload leaves, not one off from a rewrite): the bytes changed after the "
            f"sender computed the checksum - a bad cable or transceiver, a NIC or driver fault, "
            f"or a device that modifies payload."
        )
        if zero:
            text += (
                f" {sum(count(f) for f in zero)} more carry 0 where a checksum was due - a "
                f"sender or device that skipped the computation."
            )
        confidence = 0.75 if corrupt else 0.5
        devices = sorted({e.device for e in hw if e.device})
        if csum_counters:
            confidence += 0.1
            text += (
                " The host's InCsumErrors counters are non-zero: "
                + join(f"{k} = {v}" for k, v in sorted(csum_counters.items()))
                + "."
            )
        if hw or other:
            confidence += 0.1
            text += (
                " The kernel log reports checksum failures"
                + (f" on {join(devices)}" if devices else "")
                + "."
            )
        iface = devices[0] if devices else PLACEHOLDER
        out.append(
            make(
                CHECKSUM_CORRUPTION,
                capture=capture,
                frame_list=frames(found),
                confidence=confidence,
                severity=Severity.ERROR if corrupt else Severity.WARNING,
                explanation=text,
                remedies=(
                    Remedy(
                        description="Read the NIC's error counters; CRC or alignment errors "
                        "point at the cable, transceiver or switch port.",
                        command=f"ethtool -S {iface} | grep -iE 'err|crc|csum'",
                    ),
                    Remedy(
                        description="Swap the cable / transceiver / switch port and watch "
                        "whether the counters stop rising."
                    ),
                    Remedy(
                        description="Check the driver and firmware against the vendor's "
                        "known issues and update them.",
                        command=f"ethtool -i {iface}",
                    ),
                    Remedy(
                        description="Capture at the sender too and compare byte by byte to "
                        "see where the bytes change.",
                        command="wiredoctor diff sender.pcap receiver.pcap",
                    ),
                ),
                facts={"counters": csum_counters, "devices": devices},
            )
        )
    return out


TX_CHECKSUM_OFFLOAD = Rule(
    id="tx-checksum-offload",
    title="Transmit checksum offload: checksums captured before the NIC filled them in",
    severity=Severity.INFO,
    references=(
        "RFC 1071",
        "RFC 9293 §3.1",
        "RFC 8200 §8.1",
        "Documentation/networking/checksum-offloads.rst",
    ),
    infer=_tx_offload,
)
SEGMENTATION_OFFLOAD = Rule(
    id="segmentation-offload",
    title="Segmentation / receive offload: frames larger than the MTU exist only in the capture",
    severity=Severity.INFO,
    references=("Documentation/networking/segmentation-offloads.rst",),
    infer=_segmentation,
)
INCREMENTAL_CHECKSUM_BUG = Rule(
    id="incremental-checksum-bug",
    title="A device rewrote a field and updated the checksum off by one",
    severity=Severity.ERROR,
    references=("RFC 1624", "RFC 1141", "RFC 1071"),
    infer=_incremental,
)
CHECKSUM_CORRUPTION = Rule(
    id="checksum-corruption",
    title="Checksums are wrong: the bytes changed in flight or in a driver",
    severity=Severity.ERROR,
    references=("RFC 1071", "RFC 9293 §3.1", "RFC 768"),
    infer=_corruption,
)
CHECKSUM_RULES: tuple[Rule, ...] = (
    TX_CHECKSUM_OFFLOAD,
    SEGMENTATION_OFFLOAD,
    INCREMENTAL_CHECKSUM_BUG,
    CHECKSUM_CORRUPTION,
)
