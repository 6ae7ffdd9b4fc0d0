"""Kernel logs as people paste them: from raw text to re-joined entries and typed events.

Accepts `dmesg` (with and without `[ 1234.5678]`, `dmesg -T`, `dmesg -x` level prefixes, raw
`<4>` levels), syslog / kern.log (`Sep  9 11:42:13 host kernel: …`), `journalctl -k` (short
and ISO / RFC 3339 forms, `kern.notice` facility words), and all of these quoted in mail
(`> ` markers) or re-wrapped across lines: a netfilter packet log split over several lines,
or a prefix alone on its line with the message on the next, is joined back into one entry.

Always holds: parsing never raises; every entry keeps the line number where it started; text
that is not a kernel log entry (prose around pasted lines) yields nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from wiredoctor.host.events import KernelEvent, KernelLine
from wiredoctor.host.kernmsg import looks_unfinished, recognise

_QUOTE = re.compile(r"^\s*(?:>\s?)+")
_SYSLOG = re.compile(
    r"^(?P<ts>[A-Z][a-z]{2} +\d{1,2} \d\d:\d\d:\d\d(?:\.\d+)?) (?P<host>\S+) (?P<tag>[\w.-]+)"
    r"(?:\[\d+\])?:(?: |$)"
)
_RFC3339 = re.compile(
    r"^(?P<ts>\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?) (?P<host>\S+)"
    r"(?: [a-z]+\.[a-z]+)? (?P<tag>[\w.-]+)(?:\[\d+\])?:(?: |$)"
)
_DMESG_T = re.compile(r"^\[(?P<ts>[A-Z][a-z]{2} [A-Z][a-z]{2} +\d{1,2} \d\d:\d\d:\d\d \d{4})\] ?")
_UPTIME = re.compile(r"^\[\s*(?P<up>\d+\.\d+)\] ?")
_LEVEL = re.compile(r"^(?:<\d>|(?:kern|user|daemon|syslog)\s*:\s*[a-z]+\s*: )")
# A netfilter packet log continues over lines made only of KEY=VALUE words, bare flag words
# and the `(hex)` option dump.
_NF_CONT = re.compile(
    r"^(?:[A-Z]+=\S*|[A-Z]{2,}|\([0-9A-Fa-f]*\)|OPT)(?:\s+(?:[A-Z]+=\S*|[A-Z]{2,}|\([0-9A-Fa-f]*\)|OPT))*$"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class KernelLog:
    """A parsed kernel log: its entries and the events among them."""

    lines: tuple[KernelLine, ...]
    events: tuple[KernelEvent, ...]


@dataclass(slots=True, kw_only=True)
class _Head:
    timestamp: str | None = None
    uptime: float | None = None
    host: str | None = None
    prefixed: bool = False
    kernel: bool = True
    rest: str = ""


def _split_head(text: str) -> _Head:
    head = _Head(rest=text)
    for pattern in (_SYSLOG, _RFC3339):
        m = pattern.match(text)
        if m is not None:
            head.timestamp, head.host = m.group("ts"), m.group("host")
            head.kernel = m.group("tag") == "kernel"
            head.prefixed = True
            text = text[m.end() :]
            break
    m = _LEVEL.match(text)
    if m is not None:
        head.prefixed = True
        text = text[m.end() :]
    m = _DMESG_T.match(text)
    if m is not None:
        head.timestamp, head.prefixed = m.group("ts"), True
        text = text[m.end() :]
    m = _UPTIME.match(text)
    if m is not None:
        head.uptime, head.prefixed = float(m.group("up")), True
        text = text[m.end() :]
    head.rest = text.strip()
    return head


@dataclass(slots=True, kw_only=True)
class _Entry:
    line: int
    head: _Head
    text: str

    def done(self) -> KernelLine:
        return KernelLine(
            line=self.line,
            text=self.text,
            timestamp=self.head.timestamp,
            uptime=self.head.uptime,
            host=self.head.host,
        )


def _continues(entry: _Entry, line: str) -> bool:
    if not entry.text:
        return True  # a prefix alone on its line: the message follows
    if ("SRC=" in entry.text or " IN=" in entry.text) and _NF_CONT.match(line):
        return True
    return looks_unfinished(entry.text)


def parse_kernel_log(text: str) -> KernelLog:
    """Entries and events of a kernel log in any of the accepted shapes."""
    entries: list[tuple[KernelLine, bool]] = []
    current: _Entry | None = None

    def close() -> None:
        nonlocal current
        if current is not None and current.text:
            entries.append((current.done(), current.head.prefixed))
        current = None

    for number, raw in enumerate(text.splitlines(), start=1):
        line = _QUOTE.sub("", raw).strip()
        if not line:
            close()
            continue
        head = _split_head(line)
        if current is not None and not head.prefixed and _continues(current, line):
            current.text = f"{current.text} {line}".strip()
            continue
        if current is not None and not current.text and head.prefixed and head.timestamp is None:
            # `host kernel:` then `[uptime] message` on the next line (a wrapped syslog line).
            current.head.uptime = head.uptime
            current.text = head.rest
            continue
        close()
        if head.prefixed and not head.kernel:
            continue  # another program's syslog line
        known = recognise(number, head.rest, generic=False) is not None
        if head.prefixed or known or looks_unfinished(line):
            current = _Entry(line=number, head=head, text=head.rest)
    close()
    found = (recognise(x.line, x.text, generic=prefixed) for x, prefixed in entries)
    events = [e for e in found if e is not None]
    return KernelLog(lines=tuple(x for x, _ in entries), events=tuple(events))
