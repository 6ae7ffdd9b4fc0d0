"""The explain catalogue: one page per diagnosis id in CONTRACT.md, diff-only ids included.

Each page says what the id means, the mechanism behind it, how to confirm it, the remedies
with their side effects, and the references. Always holds: `PAGES` has exactly the contract's
ids; pages are plain text (rendering belongs to the CLI).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class Page:
    """What `wiredoctor explain ID` prints."""

    id: str
    """The diagnosis id."""
    title: str
    """One line."""
    mechanism: str
    """Why the packets look like this."""
    confirm: str
    """How to check that this is really the cause."""
    remedies: tuple[str, ...]
    """What to do, each with its side effects."""
    references: tuple[str, ...]
    """RFCs and kernel documents."""

    def text(self) -> str:
        """The page as plain text."""
        lines = [f"{self.id}: {self.title}", "", "Mechanism", f"  {self.mechanism}", ""]
        lines += ["How to confirm", f"  {self.confirm}", "", "Remedies"]
        lines += [f"  - {r}" for r in self.remedies]
        lines += ["", "References"] + [f"  - {r}" for r in self.references]
        return "\n".join(lines) + "\n"


_PAGES: tuple[Page, ...] = (
    Page(
        id="tx-checksum-offload",
        title="checksums captured before the NIC filled them in (an artefact)",
        mechanism="With transmit checksum offload the stack marks a packet CHECKSUM_PARTIAL, "
        "writes the folded pseudo-header sum into the checksum field and leaves the rest to the "
        "NIC. A capture on the sending host copies the packet before the NIC, so the field holds "
        "only the pseudo-header sum (Windows LSO leaves the same sum without the length). On "
        "frames the capture host received it means a path lost the 'checksum pending' mark: a "
        "veth or tap path that rebuilds the packet (a service segment, a userspace proxy) turns "
        "it into a real bad checksum and the destination drops it.",
        confirm="`ethtool -k IFACE | grep tx-checksumming` on the sender; capture on the "
        "receiver (or a mirror port): the same packets have correct checksums there. "
        "`wiredoctor check --host snapshot.json` ties the sending address to the interface.",
        remedies=(
            "Sent frames: nothing to fix; capture elsewhere to see final checksums.",
            "Received frames: compute the full checksum in the program that rebuilds the "
            "packet, or `ethtool -K IFACE tx off` on the sender's virtual port. Turning tx off "
            "also turns TSO/GSO off on that port (they depend on it): more CPU for bulk "
            "transfers.",
        ),
        references=(
            "RFC 1071 (Internet checksum)",
            "RFC 9293 §3.1 and RFC 8200 §8.1 (pseudo-headers)",
            "Linux Documentation/networking/checksum-offloads.rst",
        ),
    ),
    Page(
        id="segmentation-offload",
        title="frames larger than the MTU made or merged by TSO/GSO/GRO/LRO (an artefact)",
        mechanism="TSO/GSO give the driver one buffer of up to 64 KiB that the NIC (or the "
        "kernel just before the driver) cuts into MTU-sized segments; GRO/LRO merge received "
        "segments before the capture point. The capture shows the big buffer; the wire only "
        "ever carries MTU-sized frames.",
        confirm="`ethtool -k IFACE | grep -E 'segmentation|receive-offload'`; the IPv4 total "
        "length may be 0 or the frame longer than the MTU only on the host doing the offload.",
        remedies=(
            "Nothing to fix.",
            "For a capture of wire frames: `ethtool -K IFACE tso off gso off gro off` during "
            "the test (more CPU per byte while off).",
        ),
        references=("Linux Documentation/networking/segmentation-offloads.rst",),
    ),
    Page(
        id="incremental-checksum-bug",
        title="checksum off by one after a device rewrote a field",
        mechanism="A device that changes a field (MSS clamping, NAT, TTL) may patch the "
        "checksum incrementally instead of recomputing it. RFC 1624 corrected the RFC 1141 "
        "formula, which gets the ones'-complement +0/-0 case wrong and yields a checksum one "
        "off from the right value. Receivers (and netfilter conntrack) drop such packets; "
        "retries can succeed when other bytes (timestamps) change.",
        confirm="Capture before and after the device: `wiredoctor diff before.pcap after.pcap` "
        "shows the changed field and `checksum_update: off-by-one`. The kernel log of the next "
        "hop may show `nf_ct_tcp: bad TCP checksum` for the same flow.",
        remedies=(
            "Fix or upgrade the rewriting software.",
            "Let the kernel clamp the MSS instead: `iptables -t mangle -A FORWARD -p tcp "
            "--tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu` (recomputes correctly).",
        ),
        references=("RFC 1624", "RFC 1141", "RFC 1071"),
    ),
    Page(
        id="checksum-corruption",
        title="wrong checksums that are no artefact",
        mechanism="The value matches neither the offload pseudo-header sum nor an off-by-one "
        "update: the bytes changed after the sender computed the checksum (a bad cable or "
        "transceiver, a NIC or driver fault, a device modifying payload).",
        confirm="Capture at the sender and the receiver and diff them; watch `nstat -az | grep "
        "-i csum` and `ethtool -S IFACE` error counters rise; look for `hw csum failure` in the "
        "kernel log.",
        remedies=(
            "`ethtool -S IFACE | grep -iE 'err|crc|csum'` to find the link; swap cable, "
            "transceiver or switch port.",
            "Update NIC driver and firmware (`ethtool -i IFACE` shows the versions).",
        ),
        references=("RFC 1071", "RFC 9293 §3.1", "RFC 768"),
    ),
    Page(
        id="udp-zero-checksum-ipv6",
        title="UDP over IPv6 without a checksum",
        mechanism="IPv6 has no header checksum, so the UDP checksum is mandatory (RFC 8200 "
        "§8.1); receivers discard zero checksums. RFC 6935/6936 allow zero only for tunnels "
        "whose endpoints both opt in.",
        confirm="The datagrams' destination port: tunnel ports (VXLAN 4789, Geneve 6081) with "
        "`udp6zerocsumrx` on the receiver are legal; anything else is dropped.",
        remedies=(
            "Sender: compute checksums (`ip link set IFACE type vxlan noudp6zerocsumtx`).",
            "Or receiver: accept zero on the tunnel (`udp6zerocsumrx`), losing end-to-end "
            "integrity checking of the outer header.",
        ),
        references=("RFC 8200 §8.1", "RFC 6935", "RFC 6936"),
    ),
    Page(
        id="truncated-capture",
        title="the snapshot length cut the packets",
        mechanism="The capture stored only the first snaplen bytes of each frame (caplen < "
        "wirelen). Checksums over missing bytes cannot be verified; the wire carried them.",
        confirm="`capinfos` / the pcap header's snaplen; frames whose caplen < wirelen.",
        remedies=("Capture whole frames: `tcpdump -s 0 -i IFACE -w file.pcap`.",),
        references=("pcap-savefile(5)",),
    ),
    Page(
        id="srv6-final-destination",
        title="SRv6 L4 checksums computed for the final destination",
        mechanism="With a routing header, the pseudo-header uses the final destination (RFC "
        "8200 §8.1). In SRv6 inline mode the current destination is an intermediate segment; "
        "GRO on SR nodes verifies against the current address, sets csum_bad and flushes or "
        "drops the packet. Drivers that do not walk the extension chain log `partial checksum "
        "but l4 proto=2b!`.",
        confirm="`ethtool -k IFACE | grep generic-receive-offload` on SR nodes; the checksum "
        "verifies against the last segment of the SRH.",
        remedies=(
            "`ethtool -K IFACE gro off` on SR routers and the final host (more CPU on receive).",
            "Or use encap mode: the inner pseudo-header never changes.",
        ),
        references=("RFC 8200 §8.1", "RFC 8754", "RFC 8986"),
    ),
    Page(
        id="ethernet-trailer",
        title="bytes after the IP datagram that are not padding",
        mechanism="Ethernet pads frames to 60 bytes; anything beyond the IP datagram on a "
        "longer frame is a trailer: a captured FCS, a capture appliance's timestamp trailer, or "
        "stray bytes a driver appends (some USB adapters). On full-size frames the trailer "
        "pushes the frame over the MTU.",
        confirm="Compare the IP total length with the frame length; Wireshark may label the "
        "bytes (e.g. VSS-Monitoring). Swap the adapter or driver and repeat.",
        remedies=(
            "Update or replace the driver that appends bytes.",
            "Meanwhile lower that link's MTU by the trailer length.",
        ),
        references=("IEEE 802.3 §3.2.8", "RFC 894"),
    ),
    Page(
        id="over-mtu-frame",
        title="frames longer than the link MTU that offload does not explain",
        mechanism="A frame longer than the receiver's MTU is dropped by bridges, switches and "
        "the receiving kernel. Seen with trailers added by drivers and with encapsulations "
        "whose MTU was not reduced.",
        confirm="Kernel log lines such as `dropped over-mtu packet: 1518 > 1500`; ping sweeps "
        "with `ping -M do -s SIZE` show the exact threshold.",
        remedies=(
            "Remove the extra bytes (driver update) or make MTUs consistent along the path "
            "(`ip link set dev IFACE mtu N`).",
        ),
        references=("RFC 894", "RFC 791"),
    ),
    Page(
        id="pmtu-blackhole",
        title="packets above a size vanish without ICMP feedback",
        mechanism="Path MTU discovery needs ICMP fragmentation-needed (type 3 code 4, RFC 1191) "
        "or ICMPv6 packet-too-big (type 2, RFC 8201). If a hop drops big packets and the ICMP "
        "never arrives (filtered, or the drop is silent such as an over-MTU frame), senders "
        "keep sending too big: small requests work, bulk transfers hang. Arithmetic: ping "
        "payload + 8 (ICMP) + 20 (IPv4) or 40 (IPv6) = IP packet size. A limit a few bytes under "
        "a common MTU (1498 instead of 1500) points at a trailer or an encapsulation.",
        confirm="`ping -M do -s SIZE HOST` sweeps; watch for ICMP type 3/4 with "
        "`tcpdump -n 'icmp[0]=3 and icmp[1]=4' or 'icmp6 and ip6[40]=2'`.",
        remedies=(
            "Let ICMP type 3 code 4 and ICMPv6 type 2 through every firewall (RFC 4890).",
            "Clamp the MSS on the router: `iptables -t mangle -A FORWARD -p tcp --tcp-flags "
            "SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu` (TCP only).",
            "Lower the MTU on the sender (`ip link set dev IFACE mtu N`): smaller packets "
            "everywhere on that link.",
        ),
        references=("RFC 1191", "RFC 8201", "RFC 2923", "RFC 4821", "RFC 4890"),
    ),
    Page(
        id="syn-ack-mismatch",
        title="a SYN-ACK acknowledges something other than SYN seq + 1",
        mechanism="A SYN-ACK must acknowledge the SYN's sequence number + 1 (RFC 9293 §3.5). "
        "Otherwise either a middlebox rewrites sequence numbers in one direction only (ISN "
        "randomisation on firewalls), or the SYN-ACK belongs to an earlier attempt on the same "
        "4-tuple. The client answers with RST.",
        confirm="Capture on both sides of the firewall and `wiredoctor diff` them: rewritten "
        "sequence numbers show up as changes of tcp.seq / tcp.ack.",
        remedies=(
            "Disable sequence-number randomisation on the middlebox for this traffic.",
            "Look for stale connections on the server (`ss -tan`) when ports are reused.",
        ),
        references=("RFC 9293 §3.5", "RFC 6528", "RFC 5961 §4"),
    ),
    Page(
        id="tcp-retransmissions",
        title="segments sent again and again without being acknowledged",
        mechanism="The retransmission timer doubles each time (RFC 6298) until the segment is "
        "acknowledged. Repeated retransmissions of the same segment (FINs included) mean the "
        "receiver never accepted it: dropped on the path, or discarded on arrival because of a "
        "bad checksum - typical with tx checksum offload on virtual ports (pings work, TCP "
        "times out).",
        confirm="Capture at the receiver: if the segments arrive there, the receiver drops them "
        "(`nstat -az TcpInCsumErrors`); if not, the path loses them.",
        remedies=(
            "Checksum cause: `ethtool -K IFACE tx off` on the virtual port (also turns TSO/GSO "
            "off on it).",
            "Path cause: find the drop with captures at both ends and `wiredoctor diff`.",
        ),
        references=("RFC 6298", "RFC 5681", "RFC 9293 §3.8.1"),
    ),
    Page(
        id="mss-clamping",
        title="(diff) a device rewrote the TCP MSS option",
        mechanism="Routers and tunnel endpoints lower the MSS in SYNs so that segments fit the "
        "tunnel's MTU. Harmless when the checksum is updated correctly; if the update is off by "
        "one see incremental-checksum-bug.",
        confirm="`wiredoctor diff A B` shows tcp.options.mss_val changed and the checksum "
        "update kind.",
        remedies=("None needed when checksum_update is `correct`.",),
        references=("RFC 9293 §3.7.1", "RFC 1624"),
    ),
    Page(
        id="nat",
        title="(diff) addresses or ports rewritten between the two points",
        mechanism="A NAT or load balancer between the two capture points changed ip.src/ip.dst "
        "or ports and updated IP and L4 checksums (the L4 pseudo-header covers addresses).",
        confirm="`wiredoctor diff A B` lists the mapping.",
        remedies=("None needed unless other diagnoses point at the NAT.",),
        references=("RFC 3022", "RFC 1624"),
    ),
    Page(
        id="packets-lost-between-points",
        title="(diff) packets seen at A never reached B",
        mechanism="Between the two capture points something dropped them: a firewall, a queue, "
        "an MTU limit, a checksum check.",
        confirm="The lost packets' common trait (size, flags, checksum status) in the diff "
        "output; counters on the devices in between.",
        remedies=("Inspect the device between the points: firewall logs, `nstat`, `ethtool -S`.",),
        references=("RFC 2680",),
    ),
    Page(
        id="payload-modified",
        title="(diff) payload bytes changed between the two points",
        mechanism="Bytes after the transport header differ: an application-layer gateway, a "
        "proxy, or corruption.",
        confirm="The diff shows which bytes changed; an unchanged checksum with changed bytes "
        "is corruption, a recomputed one a deliberate rewrite.",
        remedies=("Identify the rewriting device; turn off its application-layer gateway.",),
        references=("RFC 1071",),
    ),
    Page(
        id="conntrack-bad-checksum-drop",
        title="(host) netfilter conntrack dropped packets with bad checksums",
        mechanism="With net.netfilter.nf_conntrack_checksum=1 (default) conntrack verifies L4 "
        "checksums and marks failures INVALID, logging `nf_ct_tcp: bad TCP checksum` (newer "
        "kernels `nf_ct_proto_6: bad checksum`) when invalid-packet logging is on. Rules that "
        "drop INVALID packets then drop them.",
        confirm="The logged SRC/DST/SPT/DPT/SEQ identify the packet; capture it before the "
        "host and compare checksums.",
        remedies=(
            "Fix whatever corrupts the checksum (often an MSS clamp or NAT: see "
            "incremental-checksum-bug).",
            "Stopgap: `sysctl -w net.netfilter.nf_conntrack_checksum=0` (conntrack stops "
            "checking; end hosts still verify).",
        ),
        references=("Linux Documentation/networking/nf_conntrack-sysctl.rst", "RFC 1624"),
    ),
    Page(
        id="driver-partial-checksum-unsupported",
        title="(host) a driver was handed a partial checksum it cannot offload",
        mechanism="Drivers such as ixgbe read only the first next header after IPv6; with an "
        "extension header in between (0x2b routing header in SRv6 inline mode, 0x3c destination "
        "options, 0x00 hop-by-hop) they cannot program the checksum offload and log `partial "
        "checksum but l4 proto=XX!`. The packet leaves with an incomplete checksum.",
        confirm="The kernel log line names the driver and PCI address; `ethtool -i IFACE` maps "
        "them to an interface.",
        remedies=(
            "`ethtool -K IFACE tx off` (also turns TSO/GSO off on it).",
            "For SRv6: use encap mode.",
        ),
        references=(
            "RFC 8200 §4",
            "RFC 8754",
            "Linux Documentation/networking/checksum-offloads.rst",
        ),
    ),
    Page(
        id="rx-checksum-errors",
        title="(host) the kernel's InCsumErrors counters rise",
        mechanism="Ip/Tcp/Udp/UdpLite/Icmp InCsumErrors count packets dropped because their "
        "checksum failed on receive; `hw csum failure` means the NIC's CHECKSUM_COMPLETE value "
        "disagreed with the data.",
        confirm="`nstat -az | grep -i csum` twice, a minute apart; `ethtool -S IFACE`.",
        remedies=(
            "Find and fix the corrupting link or device (cable, transceiver, driver).",
            "For `hw csum failure`: `ethtool -K IFACE rx off` as a workaround (CPU verifies).",
        ),
        references=("RFC 1071", "Linux Documentation/networking/checksum-offloads.rst"),
    ),
    Page(
        id="kernel-over-mtu-drop",
        title="(host) the kernel log shows frames dropped for length",
        mechanism="A device (Open vSwitch port, bridge, driver) dropped frames longer than its "
        "MTU, e.g. `dropped over-mtu packet: 1518 > 1500`. A few bytes over means something "
        "adds bytes to each frame (trailer, tag, encapsulation).",
        confirm="`ping -M do -s SIZE` sweeps; `tcpdump -e` on the device to see frame lengths.",
        remedies=(
            "Remove the extra bytes at their source, or raise the device's MTU "
            "(`ip link set dev IFACE mtu N`) consistently on every port.",
        ),
        references=("RFC 894", "RFC 1191"),
    ),
)

PAGES: dict[str, Page] = {page.id: page for page in _PAGES}

DIAGNOSIS_IDS: tuple[str, ...] = tuple(page.id for page in _PAGES)
"""Every diagnosis id in CONTRACT.md, in the contract's order."""


def explain(diagnosis_id: str) -> str | None:
    """The page for `diagnosis_id` as plain text, None when the id is unknown."""
    page = PAGES.get(diagnosis_id)
    return page.text() if page is not None else None
