"""Test helper: frame tables built from raw frames by a small independent decoder.

The diff reads only `tables.CaptureTables`; these tests build them from bytes they make
themselves (Ethernet with 802.1Q, Linux SLL, raw IP; IPv4/IPv6, IPIP/6in4 tunnels; TCP, UDP,
ICMP), with checksum rows verified by `wiredoctor.checksum`. `pcap_frames` reads a classic
pcap written by tcpdump so scenario tests can diff real captures the same way.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from wiredoctor.checksum import (
    Cause,
    Proto,
    Status,
    classify_cause,
    internet_checksum,
    pseudo_header_sum_ipv4,
    pseudo_header_sum_ipv6,
)
from wiredoctor.tables import CaptureTables, FrameFlag, empty_checksums, empty_frames

ETHERNET, RAW, LINUX_SLL = 1, 101, 113
Frame = tuple[int, bytes, int]  # (ts_ns, bytes, linktype)


def payload_hash(data: bytes) -> int:
    """The table's word-wise payload hash, written out again so the builder checks it."""
    if not data:
        return 0
    h = 0xCBF29CE484222325 ^ len(data)
    for at in range(0, len(data), 8):
        word = int.from_bytes(data[at : at + 8], "little")
        h = ((h ^ word) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
        h ^= h >> 29
    return h or 1


def _verdict(
    value: int, covered: bytes, field_at: int, initial: int, partial: int
) -> tuple[int, int, int]:
    zeroed = covered[:field_at] + b"\x00\x00" + covered[field_at + 2 :]
    expected = internet_checksum(zeroed, initial)
    if (
        value == expected
        or (value == 0xFFFF and expected == 0)
        or (value == 0 and expected == 0xFFFF)
    ):
        return Status.GOOD, Cause.NONE, expected
    return Status.BAD, classify_cause(value, expected, partial, None), expected


def _checksum_row(
    rows: list[dict[str, int]],
    frame: int,
    proto: Proto,
    depth: int,
    value: int,
    covered: bytes,
    field_at: int,
    initial: int,
    partial: int,
    field_off: int,
) -> None:
    status, cause, expected = _verdict(value, covered, field_at, initial, partial)
    rows.append(
        dict(
            frame=frame,
            proto=int(proto),
            depth=depth,
            status=int(status),
            cause=int(cause),
            value=value,
            expected=expected,
            partial=partial,
            field_off=field_off,
            l4_len=len(covered),
        )
    )


def _parse(row: np.void, data: bytes, linktype: int, frame: int, cks: list[dict[str, int]]) -> None:
    off = 0
    if linktype == ETHERNET:
        row["eth_dst"] = int.from_bytes(data[0:6], "big")
        row["eth_src"] = int.from_bytes(data[6:12], "big")
        ethertype = int.from_bytes(data[12:14], "big")
        off = 14
        while ethertype in (0x8100, 0x88A8):
            if row["vlan_depth"] == 0:
                row["vlan_id"] = int.from_bytes(data[off : off + 2], "big") & 0xFFF
            row["vlan_depth"] += 1
            ethertype = int.from_bytes(data[off + 2 : off + 4], "big")
            off += 4
    elif linktype == LINUX_SLL:
        row["sll_pkttype"] = int.from_bytes(data[0:2], "big")
        ethertype = int.from_bytes(data[14:16], "big")
        off = 16
    else:
        ethertype = 0x0800 if data[0] >> 4 == 4 else 0x86DD
    if ethertype not in (0x0800, 0x86DD):
        row["flags"] |= FrameFlag.NOT_IP
        return
    row["l2_len"] = off
    depth = {Proto.IPV4: 0, Proto.TCP: 0, Proto.UDP: 0, Proto.ICMP: 0}
    tunnel = -1
    while True:
        tunnel += 1
        version = data[off] >> 4
        if version == 4:
            ihl = (data[off] & 15) * 4
            hdr = data[off : off + ihl]
            total = int.from_bytes(hdr[2:4], "big")
            proto = hdr[9]
            src, dst = hdr[12:16], hdr[16:20]
            value = int.from_bytes(hdr[10:12], "big")
            _checksum_row(
                cks, frame, Proto.IPV4, depth[Proto.IPV4], value, hdr, 10, 0, -1, off + 10
            )
            depth[Proto.IPV4] += 1
            if proto in (4, 41):
                if tunnel == 0:
                    row["outer_ip_len"] = total
                off += ihl
                continue
            row["ip_version"], row["ip_off"], row["ip_len"], row["ip_hdr_len"] = 4, off, total, ihl
            row["ip_id"] = int.from_bytes(hdr[4:6], "big")
            row["ttl"], row["dsfield"] = hdr[8], hdr[1]
            flags = int.from_bytes(hdr[6:8], "big")
            row["ip_flags"] = (1 if flags & 0x4000 else 0) | (2 if flags & 0x2000 else 0)
            row["src_hi"], row["src_lo"] = 0, 0xFFFF_0000_0000 | int.from_bytes(src, "big")
            row["dst_hi"], row["dst_lo"] = 0, 0xFFFF_0000_0000 | int.from_bytes(dst, "big")
            l4, end = off + ihl, off + total
            pseudo = pseudo_header_sum_ipv4(src, dst, proto, total - ihl)
        else:
            hdr = data[off : off + 40]
            plen = int.from_bytes(hdr[4:6], "big")
            proto = hdr[6]
            src, dst = hdr[8:24], hdr[24:40]
            if proto in (4, 41):
                if tunnel == 0:
                    row["outer_ip_len"] = 40 + plen
                off += 40
                continue
            row["ip_version"], row["ip_off"], row["ip_len"], row["ip_hdr_len"] = (
                6,
                off,
                40 + plen,
                40,
            )
            row["ttl"] = hdr[7]
            row["dsfield"] = (int.from_bytes(hdr[0:2], "big") >> 4) & 0xFF
            row["src_hi"], row["src_lo"] = (
                int.from_bytes(src[:8], "big"),
                int.from_bytes(src[8:], "big"),
            )
            row["dst_hi"], row["dst_lo"] = (
                int.from_bytes(dst[:8], "big"),
                int.from_bytes(dst[8:], "big"),
            )
            l4, end = off + 40, off + 40 + plen
            pseudo = pseudo_header_sum_ipv6(src, dst, proto, plen)
        break
    row["tunnel_depth"] = tunnel
    row["ip_proto"] = proto
    row["l4_off"] = l4
    seg = data[l4:end]
    ip_end = end
    wire_end = len(data)
    if linktype == ETHERNET:
        pad_to = max(60, ip_end)
        row["pad_len"] = max(0, min(wire_end, 60) - ip_end)
        row["trailer_len"] = max(0, wire_end - pad_to)
    if proto == 6:
        row["sport"], row["dport"] = struct.unpack("!HH", seg[0:4])
        row["tcp_seq"], row["tcp_ack"] = struct.unpack("!II", seg[4:12])
        hl = (seg[12] >> 4) * 4
        row["tcp_hdr_len"] = hl
        row["tcp_flags"] = int.from_bytes(seg[12:14], "big") & 0xFFF
        row["tcp_win"] = int.from_bytes(seg[14:16], "big")
        i = 20
        while i < hl:
            kind = seg[i]
            if kind == 0:
                break
            if kind == 1:
                i += 1
                continue
            length = seg[i + 1]
            if kind == 2:
                row["tcp_mss"] = int.from_bytes(seg[i + 2 : i + 4], "big")
            elif kind == 3:
                row["tcp_wscale"] = seg[i + 2]
            elif kind == 4:
                row["tcp_sack_perm"] = 1
            elif kind == 8:
                row["tcp_has_ts"] = 1
                row["tcp_tsval"], row["tcp_tsecr"] = struct.unpack("!II", seg[i + 2 : i + 10])
            i += max(length, 2)
        payload = seg[hl:]
        value = int.from_bytes(seg[16:18], "big")
        _checksum_row(cks, frame, Proto.TCP, 0, value, seg, 16, pseudo, pseudo, l4 + 16)
    elif proto == 17:
        row["sport"], row["dport"] = struct.unpack("!HH", seg[0:4])
        payload = seg[8:]
        value = int.from_bytes(seg[6:8], "big")
        if value == 0 and row["ip_version"] == 4:
            cks.append(
                dict(
                    frame=frame,
                    proto=int(Proto.UDP),
                    depth=0,
                    status=int(Status.NOT_PRESENT),
                    cause=0,
                    value=0,
                    expected=-1,
                    partial=pseudo,
                    field_off=l4 + 6,
                    l4_len=len(seg),
                )
            )
        else:
            _checksum_row(cks, frame, Proto.UDP, 0, value, seg, 6, pseudo, pseudo, l4 + 6)
    elif proto == 1:
        row["icmp_type"], row["icmp_code"] = seg[0], seg[1]
        if seg[0] in (0, 8):
            row["icmp_id"], row["icmp_seq"] = struct.unpack("!HH", seg[4:8])
        payload = seg[8:]
        value = int.from_bytes(seg[2:4], "big")
        _checksum_row(cks, frame, Proto.ICMP, 0, value, seg, 2, 0, -1, l4 + 2)
    else:
        payload = seg
    row["l4_payload_len"] = len(payload)
    row["payload_hash"] = payload_hash(payload) if payload else 0


def build_tables(frames: list[Frame], path: str = "mem", index: int = 0) -> CaptureTables:
    """CaptureTables for `frames` (ts_ns, bytes, linktype), numbered from 1."""
    table = empty_frames(len(frames))
    cks: list[dict[str, int]] = []
    for n, (ts, data, linktype) in enumerate(frames):
        row = table[n]
        row["frame"], row["capture"], row["ts_ns"] = n + 1, index, ts
        row["caplen"] = row["wirelen"] = len(data)
        row["linktype"] = linktype
        start = len(cks)
        _parse(row, data, linktype, n + 1, cks)
        row["cksum_row"], row["n_cksum"] = start, len(cks) - start
    ck = empty_checksums(len(cks))
    for k, values in enumerate(cks):
        for name, value in values.items():
            ck[k][name] = value
    ck["capture"] = index
    store = [data for _, data, _ in frames]
    return CaptureTables(
        path=path,
        index=index,
        format="pcap",
        linktypes=sorted({lt for _, _, lt in frames}),
        frames=table,
        checksums=ck,
        read_frame=lambda number: store[number - 1],
    )


def pcap_frames(path: Path) -> list[Frame]:
    """Frames of a classic pcap file (either byte order, µs or ns timestamps)."""
    raw = path.read_bytes()
    magic = raw[:4]
    endian = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    linktype = struct.unpack(endian + "I", raw[20:24])[0] & 0xFFFFFFF
    out: list[Frame] = []
    off = 24
    while off + 16 <= len(raw):
        sec, frac, caplen, _wirelen = struct.unpack(endian + "IIII", raw[off : off + 16])
        data = raw[off + 16 : off + 16 + caplen]
        ts = sec * 1_000_000_000 + (frac if nano else frac * 1000)
        out.append((ts, data, linktype))
        off += 16 + caplen
    return out


def write_pcap(path: Path, frames: list[Frame]) -> None:
    """A classic µs pcap of `frames` (all must share one link type)."""
    linktype = frames[0][2] if frames else ETHERNET
    parts = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, linktype)]
    for ts, data, _ in frames:
        parts.append(
            struct.pack(
                "<IIII", ts // 1_000_000_000, (ts % 1_000_000_000) // 1000, len(data), len(data)
            )
        )
        parts.append(data)
    path.write_bytes(b"".join(parts))


# Packet makers: correct checksums unless told otherwise.


def _ip4(text: str) -> bytes:
    return bytes(int(x) for x in text.split("."))


def tcp_options(
    mss: int | None = None,
    wscale: int | None = None,
    sack_perm: bool = False,
    ts: tuple[int, int] | None = None,
) -> bytes:
    out = b""
    if mss is not None:
        out += struct.pack("!BBH", 2, 4, mss)
    if sack_perm:
        out += b"\x04\x02"
    if ts is not None:
        out += b"\x01\x01" + struct.pack("!BBII", 8, 10, *ts)
    if wscale is not None:
        out += b"\x01" + struct.pack("!BBB", 3, 3, wscale)
    while len(out) % 4:
        out += b"\x01"
    return out


def ipv4_tcp(
    src: str,
    dst: str,
    sport: int,
    dport: int,
    *,
    seq: int = 1000,
    ack: int = 0,
    flags: int = 0x10,
    win: int = 64240,
    options: bytes = b"",
    payload: bytes = b"",
    ttl: int = 64,
    ip_id: int = 1,
    tos: int = 0,
    df: bool = True,
) -> bytes:
    """An IPv4/TCP packet with correct checksums."""
    hl = 20 + len(options)
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, (hl // 4) << 4, flags, win, 0, 0)
    tcp += options + payload
    s, d = _ip4(src), _ip4(dst)
    csum = internet_checksum(tcp, pseudo_header_sum_ipv4(s, d, 6, len(tcp)))
    tcp = tcp[:16] + struct.pack("!H", csum) + tcp[18:]
    return _ipv4_header(s, d, 6, len(tcp), ttl, ip_id, tos, df) + tcp


def ipv4_udp(
    src: str, dst: str, sport: int, dport: int, payload: bytes, *, ttl: int = 64, ip_id: int = 1
) -> bytes:
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    s, d = _ip4(src), _ip4(dst)
    csum = internet_checksum(udp, pseudo_header_sum_ipv4(s, d, 17, len(udp))) or 0xFFFF
    udp = udp[:6] + struct.pack("!H", csum) + udp[8:]
    return _ipv4_header(s, d, 17, len(udp), ttl, ip_id, 0, True) + udp


def ipv4_icmp_echo(
    src: str,
    dst: str,
    ident: int,
    seq: int,
    payload: bytes,
    *,
    reply: bool = False,
    ttl: int = 64,
    ip_id: int = 1,
) -> bytes:
    icmp = struct.pack("!BBHHH", 0 if reply else 8, 0, 0, ident, seq) + payload
    icmp = icmp[:2] + struct.pack("!H", internet_checksum(icmp)) + icmp[4:]
    return _ipv4_header(_ip4(src), _ip4(dst), 1, len(icmp), ttl, ip_id, 0, False) + icmp


def _ipv4_header(
    s: bytes, d: bytes, proto: int, l4_len: int, ttl: int, ip_id: int, tos: int, df: bool
) -> bytes:
    hdr = struct.pack(
        "!BBHHHBBH4s4s", 0x45, tos, 20 + l4_len, ip_id, 0x4000 if df else 0, ttl, proto, 0, s, d
    )
    return hdr[:10] + struct.pack("!H", internet_checksum(hdr)) + hdr[12:]


def ether(
    ip: bytes,
    src: int = 0x020000000001,
    dst: int = 0x020000000002,
    vlan: int | None = None,
    trailer: bytes = b"",
) -> bytes:
    head = dst.to_bytes(6, "big") + src.to_bytes(6, "big")
    if vlan is not None:
        head += struct.pack("!HH", 0x8100, vlan)
    frame = head + b"\x08\x00" + ip
    if len(frame) < 60:
        frame += bytes(60 - len(frame))
    return frame + trailer


def sll(ip: bytes, pkttype: int = 0) -> bytes:
    return struct.pack("!HHH8sH", pkttype, 1, 6, bytes(8), 0x0800) + ip


def ipip(outer_src: str, outer_dst: str, inner: bytes, ttl: int = 64) -> bytes:
    return _ipv4_header(_ip4(outer_src), _ip4(outer_dst), 4, len(inner), ttl, 7, 0, True) + inner


def forward(ip: bytes, hops: int = 1) -> bytes:
    """The packet after `hops` routers: TTL lowered, IPv4 header checksum recomputed."""
    hdr = bytearray(ip[:20])
    hdr[8] -= hops
    hdr[10:12] = b"\x00\x00"
    hdr[10:12] = internet_checksum(bytes(hdr)).to_bytes(2, "big")
    return bytes(hdr) + ip[20:]


def set_tcp_checksum(ip: bytes, value: int) -> bytes:
    ihl = (ip[0] & 15) * 4
    return ip[: ihl + 16] + value.to_bytes(2, "big") + ip[ihl + 18 :]


def tcp_checksum(ip: bytes) -> int:
    ihl = (ip[0] & 15) * 4
    return int.from_bytes(ip[ihl + 16 : ihl + 18], "big")
