"""RFC 1624 incremental update against full recomputation, and the off-by-one bug it avoids."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from wiredoctor.checksum.arith import internet_checksum, pseudo_header_sum_ipv4
from wiredoctor.checksum.incremental import (
    aligned_window,
    incremental_update,
    naive_update_twos_complement,
    rfc1141_update,
)
from wiredoctor.errors import UsageError


@st.composite
def data_and_change(draw: st.DrawFn) -> tuple[bytes, int, bytes]:
    """Even-length data, a 16-bit aligned offset and new bytes of any even length there."""
    words = draw(st.integers(min_value=2, max_value=40))
    data = draw(st.binary(min_size=2 * words, max_size=2 * words))
    start_word = draw(st.integers(min_value=0, max_value=words - 1))
    n_words = draw(st.integers(min_value=1, max_value=words - start_word))
    new = draw(st.binary(min_size=2 * n_words, max_size=2 * n_words))
    return data, 2 * start_word, new


@given(data_and_change())
def test_incremental_equals_full_recomputation(case: tuple[bytes, int, bytes]) -> None:
    data, start, new = case
    # Data that sums to zero has checksum 0xFFFF, the one value no update can reach (RFC 1624
    # §3: only all-zero data yields it); real headers are never all zero.
    assume(any(data) and any(data[:start] + new + data[start + len(new) :]))
    old_checksum = internet_checksum(data)
    changed = data[:start] + new + data[start + len(new) :]
    updated = incremental_update(old_checksum, data[start : start + len(new)], new)
    assert updated == internet_checksum(changed)


@given(st.binary(min_size=2, max_size=64).filter(lambda b: len(b) % 2 == 0 and any(b)))
def test_identity_change_keeps_checksum(data: bytes) -> None:
    checksum = internet_checksum(data)
    assert incremental_update(checksum, data[:2], data[:2]) == checksum


def test_rfc1624_section4_example_zero_encodings() -> None:
    # RFC 1624 §4: HC = 0xDD2F, m = 0x5555 -> m' = 0x3285. Eqn. 3 gives 0x0000; the
    # RFC 1141 form gives 0xFFFF, the other encoding of zero.
    old, new = (0x5555).to_bytes(2, "big"), (0x3285).to_bytes(2, "big")
    assert incremental_update(0xDD2F, old, new) == 0x0000
    assert rfc1141_update(0xDD2F, old, new) == 0xFFFF


def test_result_reaching_zero_matches_full_sum() -> None:
    # Data whose new checksum is 0x0000: full recomputation never yields 0xFFFF for
    # non-zero data, and eqn. 3 agrees.
    data = bytes.fromhex("ffff0001")  # sum 0x0001 -> checksum 0xfffe
    new_data = bytes.fromhex("fffe0001")  # sum 0xffff -> checksum 0x0000
    assert internet_checksum(new_data) == 0x0000
    assert incremental_update(internet_checksum(data), data[:2], new_data[:2]) == 0x0000


def _seed_synack(mss: int, tsval: int, checksum: int) -> bytes:
    """The SYN-ACK from the MSS-clamping report (raw IPv4), with chosen MSS/TSval/checksum."""
    head = bytes.fromhex("4500003c000040003f0604e10a500070ac128009")
    tcp = (
        bytes.fromhex("0050a54f4a211b1080edfc2ca01268df")
        + checksum.to_bytes(2, "big")
        + bytes.fromhex("00000204")
        + mss.to_bytes(2, "big")
        + bytes.fromhex("0402080a")
        + tsval.to_bytes(4, "big")
        + bytes.fromhex("081b5bcd01030307")
    )
    return head + tcp


def _tcp_checksum(packet: bytes) -> int:
    tcp = bytearray(packet[20:])
    tcp[16:18] = b"\x00\x00"
    return internet_checksum(tcp, pseudo_header_sum_ipv4(packet[12:16], packet[16:20], 6, 40))


@pytest.mark.parametrize(
    ("tsval", "printed_by_tunnel", "tcpdump_expected"),
    [(0x0862B134, 0x0301, 0x0302), (0x0862B135, 0x0300, 0x0301), (0x0862B51F, 0xFF16, 0xFF16)],
)
def test_seed_mss_clamp_off_by_one_reproduced(
    tsval: int, printed_by_tunnel: int, tcpdump_expected: int
) -> None:
    # The server's SYN-ACK (MSS 8961) had a correct checksum; the tunnel clamped MSS to 1405.
    before = _seed_synack(8961, tsval, 0)
    before = _seed_synack(8961, tsval, _tcp_checksum(before))
    old_checksum = int.from_bytes(before[36:38], "big")
    old_mss, new_mss = (8961).to_bytes(2, "big"), (1405).to_bytes(2, "big")
    right = incremental_update(old_checksum, old_mss, new_mss)
    naive = naive_update_twos_complement(old_checksum, old_mss, new_mss)
    # Correct arithmetic gives what tcpdump computed; two's complement without the
    # end-around carry gives exactly what the tunnel wrote — off by one in two packets of
    # three, right in the third where carry and borrow cancel.
    assert right == tcpdump_expected == _tcp_checksum(_seed_synack(1405, tsval, 0))
    assert naive == printed_by_tunnel


def test_first_seed_packet_clamped_correctly() -> None:
    packet = _seed_synack(8961, 0x0862AF40, 0xE771)
    assert _tcp_checksum(packet) == 0xE771
    updated = incremental_update(0xE771, (8961).to_bytes(2, "big"), (1405).to_bytes(2, "big"))
    assert updated == _tcp_checksum(_seed_synack(1405, 0x0862AF40, 0)) == 0x04F6


@pytest.mark.parametrize(("old", "new"), [(b"\x01", b"\x02"), (b"\x01\x02", b"\x01\x02\x03\x04")])
def test_unaligned_or_unequal_lengths_are_usage_errors(old: bytes, new: bytes) -> None:
    with pytest.raises(UsageError):
        incremental_update(0x1234, old, new)


def test_aligned_window() -> None:
    assert aligned_window(21, 23) == (20, 24)
    assert aligned_window(22, 24) == (22, 24)
    assert aligned_window(3, 4) == (2, 4)


@given(st.binary(min_size=4, max_size=40).filter(lambda b: len(b) % 2 == 0 and any(b[2:])))
def test_update_that_lands_on_zero_checksum(data: bytes) -> None:
    # Choose the new first word so that the new data sums to 0xFFFF: its checksum is 0x0000,
    # the edge where RFC 1141's form answers 0xFFFF instead.
    rest_sum = 0xFFFF - internet_checksum(data[2:])  # folded sum of the other words
    new_first = 0xFFFF - rest_sum
    new = new_first.to_bytes(2, "big")
    assert internet_checksum(new + data[2:]) == 0x0000
    assume(any(data))
    assert incremental_update(internet_checksum(data), data[:2], new) == 0x0000
