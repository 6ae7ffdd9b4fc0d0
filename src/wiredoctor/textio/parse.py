"""Text in, records out: tcpdump output, hex dumps and Wireshark packet lists, mixed freely.

`parse_text` reads whatever packet-like text a person pasted — tcpdump header lines with or
without hex (any `-t` style, `-e`, wrapped or `> `-quoted by mail), text2pcap-style offset
dumps, Wireshark packet-list rows — and returns one `Record` per packet, in text order.
Packets shown as hex carry their real bytes; packets only described carry a
`StatedFields` and `LinkType.TEXT_FIELDS`.

Always holds: nothing raises on content (anything unreadable is skipped); records are
numbered 1, 2, … in the order the text shows them; timestamps are integer nanoseconds
that keep the text's order; every record's comment names the line it started on.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field, replace

from wiredoctor.capture.record import LinkType, Record
from wiredoctor.capture.stated import StatedFields
from wiredoctor.textio.hexdump import (
    HexLine,
    detect_linktype,
    link_header_length,
    packet_like,
    parse_hex_line,
)
from wiredoctor.textio.tcpdump import (
    HEADER_START,
    Header,
    Stamp,
    StampKind,
    header_marked,
    is_inner_line,
    looks_complete,
    parse_header,
)
from wiredoctor.textio.wireshark import ListRow, is_header, parse_row

# How many physical lines one wrapped tcpdump header may span.
_MAX_HEADER_LINES = 8
# Step between packets whose text gives no time: keeps order, survives µs pcap output.
_NO_TIME_STEP_NS = 1_000
_QUOTE = re.compile(r"^(?:[ \t]*>)+[ \t]?")


@dataclass(slots=True, kw_only=True)
class _Draft:
    """A packet being assembled from the text."""

    line: int
    """1-based line where the packet starts."""
    header: Header | None = None
    row: ListRow | None = None
    hex_data: bytearray | None = None
    hex_open: bool = False
    """True while further hex lines may extend `hex_data`."""
    extra: dict[str, object] = field(default_factory=dict)


def _unquote(line: str) -> str:
    return _QUOTE.sub("", line, count=1).rstrip()


def _join_header(lines: list[str], start: int) -> tuple[str, int]:
    """Join a header that starts at `lines[start]` with its wrapped continuation lines."""
    joined = lines[start].strip()
    end = start + 1
    while end < len(lines) and end - start < _MAX_HEADER_LINES and not looks_complete(joined):
        nxt = lines[end]
        if (
            not nxt.strip()
            or parse_hex_line(nxt) is not None
            or HEADER_START.match(nxt)
            or is_header(nxt)
            or parse_row(nxt, end + 1) is not None
        ):
            break
        joined = f"{joined} {nxt.strip()}"
        end += 1
    return joined, end


def _add_hex(drafts: list[_Draft], hex_line: HexLine, line_no: int) -> None:
    current = drafts[-1] if drafts else None
    if hex_line.offset == 0:
        for draft in drafts:
            draft.hex_open = False
        if (
            current is not None
            and current.header is not None
            and (current.hex_data is None or not packet_like(bytes(current.hex_data)))
        ):
            # tcpdump -vv prints some options as small hex dumps before the packet's own
            # hex; those never read as a packet and give way to the dump that does.
            current.hex_data = bytearray(hex_line.data)
            current.hex_open = True
            return
        drafts.append(_Draft(line=line_no, hex_data=bytearray(hex_line.data), hex_open=True))
        return
    if current is None or current.hex_data is None or not current.hex_open:
        return
    if hex_line.offset == len(current.hex_data):
        current.hex_data.extend(hex_line.data)
    else:
        # A gap (a line lost in the paste) or overlap: keep the bytes read so far, whole.
        current.hex_open = False


def _open_header(draft: _Draft | None) -> bool:
    """True when `draft` is a header still waiting for its tunnel's inner line or its hex."""
    return draft is not None and draft.header is not None and draft.hex_data is None


def _merge_inner(outer: _Draft, inner: Header) -> None:
    """Give the tunnelled packet's fields to the packet whose line came before.

    The innermost packet is what the flow checks follow; the outer line keeps its time.
    """
    fields = inner.fields
    if outer.header is None or (fields.src is None and fields.proto is None):
        return
    stated = replace(fields, source_line=outer.header.fields.source_line)
    outer.header = replace(outer.header, fields=stated)


def _collect(text: str) -> list[_Draft]:
    lines = [_unquote(raw) for raw in text.splitlines()]
    drafts: list[_Draft] = []
    marked = False  # whether packet lines in this text start with a number or time
    header_end = -1  # line after the last header read
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip() or is_header(line):
            i += 1
            continue
        hex_line = parse_hex_line(line)
        if hex_line is not None:
            _add_hex(drafts, hex_line, i + 1)
            i += 1
            continue
        if HEADER_START.match(line):
            joined, end = _join_header(lines, i)
            header = parse_header(joined, i + 1)
            last = drafts[-1] if drafts else None
            # A tunnel's inner line follows its outer header directly.
            inner = is_inner_line(line, text_marks_headers=marked) and i == header_end
            marked = marked or header_marked(line)
            header_end = end
            if header is not None and inner and _open_header(last):
                _merge_inner(drafts[-1], header)
            elif header is not None:
                for draft in drafts:
                    draft.hex_open = False
                drafts.append(_Draft(line=i + 1, header=header))
            i = end
            continue
        row = parse_row(line, i + 1)
        if row is not None:
            for draft in drafts:
                draft.hex_open = False
            drafts.append(_Draft(line=i + 1, row=row))
        i += 1
    return drafts


def _resolve_times(drafts: list[_Draft]) -> list[int]:
    """Integer ns per draft from the printed times, keeping the text's order where unsure."""
    stamps: list[Stamp | None] = []
    for draft in drafts:
        if draft.header is not None and draft.header.stamp.kind != StampKind.NONE:
            stamps.append(draft.header.stamp)
        elif draft.row is not None and draft.row.ts_ns is not None:
            stamps.append(Stamp(kind=StampKind.EPOCH, ns=draft.row.ts_ns))
        else:
            stamps.append(None)
    clocks = [s.ns for s in stamps if s is not None and s.kind == StampKind.CLOCK]
    # -ttt prints the delta to the previous packet as HH:MM:SS.frac: small values that do
    # not grow. Times of day (default) and -ttttt (since the first packet) grow.
    deltas = (
        len(clocks) > 1
        and all(c < 3600 * 10**9 for c in clocks)
        and any(b < a for a, b in itertools.pairwise(clocks))
    )
    out: list[int] = []
    previous: int | None = None
    day = 0
    for stamp in stamps:
        if stamp is None:
            value = 0 if previous is None else previous + _NO_TIME_STEP_NS
        elif stamp.kind == StampKind.CLOCK and deltas:
            value = stamp.ns if previous is None else previous + stamp.ns
        elif stamp.kind == StampKind.CLOCK:
            value = stamp.ns + day
            if previous is not None and value < previous - 12 * 3600 * 10**9:
                day += 86400 * 10**9  # the capture ran past midnight
                value += 86400 * 10**9
        else:
            value = stamp.ns
        out.append(value)
        previous = value
    return out


def _ip_wire_length(data: bytes, l2_len: int) -> int | None:
    ip = data[l2_len:]
    if len(ip) >= 4 and ip[0] >> 4 == 4:
        total = int.from_bytes(ip[2:4], "big")
        return total if total else None
    if len(ip) >= 6 and ip[0] >> 4 == 6:
        return 40 + int.from_bytes(ip[4:6], "big")
    return None


def _bytes_record(draft: _Draft, index: int, ts_ns: int) -> Record:
    data = bytes(draft.hex_data or b"")
    header = draft.header
    linktype = detect_linktype(data, header_shows_link=header is not None and header.ethernet)
    wirelen = len(data)
    if header is not None and header.link_length is not None:
        wirelen = max(wirelen, header.link_length)
    else:
        l2_len = link_header_length(data, linktype)
        ip_len = _ip_wire_length(data, l2_len)
        if ip_len is not None:
            wirelen = max(wirelen, l2_len + ip_len)
    return Record(
        index=index,
        ts_ns=ts_ns,
        caplen=len(data),
        wirelen=wirelen,
        linktype=int(linktype),
        data=data,
        comment=f"line {draft.line}",
    )


def _mark_relative(fields: list[StatedFields]) -> list[StatedFields]:
    """Set `relative_seq` on tcpdump lines that print relative numbers.

    Without -S tcpdump prints the first segment of each direction with wire values and
    later ones relative to it; a later seq (or ack) below the first one seen is relative.
    """
    first_seq: dict[tuple[object, ...], int] = {}
    out: list[StatedFields] = []
    for stated in fields:
        key = (stated.src, stated.sport, stated.dst, stated.dport)
        back = (stated.dst, stated.dport, stated.src, stated.sport)
        relative = stated.relative_seq
        if stated.seq is not None and stated.proto == 6:
            if key in first_seq:
                relative = relative or stated.seq < first_seq[key]
            else:
                first_seq[key] = stated.seq
        if stated.ack is not None and back in first_seq and stated.ack < first_seq[back]:
            relative = True
        out.append(replace(stated, relative_seq=relative) if relative else stated)
    return out


def parse_text(path: str, text: str) -> list[Record]:
    """Every packet `text` shows or describes, as records; [] when it holds none.

    `path` names the text for messages (records do not keep it). Packets with hex get
    their bytes (link type Ethernet, Linux cooked or raw IP, detected from the bytes and
    the header line); packets only described get `LinkType.TEXT_FIELDS` and `stated`.
    """
    del path  # records carry line numbers; the caller keeps the path
    drafts = _collect(text)
    for draft in drafts:
        if draft.hex_data is not None and not packet_like(bytes(draft.hex_data)):
            draft.hex_data = None  # an option dump or a stray hex line, not a packet
    drafts = [
        d
        for d in drafts
        if d.hex_data or d.row is not None or (d.header is not None and _describes(d.header))
    ]
    times = _resolve_times(drafts)
    text_fields = _mark_relative(
        [
            d.header.fields if d.header is not None else d.row.fields  # type: ignore[union-attr]
            for d in drafts
            if not d.hex_data
        ]
    )
    records: list[Record] = []
    stated_iter = iter(text_fields)
    for n, (draft, ts_ns) in enumerate(zip(drafts, times, strict=True), start=1):
        if draft.hex_data:
            records.append(_bytes_record(draft, n, ts_ns))
            continue
        stated = next(stated_iter)
        comment = f"line {draft.line}"
        if draft.row is not None:
            comment += f", No. {draft.row.number}"
        wirelen = stated.frame_len or stated.ip_len or 0
        records.append(
            Record(
                index=n,
                ts_ns=ts_ns,
                caplen=0,
                wirelen=wirelen,
                linktype=int(LinkType.TEXT_FIELDS),
                comment=comment,
                stated=stated,
            )
        )
    return records


def _describes(header: Header) -> bool:
    """True when a header without hex states enough to be a packet of its own."""
    fields = header.fields
    return fields.proto is not None or fields.src is not None or fields.dst is not None
