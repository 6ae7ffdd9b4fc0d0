"""The shared library of compiled kernels: built once, loaded without numba, the same
results as numba's JIT, and clear about arguments it cannot take or a kernel that raised."""

from __future__ import annotations

import ctypes
import fcntl
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from native.captures import large_pcap
from wiredoctor import pipeline
from wiredoctor.decode.fnv import payload_hash
from wiredoctor.native import build, library, store
from wiredoctor.native.announce import COMPILING_MESSAGE
from wiredoctor.native.background import BACKGROUND_MESSAGE
from wiredoctor.native.link import link, linker
from wiredoctor.native.spec import INT, KERNELS, SCALAR, Array, Kernel

needs_linker = pytest.mark.skipif(
    linker() is None, reason="no linker (cc or ld): the JIT serves every run"
)

PROBE = """
import contextlib, io, json, sys
from wiredoctor.cli import main
from wiredoctor.native import library
with contextlib.redirect_stdout(io.StringIO()) as out:
    status = main(sys.argv[1:])
native = isinstance(library._loaded.get("verify_chunk"), library.NativeKernel)
print(json.dumps([status, "numba" in sys.modules, native, out.getvalue()]))
"""


def run(args: list[str], **env: str) -> tuple[list[object], str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout), done.stderr


def builders_of(place: str) -> list[int]:
    """Processes building libraries into `place` (a background build this test started)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            environ = (proc / "environ").read_bytes()
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if f"{store.PLACE}={place}".encode() in environ.split(b"\0") and b"wiredoctor" in cmdline:
            found.append(int(proc.name))
    return found


def wait_for_builders(place: str, seconds: float = 300.0) -> None:
    deadline = time.monotonic() + seconds
    while builders_of(place):
        assert time.monotonic() < deadline, "the background build did not end"
        time.sleep(0.2)


@needs_linker
@pytest.mark.slow
def test_built_once_then_loaded_without_numba(tmp_path: Path) -> None:
    small = tmp_path / "small.pcap"
    large_pcap(small)
    big = tmp_path / "big.pcap"
    large_pcap(big, frames=pipeline.FIRST_RUN_FRAMES + 2000, size=0)
    # Both over the 1 MiB below which no kernel is used and under the 64 MiB bound of the
    # first-run choice: only their frames (2,400 and 32,000) put them on either side of it.
    assert (small.stat().st_size, big.stat().st_size) == (2_116_824, 16_524_024)
    place = str(tmp_path / "cache")
    try:
        # First run, nothing built: the small capture is read by the reference decoders
        # while the libraries are built in the background.
        (status1, numba1, native1, out1), err1 = run(
            ["check", "--json", str(small)], WIREDOCTOR_CACHE_DIR=place
        )
        # The large one needs them: it waits for that build (or builds them itself).
        (status2, numba2, native2, out2), err2 = run(
            ["check", "--json", str(big)], WIREDOCTOR_CACHE_DIR=place
        )
        wait_for_builders(place)
    finally:
        wait_for_builders(place)
    (status3, numba3, native3, out3), err3 = run(
        ["check", "--json", str(small)], WIREDOCTOR_CACHE_DIR=place
    )
    (status4, _, native4, out4), err4 = run(
        ["check", "--json", str(big)], WIREDOCTOR_CACHE_DIR=place
    )
    (status5, numba5, native5, out5), _ = run(
        ["check", "--json", str(small)], WIREDOCTOR_NATIVE="0"
    )
    assert err1.count(BACKGROUND_MESSAGE) == 1 and COMPILING_MESSAGE not in err1
    assert (native1, numba1) == (False, False)
    assert err2.count(COMPILING_MESSAGE) == 1 and (native2, numba2) == (True, False)
    assert err3 == err4 == ""
    assert (native3, numba3, native4) == (True, False, True)
    assert (native5, numba5) == (False, True)
    assert status1 == status2 == status3 == status4 == status5 == 1
    assert out1 == out3 == out5 and out2 == out4
    report = json.loads(str(out1))
    assert report["summary"]["frames"] == 2400
    assert report["summary"]["checksums"]["bad"] == 4800  # IPv4 and TCP, every frame
    assert report["summary"]["checksums"]["good"] == 0
    assert json.loads(str(out2))["summary"]["frames"] == pipeline.FIRST_RUN_FRAMES + 2000
    built = next(p for p in Path(place).glob("native-*") if p.is_dir())
    assert sorted(p.stem for p in built.glob("*.so")) == sorted(KERNELS)
    assert (built / store.COMPLETE).exists()
    assert not list(Path(place).glob("*.build-*"))
    # The install step finds them built, and says where.
    done = subprocess.run(
        [sys.executable, "-m", "wiredoctor.native"],
        env={**os.environ, "WIREDOCTOR_CACHE_DIR": place},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert (done.returncode, done.stdout.strip(), done.stderr) == (0, str(built), "")
    off = subprocess.run(
        [sys.executable, "-m", "wiredoctor.native"],
        env={**os.environ, "WIREDOCTOR_NATIVE": "0"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert off.returncode == 1 and "WIREDOCTOR_NATIVE=0" in off.stderr


@needs_linker
@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=3000))
def test_hash_matches_the_jit_and_the_reference(data: bytes) -> None:
    native = library.kernel("hash_array")
    if not isinstance(native, library.NativeKernel):
        pytest.skip("the shared library could not be built here")
    buf = np.frombuffer(data, dtype=np.uint8)
    jit = library.jit_kernel("hash_array")
    expected = payload_hash(data) if data else 0
    assert int(native(buf)) == int(jit(buf)) == expected


@needs_linker
def test_arguments_it_cannot_take_are_refused() -> None:
    native = library.kernel("key_hashes")
    if not isinstance(native, library.NativeKernel):
        pytest.skip("the shared library could not be built here")
    frames = np.zeros(4, dtype=KERNELS["key_hashes"].args[0].dtype)  # type: ignore[union-attr]
    rows = np.arange(4, dtype=np.int64)
    out = np.zeros(4, dtype=np.uint64)
    native(frames, rows, out)
    assert len(set(out.tolist())) == 1 and int(out[0]) != 0
    with pytest.raises(TypeError, match="argument 1 must be a C-contiguous 1-d array of int64"):
        native(frames, rows.astype(np.int32), out)
    with pytest.raises(TypeError, match="argument 2"):
        native(frames, rows, np.zeros(8, dtype=np.uint64)[::2])
    with pytest.raises(TypeError, match="takes 3 arguments"):
        native(frames, rows)


@needs_linker
def test_a_kernel_that_raises_is_reported(tmp_path: Path) -> None:
    spec = Kernel("native.raising", "share", (INT, INT, Array(np.dtype(np.int64))), SCALAR)
    obj = tmp_path / "share.o"
    obj.write_bytes(build.object_code("share", spec))
    link(obj, tmp_path / "share.so")
    share = library.NativeKernel("share", spec, ctypes.CDLL(str(tmp_path / "share.so")))
    out = np.zeros(1, dtype=np.int64)
    assert int(share(17, 5, out)) == 3 and int(out[0]) == 3
    with pytest.raises(RuntimeError, match="the compiled kernel share raised"):
        share(17, 0, out)
    assert int(share(40, 8, out)) == 5


def test_the_build_is_balanced_between_the_workers() -> None:
    assert store.work_groups(1) == [sorted(KERNELS, key=lambda n: -store.BUILD_SECONDS[n])]
    assert set(store.BUILD_SECONDS) == set(KERNELS)
    for workers in (2, 3, 4):
        groups = store.work_groups(workers)
        assert len(groups) == workers
        assert sorted(n for g in groups for n in g) == sorted(KERNELS)
        loads = [sum(store.BUILD_SECONDS[n] for n in g) for g in groups]
        # No worker waits on another for longer than the shortest kernel it could take over.
        assert max(loads) - min(loads) <= max(store.BUILD_SECONDS.values())
    # Two workers (this machine's CPUs) each carry half of all within half a second, the
    # verification kernel's (a third of all by itself) too.
    total = sum(store.BUILD_SECONDS.values())
    two = store.work_groups(2)
    heavy = next(g for g in two if "verify_chunk" in g)
    for group in two:
        assert abs(sum(store.BUILD_SECONDS[n] for n in group) - total / 2) <= 0.5
    assert sum(store.BUILD_SECONDS[n] for n in heavy) < total / 2 + 0.5


def build_with(
    monkeypatch: pytest.MonkeyPatch, workers: Callable[[Path], tuple[str, bool] | None]
) -> Path | None:
    """`ensure_built` in a fresh process state, with `workers` in place of the build workers."""
    monkeypatch.setattr(library, "_state", {})
    monkeypatch.setattr(store, "_run_workers", workers)
    return library.ensure_built()


def failing_build(
    monkeypatch: pytest.MonkeyPatch, place: Path, problem: str, lasting: bool
) -> Path:
    """A first build into `place` whose workers fail with `problem`; returns its target."""
    monkeypatch.setenv("WIREDOCTOR_CACHE_DIR", str(place))
    assert build_with(monkeypatch, lambda directory: (problem, lasting)) is None
    return store.library_dir()


def scratch_left(place: Path) -> list[str]:
    """Build scratch directories left in `place`."""
    return [p.name for p in place.iterdir() if ".build-" in p.name]


@needs_linker
def test_a_failed_build_is_not_tried_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    target = failing_build(monkeypatch, tmp_path, "linking x.so failed: boom", True)
    assert store.failed_marker(target).read_text() == "linking x.so failed: boom\n"
    err = capsys.readouterr().err
    assert "not used (building failed: linking x.so failed: boom)" in err
    assert build_with(monkeypatch, lambda directory: pytest.fail("tried again")) is None
    assert not target.exists()
    assert scratch_left(tmp_path) == []


@needs_linker
def test_a_build_ended_by_a_signal_is_tried_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    target = failing_build(monkeypatch, tmp_path, "exit status -2", False)
    assert not store.failed_marker(target).exists()
    assert "(building failed: exit status -2)" in capsys.readouterr().err
    tries: list[Path] = []

    def finish(directory: Path) -> None:
        tries.append(directory)
        for name in KERNELS:
            (directory / f"{name}.so").write_bytes(b"")

    assert build_with(monkeypatch, finish) == target
    assert len(tries) == 1 and (target / store.COMPLETE).exists()
    assert scratch_left(tmp_path) == []


def test_libraries_of_other_stamps_are_pruned_but_the_newest_kept(tmp_path: Path) -> None:
    current = tmp_path / "native-current"
    current.mkdir()
    olds = []
    for age in range(5):
        old = tmp_path / f"native-old{age}"
        old.mkdir() if age % 2 == 0 else old.write_text("failed\n")
        os.utime(old, ns=(1_000_000_000 * (100 - age),) * 2)
        olds.append(old)
    building = tmp_path / f"native-current.build-{os.getpid()}"
    building.mkdir()
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    killed = tmp_path / f"native-other.build-{int(gone.stdout)}"
    killed.mkdir()
    locks = {p.name: tmp_path / f"{p.name}.lock" for p in [current, *olds]}
    locks["native-other"] = tmp_path / "native-other.lock"
    locks["native-held"] = tmp_path / "native-held.lock"
    for lock_file in locks.values():
        lock_file.write_text("")
    with open(locks["native-held"], "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # a build of that stamp is starting
        store._prune(current)
    assert [p.exists() for p in olds] == [True] * store.KEEP + [False] * (5 - store.KEEP)
    assert current.exists() and building.exists() and not killed.exists()
    kept = sorted(name for name, lock_file in locks.items() if lock_file.exists())
    assert kept == sorted(["native-current", "native-held", *(p.name for p in olds[: store.KEEP])])


def test_a_library_that_cannot_be_loaded_leaves_the_jit_and_is_not_rebuilt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("WIREDOCTOR_CACHE_DIR", str(tmp_path))
    target = store.library_dir()
    target.mkdir()
    (target / store.COMPLETE).write_text("")
    (target / "hash_array.so").write_bytes(b"not a shared object")
    monkeypatch.setattr(library, "_state", {})
    monkeypatch.setattr(library, "_loaded", {})
    hashed = library.kernel("hash_array")
    assert not isinstance(hashed, library.NativeKernel)
    assert int(hashed(np.frombuffer(b"abc", dtype=np.uint8))) == payload_hash(b"abc")
    err = capsys.readouterr().err
    assert "not used (loading hash_array.so failed:" in err
    assert not target.exists()
    assert "loading hash_array.so failed" in store.failed_marker(target).read_text()
    assert build_with(monkeypatch, lambda directory: pytest.fail("rebuilt")) is None


def test_only_the_exported_function_stays_visible() -> None:
    from llvmlite import binding as llvm

    module = llvm.parse_assembly(
        "define linkonce_odr i64 @helper(i64 %x) {\n  ret i64 %x\n}\n"
        "define i64 @entry(i64 %x) {\n  %r = call i64 @helper(i64 %x)\n  ret i64 %r\n}\n"
        "define i64 @other(i64 %x) {\n  ret i64 %x\n}\n"
        "declare i64 @outside(i64)\n"
    )
    build.internalise(module, "entry")
    linkage = {f.name: f.linkage.name for f in module.functions}
    assert linkage == {
        "helper": "internal",
        "entry": "external",
        "other": "internal",
        "outside": "external",  # a declaration: defined elsewhere
    }


def test_the_stamp_reads_the_same_sources_and_machine_as_before(tmp_path: Path) -> None:
    import platform

    package = tmp_path / "pkg"
    (package / "sub" / "__pycache__" / "numba-x").mkdir(parents=True)
    for name in ("a.py", "sub/b.py", "sub/c.txt", "sub/__pycache__/d.py", "sub/__pycache__/e.pyc"):
        (package / name).write_text("")
    # A .py file in a __pycache__ directory, where only compiled files belong, is no source:
    # the walk does not enter those directories.
    walked = sorted(store._sources(package))
    assert walked == [package / "a.py", package / "sub" / "b.py"]
    assert sorted(store._sources(store._PACKAGE_DIR)) == sorted(store._PACKAGE_DIR.rglob("*.py"))
    assert store._machine() == platform.machine()
