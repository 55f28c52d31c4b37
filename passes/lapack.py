"""cpu-lapack: gives the `mxir_lapack_<routine>` functions that LAPACK ops' lowerings call
(dialect/lapack.py) bodies that call the LAPACKE routine of the OpenBLAS that matmul uses
(passes/matmul.py: NumPy's ILP64 copy, or the LP64 scipy-openblas32 wheel), and records the
library in the module's `mxir.shared_libs` for the JIT.

The lowerings pass 64-bit integers, and pivot arrays of 64-bit integers; for an LP64 library
the bodies narrow the scalars, and a pivot array is narrowed in place before a routine reads
it and widened in place after a routine writes it (the routines that take pivots are listed in
`_PIVOTS`). `mx-linalg-to-gpu` refuses these calls: MLX runs linalg on the CPU only.
"""

from __future__ import annotations

from mlir import ir
from mlir.dialects import arith, func, llvm, scf
from mxir.dialect import MxError
from mxir.dialect.lapack import LAPACK_PREFIX

from .ir_utils import first_op
from .matmul import SHARED_LIBS_ATTR, _exports, blas_target

# routine (without the s/d prefix) -> (index of the pivot pointer argument, index of the order
# argument n, whether the routine writes the pivots)
_PIVOTS = {"getrf": (5, 2, True), "getri": (4, 1, False)}


def lapack_symbol(routine: str, int_bits: int) -> str:
    return f"scipy_LAPACKE_{routine}64_" if int_bits == 64 else f"scipy_LAPACKE_{routine}"


def lapack_calls(module) -> list:
    """The declared `mxir_lapack_*` functions of a module."""
    return [op for op in module.body.operations
            if op.operation.name == "func.func"
            and ir.StringAttr(op.attributes["sym_name"]).value.startswith(LAPACK_PREFIX)
            and not op.regions[0].blocks]


def cpu_lapack(module) -> None:
    decls = lapack_calls(module)
    if not decls:
        return
    target = blas_target()
    routines = [ir.StringAttr(d.attributes["sym_name"]).value[len(LAPACK_PREFIX):]
                for d in decls]
    symbols = [lapack_symbol(r, target.int_bits) for r in routines] if target else []
    if target is None or not _exports(target.library, symbols):
        raise MxError("mx.linalg needs LAPACK: no OpenBLAS with LAPACKE was found (NumPy's "
                      "bundled one or the scipy-openblas32 wheel; see MXIR_BLAS)")
    for decl, routine, symbol in zip(decls, routines, symbols):
        _define(module, decl, routine, symbol, target.int_bits)
    attrs = module.operation.attributes
    libs = [ir.StringAttr(a).value for a in ir.ArrayAttr(attrs[SHARED_LIBS_ATTR])] \
        if SHARED_LIBS_ATTR in attrs else []
    if target.library not in libs:
        libs.append(target.library)
    attrs[SHARED_LIBS_ATTR] = ir.ArrayAttr.get([ir.StringAttr.get(x) for x in libs])


def _define(module, decl, routine: str, symbol: str, int_bits: int) -> None:
    ftype = ir.FunctionType(ir.TypeAttr(decl.attributes["function_type"]).value)
    i64 = ir.IntegerType.get_signless(64)
    lint = ir.IntegerType.get_signless(int_bits)
    # the C int matrix layout and the char options keep their types; LAPACK integers narrow
    arg_types = [lint if t == i64 else t for t in ftype.inputs]
    with ir.InsertionPoint.at_block_begin(module.body), ir.Location.unknown():
        callee = func.FuncOp(symbol, ir.FunctionType.get(arg_types, [lint]))
        callee.attributes["sym_visibility"] = ir.StringAttr.get("private")
    del decl.attributes["sym_visibility"]
    decl.attributes["sym_visibility"] = ir.StringAttr.get("private")
    block = decl.add_entry_block()
    with ir.InsertionPoint(block), ir.Location.unknown():
        args = list(block.arguments)
        pivots = _PIVOTS.get(routine[1:])
        narrow = int_bits != 64 and pivots is not None
        if narrow and not pivots[2]:
            _repack_pivots(args[pivots[0]], args[pivots[1]], widen=False)
        call_args = [arith.trunci(lint, a) if a.type == i64 and lint != i64 else a
                     for a in args]
        info = func.CallOp([lint], ir.FlatSymbolRefAttr.get(symbol), call_args).result
        if narrow and pivots[2]:
            _repack_pivots(args[pivots[0]], args[pivots[1]], widen=True)
        func.ReturnOp([arith.extsi(i64, info) if lint != i64 else info])


def _repack_pivots(ptr, n, widen: bool) -> None:
    """Convert n pivots between int64 and int32 in place: widening walks from the end,
    narrowing from the start, so no element is overwritten before it is read."""
    i32, i64 = ir.IntegerType.get_signless(32), ir.IntegerType.get_signless(64)
    index = ir.IndexType.get()
    count = arith.index_cast(index, n)
    loop = scf.ForOp(arith.constant(index, 0), count, arith.constant(index, 1))
    with ir.InsertionPoint(loop.body):
        i = loop.induction_variable
        if widen:
            i = arith.subi(arith.subi(count, arith.constant(index, 1)), i)
        j = arith.index_cast(i64, i)
        p32 = llvm.getelementptr(llvm.PointerType.get(), ptr, [j], [-2147483648], i32, 0)
        p64 = llvm.getelementptr(llvm.PointerType.get(), ptr, [j], [-2147483648], i64, 0)
        if widen:
            llvm.store(arith.extsi(i64, llvm.load(i32, p32)), p64)
        else:
            llvm.store(arith.trunci(i32, llvm.load(i64, p64)), p32)
        scf.YieldOp([])


def refuse_on_gpu(module) -> None:
    """MLX runs linalg on the CPU stream only; the GPU pipeline says so at the op."""
    call = first_op(module, lambda op: op.name == "func.call" and ir.FlatSymbolRefAttr(
        op.attributes["callee"]).value.startswith(LAPACK_PREFIX))
    if call is not None:
        raise MxError("mx.linalg ops run on the CPU only (LAPACK), as in MLX: this op is not "
                      "supported on the GPU", call.location)
