"""Table rows for text-only records: what tcpdump `-v` lines and packet lists state.

`stated_rows` turns a record whose `stated` is a `StatedFields` into one FRAME_DTYPE row and
its CHECKSUM_DTYPE rows, so the checks run on printed fields exactly as on decoded bytes.
The L4 checksum row takes its verdict from tcpdump's own words (`correct`, `incorrect ->
0x…`) and its pseudo-header sum from the printed addresses and lengths, which is enough to
name an offload artefact or an off-by-one update without a single packet byte.

Always holds: columns the text does not state keep their "absent" value (tables.py);
frame rows carry `FrameFlag.TEXT_FIELDS`, checksum rows `Note.FROM_TEXT`; nothing raises on
what the text says. Left for the caller: the frame row's `cksum_row` and `n_cksum` (where
the checksum rows land in the capture's table; `n_cksum` is set here to the number of rows
returned, `cksum_row` to 0), and the ordering of frames across the capture.
"""

from __future__ import annotations

import ipaddress

import numpy as np

from wiredoctor.capture.record import Record
from wiredoctor.capture.stated import StatedFields
from wiredoctor.checksum.arith import pseudo_header_sum_ipv4, pseudo_header_sum_ipv6
from wiredoctor.checksum.verdict import Cause, Note, Proto, Status, classify_cause
from wiredoctor.tables import FrameFlag, empty_checksums, empty_frames, ipv4_mapped, ipv6_halves

_L4_PROTO: dict[int, Proto] = {6: Proto.TCP, 17: Proto.UDP, 1: Proto.ICMP, 58: Proto.ICMPV6}
# Protocols whose checksum covers a pseudo-header (RFC 9293 §3.1, RFC 768, RFC 8200 §8.1).
_PSEUDO = frozenset({6, 17, 58})


def _address(text: str | None) -> tuple[int, bytes | None]:
    """(version, packed bytes) of a printed address; (0, None) when absent or unreadable."""
    if text is None:
        return 0, None
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return 0, None
    return address.version, address.packed


def _halves(packed: bytes) -> tuple[int, int]:
    return ipv4_mapped(packed) if len(packed) == 4 else ipv6_halves(packed)


def l4_length(stated: StatedFields) -> int | None:
    """Transport length from the printed IP length (IPv4 taken without options)."""
    if stated.ip_len is None:
        return None
    # tcpdump -v prints the IPv4 total length and no IHL; options would be printed as
    # `options (…)` — without them the header is the RFC 791 minimum of 20 bytes.
    header = 40 if stated.ip_version == 6 else 20
    length = stated.ip_len - header
    return length if length >= 0 else None


def _pseudo_sums(stated: StatedFields, length: int | None) -> tuple[int, int | None]:
    """(partial, partial without length) for this packet, (-1, None) when not computable."""
    if stated.proto not in _PSEUDO or length is None:
        return -1, None
    v_src, src = _address(stated.src)
    v_dst, dst = _address(stated.dst)
    if src is None or dst is None or v_src != v_dst:
        return -1, None
    proto = stated.proto if stated.proto is not None else 0
    if v_src == 4:
        return (
            pseudo_header_sum_ipv4(src, dst, proto, length),
            pseudo_header_sum_ipv4(src, dst, proto, 0),
        )
    return (
        pseudo_header_sum_ipv6(src, dst, proto, length),
        pseudo_header_sum_ipv6(src, dst, proto, 0),
    )


def _set(row: np.void, name: str, value: int | None) -> None:
    if value is not None:
        row[name] = value


def _frame_row(record: Record, stated: StatedFields, capture_index: int) -> np.void:
    row: np.void = empty_frames(1)[0]
    row["frame"] = record.index
    row["capture"] = capture_index
    row["iface"] = record.interface
    row["ts_ns"] = record.ts_ns
    row["caplen"] = 0
    row["wirelen"] = record.wirelen
    row["linktype"] = record.linktype
    row["direction"] = int(record.direction)
    flags = FrameFlag.TEXT_FIELDS
    if stated.retransmission:
        flags |= FrameFlag.TEXT_RETRANSMISSION
    if stated.dup_ack:
        flags |= FrameFlag.TEXT_DUP_ACK
    row["flags"] = int(flags)
    version, src = _address(stated.src)
    _, dst = _address(stated.dst)
    row["ip_version"] = stated.ip_version or version
    if src is not None:
        row["src_hi"], row["src_lo"] = _halves(src)
    if dst is not None:
        row["dst_hi"], row["dst_lo"] = _halves(dst)
    if stated.ip_len is not None:
        row["ip_len"] = stated.ip_len
        row["outer_ip_len"] = stated.ip_len
        row["ip_hdr_len"] = 40 if stated.ip_version == 6 else 20
    _set(row, "ip_id", stated.ip_id)
    _set(row, "ttl", stated.ttl)
    _set(row, "dsfield", stated.tos)
    if stated.df is not None:
        row["ip_flags"] = 1 if stated.df else 0
    _set(row, "ip_proto", stated.proto)
    _set(row, "sport", stated.sport)
    _set(row, "dport", stated.dport)
    if stated.proto == 6:
        _set(row, "tcp_seq", stated.seq)
        _set(row, "tcp_ack", stated.ack)
        _set(row, "tcp_flags", stated.tcp_flags)
        _set(row, "tcp_win", stated.window if stated.window is None else stated.window & 0xFFFF)
        _set(row, "tcp_mss", stated.mss)
        _set(row, "tcp_wscale", stated.wscale)
        row["tcp_sack_perm"] = 1 if stated.sack_perm else 0
        if stated.tsval is not None:
            row["tcp_has_ts"] = 1
            row["tcp_tsval"] = stated.tsval
            _set(row, "tcp_tsecr", stated.tsecr)
        length = l4_length(stated)
        if length is not None and stated.payload_len is not None:
            header = length - stated.payload_len
            if 20 <= header <= 60:
                row["tcp_hdr_len"] = header
    _set(row, "l4_payload_len", stated.payload_len)
    _set(row, "icmp_type", stated.icmp_type)
    _set(row, "icmp_code", stated.icmp_code)
    _set(row, "icmp_id", stated.icmp_id)
    _set(row, "icmp_seq", stated.icmp_seq)
    return row


def _checksum_rows(record: Record, stated: StatedFields, capture_index: int) -> np.ndarray:
    proto = _L4_PROTO.get(stated.proto) if stated.proto is not None else None
    if proto is None or (stated.checksum is None and stated.checksum_verdict is None):
        return empty_checksums(0)
    rows = empty_checksums(1)
    row = rows[0]
    row["frame"] = record.index
    row["capture"] = capture_index
    row["proto"] = int(proto)
    row["depth"] = 0
    row["note"] = int(Note.FROM_TEXT)
    length = l4_length(stated)
    if length is not None:
        row["l4_len"] = length
    partial, partial_nolen = _pseudo_sums(stated, length)
    row["partial"] = partial
    value = stated.checksum
    if value is not None:
        row["value"] = value
    if stated.checksum_verdict == "correct":
        row["status"] = int(Status.GOOD)
        if value is not None:
            row["expected"] = value
    elif stated.checksum_verdict == "incorrect":
        row["status"] = int(Status.BAD)
        expected = stated.checksum_expected
        if expected is not None:
            row["expected"] = expected
        if value is not None and expected is not None:
            row["cause"] = int(classify_cause(value, expected, partial, partial_nolen))
        else:
            row["cause"] = int(Cause.CORRUPT)
    else:
        row["status"] = int(Status.UNVERIFIED)
    return rows


def stated_rows(record: Record, capture_index: int) -> tuple[np.void, np.ndarray]:
    """One FRAME_DTYPE row and its CHECKSUM_DTYPE rows from a text-only record.

    A record without `StatedFields` (not text-only) gives a frame row with only the record
    columns and TEXT_FIELDS, and no checksum rows. The caller sets `cksum_row` (left 0) and
    may rely on `n_cksum` equalling the number of checksum rows returned.
    """
    stated = record.stated
    if not isinstance(stated, StatedFields):
        stated = StatedFields(source_line=0)
    frame = _frame_row(record, stated, capture_index)
    checksums = _checksum_rows(record, stated, capture_index)
    frame["cksum_row"] = 0
    frame["n_cksum"] = len(checksums)
    return frame, checksums
