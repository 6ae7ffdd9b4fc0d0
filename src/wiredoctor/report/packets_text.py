"""Human output of `packets`: one compact tcpdump-like line per frame with its verdicts.

Always holds: bad checksums are always shown with value, expected value and cause; good ones
only with `--all`.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from wiredoctor.checksum.verdict import CAUSE_NAMES, PROTO_NAMES, STATUS_NAMES, Status
from wiredoctor.tables import CaptureTables, FrameFlag, address_text

_L4_NAMES = {6: "TCP", 17: "UDP", 136: "UDP-Lite", 1: "ICMP", 58: "ICMPv6", 2: "IGMP", 47: "GRE"}
_TCP_FLAGS = ((2, "S"), (1, "F"), (4, "R"), (8, "P"), (32, "U"), (16, "."))


def _tcp_flags(bits: int) -> str:
    return "".join(ch for bit, ch in _TCP_FLAGS if bits & bit) or "none"


def frame_summary(row: np.void) -> str:
    """`10.0.0.1.5000 > 10.0.0.2.80 TCP [S] len 60` style description of the innermost IP."""
    if int(row["ip_version"]) == 0:
        return "not IP" if int(row["flags"]) & FrameFlag.NOT_IP else "undecoded"
    src = address_text(int(row["src_hi"]), int(row["src_lo"]))
    dst = address_text(int(row["dst_hi"]), int(row["dst_lo"]))
    proto = int(row["ip_proto"])
    name = _L4_NAMES.get(proto, f"proto {proto}")
    if int(row["sport"]) >= 0:
        src = f"{src}.{int(row['sport'])}"
        dst = f"{dst}.{int(row['dport'])}"
    extra = f" [{_tcp_flags(int(row['tcp_flags']))}]" if proto == 6 else ""
    if int(row["icmp_type"]) >= 0:
        extra = f" type {int(row['icmp_type'])} code {int(row['icmp_code'])}"
    tunnel = f" (tunnel depth {int(row['tunnel_depth'])})" if int(row["tunnel_depth"]) else ""
    return f"{src} > {dst} {name}{extra} length {int(row['ip_len'])}{tunnel}"


def packet_lines(tables: CaptureTables, *, show_all: bool) -> Iterator[str]:
    """Lines for frames with a bad checksum (or every frame with `show_all`)."""
    frames = tables.frames
    checksums = tables.checksums
    for i in range(len(frames)):
        row = frames[i]
        start = int(row["cksum_row"])
        rows = checksums[start : start + int(row["n_cksum"])]
        bad = rows["status"] == Status.BAD
        if not show_all and not bad.any():
            continue
        verdicts = []
        for c in rows:
            name = PROTO_NAMES[int(c["proto"])]
            if int(c["depth"]):
                name += f"[{int(c['depth'])}]"
            status = STATUS_NAMES[int(c["status"])]
            if int(c["status"]) == Status.BAD:
                cause = CAUSE_NAMES[int(c["cause"])]
                status = (
                    f"BAD 0x{int(c['value']):04x} (should be 0x{int(c['expected']):04x}, {cause})"
                )
            verdicts.append(f"{name} {status}")
        text = "; ".join(verdicts) if verdicts else "no checksums"
        yield f"{int(row['frame']):>7} {frame_summary(row)}  {text}"
