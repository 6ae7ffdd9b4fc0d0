"""Properties: the decoders are total, and verification judges built frames rightly."""

from __future__ import annotations

import struct

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from decode.decode_builders import (
    V4_A,
    V4_B,
    V6_A,
    V6_B,
    ethernet,
    icmp_echo,
    ipv4,
    ipv6,
    record,
    tcp,
    udp,
)
from wiredoctor.capture.record import LinkType
from wiredoctor.checksum.judge import pseudo_header_sum
from wiredoctor.checksum.verdict import Cause, Proto, Status
from wiredoctor.decode.frame import decode_frame
from wiredoctor.decode.verify import verify_records

LINKTYPES = [0, 1, 12, 101, 108, 113, 228, 229, 276, 147]

# Prefixes that lead the walk deep before the random bytes start.
PREFIXES = [
    b"",
    ethernet(b"")[:-2] + b"\x08\x00",
    ethernet(b"")[:-2] + b"\x86\xdd",
    ethernet(b"")[:-2] + b"\x81\x00\x00\x64\x88\x47",
    ethernet(b"")[:-2] + b"\x88\x64\x11\x00\x00\x01\x00\x40\x00\x21",
    ethernet(ipv4(b"", 47, total_length=1500))[:34],
    ethernet(ipv4(b"", 17, total_length=1500))[:34] + b"\x9c\x40\x12\xb5\x05\xc8\x00\x00",
    ethernet(ipv4(b"", 17, total_length=1500))[:34] + b"\x9c\x40\x17\xc1\x05\xc8\x00\x00",
    ethernet(ipv6(b"", 43, plen=1400), ethertype=0x86DD),
    ethernet(ipv6(b"", 0, plen=0), ethertype=0x86DD),
    ethernet(ipv4(b"", 1, total_length=1500))[:34] + b"\x03\x04\x00\x00\x00\x00\x05\xdc",
]


@settings(max_examples=300, deadline=None)
@given(
    linktype=st.sampled_from(LINKTYPES),
    prefix=st.sampled_from(PREFIXES),
    tail=st.binary(max_size=300),
    cut=st.integers(min_value=0, max_value=40),
)
def test_decoders_and_verifier_are_total(
    linktype: int, prefix: bytes, tail: bytes, cut: int
) -> None:
    data = prefix + tail
    rec = record(data, linktype if prefix == b"" else LinkType.ETHERNET, wirelen=len(data) + cut)
    decoded = decode_frame(rec)
    assert all(layer.offset <= len(data) for layer in decoded.layers)
    frames, checksums = verify_records([rec])
    assert len(frames) == 1
    assert set(checksums["status"].tolist()) <= {0, 1, 2, 3, 4}
    # A checksum is only ever called bad over bytes that were all there.
    bad = checksums[checksums["status"] == Status.BAD]
    assert (bad["expected"] >= 0).all() and (bad["value"] >= 0).all()


def _frame(kind: str, payload: bytes, six: bool) -> tuple[bytes, Proto, int]:
    """A correct frame, the proto under test and the L4 offset in it."""
    src, dst = (V6_A, V6_B) if six else (V4_A, V4_B)
    if kind == "tcp":
        l4, proto, number = tcp(src, dst, payload), Proto.TCP, 6
    elif kind == "udp":
        l4, proto, number = udp(src, dst, payload), Proto.UDP, 17
    else:
        l4, proto, number = icmp_echo(payload), Proto.ICMP, 1
    if six:
        return ethernet(ipv6(l4, number), ethertype=0x86DD), proto, 54
    return ethernet(ipv4(l4, number)), proto, 34


KINDS_V4 = st.sampled_from(["tcp", "udp", "icmp"])
KINDS_V6 = st.sampled_from(["tcp", "udp"])


@settings(max_examples=150, deadline=None)
@given(six=st.booleans(), data=st.data(), payload=st.binary(min_size=2, max_size=200))
def test_correct_frames_are_good(six: bool, data: st.DataObject, payload: bytes) -> None:
    kind = data.draw(KINDS_V6 if six else KINDS_V4)
    frame, proto, _ = _frame(kind, payload, six)
    _, checksums = verify_records([record(frame)])
    assert checksums[checksums["proto"] == proto]["status"].tolist() == [Status.GOOD]
    assert set(checksums["status"].tolist()) == {Status.GOOD}


@settings(max_examples=150, deadline=None)
@given(
    six=st.booleans(),
    data=st.data(),
    payload=st.binary(min_size=2, max_size=200),
    mask=st.integers(min_value=1, max_value=255),
)
def test_a_changed_byte_is_corrupt(
    six: bool, data: st.DataObject, payload: bytes, mask: int
) -> None:
    kind = data.draw(KINDS_V6 if six else KINDS_V4)
    frame, proto, l4 = _frame(kind, payload, six)
    # Change the high byte of a payload word: the sum moves by a multiple of 256, never by one.
    header = {Proto.TCP: 20, Proto.UDP: 8, Proto.ICMP: 8}[proto]
    word = data.draw(st.integers(min_value=0, max_value=len(payload) // 2 - 1))
    at = l4 + header + 2 * word
    changed = frame[:at] + bytes([frame[at] ^ mask]) + frame[at + 1 :]
    _, checksums = verify_records([record(changed)])
    row = checksums[checksums["proto"] == proto][0]
    assume(row["value"] not in (0, row["partial"]))
    assert row["status"] == Status.BAD
    assert row["cause"] == Cause.CORRUPT


@settings(max_examples=100, deadline=None)
@given(six=st.booleans(), data=st.data(), payload=st.binary(max_size=200))
def test_the_pseudo_header_sum_in_the_field_is_offload_partial(
    six: bool, data: st.DataObject, payload: bytes
) -> None:
    kind = data.draw(st.sampled_from(["tcp", "udp"]))
    frame, proto, l4 = _frame(kind, payload, six)
    src, dst = (V6_A, V6_B) if six else (V4_A, V4_B)
    length = len(frame) - l4
    partial = pseudo_header_sum(src, dst, 6 if proto == Proto.TCP else 17, length)
    field = l4 + (16 if proto == Proto.TCP else 6)
    assume(frame[field : field + 2] != struct.pack("!H", partial) and partial != 0)
    changed = frame[:field] + struct.pack("!H", partial) + frame[field + 2 :]
    _, checksums = verify_records([record(changed)])
    row = checksums[checksums["proto"] == proto][0]
    assert (row["status"], row["cause"], row["partial"]) == (
        Status.BAD,
        Cause.OFFLOAD_PARTIAL,
        partial,
    )
