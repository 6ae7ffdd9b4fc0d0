"""Benchmark `wiredoctor diff` on two large captures of the same traffic, one router hop apart.

    python benchmarks/diff_bench.py [--packets 1000000] [--reps 3] [--markdown FILE]

Capture A is the generator's mix without checksum faults and without ARP (which no router
forwards), with a TCP handshake (SYN, SYN-ACK with MSS 1460) before each connection's first
segment, in place of the mix's last frames so that A holds exactly --packets frames. Capture B
is A one hop later, derived from A's bytes with numpy: new Ethernet addresses, IPv4 TTL − 1
with the header checksum updated, IPv6 hop limit − 1, the MSS of every SYN and SYN-ACK clamped
1460 → 1400 with the TCP checksum updated, 1% of the frames dropped, every timestamp 35 µs
later. Both go to benchmarks/data/ (git-ignored) with `diff-b-<n>.pcap.truth.json` beside B.
Then `wiredoctor diff A B --json` and the text report are timed as whole processes (medians,
peak RSS) and the JSON is checked against the truth.

Always holds: A and B are a function of (packets, seed); checksums are updated incrementally
(RFC 1624 eqn. 3), never recomputed from the whole packet, the way a router does it; every
number printed comes from this run on this machine.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numba
import numpy as np
import numpy.typing as npt

from gen_layers import eth, ipv4, ipv6, l4_slot, pseudo4, tcp
from gen_write import (
    I64,
    PCAP_RECORD_HEADER,
    U8,
    fold,
    pcap_header,
    put16,
    put32,
    row_sums,
    write_chunk,
)
from generate import TS_START_US, generate
from measure import Tool, interleave, machine, timed, warm_page_cache, wiredoctor_argv
from run import capture_name

HERE = Path(__file__).resolve().parent
PCAP_HEADER = len(pcap_header())
MSS_BEFORE, MSS_AFTER = 1460, 1400
DROP_RATE = 0.01
DELAY_US = 35
TRUTH_VERSION = 2  # truth files of another version are made again
HOP_SRC_MAC = 0x0200_0000_0B01  # the hop's egress port
HOP_DST_MAC = 0x0200_0000_0B02  # the next hop
SYN, ACK = 0x02, 0x10
# What Linux puts in a SYN (RFC 9293 §3.7.1, RFC 2018 §2, RFC 7323 §2-3): MSS, SACK-permitted,
# timestamps, NOP, window scale: 20 bytes, so a 40-byte TCP header. MSS comes first, so its
# value is the 16-bit word at TCP offset 22 — a word of the checksum (RFC 1071).
SYN_HDR = 40


# --- reading a pcap held in memory ------------------------------------------------------


@numba.njit(cache=True)
def _record_offsets(buf: U8, start: int, most: int) -> I64:  # pragma: no cover - numba
    out, count, at = np.empty(most, dtype=np.int64), 0, start
    while at + PCAP_RECORD_HEADER <= buf.shape[0] and count < most:
        out[count] = at
        count += 1
        at += PCAP_RECORD_HEADER + (
            buf[at + 8] | buf[at + 9] << 8 | buf[at + 10] << 16 | np.int64(buf[at + 11]) << 24
        )
    return out[:count]


def be16(buf: U8, at: I64) -> I64:
    """The big-endian 16-bit value at every offset `at` of a flat buffer."""
    return (buf[at].astype(np.int64) << 8) | buf[at + 1]


def set_be16(buf: U8, at: I64, values: I64) -> None:
    buf[at] = (values >> 8) & 0xFF
    buf[at + 1] = values & 0xFF


def le32(buf: U8, at: I64) -> I64:
    """The little-endian 32-bit value at every offset `at` (pcap record header fields)."""
    raw = buf[at[:, None] + np.arange(4)].astype(np.int64)
    le: I64 = (raw << np.arange(0, 32, 8)).sum(axis=1)
    return le


def set_le32(buf: U8, at: I64, values: I64) -> None:
    for k in range(4):
        buf[at + k] = (values >> (8 * k)) & 0xFF


@dataclass(frozen=True, slots=True, kw_only=True)
class Frames:
    """Where the headers of every frame of a pcap buffer are (offsets into the buffer)."""

    record: I64
    """Start of each record header."""
    l3: I64
    """Start of the IP header (after Ethernet and an 802.1Q tag, if any)."""
    version: I64
    """4, 6, or 0 for other EtherTypes."""
    proto: I64
    """IPv4 protocol / IPv6 next header (no extension headers in the mix)."""
    l4: I64
    """End of the IP header: where TCP, UDP or ICMP starts in a frame that is `whole`."""
    whole: npt.NDArray[np.bool_]
    """Not a later IPv4 fragment (fragment offset 0, RFC 791 §3.1): L4 headers are there."""

    def is_tcp(self) -> npt.NDArray[np.bool_]:
        tcp: npt.NDArray[np.bool_] = self.whole & (self.proto == 6) & (self.version > 0)
        return tcp


def parse(buf: U8) -> Frames:
    """Locate the headers of every frame of the pcap in `buf` (Ethernet, frames >= 60 bytes)."""
    record = _record_offsets(buf, PCAP_HEADER, buf.size // (PCAP_RECORD_HEADER + 60) + 1)
    data = record + PCAP_RECORD_HEADER
    l3 = data + np.where(be16(buf, data + 12) == 0x8100, 18, 14)  # IEEE 802.1Q tag
    ethertype = be16(buf, l3 - 2)
    version = np.select([ethertype == 0x0800, ethertype == 0x86DD], [4, 6], 0)
    v4 = version == 4
    return Frames(
        record=record,
        l3=l3,
        version=version,
        proto=np.where(v4, buf[l3 + 9], np.where(version == 6, buf[l3 + 6], 0)).astype(np.int64),
        l4=np.where(v4, l3 + (buf[l3] & 0x0F).astype(np.int64) * 4, l3 + 40),
        whole=~v4 | ((be16(buf, l3 + 6) & 0x1FFF) == 0),
    )


def flows(buf: U8, frames: Frames) -> tuple[I64, npt.NDArray[np.bool_]]:
    """A flow number per frame (both directions alike), and whether the source is its low end.

    A flow is (IP protocol, addresses, ports); ICMP echo uses its identifier as both ports and
    later fragments carry none — the flows `diff` counts losses in (diff/keys.py).
    """
    n = frames.record.size
    v4, whole, proto, l4 = frames.version == 4, frames.whole, frames.proto, frames.l4
    ported, echo = whole & ((proto == 6) | (proto == 17)), whole & (proto == 1)
    ends = np.zeros((2, n, 18), dtype=np.uint8)
    for side in (0, 1):
        addr = np.where(v4, frames.l3 + 12 + 4 * side, frames.l3 + 8 + 16 * side)
        ends[side, :, :16] = buf[addr[:, None] + np.arange(16)]
        ends[side, v4, 4:16] = 0
        port = np.select([ported, echo], [be16(buf, l4 + 2 * side), be16(buf, l4 + 4)])
        ends[side, :, 16], ends[side, :, 17] = port >> 8, port & 0xFF
    first = (ends[0] != ends[1]).argmax(axis=1)
    rows = np.arange(n)
    low = (ends[0, rows, first] <= ends[1, rows, first])[:, None]
    key = np.concatenate(
        [proto.astype(np.uint8)[:, None], np.where(low, ends[0], ends[1]),
         np.where(low, ends[1], ends[0])], axis=1,
    )  # fmt: skip
    _, flow = np.unique(key.view("V37").ravel(), return_inverse=True)
    return flow.astype(np.int64), low.ravel()


def incremental(checksum: I64, old: I64, new: I64) -> I64:
    """The checksum after one 16-bit word changes from `old` to `new` (RFC 1624 eqn. 3)."""
    total = (~checksum & 0xFFFF) + (~old & 0xFFFF) + new
    return ~fold(total).astype(np.int64) & 0xFFFF


# --- capture A ---------------------------------------------------------------------------


def _connections(buf: U8, frames: Frames) -> tuple[I64, npt.NDArray[np.bool_]]:
    """First frame of every TCP connection, in capture order, and whether a client sent it.

    The client is the end with the higher port (the servers of the mix listen on 443 and 80).
    """
    tcp_rows = np.flatnonzero(frames.is_tcp())
    flow, _ = flows(buf, frames)
    _, first = np.unique(flow[tcp_rows], return_index=True)
    rows = tcp_rows[np.sort(first)]
    return rows, be16(buf, frames.l4[rows]) > be16(buf, frames.l4[rows] + 2)


def _be32(buf: U8, at: I64) -> I64:
    return be16(buf, at) << 16 | be16(buf, at + 2)


def _mac(buf: U8, at: I64) -> I64:
    return be16(buf, at) << 32 | _be32(buf, at + 2)


def handshakes(buf: U8, frames: Frames, limit: int) -> tuple[bytes, int]:
    """pcap records of a SYN and SYN-ACK for (at most `limit`) connections of the capture.

    Addresses, ports, VLAN and initial sequence numbers come from each connection's first
    frame; the records end just before the generator's first timestamp.
    """
    first, from_client = (a[:limit] for a in _connections(buf, frames))
    n = first.size
    l3, l4 = frames.l3[first], frames.l4[first]
    cport_at, sport_at = l4 + 2 * ~from_client, l4 + 2 * from_client
    seq, ack = _be32(buf, l4 + 4), _be32(buf, l4 + 8)
    # The first segment seen carries the first byte after each side's SYN (RFC 9293 §3.4).
    isn_client = (np.where(from_client, seq, ack) - 1) & 0xFFFF_FFFF
    isn_server = (np.where(from_client, ack, seq) - 1) & 0xFFFF_FFFF
    data = frames.record[first] + PCAP_RECORD_HEADER
    mac_client = np.where(from_client, _mac(buf, data + 6), _mac(buf, data))
    mac_server = np.where(from_client, _mac(buf, data), _mac(buf, data + 6))
    version, tagged = frames.version[first], l3 - data == 18
    vlan = np.where(tagged, be16(buf, l3 - 4), -1)
    groups: list[tuple[U8, I64]] = []
    caplen = np.zeros(2 * n, dtype=np.int64)
    for ver, tag in sorted(set(zip(version.tolist(), vlan.tolist(), strict=True))):
        rows_of = np.flatnonzero((version == ver) & (vlan == tag))
        addr = 4 if ver == 4 else 16
        src_col = 12 if ver == 4 else 8
        at = l3[rows_of]
        ends = [buf[(at + src_col + k * addr)[:, None] + np.arange(addr)] for k in (0, 1)]
        client_addr = np.where(from_client[rows_of, None], ends[0], ends[1])
        server_addr = np.where(from_client[rows_of, None], ends[1], ends[0])
        ports = (be16(buf, cport_at[rows_of]), be16(buf, sport_at[rows_of]))
        macs = (mac_client[rows_of], mac_server[rows_of])
        addrs = (client_addr, server_addr)
        isns = (isn_client[rows_of], isn_server[rows_of])
        for side in (0, 1):  # 0: SYN client→server, 1: SYN-ACK server→client
            you = 1 - side
            rows = _syn_rows(
                ver,
                int(tag),
                macs=(macs[side], macs[you]),
                addrs=(addrs[side], addrs[you]),
                ports=(ports[side], ports[you]),
                seq=isns[side],
                ack=(isns[you] + 1) * side,
                flags=SYN | (ACK * side),
            )
            positions = 2 * rows_of + side
            groups.append((rows, positions))
            caplen[positions] = rows.shape[1]
    ts_us = TS_START_US - 2 * (2 * n - np.arange(2 * n, dtype=np.int64))  # 2 µs apart
    sink = io.BytesIO()
    write_chunk(sink, "pcap", groups, caplen, ts_us)
    return sink.getvalue(), 2 * n


def _syn_rows(
    ver: int,
    vlan: int,
    *,
    macs: tuple[I64, I64],
    addrs: tuple[U8, U8],
    ports: tuple[I64, I64],
    seq: I64,
    ack: I64,
    flags: int,
) -> U8:
    """SYN or SYN-ACK frames, one row per connection, with MSS 1460 and correct checksums."""
    n = seq.shape[0]
    l3 = 18 if vlan >= 0 else 14
    l3_len = 20 if ver == 4 else 40
    l4 = l3 + l3_len
    rows = np.zeros((n, l4 + SYN_HDR), dtype=np.uint8)
    eth(rows, macs[0], macs[1], 0x0800 if ver == 4 else 0x86DD, vlan)
    if ver == 4:
        src, dst = (_be32(a.ravel(), np.arange(0, a.size, 4)) for a in addrs)
        ident = ports[0] ^ (seq & 0xFFFF)
        ipv4(rows, l3, total=l3_len + SYN_HDR, ident=ident, frag=0x4000, ttl=64, proto=6,
             src=src, dst=dst)  # fmt: skip
        pseudo, _ = pseudo4(src, dst, 6, SYN_HDR)
    else:
        ipv6(rows, l3, plen=SYN_HDR, nh=6, src=addrs[0], dst=addrs[1], flow=ports[0])
        pair = row_sums(addrs[0], 0, 16) + row_sums(addrs[1], 0, 16)
        pseudo = fold(pair + 6 + SYN_HDR).astype(np.int64)  # RFC 8200 §8.1
    tcp(rows, l4, sport=ports[0], dport=ports[1], seq=seq, ack=ack, flags=flags, ts=None)
    put16(rows, l4 + 12, ((SYN_HDR // 4) << 12) | flags)
    put16(rows, l4 + 14, 64240)
    put32(rows, l4 + 20, 0x0204_0000 | MSS_BEFORE)  # MSS
    put32(rows, l4 + 24, 0x0402_080A)  # SACK permitted, then the timestamps option
    put32(rows, l4 + 28, seq >> 8)  # TSval: any clock value
    put32(rows, l4 + 32, 0)  # TSecr
    put32(rows, l4 + 36, 0x0103_0307)  # NOP, window scale 7
    l4_slot(rows, "tcp", l4, SYN_HDR, pseudo, None, ())
    return rows


def make_a(path: Path, packets: int, seed: int) -> U8:
    """Write capture A (exactly `packets` frames) and return its bytes."""
    with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
        raw = Path(tmp) / "mix.pcap"
        generate(raw, packets=packets, seed=seed, error_rate=0.0, exclude=("arp",))
        mix = np.fromfile(raw, dtype=np.uint8)
    frames = parse(mix)
    hs, count = handshakes(mix, frames, limit=packets // 4)
    cut = frames.record[packets - count] if count else mix.size
    out = np.concatenate(
        [mix[:PCAP_HEADER], np.frombuffer(hs, dtype=np.uint8), mix[PCAP_HEADER:cut]]
    )
    out.tofile(path)
    return out


# --- capture B ---------------------------------------------------------------------------


KIND_NAMES = ("other", "tcp", "tcp-syn", "udp", "icmp", "ipv4-fragment")


def _kinds(buf: U8, frames: Frames) -> I64:
    """Per frame, an index into KIND_NAMES (to tell which dropped packets a check missed)."""
    tcp, proto = frames.is_tcp(), frames.proto
    syn = tcp & ((buf[np.where(tcp, frames.l4, 0) + 13] & SYN) != 0)
    return np.select([~frames.whole, syn, tcp, proto == 17, proto == 1], [5, 2, 1, 3, 4], 0)


def _alone(buf: U8, frames: Frames, drop: I64) -> npt.NDArray[np.bool_]:
    """Which dropped frames have no frame of their flow (either direction) left in B."""
    flow, _ = flows(buf, frames)
    kept = np.ones(flow.size, dtype=bool)
    kept[drop] = False
    left = np.bincount(flow[kept], minlength=flow.max() + 1)
    return np.asarray(left[flow[drop]] == 0)


def make_b(buf: U8, path: Path, seed: int) -> dict[str, Any]:
    """Turn A's bytes (in place) into B one hop later, write it; returns the truth."""
    frames = parse(buf)
    n = frames.record.size
    data = frames.record + PCAP_RECORD_HEADER
    for at, mac in ((data, HOP_DST_MAC), (data + 6, HOP_SRC_MAC)):
        set_be16(buf, at, np.full(n, mac >> 32))
        set_be16(buf, at + 2, np.full(n, (mac >> 16) & 0xFFFF))
        set_be16(buf, at + 4, np.full(n, mac & 0xFFFF))
    v4, v6 = frames.version == 4, frames.version == 6
    # IPv4: TTL is the high byte of the word at offset 8; the checksum is at 10 (RFC 791 §3.1).
    ttl_word = frames.l3[v4] + 8
    old = be16(buf, ttl_word)
    set_be16(buf, frames.l3[v4] + 10, incremental(be16(buf, frames.l3[v4] + 10), old, old - 0x100))
    set_be16(buf, ttl_word, old - 0x100)
    buf[frames.l3[v6] + 7] -= 1  # hop limit: in no checksum (RFC 8200 §8.1)
    syn_rows = np.flatnonzero(frames.is_tcp())
    syn_rows = syn_rows[(buf[frames.l4[syn_rows] + 13] & SYN) != 0]
    at = frames.l4[syn_rows]
    clamp_rows = syn_rows[(be16(buf, at + 20) == 0x0204) & (be16(buf, at + 22) == MSS_BEFORE)]
    clamp = frames.l4[clamp_rows]
    before, after = np.full(clamp.size, MSS_BEFORE), np.full(clamp.size, MSS_AFTER)
    set_be16(buf, clamp + 16, incremental(be16(buf, clamp + 16), before, after))
    set_be16(buf, clamp + 22, after)
    usec = le32(buf, frames.record + 4) + DELAY_US
    carry = usec >= 1_000_000
    set_le32(buf, frames.record + 4, usec - 1_000_000 * carry)
    set_le32(buf, frames.record, le32(buf, frames.record) + carry)
    drop = np.sort(np.random.default_rng(seed).choice(n, size=round(n * DROP_RATE), replace=False))
    kinds, alone = _kinds(buf, frames), _alone(buf, frames, drop)
    ends = np.append(frames.record[1:], buf.size)
    with path.open("wb") as sink:
        sink.write(buf[:PCAP_HEADER].tobytes())
        start = PCAP_HEADER
        for row in drop.tolist():
            sink.write(buf[start : frames.record[row]].data)
            start = int(ends[row])
        sink.write(buf[start:].data)
    return {
        "version": TRUTH_VERSION,
        "seed": seed,
        "frames_a": n,
        "frames_b": n - drop.size,
        "ipv4": int(v4.sum()),
        "ipv6": int(v6.sum()),
        "dropped": (drop + 1).tolist(),
        "dropped_kinds": [KIND_NAMES[k] for k in kinds[drop].tolist()],
        "dropped_alone": (drop[alone] + 1).tolist(),
        "mss_clamped": (clamp_rows + 1).tolist(),
        "ipv6_frames": (np.flatnonzero(v6) + 1).tolist(),
        "delay_us": DELAY_US,
    }


# --- checking the diff against the truth -------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Check:
    """One expectation on the `diff --json` document."""

    name: str
    """What is expected."""
    ok: bool
    """Whether the document meets it."""
    detail: str
    """Expected and found, briefly."""


def _examples(frames: list[int]) -> str:
    return ", ".join(map(str, frames[:5])) + (" …" if len(frames) > 5 else "")


def check(doc: dict[str, Any], truth: dict[str, Any]) -> list[Check]:
    """Compare the diff of A and B with what was done to make B."""
    dropped, pairs = truth["dropped"], doc["pairs"]
    clamped, v6 = set(truth["mss_clamped"]) - set(dropped), set(truth["ipv6_frames"])
    lost, only_a, only_b = doc["lost"]["a_to_b"], doc["only_in_a"], doc["only_in_b"]
    # diff/lost.py: a packet whose flow was never seen at both points is not "lost".
    alone = set(truth["dropped_alone"])
    expect_lost = sorted(set(dropped) - alone)
    missed = sorted(set(expect_lost) - set(lost))
    kind_of = dict(zip(dropped, truth["dropped_kinds"], strict=True))
    a = np.fromiter((p["a"] for p in pairs), dtype=np.int64, count=len(pairs))
    b = np.fromiter((p["b"] for p in pairs), dtype=np.int64, count=len(pairs))
    mispaired = a[b != a - np.searchsorted(np.asarray(dropped, dtype=np.int64), a)].tolist()
    mss_ok, ttl_bad, fields_off, updates_off = 0, [], Counter[str](), Counter[str]()
    update_frames: list[int] = []
    for pair in pairs:
        frame, changes = pair["a"], {c["field"]: c for c in pair["changes"]}
        hop = "ipv6.hlim" if frame in v6 else "ip.ttl"
        expected = {"eth.src", "eth.dst", hop} | (set() if frame in v6 else {"ip.checksum"})
        want = {} if frame in v6 else {"ip": "correct"}
        if frame in clamped:
            expected |= {"tcp.options.mss_val", "tcp.checksum"}
            want["tcp"] = "correct"
            mss = changes.get("tcp.options.mss_val", {})
            mss_ok += (mss.get("a"), mss.get("b")) == (MSS_BEFORE, MSS_AFTER) and pair[
                "checksum_update"
            ].get("tcp") == "correct"
        ttl = changes.get(hop)
        if ttl is None or ttl["b"] != ttl["a"] - 1:
            ttl_bad.append(frame)
        fields_off.update(set(changes) ^ expected)
        got = {k: v for k, v in pair["checksum_update"].items() if v != "unchanged"}
        if got != want:
            updates_off.update(f"{k}: {v}" for k, v in got.items() if want.get(k) != v)
            update_frames.append(frame)
    expect_pairs = truth["frames_a"] - len(dropped)
    rows = [
        ("pairs = frames of A − dropped",
         len(pairs) == doc["summary"]["pairs"] == expect_pairs,
         f"expected {expect_pairs}, found {len(pairs)}"),
        ("only_in_a = the dropped frames, only_in_b empty",
         sorted(only_a) == dropped and not only_b,
         f"expected {len(dropped)} and 0, found {len(only_a)} and {len(only_b)}"),
        ("lost A→B = the dropped frames (less those whose flow has no packet in B)",
         sorted(lost) == expect_lost,
         f"expected {len(expect_lost)} ({len(dropped)} − {len(alone)} alone), found {len(lost)}; "
         f"not counted lost: {len(missed)} {dict(Counter(kind_of[f] for f in missed))} "
         f"(e.g. {_examples(missed)}); lost but not expected: "
         f"{_examples(sorted(set(lost) - set(expect_lost)))}"),
        ("every pair is A's frame and its own copy in B",
         not mispaired, f"{len(mispaired)} mispaired: {_examples(mispaired)}"),
        (f"every SYN/SYN-ACK pair: tcp.options.mss_val {MSS_BEFORE} → {MSS_AFTER}, "
         "checksum_update.tcp correct",
         mss_ok == len(clamped), f"expected {len(clamped)}, found {mss_ok}"),
        ("checksum_update: ip correct on IPv4 pairs, tcp correct on SYNs, "
         "no off-by-one / wrong / not-updated",
         not update_frames,
         f"{len(update_frames)} pairs off ({_examples(update_frames)}): {dict(updates_off)}"),
        ("ip.ttl (ipv6.hlim) − 1 on every pair",
         not ttl_bad, f"{len(ttl_bad)} pairs without it: {_examples(ttl_bad)}"),
        ("no other field reported changed, none missing",
         not fields_off, f"unexpected or missing (pairs): {dict(fields_off.most_common(5))}"),
    ]  # fmt: skip
    return [Check(name=name, ok=ok, detail=detail) for name, ok, detail in rows]


# --- running -----------------------------------------------------------------------------


def captures(data: Path, packets: int, seed: int) -> tuple[Path, Path, dict[str, Any]]:
    """A, B and the truth: made unless made before with the same packets and seed."""
    label = capture_name(packets, "pcap").removeprefix("bench-")
    path_a, path_b = data / f"diff-a-{label}", data / f"diff-b-{label}"
    truth_path = path_b.with_name(path_b.name + ".truth.json")
    if path_a.exists() and path_b.exists() and truth_path.exists():
        truth: dict[str, Any] = json.loads(truth_path.read_text())
        made_with = (truth["frames_a"], truth["seed"], truth.get("version"))
        if made_with == (packets, seed, TRUTH_VERSION):
            return path_a, path_b, truth
    start = time.perf_counter()
    print(f"generating {path_a.name} and {path_b.name} …", file=sys.stderr)
    data.mkdir(parents=True, exist_ok=True)
    buf = make_a(path_a, packets, seed)
    truth = make_b(buf, path_b, seed)
    truth_path.write_text(json.dumps(truth) + "\n")
    print(f"  {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return path_a, path_b, truth


def measure_diff(path_a: Path, path_b: Path, reps: int) -> dict[str, Any]:
    """Check one `diff --json` against the truth, then time both outputs interleaved."""
    wd = wiredoctor_argv()
    json_argv = [*wd, "diff", str(path_a), str(path_b), "--json"]
    for path in (path_a, path_b):
        warm_page_cache(path)
    out = path_b.with_name(path_b.name + ".diff.json")  # kept, to look into a failed check
    first = timed(json_argv, stdout=out)
    if first.status not in (0, 1) or first.crashed:
        raise RuntimeError(f"diff --json exited {first.status}:\n{first.stderr}")
    doc = json.loads(out.read_text())
    tools = [
        Tool(name="wiredoctor diff A B --json", argv=json_argv, ok=(0, 1)),
        Tool(name="wiredoctor diff A B", argv=json_argv[:-1], ok=(0, 1)),
    ]
    interleave(tools, reps)
    return {
        "doc": doc,
        "first_json_run": first.wall,
        "tools": {
            t.name: {"median": t.median, "runs": [r.wall for r in t.runs], "rss": t.peak_rss_mb}
            for t in tools
        },
    }


def table(
    path_a: Path, path_b: Path, truth: dict[str, Any], measured: dict[str, Any], checks: list[Check]
) -> str:
    """The markdown tables of one run."""
    summary = measured["doc"]["summary"]
    lines = [
        "| capture | frames | MB | SYN/SYN-ACK with MSS 1460 | dropped |",
        "|---|---:|---:|---:|---:|",
        f"| {path_a.name} (A) | {truth['frames_a']:,} | {path_a.stat().st_size / 1e6:.0f} "
        f"| {len(truth['mss_clamped']):,} | |",
        f"| {path_b.name} (B) | {truth['frames_b']:,} | {path_b.stat().st_size / 1e6:.0f} "
        f"| | {len(truth['dropped']):,} |",
        "",
        "| command | pairs | lost A→B | wall s (median) | runs s | peak RSS MiB |",
        "|---|---:|---:|---:|---|---:|",
    ]
    for name, t in measured["tools"].items():
        runs = ", ".join(f"{r:.1f}" for r in t["runs"])
        lines.append(
            f"| `{name} > /dev/null` | {summary['pairs']:,} | {summary['lost_a_to_b']:,} "
            f"| {t['median']:.1f} | {runs} | {t['rss']:.0f} |"
        )
    lines += ["", "| check | result | detail |", "|---|---|---|"]
    lines += [f"| {c.name} | {'ok' if c.ok else '**not ok**'} | {c.detail} |" for c in checks]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--packets", type=int, default=1_000_000, help="frames in capture A")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data", type=Path, default=HERE / "data")
    parser.add_argument("--markdown", type=Path, help="also write the tables here")
    args = parser.parse_args(argv)
    path_a, path_b, truth = captures(args.data, args.packets, args.seed)
    print("diff: checking the result, then timing …", file=sys.stderr)
    measured = measure_diff(path_a, path_b, args.reps)
    checks = check(measured["doc"], truth)
    text = table(path_a, path_b, truth, measured, checks)
    results = {
        "machine": machine(),
        "packets": args.packets,
        "reps": args.reps,
        "summary": measured["doc"]["summary"],
        "first_json_run": measured["first_json_run"],
        "tools": measured["tools"],
        "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in checks],
    }
    (args.data / "diff-results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(text)
    if args.markdown:
        args.markdown.write_text(text)
    return 0 if all(c.ok for c in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
