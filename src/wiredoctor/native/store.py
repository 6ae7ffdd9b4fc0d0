"""Where the compiled kernels' libraries are kept, and how a missing set is built.

The libraries live in `native-<stamp>` in the package's `__pycache__` when that can be
written, else in the per-user cache (`$XDG_CACHE_HOME/wiredoctor`, default `~/.cache/...`),
or in `$WIREDOCTOR_CACHE_DIR` when set. The stamp hashes the place, size and modification
time of every source file of the package and of numba's and llvmlite's, and this CPU's model
and features. A set is built by worker processes (`python -m wiredoctor.native.build`) into
a scratch directory renamed into place once complete.

Always holds: nothing here imports numba; a directory named `native-<stamp>` holds every
library or does not exist; one process at a time builds a stamp's libraries
(`native-<stamp>.lock`); a build that failed, other than by a signal, is not tried again for
the same stamp (`native-<stamp>.failed` says why); no scratch directory outlives its build.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import os
import sys
from importlib.util import find_spec
from pathlib import Path

from wiredoctor.native.announce import announce_compile, say
from wiredoctor.native.link import linker
from wiredoctor.native.spec import KERNELS

PLACE = "WIREDOCTOR_CACHE_DIR"
"""Environment variable: the directory to keep the libraries in (else chosen as above)."""

COMPLETE = "complete"
"""The file that marks a library directory as fully built."""

_PACKAGE_DIR = Path(__file__).resolve().parent.parent


@functools.cache
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
    return _machine().encode() + b"\n" + b"\n".join(sorted(set(lines)))


def _machine() -> str:
    """`platform.machine()`, without importing platform (2 ms of every start) where the OS
    has uname, which is what platform reads there."""
    if hasattr(os, "uname"):
        return os.uname().machine
    import platform

    return platform.machine()


def _fingerprint(path: Path) -> bytes:
    """A file's place, size and modification time (what numba's own cache checks)."""
    info = path.stat()
    return f"{path}\0{info.st_size}\0{info.st_mtime_ns}\n".encode()


@functools.cache
def sources_digest() -> bytes:
    """A digest of the place, size and modification time of every source file of this
    package (kernels read constants from modules all over it); taken once per process, for
    both numba's cache directory and the libraries' stamp."""
    digest = hashlib.sha256()
    for source in sorted(_sources(_PACKAGE_DIR)):
        digest.update(_fingerprint(source))
    return digest.digest()


def _sources(directory: Path) -> list[Path]:
    """The `.py` files below `directory`, as `rglob("*.py")` finds them, without walking the
    `__pycache__` directories (compiled kernels and numba's caches: most of the entries)."""
    found: list[Path] = []
    with os.scandir(directory) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                if entry.name != "__pycache__":
                    found += _sources(Path(entry.path))
            elif entry.name.endswith(".py"):
                found.append(Path(entry.path))
    return found


def stamp() -> str:
    """A short hash of what the libraries depend on: this CPU, the numba and llvmlite
    installed (their package files), and every source file of this package."""
    digest = hashlib.sha256(_cpu())
    for package in ("numba", "llvmlite"):
        found = find_spec(package)
        origin = found.origin if found is not None else None
        digest.update(_fingerprint(Path(origin)) if origin else f"{package} absent\n".encode())
    digest.update(sources_digest())
    return digest.hexdigest()[:16]


def writable(directory: Path) -> bool:
    """True when `directory` (or, before it exists, its parent) can be written."""
    target = directory if directory.is_dir() else directory.parent
    return os.access(target, os.W_OK | os.X_OK)


def user_cache_base() -> Path:
    """The per-user cache of wiredoctor's compiled code: `$XDG_CACHE_HOME/wiredoctor`
    (default `~/.cache/wiredoctor`), for a package directory that cannot be written."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "wiredoctor"


def library_dir() -> Path:
    """Where the libraries of these sources are (or will be) kept."""
    name = f"native-{stamp()}"
    chosen = os.environ.get(PLACE)
    if chosen:
        return Path(chosen) / name
    pycache = _PACKAGE_DIR / "__pycache__"
    return pycache / name if writable(pycache) else user_cache_base() / name


BUILD_SECONDS = {
    "verify_chunk": 5.3,
    "walk_pcapng": 2.8,
    "plan_fragments": 2.45,
    "tcp_stream_pass": 2.5,
    "hash_array": 0.8,
    "walk_pcap": 0.6,
    "frame_pass": 0.5,
    "splice": 0.4,
    "tcp_pending_fold": 0.26,
    "tcp_stream_finish": 0.24,
    "checksum_pass": 0.21,
    "number_rows": 0.18,
    "key_hashes": 0.17,
    "tcp_stream_slots": 0.14,
}
"""Seconds a build worker spends on each kernel (measured one after another in two workers,
numba 0.68, 2026-11, without numba's own start of about 0.5 s per worker): what
`work_groups` balances. A kernel missing here counts 1 s."""

BUILD_TIMEOUT_S = 600


def work_groups(workers: int) -> list[list[str]]:
    """The kernels split between at most `workers` build processes so that each has about
    the same build time: longest first, each to the worker with the least so far."""
    groups: list[list[str]] = [[] for _ in range(max(workers, 1))]
    load = [0.0] * len(groups)
    for name in sorted(KERNELS, key=lambda n: -BUILD_SECONDS.get(n, 1.0)):
        least = load.index(min(load))
        groups[least].append(name)
        load[least] += BUILD_SECONDS.get(name, 1.0)
    return [group for group in groups if group]


def _run_workers(directory: Path) -> tuple[str, bool] | None:
    """Build every library into `directory` with one worker process per CPU (at most four).

    Returns None when all succeeded, else why not and whether that will last: a worker that
    failed or overran the time bound will again; one ended by a signal (the user's Ctrl-C
    reaches the workers too) need not."""
    import subprocess  # only a build starts processes (4-7 ms of every start otherwise)

    workers = min(os.cpu_count() or 1, 4)
    started: list[subprocess.Popen[str]] = []
    problems: list[str] = []
    lasting = True
    try:
        for group in work_groups(workers):
            started.append(
                subprocess.Popen(
                    [sys.executable, "-m", "wiredoctor.native.build", str(directory), *group],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
        for process in started:
            try:
                _, err = process.communicate(timeout=BUILD_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()
                problems.append(f"a build worker ran over {BUILD_TIMEOUT_S} s")
                continue
            if process.returncode != 0:
                lines = (err or "").strip().splitlines()
                problems.append(lines[-1] if lines else f"exit status {process.returncode}")
                lasting = lasting and process.returncode > 0
    finally:
        for process in started:
            if process.poll() is None:
                process.kill()
                process.wait()
    return ("; ".join(problems), lasting) if problems else None


def build_into(target: Path) -> bool:
    """Build every library into `target`; False when this machine cannot.

    Processes building the same libraries take turns (a lock file beside them): the later
    one finds them built."""
    if linker() is None:
        return False
    import shutil  # for the scratch directory: a build's, not every run's

    announce_compile()
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f"{target.name}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (target / COMPLETE).exists():
            return True
        if failed_marker(target).exists():
            return False
        scratch = target.parent / f"{target.name}.build-{os.getpid()}"
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir()
        try:
            outcome = _run_workers(scratch)
            if outcome is not None:
                problem, lasting = outcome
                say_unused(f"building failed: {problem}")
                if lasting:
                    # Not tried again for these sources: each try would cost the whole compile.
                    record_failure(target, problem)
                return False
            (scratch / COMPLETE).write_text("")
            with contextlib.suppress(OSError):
                # Fails only when another process (without the lock) put its own in place.
                scratch.rename(target)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    _prune(target)
    return (target / COMPLETE).exists()


def say_unused(problem: str) -> None:
    """The one line that says why the compiled kernels are not used (numba's JIT runs)."""
    say(f"wiredoctor: the compiled kernels are not used ({problem}); numba runs them")


def record_failure(target: Path, problem: str) -> None:
    """Remove the libraries of `target` (if any) and record why, so no later run with the
    same stamp builds them again in vain."""
    import shutil

    shutil.rmtree(target, ignore_errors=True)
    with contextlib.suppress(OSError):
        failed_marker(target).write_text(problem + "\n")


def missing(target: Path) -> bool:
    """True when the libraries of `target` are not built and no failed build of them is
    recorded: a build of them may be tried."""
    return not (target / COMPLETE).exists() and not failed_marker(target).exists()


def failed_marker(target: Path) -> Path:
    """The file that records why the libraries of `target` could not be built."""
    return target.parent / f"{target.name}.failed"


KEEP = 3
"""Libraries of other stamps kept beside the current one (newest first): two environments
sharing one source tree (an editable install in two virtual environments) each keep theirs."""


def _alive(pid: int) -> bool:
    """True when a process `pid` exists (it may be another user's)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _prune(current: Path) -> None:
    """Remove libraries (and failure records) of older stamps beside `current`, all but the
    KEEP newest, scratch directories of builds whose process is gone (killed mid-build),
    and lock files left by either. Best effort: another process may be pruning too."""
    import shutil

    with contextlib.suppress(OSError):
        others = []
        for sibling in current.parent.glob("native-*"):
            _, building, pid = sibling.name.partition(".build-")
            if building:
                if pid.isdigit() and not _alive(int(pid)):
                    shutil.rmtree(sibling, ignore_errors=True)
            elif sibling != current and not sibling.name.endswith(".lock"):
                others.append((sibling.stat().st_mtime_ns, sibling))
        others.sort(reverse=True)
        for _, sibling in others[KEEP:]:
            if sibling.is_dir():
                shutil.rmtree(sibling, ignore_errors=True)
            else:
                sibling.unlink(missing_ok=True)
        _prune_locks(current)


def _prune_locks(current: Path) -> None:
    """Remove the lock files of stamps that have nothing left beside `current` (no
    libraries, failure record or build under way), each only while holding it."""
    names = {p.name for p in current.parent.glob("native-*") if not p.name.endswith(".lock")}
    for lock_file in current.parent.glob("native-*.lock"):
        name = lock_file.name.removesuffix(".lock")
        left = {name, f"{name}.failed"} & names or any(
            n.startswith(f"{name}.build-") for n in names
        )
        if name == current.name or left:
            continue
        with contextlib.suppress(OSError), open(lock_file, "a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a build of that stamp is starting
            lock_file.unlink(missing_ok=True)
