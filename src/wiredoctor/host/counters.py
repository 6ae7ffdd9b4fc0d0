"""Kernel SNMP counters from /proc/net/snmp, /proc/net/netstat, /proc/net/snmp6, `nstat` and
`netstat -s`, all named the way `nstat` names them (`TcpInCsumErrors`, `IpExtInCsumErrors`,
`Udp6InCsumErrors`).

Always holds: parsers never raise and skip what they do not understand; a counter appears
only when the text states its value.
"""

from __future__ import annotations

import re

# The counters that say the kernel received packets with bad checksums (RFC 1213 MIB-II
# style names; InCsumErrors was added to Linux in 3.10 for IP, TCP, UDP, UDP-Lite, ICMP).
CSUM_ERROR_COUNTERS: tuple[str, ...] = (
    "IpExtInCsumErrors",
    "TcpInCsumErrors",
    "UdpInCsumErrors",
    "UdpLiteInCsumErrors",
    "IcmpInCsumErrors",
    "Icmp6InCsumErrors",
    "Udp6InCsumErrors",
    "UdpLite6InCsumErrors",
)

# Counters that say packets were dropped (used as context, never alone as a diagnosis).
DROP_COUNTERS: tuple[str, ...] = (
    "IpInDiscards",
    "IpInHdrErrors",
    "IpExtInTruncatedPkts",
    "TcpInErrs",
    "UdpInErrors",
    "UdpRcvbufErrors",
    "Ip6InDiscards",
    "Ip6InTooBigErrors",
    "Ip6InTruncatedPkts",
)

# `netstat -s` prints some counters as sentences; the ones the rules read, by section.
_NETSTAT_PHRASES: dict[tuple[str, str], str] = {
    ("Ip", "incoming packets discarded"): "IpInDiscards",
    ("Ip", "with invalid headers"): "IpInHdrErrors",
    ("Tcp", "bad segments received"): "TcpInErrs",
    ("Tcp", "segments retransmitted"): "TcpRetransSegs",
    ("Tcp", "segments retransmited"): "TcpRetransSegs",
    ("Udp", "packet receive errors"): "UdpInErrors",
    ("Udp", "receive buffer errors"): "UdpRcvbufErrors",
    ("Udp", "packets to unknown port received"): "UdpNoPorts",
    ("Icmp", "ICMP messages failed"): "IcmpInErrors",
}

_PAIR = re.compile(r"^(?P<section>[A-Za-z0-9]+):\s+(?P<rest>.*)$")
_NSTAT = re.compile(r"^(?P<name>[A-Z][A-Za-z0-9]+)\s+(?P<value>-?\d+)(?:\s+[\d.]+)?\s*$")
_SNMP6 = re.compile(r"^(?P<name>[A-Z][A-Za-z0-9]+6[A-Za-z0-9]*)\s+(?P<value>\d+)\s*$")
_NETSTAT_SECTION = re.compile(r"^(?P<section>[A-Za-z0-9]+):\s*$")
_NETSTAT_KEYED = re.compile(r"^(?P<key>[A-Za-z0-9]+): (?P<value>\d+)\s*$")
_NETSTAT_PHRASE = re.compile(r"^(?P<value>\d+) (?P<phrase>.+?)\s*$")


def parse_proc_snmp(text: str) -> dict[str, int]:
    """/proc/net/snmp or /proc/net/netstat: pairs of `Section: names` / `Section: values` lines."""
    out: dict[str, int] = {}
    pending: tuple[str, list[str]] | None = None
    for raw in text.splitlines():
        m = _PAIR.match(raw.strip())
        if m is None:
            pending = None
            continue
        section, words = m.group("section"), m.group("rest").split()
        numeric = all(re.fullmatch(r"-?\d+", w) for w in words)
        if pending is not None and pending[0] == section and numeric:
            for name, value in zip(pending[1], words, strict=False):
                out[f"{section}{name}"] = int(value)
            pending = None
        elif not numeric:
            pending = (section, words)
    return out


def parse_nstat(text: str) -> dict[str, int]:
    """`nstat` / `nstat -a` output, or /proc/net/snmp6: one `Name value [rate]` per line."""
    out: dict[str, int] = {}
    for raw in text.splitlines():
        line = raw.strip()
        m = _NSTAT.match(line) or _SNMP6.match(line)
        if m is not None:
            out[m.group("name")] = int(m.group("value"))
    return out


def parse_netstat_s(text: str) -> dict[str, int]:
    """`netstat -s`: sections with `Key: value` lines and a few sentences the rules need."""
    out: dict[str, int] = {}
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        m = _NETSTAT_SECTION.match(line)
        if m is not None and not raw.startswith((" ", "\t")):
            section = m.group("section")
            continue
        if not section:
            continue
        keyed = _NETSTAT_KEYED.match(line)
        if keyed is not None:
            out[f"{section}{keyed.group('key')}"] = int(keyed.group("value"))
            continue
        phrase = _NETSTAT_PHRASE.match(line)
        if phrase is not None:
            name = _NETSTAT_PHRASES.get((section, phrase.group("phrase")))
            if name is not None:
                out[name] = int(phrase.group("value"))
    return out


def parse_counters(text: str) -> dict[str, int]:
    """Counters from any of the accepted formats, recognised by their shape."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if any(line.startswith("#kernel") for line in lines) or (
        lines and all(_NSTAT.match(line) or _SNMP6.match(line) for line in lines[:5])
    ):
        return parse_nstat(text)
    snmp = parse_proc_snmp(text)
    if snmp:
        return snmp
    return parse_netstat_s(text)
