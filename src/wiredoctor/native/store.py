"""Where the compiled kernels' libraries are kept, and how a missing set is built.

The libraries live in `native-<stamp>` in the package's `__pycache__` when that can be
written, else in the per-user cache (`$XDG_CACHE_HOME/wiredoctor`, default `~/.cache/...`),
or in `$WIREDOCTOR_CACHE_DIR` when set. The stamp hashes the place, size and modification
time of every source file of the package and of numba's and llvmlite's, and this CPU's model
and features. A set is built by worker processes (`python -m wiredoctor.native.build`) into
a scratch directory renamed into place once complete.

Always holds: nothing here imports numba; a directory named `native-<stamp>` holds every
library or does not exist; a build that failed is not tried again for the same stamp
(`native-<stamp>.failed` says why).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import platform
import shutil
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

from wiredoctor.native.link import linker
from wiredoctor.native.spec import KERNELS

PLACE = "WIREDOCTOR_CACHE_DIR"
"""Environment variable: the directory to keep the libraries in (else chosen as above)."""

COMPLETE = "complete"
"""The file that marks a library directory as fully built."""

_PACKAGE_DIR = Path(__file__).resolve().parent.parent


def _cpu() -> bytes:
    """This CPU's model and feature flags (the libraries are compiled for them)."""
    try:
        with open("/proc/cpuinfo", "rb") as info:
            lines = [
                line
                for line in info.read().splitlines()
                if line.startswith((b"model name", b"flags", b"Features"))
            ]
    except OSError:
        lines = []
    return platform.machine().encode() + b"\n" + b"\n".join(sorted(set(lines)))


def _fingerprint(path: Path) -> bytes:
    """A file's place, size and modification time (what numba's own cache checks)."""
    info = path.stat()
    return f"{path}\0{info.st_size}\0{info.st_mtime_ns}\n".encode()


def stamp() -> str:
    """A short hash of what the libraries depend on: this CPU, the numba and llvmlite
    installed (their package files), and every source file of this package."""
    digest = hashlib.sha256(_cpu())
    for package in ("numba", "llvmlite"):
        found = find_spec(package)
        origin = found.origin if found is not None else None
        digest.update(_fingerprint(Path(origin)) if origin else f"{package} absent\n".encode())
    for source in sorted(_PACKAGE_DIR.rglob("*.py")):
        digest.update(_fingerprint(source))
    return digest.hexdigest()[:16]


def _writable(directory: Path) -> bool:
    target = directory if directory.is_dir() else directory.parent
    return os.access(target, os.W_OK | os.X_OK)


def library_dir() -> Path:
    """Where the libraries of these sources are (or will be) kept."""
    chosen = os.environ.get(PLACE)
    if chosen:
        return Path(chosen) / f"native-{stamp()}"
    pycache = _PACKAGE_DIR / "__pycache__"
    if _writable(pycache):
        return pycache / f"native-{stamp()}"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "wiredoctor" / f"native-{stamp()}"


def _announce() -> None:
    from wiredoctor.fast.cache import announce_compile

    announce_compile()


def _say(line: str) -> None:
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.write(line + "\n")


HEAVY = "verify_chunk"
"""The kernel that takes longest to compile (about half of all): a worker of its own."""

BUILD_TIMEOUT_S = 600


def work_groups(workers: int) -> list[list[str]]:
    """The kernels split between `workers` build processes, the slowest one alone."""
    rest = [name for name in KERNELS if name != HEAVY]
    if workers <= 1:
        return [[HEAVY, *rest]]
    groups: list[list[str]] = [[HEAVY]] + [[] for _ in range(workers - 1)]
    for i, name in enumerate(rest):
        groups[1 + i % (workers - 1)].append(name)
    return [group for group in groups if group]


def _run_workers(directory: Path) -> str | None:
    """Build every library into `directory` with one worker process per CPU (at most four);
    returns why it failed, or None."""
    workers = min(os.cpu_count() or 1, 4)
    started = [
        subprocess.Popen(
            [sys.executable, "-m", "wiredoctor.native.build", str(directory), *group],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for group in work_groups(workers)
    ]
    problems = []
    for process in started:
        try:
            _, err = process.communicate(timeout=BUILD_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            _, err = process.communicate()
        if process.returncode != 0:
            lines = (err or "").strip().splitlines()
            problems.append(lines[-1] if lines else f"exit status {process.returncode}")
    return "; ".join(problems) or None


def build_into(target: Path) -> bool:
    """Build every library into `target`; False when this machine cannot."""
    if linker() is None:
        return False
    _announce()
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = target.parent / f"{target.name}.build-{os.getpid()}"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir()
    problem = _run_workers(scratch)
    if problem is not None:
        shutil.rmtree(scratch, ignore_errors=True)
        _say(f"wiredoctor: could not build the compiled kernels ({problem}); numba runs them")
        # Not tried again for these sources: each try would cost the whole compile.
        with contextlib.suppress(OSError):
            failed_marker(target).write_text(problem + "\n")
        return False
    try:
        (scratch / COMPLETE).write_text("")
        scratch.rename(target)
    except OSError:
        # Another process finished first: its libraries are the same.
        shutil.rmtree(scratch, ignore_errors=True)
    _prune(target)
    return True


def failed_marker(target: Path) -> Path:
    """The file that records why the libraries of `target` could not be built."""
    return target.parent / f"{target.name}.failed"


KEEP = 3
"""Libraries of other stamps kept beside the current one (newest first): two environments
sharing one source tree (an editable install in two virtual environments) each keep theirs."""


def _prune(current: Path) -> None:
    """Remove libraries (and failure records) of older stamps beside `current`, all but the
    KEEP newest (best effort: another process may be pruning too)."""
    with contextlib.suppress(OSError):
        others = [
            (sibling.stat().st_mtime_ns, sibling)
            for sibling in current.parent.glob("native-*")
            if sibling != current and ".build-" not in sibling.name
        ]
        others.sort(reverse=True)
        for _, sibling in others[KEEP:]:
            if sibling.is_dir():
                shutil.rmtree(sibling, ignore_errors=True)
            else:
                sibling.unlink(missing_ok=True)
