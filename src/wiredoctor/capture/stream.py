"""The byte stream under a capture: a regular file mapped in windows, or a spool file.

Regular files are opened read-only and mapped window by window (never read whole). Pipes,
stdin and compressed input are copied — decompressed on the way, in bounded chunks — into
an anonymous temporary spool file, which is then mapped the same way; the spool disappears
when the last descriptor or mapping on it goes.

Always holds: input files are never written; memory per step is bounded by the chunk and
window sizes, not by the capture size; offsets are offsets in the decompressed stream.
"""

from __future__ import annotations

import errno
import io
import mmap
import os
import stat
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO, Literal

import numpy as np
import numpy.typing as npt

from wiredoctor.capture.populate import populate_later, populate_now
from wiredoctor.errors import EnvironmentProblem, InputError

if TYPE_CHECKING:
    from concurrent.futures import Future

CHUNK = 1 << 20
"""Bytes read from a pipe or compressed stream per step."""

Compression = Literal["gzip", "zstd"] | None

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


@dataclass(frozen=True, slots=True, kw_only=True)
class Window:
    """One mapped stretch of the stream."""

    buf: npt.NDArray[np.uint8]
    """The bytes, starting at the offset asked for (zero-copy, private copy-on-write)."""
    mapping: mmap.mmap | None
    """The mapping behind `buf` (None for an empty window)."""

    def release(self) -> None:
        """Let the kernel drop this window's pages from our resident set.

        Nothing writes to the mapping, so MADV_DONTNEED only unmaps its pages: a batch that
        still reads them faults them back in from the page cache with the same bytes. The
        walk releases a window once the one after it is mapped too, which keeps at most
        three windows resident however long the capture: the one being read, the one whose
        last batch a consumer may still be verifying, and the next one, prepared.
        """
        if self.mapping is not None and hasattr(mmap, "MADV_DONTNEED"):
            self.mapping.madvise(mmap.MADV_DONTNEED)


class ByteStream:
    """A read-only regular file (the input itself or a spool) with windowed mapping."""

    def __init__(self, fd: int, size: int, path: str) -> None:
        self.path = path
        """The capture as the caller named it, for messages."""
        self.fd = fd
        """Descriptor this object owns (closed by `close`)."""
        self.size = size
        """Length of the stream in bytes."""
        self._ahead: tuple[int, mmap.mmap] | None = None
        """A mapping `prepare` made (its first byte's offset, the mapping)."""
        self._populating: Future[int] | None = None
        """The helper thread's work on the last mapping prepared."""

    def window(self, offset: int, length: int) -> Window:
        """A mapping of bytes [offset, offset + length), clipped to the end: the one
        `prepare` made when it holds them, else a new one, its pages mapped now."""
        length = max(0, min(length, self.size - offset))
        if length == 0:
            return Window(buf=np.zeros(0, dtype=np.uint8), mapping=None)
        if self.fd < 0:
            raise InputError(self.path, "the capture was closed before this read", offset)
        ahead, self._ahead = self._ahead, None
        if ahead is not None and ahead[0] <= offset <= ahead[0] + len(ahead[1]) - length:
            start, mapping = ahead
        else:
            start, mapping = self._map(offset, length)
            populate_now(mapping)
        view = np.frombuffer(mapping, dtype=np.uint8)
        return Window(buf=view[offset - start : offset - start + length], mapping=mapping)

    def prepare(self, offset: int, length: int) -> None:
        """Map bytes [offset, offset + length) (clipped to the end) for a later `window`
        inside them, their pages mapped meanwhile on a helper thread
        (`capture.populate`). Nothing is prepared while the helper is still at the last
        one: windows walked faster than that are mapped when asked for."""
        self._ahead = None
        length = max(0, min(length, self.size - offset))
        if length == 0 or self.fd < 0:
            return
        if self._populating is not None and not self._populating.done():
            return
        aligned, mapping = self._map(offset, length)
        self._populating = populate_later(mapping)
        if self._populating is not None:
            self._ahead = (aligned, mapping)

    def _map(self, offset: int, length: int) -> tuple[int, mmap.mmap]:
        """A mapping from the page boundary at or before `offset` to offset + length."""
        aligned = offset - offset % mmap.ALLOCATIONGRANULARITY
        # A private (copy-on-write) mapping, so that the array is writable: numba compiles
        # read-only arrays into markedly slower loops. Nothing here writes; a consumer that
        # did would change its private copy only, never the file.
        mapping = mmap.mmap(
            self.fd,
            length + offset - aligned,
            flags=mmap.MAP_PRIVATE,
            prot=mmap.PROT_READ | mmap.PROT_WRITE,
            offset=aligned,
        )
        return aligned, mapping

    def pread(self, offset: int, length: int) -> bytes:
        """Bytes [offset, offset + length), fewer at the end of the stream."""
        if offset < 0 or length <= 0:
            return b""
        parts: list[bytes] = []
        while length > 0:
            part = os.pread(self.fd, min(length, CHUNK * 16), offset)
            if not part:
                break
            parts.append(part)
            offset += len(part)
            length -= len(part)
        return b"".join(parts)

    def close(self) -> None:
        """Close the descriptor (mappings already handed out stay valid); idempotent."""
        self._ahead = None
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def open_stream(path: str, handle: BinaryIO) -> tuple[ByteStream, Compression, list[str]]:
    """The stream behind `handle`: (stream, compression, warnings).

    A regular, uncompressed file is used in place (its descriptor is duplicated); anything
    else is spooled. `handle` is not closed here.
    """
    try:
        fd = handle.fileno()
        info = os.fstat(fd)
    except (OSError, io.UnsupportedOperation):
        # An in-memory stream (tests put one in place of stdin): no descriptor, spool it.
        fd = -1
    if fd >= 0 and stat.S_ISREG(info.st_mode):
        head = os.pread(fd, 4, 0)
        if not head.startswith(GZIP_MAGIC) and not head.startswith(ZSTD_MAGIC):
            # Read from the start even if stdin was handed over part-read.
            return ByteStream(os.dup(fd), info.st_size, path), None, []
        handle.seek(0)
    try:
        return _spool(path, handle)
    except OSError as problem:
        reason = problem.strerror or str(problem)
        if problem.errno in (errno.ENOSPC, errno.EDQUOT):
            raise EnvironmentProblem(
                f"{path}: no room to spool the input to a temporary file ({reason}); "
                "set TMPDIR to a larger disk"
            ) from None
        raise InputError(path, f"cannot read: {reason}", None) from None


def _spool(path: str, handle: BinaryIO) -> tuple[ByteStream, Compression, list[str]]:
    """Copy (and decompress) `handle` into an anonymous temporary file."""
    reader = _BufferedHead(handle)
    head = reader.peek(4)
    import tempfile  # only input that is not a regular file is spooled (4 ms of a start)

    # Closed below once its descriptor is duplicated; the duplicate keeps the data.
    spool = tempfile.TemporaryFile(prefix="wiredoctor-spool-")  # noqa: SIM115
    try:
        warnings: list[str] = []
        compression: Compression = None
        if head.startswith(GZIP_MAGIC):
            compression = "gzip"
            warnings = _gunzip_into(path, reader, spool)
        elif head.startswith(ZSTD_MAGIC):
            compression = "zstd"
            warnings = _unzstd_into(path, reader, spool)
        else:
            while chunk := reader.read(CHUNK):
                spool.write(chunk)
        spool.flush()
        size = spool.tell()
        stream = ByteStream(os.dup(spool.fileno()), size, path)
    finally:
        spool.close()
    return stream, compression, warnings


class _BufferedHead:
    """A reader that can look at its first bytes before handing them on (pipes cannot seek)."""

    def __init__(self, handle: BinaryIO) -> None:
        self._handle = handle
        self._pending = b""

    def peek(self, n: int) -> bytes:
        while len(self._pending) < n:
            more = self._handle.read(n - len(self._pending))
            if not more:
                break
            self._pending += more
        return self._pending[:n]

    def read(self, n: int) -> bytes:
        if self._pending:
            out, self._pending = self._pending[:n], self._pending[n:]
            return out
        return self._handle.read(n)


def _gunzip_into(path: str, reader: _BufferedHead, spool: BinaryIO) -> list[str]:
    """Decompress every gzip member (RFC 1952 §2.2: members may be concatenated)."""
    limit = CHUNK * 4
    decomp = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    fed = False
    consumed = 0
    written = 0
    pending = b""
    more_out = False
    while True:
        if not pending and not more_out:
            pending = reader.read(CHUNK)
            if not pending:
                break
            consumed += len(pending)
        try:
            # Bounded output per call, so a highly compressed input never balloons memory.
            out = decomp.decompress(pending, limit)
        except zlib.error as problem:
            return [
                f"{path}: gzip data corrupt near compressed byte {consumed}: {problem}; "
                f"kept the {written} bytes before it"
            ]
        fed = fed or bool(pending)
        spool.write(out)
        written += len(out)
        more_out = len(out) == limit
        pending = decomp.unconsumed_tail
        if decomp.eof:
            rest = decomp.unused_data
            decomp = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
            fed = False
            more_out = False
            # Zero padding after the last member is common (tape blocks); anything else
            # is the next member.
            pending = b"" if not rest.strip(b"\x00") else rest
    if fed:
        return [f"{path}: gzip stream ended early after {written} decompressed bytes"]
    return []


def _unzstd_into(path: str, reader: _BufferedHead, spool: BinaryIO) -> list[str]:
    """Decompress every zstd frame (RFC 8878 §3.1: frames may be concatenated)."""
    import zstandard  # only for zstd input (3 ms of every start otherwise)

    # zstandard's decompressobj has no output bound, so input goes in small slices: one
    # slice can expand by at most a few ten-thousand times (RLE blocks), i.e. tens of MiB.
    step = 4096
    decomp = zstandard.ZstdDecompressor().decompressobj()
    fed = False
    consumed = 0
    written = 0
    while chunk := reader.read(CHUNK):
        for start in range(0, len(chunk), step):
            piece = chunk[start : start + step]
            while piece:
                try:
                    out = decomp.decompress(piece)
                except zstandard.ZstdError as problem:
                    return [
                        f"{path}: zstd data corrupt near compressed byte "
                        f"{consumed + start}: {problem}; kept the {written} bytes before it"
                    ]
                fed = True
                spool.write(out)
                written += len(out)
                piece = b""
                if decomp.eof:
                    piece = decomp.unused_data
                    decomp = zstandard.ZstdDecompressor().decompressobj()
                    fed = False
        consumed += len(chunk)
    if fed:
        return [f"{path}: zstd stream ended early after {written} decompressed bytes"]
    return []


def open_input(path: str) -> BinaryIO:
    """Open `path` read-only; a missing or unreadable file is an InputError."""
    try:
        return open(path, "rb")
    except OSError as problem:
        reason = problem.strerror or str(problem)
        raise InputError(path, f"cannot open: {reason}", None) from None
