"""MSS rewriting with incremental checksum update, and full recomputation for services."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wiredoctor.checksum.arith import (
    internet_checksum,
    pseudo_header_sum_ipv4,
    pseudo_header_sum_ipv6,
    verifies,
)
from wiredoctor.checksum.rewrite import locate_transport, recompute_checksums, rewrite_tcp_mss
from wiredoctor.errors import UsageError


def _ipv4(src: bytes, dst: bytes, proto: int, payload: bytes) -> bytes:
    header = bytearray(
        struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 7, 0x4000, 64, proto, 0, src, dst)
    )
    header[10:12] = internet_checksum(header).to_bytes(2, "big")
    return bytes(header) + payload


def _ipv6(src: bytes, dst: bytes, next_header: int, payload: bytes) -> bytes:
    return struct.pack("!IHBB16s16s", 6 << 28, len(payload), next_header, 64, src, dst) + payload


def _tcp(options: bytes, payload: bytes, seq: int = 1) -> bytes:
    header_len = 20 + len(options)
    return (
        struct.pack("!HHIIBBHHH", 443, 50000, seq, 0, (header_len // 4) << 4, 0x12, 1000, 0, 0)
        + options
        + payload
    )


def _with_tcp_checksum(packet: bytes) -> bytes:
    transport = locate_transport(packet)
    assert transport is not None
    out = bytearray(packet)
    at = transport.offset + 16
    out[at : at + 2] = b"\x00\x00"
    value = internet_checksum(out[transport.offset :], transport.pseudo_sum)
    out[at : at + 2] = value.to_bytes(2, "big")
    return bytes(out)


def _mss_at(packet: bytes, offset: int) -> int:
    return int.from_bytes(packet[offset : offset + 2], "big")


addresses4 = st.binary(min_size=4, max_size=4)
addresses6 = st.binary(min_size=16, max_size=16)
# 0 or 1 NOPs before the MSS option: the value then sits on an even or odd offset.
leading_nops = st.integers(min_value=0, max_value=3)


@given(
    addresses4,
    addresses4,
    leading_nops,
    st.integers(0, 0xFFFF),
    st.integers(0, 0xFFFF),
    st.binary(max_size=40),
    st.integers(0, 2**32 - 1),
)
def test_ipv4_mss_rewrite_equals_full_recomputation(
    src: bytes, dst: bytes, nops: int, old_mss: int, new_mss: int, payload: bytes, seq: int
) -> None:
    options = b"\x01" * nops + b"\x02\x04" + old_mss.to_bytes(2, "big")
    options += b"\x00" * (-len(options) % 4)
    packet = _with_tcp_checksum(_ipv4(src, dst, 6, _tcp(options, payload, seq)))
    rewritten = rewrite_tcp_mss(packet, new_mss)
    assert _mss_at(rewritten, 40 + nops + 2) == new_mss
    assert rewritten == _with_tcp_checksum(rewritten)  # checksum equals full recomputation
    pseudo = pseudo_header_sum_ipv4(src, dst, 6, len(rewritten) - 20)
    assert verifies(rewritten[20:], pseudo)
    # Nothing else moved.
    value_at = 40 + nops + 2
    assert rewritten[:36] == packet[:36]
    assert rewritten[38:value_at] == packet[38:value_at]
    assert rewritten[value_at + 2 :] == packet[value_at + 2 :]


@given(addresses6, addresses6, leading_nops, st.integers(0, 0xFFFF), st.binary(max_size=30))
def test_ipv6_mss_rewrite_equals_full_recomputation(
    src: bytes, dst: bytes, nops: int, new_mss: int, payload: bytes
) -> None:
    options = b"\x01" * nops + b"\x02\x04\x05\xa0"
    options += b"\x00" * (-len(options) % 4)
    packet = _with_tcp_checksum(_ipv6(src, dst, 6, _tcp(options, payload)))
    rewritten = rewrite_tcp_mss(packet, new_mss)
    assert _mss_at(rewritten, 60 + nops + 2) == new_mss
    assert rewritten == _with_tcp_checksum(rewritten)
    assert verifies(rewritten[40:], pseudo_header_sum_ipv6(src, dst, 6, len(rewritten) - 40))


def test_ipv6_mss_rewrite_through_srh_uses_final_destination() -> None:
    src, here, final = bytes(15) + b"\x01", bytes(15) + b"\x02", bytes(15) + b"\x03"
    # SRH (RFC 8754): next header TCP, hdr ext len 4 (two segments), type 4, segments left 1,
    # last entry 0, flags 0, tag 0, Segment List[0] = final destination, [1] = this node.
    srh = bytes([6, 4, 4, 1, 1, 0, 0, 0]) + final + here
    tcp = _tcp(b"\x02\x04\x23\x01", b"")
    pseudo = pseudo_header_sum_ipv6(src, final, 6, len(tcp))
    tcp = tcp[:16] + internet_checksum(tcp, pseudo).to_bytes(2, "big") + tcp[18:]
    packet = _ipv6(src, here, 43, srh + tcp)
    rewritten = rewrite_tcp_mss(packet, 1405)
    offset = 40 + len(srh)
    assert _mss_at(rewritten, offset + 22) == 1405
    assert verifies(rewritten[offset:], pseudo_header_sum_ipv6(src, final, 6, len(tcp)))


def test_seed_synack_clamped_to_1405() -> None:
    # The tunnel's input packet from the report (MSS 8961, checksum 0xe771, correct).
    packet = bytes.fromhex(
        "4500003c00004000 3f0604e10a500070 ac1280090050a54f 4a211b1080edfc2c"
        "a01268dfe7710000 020423010402080a 0862af40081b5bcd 01030307".replace(" ", "")
    )
    rewritten = rewrite_tcp_mss(packet, 1405)
    assert rewritten[42:44] == bytes.fromhex("057d")
    assert int.from_bytes(rewritten[36:38], "big") == 0x04F6
    assert rewritten == _with_tcp_checksum(rewritten)


@pytest.mark.parametrize(
    "packet",
    [
        b"",
        b"\x45\x00",
        _ipv4(b"\x01\x02\x03\x04", b"\x05\x06\x07\x08", 17, bytes(12)),  # UDP, no MSS
        _ipv4(b"\x01\x02\x03\x04", b"\x05\x06\x07\x08", 6, _tcp(b"\x01\x01\x04\x02", b"")),
        _ipv4(b"\x01\x02\x03\x04", b"\x05\x06\x07\x08", 6, _tcp(b"\x02\x04\x05", b""))[:42],
    ],
)
def test_packets_without_mss_come_back_unchanged(packet: bytes) -> None:
    assert rewrite_tcp_mss(packet, 1400) == packet


def test_mss_out_of_range_is_usage_error() -> None:
    with pytest.raises(UsageError):
        rewrite_tcp_mss(b"", 70000)


@given(addresses4, addresses4, st.binary(max_size=64), st.sampled_from([6, 17, 1]))
def test_recompute_checksums_ipv4(src: bytes, dst: bytes, payload: bytes, proto: int) -> None:
    body = {6: _tcp(b"", payload), 17: struct.pack("!HHHH", 1, 2, 8 + len(payload), 0xBEEF)}
    l4 = body.get(proto, b"\x08\x00\xde\xad\x00\x01\x00\x02" + payload)
    if proto == 17:
        l4 += payload
    packet = bytearray(_ipv4(src, dst, proto, l4))
    packet[10:12] = b"\x12\x34"  # wrong IPv4 header checksum too
    fixed = recompute_checksums(bytes(packet))
    assert verifies(fixed[:20])
    pseudo = 0 if proto == 1 else pseudo_header_sum_ipv4(src, dst, proto, len(l4))
    assert verifies(fixed[20:], pseudo)
    if proto == 17:
        assert fixed[26:28] != b"\x00\x00"  # a computed zero goes out as 0xffff


def test_recompute_keeps_udp_zero_over_ipv4() -> None:
    udp = struct.pack("!HHHH", 53, 53, 12, 0) + b"abcd"
    packet = _ipv4(b"\x0a\x00\x00\x01", b"\x0a\x00\x00\x02", 17, udp)
    assert recompute_checksums(packet)[26:28] == b"\x00\x00"


def test_recompute_icmpv6() -> None:
    src, dst = bytes(15) + b"\x01", bytes(15) + b"\x02"
    icmp = b"\x80\x00\x00\x00\x00\x01\x00\x01" + b"ping"
    fixed = recompute_checksums(_ipv6(src, dst, 58, icmp))
    assert verifies(fixed[40:], pseudo_header_sum_ipv6(src, dst, 58, len(icmp)))
