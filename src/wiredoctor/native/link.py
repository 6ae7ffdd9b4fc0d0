"""The system linker that turns a kernel's object code into a shared library.

Always holds: nothing here imports numba (the caller checks for a linker before it starts
compiling anything); importing this module loads neither shutil nor subprocess (a run whose
kernels are built never needs them).
"""

from __future__ import annotations

from pathlib import Path

LINK_TIMEOUT_S = 120


class BuildError(Exception):
    """The library could not be built here (no linker, a linker failure)."""


def linker() -> list[str] | None:
    """The command that links one object into a shared library, or None without a linker."""
    import shutil  # asked only when a build may start: not on a run with built kernels

    for name in ("cc", "ld"):
        found = shutil.which(name)
        if found:
            return [found, "-shared"]
    return None


def link(obj: Path, target: Path) -> None:
    """Link `obj` into the shared library `target`."""
    import subprocess

    command = linker()
    if command is None:
        raise BuildError("no linker (cc or ld) on PATH")
    done = subprocess.run(
        [*command, "-o", str(target), str(obj)],
        capture_output=True,
        text=True,
        timeout=LINK_TIMEOUT_S,
        check=False,
    )
    if done.returncode != 0:
        raise BuildError(f"linking {target.name} failed: {done.stderr.strip()[:300]}")
