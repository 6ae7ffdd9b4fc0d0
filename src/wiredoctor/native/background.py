"""Building the libraries in a process of their own while this run goes on without them.

A first run on a capture the reference decoders read in a second or two should not wait for
the build (several seconds of numba on every core): it starts `python -m wiredoctor.native`
detached and says so in one line on stderr. The build takes the usual lock, so a run that
needs the libraries meanwhile waits for it and then finds them built; a build killed half
way leaves nothing behind (`store.build_into`) and the next run starts it again.

Always holds: at most one build is started per process, none while another process holds
the stamp's lock; the builder is started with setsid (a Ctrl-C meant for this run does not
reach it) and /dev/null as stdin, stdout and stderr, so it never holds this run's pipes
open; nothing here waits for it.
"""

from __future__ import annotations

import fcntl
import os
import sys
from pathlib import Path

from wiredoctor.native.announce import say

BACKGROUND_MESSAGE = (
    "wiredoctor: compiling the fast path in the background, once per install (about 10 s); "
    "this capture is read without it"
)

_started: list[int] = []


def _building(target: Path) -> bool | None:
    """True when another process holds the lock of `target`'s build, None when this
    process cannot take that lock (no build could be made there either)."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target.parent / f"{target.name}.lock", "a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(lock, fcntl.LOCK_UN)
    except OSError:
        return None
    return False


def build_later(target: Path) -> bool:
    """Start building the libraries of `target` in a detached process (once per process) and
    say so; False when none was started (one already runs, its place cannot be written, or
    starting failed: nothing is said then)."""
    if _started:
        return False
    building = _building(target)
    if building:
        say(BACKGROUND_MESSAGE)
        _started.append(0)
        return False
    if building is None or not sys.executable or not hasattr(os, "posix_spawn"):
        return False
    null = os.devnull
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, null, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, null, os.O_WRONLY, 0),
        (os.POSIX_SPAWN_OPEN, 2, null, os.O_WRONLY, 0),
    ]
    argv = [sys.executable, "-m", "wiredoctor.native"]
    try:
        pid = os.posix_spawn(
            sys.executable, argv, dict(os.environ), file_actions=actions, setsid=True
        )
    except (OSError, NotImplementedError):
        return False
    _started.append(pid)
    say(BACKGROUND_MESSAGE)
    return True
