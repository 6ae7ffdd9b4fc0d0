"""The kernels' payload hash equals `decode.fnv.payload_hash`, one frame at a time and in the
four-lane chunk form, on arbitrary bytes and on every length around the word boundaries."""

from __future__ import annotations

import numba
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from wiredoctor.decode.fnv import payload_hash
from wiredoctor.fast import hashing
from wiredoctor.fast.hashes import hash_bytes
from wiredoctor.fast.hashing import hash_payloads
from wiredoctor.fast.marks import LENGTH_BUCKETS
from wiredoctor.tables import empty_frames


@numba.njit(cache=False)
def _one(buf: np.ndarray, start: int, length: int) -> np.uint64:
    return hashing.payload_hash(buf, start, length)


@numba.njit(cache=False)
def _chunk(buf: np.ndarray, starts: np.ndarray, lengths: np.ndarray, frames: np.ndarray) -> None:
    n = frames.shape[0]
    order = np.empty(n, dtype=np.int64)
    counts = np.empty(LENGTH_BUCKETS + 1, dtype=np.int64)
    hash_payloads(buf, starts, lengths, order, counts, frames)


def _kernel_one(data: bytes, pad: int = 3) -> int:
    # Bytes on both sides of the payload: a read past its end would change the value.
    buf = np.frombuffer(b"\xa5" * pad + data + b"\x5a" * 11, dtype=np.uint8)
    return int(_one(buf, pad, len(data)))


def _kernel_chunk(payloads: list[bytes]) -> list[int]:
    buf = bytearray()
    starts, lengths = [], []
    for payload in payloads:
        buf += b"\xff"
        starts.append(len(buf))
        lengths.append(len(payload))
        buf += payload
    buf += b"\xee" * 9
    frames = empty_frames(len(payloads))
    frames["payload_hash"] = 0
    _chunk(
        np.frombuffer(bytes(buf), dtype=np.uint8),
        np.array(starts, dtype=np.int64),
        np.array(lengths, dtype=np.int64),
        frames,
    )
    return [int(v) for v in frames["payload_hash"]]


def _spelled_out(data: bytes) -> int:
    """The definition read literally, one slice per word."""
    if not data:
        return 0
    h = 0xCBF29CE484222325 ^ len(data)
    for at in range(0, len(data), 8):
        h = ((h ^ int.from_bytes(data[at : at + 8], "little")) * 0x100000001B3) % 2**64
        h ^= h >> 29
    return h if h else 1


def test_reference_matches_the_definition_on_every_short_length() -> None:
    for length in range(41):
        data = bytes((7 * k + length) & 0xFF for k in range(length))
        assert payload_hash(data) == _spelled_out(data), length


def test_known_values() -> None:
    assert payload_hash(b"") == 0
    # One byte 0x01: start 0xCBF29CE484222325 ^ 1, xor the word 1, multiply, shift-xor.
    h = ((0xCBF29CE484222324 ^ 1) * 0x100000001B3) % 2**64
    assert payload_hash(b"\x01") == h ^ (h >> 29)
    # Trailing zero bytes change the value (the length is mixed in first).
    assert payload_hash(b"\x01") != payload_hash(b"\x01\x00")
    assert payload_hash(bytes(8)) != payload_hash(bytes(16))


def test_kernel_matches_reference_on_every_short_length() -> None:
    for length in range(41):
        data = bytes((13 * k + 5) & 0xFF for k in range(length))
        for pad in (0, 1, 7):
            assert _kernel_one(data, pad) == payload_hash(data), (length, pad)


def test_chunk_lanes_match_reference_on_every_short_length() -> None:
    payloads = [bytes((k * 31 + n) & 0xFF for k in range(n)) for n in range(41)] * 2
    assert _kernel_chunk(payloads) == [payload_hash(p) for p in payloads]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=3000))
def test_kernel_matches_reference(data: bytes) -> None:
    assert _kernel_one(data) == payload_hash(data)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.binary(max_size=200), max_size=23))
def test_chunk_matches_reference(payloads: list[bytes]) -> None:
    assert _kernel_chunk(payloads) == [payload_hash(p) for p in payloads]


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=2000))
def test_hash_bytes_matches_reference(data: bytes) -> None:
    assert hash_bytes(data) == payload_hash(data)
