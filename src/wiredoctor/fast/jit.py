"""How the kernels are compiled: the options every kernel function shares, in one place.

Entry kernels (called from Python) are cached on disk and release the GIL so chunks run on
threads. Helpers are compiled into the entry that calls them: no Python wrapper of their
own, and no reference counting (`_nrt=False`) — they never allocate, and without it numba
would increment a shared counter on every array passed, which serialises the threads.

Always holds: these decorators return the function's own type to the type checker (numba's
dispatcher is callable with the same arguments); nothing is compiled at import time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba
import numpy as np
import numpy.typing as npt

F = TypeVar("F", bound=Callable[..., Any])


ENTRY_OPTIONS: dict[str, Any] = {"cache": True, "nogil": True, "_nrt": False}
"""numba options of the entry kernels."""

HELPER_OPTIONS: dict[str, Any] = {
    "nogil": True,
    "_nrt": False,
    "no_cpython_wrapper": True,
    "no_cfunc_wrapper": True,
}
"""numba options of the helpers (the last two skip wrappers only Python callers need)."""


def entry(function: F) -> F:
    """Compile `function` lazily as a cached, nogil kernel callable from Python."""
    return cast(F, numba.njit(**ENTRY_OPTIONS)(function))


def helper(function: F) -> F:
    """Compile `function` lazily as a nogil helper that only other kernels call."""
    return cast(F, numba.njit(**HELPER_OPTIONS)(function))


Int = int | np.integer[Any]
"""An integer inside a kernel: numba types it as int64 or a fixed-width numpy integer."""

Bytes = npt.NDArray[np.uint8]
"""A read-only byte buffer (a batch's mapped window)."""

Table = npt.NDArray[np.void]
"""A frame or checksum table (`tables.FRAME_DTYPE` / `tables.CHECKSUM_DTYPE` rows)."""

Row = Any
"""One row of a table inside a kernel (a numba record: columns are attributes)."""

Scratch = npt.NDArray[np.int64]
"""Per-chunk scratch counters."""
