"""Compile the kernels once into shared libraries that later runs load without numba.

Each kernel of `spec.KERNELS` gets a C wrapper compiled by numba (`numba.cfunc`): it turns
the C arguments back into arrays of exactly the types the Python callers pass and calls the
kernel. The wrapper's LLVM module (kernel and helpers linked in) is optimised once and
emitted as position-independent object code for this CPU, and the system linker
(`native.link`) makes it a shared library. The exported symbol is `wiredoctor_<name>`. Run
as a module, this is one build worker (`native.store` starts them, several at once).

A worker only needs numba's LLVM modules, so it first turns off what numba does for code it
will run in this process (`lean_compiler`): machine code for every helper's library
(numba's JIT emits each one), optimising every helper's module on its own before it is
linked into its caller's (and again there), and numba's on-disk cache. On the verification
kernel that cut the worker from 9.7 s to 6.2 s: LLVM time went from 5.8 s to 1.7 s. The one
optimisation left runs on the linked module with only the exported wrapper visible outside
it (`internalise`), so the helpers are inlined into the kernel.

Always holds: a directory is complete only once every library in it is linked (the caller
renames a finished temporary directory into place); nothing here runs a kernel.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numba
import numpy as np
from llvmlite import binding as llvm
from numba.core import cgutils, types
from numba.extending import intrinsic
from numba.np.arrayobj import make_array, populate_array

from wiredoctor.native.link import BuildError, link
from wiredoctor.native.spec import FLAG, INT, KERNELS, NONE, SCALAR, UINT64, Array, Kernel
from wiredoctor.native.stubs import STUBBED, stub_module

SYMBOL_PREFIX = "wiredoctor_"


def numba_type(arg: Array) -> Any:
    """numba's type of the arrays the Python callers pass for `arg`."""
    sample = np.empty((1,) * arg.ndim, dtype=arg.dtype)
    typ = numba.typeof(sample)
    return typ.copy(readonly=arg.readonly) if arg.readonly else typ


def _array_maker(aryty: Any) -> Callable[..., Any]:
    """An intrinsic that views (data pointer, shape tuple) as a C-contiguous `aryty`."""

    @intrinsic
    def make(typingctx: Any, ptr: Any, shape: Any) -> Any:
        def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
            data_ptr, shape_value = args
            ary = make_array(aryty)(context, builder)
            itemsize = context.get_abi_sizeof(context.get_data_type(aryty.dtype))
            dims = cgutils.unpack_tuple(builder, shape_value, aryty.ndim)
            strides = []
            stride = context.get_constant(types.intp, itemsize)
            for dim in reversed(dims):
                strides.append(stride)
                stride = builder.mul(stride, dim)
            strides.reverse()
            populate_array(
                ary,
                data=builder.bitcast(data_ptr, ary.data.type),
                shape=dims,
                strides=strides,
                itemsize=context.get_constant(types.intp, itemsize),
                meminfo=None,
            )
            return ary._getvalue()

        return aryty(ptr, shape), codegen

    return make


def wrapper_source(kernel: Kernel) -> tuple[str, list[Any]]:
    """Python source of the C wrapper of `kernel`, and its numba argument types."""
    params = ["out"]
    c_types: list[Any] = [types.CPointer(types.uint64 if kernel.result == UINT64 else types.int64)]
    call: list[str] = []
    for i, arg in enumerate(kernel.args):
        if isinstance(arg, Array):
            dims = [f"d{i}_{k}" for k in range(arg.ndim)]
            params += [f"a{i}", *dims]
            c_types += [types.voidptr] + [types.int64] * arg.ndim
            call.append(f"make{i}(a{i}, ({', '.join(dims)},))")
        elif arg in (INT, FLAG):
            params.append(f"a{i}")
            c_types.append(types.int64)
            call.append(f"a{i} != 0" if arg == FLAG else f"a{i}")
        else:
            raise ValueError(f"unknown argument kind {arg!r}")
    lines = [f"def wrapper({', '.join(params)}):", f"    r = kernel({', '.join(call)})"]
    if kernel.result != NONE:
        lines.append(f"    o = make_out(out, ({kernel.words},))")
        if kernel.result in (SCALAR, UINT64):
            lines.append("    o[0] = r")
        else:
            lines += [f"    o[{k}] = r[{k}]" for k in range(kernel.result)]
    return "\n".join(lines) + "\n", c_types


def _compile_wrapper(name: str, kernel: Kernel) -> Any:
    """The numba cfunc wrapping `kernel` (compiled, not yet emitted)."""
    function = getattr(importlib.import_module(kernel.module), kernel.function)
    source, c_types = wrapper_source(kernel)
    out_type = types.Array(types.uint64 if kernel.result == UINT64 else types.int64, 1, "C")
    namespace: dict[str, Any] = {"kernel": function, "make_out": _array_maker(out_type)}
    for i, arg in enumerate(kernel.args):
        if isinstance(arg, Array):
            namespace[f"make{i}"] = _array_maker(numba_type(arg))
    exec(compile(source, f"<wrapper of {kernel.module}.{kernel.function}>", "exec"), namespace)
    signature = types.void(*c_types)
    return numba.cfunc(signature)(namespace["wrapper"])


def _target_machine(library: Any) -> Any:
    """A target machine for this CPU that emits position-independent code."""
    codegen = library.codegen
    target = llvm.Target.from_triple(llvm.get_process_triple())
    return target.create_target_machine(
        cpu=codegen._get_host_cpu_name(),
        features=codegen._tm_features,
        opt=3,
        reloc="pic",
        codemodel="default",
    )


def lean_compiler() -> bool:
    """Make numba in this process compile to LLVM modules only (see the module docstring).

    Nothing compiled afterwards can run in this process: numba's JIT receives no module and
    function addresses come back as 0. Returns False (and changes nothing) when numba's
    internals are not the expected ones; the worker then builds as numba normally would.
    """
    from numba.core import caching, codegen

    jit = codegen.JITCPUCodegen
    library = codegen.CPUCodeLibrary
    cache = caching.FunctionCache
    wanted = (
        (jit, "_add_module"),
        (jit, "set_env"),
        (library, "_optimize_functions"),
        (library, "_optimize_final_module"),
        (cache, "load_overload"),
        (cache, "save_overload"),
    )
    if not all(callable(getattr(owner, name, None)) for owner, name in wanted):
        return False

    def keep_layout(self: Any, ll_module: Any) -> None:
        ll_module.data_layout = self._codegen._data_layout

    replacements = (
        lambda self, module: None,  # no module for the JIT: no machine code emitted
        lambda self, env_name, env: None,  # no JIT global to point at the environment
        keep_layout,
        lambda self: None,
        lambda self, sig, target_context: None,  # nothing loaded from numba's cache
        lambda self, sig, data: None,  # nor saved there
    )
    for (owner, name), replacement in zip(wanted, replacements, strict=True):
        setattr(owner, name, replacement)
    return True


def optimise(library: Any, module: Any) -> None:
    """Run numba's module optimisation on `module` once, as numba runs it on a library's
    final module: a cheap pass that inlines, then the full pipeline at numba's level."""
    codegen = library.codegen
    module.data_layout = codegen._data_layout
    cheap = codegen._module_pass_manager(
        loop_vectorize=codegen._loopvect,
        slp_vectorize=False,
        opt=codegen._opt_level,
        cost="cheap",
    )
    for made in (cheap, codegen._module_pass_manager()):
        if isinstance(made, tuple):  # LLVM's new pass manager: (manager, pass builder)
            manager, builder = made
            manager.run(module, builder)
        else:
            made.run(module)


def internalise(module: Any, exported: str) -> None:
    """Give every function `module` defines, but `exported`, internal linkage.

    numba gives each helper linkonce_odr linkage, so a copy must survive for other modules:
    the inliner then weighs every helper as code duplicated at each call, keeps the larger
    ones out of line, and calls them through the library's PLT. Internal ones may go: a
    helper called once is inlined whatever its size. On the verification kernel that made
    the kernel 1.6 times as fast (bench-1m.pcap, one CPU: 0.26 s to 0.16 s) and its build
    a tenth slower."""
    for function in module.functions:
        if not function.is_declaration and function.name != exported:
            function.linkage = "internal"


def object_code(name: str, kernel: Kernel, *, lean: bool = False) -> bytes:
    """Position-independent object code exporting `kernel` as `wiredoctor_<name>`; `lean`
    when `lean_compiler` is in effect (the module is then optimised here)."""
    compiled = _compile_wrapper(name, kernel)
    library = compiled._library
    module = llvm.parse_bitcode(library._final_module.as_bitcode())
    module.get_function(compiled.native_name).name = SYMBOL_PREFIX + name
    if lean:
        internalise(module, SYMBOL_PREFIX + name)
        optimise(library, module)
    needed = {f.name for f in module.functions if f.is_declaration} & STUBBED
    module.link_in(llvm.parse_assembly(str(stub_module(needed))))
    for stubbed in needed:
        module.get_function(stubbed).visibility = "hidden"
    return bytes(_target_machine(library).emit_object(module))


def build(directory: Path, names: list[str], *, lean: bool = False) -> None:
    """Build the libraries of kernels `names` into `directory` (which must exist); `lean`
    when `lean_compiler` is in effect."""
    for name in names:
        obj = directory / f"{name}.o"
        obj.write_bytes(object_code(name, KERNELS[name], lean=lean))
        link(obj, directory / f"{name}.so")
        obj.unlink()


def main(argv: list[str]) -> int:
    """`python -m wiredoctor.native.build DIRECTORY NAME...`: one build worker."""
    if len(argv) < 2 or any(name not in KERNELS for name in argv[1:]):
        sys.stderr.write(f"usage: DIRECTORY NAME... (names: {', '.join(KERNELS)})\n")
        return 2
    try:
        build(Path(argv[0]), argv[1:], lean=lean_compiler())
    except BuildError as error:
        sys.stderr.write(f"{error}\n")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
