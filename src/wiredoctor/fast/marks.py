"""Numbers the kernels share with their Python callers, in a module without numba.

The kernels read these as compile-time constants; the Python side of the fast path
(`fast.verify`, `fast.fallback`) reads them without importing a kernel module, so a run
whose kernels come from the shared library (`wiredoctor.native`) never loads numba.
"""

from __future__ import annotations

import numpy as np

MAX_DATAGRAMS = 8  # nesting the kernel follows before the reference path takes over
MAX_ROWS_PER_FRAME = 2 * MAX_DATAGRAMS  # checksum rows one frame can give the kernel

REDO_NONE = 0
REDO_FRAME = 1  # the reference path verifies the whole frame again
REDO_FRAGMENT = 2  # the kernel's rows stand; the fragment still goes to reassembly

ACT_REFERENCE = 0  # the reference path adds this fragment (its key is not clean)
ACT_WAIT = 1  # part of a clean datagram completed by a later fragment of the batch
ACT_DONE = 2  # completes a clean datagram: gets REASSEMBLED and the verdict row

MAX_PIECES = 64  # fragments of one datagram the compiled reassembly tracks

HASH_OFFSET_BASIS = np.uint64(0xCBF29CE484222325)  # decode.fnv.HASH_OFFSET_BASIS
HASH_PRIME = np.uint64(0x100000001B3)  # decode.fnv.HASH_PRIME
HASH_SHIFT = np.uint64(29)  # decode.fnv.HASH_SHIFT
