"""stated_rows: table rows from printed fields, verdicts and causes without packet bytes."""

from __future__ import annotations

from pathlib import Path

from wiredoctor.capture.record import LinkType, Record
from wiredoctor.capture.stated import StatedFields
from wiredoctor.checksum.arith import pseudo_header_sum_ipv4
from wiredoctor.checksum.verdict import Cause, Note, Proto, Status
from wiredoctor.tables import CHECKSUM_DTYPE, FRAME_DTYPE, FrameFlag, address_text
from wiredoctor.textio.parse import parse_text
from wiredoctor.textio.rows import stated_rows


def _record(stated: StatedFields, index: int = 1) -> Record:
    return Record(
        index=index,
        ts_ns=5,
        caplen=0,
        wirelen=stated.ip_len or 0,
        linktype=int(LinkType.TEXT_FIELDS),
        stated=stated,
    )


def test_seed_000_rows_name_the_offload_artefact(seeds_dir: Path) -> None:
    (path,) = seeds_dir.glob("000_*.txt")
    syn, synack = parse_text(str(path), path.read_text(encoding="utf-8"))
    frame_a, cks_a = stated_rows(syn, 3)
    frame_b, cks_b = stated_rows(synack, 3)
    assert frame_a.dtype == FRAME_DTYPE and cks_a.dtype == CHECKSUM_DTYPE
    # 0x3e21 is the folded pseudo-header sum of 10.0.0.240 -> 10.0.41.3, TCP, length 40,
    # and the same both ways (the sum is symmetric in source and destination).
    partial = pseudo_header_sum_ipv4(bytes([10, 0, 0, 240]), bytes([10, 0, 41, 3]), 6, 40)
    assert partial == 0x3E21
    for frame, cks, expected in ((frame_a, cks_a, 0x6DE2), (frame_b, cks_b, 0xE5C5)):
        assert len(cks) == 1 and int(frame["n_cksum"]) == 1 and int(frame["cksum_row"]) == 0
        row = cks[0]
        assert int(row["proto"]) == Proto.TCP and int(row["depth"]) == 0
        assert int(row["status"]) == Status.BAD
        assert int(row["cause"]) == Cause.OFFLOAD_PARTIAL
        assert (int(row["value"]), int(row["expected"])) == (0x3E21, expected)
        assert int(row["partial"]) == 0x3E21 and int(row["l4_len"]) == 40
        assert int(row["note"]) == Note.FROM_TEXT and int(row["capture"]) == 3
        assert int(frame["flags"]) == FrameFlag.TEXT_FIELDS
        assert int(frame["tcp_hdr_len"]) == 40 and int(frame["ip_len"]) == 60
    assert int(frame_a["tcp_seq"]) == 2650163743 and int(frame_a["tcp_flags"]) == 0x02
    assert int(frame_b["tcp_ack"]) == 3098447117 and int(frame_b["tcp_flags"]) == 0x12
    assert address_text(int(frame_a["src_hi"]), int(frame_a["src_lo"])) == "10.0.0.240"
    assert address_text(int(frame_b["src_hi"]), int(frame_b["src_lo"])) == "10.0.41.3"
    assert (int(frame_a["sport"]), int(frame_a["dport"]), int(frame_a["ip_id"])) == (
        56791,
        22,
        53611,
    )
    assert (int(frame_a["tcp_mss"]), int(frame_a["tcp_wscale"]), int(frame_a["ttl"])) == (
        1460,
        6,
        64,
    )
    assert int(frame_a["ip_flags"]) == 1 and int(frame_a["tcp_tsval"]) == 28089204
    assert int(frame_a["frame"]) == 1 and int(frame_b["frame"]) == 2


def test_off_by_one_and_correct_verdicts() -> None:
    base = {
        "source_line": 7,
        "ip_version": 4,
        "src": "10.80.0.112",
        "dst": "172.18.128.9",
        "ip_len": 60,
        "proto": 6,
        "tcp_flags": 0x12,
        "payload_len": 0,
    }
    bad = StatedFields(
        **base, checksum=0x0301, checksum_verdict="incorrect", checksum_expected=0x0302
    )  # type: ignore[arg-type]
    good = StatedFields(**base, checksum=0xFF16, checksum_verdict="correct")  # type: ignore[arg-type]
    _, bad_rows = stated_rows(_record(bad), 0)
    _, good_rows = stated_rows(_record(good), 0)
    assert int(bad_rows[0]["cause"]) == Cause.OFF_BY_ONE
    assert (int(bad_rows[0]["value"]), int(bad_rows[0]["expected"])) == (0x0301, 0x0302)
    assert int(good_rows[0]["status"]) == Status.GOOD
    assert int(good_rows[0]["cause"]) == Cause.NONE
    assert int(good_rows[0]["expected"]) == 0xFF16


def test_udp_sum_ok_without_value_and_unverified_tcp() -> None:
    ends = {"ip_version": 4, "src": "10.0.0.1", "dst": "10.0.0.2"}
    udp = StatedFields(source_line=1, proto=17, ip_len=33, checksum_verdict="correct", **ends)  # type: ignore[arg-type]
    tcp = StatedFields(source_line=2, proto=6, ip_len=40, checksum=0x1234, **ends)  # type: ignore[arg-type]
    _, udp_rows = stated_rows(_record(udp), 0)
    _, tcp_rows = stated_rows(_record(tcp), 0)
    assert int(udp_rows[0]["status"]) == Status.GOOD and int(udp_rows[0]["value"]) == -1
    assert int(udp_rows[0]["l4_len"]) == 13
    assert int(tcp_rows[0]["status"]) == Status.UNVERIFIED
    assert int(tcp_rows[0]["value"]) == 0x1234 and int(tcp_rows[0]["expected"]) == -1


def test_packet_list_rows_flag_retransmissions(seeds_dir: Path) -> None:
    (path,) = seeds_dir.glob("002_*.txt")
    records = parse_text(str(path), path.read_text(encoding="utf-8"))
    flags = [int(stated_rows(r, 0)[0]["flags"]) for r in records]
    retrans = [
        r.index for r, f in zip(records, flags, strict=True) if f & FrameFlag.TEXT_RETRANSMISSION
    ]
    dup = [r.index for r, f in zip(records, flags, strict=True) if f & FrameFlag.TEXT_DUP_ACK]
    assert retrans == [6, 7, 9, 10, 11] and dup == [8]
    assert all(f & FrameFlag.TEXT_FIELDS for f in flags)
    frame, cks = stated_rows(records[4], 0)
    assert len(cks) == 0 and int(frame["n_cksum"]) == 0
    assert int(frame["tcp_flags"]) == 0x11 and int(frame["tcp_ack"]) == 2
    assert int(frame["wirelen"]) == 66 and int(frame["ip_len"]) == 0  # not stated
    assert int(frame["ts_ns"]) == 5_652_344_000


def test_record_without_stated_fields() -> None:
    record = Record(index=4, ts_ns=0, caplen=0, wirelen=0, linktype=int(LinkType.TEXT_FIELDS))
    frame, cks = stated_rows(record, 1)
    assert int(frame["frame"]) == 4 and int(frame["flags"]) == FrameFlag.TEXT_FIELDS
    assert int(frame["sport"]) == -1 and int(frame["ip_proto"]) == -1 and len(cks) == 0
