"""Emits `mx` ops into MLIR IR. Transform rules receive one and call it by op name:
`b.multiply(ct, b.cos(x))`, `b.sum(x, axes=(0,), keepdims=False)`.
"""

from __future__ import annotations

import numpy as np

from .core import ConstValue, DynamicDimsError, TensorType, to_storage
from .op import OPS, infer_types


class Builder:
    def __init__(self, ip, loc):
        self.ip = ip
        self.loc = loc

    @staticmethod
    def type(value) -> TensorType:
        return TensorType.from_ir(value.type)

    def emit(self, name: str, operands, **attrs):
        """Create `mx.<name>`; returns its result, or the list of results for multi-result ops."""
        from mlir import ir

        op = OPS[name]
        operands = list(operands)
        in_types = [self.type(v) for v in operands]
        if not op.dynamic and any(t.dynamic for t in in_types):  # a rule on a shapeless program
            raise DynamicDimsError(f"'mx.{name}' cannot take dynamic dims", self.loc)
        out_types = infer_types(name, in_types, attrs)
        ir_attrs = {}
        for key, value in attrs.items():
            kind = op.attrs.get(key)
            if kind is None:
                raise TypeError(f"mx.{name} has no attribute {key!r}")
            ir_attrs[key] = kind.to_ir(value, out_types[0])
        created = ir.Operation.create(
            f"mx.{name}",
            results=[t.to_ir() for t in out_types],
            operands=operands,
            attributes=ir_attrs,
            loc=self.loc,
            ip=self.ip,
        )
        return created.results[0] if op.num_results == 1 else list(created.results)

    def __getattr__(self, name: str):
        if name in OPS:
            return lambda *operands, **attrs: self.emit(name, operands, **attrs)
        raise AttributeError(name)

    @staticmethod
    def splat(value):
        """The scalar if `value` is a constant with all elements equal (looking through
        broadcast_to and reshape of one), else None."""
        from mlir import ir

        from .core import DENSE

        while True:
            owner = value.owner
            if isinstance(owner, ir.Block) or owner is None:
                return None
            op = owner.operation if hasattr(owner, "operation") else owner
            if op.name in ("mx.broadcast_to", "mx.reshape"):
                value = op.operands[0]
                continue
            if op.name != "mx.constant":
                return None
            flat = DENSE.from_ir(op.attributes["value"]).array.reshape(-1)
            return flat[0] if flat.size and (flat == flat[0]).all() else None

    @staticmethod
    def producer(value, name: str):
        """The op defining `value` if it is `mx.<name>`, else None."""
        from mlir import ir

        owner = value.owner
        if isinstance(owner, ir.Block) or owner is None:
            return None
        op = owner.operation if hasattr(owner, "operation") else owner
        return op if op.name == f"mx.{name}" else None

    # conveniences used by many rules
    def full(self, ttype: TensorType, scalar):
        value = to_storage(np.full(ttype.shape, scalar), ttype.dtype)
        return self.emit("constant", [], value=ConstValue(value, ttype.dtype))

    def full_like(self, value, scalar):
        t = self.type(value)
        if t.dynamic:  # a scalar constant broadcast to `value`'s run-time shape
            return self.emit("broadcast_to", [self.full(t.with_shape(()), scalar), value],
                             shape=t.shape)
        return self.full(t, scalar)

    def zeros_like(self, value):
        return self.full_like(value, 0)

    def ones_like(self, value):
        return self.full_like(value, 1)
