"""Mapping a window's pages into the process before they are read, on a helper thread.

Linux's MADV_POPULATE_READ (5.14+, value 22 in <linux/mman.h>) maps a window's pages (from
the page cache: nothing is read or copied) in one call, far cheaper than a page fault per
page while the kernels walk it. Python's `mmap.madvise` holds the GIL for the whole call
(60–90 ms for the 784 MB of a 1M-frame capture), on the thread that walks the records and
finishes each batch, which is the critical path of the fast verifier. Called through ctypes
the GIL is released, so a helper thread maps the next window while that thread works on the
current one.

Always holds: populating only maps pages a read would map anyway (no value changes); the
mapping stays referenced until its call returns; a kernel that refuses the advice (older
than 5.14, not Linux) leaves the pages to fault in as they are read.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import mmap
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from concurrent.futures import Future, ThreadPoolExecutor

Advise = Callable[[int, int, int], int]

MADV_POPULATE_READ = getattr(mmap, "MADV_POPULATE_READ", 22)

_lock = threading.Lock()


def populate_now(mapping: mmap.mmap) -> None:
    """Map the pages of `mapping` now, on this thread (where the kernel can)."""
    if sys.platform != "linux":
        return
    with contextlib.suppress(OSError):
        mapping.madvise(MADV_POPULATE_READ)


@functools.cache
def _helper() -> tuple[ThreadPoolExecutor, Advise] | None:
    """The helper thread and libc's madvise (made once, under `_lock`), or None."""
    try:
        function = ctypes.CDLL(None, use_errno=True).madvise
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    function.restype = ctypes.c_int
    # Imported here: captures under a window's size never need the helper.
    from concurrent.futures import ThreadPoolExecutor

    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="populate"), function


def populate_later(mapping: mmap.mmap) -> Future[int] | None:
    """Map the pages of `mapping` on the helper thread; None when that cannot be done here
    (the caller may populate now instead)."""
    if sys.platform != "linux" or len(mapping) == 0:
        return None
    with _lock:
        found = _helper()
    if found is None:
        return None
    helper, madvise = found
    return helper.submit(_advise, madvise, np.frombuffer(mapping, dtype=np.uint8))


def _advise(madvise: Advise, view: npt.NDArray[np.uint8]) -> int:
    """madvise over the bytes of `view` (which keeps its mapping alive meanwhile)."""
    return int(madvise(view.ctypes.data, view.shape[0], MADV_POPULATE_READ))
