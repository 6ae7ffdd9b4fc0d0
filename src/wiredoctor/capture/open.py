"""open_capture: from a path (or `-` for stdin) to a CaptureSource, by content alone.

The first bytes decide (capture.detect): gzip or zstd is decompressed into a spool first,
then pcap, pcapng, or text handed to `wiredoctor.textio.parse.parse_text`.

Always holds: the file name never decides the format; input files are opened read-only;
the only exception raised for bad input is InputError (empty file, not a capture, text no
parser understood), at offset 0; a capture cut short is opened and warns instead.
"""

from __future__ import annotations

import dataclasses
import sys
from typing import BinaryIO

from wiredoctor.capture.batch import batch_from_records
from wiredoctor.capture.detect import TEXT_SAMPLE, Kind, decode_text, looks_like_text, sniff
from wiredoctor.capture.pcap import FILE_HEADER_LEN, PcapWalker, parse_header
from wiredoctor.capture.pcapng import BOM_BIG, BOM_LITTLE, PcapngWalker
from wiredoctor.capture.record import Record
from wiredoctor.capture.source import CaptureSource
from wiredoctor.capture.stream import ByteStream, Compression, open_input, open_stream
from wiredoctor.errors import InputError

EXPECTED = (
    "expected a pcap or pcapng capture (optionally gzip/zstd-compressed) or tcpdump/Wireshark text"
)
MAX_TEXT = 64 << 20
"""Text captures are parsed in memory; larger text is refused rather than swapped."""


def open_capture(path: str) -> CaptureSource:
    """Open the capture at `path` (`-` reads stdin) and recognise its format."""
    owned = path != "-"
    handle: BinaryIO = open_input(path) if owned else sys.stdin.buffer
    try:
        stream, compression, warnings = open_stream(path, handle)
    finally:
        if owned:
            handle.close()
    source: CaptureSource | None = None
    try:
        source = _recognise(path, stream, compression, warnings)
    finally:
        if source is None:
            stream.close()
    return source


def _recognise(
    path: str, stream: ByteStream, compression: Compression, warnings: list[str]
) -> CaptureSource:
    if stream.size == 0:
        raise InputError(path, "empty file", 0)
    head = stream.pread(0, TEXT_SAMPLE)
    kind = sniff(head)
    if kind == Kind.PCAPNG and len(head) >= 12 and head[8:12] not in (BOM_BIG, BOM_LITTLE):
        # "\n\r\r\n" can begin a text file; a real section header has its byte-order magic.
        kind = Kind.TEXT if looks_like_text(head) else Kind.UNKNOWN
    if kind == Kind.PCAP:
        header = parse_header(head[:FILE_HEADER_LEN])
        if header is None:
            warnings.append(
                f"{path}: cut short at byte 0: "
                f"file header incomplete ({stream.size} of {FILE_HEADER_LEN} bytes)"
            )
            return CaptureSource(
                path=path, format="pcap", compression=compression, stream=stream, warnings=warnings
            )
        pcap_header = header
        return CaptureSource(
            path=path,
            format="pcap",
            compression=compression,
            stream=stream,
            start=FILE_HEADER_LEN,
            make_walker=lambda: PcapWalker(pcap_header),
            warnings=warnings,
        )
    if kind == Kind.PCAPNG:
        return CaptureSource(
            path=path,
            format="pcapng",
            compression=compression,
            stream=stream,
            make_walker=PcapngWalker,
            warnings=warnings,
        )
    if kind == Kind.TEXT:
        return _text_source(path, stream, compression, warnings)
    raise InputError(path, EXPECTED, 0)


NO_PACKETS_IN_TEXT = (
    "text without packets (no tcpdump hex dump or header lines, no Wireshark packet list); "
    "kernel logs and ethtool output are read by `wiredoctor host --kernel-log FILE` or "
    "`--ethtool-k FILE`"
)


def _text_source(
    path: str, stream: ByteStream, compression: Compression, warnings: list[str]
) -> CaptureSource:
    if stream.size > MAX_TEXT:
        raise InputError(path, f"text input larger than {MAX_TEXT >> 20} MiB; {EXPECTED}", 0)
    text = decode_text(stream.pread(0, stream.size))
    try:
        from wiredoctor.textio.parse import parse_text
    except ModuleNotFoundError as missing:
        if missing.name not in ("wiredoctor.textio", "wiredoctor.textio.parse"):
            raise
        raise InputError(path, EXPECTED, 0) from None
    parsed = parse_text(path, text)
    if not parsed:
        raise InputError(path, NO_PACKETS_IN_TEXT, 0)
    batch = batch_from_records(parsed, first_frame=1)
    records: list[Record] = [
        dataclasses.replace(record, index=row + 1, file_offset=int(batch.file_off[row]))
        for row, record in enumerate(parsed)
    ]
    return CaptureSource(
        path=path,
        format="text",
        compression=compression,
        stream=stream,
        text_batch=batch,
        text_records=records,
        warnings=warnings,
    )


__all__ = ["EXPECTED", "NO_PACKETS_IN_TEXT", "CaptureSource", "open_capture"]
