"""Small captures and text never load numba: every command that reads them runs on the plain
walkers, the reference decoders and the numpy table passes, so a fresh process starts fast.
Nor does `check` load what it does not use: numpy.ma (`wiredoctor.distinct`), the host
modules without host facts, or what only a build of the kernels (subprocess, shutil) or
spooled input (tempfile) needs.

Each case runs in a fresh interpreter (numba may already be loaded in this one) that calls
the real entry point and reports whether `numba` was imported."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from wiredoctor.capture.open import open_capture
from wiredoctor.checksum.arith import internet_checksum

PROBE = """
import sys
already = set(sys.modules)  # what the interpreter's own start loaded (site hooks may)
import contextlib, io, json
from wiredoctor.cli import main
report = []
for args in json.loads(sys.argv[1]):
    with contextlib.redirect_stdout(io.StringIO()) as out:
        status = main(args)
    report.append([status, "numba" in sys.modules, len(out.getvalue())])
print(json.dumps(report))
unused = ("numpy.ma", "wiredoctor.host.facts", "wiredoctor.host.events", "subprocess", "shutil",
          "tempfile")
print(json.dumps([name for name in unused if name in set(sys.modules) - already]), file=sys.stderr)
"""


def tcp_frame(seq: int, flags: int, good: bool) -> bytes:
    """Ethernet + IPv4 + TCP (no payload); a good IPv4 checksum, the TCP one zero unless
    `good` (RFC 9293 §3.1: the checksum covers a pseudo-header, here left unfilled)."""
    tcp = struct.pack("!HHIIBBHHH", 40000, 80, seq, 0, 5 << 4, flags, 65535, 0, 0)
    src, dst = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])
    if good:
        pseudo = src + dst + struct.pack("!BBH", 0, 6, len(tcp))
        tcp = tcp[:16] + struct.pack("!H", internet_checksum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), seq & 0xFFFF, 0, 64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", internet_checksum(ip)) + ip[12:]
    eth = bytes.fromhex("0200000000020200000000010800")
    return eth + ip + tcp


def small_pcap(path: Path) -> list[bytes]:
    frames = [tcp_frame(i, 0x02 if i == 1 else 0x10, good=i != 3) for i in range(1, 6)]
    # draft-ietf-opsawg-pcap §4-§5: µs pcap, Ethernet.
    data = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    for i, frame in enumerate(frames):
        data += struct.pack("<IIII", 1_700_000_000 + i, 0, len(frame), len(frame)) + frame
    path.write_bytes(data)
    return frames


def tcpdump_text(frames: list[bytes]) -> str:
    """The frames as `tcpdump -nn -xx` prints them: a header line, then hex by 16 bytes."""
    lines = []
    for i, frame in enumerate(frames):
        lines.append(f"12:00:0{i}.000000 IP 10.0.0.1.40000 > 10.0.0.2.80: Flags [.], length 0")
        for offset in range(0, len(frame), 16):
            chunk = frame[offset : offset + 16].hex()
            words = " ".join(chunk[j : j + 4] for j in range(0, len(chunk), 4))
            lines.append(f"\t0x{offset:04x}:  {words}")
    return "\n".join(lines) + "\n"


def probe(
    *commands: list[str], env: dict[str, str] | None = None, unused: list[str] | None = None
) -> list[list[int]]:
    """Run `commands` in one fresh process: [status, numba loaded, bytes printed] of each;
    `unused` gets the modules of `PROBE`'s list that were loaded by the end."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(list(commands))],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report: list[list[int]] = json.loads(done.stdout)
    if unused is not None:
        unused.extend(json.loads(done.stderr.strip().splitlines()[-1]))
    return report


def test_small_capture_commands_never_import_numba(tmp_path: Path) -> None:
    capture = tmp_path / "small.pcap"
    small_pcap(capture)
    report = probe(
        ["check", str(capture), "--json"],
        ["check", str(capture)],
        ["packets", str(capture), "--json"],
        ["diff", str(capture), str(capture), "--json"],
        ["fix", str(capture), "-o", str(tmp_path / "fixed.pcap")],
    )
    # check: the zero TCP checksum is a problem (1); the others ran cleanly (0); all printed.
    assert [status for status, _, _ in report] == [1, 1, 0, 0, 0]
    assert all(length > 0 for _, _, length in report[:4])
    assert [loaded for _, loaded, _ in report] == [False] * 5
    assert (tmp_path / "fixed.pcap").stat().st_size == capture.stat().st_size


def test_text_input_never_imports_numba(tmp_path: Path) -> None:
    pcap = tmp_path / "frames.pcap"
    text = tmp_path / "frames.txt"
    text.write_text(tcpdump_text(small_pcap(pcap)))
    imported = tmp_path / "imported.pcap"
    report = probe(
        ["check", str(text), "--json"],
        ["packets", str(text), "--json"],
        ["import", str(text), "-o", str(imported)],
    )
    assert [status for status, _, _ in report] == [1, 0, 0]
    assert [loaded for _, loaded, _ in report] == [False] * 3
    # The text held the same five frames as the capture.
    with open_capture(str(imported)) as mine, open_capture(str(pcap)) as theirs:
        assert [r.data for r in mine.records()] == [r.data for r in theirs.records()]
        assert len(list(theirs.records())) == 5


@pytest.mark.slow
def test_large_capture_uses_numba_when_the_library_is_off(tmp_path: Path) -> None:
    # Past the size bound the compiled walkers take over (the benchmark path); with the
    # shared library switched off they come from numba's JIT (tests/native covers the library).
    capture = tmp_path / "large.pcap"
    frame = tcp_frame(7, 0x10, good=True)
    head = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    record = struct.pack("<IIII", 1_700_000_000, 0, len(frame), len(frame)) + frame
    capture.write_bytes(head + record * ((1 << 20) // len(record) + 1))
    env = {**os.environ, "WIREDOCTOR_NATIVE": "0"}
    (status, loaded, _), = probe(["packets", str(capture), "--json"], env=env)  # fmt: skip
    assert status == 0 and loaded


def test_check_loads_neither_numpy_ma_nor_the_host_modules(tmp_path: Path) -> None:
    capture = tmp_path / "small.pcap"
    small_pcap(capture)
    loaded: list[str] = []
    report = probe(["check", str(capture), "--json"], unused=loaded)
    assert [status for status, _, _ in report] == [1]
    assert loaded == []
    # Output for a person goes through rich, which loads shutil and tempfile itself.
    report = probe(["check", str(capture)], unused=loaded)
    assert [status for status, _, _ in report] == [1]
    assert set(loaded) <= {"shutil", "tempfile"}


FAST_PROBE = """
import sys
already = set(sys.modules)  # what the interpreter's own start loaded (site hooks may)
import contextlib, io, json
from wiredoctor.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    status = main(["check", sys.argv[1], "--json"])
found = ("wiredoctor.fast.verify", "wiredoctor.checks.streamed")
unused = ("numpy.ma", "wiredoctor.host.facts", "subprocess", "shutil", "tempfile", "numba")
loaded = set(sys.modules) - already
print(json.dumps([status, [m for m in found if m in loaded], [m for m in unused if m in loaded]]))
"""


def test_check_on_the_fast_path_loads_nothing_only_a_build_needs(tmp_path: Path) -> None:
    # With the kernels built, a capture past the size bound is streamed through them: the
    # build's modules (processes, the linker's lookup, scratch directories) stay unloaded.
    from wiredoctor.native.library import ensure_built

    if ensure_built() is None:
        pytest.skip("the compiled kernels cannot be built on this machine")
    capture = tmp_path / "large.pcap"
    head = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    records = []
    for i in range(1, 400):
        frame = tcp_frame(i, 0x10, good=i % 50 != 0)
        records.append(struct.pack("<IIII", 1_700_000_000, i, len(frame), len(frame)) + frame)
    capture.write_bytes(head + b"".join(records) * ((1 << 20) // len(b"".join(records)) + 1))
    done = subprocess.run(
        [sys.executable, "-c", FAST_PROBE, str(capture)],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    status, found, loaded = json.loads(done.stdout)
    assert status == 1  # the zeroed TCP checksums
    assert found == ["wiredoctor.fast.verify", "wiredoctor.checks.streamed"]
    assert loaded == []
