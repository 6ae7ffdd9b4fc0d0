"""What the compiled path says on stderr: that the kernels are being compiled (once per
install), or why they are not used.

Always holds: the compile notice is said at most once per process; a closed or broken
stderr never stops a run.
"""

from __future__ import annotations

import sys

COMPILING_MESSAGE = "wiredoctor: compiling the fast path, once per install (about 10 s)…"

_announced = False


def announce_compile() -> None:
    """Say once on stderr that the kernels are being compiled (first run after install)."""
    global _announced
    if _announced:
        return
    _announced = True
    say(COMPILING_MESSAGE)


def say(line: str) -> None:
    """Write one line on stderr, now."""
    try:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        # A closed stderr (daemon, broken pipe) must not stop the verification.
        pass
