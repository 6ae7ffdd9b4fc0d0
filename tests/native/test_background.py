"""While the compiled kernels are not built, a capture the reference decoders read quickly
does not wait for them: it is verified without them and the build starts in the background.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from native.captures import large_pcap
from wiredoctor import pipeline
from wiredoctor.capture import source as source_module
from wiredoctor.fast import verify as fast_verify
from wiredoctor.native import background, library, store
from wiredoctor.native.link import linker
from wiredoctor.tables import CaptureTables


class Spy:
    """What one load did: the walk speeds asked for, fast-path calls, builds started."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, pending: Path | None) -> None:
        self.walks: list[bool | None] = []
        self.fast = 0
        self.later: list[Path] = []
        drive = source_module.drive
        verify_batches = fast_verify.verify_batches

        def spy_drive(*args: Any) -> Iterator[Any]:
            self.walks.append(args[6] if len(args) > 6 else None)
            return drive(*args)

        def spy_verify(*args: Any, **kwargs: Any) -> Any:
            self.fast += 1
            return verify_batches(*args, **kwargs)

        def later(target: Path) -> bool:
            self.later.append(target)
            return True

        monkeypatch.setattr(source_module, "drive", spy_drive)
        monkeypatch.setattr(fast_verify, "verify_batches", spy_verify)
        monkeypatch.setattr(library, "pending", lambda: pending)
        monkeypatch.setattr(background, "build_later", later)


def same_tables(a: CaptureTables, b: CaptureTables) -> bool:
    return bool(
        np.array_equal(a.frames.view(np.uint8), b.frames.view(np.uint8))
        and np.array_equal(a.checksums.view(np.uint8), b.checksums.view(np.uint8))
    )


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("captures") / "small.pcap"
    large_pcap(path)
    return path


def test_a_small_capture_is_read_without_kernels_and_they_are_built_later(
    small: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert small.stat().st_size > pipeline.SMALL_CAPTURE
    target = tmp_path / "native-x"
    spy = Spy(monkeypatch, target)
    first = pipeline.load_capture(str(small))
    assert spy.later == [target]
    assert spy.fast == 0
    assert spy.walks and all(compiled is False for compiled in spy.walks)
    assert len(first.frames) == 2400
    # The same tables as the fast path gives once the kernels are there.
    built = Spy(monkeypatch, None)
    second = pipeline.load_capture(str(small))
    assert (built.fast, built.later) == (1, [])
    assert same_tables(first, second)


@pytest.mark.parametrize(
    "bound",
    [("FIRST_RUN_FRAMES", 1000), ("FIRST_RUN_BYTES", 1 << 20)],
    ids=["more frames", "more bytes"],
)
def test_a_capture_over_the_bounds_waits_for_the_kernels(
    small: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, bound: tuple[str, int]
) -> None:
    monkeypatch.setattr(pipeline, bound[0], bound[1])
    spy = Spy(monkeypatch, tmp_path / "native-x")
    tables = pipeline.load_capture(str(small))
    assert (spy.fast, spy.later) == (1, [])
    assert len(tables.frames) == 2400


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A cache place with nothing built and no library looked for in this process."""
    monkeypatch.setenv(store.PLACE, str(tmp_path))
    monkeypatch.delenv(library.SWITCH, raising=False)
    monkeypatch.setattr(library, "_state", {})
    return store.library_dir()


@pytest.mark.skipif(linker() is None, reason="no linker: nothing would be built")
def test_pending_until_built_failed_or_switched_off(
    fresh: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert library.pending() == fresh
    fresh.parent.mkdir(parents=True, exist_ok=True)
    store.failed_marker(fresh).write_text("no\n")
    assert library.pending() is None
    store.failed_marker(fresh).unlink()
    fresh.mkdir()
    (fresh / store.COMPLETE).write_text("")
    assert library.pending() is None
    (fresh / store.COMPLETE).unlink()
    monkeypatch.setenv(library.SWITCH, "0")
    assert library.pending() is None
    monkeypatch.delenv(library.SWITCH)
    monkeypatch.setattr(library, "_state", {"dir": None})  # this process already looked
    assert library.pending() is None


def test_the_build_is_started_detached_once(
    fresh: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    spawned: list[tuple[Any, ...]] = []

    def spawn(path: str, argv: list[str], env: dict[str, str], **kwargs: Any) -> int:
        spawned.append((path, argv, env, kwargs))
        return 4242

    monkeypatch.setattr(background, "_started", [])
    monkeypatch.setattr(os, "posix_spawn", spawn)
    assert background.build_later(fresh) is True
    assert background.build_later(fresh) is False
    assert len(spawned) == 1
    path, argv, env, kwargs = spawned[0]
    assert argv[1:] == ["-m", "wiredoctor.native"] and path == argv[0]
    assert env[store.PLACE] == str(fresh.parent)
    assert kwargs["setsid"] is True
    # stdin, stdout and stderr all /dev/null: the run's pipes are never held open.
    assert sorted((a[1], a[2]) for a in kwargs["file_actions"]) == [
        (0, os.devnull),
        (1, os.devnull),
        (2, os.devnull),
    ]
    assert capsys.readouterr().err == background.BACKGROUND_MESSAGE + "\n"


@pytest.fixture
def no_spawn(monkeypatch: pytest.MonkeyPatch) -> None:
    """A process that has started no build, and may start none."""

    def spawn(*args: Any, **kwargs: Any) -> int:
        raise AssertionError("a build was started")

    monkeypatch.setattr(background, "_started", [])
    monkeypatch.setattr(os, "posix_spawn", spawn)


@pytest.mark.usefixtures("no_spawn")
def test_no_second_build_while_one_holds_the_lock(
    fresh: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fresh.parent.mkdir(parents=True, exist_ok=True)
    with open(fresh.parent / f"{fresh.name}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        assert background.build_later(fresh) is False
    assert capsys.readouterr().err == background.BACKGROUND_MESSAGE + "\n"


@pytest.mark.usefixtures("no_spawn")
def test_no_build_where_the_lock_cannot_be_taken(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert background.build_later(blocker / "native-x") is False  # its parent is a file
    assert capsys.readouterr().err == ""
