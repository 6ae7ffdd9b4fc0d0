"""open_capture: recognition by content, compression, stdin, text hand-off and errors."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest
import zstandard

from capture.packing import PCAP_NS, PcapRecord, epb, frame, idb, pcap_file, shb
from wiredoctor.capture.open import EXPECTED, NO_PACKETS_IN_TEXT, open_capture
from wiredoctor.capture.record import LinkType, Record
from wiredoctor.errors import InputError

PCAP = pcap_file([PcapRecord(1, 5, frame(i, 40 + i)) for i in range(1, 6)], magic=PCAP_NS)
PCAPNG = shb() + idb(tsresol=9) + b"".join(epb(units=i, data=frame(i)) for i in range(1, 4))


def summary(path: str) -> tuple[str, str | None, list[tuple[int, int, bytes]], list[str]]:
    with open_capture(path) as source:
        rows = [(r.index, r.ts_ns, r.data) for r in source.records()]
        return source.format, source.compression, rows, list(source.warnings)


PCAP_ROWS = [(i, 10**9 + 5, frame(i, 40 + i)) for i in range(1, 6)]
PCAPNG_ROWS = [(i, i, frame(i)) for i in range(1, 4)]


@pytest.mark.parametrize("name", ["a.pcapng", "a.txt", "noext", "a.pcap.gz"])
def test_the_name_never_decides(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(PCAP)
    assert summary(str(path)) == ("pcap", None, PCAP_ROWS, [])


@pytest.mark.parametrize(
    ("compress", "kind"),
    [
        (gzip.compress, "gzip"),
        (lambda raw: gzip.compress(raw[:100]) + gzip.compress(raw[100:]), "gzip"),
        (lambda raw: zstandard.ZstdCompressor().compress(raw), "zstd"),
        (
            lambda raw: (
                zstandard.ZstdCompressor().compress(raw[:70])
                + zstandard.ZstdCompressor().compress(raw[70:])
            ),
            "zstd",
        ),
    ],
    ids=["gzip", "gzip-two-members", "zstd", "zstd-two-frames"],
)
@pytest.mark.parametrize("inner", ["pcap", "pcapng"])
def test_compressed_inputs(tmp_path: Path, compress: object, kind: str, inner: str) -> None:
    raw = PCAP if inner == "pcap" else PCAPNG
    path = tmp_path / "c.bin"
    path.write_bytes(compress(raw))  # type: ignore[operator]
    fmt, compression, rows, warnings = summary(str(path))
    assert (fmt, compression, warnings) == (inner, kind, [])
    assert rows == (PCAP_ROWS if inner == "pcap" else PCAPNG_ROWS)
    with open_capture(str(path)) as source:
        # Offsets are in the decompressed stream, and read_frame serves them.
        for record in source.records():
            assert record.data == raw[record.file_offset : record.file_offset + record.caplen]
            assert source.read_frame(record.file_offset, record.caplen) == record.data


@pytest.mark.parametrize("kind", ["gzip", "zstd"])
def test_compressed_stream_cut_short_keeps_what_it_can(tmp_path: Path, kind: str) -> None:
    big = pcap_file([PcapRecord(1, 0, os.urandom(1000)) for _ in range(200)])
    packed = gzip.compress(big) if kind == "gzip" else zstandard.ZstdCompressor().compress(big)
    path = tmp_path / "cut.bin"
    path.write_bytes(packed[: len(packed) * 3 // 4])
    with open_capture(str(path)) as source:
        records = list(source.records())
        warnings = list(source.warnings)
    assert source.compression == kind
    assert len(records) < 200
    assert [r.data for r in records] == [big[r.file_offset : r.file_offset + 1000] for r in records]
    assert warnings[0].startswith(f"{path}: {kind} stream ended early after ")
    if records:
        assert "cut short at byte" in warnings[-1]


def test_corrupt_gzip_is_a_warning_not_a_crash(tmp_path: Path) -> None:
    packed = bytearray(gzip.compress(PCAP * 50))
    packed[40:60] = b"\xff" * 20
    path = tmp_path / "bad.gz"
    path.write_bytes(bytes(packed))
    try:
        with open_capture(str(path)) as source:
            list(source.records())
            assert any("gzip" in w for w in source.warnings)
    except InputError as problem:
        # Nothing usable came out: then it is not a capture.
        assert problem.offset == 0


def test_stdin_through_a_pipe(tmp_path: Path) -> None:
    code = (
        "from wiredoctor.capture.open import open_capture\n"
        "with open_capture('-') as s:\n"
        "    rs = list(s.records())\n"
        "    print(s.format, s.compression, len(rs), rs[-1].ts_ns, rs[-1].caplen, s.warnings)\n"
    )
    for payload, expected in (
        (PCAP, "pcap None 5 1000000005 45 []"),
        (gzip.compress(PCAPNG), "pcapng gzip 3 3 60 []"),
    ):
        done = subprocess.run(
            [sys.executable, "-c", code], input=payload, capture_output=True, timeout=120
        )
        assert done.returncode == 0, done.stderr.decode()
        assert done.stdout.decode().strip() == expected


def test_stdin_redirected_from_a_file_is_mapped_in_place(tmp_path: Path) -> None:
    path = tmp_path / "in.pcap"
    path.write_bytes(PCAP)
    code = (
        "from wiredoctor.capture.open import open_capture\n"
        "with open_capture('-') as s:\n"
        "    print(len(list(s.records())), s.format)\n"
    )
    with path.open("rb") as handle:
        done = subprocess.run(
            [sys.executable, "-c", code], stdin=handle, capture_output=True, timeout=120
        )
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().split() == ["5", "pcap"]


@pytest.mark.parametrize("kind", ["gzip", "zstd", None])
def test_stdin_in_memory(monkeypatch: pytest.MonkeyPatch, kind: str | None) -> None:
    payload = {
        "gzip": gzip.compress(PCAP),
        "zstd": zstandard.ZstdCompressor().compress(PCAP),
        None: PCAP,
    }[kind]
    monkeypatch.setattr(sys, "stdin", types.SimpleNamespace(buffer=io.BytesIO(payload)))
    assert summary("-") == ("pcap", kind, PCAP_ROWS, [])


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.pcap"
    path.write_bytes(b"")
    with pytest.raises(InputError) as caught:
        open_capture(str(path))
    assert (caught.value.expected, caught.value.offset) == ("empty file", 0)


def test_empty_after_decompression(tmp_path: Path) -> None:
    path = tmp_path / "empty.gz"
    path.write_bytes(gzip.compress(b""))
    with pytest.raises(InputError, match="empty file"):
        open_capture(str(path))


@pytest.mark.parametrize(
    "content",
    [
        bytes(range(256)) * 4,
        b"\x7fELF\x02\x01\x01" + b"\x00" * 100,
        b"\n\r\r\n" + b"\x00\xff" * 20,  # pcapng's first bytes without a byte-order magic
    ],
    ids=["bytes", "elf", "not-quite-pcapng"],
)
def test_binary_that_is_no_capture(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "junk"
    path.write_bytes(content)
    with pytest.raises(InputError) as caught:
        open_capture(str(path))
    assert (caught.value.expected, caught.value.offset) == (EXPECTED, 0)
    assert str(caught.value) == f"{path}: at byte 0: {EXPECTED}"


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot open"):
        open_capture(str(tmp_path / "nope.pcap"))
    with pytest.raises(InputError, match="cannot open"):
        open_capture(str(tmp_path))


def _fake_parser(monkeypatch: pytest.MonkeyPatch, result: list[Record]) -> list[str]:
    seen: list[str] = []
    module = types.ModuleType("wiredoctor.textio.parse")

    def parse_text(path: str, text: str) -> list[Record]:
        seen.append(text)
        return result

    module.parse_text = parse_text  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "wiredoctor.textio.parse", module)
    return seen


def test_text_goes_to_the_text_parser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parsed = [
        Record(index=7, ts_ns=1, caplen=4, wirelen=4, linktype=101, data=b"\x45\x00\x00\x04"),
        Record(index=9, ts_ns=2, caplen=0, wirelen=0, linktype=LinkType.TEXT_FIELDS, comment="x"),
        Record(index=11, ts_ns=3, caplen=2, wirelen=9, linktype=101, data=b"\x60\x00"),
    ]
    seen = _fake_parser(monkeypatch, parsed)
    path = tmp_path / "paste.txt"
    text = "12:00:00.000000 IP 10.0.0.1 > 10.0.0.2: ICMP echo request, length 64 — ok\n"
    path.write_bytes(gzip.compress(text.encode("utf-8")))
    with open_capture(str(path)) as source:
        assert (source.format, source.compression) == ("text", "gzip")
        records = list(source.records())
        batches = list(source.batches())
        assert [r.index for r in records] == [1, 2, 3]
        assert [r.file_offset for r in records] == [0, -1, 4]
        assert source.read_frame(4, 2) == b"\x60\x00"
        assert records[1].comment == "x"
    assert seen == [text]
    (batch,) = batches
    assert batch.first_frame == 1 and list(batch.caplen) == [4, 0, 2]
    assert [batch.frame_bytes(i) for i in range(3)] == [r.data for r in records]
    assert batch.comment(1) == "x"


def test_latin1_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = _fake_parser(
        monkeypatch, [Record(index=1, ts_ns=0, caplen=1, wirelen=1, linktype=101, data=b"E")]
    )
    path = tmp_path / "latin1.txt"
    path.write_bytes("caf\xe9 0x0000: 4500\n".encode("latin-1"))
    with open_capture(str(path)) as source:
        assert source.format == "text"
    assert seen == ["caf\xe9 0x0000: 4500\n"]


def test_text_nobody_understands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_parser(monkeypatch, [])
    path = tmp_path / "prose.txt"
    path.write_text("Dear list, my network is slow.\n")
    with pytest.raises(InputError) as caught:
        open_capture(str(path))
    assert (caught.value.expected, caught.value.offset) == (NO_PACKETS_IN_TEXT, 0)


def test_text_without_a_parser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "wiredoctor.textio.parse", None)
    path = tmp_path / "dump.txt"
    path.write_text("0x0000:  4500 0054 0000 4000 4001 0000 0a00 0001\n")
    with pytest.raises(InputError) as caught:
        open_capture(str(path))
    assert caught.value.expected == EXPECTED


def test_input_is_never_modified_and_close_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "ro.pcap"
    path.write_bytes(PCAP)
    path.chmod(0o444)
    before = (hashlib.sha256(PCAP).hexdigest(), path.stat().st_mtime_ns)
    source = open_capture(str(path))
    records = list(source.records())
    assert source.read_frame(records[2].file_offset, records[2].caplen) == frame(3, 43)
    source.close()
    source.close()
    assert source.closed
    with pytest.raises(InputError, match="closed"):
        source.read_frame(records[2].file_offset, records[2].caplen)
    with pytest.raises(InputError, match="closed"):
        list(source.records())
    assert (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns) == before


def test_read_frame_outside_the_stream(tmp_path: Path) -> None:
    path = tmp_path / "x.pcap"
    path.write_bytes(PCAP)
    with open_capture(str(path)) as source:
        with pytest.raises(InputError) as caught:
            source.read_frame(len(PCAP) - 10, 50)
        assert caught.value.offset == len(PCAP) - 10
        with pytest.raises(InputError):
            source.read_frame(-1, 5)
        assert source.read_frame(0, 0) == b""
