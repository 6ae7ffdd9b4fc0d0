"""Building frame and checksum tables row by row for the checks' tests.

Rows are dicts of column values; `src`/`dst` take address text and `ts_ms` milliseconds.
Unset columns keep the tables' "absent" values.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any

import numpy as np

from wiredoctor.capture.record import LinkType
from wiredoctor.tables import CaptureTables, empty_checksums, empty_frames

BASE_NS = 1_700_000_000_000_000_000
FIN, SYN, RST, PSH, ACK = 1, 2, 4, 8, 16


def halves(text: str) -> tuple[int, int]:
    addr = ipaddress.ip_address(text)
    if addr.version == 4:
        return 0, 0xFFFF_0000_0000 | int(addr)
    return int(addr) >> 64, int(addr) & (2**64 - 1)


def tcp(src: str, dst: str, sport: int, dport: int, seq: int, ack: int, flags: int,
        payload: int = 0, win: int = 65535, **extra: Any) -> dict[str, Any]:  # fmt: skip
    row = {"src": src, "dst": dst, "ip_proto": 6, "sport": sport, "dport": dport,
           "tcp_seq": seq, "tcp_ack": ack, "tcp_flags": flags, "tcp_win": win,
           "tcp_hdr_len": 20, "l4_payload_len": payload, "l4_off": 34}  # fmt: skip
    row.update(extra)
    return row


def echo(
    src: str, dst: str, ident: int, seq: int, size: int, reply: bool = False
) -> dict[str, Any]:
    v6 = ":" in src
    kind = (129 if reply else 128) if v6 else (0 if reply else 8)
    return {"src": src, "dst": dst, "ip_proto": 58 if v6 else 1, "icmp_type": kind,
            "icmp_code": 0, "icmp_id": ident, "icmp_seq": seq,
            "ip_len": (40 if v6 else 20) + 8 + size}  # fmt: skip


def make_tables(
    rows: list[dict[str, Any]],
    checksums: list[dict[str, Any]] = (),  # type: ignore[assignment]
    *,
    read_frame: Callable[[int], bytes] | None = None,
    linktype: int = LinkType.ETHERNET,
) -> CaptureTables:
    frames = empty_frames(len(rows))
    for i, spec in enumerate(rows):
        spec = dict(spec)
        r = frames[i : i + 1]
        r["frame"] = spec.pop("frame", i + 1)
        r["ts_ns"] = BASE_NS + int(spec.pop("ts_ms", i) * 1_000_000)
        r["linktype"] = spec.pop("linktype", linktype)
        r["flags"] = spec.pop("frame_flags", 0)
        for side in ("src", "dst"):
            if side in spec:
                text = spec.pop(side)
                hi, lo = halves(text)
                r[f"{side}_hi"], r[f"{side}_lo"] = hi, lo
                r["ip_version"] = 6 if ":" in text else 4
        v6 = int(r["ip_version"][0]) == 6
        hdr = spec.pop("ip_hdr_len", (40 if v6 else 20) if r["ip_version"][0] else 0)
        r["ip_hdr_len"] = hdr
        if "ip_len" not in spec and r["ip_version"][0]:
            spec["ip_len"] = (
                hdr + spec.get("tcp_hdr_len", 0) + max(spec.get("l4_payload_len", 0), 0)
            )
        if r["ip_version"][0]:
            r["ip_off"] = 14
            r["l2_len"] = 14
        for key, value in spec.items():
            r[key] = value
        if "outer_ip_len" not in spec:
            r["outer_ip_len"] = r["ip_len"]
        if "wirelen" not in spec:
            r["wirelen"] = max(int(r["ip_len"][0]) + 14 + int(r["trailer_len"][0]), 60)
        if "caplen" not in spec:
            r["caplen"] = r["wirelen"]
    table = empty_checksums(len(checksums))
    for i, spec in enumerate(checksums):
        for key, value in spec.items():
            table[key][i] = value
    return CaptureTables(
        path="test.pcap", index=0, format="pcap", linktypes=[int(linktype)],
        frames=frames, checksums=table, read_frame=read_frame,
    )  # fmt: skip


def by_symbol(findings: list[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in findings:
        assert f.symbol not in out or f.symbol == "ping-size-threshold", f.symbol
        out.setdefault(f.symbol, f)
    return out


def handshake(client: str, server: str, cport: int, sport: int, cseq: int, sseq: int,
              t0: float = 0.0) -> list[dict[str, Any]]:  # fmt: skip
    return [
        tcp(client, server, cport, sport, cseq, 0, SYN, ts_ms=t0, tcp_mss=1460),
        tcp(server, client, sport, cport, sseq, cseq + 1, SYN | ACK, ts_ms=t0 + 1),
        tcp(client, server, cport, sport, cseq + 1, sseq + 1, ACK, ts_ms=t0 + 2),
    ]


__all__ = [
    "ACK",
    "FIN",
    "PSH",
    "RST",
    "SYN",
    "by_symbol",
    "echo",
    "handshake",
    "make_tables",
    "np",
    "tcp",
]  # fmt: skip
