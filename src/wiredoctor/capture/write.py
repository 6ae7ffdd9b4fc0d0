"""Writers for pcap and pcapng, used by tests and tools to build captures in code.

pcap: draft-ietf-opsawg-pcap §4-§5, little-endian, magic 0xa1b23c4d (ns) or 0xa1b2c3d4
(µs). pcapng: draft-ietf-opsawg-pcapng, one little-endian section: SHB (§4.1, optional
comment), one IDB per interface (§4.2, if_tsresol 9 = nanoseconds), one EPB per record
(§4.3, with epb_flags for the direction and opt_comment for the comment).

Always holds: the file appears whole or not at all (written to a temporary file in the same
directory, fsynced, then renamed over the target); a reader never sees a half-written file
and an input being read is never written into; the count returned is the records written.
"""

from __future__ import annotations

import os
import secrets
import struct
from collections.abc import Callable, Iterable, Sequence
from typing import BinaryIO

from wiredoctor.capture.record import Direction, LinkType, Record
from wiredoctor.errors import UsageError

NS_PER_S = 1_000_000_000
PCAP_MAGIC_NS = 0xA1B23C4D
PCAP_MAGIC_US = 0xA1B2C3D4

SHB_TYPE = 0x0A0D0D0A
IDB_TYPE = 1
EPB_TYPE = 6
BYTE_ORDER_MAGIC = 0x1A2B3C4D

OPT_END = 0
OPT_COMMENT = 1
OPT_SHB_USERAPPL = 4
OPT_EPB_FLAGS = 2
OPT_IF_TSRESOL = 9

# epb_flags bits 0-1 (§4.3.1).
_DIRECTION_BITS: dict[Direction, int] = {
    Direction.UNKNOWN: 0,
    Direction.INBOUND: 1,
    Direction.OUTBOUND: 2,
}


def write_pcap(
    path: str,
    records: Iterable[Record],
    *,
    linktype: int,
    nanosecond: bool = True,
    snaplen: int = 262144,
) -> int:
    """Write `records` (all of link type `linktype`) as a pcap file; returns how many."""

    def body(out: BinaryIO) -> int:
        magic = PCAP_MAGIC_NS if nanosecond else PCAP_MAGIC_US
        out.write(struct.pack("<IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype))
        count = 0
        for record in records:
            _check_bytes(path, record)
            if record.linktype != linktype:
                raise UsageError(
                    f"{path}: frame {record.index} has link type {record.linktype}, "
                    f"the file {linktype}"
                )
            seconds, rest = divmod(record.ts_ns, NS_PER_S)
            fraction = rest if nanosecond else rest // 1000
            if not 0 <= seconds < 1 << 32:
                raise UsageError(f"{path}: frame {record.index}: timestamp outside pcap's range")
            out.write(struct.pack("<IIII", seconds, fraction, len(record.data), record.wirelen))
            out.write(record.data)
            count += 1
        return count

    return _atomic(path, body)


def write_pcapng(
    path: str,
    records: Iterable[Record],
    *,
    interfaces: Sequence[tuple[int, int]] | None = None,
    section_comment: str | None = None,
) -> int:
    """Write `records` as a one-section pcapng file; returns how many.

    `interfaces` gives (linktype, snaplen) per interface id; when None, an interface is
    described the first time a record names it (with that record's link type, snaplen 0).
    """

    def body(out: BinaryIO) -> int:
        options = b""
        if section_comment is not None:
            options += _option(OPT_COMMENT, section_comment.encode("utf-8"))
        options += _option(OPT_SHB_USERAPPL, b"wiredoctor")
        options += _option(OPT_END, b"")
        # Version 1.0, section length -1 (not given).
        out.write(_block(SHB_TYPE, struct.pack("<IHHq", BYTE_ORDER_MAGIC, 1, 0, -1) + options))
        described: list[int] = []
        for linktype, snaplen in interfaces or ():
            out.write(_interface_block(linktype, snaplen))
            described.append(linktype)
        count = 0
        for record in records:
            _check_bytes(path, record)
            if interfaces is None:
                while len(described) <= record.interface:
                    out.write(_interface_block(record.linktype, 0))
                    described.append(record.linktype)
            if record.interface >= len(described) or record.interface < 0:
                raise UsageError(f"{path}: frame {record.index} names undescribed interface")
            if described[record.interface] != record.linktype:
                raise UsageError(
                    f"{path}: frame {record.index} has link type {record.linktype}, its "
                    f"interface {record.interface} has {described[record.interface]}"
                )
            out.write(_packet_block(path, record))
            count += 1
        return count

    return _atomic(path, body)


def _check_bytes(path: str, record: Record) -> None:
    if record.linktype == LinkType.TEXT_FIELDS:
        raise UsageError(f"{path}: frame {record.index} has no bytes (fields from text)")


def _option(code: int, value: bytes) -> bytes:
    padding = b"\x00" * (-len(value) % 4)
    return struct.pack("<HH", code, len(value)) + value + padding


def _block(block_type: int, body: bytes) -> bytes:
    body += b"\x00" * (-len(body) % 4)
    total = len(body) + 12
    return struct.pack("<II", block_type, total) + body + struct.pack("<I", total)


def _interface_block(linktype: int, snaplen: int) -> bytes:
    # if_tsresol 9: timestamps in units of 10^-9 s (§4.2).
    options = _option(OPT_IF_TSRESOL, bytes([9])) + _option(OPT_END, b"")
    return _block(IDB_TYPE, struct.pack("<HHI", linktype, 0, snaplen) + options)


def _packet_block(path: str, record: Record) -> bytes:
    if not 0 <= record.ts_ns < 1 << 64:
        raise UsageError(f"{path}: frame {record.index}: negative timestamp")
    options = b""
    if record.direction != Direction.UNKNOWN:
        options += _option(OPT_EPB_FLAGS, struct.pack("<I", _DIRECTION_BITS[record.direction]))
    if record.comment:
        options += _option(OPT_COMMENT, record.comment.encode("utf-8"))
    if options:
        options += _option(OPT_END, b"")
    data = record.data + b"\x00" * (-len(record.data) % 4)
    fixed = struct.pack(
        "<IIIII",
        record.interface,
        record.ts_ns >> 32,
        record.ts_ns & 0xFFFF_FFFF,
        len(record.data),
        record.wirelen,
    )
    return _block(EPB_TYPE, fixed + data + options)


def _atomic(path: str, body: Callable[[BinaryIO], int]) -> int:
    """Run `body` on a temporary file beside `path`, then put it in place."""
    directory = os.path.dirname(os.path.abspath(path))
    temporary = os.path.join(
        directory, f".{os.path.basename(path)}.{os.getpid()}.{secrets.token_hex(4)}.part"
    )
    # Mode 0o666 so the umask applies as for any new file.
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                count = body(out)
            except struct.error as problem:
                raise UsageError(f"{path}: a record field is out of range: {problem}") from None
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
    _sync_directory(directory)
    return count


def _sync_directory(directory: str) -> None:
    # The rename is durable only once the directory is synced (POSIX rename(2)).
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
