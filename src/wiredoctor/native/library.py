"""Find, build once and load the compiled kernels; call them through ctypes without numba.

`kernel(name)` returns a callable with the calling convention of the numba function
`spec.KERNELS[name]`: same arguments, same results. It is the shared library's function when
the library is built for these sources, this numba and this CPU (building it on first use:
the one line on stderr says so), else the numba function itself. ctypes releases the GIL for
the call, so kernels run in parallel on threads as the numba ones do.

The libraries live in `native-<stamp>` in the package's `__pycache__` when that can be
written, else in the per-user cache (`$XDG_CACHE_HOME/wiredoctor`, default `~/.cache/...`),
or in `$WIREDOCTOR_CACHE_DIR` when set. The stamp hashes the place, size and modification time of
every source file of the package and of numba's and llvmlite's, and this CPU's model and
features.

Always holds: importing this module, and calling a kernel whose library is built, never
imports numba; `WIREDOCTOR_NATIVE=0` in the environment keeps every kernel on numba's JIT;
a library that cannot be built or loaded leaves the JIT in charge and never stops a run; a
build that failed is not tried again for the same stamp (`native-<stamp>.failed` says why).
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable
from importlib import import_module
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import numpy as np

from wiredoctor.native.link import linker
from wiredoctor.native.spec import FLAG, KERNELS, NONE, SCALAR, UINT64, Array, Kernel

SWITCH = "WIREDOCTOR_NATIVE"
"""Environment variable: "0" keeps the kernels on numba's JIT."""

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


class NativeKernel:
    """One kernel of a loaded shared library, called like its numba function."""

    def __init__(self, name: str, kernel: Kernel, library: ctypes.CDLL) -> None:
        self.name = name
        self.kernel = kernel
        self._function = getattr(library, f"wiredoctor_{name}")
        argtypes: list[Any] = [ctypes.c_void_p]  # the result words (a ctypes array)
        for arg in kernel.args:
            if isinstance(arg, Array):
                argtypes += [ctypes.c_void_p] + [ctypes.c_int64] * arg.ndim
            else:
                argtypes.append(ctypes.c_int64)
        self._function.argtypes = argtypes
        self._function.restype = None
        self._failed = ctypes.c_int32.in_dll(library, "wiredoctor_failed")
        word = ctypes.c_uint64 if kernel.result == UINT64 else ctypes.c_int64
        self._out_type = word * kernel.words

    def _flatten(self, args: tuple[Any, ...]) -> list[int]:
        if len(args) != len(self.kernel.args):
            raise TypeError(f"{self.name} takes {len(self.kernel.args)} arguments")
        flat: list[int] = []
        for position, (value, arg) in enumerate(zip(args, self.kernel.args, strict=True)):
            if isinstance(arg, Array):
                if (
                    not isinstance(value, np.ndarray)
                    or value.dtype != arg.dtype
                    or value.ndim != arg.ndim
                    or not value.flags.c_contiguous
                ):
                    raise TypeError(
                        f"{self.name}: argument {position} must be a C-contiguous "
                        f"{arg.ndim}-d array of {arg.dtype}"
                    )
                flat.append(value.__array_interface__["data"][0])
                flat.extend(value.shape)
            else:
                flat.append(int(bool(value)) if arg == FLAG else int(value))
        return flat

    def __call__(self, *args: Any) -> Any:
        flat = self._flatten(args)
        out = self._out_type()
        self._function(out, *flat)
        if self._failed.value:
            self._failed.value = 0
            raise RuntimeError(f"the compiled kernel {self.name} raised an exception")
        result = self.kernel.result
        if result == NONE:
            return None
        if result == SCALAR:
            return np.int64(out[0])
        if result == UINT64:
            return np.uint64(out[0])
        return tuple(out)


_lock = threading.Lock()
_loaded: dict[str, Callable[..., Any]] = {}
_state: dict[str, Path | None] = {}


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


def _build(target: Path) -> bool:
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


def _directory() -> Path | None:
    """The built library directory, building it first if needed (once per process)."""
    if "dir" in _state:
        return _state["dir"]
    found: Path | None = None
    if os.environ.get(SWITCH, "1") != "0":
        try:
            target = library_dir()
            built = (target / COMPLETE).exists()
            if not built and not failed_marker(target).exists():
                built = _build(target)
            found = target if built else None
        except OSError:
            found = None
    _state["dir"] = found
    return found


def ensure_built() -> Path | None:
    """The built library directory (building it now if needed), or None when the JIT runs."""
    with _lock:
        return _directory()


def jit_kernel(name: str) -> Callable[..., Any]:
    """The numba function of kernel `name` (imports numba)."""
    spec = KERNELS[name]
    function: Callable[..., Any] = getattr(import_module(spec.module), spec.function)
    return function


def kernel(name: str) -> Callable[..., Any]:
    """The kernel `name` of `spec.KERNELS`: compiled library function, else numba's."""
    found = _loaded.get(name)
    if found is not None:
        return found
    with _lock:
        found = _loaded.get(name)
        if found is not None:
            return found
        directory = _directory()
        chosen: Callable[..., Any] | None = None
        if directory is not None:
            try:
                library = ctypes.CDLL(str(directory / f"{name}.so"))
                chosen = NativeKernel(name, KERNELS[name], library)
            except (OSError, AttributeError):
                # A damaged library: the JIT runs this time, the next run builds afresh.
                shutil.rmtree(directory, ignore_errors=True)
        if chosen is None:
            chosen = jit_kernel(name)
        _loaded[name] = chosen
        return chosen


def using_native() -> bool:
    """True when this process calls kernels from the shared libraries."""
    return any(isinstance(k, NativeKernel) for k in _loaded.values()) or (
        _state.get("dir") is not None
    )


def numba_loaded() -> bool:
    """True when numba has been imported in this process."""
    return "numba" in sys.modules
