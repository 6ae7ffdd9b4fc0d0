"""Kernel log messages wiredoctor knows: from one re-joined log entry to a typed event.

The shapes recognised are the kernel's own format strings: netfilter conntrack's invalid-packet
log (`nf_ct_tcp: bad TCP checksum IN= OUT= SRC=…`, newer `nf_ct_proto_6: bad checksum …`),
the drivers' `partial checksum but l4 proto=%x!` dev_warn, `netdev_rx_csum_fault`'s
`%s: hw csum failure`, Open vSwitch's `%s: dropped over-mtu packet: %d > %d`, and the UDP
receive path's `short packet` / `bad checksum` reports. Always holds: `recognise` never raises;
text it does not know gives None.
"""

from __future__ import annotations

import re

from wiredoctor.host.events import (
    ChecksumError,
    ConntrackBadChecksum,
    HwCsumFailure,
    KernelEvent,
    LengthDrop,
    PartialChecksumUnsupported,
)
from wiredoctor.ipproto import IpProto

IP_PROTO_NAMES: dict[IpProto, str] = {
    IpProto.HOPOPTS: "IPv6 hop-by-hop options header",
    IpProto.ICMP: "ICMP",
    IpProto.IGMP: "IGMP",
    IpProto.IPIP: "IPv4 encapsulation (IP-in-IP)",
    IpProto.TCP: "TCP",
    IpProto.UDP: "UDP",
    IpProto.IPV6: "IPv6 encapsulation (6in4/6in6)",
    IpProto.ROUTING: "IPv6 routing header",
    IpProto.FRAGMENT: "IPv6 fragment header",
    IpProto.GRE: "GRE",
    IpProto.ESP: "ESP",
    IpProto.AH: "AH",
    IpProto.ICMPV6: "ICMPv6",
    IpProto.NO_NEXT: "IPv6 no next header",
    IpProto.DSTOPTS: "IPv6 destination options header",
    IpProto.SCTP: "SCTP",
    IpProto.MOBILITY: "IPv6 mobility header",
    IpProto.UDPLITE: "UDP-Lite",
    IpProto.ETHERNET: "Ethernet",
}


def ip_proto_name(number: int) -> str:
    """Name of IP protocol / next header `number` (`protocol 253` when not in the table)."""
    try:
        return IP_PROTO_NAMES[IpProto(number)]
    except ValueError:
        return f"protocol {number}"


_CONNTRACK = re.compile(
    r"(?P<logger>nf_ct_[A-Za-z0-9_]+): (?P<msg>[^=]*?checksum[^=]*?)(?=\s+\w+=|$)"
)
_PARTIAL = re.compile(
    r"partial checksum but (?:(?:l4|L4) )?"
    r"(?:(?P<proto_kw>proto)(?P<sp>\s?)=\s?(?P<proto>(?:0x)?[0-9a-fA-F]+)"
    r"|ip ?(?:version|v) ?= ?(?P<ipv>[0-9a-fA-F]+))"
)
_HW_CSUM = re.compile(r"(?P<dev>\S+): hw csum failure")
_OVER_MTU = re.compile(r"(?P<dev>\S+): dropped over-mtu packet: (?P<len>\d+) > (?P<mtu>\d+)")
_UDP_SHORT = re.compile(
    r"UDP(?:-Lite)?6?: short packet: From (?P<src>\S+):(?P<sport>\d+) (?P<ulen>\d+)/(?P<len>\d+)"
    r" to (?P<dst>\S+):(?P<dport>\d+)"
)
_UDP_BAD = re.compile(
    r"UDP(?P<lite>-Lite)?6?: bad checksum\. From (?P<src>\S+):(?P<sport>\d+) to (?P<dst>\S+):"
    r"(?P<dport>\d+)"
)
_DEVICE_PREFIX = re.compile(r"(?:^|\s)(?P<dev>[A-Za-z][\w.@-]*): ")
_LENGTH_WORDS = re.compile(
    r"(?:packet|frame|pkt)s? (?:is |was )?too (?:long|big|large)|oversized? (?:packet|frame)"
    r"|dropping oversized|over-?mtu|bad (?:packet |frame )?length",
    re.IGNORECASE,
)
# Kernel messages open with "<subsystem>: ", "<ifname>: " or "<driver> <bus address>: ".
_MESSAGE_START = re.compile(r"^(?:[\w.-]+ [\w:.-]+ )?[\w.@-]+: ")
_CSUM_WORDS = re.compile(r"(?:csum|checksum) (?:error|failure|fail(?:ed)?)", re.IGNORECASE)
_FIELD = re.compile(r"(?P<key>[A-Z]+)=(?P<value>\S*)")
_OPT = re.compile(r"OPT \((?P<hex>[0-9A-Fa-f]*)\)")
_PCI = re.compile(r"^[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$")
_TCP_FLAGS = ("CWR", "ECE", "URG", "ACK", "PSH", "RST", "SYN", "FIN")
_PROTO_BY_LOGGER = {
    "tcp": "TCP",
    "udp": "UDP",
    "udplite": "UDPLITE",
    "icmp": "ICMP",
    "icmpv6": "ICMPv6",
}


def recognise(line: int, text: str, *, generic: bool = True) -> KernelEvent | None:
    """The event one kernel log entry reports, or None when it is none of the known shapes.

    `generic` also accepts the looser shapes (a device prefix and words such as "packet too
    long" or "checksum error"); leave it off for text that carries no log prefix, where such
    words are more likely prose than a kernel message.
    """
    if (m := _CONNTRACK.search(text)) is not None:
        return _conntrack(line, text, m)
    if (m := _PARTIAL.search(text)) is not None:
        return _partial(line, text, m)
    if (m := _HW_CSUM.search(text)) is not None:
        dev = m.group("dev")
        return HwCsumFailure(line=line, text=text, device=None if dev.startswith("<") else dev)
    if (m := _OVER_MTU.search(text)) is not None:
        return LengthDrop(
            line=line,
            text=text,
            device=m.group("dev"),
            length=int(m.group("len")),
            limit=int(m.group("mtu")),
        )
    if (m := _UDP_SHORT.search(text)) is not None:
        # udp.c prints "%d/%d": the length the UDP header claims, then the bytes received.
        return LengthDrop(
            line=line,
            text=text,
            length=int(m.group("len")),
            limit=int(m.group("ulen")),
            kind="short",
        )
    if (m := _UDP_BAD.search(text)) is not None:
        return ChecksumError(
            line=line,
            text=text,
            proto="UDPLITE" if m.group("lite") else "UDP",
            src=m.group("src"),
            dst=m.group("dst"),
            sport=int(m.group("sport")),
            dport=int(m.group("dport")),
        )
    if not generic or len(text) > 300 or _MESSAGE_START.match(text) is None:
        return None
    if _LENGTH_WORDS.search(text) is not None:
        return _generic_length(line, text)
    if _CSUM_WORDS.search(text) is not None:
        dev = _DEVICE_PREFIX.search(text)
        return ChecksumError(line=line, text=text, device=dev.group("dev") if dev else None)
    return None


def looks_unfinished(text: str) -> bool:
    """True when `text` starts a known message that a line break cut before its end."""
    tail = text.rstrip()
    return bool(
        re.search(r"partial checksum(?: but(?: l4| ip)?)?$", tail)
        or re.search(r"nf_ct_\w+: bad( \w+)?( checksum)?$", tail)
        or re.search(r"dropped over-mtu( packet:?)?( \d+( >)?)?$", tail)
        or tail.endswith(": hw csum")
    )


def tcp_option_mss(options: bytes) -> int | None:
    """The MSS from raw TCP option bytes (kind 2, length 4; RFC 9293 §3.2), or None."""
    i = 0
    while i < len(options):
        kind = options[i]
        if kind == 0:  # end of option list
            return None
        if kind == 1:  # no-operation
            i += 1
            continue
        if i + 1 >= len(options):
            return None
        length = options[i + 1]
        if length < 2 or i + length > len(options):
            return None
        if kind == 2 and length == 4:
            return int.from_bytes(options[i + 2 : i + 4], "big")
        i += length
    return None


def _int(value: str | None, base: int = 10) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value, base)
    except ValueError:
        return None


def _conntrack(line: int, text: str, m: re.Match[str]) -> ConntrackBadChecksum:
    rest = text[m.end() :]
    # nf_log prints the IP part, then PROTO= and the L4 part; ID= and LEN= occur in both
    # (IP identification vs ICMP echo id, IP vs UDP length), so each side is read apart.
    cut = rest.find("PROTO=")
    ip_part, l4_part = (rest[:cut], rest[cut:]) if cut >= 0 else (rest, "")
    fields: dict[str, str] = {}
    for f in _FIELD.finditer(ip_part):
        fields.setdefault(f.group("key"), f.group("value"))
    l4: dict[str, str] = {}
    for f in _FIELD.finditer(l4_part):
        l4.setdefault(f.group("key"), f.group("value"))
    # The TCP part of an nf_log line starts at SPT=; IP options (also `OPT (…)`) come before it.
    spt = rest.find("SPT=")
    tcp_part = rest[spt:] if spt >= 0 else ""
    opt = _OPT.search(tcp_part)
    opt_hex = opt.group("hex").upper() if opt else None
    mss = None
    if opt_hex is not None and len(opt_hex) % 2 == 0:
        mss = tcp_option_mss(bytes.fromhex(opt_hex))
    bare = set(re.sub(r"\w+=\S*|OPT \([0-9A-Fa-f]*\)", " ", tcp_part).split())
    flags = tuple(f for f in _TCP_FLAGS if f in bare)
    logger = m.group("logger")
    suffix = logger.removeprefix("nf_ct_")
    proto = l4.get("PROTO") or _PROTO_BY_LOGGER.get(suffix)
    if proto is None and suffix.startswith("proto_") and suffix[6:].isdigit():
        proto = ip_proto_name(int(suffix[6:]))
    return ConntrackBadChecksum(
        line=line,
        text=text,
        logger=logger,
        proto=proto or suffix,
        in_iface=fields.get("IN"),
        out_iface=fields.get("OUT"),
        src=fields.get("SRC"),
        dst=fields.get("DST"),
        length=_int(fields.get("LEN")),
        ttl=_int(fields.get("TTL") or fields.get("HOPLIMIT")),
        ip_id=_int(fields.get("ID")),
        sport=_int(l4.get("SPT")),
        dport=_int(l4.get("DPT")),
        seq=_int(l4.get("SEQ")) if proto == "TCP" else None,
        ack=_int(l4.get("ACK")) if proto == "TCP" else None,
        window=_int(l4.get("WINDOW")),
        flags=flags,
        tcp_options_hex=opt_hex,
        mss=mss,
    )


def _partial(line: int, text: str, m: re.Match[str]) -> PartialChecksumUnsupported:
    # dev_warn prefixes "<driver> <bus address>: ", netdev_warn adds " <ifname>" before ": ".
    head = text[: m.start()].rstrip()
    head = head.removesuffix(":").strip()
    words = head.split()[-3:] if head else []
    driver = bus = device = None
    pci = [i for i, w in enumerate(words) if _PCI.match(w)]
    if pci:
        i = pci[-1]
        bus = words[i]
        driver = words[i - 1] if i > 0 else None
        device = words[i + 1] if i + 1 < len(words) else None
    elif len(words) == 3:
        driver, bus, device = words
    elif len(words) == 2:
        driver, bus = words
    elif len(words) == 1:
        device = words[0]
    proto = ip_version = None
    if m.group("proto") is not None:
        # Most drivers print "%x"; TI netcp prints "L4 proto = %d" with spaces.
        base = 10 if m.group("sp") else 16
        proto = _int(m.group("proto").removeprefix("0x"), base)
    else:
        ip_version = _int(m.group("ipv"), 16)
    return PartialChecksumUnsupported(
        line=line,
        text=text,
        driver=driver,
        bus_info=bus,
        device=device,
        l4_proto=proto,
        l4_name=ip_proto_name(proto) if proto is not None else None,
        ip_version=ip_version,
    )


def _generic_length(line: int, text: str) -> LengthDrop:
    dev = _DEVICE_PREFIX.search(text)
    words = _LENGTH_WORDS.search(text)
    after = text[words.end() :] if words else text
    numbers = [int(n) for n in re.findall(r"\b(\d{2,6})\b", after)]
    limit = None
    lim = re.search(r"(?:>|mtu|MTU|max(?:imum)?)\s*:?\s*(\d+)", after)
    if lim is not None:
        limit = int(lim.group(1))
        numbers = [n for n in numbers if n != limit]
    return LengthDrop(
        line=line,
        text=text,
        device=dev.group("dev") if dev else None,
        length=numbers[0] if numbers else None,
        limit=limit,
    )
