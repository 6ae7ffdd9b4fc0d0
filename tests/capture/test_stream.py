"""Windows of the byte stream: a window prepared ahead is handed out when it holds the bytes
asked for, and every window shows exactly the file's bytes either way."""

from __future__ import annotations

import mmap
from concurrent.futures import Future
from pathlib import Path

import numpy as np
import pytest

from wiredoctor.capture.populate import populate_later
from wiredoctor.capture.stream import ByteStream, open_stream
from wiredoctor.errors import InputError

PAGE = mmap.ALLOCATIONGRANULARITY


@pytest.fixture
def data() -> bytes:
    return bytes((i * 7 + i // 251) & 0xFF for i in range(10 * PAGE + 123))


@pytest.fixture
def stream(tmp_path: Path, data: bytes) -> ByteStream:
    path = tmp_path / "bytes.bin"
    path.write_bytes(data)
    with path.open("rb") as handle:
        opened, compression, _ = open_stream(str(path), handle)
    assert compression is None
    return opened


def prepared(stream: ByteStream, offset: int, length: int) -> tuple[int, mmap.mmap] | None:
    """`stream.prepare`, once the helper has mapped the last window it was given."""
    if stream._populating is not None:
        stream._populating.result(timeout=30)
    stream.prepare(offset, length)
    return stream._ahead


def test_a_prepared_window_is_handed_out_when_it_holds_the_bytes(
    stream: ByteStream, data: bytes
) -> None:
    ahead = prepared(stream, 2 * PAGE + 5, 4 * PAGE)
    assert ahead is not None and ahead[0] == 2 * PAGE
    window = stream.window(3 * PAGE + 17, 2 * PAGE)
    assert window.mapping is ahead[1]
    assert window.buf.tobytes() == data[3 * PAGE + 17 : 5 * PAGE + 17]
    assert stream._ahead is None  # handed out once


def test_a_window_outside_the_prepared_one_is_mapped_anew(stream: ByteStream, data: bytes) -> None:
    for offset, length in ((PAGE, 2 * PAGE), (2 * PAGE, 5 * PAGE), (9 * PAGE, PAGE)):
        ahead = prepared(stream, 2 * PAGE, 4 * PAGE)
        assert ahead is not None
        window = stream.window(offset, length)
        assert window.mapping is not ahead[1]
        assert window.buf.tobytes() == data[offset : offset + length]
    # Clipped to the end of the stream, prepared or not.
    assert prepared(stream, 9 * PAGE, 4 * PAGE) is not None
    assert stream.window(9 * PAGE + 100, 4 * PAGE).buf.tobytes() == data[9 * PAGE + 100 :]
    assert stream.window(10 * PAGE, 4 * PAGE).buf.tobytes() == data[10 * PAGE :]


def test_nothing_is_prepared_past_the_end_or_after_close(stream: ByteStream) -> None:
    assert prepared(stream, stream.size, PAGE) is None
    assert prepared(stream, PAGE, PAGE) is not None
    stream.close()
    assert stream._ahead is None
    assert prepared(stream, PAGE, PAGE) is None
    with pytest.raises(InputError, match="closed"):
        stream.window(PAGE, PAGE)


def test_populating_on_the_helper_thread_changes_no_byte(stream: ByteStream, data: bytes) -> None:
    window = stream.window(0, stream.size)
    assert window.mapping is not None
    done = populate_later(window.mapping)
    if done is not None:
        # 0, or -1 where the kernel does not know MADV_POPULATE_READ (older than 5.14).
        assert done.result(timeout=30) in (0, -1)
    assert np.array_equal(window.buf, np.frombuffer(data, dtype=np.uint8))


def test_nothing_more_is_prepared_while_the_helper_is_busy(stream: ByteStream) -> None:
    assert prepared(stream, 0, PAGE) is not None
    busy: Future[int] = Future()  # a populate that has not finished
    stream._populating = busy
    stream.prepare(PAGE, PAGE)
    assert stream._ahead is None and stream._populating is busy
    busy.set_result(0)
    stream.prepare(PAGE, PAGE)
    assert stream._ahead is not None
