"""A progress bar on stderr while large captures are read.

Always holds: nothing is drawn unless stderr is a terminal; nothing is ever written to
stdout; small inputs (under about a second of work) never show a bar.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

MIN_BYTES = 256 << 20
"""Inputs smaller than this finish within about a second (start-up included, at the fast
path's 400–500 MB/s for a whole run): no bar for them."""

ProgressFor = Callable[[str], Callable[[int, int], None] | None]


@contextmanager
def capture_progress(paths: tuple[str, ...], *, enabled: bool) -> Iterator[ProgressFor | None]:
    """Yields `progress(path)` for `analysis.analyse`, or None when no bar should show."""
    console = Console(stderr=True)
    if not enabled or not console.is_terminal or not _large(paths):
        yield None
        return
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )
    lock = threading.Lock()

    def progress_for(path: str) -> Callable[[int, int], None]:
        with lock:
            task = bar.add_task(f"reading {os.path.basename(path)}", total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return advance

    with bar:
        yield progress_for


def _large(paths: tuple[str, ...]) -> bool:
    """True when the inputs add up to enough bytes to take more than a second (stdin: yes)."""
    total = 0
    for path in paths:
        if path == "-":
            return True
        try:
            total += os.path.getsize(path)
        except OSError:
            continue
    return total >= MIN_BYTES
