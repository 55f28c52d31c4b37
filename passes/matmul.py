"""cpu-blas-matmul: after bufferization, each `linalg.matmul` / `linalg.batch_matmul` on f32 or
f64 memrefs becomes a call to OpenBLAS's CBLAS gemm (the `scipy-openblas32` wheel, which the CPU
runtime loads into the JIT).

Why BLAS and not our own tiled codegen: on the 2-core dev machine, 1024^3 f32 took 25.4 ms
(1 thread) / 14.0 ms (2 threads) with the best transform-dialect recipe (TOOLCHAIN.md section 4)
against OpenBLAS's 13.6 / 6.6 ms; see DESIGN.md "matmul" for the numbers of this path.

Transposed operands arrive as `indexing_maps` of the linalg op (the matmul lowering folds a
transpose of the last two axes into them) and become BLAS transpose flags, so the transposes that
the vjp of matmul creates are never materialised. Anything else (other element types, broadcast
maps, non-unit inner strides, empty or huge sizes) keeps the linalg loops.
"""

from __future__ import annotations

import importlib.util

from mlir import ir
from mlir.dialects import arith, func, llvm, memref

BLAS_PACKAGE = "scipy_openblas32"  # LP64 (32-bit int) CBLAS with the `scipy_` symbol prefix
_GEMM = {"f32": "scipy_cblas_sgemm", "f64": "scipy_cblas_dgemm"}
_GEMM_BATCHED = {"f32": "scipy_cblas_sgemm_batch_strided",
                 "f64": "scipy_cblas_dgemm_batch_strided"}
_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112
_INT_MAX = 2**31 - 1


def blas_available() -> bool:
    return importlib.util.find_spec(BLAS_PACKAGE) is not None


def blas_matmul(module) -> None:
    """The pass: rewrite every matmul it can into a CBLAS call (a no-op without the library)."""
    if not blas_available():
        return
    declared: set[str] = set()
    for fn in list(module.body.operations):
        if fn.operation.name != "func.func" or not fn.regions[0].blocks:
            continue
        for block in fn.regions[0].blocks:
            for op in list(block.operations):
                if op.operation.name in ("linalg.matmul", "linalg.batch_matmul"):
                    _rewrite(module, op, declared)


def _dims(n: int):
    return [ir.AffineDimExpr.get(i) for i in range(n)]


def _map(n: int, dims) -> ir.AffineMap:
    d = _dims(n)
    return ir.AffineMap.get(n, 0, [d[i] for i in dims])


def _transposes(op, batched: bool):
    """(trans_a, trans_b) from the op's indexing maps, or None for maps BLAS can't take."""
    if batched:  # (b, m, n, k)
        n, a, at, bb, bt, c = 4, (0, 1, 3), (0, 3, 1), (0, 3, 2), (0, 2, 3), (0, 1, 2)
    else:  # (m, n, k)
        n, a, at, bb, bt, c = 3, (0, 2), (2, 0), (2, 1), (1, 2), (0, 1)
    if "indexing_maps" not in op.attributes:
        return False, False
    maps = [ir.AffineMapAttr(m).value for m in ir.ArrayAttr(op.attributes["indexing_maps"])]
    if maps[2] != _map(n, c):
        return None
    ta = True if maps[0] == _map(n, at) else False if maps[0] == _map(n, a) else None
    tb = True if maps[1] == _map(n, bt) else False if maps[1] == _map(n, bb) else None
    return None if ta is None or tb is None else (ta, tb)


def _layout(t: ir.MemRefType):
    """(strides, offset) when static with a unit innermost stride, else None."""
    strides, offset = t.get_strides_and_offset()
    if strides[-1] != 1 or any(t.is_dynamic_stride_or_offset(s)
                               for s in (*strides, offset)):
        return None
    return strides, offset


def _rewrite(module, op, declared: set[str]) -> None:
    batched = op.operation.name == "linalg.batch_matmul"
    a, b = op.operands[0], op.operands[1]
    c = op.operands[2]
    types = [ir.MemRefType(v.type) if isinstance(v.type, ir.MemRefType) else None
             for v in (a, b, c)]
    if None in types or len({str(t.element_type) for t in types}) != 1:
        return
    dtype = str(types[0].element_type)
    if dtype not in _GEMM or not all(t.has_static_shape for t in types):
        return
    trans = _transposes(op, batched)
    layouts = [_layout(t) for t in types]
    if trans is None or None in layouts:
        return
    m, n = types[2].shape[-2:]
    k = types[0].shape[-2] if trans[0] else types[0].shape[-1]
    batch = types[2].shape[0] if batched else 1
    strides = [s for lay in layouts for s in lay[0]]
    if 0 in (m, n, k, batch) or max(m, n, k, batch, *strides) > _INT_MAX:
        return  # empty products stay loops; sizes past 32-bit ints don't fit this CBLAS

    with ir.InsertionPoint(op), op.location:
        # a zero fill of C right before the product becomes beta = 0
        prev = _previous(op)
        beta = 1.0
        if prev is not None and _zero_fill_of(prev, c):
            prev.erase()
            beta = 0.0
        fty = ir.F32Type.get() if dtype == "f32" else ir.F64Type.get()
        i32 = ir.IntegerType.get_signless(32)

        def int_(v):
            return arith.constant(i32, v)

        ptrs = [_data_pointer(v, t) for v, t in zip((a, b, c), types)]
        lds = [lay[0][-2] for lay in layouts]
        args = [int_(_ROW_MAJOR), int_(_TRANS if trans[0] else _NO_TRANS),
                int_(_TRANS if trans[1] else _NO_TRANS), int_(m), int_(n), int_(k),
                arith.constant(fty, 1.0)]
        if batched:
            bstr = [lay[0][0] for lay in layouts]
            args += [ptrs[0], int_(lds[0]), int_(bstr[0]), ptrs[1], int_(lds[1]), int_(bstr[1]),
                     arith.constant(fty, beta), ptrs[2], int_(lds[2]), int_(bstr[2]),
                     int_(batch)]
            name = _GEMM_BATCHED[dtype]
        else:
            args += [ptrs[0], int_(lds[0]), ptrs[1], int_(lds[1]), arith.constant(fty, beta),
                     ptrs[2], int_(lds[2])]
            name = _GEMM[dtype]
        _declare(module, name, [v.type for v in args], declared)
        func.call([], ir.FlatSymbolRefAttr.get(name), args)
    op.erase()


def _previous(op):
    block_ops = list(op.operation.block.operations)
    i = next(i for i, o in enumerate(block_ops) if o.operation == op.operation)
    return block_ops[i - 1] if i > 0 else None


def _zero_fill_of(op, target) -> bool:
    if op.operation.name != "linalg.fill" or op.operands[1] != target:
        return False
    value = op.operands[0].owner
    if not isinstance(value, ir.OpView) or value.operation.name != "arith.constant":
        return False
    attr = value.attributes["value"]
    return isinstance(attr, ir.FloatAttr) and ir.FloatAttr(attr).value == 0.0


def _data_pointer(value, t: ir.MemRefType):
    """An `!llvm.ptr` to the first element: aligned base pointer plus the offset in bytes."""
    _, offset = t.get_strides_and_offset()
    width = 4 if str(t.element_type) == "f32" else 8
    index = ir.IndexType.get()
    base = memref.extract_aligned_pointer_as_index(value)
    if offset:
        base = arith.addi(base, arith.constant(index, offset * width))
    i64 = ir.IntegerType.get_signless(64)
    return llvm.inttoptr(llvm.PointerType.get(), arith.index_cast(i64, base))


def _declare(module, name: str, arg_types, declared: set[str]) -> None:
    if name in declared:
        return
    declared.add(name)
    for op in module.body.operations:
        if op.operation.name == "func.func" and ir.StringAttr(op.attributes["sym_name"]).value \
                == name:
            return
    with ir.InsertionPoint.at_block_begin(module.body), ir.Location.unknown():
        f = func.FuncOp(name, ir.FunctionType.get(arg_types, []))
        f.attributes["sym_visibility"] = ir.StringAttr.get("private")
