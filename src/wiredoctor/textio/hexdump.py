"""Hex dump lines: tcpdump `-x/-xx/-X/-XX` and text2pcap-style offset dumps, to bytes.

tcpdump prints `0x0010:  ac12 8009 0050 …  ascii` (16-bit groups, hex offsets); Wireshark's
"copy as hex dump", `od -Ax -tx1` and text2pcap input print `0010  ac 12 80 09 …` (bytes).
The ASCII column is never read for data: mail archives rewrite it (`@` becomes ` at `) and
collapse the spacing that separated it from the hex. It is only used to tell where the hex
stops on a short last line, by checking which reading makes the rest of the line the ASCII
rendering of the bytes read.

Always holds: nothing raises on content; a line that is not a hex line gives None; at most
16 bytes come from one line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from wiredoctor.capture.record import LinkType

_TCPDUMP_LINE = re.compile(r"^\s*0x([0-9a-fA-F]{4,8}):\s*(.*)$")
_OFFSET_LINE = re.compile(r"^\s*([0-9a-fA-F]{4,8})(?::|\s)\s*((?:[0-9a-fA-F]{2}(?:\s+|$)).*)$")
_GROUP4 = re.compile(r"^[0-9a-fA-F]{4}$")
_GROUP2 = re.compile(r"^[0-9a-fA-F]{2}$")


@dataclass(frozen=True, slots=True, kw_only=True)
class HexLine:
    """One line of a hex dump."""

    offset: int
    """The printed offset of the line's first byte."""
    data: bytes
    """The bytes the line shows."""
    tcpdump: bool
    """True for tcpdump's `0x…:` form, False for the offset-dump form."""


def _ascii(data: bytes) -> str:
    return "".join(chr(b) if 0x20 <= b < 0x7F else "." for b in data)


def _normal(text: str) -> str:
    # Undo the archive munging of `@`, then ignore spacing (collapsed or re-added by mail).
    return re.sub(r"\s+", "", re.sub(r" at ", "@", text))


def _choose(tokens: list[str], rest_after: list[str], chunks: list[bytes]) -> bytes:
    """Pick how many leading hex tokens are data: the reading whose rest is the ASCII column.

    `chunks[i]` is the bytes of token i, `rest_after[i]` the text after token i. A reading
    whose rest renders as the ASCII of its bytes is confirmed and wins (longest first);
    otherwise every token counts (plain `-x` output has no ASCII column at all).
    """
    for n in range(len(tokens), 0, -1):
        data = b"".join(chunks[:n])
        rest = rest_after[n - 1]
        if rest.strip() and _normal(rest) == _normal(_ascii(data)):
            return data
    return b"".join(chunks)


def _tokens(body: str, pattern: re.Pattern[str], limit: int) -> tuple[list[str], list[str]]:
    tokens: list[str] = []
    rests: list[str] = []
    for found in re.finditer(r"\S+", body):
        token = found.group(0)
        if len(tokens) >= limit or not pattern.match(token):
            break
        tokens.append(token)
        rests.append(body[found.end() :])
    return tokens, rests


def parse_hex_line(line: str) -> HexLine | None:
    """Read one hex dump line (either form); None when the line is not one."""
    found = _TCPDUMP_LINE.match(line)
    if found is not None:
        body = found.group(2)
        tokens, rests = _tokens(body, re.compile(r"^(?:[0-9a-fA-F]{4}|[0-9a-fA-F]{2})$"), 8)
        # A 2-digit group is only the odd last byte of a packet; nothing follows it.
        for i, token in enumerate(tokens):
            if len(token) == 2:
                tokens, rests = tokens[: i + 1], rests[: i + 1]
                break
        if not tokens:
            return None
        chunks = [bytes.fromhex(t) for t in tokens]
        return HexLine(
            offset=int(found.group(1), 16), data=_choose(tokens, rests, chunks), tcpdump=True
        )
    found = _OFFSET_LINE.match(line)
    if found is not None:
        tokens, rests = _tokens(found.group(2), _GROUP2, 16)
        if not tokens:
            return None
        chunks = [bytes.fromhex(t) for t in tokens]
        return HexLine(
            offset=int(found.group(1), 16), data=_choose(tokens, rests, chunks), tcpdump=False
        )
    return None


# Ethertypes that carry what we decode, or tags in front of it (IEEE 802.1Q, 802.1ad).
_ETHERTYPES = frozenset({0x0800, 0x86DD, 0x0806, 0x8100, 0x88A8, 0x9100, 0x8847, 0x8864})
_VLAN_TAGS = frozenset({0x8100, 0x88A8, 0x9100})


def _ipv4_header_ok(data: bytes) -> bool:
    if len(data) < 20 or data[0] >> 4 != 4:
        return False
    ihl = (data[0] & 0x0F) * 4
    total = int.from_bytes(data[2:4], "big")
    return ihl >= 20 and (total == 0 or total >= ihl)


def _ipv6_header_ok(data: bytes) -> bool:
    return len(data) >= 40 and data[0] >> 4 == 6


def _ip_ok(data: bytes) -> bool:
    return _ipv4_header_ok(data) or _ipv6_header_ok(data)


def _raw_score(data: bytes) -> int:
    """How well `data` reads as a raw IP packet (0 = not at all)."""
    if _ipv4_header_ok(data):
        ihl = (data[0] & 0x0F) * 4
        total = int.from_bytes(data[2:4], "big")
        score = 1
        if total == len(data):
            score += 2
        words = sum(int.from_bytes(data[i : i + 2], "big") for i in range(0, ihl, 2))
        while words > 0xFFFF:
            words = (words & 0xFFFF) + (words >> 16)
        if words == 0xFFFF:
            score += 2  # the IPv4 header checksum verifies
        return score
    if _ipv6_header_ok(data):
        payload = int.from_bytes(data[4:6], "big")
        return 3 if payload + 40 == len(data) else 1
    return 0


def _ethernet_score(data: bytes) -> int:
    if len(data) < 14:
        return 0
    offset = 12
    ethertype = int.from_bytes(data[offset : offset + 2], "big")
    while ethertype in _VLAN_TAGS and offset + 6 <= len(data):
        offset += 4
        ethertype = int.from_bytes(data[offset : offset + 2], "big")
    if ethertype not in _ETHERTYPES:
        return 0
    inner = data[offset + 2 :]
    if ethertype == 0x0800 and _ipv4_header_ok(inner):
        return 2 + _raw_score(inner)
    if ethertype == 0x86DD and _ipv6_header_ok(inner):
        return 2 + _raw_score(inner)
    return 1


def _sll_score(data: bytes) -> int:
    # Linux cooked v1 (-i any): packet type 0..4, ARPHRD, address length ≤ 8, protocol at 14.
    if len(data) < 16 or int.from_bytes(data[0:2], "big") > 4:
        return 0
    if int.from_bytes(data[4:6], "big") > 8:
        return 0
    protocol = int.from_bytes(data[14:16], "big")
    if protocol in (0x0800, 0x86DD) and _ip_ok(data[16:]):
        return 2 + _raw_score(data[16:])
    return 0


def _sound_ip(data: bytes) -> bool:
    """An IP header that vouches for itself: its checksum verifies or its length fits."""
    if _ipv4_header_ok(data):
        return _raw_score(data) >= 3  # total length matches, or the header checksum holds
    if _ipv6_header_ok(data):
        return 40 + int.from_bytes(data[4:6], "big") >= len(data)
    return False


def packet_like(data: bytes) -> bool:
    """True when `data` starts like a packet: a sound IP header, raw or behind an Ethernet
    or Linux cooked header (or an Ethernet frame of another known ethertype).

    Stricter than the link-type scores: tcpdump -vv prints some options as short hex
    dumps, and those must not pass for packets.
    """
    if _sound_ip(data):
        return True
    for offset in (link_header_length(data, LinkType.ETHERNET), 16):
        ethertype = int.from_bytes(data[offset - 2 : offset], "big") if len(data) >= offset else 0
        if ethertype in (0x0800, 0x86DD) and _sound_ip(data[offset:]):
            return True
    return _ethernet_score(data) == 1 and len(data) >= 14 and data[12:14] != b"\x08\x00"


def detect_linktype(data: bytes, *, header_shows_link: bool) -> LinkType:
    """Ethernet, Linux cooked or raw IP, from the first bytes and what the header line showed.

    `-e` (MACs on the header line) means the hex starts with the link header. Otherwise
    the readings are scored: a raw IPv4 header whose checksum verifies and whose total
    length matches is raw IP; an ethertype followed by a sound IP header is Ethernet.
    """
    if header_shows_link and _ethernet_score(data) > 0:
        return LinkType.ETHERNET
    raw = _raw_score(data)
    ethernet = _ethernet_score(data)
    sll = _sll_score(data)
    best = max(raw, ethernet, sll)
    if best == 0:
        return LinkType.ETHERNET if header_shows_link else LinkType.RAW
    if raw == best:
        return LinkType.RAW
    if ethernet == best:
        return LinkType.ETHERNET
    return LinkType.LINUX_SLL


def link_header_length(data: bytes, linktype: int) -> int:
    """Bytes before the IP header for the link types `detect_linktype` returns."""
    if linktype == LinkType.ETHERNET:
        offset = 12
        while (
            offset + 6 <= len(data)
            and int.from_bytes(data[offset : offset + 2], "big") in _VLAN_TAGS
        ):
            offset += 4
        return offset + 2
    if linktype == LinkType.LINUX_SLL:
        return 16
    return 0
