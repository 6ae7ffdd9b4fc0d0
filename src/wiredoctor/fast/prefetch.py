"""A software prefetch for the kernels: ask the CPU to bring a byte's cache line in early.

Walking records is a chain of dependent loads: the next record's offset is only known once
the current header is read, so on a window that is not in cache every record costs a full
memory latency (about 120 ns here), and the hardware prefetcher cannot guess irregular
strides. Prefetching the bytes a little ahead of the walk, line by line, turns that chain
into a stream (about 30 ns a record). `prefetch` compiles to LLVM's `llvm.prefetch`
intrinsic (read, high locality, data cache), which never faults and changes no value. The
TCP flow pass (`checks.flowstream`) asks for its flow tables' lines the same way, some
frames ahead of each frame's turn.

Always holds: `prefetch` has no effect a program can observe except speed; callers keep the
index inside the array anyway.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from llvmlite import ir
from numba.core import cgutils as _cgutils
from numba.core import types
from numba.extending import intrinsic

cgutils: Any = _cgutils  # numba's code-generation helpers carry no annotations

LINE = 64
"""Bytes of a cache line on the machines numba targets here (x86-64, aarch64)."""

AHEAD = 4096
"""How far ahead of the walk the lines are asked for."""


def _prefetch(typingctx: Any, array: Any, index: Any) -> Any:
    """Typing and code generation of `prefetch` for numba."""
    if not isinstance(array, types.Array):
        return None
    if isinstance(index, types.Integer):
        index_types = [index]
    elif isinstance(index, types.UniTuple) and isinstance(index.dtype, types.Integer):
        index_types = [index.dtype] * index.count
    else:
        return None
    if len(index_types) != array.ndim:
        return None
    signature = types.void(array, index)

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        array_type = sig.args[0]
        data = context.make_array(array_type)(context, builder, args[0])
        values = [args[1]] if len(index_types) == 1 else cgutils.unpack_tuple(builder, args[1])
        at = [
            context.cast(builder, value, typ, types.intp)
            for value, typ in zip(values, index_types, strict=True)
        ]
        pointer = cgutils.get_item_pointer(
            context, builder, array_type, data, at, wraparound=False, boundscheck=False
        )
        byte_pointer = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        function = cgutils.get_or_insert_function(
            builder.module,
            ir.FunctionType(ir.VoidType(), [byte_pointer, i32, i32, i32]),
            "llvm.prefetch.p0",
        )
        # Arguments: address, 0 = read, 3 = keep in all cache levels, 1 = data cache.
        builder.call(
            function,
            [
                builder.bitcast(pointer, byte_pointer),
                ir.Constant(i32, 0),
                ir.Constant(i32, 3),
                ir.Constant(i32, 1),
            ],
        )
        return context.get_dummy_value()

    return signature, codegen


prefetch = cast(Callable[[Any, Any], None], intrinsic(_prefetch))
"""`prefetch(array, index)` inside a kernel: a hint that array[index] will be read soon
(`index` an integer, or a tuple of one integer per dimension)."""
