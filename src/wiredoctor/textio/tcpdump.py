"""tcpdump header lines: recognise where one starts and read what it states.

A header line is what tcpdump prints before (or instead of) a packet's hex: an optional
`-#` number, a timestamp in any `-t` style, an optional `-i any` interface and direction,
the `-e` link part, the `-v` IP part in parentheses, then `src > dst: ` and the transport
part. Mail re-wraps such lines, so the caller joins continuation lines first.

Always holds: nothing here raises on content; a field the text does not state stays None;
timestamps are returned as a `Stamp` (kind + integer nanoseconds), never a float.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum

from wiredoctor.capture.stated import StatedFields


class StampKind(IntEnum):
    """Which `-t` style a header's timestamp was printed in."""

    NONE = 0
    EPOCH = 1
    """`-tt`: seconds since the epoch."""
    DATETIME = 2
    """`-tttt`: date and time of day (taken as UTC: the text does not say the zone)."""
    CLOCK = 3
    """Default, `-ttt` or `-ttttt`: HH:MM:SS.frac, a time of day or a delta."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Stamp:
    """A printed timestamp."""

    kind: StampKind
    """The `-t` style."""
    ns: int
    """Nanoseconds: since the epoch (EPOCH, DATETIME) or since 00:00:00 (CLOCK)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Header:
    """What one (joined) tcpdump header line says."""

    stamp: Stamp
    """Its timestamp (kind NONE when it printed none)."""
    ethernet: bool
    """True when the line shows the link layer (`-e`: MAC addresses, ethertype)."""
    link_length: int | None
    """The `-e` frame length (`length 74:` after the ethertype)."""
    fields: StatedFields
    """The fields it states."""


_TIME = (
    r"(?P<date>\d{4}-\d{2}-\d{2}[ T]\d{1,2}:\d{2}:\d{2}(?:\.\d+)?)"
    r"|(?P<epoch>\d{9,11}\.\d+)"
    r"|(?P<clock>\d{1,2}:\d{2}:\d{2}\.\d+)"
)
_MAC = r"[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5}"
# A header starts with an optional -# number, an optional timestamp, an optional -i any
# interface/direction pair, then IP/IP6 or a MAC address (-e).
HEADER_START = re.compile(
    r"^\s*(?:(?P<num>\d{1,9})\s+(?=\d|IP))?(?:(?:" + _TIME + r")\s+)?"
    r"(?:(?P<ifname>[\w.@-]{1,16})\s+(?P<dir>In|Out|B|M|P)\s+)?"
    r"(?:PPPoE\s+\[[^\]]*\]\s+)?"  # PPPoE session header printed before the IP part
    r"(?P<rest>(?:IP6?\s|IP6?\(|" + _MAC + r"\s).*)$"
)

_SERVICES: dict[str, int] = {
    "ftp-data": 20,
    "ftp": 21,
    "ssh": 22,
    "telnet": 23,
    "smtp": 25,
    "domain": 53,
    "bootps": 67,
    "bootpc": 68,
    "http": 80,
    "www": 80,
    "pop3": 110,
    "ntp": 123,
    "imap": 143,
    "snmp": 161,
    "bgp": 179,
    "ldap": 389,
    "https": 443,
    "submission": 587,
    "imaps": 993,
    "pop3s": 995,
    "mysql": 3306,
    "postgresql": 5432,
    "http-alt": 8080,
}

_PROTO_NAMES: dict[str, int] = {"TCP": 6, "UDP": 17, "ICMP": 1, "ICMP6": 58, "ICMPv6": 58}

_TCP_FLAG_BITS: dict[str, int] = {
    "F": 0x01,
    "S": 0x02,
    "R": 0x04,
    "P": 0x08,
    ".": 0x10,
    "U": 0x20,
    "E": 0x40,
    "W": 0x80,
    "e": 0x100,
}


def parse_stamp(match: re.Match[str]) -> Stamp:
    """The `Stamp` of a `HEADER_START` (or any `_TIME`) match."""
    date = match.group("date")
    epoch = match.group("epoch")
    clock = match.group("clock")
    if epoch:
        whole, frac = epoch.split(".")
        return Stamp(kind=StampKind.EPOCH, ns=int(whole) * 10**9 + _frac_ns(frac))
    if date:
        day, _, time_of_day = date.replace("T", " ").partition(" ")
        whole, _, frac = time_of_day.partition(".")
        try:
            moment = datetime.strptime(f"{day} {whole}", "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
        except ValueError:
            return Stamp(kind=StampKind.NONE, ns=0)
        seconds = int(moment.timestamp())
        return Stamp(kind=StampKind.DATETIME, ns=seconds * 10**9 + _frac_ns(frac))
    if clock:
        hms, _, frac = clock.partition(".")
        hours, minutes, seconds = (int(x) for x in hms.split(":"))
        total = (hours * 3600 + minutes * 60 + seconds) * 10**9 + _frac_ns(frac)
        return Stamp(kind=StampKind.CLOCK, ns=total)
    return Stamp(kind=StampKind.NONE, ns=0)


def _frac_ns(frac: str) -> int:
    # Microseconds by default, nanoseconds with --time-stamp-precision=nano: scale by digits.
    digits = frac[:9]
    return int(digits.ljust(9, "0")) if digits else 0


def _ip(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def split_endpoint(token: str) -> tuple[str | None, int | None]:
    """`10.0.0.1.22` → ("10.0.0.1", 22); `2001:db8::1.http` → ("2001:db8::1", 80).

    A host that is not an address (a name, an anonymised `{webserver}`) gives None; a port
    printed as a service name is mapped when it is a well-known one.
    """
    token = token.strip().rstrip(":,")
    whole = _ip(token)
    if whole is not None:
        return whole, None
    head, dot, tail = token.rpartition(".")
    if not dot:
        return None, None
    port: int | None
    if tail.isdigit():
        port = int(tail) if int(tail) <= 0xFFFF else None
    else:
        port = _SERVICES.get(tail.lower())
    return _ip(head), port


def _balanced(text: str, start: int) -> int:
    """Index just after the parenthesis group that opens at `text[start]` (or len(text))."""
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                return i + 1
    return len(text)


def _int(pattern: str, text: str, base: int = 10) -> int | None:
    found = re.search(pattern, text)
    if found is None:
        return None
    try:
        return int(found.group(1), base)
    except ValueError:
        return None


def _ip_part(part: str, values: dict[str, object]) -> None:
    """Read the `-v` parenthesised IP details (IPv4 or IPv6 form)."""
    tos = _int(r"\btos 0x([0-9a-fA-F]+)", part, 16)
    if tos is None:
        tos = _int(r"\bclass 0x([0-9a-fA-F]+)", part, 16)
    values["tos"] = tos
    ttl = _int(r"\bttl (\d+)", part)
    values["ttl"] = ttl if ttl is not None else _int(r"\bhlim (\d+)", part)
    values["ip_id"] = _int(r"\bid (\d+)", part)
    flags = re.search(r"\bflags \[([^\]]*)\]", part)
    if flags is not None:
        values["df"] = "DF" in flags.group(1)
    proto = _int(r"\bproto \w+ \((\d+)\)", part)
    if proto is None:
        proto = _int(r"\bnext-header \w+ \((\d+)\)", part)
    values["proto"] = proto
    payload = _int(r"payload length: (\d+)", part)
    if payload is not None:
        values["ip_version"] = 6
        values["ip_len"] = 40 + payload
    else:
        length = _int(r"\blength (\d+)", part)
        if length is not None:
            values["ip_version"] = 4
            values["ip_len"] = length


def _tcp_options(text: str, values: dict[str, object]) -> None:
    options = re.search(r"options \[([^\]]*)\]", text)
    if options is None:
        return
    body = options.group(1)
    values["mss"] = _int(r"\bmss (\d+)", body)
    values["wscale"] = _int(r"\bwscale (\d+)", body)
    values["sack_perm"] = "sackOK" in body
    values["tsval"] = _int(r"\bTS val (\d+)", body)
    values["tsecr"] = _int(r"\becr (\d+)", body)


def _transport(text: str, values: dict[str, object]) -> None:
    """Read the part after `src > dst: ` (TCP, UDP, ICMP, ICMPv6)."""
    # TCP's part starts with its flags; `Flags [` later on belongs to an application
    # decoder (BOOTP, Geneve) above UDP.
    flags = re.match(r"\s*Flags \[([^\]]*)\]", text)
    if flags is not None and values.get("proto") in (None, 6):
        values["proto"] = 6
        letters = flags.group(1)
        bits = 0
        if letters != "none":
            for letter in letters:
                bits |= _TCP_FLAG_BITS.get(letter, 0)
        values["tcp_flags"] = bits
        values["seq"] = _int(r"\bseq (\d+)", text)
        values["ack"] = _int(r"\back (\d+)", text)
        values["window"] = _int(r"\bwin (\d+)", text)
        _tcp_options(text, values)
        lengths = re.findall(r"\blength (\d+)", text)
        if lengths:
            values["payload_len"] = int(lengths[0])
        checksum = re.search(
            r"cksum 0x([0-9a-fA-F]{1,4}) \((correct|incorrect\s*->\s*0x([0-9a-fA-F]{1,4}))\)",
            text,
        )
        if checksum is not None:
            values["checksum"] = int(checksum.group(1), 16)
            if checksum.group(2) == "correct":
                values["checksum_verdict"] = "correct"
            else:
                values["checksum_verdict"] = "incorrect"
                values["checksum_expected"] = int(checksum.group(3), 16)
        return
    udp_bad = re.search(r"bad udp cksum 0x([0-9a-fA-F]{1,4}) -> 0x([0-9a-fA-F]{1,4})", text)
    if udp_bad is not None:
        values.setdefault("proto", 17)
        values["checksum"] = int(udp_bad.group(1), 16)
        values["checksum_verdict"] = "incorrect"
        values["checksum_expected"] = int(udp_bad.group(2), 16)
    elif "[udp sum ok]" in text:
        values.setdefault("proto", 17)
        values["checksum_verdict"] = "correct"
    icmp6_bad = re.search(r"bad icmp6 cksum 0x([0-9a-fA-F]{1,4}) -> 0x([0-9a-fA-F]{1,4})", text)
    if icmp6_bad is not None:
        values.setdefault("proto", 58)
        values["checksum"] = int(icmp6_bad.group(1), 16)
        values["checksum_verdict"] = "incorrect"
        values["checksum_expected"] = int(icmp6_bad.group(2), 16)
    elif "[icmp6 sum ok]" in text:
        values.setdefault("proto", 58)
        values["checksum_verdict"] = "correct"
    icmp_bad = re.search(r"wrong icmp cksum ([0-9a-fA-F]{1,4}) \(->([0-9a-fA-F]{1,4})\)", text)
    if icmp_bad is not None:
        values.setdefault("proto", 1)
        values["checksum"] = int(icmp_bad.group(1), 16)
        values["checksum_verdict"] = "incorrect"
        values["checksum_expected"] = int(icmp_bad.group(2), 16)
    if re.search(r"\bUDP, length (\d+)", text):
        values.setdefault("proto", 17)
        values["payload_len"] = _int(r"\bUDP, length (\d+)", text)
    echo = re.search(r"\bICMP (echo request|echo reply), id (\d+), seq (\d+)", text)
    if echo is not None:
        values.setdefault("proto", 1)
        values["icmp_type"] = 8 if echo.group(1) == "echo request" else 0
        values["icmp_code"] = 0
        values["icmp_id"] = int(echo.group(2))
        values["icmp_seq"] = int(echo.group(3))
    elif re.search(r"\bICMP6\b", text):
        values.setdefault("proto", 58)
    elif re.search(r"\bICMP\b", text):
        values.setdefault("proto", 1)


def header_marked(line: str) -> bool:
    """True when a header line starts with a `-#` number or a timestamp."""
    start = HEADER_START.match(line)
    return start is not None and any(start.group(k) for k in ("num", "date", "epoch", "clock"))


def is_inner_line(line: str, *, text_marks_headers: bool) -> bool:
    """True for tcpdump's line for the packet inside a tunnel (VXLAN, Geneve, GRE…).

    It belongs to the packet on the line before. It carries no number or time; where the
    text's packet lines do carry them that alone tells, otherwise its indentation does.
    """
    if HEADER_START.match(line) is None or header_marked(line):
        return False
    return text_marks_headers or line[:1].isspace()


def parse_header(text: str, source_line: int, *, depth: int = 0) -> Header | None:
    """Read one joined header line; None when it is not a tcpdump header after all.

    `depth` counts IP-in-IP nesting already followed (the recursion is bounded).
    """
    start = HEADER_START.match(text)
    if start is None:
        return None
    stamp = parse_stamp(start)
    rest = start.group("rest")
    values: dict[str, object] = {}
    ethernet = False
    link_length: int | None = None
    if re.match(_MAC, rest):
        ethernet = True
        link = re.match(r"[^:]*(?::[0-9a-fA-F]{2}){5}[^:]*(?::[0-9a-fA-F]{2}){5}[^:]*:\s*", rest)
        if link is not None:
            link_length = _int(r"length (\d+)", link.group(0))
            rest = rest[link.end() :]
        if "IPv6" in (link.group(0) if link else ""):
            values["ip_version"] = 6
        elif "IPv4" in (link.group(0) if link else ""):
            values["ip_version"] = 4
    version_word = re.match(r"(IP6?)\s*", rest)
    if version_word is not None:
        values["ip_version"] = 6 if version_word.group(1) == "IP6" else 4
        rest = rest[version_word.end() :]
        # A datagram longer than the captured bytes is announced before its IP part.
        rest = re.sub(r"^truncated-ip6? - \d+ bytes missing!\s*", "", rest)
    if rest.startswith("("):
        end = _balanced(rest, 0)
        _ip_part(rest[1 : end - 1], values)
        rest = rest[end:].lstrip()
    # `src > dst: …`; the arrow may be lost when a quoted line began with it.
    endpoints = re.match(r"(\S+)\s+(?:>\s+)?(\S+):(?:\s+|$)", rest)
    if endpoints is not None:
        src, sport = split_endpoint(endpoints.group(1))
        dst, dport = split_endpoint(endpoints.group(2))
        values.update(src=src, dst=dst, sport=sport, dport=dport)
        if "ip_version" not in values:
            address = src or dst
            if address is not None:
                values["ip_version"] = 6 if ":" in address else 4
        after = rest[endpoints.end() :]
        skipped = _skip_extension_headers(after)
        if skipped != after and values.get("ip_version") == 6:
            # The IPv6 part named the first extension header, not the transport.
            values["proto"] = None
        after = skipped
        inner = _INNER_IP.match(after)
        if inner is not None and depth < _MAX_DEPTH:
            # IP in IP (IPIP, 6in4, SRv6 encapsulation): the innermost packet's fields.
            nested = parse_header(after[inner.start(1) :], source_line, depth=depth + 1)
            if nested is not None and (nested.fields.src or nested.fields.proto is not None):
                values = {
                    name: getattr(nested.fields, name)
                    for name in StatedFields.__dataclass_fields__
                    if name != "source_line"
                }
                after = ""
        ports = _PORTS.match(after)
        if ports is not None:
            # IPv6 extension headers print the transport's ports after their own part.
            values["sport"] = split_endpoint("x." + ports.group(1))[1]
            values["dport"] = split_endpoint("x." + ports.group(2))[1]
            after = after[ports.end() :]
        if after:
            _transport(after, values)
    fields = StatedFields(source_line=source_line, **values)  # type: ignore[arg-type]
    return Header(stamp=stamp, ethernet=ethernet, link_length=link_length, fields=fields)


# IPv6 extension headers as tcpdump prints them before the transport: `RT6 (…)`, `HBH (…)`.
_EXTENSION = re.compile(r"\s*(?:HBH|RT6|DSTOPT|frag|AH|MOBILITY|mobility|srcrt)\s*\(")
_INNER_IP = re.compile(r"\s*(IP6? ?\()")
_PORTS = re.compile(r"\s*([\w-]+) > ([\w-]+):(?:\s+|$)")
_MAX_DEPTH = 4


def _skip_extension_headers(text: str) -> str:
    while True:
        found = _EXTENSION.match(text)
        if found is None:
            return text
        text = text[_balanced(text, found.end() - 1) :]
        # Options print their own groups right after: `DSTOPT (padn)(homeaddr: …)`.
        while text.startswith("("):
            text = text[_balanced(text, 0) :]


def _ends_with_inner_ip(text: str) -> bool:
    text = text.rstrip()
    if not text.endswith(")"):
        return False
    depth = 0
    for i in range(len(text) - 1, -1, -1):
        depth += text[i] == ")"
        depth -= text[i] == "("
        if depth == 0:
            return bool(re.search(r"(?:^|\s)IP6? ?$", text[:i]))
    return False


def looks_complete(text: str) -> bool:
    """True when a joined header already ends like a whole tcpdump line.

    Used to stop joining continuation lines: the IP parentheses are closed, the endpoints
    are there, and the line ends with the transport's `length N` (or a checksum verdict).
    """
    start = HEADER_START.match(text)
    if start is None:
        return True
    rest = start.group("rest")
    depth = 0
    for char in rest:
        depth += char == "("
        depth -= char == ")"
    if depth > 0 or rest.count("[") > rest.count("]"):
        return False
    if not re.search(r"\S+\s+>\s+\S+:", rest):
        return False
    if _ends_with_inner_ip(rest):
        return False  # `a > b: IP (…)`: the tunnelled packet's endpoints follow
    if "Flags [" in rest:
        # tcpdump ends every TCP line with the segment length (`length 0`, `length: 82`).
        return bool(re.search(r"length:? \d+\s*$", rest))
    return bool(re.search(r"(?:length:? \d+|sum ok\]|!\]|\))\s*$", rest))
