"""The fast path's hashes as Python code asks for them, without importing numba.

`key_hash_of` is `fast.fragments.key_hash` in plain Python (the reference reassembly state
keys its datagrams with it); `hash_bytes` is the compiled payload hash of one byte string,
through `wiredoctor.native` (the shared library, or numba's JIT).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from wiredoctor.fast.marks import HASH_OFFSET_BASIS, HASH_PRIME, HASH_SHIFT
from wiredoctor.native.library import kernel
from wiredoctor.tables import ipv4_mapped, ipv6_halves

if TYPE_CHECKING:
    from wiredoctor.decode.reassembly import FragmentKey

MASK64 = (1 << 64) - 1


def key_hash_of(key: FragmentKey) -> int:
    """`fast.fragments.key_hash` of a reassembly key as the reference builds it."""
    version, source, destination, ident, proto = key
    halves = ipv4_mapped if version == 4 else ipv6_halves
    h = int(HASH_OFFSET_BASIS) ^ version
    for word in (*halves(source), *halves(destination), ident & MASK64, proto & MASK64):
        h = ((h ^ word) * int(HASH_PRIME)) & MASK64
        h ^= h >> int(HASH_SHIFT)
    return h


def hash_bytes(data: bytes) -> int:
    """`decode.fnv.payload_hash` of `data`, compiled: the reference path's frames handed back
    by the kernel hash their payloads with this (same values, far fewer cycles)."""
    if not data:
        return 0
    buf = np.frombuffer(data, dtype=np.uint8)
    return int(kernel("hash_array")(buf))
