"""The NumPy reference interpreter of `mx` IR: each op's `reference` rule, op by op.

It is the oracle of the tests and `mxir-run --device reference`; it never computes a user's
arrays. Values are host storage arrays (bfloat16 as bits); rules see float32 for half types.
"""

from __future__ import annotations

import numpy as np
from mxir.dialect import OPS, MxError
from mxir.dialect.core import from_storage, reference_dtype, to_storage

from .concrete import concrete_op
from .ir_utils import body_ops, function_table, is_mx, read_op, symbol_name

HALF = ("float16", "bfloat16")


def run_op(name: str, inputs: list[np.ndarray], in_types, out_types, attrs: dict) -> list:
    """One op on host-storage inputs; results in host storage of the result dtypes."""
    args = []
    for v, t in zip(inputs, in_types):
        x = from_storage(np.asarray(v), t.dtype)
        args.append(x.astype(np.float32) if t.dtype in HALF else x)
    with np.errstate(all="ignore"):
        out = OPS[name].reference(*args, **attrs)
    outs = out if isinstance(out, (list, tuple)) else [out]
    result = []
    for v, t in zip(outs, out_types):
        v = np.asarray(v)
        if v.shape != t.shape:
            raise MxError(f"reference of mx.{name} gave shape {v.shape}, expected {t.shape}")
        with np.errstate(all="ignore"):
            result.append(to_storage(v.astype(reference_dtype(t.dtype)), t.dtype))
    return result


def interpret(module, entry: str, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """Run function `entry` of an `mx` module (transforms already expanded)."""
    table = function_table(module)
    if entry not in table:
        raise MxError(f"no function named @{entry} in the module")
    return _run(table, table[entry], inputs)


def _run(table, func, inputs):
    block = func.regions[0].blocks[0]
    env = {}
    for arg, v in zip(block.arguments, inputs):
        env[arg] = v
    for op in body_ops(func):
        name = op.operation.name
        if name == "func.return":
            return [env[v] for v in op.operands]
        if name == "func.call":
            callee = table[op.attributes["callee"].value]
            outs = _run(table, callee, [env[v] for v in op.operands])
        elif is_mx(op):
            m = read_op(op)
            if m.name not in OPS:
                raise MxError(f"'{name}' must be expanded before interpretation", op.location)
            inputs = [env[v] for v in op.operands]
            in_types, out_types, attrs = m.in_types, m.out_types, m.attrs
            if any(t.dynamic for t in [*in_types, *out_types]):  # this run's shapes fill them
                in_types = [t.with_shape(np.shape(x)) for t, x in zip(in_types, inputs)]
                attrs, out_types = concrete_op(m, in_types)
            outs = run_op(m.name, inputs, in_types, out_types, attrs)
        else:
            raise MxError(f"the reference interpreter cannot run '{name}'", op.location)
        for r, v in zip(op.results, outs):
            env[r] = v
    raise MxError(f"function @{symbol_name(func)} has no return")
