"""`mx.metal_kernel`: a user's Metal kernel (`mx.fast.metal_kernel`) as an op of the program.

The op carries one attribute, `spec`: JSON with the kernel's full MSL source and host name, the
operand and result types, the grid, the threadgroup and the outputs' initial value. Its
lowering copies each operand into a fresh row-contiguous buffer (MLX's `ensure_row_contiguous`
copy; these buffers are always row-contiguous), allocates the results, and calls the host
function `mxir_metal_kernel(spec address, argument-address array)`, which the frontend binds
(python/mxir/custom_kernel.py) and which launches the kernel on the Metal device — Metal on
macOS, metal-sim anywhere — on those buffers. The GPU pipeline turns the call into a step of
its launch plan instead (passes/gpu.py: the kernel is one more kernel of the executable).

As MLX's CustomKernel primitive, it has no derivative or batching rule: each rule raises MLX's
error. `mx.custom_function` gives a kernel its rules, as in MLX.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
from mlir import ir
from mlir.dialects import arith, func, memref

from .core import STRING, MxError, TensorType, from_storage, to_storage
from .lapack import _copy_to_buffer, _module_body, _to_tensor
from .op import Op, register

KERNEL_CALL = "mxir_metal_kernel"  # the host function the lowering calls
SPEC_ATTR = "mx.kernel_spec"  # the spec again, on the call: mx-linalg-to-gpu reads it there


def _no_rule(kind: str):
    def rule(*args, **attrs):
        raise MxError(f"[Primitive::{kind}] Not implemented for CustomKernel.")
    return staticmethod(rule)


def _i64(v) -> ir.Value:
    return arith.constant(ir.IntegerType.get_signless(64), int(v))


def _address(buf) -> ir.Value:
    return arith.index_cast(ir.IntegerType.get_signless(64),
                            memref.extract_aligned_pointer_as_index(buf))


def _spec_global(text: str) -> ir.Value:
    """A module constant holding the NUL-terminated spec text; the memref of it."""
    data = np.frombuffer(text.encode() + b"\0", np.int8)
    i8 = ir.IntegerType.get_signless(8)
    mtype = ir.MemRefType.get([data.size], i8)
    name = "__mxir_kernel_spec_" + hashlib.sha256(data.tobytes()).hexdigest()[:20]
    body = _module_body()
    if not any(op.operation.name == "memref.global"
               and ir.StringAttr(op.attributes["sym_name"]).value == name
               for op in body.operations):
        with ir.InsertionPoint.at_block_begin(body), ir.Location.unknown():
            value = ir.DenseElementsAttr.get(data, type=ir.RankedTensorType.get([data.size], i8))
            memref.GlobalOp(sym_name=name, type_=mtype, sym_visibility="private",
                            initial_value=value, constant=True)
    return memref.get_global(mtype, name)


def _declare_call() -> None:
    body = _module_body()
    if any(op.operation.name == "func.func"
           and ir.StringAttr(op.attributes["sym_name"]).value == KERNEL_CALL
           for op in body.operations):
        return
    i64 = ir.IntegerType.get_signless(64)
    with ir.InsertionPoint.at_block_begin(body), ir.Location.unknown():
        f = func.FuncOp(KERNEL_CALL, ir.FunctionType.get([i64, i64], []))
        f.attributes["sym_visibility"] = ir.StringAttr.get("private")


@register
class MetalKernelOp(Op):
    """A user's Metal kernel on its operands; results as `spec` declares them."""

    name = "metal_kernel"
    arity = None
    num_results = None
    attrs = {"spec": STRING}
    # launch(spec dict, host-storage inputs) -> host-storage outputs on metal-sim, the
    # reference; the frontend sets it (the dialect imports no runtime)
    launch = None

    vjp = _no_rule("vjp")
    jvp = _no_rule("jvp")
    batch = _no_rule("vmap")

    def infer(self, types, spec):
        s = json.loads(spec)
        want = [TensorType(tuple(shape), dtype) for shape, dtype in s["inputs"]]
        if list(types) != want:
            raise MxError(f"mx.metal_kernel: operands {types} where the kernel was made for "
                          f"{want}")
        return [TensorType(tuple(shape), dtype) for shape, dtype in s["outputs"]]

    def reference(self, *xs, spec):
        s = json.loads(spec)
        if MetalKernelOp.launch is None:
            raise MxError("mx.metal_kernel needs mxir's frontend (its kernel launcher)")
        inputs = [to_storage(x, d) for x, (_, d) in zip(xs, s["inputs"])]
        outs = MetalKernelOp.launch(s, inputs)
        return [from_storage(o, d) for o, (_, d) in zip(outs, s["outputs"])]

    def lower(self, lo, xs, in_types, out_types, spec):
        buffers = [_copy_to_buffer(x, t) for x, t in zip(xs, in_types)]
        outs = [memref.alloc(ir.MemRefType.get(list(t.shape), t.to_ir(storage=True)
                                               .element_type), [], [])
                for t in out_types]
        i64 = ir.IntegerType.get_signless(64)
        argv = memref.alloca(ir.MemRefType.get([max(len(buffers) + len(outs), 1)], i64), [], [])
        for i, buf in enumerate(buffers + outs):
            memref.store(_address(buf), argv, [arith.constant(ir.IndexType.get(), i)])
        _declare_call()
        call = func.CallOp([], ir.FlatSymbolRefAttr.get(KERNEL_CALL),
                           [_address(_spec_global(spec)), _address(argv)])
        call.operation.attributes[SPEC_ATTR] = ir.StringAttr.get(spec)  # for the GPU pipeline
        return [_to_tensor(buf, t.shape, t.dtype) for buf, t in zip(outs, out_types)]
