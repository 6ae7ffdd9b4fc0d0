"""The kernels' payload hash equals `decode.fnv.payload_hash`, and both equal the definition
read literally, on arbitrary bytes and on every length around the word and block boundaries."""

from __future__ import annotations

import numba
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from wiredoctor.decode.fnv import payload_hash
from wiredoctor.fast import hashing
from wiredoctor.fast.hashes import hash_bytes

M64 = 2**64


@numba.njit(cache=False)
def _one(buf: np.ndarray, start: int, length: int) -> np.uint64:
    return hashing.payload_hash(buf, start, length)


def _kernel_one(data: bytes, pad: int = 3) -> int:
    # Bytes on both sides of the payload: a read past its end would change the value.
    buf = np.frombuffer(b"\xa5" * pad + data + b"\x5a" * 11, dtype=np.uint8)
    return int(_one(buf, pad, len(data)))


def _step(h: int, word: bytes) -> int:
    h = ((h ^ int.from_bytes(word, "little")) * 0x100000001B3) % M64
    return h ^ (h >> 29)


def _spelled_out(data: bytes) -> int:
    """The definition read literally, one slice per word."""
    if not data:
        return 0
    start = 0xCBF29CE484222325 ^ len(data)
    lanes = [start ^ j for j in range(4)]
    blocks = len(data) // 32 * 32
    for at in range(0, blocks, 32):
        lanes = [_step(lanes[j], data[at + 8 * j : at + 8 * j + 8]) for j in range(4)]
    h = lanes[0]
    for j in (1, 2, 3):
        h = _step(h, lanes[j].to_bytes(8, "little"))
    for at in range(blocks, len(data), 8):
        h = _step(h, data[at : at + 8])
    return h if h else 1


def test_reference_matches_the_definition_on_every_short_length() -> None:
    for length in range(100):
        data = bytes((7 * k + length) & 0xFF for k in range(length))
        assert payload_hash(data) == _spelled_out(data), length


def test_known_values() -> None:
    assert payload_hash(b"") == 0
    # One byte 0x01: the four lanes start at s ^ 0..3 (s = basis ^ length) and are folded
    # into one; the byte is then the tail word.
    s = 0xCBF29CE484222325 ^ 1
    h = s
    for j in (1, 2, 3):
        h = ((h ^ (s ^ j)) * 0x100000001B3) % M64
        h ^= h >> 29
    h = ((h ^ 1) * 0x100000001B3) % M64
    assert payload_hash(b"\x01") == h ^ (h >> 29)
    # Trailing zero bytes change the value (the length is mixed in first).
    assert payload_hash(b"\x01") != payload_hash(b"\x01\x00")
    assert payload_hash(bytes(8)) != payload_hash(bytes(16))
    # Words swapped between lanes of a block change it.
    block = bytes(range(32))
    assert payload_hash(block) != payload_hash(block[8:16] + block[:8] + block[16:])


def test_kernel_matches_reference_on_every_short_length() -> None:
    for length in range(100):
        data = bytes((13 * k + 5) & 0xFF for k in range(length))
        for pad in (0, 1, 7):
            assert _kernel_one(data, pad) == payload_hash(data), (length, pad)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=3000))
def test_kernel_matches_reference(data: bytes) -> None:
    assert _kernel_one(data) == payload_hash(data) == _spelled_out(data)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=2000))
def test_hash_bytes_matches_reference(data: bytes) -> None:
    assert hash_bytes(data) == payload_hash(data)
