"""Stand-ins for the numba runtime functions a compiled kernel refers to.

numba resolves these symbols inside its own JIT; a shared library loaded without numba must
define them itself. Kernels only reach them on an error path (a Python exception inside
compiled code, which valid callers never trigger) or when freeing numba-allocated memory,
which these kernels never allocate. The stand-ins take the GIL as numba does, raise
RuntimeError in place of the original exception (its details stay in numba's pickled
form), and set `wiredoctor_failed` so the Python caller raises after the call returns; the
C wrapper's print of the exception as "ignored" becomes a silent clear. The builder makes
them hidden: each library uses its own, whatever else the process has loaded.

Always holds: the module only declares Python C-API and libc functions, which the process
loading the library provides.
"""

from __future__ import annotations

from typing import Any

from llvmlite import ir

FAILED_SYMBOL = "wiredoctor_failed"
MESSAGE = b"a compiled wiredoctor kernel raised an exception\x00"


STUBBED = frozenset(
    {
        "numba_gil_ensure",
        "numba_gil_release",
        "numba_unpickle",
        "numba_runtime_build_excinfo_struct",
        "numba_do_raise",
        "NRT_Free",
        "NRT_MemInfo_call_dtor",
        "PyErr_WriteUnraisable",
    }
)
"""The runtime functions defined here."""


def stub_module(needed: set[str]) -> ir.Module:
    """An LLVM module defining the failure flag and those of `STUBBED` in `needed`."""
    module = ir.Module(name="wiredoctor_stubs")
    i8p = ir.IntType(8).as_pointer()
    i32 = ir.IntType(32)
    void = ir.VoidType()
    failed = ir.GlobalVariable(module, i32, FAILED_SYMBOL)
    failed.initializer = ir.Constant(i32, 0)
    runtime_error = ir.GlobalVariable(module, i8p, "PyExc_RuntimeError")
    message = ir.GlobalVariable(module, ir.ArrayType(ir.IntType(8), len(MESSAGE)), "wd_message")
    message.initializer = ir.Constant(ir.ArrayType(ir.IntType(8), len(MESSAGE)), bytearray(MESSAGE))
    message.global_constant = True
    message.linkage = "private"

    def declare(name: str, ret: Any, *args: Any) -> ir.Function:
        return ir.Function(module, ir.FunctionType(ret, args), name)

    gil_ensure = declare("PyGILState_Ensure", i32)
    gil_release = declare("PyGILState_Release", void, i32)
    incref = declare("Py_IncRef", void, i8p)
    set_string = declare("PyErr_SetString", void, i8p, i8p)
    clear = declare("PyErr_Clear", void)
    free = declare("free", void, i8p)

    def define(name: str, ret: Any, *args: Any) -> tuple[ir.Function, ir.IRBuilder]:
        # Unneeded ones get a name no kernel refers to, so the linker never sees a clash.
        used = name in needed
        function = ir.Function(
            module, ir.FunctionType(ret, args), name if used else f"wd_unused_{name}"
        )
        if not used:
            function.linkage = "internal"
        return function, ir.IRBuilder(function.append_basic_block())

    def mark_failed(builder: ir.IRBuilder) -> Any:
        builder.store(ir.Constant(i32, 1), failed)
        error = builder.load(runtime_error)
        builder.call(incref, [error])
        return error

    function, b = define("numba_gil_ensure", void, i32.as_pointer())
    b.store(b.call(gil_ensure, []), function.args[0])
    b.ret_void()
    function, b = define("numba_gil_release", void, i32.as_pointer())
    b.call(gil_release, [b.load(function.args[0])])
    b.ret_void()
    for name in ("numba_unpickle", "numba_runtime_build_excinfo_struct"):
        function, b = define(name, i8p, i8p, i8p)
        b.ret(mark_failed(b))
    function, b = define("numba_do_raise", i32, i8p)
    b.store(ir.Constant(i32, 1), failed)
    text = b.bitcast(message, i8p)
    b.call(set_string, [b.load(runtime_error), text])
    b.ret(ir.Constant(i32, 0))
    function, b = define("NRT_Free", void, i8p)
    b.call(free, [function.args[0]])
    b.ret_void()
    function, b = define("NRT_MemInfo_call_dtor", void, i8p)
    b.ret_void()
    # numba's C wrapper prints the exception as "ignored"; the caller raises it instead.
    function, b = define("PyErr_WriteUnraisable", void, i8p)
    b.call(clear, [])
    b.ret_void()
    return module
