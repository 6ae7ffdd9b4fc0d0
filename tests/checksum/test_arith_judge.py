"""RFC 1071 arithmetic, pseudo-header sums and the judge that names a checksum's cause."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from wiredoctor.checksum.arith import fold, internet_checksum, ones_sum, verifies
from wiredoctor.checksum.judge import judge, pseudo_header_sum
from wiredoctor.checksum.verdict import Cause, Note, Status, classify_cause


def word_sum(data: bytes, initial: int = 0) -> int:
    """The textbook loop: add 16-bit words, fold the carries (RFC 1071 §4.1)."""
    padded = data + b"\x00" * (len(data) % 2)
    total = initial + sum(
        int.from_bytes(padded[i : i + 2], "big") for i in range(0, len(padded), 2)
    )
    return fold(total)


@given(st.binary(max_size=300), st.integers(min_value=0, max_value=0x3FFFF))
def test_ones_sum_equals_the_word_loop(data: bytes, initial: int) -> None:
    assert ones_sum(data, initial) == word_sum(data, initial)


def test_rfc1071_example() -> None:
    # RFC 1071 §3: bytes 00 01 f2 03 f4 f5 f6 f7 sum to ddf2.
    assert ones_sum(bytes.fromhex("0001f203f4f5f6f7")) == 0xDDF2
    assert internet_checksum(bytes.fromhex("0001f203f4f5f6f7")) == 0x220D


def test_seed_partial_sum() -> None:
    # The first seed: 10.0.0.240 -> 10.0.41.3, TCP, length 40 folds to 0x3e21.
    assert pseudo_header_sum(bytes([10, 0, 0, 240]), bytes([10, 0, 41, 3]), 6, 40) == 0x3E21


def test_pseudo_header_length_above_64k_is_added_as_32_bits() -> None:
    src, dst = bytes(16), bytes(15) + b"\x01"
    assert pseudo_header_sum(src, dst, 6, 0x1_0002) == fold(1 + 6 + 1 + 2)


@given(st.binary(min_size=4, max_size=200))
def test_filled_checksum_verifies_and_judges_good(data: bytes) -> None:
    body = data[:2] + b"\x00\x00" + data[4:]
    value = internet_checksum(body)
    filled = body[:2] + value.to_bytes(2, "big") + body[4:]
    assert verifies(filled)
    verdict = judge(value, ones_sum(body), None, None)
    assert verdict.status == Status.GOOD and verdict.expected == value


def test_judge_causes() -> None:
    rest = ones_sum(b"\x12\x34\x56\x78")
    pseudo = 0x3E21
    good = judge(0, rest, pseudo, 0x1111)
    expected = good.expected
    assert judge(expected, rest, pseudo, 0x1111).status == Status.GOOD
    assert judge(0, rest, pseudo, 0x1111).cause == Cause.ZERO
    assert judge(pseudo, rest, pseudo, 0x1111).cause == Cause.OFFLOAD_PARTIAL
    assert judge(0x1111, rest, pseudo, 0x1111).cause == Cause.OFFLOAD_PARTIAL_NOLEN
    assert judge((expected + 1) & 0xFFFF, rest, pseudo, 0x1111).cause == Cause.OFF_BY_ONE
    assert judge((expected - 1) & 0xFFFF, rest, pseudo, 0x1111).cause == Cause.OFF_BY_ONE
    assert judge(expected ^ 0x0F00, rest, pseudo, 0x1111).cause == Cause.CORRUPT


def test_ffff_for_zero_and_udp_zero_encoding() -> None:
    rest = 0xFFFF  # covered bytes that already sum to all ones: the checksum is 0
    tcp_like = judge(0xFFFF, rest, None, None)
    assert (tcp_like.status, tcp_like.expected, tcp_like.note) == (
        Status.GOOD,
        0,
        Note.FFFF_FOR_ZERO,
    )
    udp_like = judge(0xFFFF, rest, None, None, zero_as_ffff=True)
    assert (udp_like.status, udp_like.expected, udp_like.note) == (Status.GOOD, 0xFFFF, Note.NONE)


def test_classify_prefers_zero_over_a_zero_partial() -> None:
    assert classify_cause(0, 0x1234, 0, None) == Cause.ZERO
