"""parse_text on every text form: tcpdump hex in all styles, -v lines, lists, offset dumps."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from wiredoctor.capture.record import LinkType, Record
from wiredoctor.capture.stated import StatedFields
from wiredoctor.checksum.arith import internet_checksum, pseudo_header_sum_ipv4
from wiredoctor.textio.parse import parse_text

SRC = bytes([192, 168, 1, 10])
DST = bytes([192, 168, 1, 64])  # 0x40 = "@" in the ASCII column


def _packet(payload: bytes, ident: int) -> bytes:
    tcp = bytearray(
        struct.pack("!HHIIBBHHH", 40000, 80, 1000 + ident, 0, 0x60, 0x18, 512, 0, 0)
        + b"\x02\x04\x05\xb4"
        + payload
    )
    pseudo = pseudo_header_sum_ipv4(SRC, DST, 6, len(tcp))
    tcp[16:18] = internet_checksum(tcp, pseudo).to_bytes(2, "big")
    ip = bytearray(
        struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), ident, 0x4000, 64, 6, 0, SRC, DST)
    )
    ip[10:12] = internet_checksum(ip).to_bytes(2, "big")
    return bytes(ip + tcp)


ETH = bytes.fromhex("00163e11223300163e4455660800")
PACKETS = [_packet(b"GET / HTTP/1.0 @home\r\n", 1), _packet(b"x", 2), _packet(b"", 3)]
# Gaps of 0.4 s then 0.1 s: -ttt deltas then go down, which is how they are told apart from
# -ttttt (time since the first packet, always growing); a growing run of deltas is ambiguous.
TIMES = [(1700000000, 123456), (1700000000, 523456), (1700000000, 623456)]


def _pcap(path: Path, frames: list[bytes], linktype: int) -> None:
    out = bytearray(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, linktype))
    for (sec, usec), frame in zip(TIMES, frames, strict=True):
        out += struct.pack("<IIII", sec, usec, len(frame), len(frame)) + frame
    path.write_bytes(bytes(out))


def _tcpdump(path: Path, *flags: str) -> str:
    tcpdump = shutil.which("tcpdump")
    if tcpdump is None:
        pytest.skip("tcpdump is not installed")
    done = subprocess.run(
        [tcpdump, "-n", "-r", str(path), *flags],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
        env={"TZ": "UTC", "PATH": "/usr/bin:/bin"},
    )
    return done.stdout


@pytest.mark.parametrize("hex_flag", ["-x", "-X"])
@pytest.mark.parametrize("time_flag", [None, "-t", "-tt", "-ttt", "-tttt", "-ttttt"])
def test_tcpdump_hex_raw_ip(tmp_path: Path, hex_flag: str, time_flag: str | None) -> None:
    capture = tmp_path / "c.pcap"
    _pcap(capture, [ETH + p for p in PACKETS], 1)
    flags = [hex_flag, "-vv"] + ([time_flag] if time_flag else [])
    records = parse_text("t.txt", _tcpdump(capture, *flags))
    assert [r.data for r in records] == PACKETS  # -x/-X print from the IP header
    assert all(r.linktype == LinkType.RAW for r in records)
    assert [r.index for r in records] == [1, 2, 3]
    stamps = [r.ts_ns for r in records]
    assert stamps == sorted(stamps) and len(set(stamps)) == 3
    if time_flag in ("-tt", "-tttt"):
        assert stamps == [s * 10**9 + u * 1000 for s, u in TIMES]
    if time_flag in (None, "-ttt", "-ttttt"):
        # Time of day or delta: the gaps between packets are the real ones.
        assert stamps[1] - stamps[0] == 400_000_000
        assert stamps[2] - stamps[1] == 100_000_000


@pytest.mark.parametrize("hex_flag", ["-xx", "-XX"])
@pytest.mark.parametrize("link_flag", [None, "-e"])
def test_tcpdump_hex_with_link_header(tmp_path: Path, hex_flag: str, link_flag: str | None) -> None:
    capture = tmp_path / "c.pcap"
    frames = [ETH + p for p in PACKETS]
    _pcap(capture, frames, 1)
    flags = [hex_flag, "-tt"] + ([link_flag] if link_flag else [])
    records = parse_text("t.txt", _tcpdump(capture, *flags))
    assert [r.data for r in records] == frames
    assert all(r.linktype == LinkType.ETHERNET for r in records)
    assert [r.wirelen for r in records] == [len(f) for f in frames]


def test_tcpdump_linux_cooked_any(tmp_path: Path) -> None:
    capture = tmp_path / "c.pcap"
    sll = bytes.fromhex("00000001000600163e11223300000800")
    frames = [sll + p for p in PACKETS]
    _pcap(capture, frames, 113)
    records = parse_text("t.txt", _tcpdump(capture, "-XX"))
    assert [r.data for r in records] == frames
    assert all(r.linktype == LinkType.LINUX_SLL for r in records)


def _mail(text: str) -> str:
    """What a mail archive does: quote, collapse spacing, rewrite @ and wrap long lines."""
    out: list[str] = []
    for line in text.splitlines():
        line = " ".join(line.split()).replace("@", " at ")
        while len(line) > 60:
            cut = line.rfind(" ", 0, 60)
            if cut <= 0:
                break
            out.append("> " + line[:cut])
            line = line[cut + 1 :]
        out.append("> " + line)
    return "\n".join(out)


def test_mail_munged_quoted_wrapped_hex(tmp_path: Path) -> None:
    capture = tmp_path / "c.pcap"
    _pcap(capture, [ETH + p for p in PACKETS], 1)
    text = _tcpdump(capture, "-X", "-vv", "-tttt")
    munged = "Here is what I saw:\n\n" + _mail(text) + "\n\nThanks, someone at example.org\n"
    assert " at " in munged
    records = parse_text("mail.txt", munged)
    assert [r.data for r in records] == PACKETS
    assert records[0].ts_ns == 1700000000_123456000
    assert records[0].comment == "line 3"


def _hex_lines(data: bytes, offsets: range | list[int]) -> str:
    """tcpdump -x lines for the 16-byte rows of `data` that start at `offsets`."""
    return "".join(
        f"0x{o:04x}:  "
        + " ".join(data[i : i + 2].hex() for i in range(o, min(o + 16, len(data)), 2))
        + "\n"
        for o in offsets
    )


def test_hex_stops_at_a_gap_and_keeps_whole_lines() -> None:
    packet = PACKETS[0]  # 66 bytes: rows at 0x00 … 0x40
    (record,) = parse_text("t.txt", _hex_lines(packet, [0, 16, 48, 64]))  # 0x20 lost
    assert record.data == packet[:32]
    assert record.linktype == LinkType.RAW
    assert record.caplen == 32 and record.wirelen == len(packet)  # the IP length says so


def test_odd_length_last_group() -> None:
    text = "0x0000:  4500 0015 0000 0000 4011 0000 0a00 0001\n0x0010:  0a00 0002 ab   E....\n"
    (record,) = parse_text("t.txt", text)
    assert record.data[-1] == 0xAB and len(record.data) == 21


def test_ascii_column_that_looks_like_hex() -> None:
    # The last line has 2 groups; its ASCII column ("beef" is what 6265 6566 prints as)
    # reads like two more groups and must not be taken as data.
    header = bytearray.fromhex("4500001400000000401100000a000001") + b"beef"
    header[10:12] = internet_checksum(header).to_bytes(2, "big")
    text = _hex_lines(bytes(header), [0]).rstrip("\n") + "  E...........\n"
    (record,) = parse_text("t.txt", text + "0x0010:  6265 6566  beef\n")
    assert record.data[16:] == b"beef"
    (record,) = parse_text("t.txt", text + "0x0010: 6265 6566 beef\n")  # spacing collapsed
    assert record.data[16:] == b"beef"
    (record,) = parse_text("t.txt", text + "0x0010:  6265 6566 beaf\n")
    assert record.data[16:] == b"beef\xbe\xaf"  # "beaf" is not their ASCII: -x data


def test_text2pcap_offset_dump() -> None:
    frame = ETH + PACKETS[1]
    lines = []
    for off in range(0, len(frame), 16):
        chunk = frame[off : off + 16]
        lines.append(f"{off:06x}  " + " ".join(f"{b:02x}" for b in chunk))
    text = "\n".join(lines) + "\n" + "\n".join(lines).replace("  00 16 3e 11", "  00 16 3e 11")
    records = parse_text("d.txt", text)
    assert [r.data for r in records] == [frame, frame]
    assert records[0].linktype == LinkType.ETHERNET
    assert records[1].comment == f"line {len(lines) + 1}"


def test_wireshark_hex_dump_with_ascii() -> None:
    frame = PACKETS[0]
    lines = []
    for off in range(0, len(frame), 16):
        chunk = frame[off : off + 16]
        ascii_col = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{off:04x}   " + " ".join(f"{b:02x}" for b in chunk) + "   " + ascii_col)
    (record,) = parse_text("d.txt", "\n".join(lines))
    assert record.data == frame and record.linktype == LinkType.RAW


def test_verbose_lines_without_hex() -> None:
    text = (
        "12:00:01.000001 IP (tos 0x10, ttl 61, id 4242, offset 0, flags [none], proto UDP (17),"
        " length 33)\n    10.1.1.1.5353 > 10.1.1.2.53: [bad udp cksum 0x1234 -> 0x5678!] UDP,"
        " length 5\n"
        "12:00:01.000002 IP6 (hlim 64, next-header TCP (6) payload length: 32) 2001:db8::1.443 >"
        " 2001:db8::2.50000: Flags [F.], cksum 0xb611 (correct), seq 1, ack 1, win 218,"
        " options [nop,nop,TS val 406530 ecr 818869008], length 0\n"
        "12:00:01.000003 IP 10.1.1.2 > 10.1.1.1: ICMP echo reply, id 77, seq 3, length 64\n"
    )
    udp, tcp6, icmp = (r.stated for r in parse_text("v.txt", text))
    assert isinstance(udp, StatedFields) and isinstance(tcp6, StatedFields)
    assert isinstance(icmp, StatedFields)
    assert (udp.proto, udp.ip_len, udp.tos, udp.ttl, udp.ip_id, udp.df) == (
        17,
        33,
        16,
        61,
        4242,
        False,
    )
    assert (udp.checksum, udp.checksum_verdict, udp.checksum_expected) == (
        0x1234,
        "incorrect",
        0x5678,
    )
    assert (udp.sport, udp.dport, udp.payload_len) == (5353, 53, 5)
    assert (tcp6.ip_version, tcp6.ip_len, tcp6.src, tcp6.dport) == (6, 72, "2001:db8::1", 50000)
    assert (tcp6.tcp_flags, tcp6.checksum_verdict, tcp6.tsval) == (0x11, "correct", 406530)
    assert (icmp.proto, icmp.icmp_type, icmp.icmp_id, icmp.icmp_seq) == (1, 0, 77, 3)


def test_tcpdump_relative_sequence_numbers_are_marked() -> None:
    text = (
        "IP 10.0.0.1.1000 > 10.0.0.2.80: Flags [S], seq 3000000000, win 100, length 0\n"
        "IP 10.0.0.2.80 > 10.0.0.1.1000: Flags [S.], seq 7000, ack 3000000001, win 100, length 0\n"
        "IP 10.0.0.1.1000 > 10.0.0.2.80: Flags [.], ack 1, win 100, length 0\n"
        "IP 10.0.0.1.1000 > 10.0.0.2.80: Flags [P.], seq 1:11, ack 1, win 100, length 10\n"
    )
    stated = [r.stated for r in parse_text("r.txt", text)]
    assert [s.relative_seq for s in stated if isinstance(s, StatedFields)] == [
        False,
        False,
        True,
        True,
    ]
    assert [r.ts_ns for r in parse_text("r.txt", text)] == [0, 1000, 2000, 3000]


def test_wireshark_csv_list_and_no_packets() -> None:
    text = (
        '"No.","Time","Source","Destination","Protocol","Length","Info"\n'
        '"1","0.000000","10.0.0.1","10.0.0.2","TCP","66","1000 → 80 [SYN] Seq=0 Win=64240 Len=0'
        ' MSS=1460 WS=128 SACK_PERM"\n'
    )
    (record,) = parse_text("l.csv", text)
    stated = record.stated
    assert isinstance(stated, StatedFields)
    assert (stated.tcp_flags, stated.mss, stated.wscale, stated.sack_perm) == (2, 1460, 7, True)
    assert stated.relative_seq and record.wirelen == 66
    assert parse_text("prose.txt", "Nothing to see here.\n0x is not hex\n> quoted\n") == []
    assert parse_text("empty.txt", "") == []


def test_mixed_text_keeps_order() -> None:
    text = (
        "No.\tTime\tSource\tDestination\tProtocol\tLength\tInfo\n"
        "1\t0.5\t10.0.0.1\t10.0.0.2\tTCP\t60\t1 → 2 [ACK] Seq=1 Ack=1 Win=5 Len=0\n"
        "and then the dump:\n"
        + "".join(
            f"0x{off:04x}:  "
            + " ".join(PACKETS[2][i : i + 2].hex() for i in range(off, min(off + 16, 44), 2))
            + "\n"
            for off in range(0, 44, 16)
        )
    )
    first, second = parse_text("m.txt", text)
    assert first.linktype == LinkType.TEXT_FIELDS and first.data == b""
    assert second.linktype == LinkType.RAW
    assert second.data == PACKETS[2]


# The seed reports: real text as it was posted.


def _seed(seeds_dir: Path, prefix: str) -> list[Record]:
    (path,) = seeds_dir.glob(f"{prefix}_*.txt")
    return parse_text(str(path), path.read_text(encoding="utf-8"))


def test_seed_004_hex_dumps(seeds_dir: Path) -> None:
    records = _seed(seeds_dir, "004")
    assert len(records) == 4
    assert all(r.linktype == LinkType.RAW and r.caplen == 60 == r.wirelen for r in records)
    checksums = [int.from_bytes(r.data[36:38], "big") for r in records]
    assert checksums == [0xE771, 0x0301, 0x0300, 0xFF16]
    mss = [int.from_bytes(r.data[42:44], "big") for r in records]
    assert mss == [8961, 1405, 1405, 1405]
    assert records[0].ts_ns == 1441798933_076518000  # 2015-09-09 11:42:13.076518 UTC
    assert [r.comment for r in records] == ["line 18", "line 29", "line 50", "line 60"]


def test_seed_000_verbose_lines(seeds_dir: Path) -> None:
    syn, synack = _seed(seeds_dir, "000")
    for record in (syn, synack):
        assert record.linktype == LinkType.TEXT_FIELDS and record.data == b""
    s, a = syn.stated, synack.stated
    assert isinstance(s, StatedFields) and isinstance(a, StatedFields)
    assert (s.src, s.sport, s.dst, s.dport) == ("10.0.0.240", 56791, "10.0.41.3", 22)
    assert (s.ip_len, s.ip_id, s.ttl, s.tos, s.df, s.proto) == (60, 53611, 64, 0, True, 6)
    assert (s.tcp_flags, s.seq, s.ack, s.window) == (0x02, 2650163743, None, 14600)
    assert (s.mss, s.sack_perm, s.tsval, s.tsecr, s.wscale) == (1460, True, 28089204, 0, 6)
    assert (s.checksum, s.checksum_verdict, s.checksum_expected) == (0x3E21, "incorrect", 0x6DE2)
    assert (a.src, a.sport, a.dst, a.dport, a.ip_id) == ("10.0.41.3", 22, "10.0.0.240", 56791, 0)
    assert (a.tcp_flags, a.seq, a.ack, a.window) == (0x12, 1530502549, 3098447117, 14480)
    assert (a.checksum, a.checksum_expected, a.tsecr, a.wscale) == (0x3E21, 0xE5C5, 28089204, 3)
    assert synack.ts_ns - syn.ts_ns == 45_495_000


def test_seed_002_packet_list(seeds_dir: Path) -> None:
    records = _seed(seeds_dir, "002")
    assert len(records) == 11
    stated = [r.stated for r in records]
    assert all(isinstance(s, StatedFields) for s in stated)
    fields = [s for s in stated if isinstance(s, StatedFields)]
    retransmitted = [r.index for r, s in zip(records, fields, strict=True) if s.retransmission]
    assert retransmitted == [6, 7, 9, 10, 11]
    assert [r.index for r, s in zip(records, fields, strict=True) if s.dup_ack] == [8]
    assert records[9].comment.endswith("No. 12")
    synack = fields[1]
    assert (synack.tcp_flags, synack.seq, synack.ack, synack.mss) == (0x12, 0, 1, 1360)
    assert synack.relative_seq
    assert fields[3].tcp_flags == 0x11 and fields[3].sport == 41967
    assert records[10].ts_ns == 7_413_872_000


def test_seeds_without_packets(seeds_dir: Path) -> None:
    assert _seed(seeds_dir, "001") == []
    assert _seed(seeds_dir, "003") == []


# tcpdump's own -vv text for the whole corpus: the verdicts read back must be tcpdump's.
# Known gaps: L2TP's `{IP6 (…)}` inner packets, an MPLS line before the IP line (the IP line
# then stands alone), hex dumps of embedded packets inside a -vv decode.
ORACLE_GAPS = {
    "dpkt__nb6-http.pcap",
    "zeek__mixed-vlan-mpls.pcap",
    "wireshark-wiki__attachment_SLL_Simple.pcap",
}


@pytest.mark.corpus
@pytest.mark.slow
def test_tcpdump_oracle_text_verdicts(corpus_dir: Path) -> None:
    import csv

    with open(corpus_dir / "oracle" / "summary.csv", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["capture"] != "TOTAL"]
    assert len(rows) > 100
    wrong: list[str] = []
    for row in rows:
        if row["capture"] in ORACLE_GAPS:
            continue
        text = (corpus_dir / "oracle" / "tcpdump" / f"{row['capture']}.txt").read_text(
            encoding="utf-8", errors="replace"
        )
        records = parse_text(row["capture"], text)
        stated = [r.stated for r in records if isinstance(r.stated, StatedFields)]
        verdicts = [s.checksum_verdict for s in stated if s.proto == 6]
        got = (verdicts.count("incorrect"), verdicts.count("correct"))
        expected = (int(row["tcpdump_pkts_incorrect"]), int(row["tcpdump_pkts_correct"]))
        if got != expected or len(records) > int(row["packets_tcpdump"]):
            wrong.append(f"{row['capture']}: {got} != {expected}")
        if any(r.data for r in records):
            wrong.append(f"{row['capture']}: an option hex dump taken for a packet")
    assert wrong == []
