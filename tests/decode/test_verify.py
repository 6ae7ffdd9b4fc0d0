"""The reference verifier on frames built in code: verdicts, causes, notes and frame columns."""

from __future__ import annotations

import struct

import numpy as np

from decode.decode_builders import (
    V4_A,
    V4_B,
    V6_A,
    V6_B,
    V6_C,
    ethernet,
    icmp_echo,
    ipv4,
    ipv6,
    l4_checksum,
    record,
    tcp,
    udp,
)
from wiredoctor.capture.record import Direction, LinkType
from wiredoctor.checksum.verdict import Cause, Note, Proto, Status
from wiredoctor.decode.fnv import payload_hash
from wiredoctor.decode.verify import Verifier, verify_records
from wiredoctor.tables import FrameFlag

SEED0_OPTIONS = bytes.fromhex("020405b4") + b"\x04\x02" + struct.pack("!BBII", 8, 10, 28089204, 0)
SEED0_OPTIONS += b"\x01\x03\x03\x06"


def rows(*data: bytes, linktype: int = LinkType.ETHERNET) -> tuple[np.ndarray, np.ndarray]:
    records = [record(d, linktype, index=i + 1) for i, d in enumerate(data)]
    return verify_records(records)


def by_proto(checksums: np.ndarray, proto: Proto) -> np.ndarray:
    return checksums[checksums["proto"] == proto]


def test_seed_openstack_syn_holds_the_linux_partial_sum() -> None:
    # 10.0.0.240.56791 > 10.0.41.3.22 [S], cksum 0x3e21 (incorrect -> 0x6de2), length 40 TCP.
    segment = tcp(V4_A, V4_B, options=SEED0_OPTIONS, checksum=0x3E21)
    frame = ethernet(ipv4(segment, 6, ident=53611))
    _, checksums = rows(frame)
    row = by_proto(checksums, Proto.TCP)[0]
    assert row["status"] == Status.BAD
    assert row["partial"] == 0x3E21
    assert row["expected"] == 0x6DE2
    assert row["cause"] == Cause.OFFLOAD_PARTIAL
    assert row["l4_len"] == 40
    assert by_proto(checksums, Proto.IPV4)[0]["status"] == Status.GOOD


def test_seed_tinc_mss_clamp_is_off_by_one() -> None:
    dump = (
        "4500003c000040003f0604e10a500070ac1280090050a54f4a211b1080edfc2c"
        "a01268df030100000204057d0402080a0862b134081b5bcd01030307"
    )
    frames, checksums = rows(bytes.fromhex(dump), linktype=LinkType.RAW)
    row = by_proto(checksums, Proto.TCP)[0]
    assert (row["status"], row["value"], row["expected"]) == (Status.BAD, 0x0301, 0x0302)
    assert row["cause"] == Cause.OFF_BY_ONE
    assert frames[0]["tcp_mss"] == 1405
    good = dump.replace("68df0301", "68dfff16").replace("b134", "b51f")
    _, checksums = rows(bytes.fromhex(good), linktype=LinkType.RAW)
    assert by_proto(checksums, Proto.TCP)[0]["status"] == Status.GOOD


def test_frame_columns_of_a_tagged_tcp_segment() -> None:
    payload = b"GET / HTTP/1.1\r\n\r\n"
    segment = tcp(V4_A, V4_B, payload, flags=0x18, options=SEED0_OPTIONS)
    frame = ethernet(ipv4(segment, 6), tags=((0x88A8, 100), (0x8100, 200)))
    frames, checksums = rows(frame)
    row = frames[0]
    assert (row["vlan_depth"], row["vlan_id"], row["l2_len"]) == (2, 100, 22)
    assert (row["ip_version"], row["ip_off"], row["ip_hdr_len"], row["ip_proto"]) == (4, 22, 20, 6)
    assert row["ip_len"] == 20 + len(segment)
    assert (row["sport"], row["dport"], row["tcp_seq"], row["tcp_flags"]) == (
        56791,
        22,
        2650163743,
        0x18,
    )
    assert (row["tcp_mss"], row["tcp_wscale"], row["tcp_sack_perm"]) == (1460, 6, 1)
    assert (row["tcp_has_ts"], row["tcp_tsval"], row["tcp_tsecr"]) == (1, 28089204, 0)
    assert row["l4_payload_len"] == len(payload)
    assert row["payload_hash"] == payload_hash(payload)
    assert row["ip_flags"] == 1  # DF
    assert (row["src_lo"] & 0xFFFFFFFF, row["dst_lo"] & 0xFFFFFFFF) == (0x0A0000F0, 0x0A002903)
    assert row["n_cksum"] == 2 and row["cksum_row"] == 0
    assert set(checksums["status"].tolist()) == {Status.GOOD}


def test_padding_and_trailer_split_like_wireshark() -> None:
    short = ethernet(ipv4(icmp_echo(b""), 1)) + b"\x00" * 18  # 42 bytes + 18 padding
    frames, _ = rows(short)
    assert (frames[0]["pad_len"], frames[0]["trailer_len"], frames[0]["trailer_off"]) == (18, 0, 42)
    assert frames[0]["trailer_nonzero_pad"] == 0
    # A full-size frame with a 2-byte trailer (the USB NIC of the third seed report).
    big = ethernet(ipv4(icmp_echo(b"x" * 1472), 1)) + b"\x25\x7f"
    frames, _ = rows(big)
    assert (frames[0]["pad_len"], frames[0]["trailer_len"], frames[0]["trailer_off"]) == (
        0,
        2,
        1514,
    )
    # Non-zero bytes below 60 are no padding: all trailer, less the 4 taken for the FCS.
    mixed = ethernet(ipv4(icmp_echo(b""), 1)) + b"\x01" + b"\x00" * 17 + b"\xaa\xbb\xcc\xdd"
    frames, _ = rows(mixed)
    row = frames[0]
    assert (row["pad_len"], row["trailer_len"], row["trailer_nonzero_pad"]) == (0, 18, 1)


def test_udp_zero_checksum_is_not_present_over_ipv4_and_illegal_over_ipv6() -> None:
    four = ethernet(ipv4(udp(V4_A, V4_B, b"abc", checksum=0), 17))
    six = ethernet(ipv6(udp(V6_A, V6_B, b"abc", checksum=0), 17), ethertype=0x86DD)
    _, checksums = rows(four, six)
    udp_rows = by_proto(checksums, Proto.UDP)
    assert udp_rows["status"].tolist() == [Status.NOT_PRESENT, Status.ILLEGAL]
    assert udp_rows["cause"].tolist() == [Cause.NONE, Cause.NONE]


def test_snaplen_cut_is_unverified_never_bad() -> None:
    frame = ethernet(ipv4(tcp(V4_A, V4_B, b"x" * 200, checksum=0x1234), 6))
    cut = record(frame[:80], wirelen=len(frame))
    frames, checksums = verify_records([cut])
    row = by_proto(checksums, Proto.TCP)[0]
    assert row["status"] == Status.UNVERIFIED
    assert row["note"] == Note.SNAPLEN
    assert row["value"] == 0x1234 and row["expected"] == -1
    assert frames[0]["flags"] & FrameFlag.SNAPLEN


def test_ffff_where_zero_is_due_is_good_with_a_note() -> None:
    segment = tcp(V4_A, V4_B, b"\x00\x00", checksum=0)
    # Choose the last payload word so that the computed checksum is exactly 0.
    value = struct.unpack("!H", tcp(V4_A, V4_B, b"\x00\x00")[16:18])[0]
    segment = segment[:-2] + struct.pack("!H", value)
    segment = segment[:16] + b"\xff\xff" + segment[18:]
    _, checksums = rows(ethernet(ipv4(segment, 6)))
    row = by_proto(checksums, Proto.TCP)[0]
    assert (row["status"], row["expected"], row["note"]) == (Status.GOOD, 0, Note.FFFF_FOR_ZERO)


def test_srh_checksum_uses_segment_list_zero() -> None:
    segment = tcp(V6_A, V6_B, b"hello", pseudo_dst=V6_C)
    # SRH (RFC 8754): next header TCP, 2 segments, segments left 1, list[0] is the final one.
    srh = struct.pack("!BBBBBBH", 6, 4, 4, 1, 1, 0, 0) + V6_C + V6_B
    frame = ethernet(ipv6(srh + segment, 43), ethertype=0x86DD)
    frames, checksums = rows(frame)
    row = by_proto(checksums, Proto.TCP)[0]
    assert row["status"] == Status.GOOD
    assert row["note"] == Note.FINAL_DESTINATION
    assert frames[0]["flags"] & FrameFlag.SRH
    # The same segment checked against the wire destination would be wrong: the SRH matters.
    plain = ethernet(ipv6(segment, 6), ethertype=0x86DD)
    _, checksums = rows(plain)
    assert by_proto(checksums, Proto.TCP)[0]["status"] == Status.BAD


def test_type2_routing_header_uses_the_home_address() -> None:
    segment = udp(V6_A, V6_B, b"mip", dport=434)
    segment = l4_checksum(segment[:6] + b"\x00\x00" + segment[8:], 17, V6_A, V6_C, 6)
    rh2 = struct.pack("!BBBBI", 17, 2, 2, 1, 0) + V6_C
    _, checksums = rows(ethernet(ipv6(rh2 + segment, 43), ethertype=0x86DD))
    row = by_proto(checksums, Proto.UDP)[0]
    assert (row["status"], row["note"]) == (Status.GOOD, Note.FINAL_DESTINATION)


def test_vxlan_inner_checksums_count_depth() -> None:
    inner = ethernet(ipv4(tcp(V4_B, V4_A, b"in", checksum=0xBEEF), 6))
    vxlan = struct.pack("!BBHI", 0x08, 0, 0, 42 << 8) + inner
    frame = ethernet(ipv4(udp(V4_A, V4_B, vxlan, sport=40000, dport=4789), 17))
    frames, checksums = rows(frame)
    ip_rows = by_proto(checksums, Proto.IPV4)
    assert ip_rows["depth"].tolist() == [0, 1]
    assert ip_rows["status"].tolist() == [Status.GOOD, Status.GOOD]
    assert by_proto(checksums, Proto.UDP)["status"].tolist() == [Status.GOOD]
    inner_tcp = by_proto(checksums, Proto.TCP)[0]
    assert (inner_tcp["depth"], inner_tcp["status"], inner_tcp["cause"]) == (
        0,
        Status.BAD,
        Cause.CORRUPT,
    )
    assert frames[0]["tunnel_depth"] == 1
    assert frames[0]["ip_off"] == 14 + 20 + 8 + 8 + 14


def test_gre_checksum_only_with_the_c_bit() -> None:
    inner = ipv4(icmp_echo(), 1, V4_B, V4_A)
    body = struct.pack("!HHHH", 0x8000, 0x0800, 0, 0) + inner
    from wiredoctor.checksum.arith import internet_checksum

    body = body[:4] + struct.pack("!H", internet_checksum(body)) + body[6:]
    without = struct.pack("!HH", 0, 0x0800) + inner
    _, checksums = rows(ethernet(ipv4(body, 47)), ethernet(ipv4(without, 47)))
    gre = by_proto(checksums, Proto.GRE)
    assert gre["frame"].tolist() == [1] and gre["status"].tolist() == [Status.GOOD]
    assert by_proto(checksums, Proto.ICMP)["status"].tolist() == [Status.GOOD, Status.GOOD]


def test_ipv4_fragments_are_verified_on_the_completing_frame() -> None:
    datagram = udp(V4_A, V4_B, bytes(range(40)))
    first = ethernet(ipv4(datagram[:24], 17, ident=99, flags_frag=0x2000))
    last = ethernet(ipv4(datagram[24:], 17, ident=99, flags_frag=24 // 8))
    frames, checksums = rows(first, last)
    udp_rows = by_proto(checksums, Proto.UDP)
    assert udp_rows["frame"].tolist() == [1, 2]
    assert udp_rows["status"].tolist() == [Status.UNVERIFIED, Status.GOOD]
    assert udp_rows["note"].tolist() == [Note.NONE, Note.REASSEMBLED]
    assert udp_rows["l4_len"].tolist()[1] == len(datagram)
    assert frames["flags"][0] & FrameFlag.FRAGMENT
    assert frames["flags"][1] & FrameFlag.REASSEMBLED


def test_icmp_error_quotes_are_verified_but_do_not_fill_the_flow_columns() -> None:
    quoted = ipv4(udp(V4_B, V4_A, b"q" * 12), 17, V4_B, V4_A)
    body = struct.pack("!BBHHH", 3, 4, 0, 0, 1400) + quoted
    from wiredoctor.checksum.arith import internet_checksum

    body = body[:2] + struct.pack("!H", internet_checksum(body)) + body[4:]
    frames, checksums = rows(ethernet(ipv4(body, 1)))
    assert by_proto(checksums, Proto.IPV4)["depth"].tolist() == [0, 1]
    assert by_proto(checksums, Proto.UDP)["status"].tolist() == [Status.GOOD]
    row = frames[0]
    assert (row["icmp_type"], row["icmp_code"], row["icmp_mtu"], row["tunnel_depth"]) == (
        3,
        4,
        1400,
        0,
    )


def test_ipv4_total_length_zero_takes_the_length_from_the_frame() -> None:
    segment = tcp(V4_A, V4_B, b"z" * 100)
    from wiredoctor.checksum.judge import pseudo_header_sum

    partial = pseudo_header_sum(V4_A, V4_B, 6, len(segment))
    frame = ethernet(
        ipv4(segment[:16] + struct.pack("!H", partial) + segment[18:], 6, total_length=0)
    )
    frames, checksums = rows(frame)
    row = by_proto(checksums, Proto.TCP)[0]
    assert (row["l4_len"], row["cause"]) == (len(segment), Cause.OFFLOAD_PARTIAL)
    assert frames[0]["flags"] & FrameFlag.IPV4_LEN_ZERO


def test_cooked_and_loopback_link_types() -> None:
    packet = ipv4(icmp_echo(), 1)
    sll = struct.pack("!HHH8sH", 4, 1, 6, b"\x02" * 8, 0x0800) + packet
    sll2 = struct.pack("!HHIHBB8s", 0x0800, 0, 3, 1, 0, 6, b"\x02" * 8) + packet
    six = ipv6(udp(V6_A, V6_B, b"6"), 17)
    loops = [
        record(struct.pack("<I", 2) + packet, LinkType.NULL, 3),
        record(struct.pack(">I", 30) + six, LinkType.LOOP, 4),
        record(struct.pack("<I", 24) + six, LinkType.NULL, 5),
        record(struct.pack("<I", 28) + six, LinkType.NULL, 6),
    ]
    frames, checksums = verify_records(
        [record(sll, LinkType.LINUX_SLL, 1), record(sll2, LinkType.LINUX_SLL2, 2), *loops]
    )
    assert frames["sll_pkttype"].tolist() == [4, 0, -1, -1, -1, -1]
    assert frames["direction"].tolist()[:2] == [Direction.OUTBOUND, Direction.INBOUND]
    assert frames["ip_version"].tolist() == [4, 4, 4, 6, 6, 6]
    assert set(checksums["status"].tolist()) == {Status.GOOD}


def test_verifier_feed_gives_table_rows() -> None:
    verifier = Verifier(capture_index=3)
    frame, checksums = verifier.feed(record(ethernet(ipv4(icmp_echo(), 1)), index=9))
    assert frame.shape == (1,) and frame["frame"][0] == 9 and frame["capture"][0] == 3
    assert checksums["proto"].tolist() == [Proto.IPV4, Proto.ICMP]
    assert checksums["capture"].tolist() == [3, 3]


def test_text_records_become_text_rows() -> None:
    from wiredoctor.capture.record import Record
    from wiredoctor.capture.stated import StatedFields

    text = Record(
        index=1,
        ts_ns=0,
        caplen=0,
        wirelen=60,
        linktype=LinkType.TEXT_FIELDS,
        stated=StatedFields(source_line=1, ip_version=4, proto=6),
    )
    frames, _ = verify_records([text])
    assert frames[0]["flags"] & FrameFlag.TEXT_FIELDS
