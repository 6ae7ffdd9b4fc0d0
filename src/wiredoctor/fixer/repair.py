"""Repair a capture: put right the checksums a capture point got wrong, strip trailers.

A capture taken before the NIC filled in offloaded checksums shows partial sums that make
every tool cry "bad checksum"; `fix_capture` writes a copy where those fields hold what the
NIC would have written, so the copy can be replayed, shared or diffed. Inner checksums are
fixed before the outer ones that cover them (a VXLAN UDP checksum covers the inner TCP
segment), and each frame is verified again after every change until nothing is left to fix.

Always holds: the input file is never opened for writing; the output is written to a new
file atomically (a temporary file in the same directory, then renamed); every byte outside
the fixed checksum fields — and, with `strip_trailers`, the removed trailers and the length
fields that count them — is the input's byte.
"""

from __future__ import annotations

import gzip
import os
import tempfile
import zlib
from dataclasses import dataclass
from typing import Any, Literal

from wiredoctor.capture.record import LinkType, Record
from wiredoctor.checksum.verdict import CAUSE_NAMES, PROTO_NAMES, Cause, Note, Proto, Status
from wiredoctor.decode.frame import decode_frame
from wiredoctor.decode.trailer import split_trailer
from wiredoctor.decode.verify import Verifier
from wiredoctor.errors import InputError, UsageError
from wiredoctor.fixer.container import Container, load_container

OFFLOAD_CAUSES = frozenset({Cause.OFFLOAD_PARTIAL, Cause.OFFLOAD_PARTIAL_NOLEN, Cause.ZERO})
"""Causes `only="offload"` repairs: what a capture point before the NIC shows."""

_TRAILER_LINKS = frozenset({LinkType.ETHERNET, LinkType.LINUX_SLL, LinkType.LINUX_SLL2})


@dataclass(frozen=True, slots=True, kw_only=True)
class FieldChange:
    """One checksum field the repair rewrote."""

    frame: int
    """1-based frame number."""
    proto: str
    """`ipv4`, `tcp`, `udp`, … (CONTRACT.md names)."""
    depth: int
    """0 for the outermost occurrence of the proto in the frame."""
    field_off: int
    """Byte offset of the field in the frame."""
    old: int
    """The value the input held."""
    new: int
    """The value written."""
    cause: str | None
    """Why the old value was wrong (`offload-partial`, …); None when it only became wrong
    because an inner checksum it covers was fixed."""

    def to_json(self) -> dict[str, Any]:
        return {
            "frame": self.frame,
            "proto": self.proto,
            "depth": self.depth,
            "field_off": self.field_off,
            "old": self.old,
            "new": self.new,
            "cause": self.cause,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class TrailerCut:
    """Trailer bytes removed from one frame."""

    frame: int
    """1-based frame number."""
    removed: int
    """How many bytes were cut from the end of the frame."""
    hex: str
    """The removed bytes, as hex."""

    def to_json(self) -> dict[str, Any]:
        return {"frame": self.frame, "removed": self.removed, "bytes": self.hex}


@dataclass(frozen=True, slots=True, kw_only=True)
class FixReport:
    """What `fix_capture` changed."""

    in_path: str
    """The capture read."""
    out_path: str
    """The capture written."""
    format: str
    """`pcap` or `pcapng` (the output has the input's format)."""
    compression: str | None
    """`gzip` / `zstd` when the input was compressed (the output is written uncompressed)."""
    frames: int
    """Frames in the capture."""
    changes: tuple[FieldChange, ...]
    """Every checksum field rewritten, in frame order."""
    trailers: tuple[TrailerCut, ...]
    """Every trailer removed."""
    left_bad: int
    """Checksums still bad in the output (causes `only` excluded, or not repairable)."""

    @property
    def frames_changed(self) -> tuple[int, ...]:
        """Frames whose bytes differ from the input."""
        return tuple(sorted({c.frame for c in self.changes} | {t.frame for t in self.trailers}))

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": 1,
            "in": self.in_path,
            "out": self.out_path,
            "format": self.format,
            "compression": self.compression,
            "frames": self.frames,
            "frames_changed": list(self.frames_changed),
            "changes": [c.to_json() for c in self.changes],
            "trailers": [t.to_json() for t in self.trailers],
            "left_bad": self.left_bad,
        }


def _read(path: str) -> tuple[bytes, str | None]:
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as problem:
        raise InputError(path, f"cannot open: {problem.strerror or problem}") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw), "gzip"
        except (OSError, EOFError, zlib.error):
            raise InputError(path, "a gzip stream that does not decompress", 0) from None
    if raw[:4] == b"\x28\xb5\x2f\xfd":
        import zstandard

        try:
            reader = zstandard.ZstdDecompressor().stream_reader(raw)
            return reader.read(), "zstd"
        except zstandard.ZstdError:
            raise InputError(path, "a zstd stream that does not decompress", 0) from None
    return raw, None


def _same_file(a: str, b: str) -> bool:
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


@dataclass(frozen=True, slots=True, kw_only=True)
class Occurrence:
    """One checksum field of a frame as the reference verifier sees it."""

    proto: Proto
    """Whose checksum it is."""
    depth: int
    """0 for the outermost occurrence of this proto in the frame."""
    field_off: int
    """Byte offset of the field in the frame."""
    value: int
    """The field as it is."""
    expected: int
    """The value that makes it hold."""
    status: Status
    """The verdict."""
    cause: Cause
    """Why it is bad (NONE unless BAD)."""


def occurrences(data: bytes, linktype: int) -> list[Occurrence]:
    """Every checksum field of one frame that can be patched in place, outermost first.

    Verdicts come from the reference decoders (`decode.verify.Verifier`), so a fix is
    exactly what `wiredoctor check` asks for. Rows verified over a reassembled datagram and
    rows without a computable value are left out: their field is not in this frame's bytes
    as one piece, or there is nothing to write.
    """
    record = Record(
        index=1, ts_ns=0, caplen=len(data), wirelen=len(data), linktype=linktype, data=data
    )
    _, rows = Verifier(0).feed(record)
    found: list[Occurrence] = []
    for row in rows:
        field_off, expected = int(row["field_off"]), int(row["expected"])
        if int(row["note"]) & Note.REASSEMBLED or expected < 0:
            continue
        if not 0 <= field_off <= len(data) - 2:
            continue
        found.append(
            Occurrence(
                proto=Proto(int(row["proto"])),
                depth=int(row["depth"]),
                field_off=field_off,
                value=int.from_bytes(data[field_off : field_off + 2], "big"),
                expected=expected,
                status=Status(int(row["status"])),
                cause=Cause(int(row["cause"])),
            )
        )
    return found


def _eligible(occ: Occurrence, only: str, was_good: set[int]) -> bool:
    if occ.status != Status.BAD:
        return False
    # A field that held before any change here became wrong only because an inner
    # checksum it covers was fixed: it must follow, whatever `only` says.
    return only == "all" or occ.cause in OFFLOAD_CAUSES or occ.field_off in was_good


def fix_frame(
    data: bytes, linktype: int, *, only: Literal["offload", "all"] = "all"
) -> tuple[bytes, list[Occurrence], int]:
    """`data` with its wrong checksums fixed: (new bytes, original occurrences changed,
    checksums left bad).

    Innermost first: each round writes the expected value of the bad checksum that lies
    deepest in the frame, then verifies the frame again (outer sums change with it), until
    nothing eligible is bad; the rounds are bounded by the number of checksums.
    """
    buf = bytearray(data)
    original = occurrences(data, linktype)
    was_good = {o.field_off for o in original if o.status == Status.GOOD}
    touched: set[int] = set()
    current = original
    for _ in range(2 * len(original) + 2):
        targets = [o for o in current if _eligible(o, only, was_good)]
        if not targets:
            break
        target = max(targets, key=lambda o: o.field_off)
        buf[target.field_off : target.field_off + 2] = target.expected.to_bytes(2, "big")
        touched.add(target.field_off)
        current = occurrences(bytes(buf), linktype)
    left = sum(1 for o in current if o.status == Status.BAD)
    changed = [o for o in original if o.field_off in touched and field_value(buf, o) != o.value]
    return bytes(buf), changed, left


def field_value(buf: bytes | bytearray, occ: Occurrence) -> int:
    """The 16-bit value at the occurrence's field in `buf`."""
    return int.from_bytes(buf[occ.field_off : occ.field_off + 2], "big")


def trailer_length(data: bytes, linktype: int) -> int:
    """Bytes after the outer network message beyond minimum-size padding (eth.trailer).

    Only frames with an Ethernet header (or a Linux cooked header standing in for one)
    have trailers to strip; bytes after a raw IP datagram are left alone.
    """
    if linktype not in _TRAILER_LINKS:
        return 0
    record = Record(
        index=1, ts_ns=0, caplen=len(data), wirelen=len(data), linktype=linktype, data=data
    )
    return split_trailer(decode_frame(record)).trailer_len


def _write_atomic(path: str, data: bytes) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed below, then renamed
        dir=directory, prefix=".wiredoctor-", suffix=".tmp", delete=False
    )
    try:
        with handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(handle.name, path)
    except BaseException:
        if os.path.exists(handle.name):
            os.unlink(handle.name)
        raise


def repair(
    container: Container, *, only: Literal["offload", "all"], strip_trailers: bool
) -> tuple[list[FieldChange], list[TrailerCut], int]:
    """Fix every frame of `container` in place; what changed and how many stay bad."""
    changes: list[FieldChange] = []
    trailers: list[TrailerCut] = []
    left_bad = 0
    for slot in container.slots:
        data = container.frame(slot)
        fixed, changed, left = fix_frame(data, slot.linktype, only=only)
        left_bad += left
        for occ in changed:
            new = field_value(fixed, occ)
            container.patch(slot, occ.field_off, new.to_bytes(2, "big"))
            cause = CAUSE_NAMES.get(occ.cause) if occ.status == Status.BAD else None
            changes.append(
                FieldChange(
                    frame=slot.index,
                    proto=PROTO_NAMES[occ.proto],
                    depth=occ.depth,
                    field_off=occ.field_off,
                    old=occ.value,
                    new=new,
                    cause=cause,
                )
            )
        if strip_trailers:
            cut = trailer_length(fixed, slot.linktype)
            if cut:
                slot.strip = cut
                trailers.append(
                    TrailerCut(frame=slot.index, removed=cut, hex=fixed[len(fixed) - cut :].hex())
                )
    return changes, trailers, left_bad


def fix_capture(
    in_path: str,
    out_path: str,
    *,
    only: Literal["offload", "all"] = "all",
    strip_trailers: bool = False,
) -> FixReport:
    """Write a repaired copy of the capture `in_path` to the new file `out_path`.

    `only="offload"` fixes only checksums that hold an offload artefact (a partial sum,
    the LSO variant, or zero) and leaves real corruption visible; `strip_trailers` removes
    Ethernet trailers (and touches nothing else in those frames' lengths). Raises
    `UsageError` when `out_path` is `in_path` (or the same file), `InputError` when the input
    is not a readable pcap/pcapng (optionally gzip/zstd compressed).
    """
    if only not in ("offload", "all"):
        raise UsageError(f"--only must be 'offload' or 'all', got {only!r}")
    if in_path == "-" or out_path == "-":
        raise UsageError("fix reads a capture file and writes a new file; '-' is not allowed")
    if _same_file(in_path, out_path):
        raise UsageError(f"output {out_path} is the input; fix writes a new file")
    raw, compression = _read(in_path)
    container = load_container(raw)
    if container is None:
        raise InputError(in_path, "a pcap or pcapng capture", 0)
    changes, trailers, left_bad = repair(container, only=only, strip_trailers=strip_trailers)
    _write_atomic(out_path, container.render())
    return FixReport(
        in_path=in_path,
        out_path=out_path,
        format=container.format,
        compression=compression,
        frames=len(container.slots),
        changes=tuple(changes),
        trailers=tuple(trailers),
        left_bad=left_bad,
    )
