"""The progress bar: only on a terminal, only for inputs that take a while, never on stdout."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from wiredoctor.report import progress


def _sparse(path: Path, size: int) -> str:
    with path.open("wb") as handle:
        handle.truncate(size)  # no blocks written: the size is all that is read
    return str(path)


def test_only_inputs_of_min_bytes_or_more_are_large(tmp_path: Path) -> None:
    small = _sparse(tmp_path / "small.pcap", progress.MIN_BYTES - 1)
    big = _sparse(tmp_path / "big.pcap", progress.MIN_BYTES)
    assert not progress._large((small,))
    assert progress._large((big,))
    assert progress._large((small, small))  # together they take as long
    assert progress._large(("-",))  # stdin: its size is unknown until read
    assert not progress._large((str(tmp_path / "missing.pcap"),))


def test_no_bar_when_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    big = _sparse(tmp_path / "big.pcap", progress.MIN_BYTES)
    with progress.capture_progress((big,), enabled=True) as bar:
        assert bar is None  # pytest's captured stderr is not a terminal


def test_the_bar_draws_on_a_terminal_and_can_be_turned_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    big = _sparse(tmp_path / "big.pcap", progress.MIN_BYTES)
    screen = io.StringIO()

    def terminal(**kwargs: Any) -> Console:
        assert kwargs == {"stderr": True}  # the bar never goes to stdout
        return Console(file=screen, force_terminal=True, width=100)

    monkeypatch.setattr(progress, "Console", terminal)
    with progress.capture_progress((big,), enabled=False) as bar:
        assert bar is None  # `--json` into a pipe
    with progress.capture_progress((big,), enabled=True) as bar:
        assert bar is not None
        advance = bar(big)
        assert advance is not None
        advance(progress.MIN_BYTES // 2, progress.MIN_BYTES)
    assert "reading big.pcap" in screen.getvalue()
