"""Shared test helpers: run one `mx` op compiled (CPU JIT) and by the reference interpreter."""

from __future__ import annotations

import numpy as np
from mlir import ir
from mlir.dialects import func
from mxir.dialect import Builder, TensorType, infer_types, new_context, to_storage
from mxir.dialect.core import from_storage, is_float
from mxir.passes import run_pipeline
from mxir.passes.reference import interpret
from mxir.runtime.cpu import CpuExecutable

_CTX = None


def context():
    global _CTX
    if _CTX is None:
        _CTX = new_context()
    return _CTX


def single_op_module(name: str, in_types: list[TensorType], attrs: dict):
    """func @main(args...) -> results { mx.<name>(args) {attrs} }"""
    out_types = infer_types(name, in_types, attrs)
    module = ir.Module.create()
    with ir.InsertionPoint(module.body):
        f = func.FuncOp("main", ir.FunctionType.get([t.to_ir() for t in in_types],
                                                    [t.to_ir() for t in out_types]))
    block = f.add_entry_block()
    with ir.InsertionPoint(block):
        b = Builder(ir.InsertionPoint(block), ir.Location.unknown())
        r = b.emit(name, list(block.arguments), **attrs)
        func.ReturnOp(r if isinstance(r, list) else [r])
    return module, out_types


def run_compiled(module, inputs, out_types):
    run_pipeline(module, ["mx-to-cpu"])
    outs = [np.empty(t.shape, to_storage(np.zeros(()), t.dtype).dtype) for t in out_types]
    CpuExecutable(module)(inputs, outs)
    return outs


def compiled_and_reference(name: str, inputs: list, in_types: list[TensorType], **attrs):
    """(compiled results, reference results) of one op on host-storage inputs."""
    with context(), ir.Location.unknown():
        module, out_types = single_op_module(name, in_types, attrs)
        module.operation.verify()
        ref = interpret(module, "main", inputs)
        got = run_compiled(module, inputs, out_types)
    return got, ref, out_types


TOL = {"float32": (2e-5, 1e-6), "float64": (1e-12, 1e-14), "float16": (2e-3, 1e-4),
       "bfloat16": (1.6e-2, 1e-3)}


def assert_close(got, ref, ttype: TensorType, ulps_rtol=None):
    g = from_storage(np.asarray(got), ttype.dtype)
    r = from_storage(np.asarray(ref), ttype.dtype)
    assert g.shape == r.shape, (g.shape, r.shape)
    if is_float(ttype.dtype):
        rtol, atol = ulps_rtol or TOL[ttype.dtype]
        np.testing.assert_allclose(g.astype(np.float64), r.astype(np.float64), rtol=rtol,
                                   atol=atol, equal_nan=True)
    else:
        np.testing.assert_array_equal(g, r)


def check_op(name: str, inputs: list, in_types: list[TensorType], tol=None, **attrs):
    """Compiled vs reference for one op; inputs are NumPy values (converted to storage)."""
    storage = [to_storage(np.asarray(x), t.dtype) for x, t in zip(inputs, in_types)]
    got, ref, out_types = compiled_and_reference(name, storage, in_types, **attrs)
    for g, r, t in zip(got, ref, out_types):
        assert_close(g, r, t, tol)
    return got


def random_values(shape, dtype: str, rng, low=-3.0, high=3.0):
    if dtype == "bool":
        return rng.random(shape) < 0.5
    if is_float(dtype):
        return rng.uniform(low, high, shape)
    if dtype.startswith("uint"):
        return rng.integers(0, 10, shape)
    return rng.integers(-10, 10, shape)
