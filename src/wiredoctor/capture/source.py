"""CaptureSource: one opened capture, giving its frames as records or as batches.

Binary captures are walked anew on every call to `records()` or `batches()` (each walk
starts at frame 1 and reports the same warnings once); text captures are parsed once, at
open, because they are small.

Always holds: `records()` is built from `batches()`, so both speeds see the same frames;
`read_frame` works until `close()`; `close()` may be called any number of times; batches
already handed out stay readable after close (their windows stay mapped until dropped).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Literal

from wiredoctor.capture.batch import RecordBatch
from wiredoctor.capture.record import Record
from wiredoctor.capture.stream import ByteStream, Compression
from wiredoctor.capture.walk import Walker, drive
from wiredoctor.errors import InputError

Format = Literal["pcap", "pcapng", "text"]

DEFAULT_WINDOW = 32 << 20


class CaptureSource:
    """An open capture (use as a context manager, or call `close()`)."""

    def __init__(
        self,
        *,
        path: str,
        format: Format,
        compression: Compression,
        stream: ByteStream,
        start: int = 0,
        make_walker: Callable[[], Walker] | None = None,
        text_batch: RecordBatch | None = None,
        text_records: list[Record] | None = None,
        warnings: list[str] | None = None,
    ) -> None:
        self.path = path
        """The capture as the caller named it (`-` for stdin)."""
        self.format: Format = format
        """`pcap`, `pcapng` or `text`."""
        self.compression: Compression = compression
        """`gzip`, `zstd` or None."""
        self.warnings: list[str] = list(warnings or [])
        """What the reader noticed (a cut-short file names the byte where it stopped)."""
        self._stream = stream
        self._start = start
        self._make_walker = make_walker
        self._text_batch = text_batch
        self._text_records = text_records or []
        self._closed = False

    @property
    def size(self) -> int:
        """Bytes in the (decompressed) capture stream, for progress reporting."""
        return int(self._stream.size)

    def __enter__(self) -> CaptureSource:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        """True after `close()`."""
        return self._closed

    def close(self) -> None:
        """Release the file (or delete the spool); safe to call again."""
        if not self._closed:
            self._closed = True
            self._stream.close()

    def _check_open(self, offset: int | None) -> None:
        if self._closed:
            raise InputError(self.path, "the capture was closed before this read", offset)

    def batches(
        self, window_bytes: int = DEFAULT_WINDOW, *, compiled: bool | None = None
    ) -> Iterator[RecordBatch]:
        """The frames as batches, mapping the stream `window_bytes` at a time; `compiled`
        forces the walk's speed (`walk.drive`; by default the capture's size decides)."""
        self._check_open(None)
        if self._text_batch is not None:
            if len(self._text_batch):
                yield self._text_batch
            return
        if self._make_walker is None:
            return
        for batch in drive(
            self._stream,
            self._start,
            self._make_walker(),
            window_bytes,
            self.path,
            self.warnings,
            compiled,
        ):
            self._check_open(int(batch.file_off[0]) if len(batch) else None)
            yield batch

    def records(self, *, compiled: bool | None = None) -> Iterator[Record]:
        """The frames one by one, numbered from 1 across all sections (`compiled` as for
        `batches`)."""
        self._check_open(None)
        if self._text_batch is not None:
            yield from self._text_records
            return
        for batch in self.batches(compiled=compiled):
            yield from batch.records()

    def read_frame(self, file_off: int, caplen: int) -> bytes:
        """The `caplen` bytes at stream offset `file_off` (a record's `file_offset`)."""
        self._check_open(file_off)
        if caplen <= 0:
            return b""
        if file_off < 0:
            raise InputError(self.path, f"no frame of {caplen} bytes here", file_off)
        if self._text_batch is not None:
            data = self._text_batch.buf[file_off : file_off + caplen].tobytes()
        else:
            data = self._stream.pread(file_off, caplen)
        if len(data) != caplen:
            raise InputError(self.path, f"no frame of {caplen} bytes here", file_off)
        return data
