"""Wireshark packet-list text: `No. Time Source Destination Protocol Length Info` rows.

Rows come pasted with tabs, runs of spaces or as CSV ("Export Packet Dissections → As
CSV"). The Info column is read for TCP: analysis markers (`[TCP Retransmission]`,
`[TCP Dup ACK 5#1]`), ports, flag names and `Key=value` fields; sequence numbers there are
relative (Wireshark's default), which the record says.

Always holds: nothing raises on content; a line that is not a row gives None; a value cut
off at the end of a pasted line (`MS`, `SRE=`) is ignored, not guessed.
"""

from __future__ import annotations

import csv
import ipaddress
import math
import re
from dataclasses import dataclass

from wiredoctor.capture.stated import StatedFields

_ROW = re.compile(
    r"^\s*(?P<no>\d+)\s+(?P<time>\S+(?: \d{1,2}:\d{2}:\d{2}(?:\.\d+)?)?)\s+"
    r"(?P<src>\S+)\s+(?P<dst>\S+)\s+(?P<proto>[A-Za-z][\w./-]*)\s+(?P<length>\d+)\s+(?P<info>.*)$"
)
_HEADER_WORDS = ("No.", "Time", "Source", "Destination", "Protocol", "Length", "Info")

_FLAG_BITS: dict[str, int] = {
    "FIN": 0x01,
    "SYN": 0x02,
    "RST": 0x04,
    "PSH": 0x08,
    "ACK": 0x10,
    "URG": 0x20,
    "ECE": 0x40,
    "ECN": 0x40,
    "CWR": 0x80,
    "AE": 0x100,
    "NS": 0x100,
}
_PROTOCOLS: dict[str, int] = {"TCP": 6, "UDP": 17, "ICMP": 1, "ICMPV6": 58, "UDPLITE": 136}
_RETRANSMISSION_MARKERS = (
    "[TCP Retransmission]",
    "[TCP Fast Retransmission]",
    "[TCP Spurious Retransmission]",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ListRow:
    """One packet-list row."""

    number: int
    """The `No.` column (Wireshark's frame number; lists may be filtered)."""
    ts_ns: int | None
    """The Time column in nanoseconds (relative seconds or time of day), None if unreadable."""
    fields: StatedFields
    """What the row states."""


def is_header(line: str) -> bool:
    """True for the column header line of a packet list."""
    words = [w.strip().strip('"') for w in re.split(r"[\t,]|\s{2,}|\s", line.strip()) if w.strip()]
    return len(words) >= 7 and tuple(words[:7]) == _HEADER_WORDS


def _address(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def _time_ns(text: str) -> int | None:
    text = text.strip()
    seconds = re.fullmatch(r"(-?\d+)(?:\.(\d{1,9}))?", text)
    if seconds is not None:
        whole = int(seconds.group(1))
        frac = int((seconds.group(2) or "").ljust(9, "0"))
        return whole * 10**9 + (frac if whole >= 0 else -frac)
    clock = re.search(r"(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?$", text)
    if clock is not None:
        h, m, s = int(clock.group(1)), int(clock.group(2)), int(clock.group(3))
        frac = int((clock.group(4) or "").ljust(9, "0"))
        return (h * 3600 + m * 60 + s) * 10**9 + frac
    return None


def _info(info: str, values: dict[str, object]) -> None:
    """Read the Info column of a TCP row."""
    values["retransmission"] = any(m in info for m in _RETRANSMISSION_MARKERS)
    values["dup_ack"] = "[TCP Dup ACK" in info
    ports = re.search(r"(\d+)\s*(?:→|->|>)\s*(\d+)", info)
    if ports is not None:
        values["sport"] = int(ports.group(1))
        values["dport"] = int(ports.group(2))
    flags = re.search(r"(?:→|->|>)\s*\d+\s*\[([A-Z, ]+)\]", info)
    if flags is not None:
        bits = 0
        for name in flags.group(1).split(","):
            bits |= _FLAG_BITS.get(name.strip(), 0)
        values["tcp_flags"] = bits
    # Key=value pairs; a pair cut off by the paste (no digits after `=`) never matches.
    pairs = {k: int(v) for k, v in re.findall(r"\b(\w+)=(\d+)(?=\s|$)", info)}
    if "Seq" in pairs:
        values["seq"] = pairs["Seq"]
        values["relative_seq"] = True
    if "Ack" in pairs:
        values["ack"] = pairs["Ack"]
        values["relative_seq"] = True
    if "Win" in pairs:
        values["window"] = pairs["Win"]
    if "Len" in pairs:
        values["payload_len"] = pairs["Len"]
    if "MSS" in pairs:
        values["mss"] = pairs["MSS"]
    if "WS" in pairs and pairs["WS"] > 0:
        # Wireshark prints the multiplier (WS=128), the option carries the shift (7).
        values["wscale"] = int(math.log2(pairs["WS"]))
    if "TSval" in pairs:
        values["tsval"] = pairs["TSval"]
    if "TSecr" in pairs:
        values["tsecr"] = pairs["TSecr"]
    if re.search(r"\bSACK_PERM\b", info):
        values["sack_perm"] = True


def _icmp(info: str, values: dict[str, object]) -> None:
    echo = re.search(r"Echo \(ping\) (request|reply)\s+id=0x([0-9a-fA-F]+), seq=(\d+)", info)
    if echo is not None:
        values["icmp_type"] = 8 if echo.group(1) == "request" else 0
        values["icmp_code"] = 0
        values["icmp_id"] = int(echo.group(2), 16)
        values["icmp_seq"] = int(echo.group(3))
    ttl = re.search(r"\bttl=(\d+)", info)
    if ttl is not None:
        values["ttl"] = int(ttl.group(1))


def _columns(line: str) -> list[str] | None:
    if line.lstrip().startswith('"'):
        row = next(csv.reader([line.strip()]), [])
        return row if len(row) >= 7 else None
    if "\t" in line:
        cells = [c.strip() for c in line.strip().split("\t")]
        if len(cells) >= 7:
            return [*cells[:6], "\t".join(cells[6:])]
    found = _ROW.match(line)
    if found is None:
        return None
    return [found.group(k) for k in ("no", "time", "src", "dst", "proto", "length", "info")]


def parse_row(line: str, source_line: int) -> ListRow | None:
    """Read one packet-list row; None when the line is not one."""
    cells = _columns(line)
    if cells is None:
        return None
    number, time, src_text, dst_text, protocol, length, info = cells[:7]
    if not number.isdigit() or not length.isdigit():
        return None
    src, dst = _address(src_text), _address(dst_text)
    if src is None and dst is None:
        return None
    values: dict[str, object] = {"src": src, "dst": dst, "frame_len": int(length)}
    address = src or dst
    values["ip_version"] = 6 if address is not None and ":" in address else 4
    proto = _PROTOCOLS.get(protocol.upper())
    if proto is None and re.search(r"\bSeq=\d+", info):
        proto = 6  # an application protocol over TCP (HTTP, TLS…): Info still shows TCP
    values["proto"] = proto
    if proto == 6:
        _info(info, values)
    elif proto in (1, 58):
        _icmp(info, values)
    elif proto == 17:
        ports = re.search(r"(\d+)\s*(?:→|->|>)\s*(\d+)", info)
        if ports is not None:
            values["sport"], values["dport"] = int(ports.group(1)), int(ports.group(2))
        udp_len = re.search(r"\bLen=(\d+)", info)
        if udp_len is not None:
            values["payload_len"] = int(udp_len.group(1))
    fields = StatedFields(source_line=source_line, **values)  # type: ignore[arg-type]
    return ListRow(number=int(number), ts_ns=_time_ns(time), fields=fields)
