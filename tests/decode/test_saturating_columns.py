"""Values wider than their table column saturate instead of raising (packet bytes never raise)."""

from __future__ import annotations

import struct

from wiredoctor.capture.batch import batch_from_records
from wiredoctor.capture.record import LinkType, Record
from wiredoctor.checksum import internet_checksum, pseudo_header_sum_ipv6
from wiredoctor.decode.verify import verify_records
from wiredoctor.fast.verify import verify_batches


def packet_too_big(mtu: int) -> Record:
    src = bytes(15) + b"\x01"
    dst = bytes(15) + b"\x02"
    body = struct.pack("!BBHI", 2, 0, 0, mtu) + bytes(48)
    csum = internet_checksum(body, pseudo_header_sum_ipv6(src, dst, 58, len(body)))
    body = body[:2] + struct.pack("!H", csum) + body[4:]
    data = struct.pack("!IHBB", 0x6000_0000, len(body), 58, 64) + src + dst + body
    return Record(
        index=1, ts_ns=0, caplen=len(data), wirelen=len(data), linktype=LinkType.IPV6, data=data
    )


def test_huge_packet_too_big_mtu_saturates_in_both_speeds() -> None:
    record = packet_too_big(0x9000_0000)
    frames, checksums = verify_records([record])
    assert int(frames["icmp_mtu"][0]) == 0x7FFF_FFFF
    assert int(checksums["status"][0]) == 0  # the ICMPv6 checksum itself is good
    fast, _ = verify_batches([batch_from_records([record], first_frame=1)])
    assert int(fast["icmp_mtu"][0]) == 0x7FFF_FFFF


def test_ordinary_packet_too_big_mtu_is_kept() -> None:
    frames, _ = verify_records([packet_too_big(1280)])
    assert int(frames["icmp_mtu"][0]) == 1280
