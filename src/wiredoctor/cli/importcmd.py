"""`wiredoctor import TEXT -o OUT.pcap|OUT.pcapng`: pasted tcpdump/hex text to a capture.

The format follows OUT's extension (`.pcapng`, else pcap). pcapng packets carry a comment
naming the text line they came from. Exit 0 when written, 3 when the text shows no packet
bytes (one line on stderr), 2 when a pcap would need several link types.
"""

from __future__ import annotations

import dataclasses
import os
import sys

import click

from wiredoctor.capture.record import Record, linktype_name
from wiredoctor.capture.write import write_pcap, write_pcapng
from wiredoctor.errors import InputError, UsageError
from wiredoctor.textio.parse import parse_text

_SNAPLEN = 262_144


def _read_text(path: str) -> str:
    try:
        if path == "-":
            raw = sys.stdin.buffer.read()
        else:
            with open(path, "rb") as handle:
                raw = handle.read()
    except OSError as problem:
        raise InputError(path, f"cannot open: {problem.strerror or problem}") from None
    return raw.decode("utf-8", errors="replace")


def write_records(path: str, records: list[Record], *, source: str) -> str:
    """Write records with bytes to `path` (pcapng for `.pcapng`, else pcap); the format."""
    linktypes = list(dict.fromkeys(r.linktype for r in records))
    if path.endswith(".pcapng"):
        # One interface per link type, in order of first appearance.
        numbered = [
            dataclasses.replace(r, index=n, interface=linktypes.index(r.linktype))
            for n, r in enumerate(records, start=1)
        ]
        write_pcapng(
            path,
            numbered,
            interfaces=[(linktype, _SNAPLEN) for linktype in linktypes],
            section_comment=f"imported by wiredoctor from {source}",
        )
        return "pcapng"
    if len(linktypes) > 1:
        names = ", ".join(linktype_name(t) for t in linktypes)
        raise UsageError(f"a pcap holds one link type and the text has {names}: write .pcapng")
    numbered = [dataclasses.replace(r, index=n) for n, r in enumerate(records, start=1)]
    write_pcap(path, numbered, linktype=linktypes[0], snaplen=_SNAPLEN)
    return "pcap"


@click.command(name="import")
@click.argument("text", metavar="TEXT")
@click.option(
    "-o", "--output", "output", required=True, metavar="OUT", help="OUT.pcap or OUT.pcapng."
)
def import_text(text: str, output: str) -> int:
    """Turn tcpdump -x/-X output or hex dumps in TEXT ('-' for stdin) into a capture."""
    records = parse_text(text, _read_text(text))
    with_bytes = [r for r in records if r.data]
    if not with_bytes:
        expected = "packet bytes (tcpdump -x/-X hex or an offset hex dump)"
        if records:
            expected += f"; the text only describes {len(records)} packets without their bytes"
        raise InputError(text, expected)
    kind = write_records(output, with_bytes, source=os.path.basename(text))
    skipped = len(records) - len(with_bytes)
    note = f"; {skipped} packets without bytes skipped" if skipped else ""
    click.echo(f"wrote {output} ({kind}, {len(with_bytes)} packets){note}", err=True)
    return 0
