"""Find, build once and load the compiled kernels; call them through ctypes without numba.

`kernel(name)` returns a callable with the calling convention of the numba function
`spec.KERNELS[name]`: same arguments, same results. It is the shared library's function when
the library is built for these sources, this numba and this CPU (building it on first use:
the one line on stderr says so), else the numba function itself. ctypes releases the GIL for
the call, so kernels run in parallel on threads as the numba ones do.

Where the libraries are kept, and how they are built, is `native.store`.

Always holds: importing this module, and calling a kernel whose library is built, never
imports numba; `WIREDOCTOR_NATIVE=0` in the environment keeps every kernel on numba's JIT;
a library that cannot be built or loaded leaves the JIT in charge and never stops a run.
"""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Callable
from importlib import import_module
from pathlib import Path
from typing import Any

import numpy as np

from wiredoctor.native import store
from wiredoctor.native.link import linker
from wiredoctor.native.spec import FLAG, KERNELS, NONE, SCALAR, UINT64, Array, Kernel

SWITCH = "WIREDOCTOR_NATIVE"
"""Environment variable: "0" keeps the kernels on numba's JIT."""


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
                # Not `__array_interface__`: it spells out a record dtype's fields each time.
                flat.append(value.ctypes.data)
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


def _directory() -> Path | None:
    """The built library directory, building it first if needed (once per process)."""
    if "dir" in _state:
        return _state["dir"]
    found: Path | None = None
    if os.environ.get(SWITCH, "1") != "0":
        try:
            target = store.library_dir()
            if store.missing(target):
                built = store.build_into(target)
            else:
                built = (target / store.COMPLETE).exists()
            found = target if built else None
        except OSError:
            found = None
    _state["dir"] = found
    return found


def pending() -> Path | None:
    """Where the libraries will be, when they are not built yet but can be (the switch on,
    no failed build recorded for these sources, a linker) and this process has not looked
    for them yet; else None. A run that needs the kernels only briefly may then go without
    them and build them in the background (`native.background`)."""
    with _lock:
        if "dir" in _state or os.environ.get(SWITCH, "1") == "0":
            return None
        try:
            target = store.library_dir()
            if not store.missing(target):
                return None
        except OSError:
            return None
        return target if linker() is not None else None


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
            except (OSError, AttributeError) as error:
                # A library this machine cannot load (a damaged file, a cache on a noexec
                # mount): recorded like a failed build, so no later run rebuilds it in vain.
                problem = f"loading {name}.so failed: {error}"
                store.say_unused(problem)
                store.record_failure(directory, problem)
                _state["dir"] = None
        if chosen is None:
            chosen = jit_kernel(name)
        _loaded[name] = chosen
        return chosen
