"""`wiredoctor import` and `wiredoctor fix` run in-process through the real entry point."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from wiredoctor.capture.open import open_capture
from wiredoctor.capture.record import LinkType, Record
from wiredoctor.checksum.arith import internet_checksum, pseudo_header_sum_ipv4
from wiredoctor.cli import main
from wiredoctor.decode.verify import verify_records
from wiredoctor.textio.parse import parse_text

Run = Callable[..., int]


@pytest.fixture
def run() -> Run:
    """`main(args)`, as the console script runs it."""

    def invoke(*args: str) -> int:
        return main(list(args))

    return invoke


def _seed(seeds_dir: Path, prefix: str) -> Path:
    (path,) = seeds_dir.glob(f"{prefix}_*.txt")
    return path


def _tshark(path: Path, *fields: str) -> list[list[str]]:
    tshark = shutil.which("tshark")
    if tshark is None:
        pytest.skip("tshark is not installed")
    args = [tshark, "-r", str(path), "-o", "tcp.check_checksum:TRUE", "-T", "fields"]
    for name in fields:
        args += ["-e", name]
    done = subprocess.run(args, capture_output=True, text=True, timeout=60, check=True)
    return [line.split("\t") for line in done.stdout.splitlines()]


def _verdicts(records: list[Record]) -> list[tuple[int, int, int, int, int, int]]:
    _, checksums = verify_records(records, 0)
    columns = ("frame", "proto", "status", "cause", "value", "expected")
    return [tuple(int(row[c]) for c in columns) for row in checksums]  # type: ignore[misc]


@pytest.mark.parametrize("suffix", [".pcap", ".pcapng"])
def test_import_seed_004(run: Run, seeds_dir: Path, tmp_path: Path, suffix: str) -> None:
    seed = _seed(seeds_dir, "004")
    out = tmp_path / f"tinc{suffix}"
    assert run("import", str(seed), "-o", str(out)) == 0
    with open_capture(str(out)) as source:
        written = list(source.records())
    direct = parse_text(str(seed), seed.read_text(encoding="utf-8"))
    assert [r.data for r in written] == [r.data for r in direct]
    assert [r.ts_ns for r in written] == [r.ts_ns for r in direct]
    assert all(r.linktype == LinkType.RAW for r in written)
    # Verifying the imported capture gives the verdicts of verifying the text directly.
    assert _verdicts(written) == _verdicts(direct)
    tcp = [v for v in _verdicts(written) if v[1] == 2]
    assert [(v[4], v[5]) for v in tcp] == [
        (0xE771, 0xE771),
        (0x0301, 0x0302),
        (0x0300, 0x0301),
        (0xFF16, 0xFF16),
    ]
    rows = _tshark(out, "tcp.options.mss_val", "tcp.checksum.status", "frame.comment")
    assert [r[0] for r in rows] == ["8961", "1405", "1405", "1405"]
    assert [r[1] for r in rows] == ["1", "0", "0", "1"]
    if suffix == ".pcapng":
        assert [r[2] for r in rows] == ["line 18", "line 29", "line 50", "line 60"]


def test_import_text_without_bytes_is_an_input_error(
    run: Run, seeds_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "x.pcap"
    assert run("import", str(_seed(seeds_dir, "000")), "-o", str(out)) == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "000_" in err[0] and "packet bytes" in err[0]
    assert not out.exists()
    prose = tmp_path / "prose.txt"
    prose.write_text("no packets here\n")
    assert run("import", str(prose), "-o", str(out)) == 3
    assert run("import", str(tmp_path / "missing.txt"), "-o", str(out)) == 3


def test_import_mixed_link_types_needs_pcapng(run: Run, tmp_path: Path) -> None:
    ip = bytes.fromhex("4500001400000000400100000a0000010a000002")
    ip = ip[:10] + internet_checksum(ip).to_bytes(2, "big") + ip[12:]
    eth = bytes.fromhex("020000000002020000000001") + b"\x08\x00" + ip
    text = ""
    for frame in (ip, eth):
        text += "".join(
            f"0x{o:04x}:  "
            + " ".join(frame[i : i + 2].hex() for i in range(o, min(o + 16, len(frame)), 2))
            + "\n"
            for o in range(0, len(frame), 16)
        )
    source = tmp_path / "mixed.txt"
    source.write_text(text)
    assert run("import", str(source), "-o", str(tmp_path / "m.pcap")) == 2
    assert run("import", str(source), "-o", str(tmp_path / "m.pcapng")) == 0
    with open_capture(str(tmp_path / "m.pcapng")) as capture:
        records = list(capture.records())
    assert [r.linktype for r in records] == [LinkType.RAW, LinkType.ETHERNET]
    assert [r.data for r in records] == [ip, eth]


def _offload_pcap(path: Path) -> bytes:
    """One SYN like the seed report's, captured before the NIC: TCP checksum = 0x3e21."""
    src, dst = bytes([10, 0, 0, 240]), bytes([10, 0, 41, 3])
    tcp = bytearray(struct.pack("!HHIIBBHHH", 56791, 22, 2650163743, 0, 0xA0, 0x02, 14600, 0, 0))
    tcp += bytes.fromhex("020405b40402080a01ac9a74000000000103030600")[:20]
    pseudo = pseudo_header_sum_ipv4(src, dst, 6, len(tcp))
    tcp[16:18] = pseudo.to_bytes(2, "big")  # the CHECKSUM_PARTIAL artefact
    ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 60, 53611, 0x4000, 64, 6, 0, src, dst))
    ip[10:12] = internet_checksum(ip).to_bytes(2, "big")
    frame = bytes.fromhex("020000000002020000000001") + b"\x08\x00" + bytes(ip + tcp)
    raw = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    raw += struct.pack("<IIII", 1352481158, 539784, len(frame), len(frame)) + frame
    path.write_bytes(raw)
    return raw


def test_fix_command(run: Run, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src, out = tmp_path / "in.pcap", tmp_path / "out.pcap"
    original = _offload_pcap(src)
    assert run("fix", str(src), "-o", str(out), "--only", "offload", "--json") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["frames_changed"] == [1] and report["left_bad"] == 0
    (change,) = report["changes"]
    at = 24 + 16 + 14 + 20 + 16  # pcap header, record header, Ethernet, IPv4, TCP field
    segment = bytearray(original[at - 16 :])
    segment[16:18] = b"\x00\x00"
    pseudo = pseudo_header_sum_ipv4(original[66:70], original[70:74], 6, len(segment))
    right = internet_checksum(segment, pseudo)
    assert (change["proto"], change["old"], change["new"], change["cause"]) == (
        "tcp",
        0x3E21,
        right,
        "offload-partial",
    )
    assert src.read_bytes() == original
    fixed = out.read_bytes()
    assert fixed[:at] == original[:at] and fixed[at + 2 :] == original[at + 2 :]
    assert fixed[at : at + 2] == right.to_bytes(2, "big")
    assert run("fix", str(src), "-o", str(tmp_path / "again.pcap")) == 0
    human = capsys.readouterr().out
    assert "1 checksums fixed in 1 frames" in human and f"0x3e21 -> 0x{right:04x}" in human


def test_fix_command_errors(run: Run, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.pcap"
    original = _offload_pcap(src)
    assert run("fix", str(src), "-o", str(src)) == 2
    assert src.read_bytes() == original
    assert run("fix", str(tmp_path / "missing.pcap"), "-o", str(tmp_path / "o.pcap")) == 3
    assert run("fix", str(src), "-o", str(tmp_path / "o.pcap"), "--only", "some") == 2
    assert run("fix", str(src)) == 2  # -o is required
    err = capsys.readouterr().err
    assert "missing.pcap" in err and "Traceback" not in err
