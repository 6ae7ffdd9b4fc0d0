"""Which kernels the shared library exports, and the C arguments each one takes.

A kernel is the numba function `module.function`. Its exported C function takes a pointer to
its result words first, then, for each argument in order: an array as its data pointer
followed by its shape (one int64 per dimension), a scalar as one int64 (a flag as 0 or 1).
The result words are int64, except `UINT64` results. The kernel inside is compiled for
exactly the argument types its Python callers pass (`Array.readonly` included), as numba's
JIT compiles it when the libraries are not used.

Always holds: this module imports neither numba nor any kernel module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from wiredoctor.tables import CHECKSUM_DTYPE, FRAME_DTYPE


@dataclass(frozen=True, slots=True)
class Array:
    """A C-contiguous array argument."""

    dtype: np.dtype[Any]
    """Its element type."""
    ndim: int = 1
    """Its dimensions."""
    readonly: bool = False
    """True when the callers pass a read-only array (part of numba's type)."""


INT = "int"
"""An integer argument (int64)."""
FLAG = "flag"
"""A boolean argument."""

NONE = 0
"""Result kind: the kernel returns nothing."""
SCALAR = -1
"""Result kind: the kernel returns one int64 (not a tuple)."""
UINT64 = -2
"""Result kind: the kernel returns one uint64."""

Argument = Array | str


@dataclass(frozen=True, slots=True)
class Kernel:
    """One exported kernel."""

    module: str
    """The module that defines it."""
    function: str
    """Its name there."""
    args: tuple[Argument, ...]
    """Its arguments, in order."""
    result: int
    """NONE, SCALAR, UINT64, or n > 0: a tuple of n int64."""

    @property
    def words(self) -> int:
        """Result words the caller provides (at least one)."""
        return max(self.result, 1)


def _a(dtype: object, ndim: int = 1, readonly: bool = False) -> Array:
    return Array(np.dtype(dtype), ndim, readonly)  # type: ignore[call-overload]


U8, U16, U32, I32, I64, U64, BOOL = (
    _a(np.uint8),
    _a(np.uint16),
    _a(np.uint32),
    _a(np.int32),
    _a(np.int64),
    _a(np.uint64),
    _a(np.bool_),
)
BUFFER = _a(np.uint8, readonly=True)
"""A mapped capture window or payload, read-only."""
FRAMES = _a(FRAME_DTYPE)
CHECKSUMS = _a(CHECKSUM_DTYPE)
I64_2D = _a(np.int64, 2)

_WALK_PCAPNG = (
    U8, INT, INT, FLAG, U16, I64, I64, I64, I64, INT,
    I64, U32, U32, I64, U16, U16, U8, I64, U32,
)  # fmt: skip
_VERIFY_CHUNK = (
    BUFFER, I64, U32, U32, U16, I64, I64, U16, U8, INT, INT, FRAMES, FRAMES, CHECKSUMS, U8, I64,
    INT,
)  # fmt: skip
_PLAN_FRAGMENTS = (BUFFER, I64, FRAMES, I64, U64, I64, U64, INT, U8, I64, U8, CHECKSUMS, I64)
_TCP_STREAM = (
    FRAMES, BOOL, INT, I64, U64, U64, I64, I64_2D, I64_2D, I64, I64, I64_2D, INT,
    I64, I64, I64, I64, I64, I64, U32, U16, I32, I32, U16, U32, U32, BOOL, I32, U32,
)  # fmt: skip

KERNELS: dict[str, Kernel] = {
    "walk_pcap": Kernel(
        "wiredoctor.capture.pcap_kernel",
        "walk_pcap",
        (U8, INT, FLAG, FLAG, FLAG, INT, I64, U32, U32, I64, U8),
        4,
    ),
    "walk_pcapng": Kernel("wiredoctor.capture.pcapng_kernel", "walk_pcapng", _WALK_PCAPNG, 5),
    "verify_chunk": Kernel("wiredoctor.fast.kernel", "verify_chunk", _VERIFY_CHUNK, 2),
    "plan_fragments": Kernel(
        "wiredoctor.fast.fragments", "plan_fragments", _PLAN_FRAGMENTS, SCALAR
    ),
    "key_hashes": Kernel("wiredoctor.fast.fragments", "key_hashes", (FRAMES, I64, U64), NONE),
    "splice": Kernel(
        "wiredoctor.fast.splice",
        "splice",
        (FRAMES, U8, INT, I64, I64, U8, I64, I64, I64, U8),
        SCALAR,
    ),
    "number_rows": Kernel("wiredoctor.fast.numbering", "number_rows", (FRAMES, INT, INT), SCALAR),
    "hash_array": Kernel("wiredoctor.fast.hashing", "hash_array", (BUFFER,), UINT64),
    "frame_pass": Kernel(
        "wiredoctor.checks.rowscan", "frame_pass", (FRAMES, I64, INT, U8, I64, I64_2D, I64), SCALAR
    ),
    "checksum_pass": Kernel(
        "wiredoctor.checks.rowscan", "checksum_pass", (CHECKSUMS, INT, INT, I64, I64, I64), SCALAR
    ),
    "tcp_stream_pass": Kernel("wiredoctor.checks.flowstream", "tcp_stream_pass", _TCP_STREAM, 4),
    "tcp_pending_fold": Kernel(
        "wiredoctor.checks.flowstream", "tcp_pending_fold", (I32, U32, INT, I64, I64, I64), SCALAR
    ),
    "tcp_stream_slots": Kernel(
        "wiredoctor.checks.flowstream", "tcp_stream_slots", (I64, U64, INT), NONE
    ),
    "tcp_stream_finish": Kernel(
        "wiredoctor.checks.flowstream",
        "tcp_stream_finish",
        (I64, I64, I64, I64, I64, I64, I32, U32),
        NONE,
    ),
}
"""Every kernel the library holds, by the name callers ask for."""
