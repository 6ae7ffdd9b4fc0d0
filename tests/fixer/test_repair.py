"""fix_capture on captures built here: offload artefacts, tunnels, SRH, trailers, pcapng."""

from __future__ import annotations

import gzip
import hashlib
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from wiredoctor.capture.record import LinkType
from wiredoctor.checksum.arith import (
    internet_checksum,
    pseudo_header_sum_ipv4,
    pseudo_header_sum_ipv6,
)
from wiredoctor.checksum.verdict import Cause, Proto, Status
from wiredoctor.errors import InputError, UsageError
from wiredoctor.fixer import fix_capture, fix_frame, occurrences
from wiredoctor.fixer.container import load_container

A4, B4 = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])
A6, B6, C6 = (bytes.fromhex("20010db8" + "0" * 23 + str(n)) for n in (1, 2, 3))
ETH4 = bytes.fromhex("0200000000020200000000010800")
ETH6 = bytes.fromhex("02000000000202000000000186dd")


def _ipv4(src: bytes, dst: bytes, proto: int, payload: bytes) -> bytes:
    header = bytearray(
        struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 9, 0x4000, 64, proto, 0, src, dst)
    )
    header[10:12] = internet_checksum(header).to_bytes(2, "big")
    return bytes(header) + payload


def _ipv6(src: bytes, dst: bytes, next_header: int, payload: bytes) -> bytes:
    return struct.pack("!IHBB16s16s", 6 << 28, len(payload), next_header, 64, src, dst) + payload


def _l4(kind: str, pseudo: int, body: bytes, *, mode: str) -> bytes:
    """A TCP or UDP segment whose checksum is right, the partial sum, or corrupt."""
    if kind == "tcp":
        segment = bytearray(
            struct.pack("!HHIIBBHHH", 40000, 443, 7, 9, 0x60, 0x18, 900, 0, 0)
            + b"\x02\x04\x05\xb4"
            + body
        )
        field = 16
    else:
        segment = bytearray(struct.pack("!HHHH", 40000, 53, 8 + len(body), 0) + body)
        field = 6
    right = internet_checksum(segment, pseudo) or (0xFFFF if kind == "udp" else 0)
    value = {"right": right, "partial": pseudo, "corrupt": right ^ 0x0F0F}[mode]
    segment[field : field + 2] = value.to_bytes(2, "big")
    return bytes(segment)


def _v4(kind: str, body: bytes, mode: str, src: bytes = A4, dst: bytes = B4) -> bytes:
    proto = 6 if kind == "tcp" else 17
    length = (24 if kind == "tcp" else 8) + len(body)
    segment = _l4(kind, pseudo_header_sum_ipv4(src, dst, proto, length), body, mode=mode)
    return _ipv4(src, dst, proto, segment)


def _v6(kind: str, body: bytes, mode: str) -> bytes:
    proto = 6 if kind == "tcp" else 17
    length = (24 if kind == "tcp" else 8) + len(body)
    segment = _l4(kind, pseudo_header_sum_ipv6(A6, B6, proto, length), body, mode=mode)
    return _ipv6(A6, B6, proto, segment)


def _srh_partial() -> bytes:
    # SRv6 inline: the sender summed over the final destination C6, the packet is now
    # addressed to B6 with one segment left (RFC 8754; RFC 8200 §8.1).
    srh = bytes([6, 4, 4, 1, 1, 0, 0, 0]) + C6 + B6
    segment = _l4("tcp", pseudo_header_sum_ipv6(A6, C6, 6, 26), b"hi", mode="partial")
    return _ipv6(A6, B6, 43, srh + segment)


def _vxlan(inner_mode: str, outer_mode: str) -> bytes:
    inner = ETH4 + _v4("tcp", b"inner payload", inner_mode, src=bytes([192, 168, 0, 1]))
    vxlan = struct.pack("!BBHI", 0x08, 0, 0, 42 << 8) + inner
    udp = bytearray(struct.pack("!HHHH", 51000, 4789, 8 + len(vxlan), 0) + vxlan)
    pseudo = pseudo_header_sum_ipv4(A4, B4, 17, len(udp))
    value = pseudo if outer_mode == "partial" else internet_checksum(udp, pseudo)
    udp[6:8] = value.to_bytes(2, "big")
    return _ipv4(A4, B4, 17, bytes(udp))


FRAMES = [
    ETH4 + _v4("tcp", b"hello, world", "partial"),
    ETH4 + _v4("udp", b"query", "partial"),
    ETH6 + _v6("tcp", b"six", "partial"),
    ETH6 + _v6("udp", b"", "partial"),
    ETH4 + _v4("tcp", b"fine", "right"),
    ETH4 + _vxlan("partial", "partial"),
    ETH6 + _srh_partial(),
    ETH4 + _v4("tcp", b"damaged", "corrupt"),
    ETH4 + _v4("tcp", b"abcd", "right") + b"\xaa\xbb",  # 2-byte trailer after 62 bytes
]
CORRUPT_FRAME = 8


def _pcap(path: Path, frames: list[bytes]) -> bytes:
    out = bytearray(struct.pack("<IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 65535, 1))
    for n, frame in enumerate(frames):
        out += struct.pack("<IIII", 1_700_000_000 + n, 999_999_999 - n, len(frame), len(frame))
        out += frame
    path.write_bytes(bytes(out))
    return bytes(out)


def _block(block_type: int, body: bytes) -> bytes:
    return struct.pack("<II", block_type, 12 + len(body)) + body + struct.pack("<I", 12 + len(body))


def _option(code: int, value: bytes) -> bytes:
    return struct.pack("<HH", code, len(value)) + value + b"\x00" * (-len(value) % 4)


def _pcapng(path: Path, frames: list[bytes]) -> bytes:
    comment = _option(1, b"built in a test") + _option(0, b"")
    out = bytearray(_block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, 0) + comment))
    out += _block(1, struct.pack("<HHI", 1, 0, 65535) + _option(9, b"\x09") + _option(0, b""))
    for n, frame in enumerate(frames):
        ts = 1_700_000_000_000_000_000 + n
        options = _option(1, f"frame {n + 1}".encode()) + _option(0, b"")
        padded = frame + b"\x00" * (-len(frame) % 4)
        header = struct.pack("<IIIII", 0, ts >> 32, ts & 0xFFFFFFFF, len(frame), len(frame))
        out += _block(6, header + padded + options)
    section_length = len(out) - 28 - len(comment)
    out[16:24] = struct.pack("<q", section_length)
    path.write_bytes(bytes(out))
    return bytes(out)


def _tshark_bad(path: Path) -> list[str]:
    tshark = shutil.which("tshark")
    if tshark is None:
        pytest.skip("tshark is not installed")
    done = subprocess.run(
        [
            tshark,
            "-r",
            str(path),
            "-o",
            "tcp.check_checksum:TRUE",
            "-o",
            "udp.check_checksum:TRUE",
            "-o",
            "ip.check_checksum:TRUE",
            "-Y",
            "tcp.checksum.status==0||udp.checksum.status==0||ip.checksum.status==0",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.splitlines()


def _statuses(raw: bytes) -> list[list[tuple[Proto, int, Status]]]:
    container = load_container(raw)
    assert container is not None
    return [
        [(o.proto, o.depth, o.status) for o in occurrences(container.frame(slot), slot.linktype)]
        for slot in container.slots
    ]


def test_built_capture_has_the_intended_artefacts() -> None:
    bad = {
        n + 1: {(p, d): s for p, d, s in sites}
        for n, sites in enumerate(_statuses(_pcap_bytes(FRAMES)))
    }
    assert bad[1][(Proto.TCP, 0)] == Status.BAD and bad[5][(Proto.TCP, 0)] == Status.GOOD
    assert bad[6][(Proto.UDP, 0)] == Status.BAD and bad[6][(Proto.TCP, 0)] == Status.BAD
    assert bad[6][(Proto.IPV4, 1)] == Status.GOOD
    assert bad[7][(Proto.TCP, 0)] == Status.BAD
    srh = occurrences(FRAMES[6], LinkType.ETHERNET)
    assert [o.cause for o in srh] == [Cause.OFFLOAD_PARTIAL]


def _pcap_bytes(frames: list[bytes]) -> bytes:
    out = bytearray(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    for frame in frames:
        out += struct.pack("<IIII", 0, 0, len(frame), len(frame)) + frame
    return bytes(out)


@pytest.mark.parametrize("fmt", ["pcap", "pcapng"])
def test_fix_all_makes_every_checksum_good(tmp_path: Path, fmt: str) -> None:
    src = tmp_path / f"in.{fmt}"
    original = (_pcap if fmt == "pcap" else _pcapng)(src, FRAMES)
    out = tmp_path / f"out.{fmt}"
    report = fix_capture(str(src), str(out))
    assert src.read_bytes() == original  # never modified
    fixed = out.read_bytes()
    assert len(fixed) == len(original)
    assert all(s == Status.GOOD for sites in _statuses(fixed) for _, _, s in sites)
    assert _tshark_bad(out) == []
    # Byte-identical outside the fields the report names.
    container = load_container(original)
    assert container is not None
    changed: set[int] = set()
    for change in report.changes:
        slot = container.slots[change.frame - 1]
        changed |= {slot.data_off + change.field_off, slot.data_off + change.field_off + 1}
        assert fixed[slot.data_off + change.field_off : slot.data_off + change.field_off + 2] == (
            change.new.to_bytes(2, "big")
        )
        assert original[
            slot.data_off + change.field_off : slot.data_off + change.field_off + 2
        ] == (change.old.to_bytes(2, "big"))
    differing = {i for i, (a, b) in enumerate(zip(original, fixed, strict=True)) if a != b}
    assert differing <= changed and differing
    by_frame = {(c.frame, c.proto, c.depth): c.cause for c in report.changes}
    assert by_frame == {
        (1, "tcp", 0): "offload-partial",
        (2, "udp", 0): "offload-partial",
        (3, "tcp", 0): "offload-partial",
        (4, "udp", 0): "offload-partial",
        (6, "tcp", 0): "offload-partial",  # the inner segment, fixed first
        (6, "udp", 0): "offload-partial",  # then the VXLAN UDP that covers it
        (7, "tcp", 0): "offload-partial",  # summed over the SRH final destination
        (8, "tcp", 0): "corrupt",
    }
    assert report.format == fmt and report.frames == len(FRAMES) and report.left_bad == 0
    assert report.frames_changed == (1, 2, 3, 4, 6, 7, 8)


def test_fix_only_offload_leaves_corruption(tmp_path: Path) -> None:
    src, out = tmp_path / "in.pcap", tmp_path / "out.pcap"
    _pcap(src, FRAMES)
    report = fix_capture(str(src), str(out), only="offload")
    assert CORRUPT_FRAME not in report.frames_changed and report.left_bad == 1
    assert {c.cause for c in report.changes} == {"offload-partial"}
    assert len(_tshark_bad(out)) == 1  # frame 8, and only it
    statuses = _statuses(out.read_bytes())
    assert [s for _, _, s in statuses[CORRUPT_FRAME - 1]] == [Status.GOOD, Status.BAD]


def test_outer_checksum_follows_an_inner_fix_even_with_only_offload() -> None:
    # Outer VXLAN UDP checksum right for the bytes as captured; inner TCP a partial sum.
    frame = ETH4 + _vxlan("partial", "right")
    fixed, changed, left = fix_frame(frame, LinkType.ETHERNET, only="offload")
    assert left == 0
    assert [(s.proto, s.depth, s.status) for s in changed] == [
        (Proto.UDP, 0, Status.GOOD),
        (Proto.TCP, 0, Status.BAD),
    ]
    assert all(o.status == Status.GOOD for o in occurrences(fixed, LinkType.ETHERNET))


@pytest.mark.parametrize("fmt", ["pcap", "pcapng"])
def test_strip_trailers(tmp_path: Path, fmt: str) -> None:
    src, out = tmp_path / f"in.{fmt}", tmp_path / f"out.{fmt}"
    (_pcap if fmt == "pcap" else _pcapng)(src, FRAMES)
    report = fix_capture(str(src), str(out), strip_trailers=True)
    assert [(t.frame, t.removed, t.hex) for t in report.trailers] == [(9, 2, "aabb")]
    container = load_container(out.read_bytes())
    assert container is not None and len(container.slots) == len(FRAMES)
    last = container.slots[-1]
    assert container.frame(last) == FRAMES[-1][:-2] and last.wirelen == len(FRAMES[-1]) - 2
    if shutil.which("tshark"):
        assert _tshark_bad(out) == []
        fields = subprocess.run(
            ["tshark", "-r", str(out), "-T", "fields", "-e", "frame.len", "-e", "frame.comment"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout.splitlines()
        assert fields[-1].split("\t")[0] == str(len(FRAMES[-1]) - 2)
        if fmt == "pcapng":
            assert fields[-1].split("\t")[1] == "frame 9"
    if fmt == "pcapng":
        raw = out.read_bytes()
        section_length = struct.unpack("<q", raw[16:24])[0]
        shb_len = struct.unpack("<I", raw[4:8])[0]
        assert section_length == len(raw) - shb_len


def test_minimum_size_padding_is_not_a_trailer() -> None:
    from wiredoctor.fixer.repair import trailer_length

    short = ETH4 + _v4("tcp", b"", "right")  # 58 bytes: 2 bytes of padding to 60
    assert trailer_length(short + b"\x00\x00", LinkType.ETHERNET) == 0
    assert trailer_length(short + b"\x00\x00\xde\xad", LinkType.ETHERNET) == 2
    assert trailer_length(_v4("tcp", b"", "right") + b"zz", LinkType.RAW) == 0


def test_refuses_to_overwrite_the_input(tmp_path: Path) -> None:
    src = tmp_path / "in.pcap"
    original = _pcap(src, FRAMES)
    with pytest.raises(UsageError):
        fix_capture(str(src), str(src))
    with pytest.raises(UsageError):
        fix_capture(str(src), str(tmp_path / "." / "in.pcap"))
    assert hashlib.sha256(src.read_bytes()).digest() == hashlib.sha256(original).digest()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.pcap"]


def test_gzip_input_and_bad_input(tmp_path: Path) -> None:
    raw = _pcap_bytes(FRAMES[:2])
    src = tmp_path / "in.pcap.gz"
    src.write_bytes(gzip.compress(raw))
    report = fix_capture(str(src), str(tmp_path / "out.pcap"))
    assert report.compression == "gzip" and len(report.changes) == 2
    assert (tmp_path / "out.pcap").read_bytes()[:4] == raw[:4]
    junk = tmp_path / "notes.txt"
    junk.write_text("not a capture\n")
    with pytest.raises(InputError):
        fix_capture(str(junk), str(tmp_path / "x.pcap"))
    with pytest.raises(InputError):
        fix_capture(str(tmp_path / "missing.pcap"), str(tmp_path / "y.pcap"))
    assert not (tmp_path / "x.pcap").exists()


def test_truncated_file_tail_is_kept(tmp_path: Path) -> None:
    raw = _pcap_bytes(FRAMES[:2]) + b"\x00\x01\x02"  # a record header cut short
    src = tmp_path / "in.pcap"
    src.write_bytes(raw)
    fix_capture(str(src), str(tmp_path / "out.pcap"))
    fixed = (tmp_path / "out.pcap").read_bytes()
    assert len(fixed) == len(raw) and fixed.endswith(b"\x00\x01\x02")


def _project_rows(path: Path) -> list[tuple[int, int, int, int, int, int, int]]:
    from wiredoctor.pipeline import load_capture

    tables = load_capture(str(path), 0)
    columns = ("frame", "proto", "depth", "status", "cause", "field_off", "expected")
    return sorted(tuple(int(row[c]) for c in columns) for row in tables.checksums)  # type: ignore[misc]


def test_fast_path_agrees_before_and_after(tmp_path: Path) -> None:
    src, out = tmp_path / "in.pcap", tmp_path / "out.pcap"
    raw = _pcap(src, FRAMES)
    container = load_container(raw)
    assert container is not None
    reference = sorted(
        (slot.index, int(o.proto), o.depth, int(o.status), int(o.cause), o.field_off, o.expected)
        for slot in container.slots
        for o in occurrences(container.frame(slot), slot.linktype)
    )
    assert reference == _project_rows(src)
    fix_capture(str(src), str(out))
    assert {row[3] for row in _project_rows(out)} == {int(Status.GOOD)}
