"""Where the compiled kernels are cached, and the one line the first run prints."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numba.core.config
import pytest

from wiredoctor.fast import cache
from wiredoctor.native.announce import COMPILING_MESSAGE

FIRST_CALL = (
    "from fast import frames as fb\n"
    "from wiredoctor.fast.verify import verify_batches\n"
    "data = fb.ethernet(fb.ipv4(fb.tcp(fb.V4_A, fb.V4_B)))\n"
    "f, c = verify_batches([fb.batch([fb.record(data)])])\n"
    "print(int(c.shape[0]))\n"
)


def test_read_only_package_caches_under_xdg(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(numba.core.config, "CACHE_DIR", numba.core.config.CACHE_DIR)
    monkeypatch.setattr(cache, "_writable", lambda directory: False)
    chosen = cache.configure()
    expected = tmp_path / "wiredoctor" / "numba" / cache.source_stamp()
    assert chosen == str(expected)
    assert expected.is_dir()
    assert os.environ["NUMBA_CACHE_DIR"] == str(expected)
    assert str(expected) == numba.core.config.CACHE_DIR


def test_older_stamps_are_pruned(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(numba.core.config, "CACHE_DIR", numba.core.config.CACHE_DIR)
    monkeypatch.setattr(cache, "_writable", lambda directory: False)
    stale = tmp_path / "wiredoctor" / "numba" / ("0" * 16)
    recent = tmp_path / "wiredoctor" / "numba" / ("1" * 16)
    stale.mkdir(parents=True)
    recent.mkdir()
    long_ago = time.time() - cache.PRUNE_AFTER_S - 60
    os.utime(stale, (long_ago, long_ago))
    cache.configure()
    assert not stale.exists()
    # Used within the hour: a process of those sources may still be running.
    assert recent.is_dir()


def test_a_cache_dir_the_user_chose_is_kept(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    assert cache.configure() == str(tmp_path)


def test_the_stamp_follows_the_kernel_sources() -> None:
    stamp = cache.source_stamp()
    assert len(stamp) == 16 and int(stamp, 16) >= 0
    assert cache.source_stamp() == stamp


@pytest.mark.slow
def test_first_jit_run_says_it_compiles_and_later_runs_do_not(tmp_path: Path) -> None:
    tests = Path(__file__).resolve().parents[1]
    env = dict(os.environ)
    env.update(
        WIREDOCTOR_NATIVE="0",
        NUMBA_CACHE_DIR=str(tmp_path / "numba"),
        PYTHONPATH=os.pathsep.join([str(tests), env.get("PYTHONPATH", "")]),
    )
    runs = [
        subprocess.run(
            [sys.executable, "-c", FIRST_CALL],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        for _ in range(2)
    ]
    assert [r.returncode for r in runs] == [0, 0], runs[0].stderr[-2000:]
    assert [r.stdout.split() for r in runs] == [["2"], ["2"]]
    assert runs[0].stderr.count(COMPILING_MESSAGE) == 1
    assert COMPILING_MESSAGE not in runs[1].stderr
