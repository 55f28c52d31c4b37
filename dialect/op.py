"""The op definition: one class per `mx` op holds every rule about that op.

An op has `infer` (result types; also the shape/dtype verifier), `reference` (NumPy semantics, the
oracle), `lower` (linalg/tensor/arith/math), and the transform rules `vjp`, `jvp`, `batch`, which
emit `mx` ops through a `Builder` so that a transform's output is again input for any transform.
"""

from __future__ import annotations

from typing import ClassVar

from .core import AttrKind, MxError, TensorType

OPS: dict[str, Op] = {}


class Op:
    name: ClassVar[str]
    arity: ClassVar[int | None] = 1  # number of operands; None = variadic
    num_results: ClassVar[int] = 1
    attrs: ClassVar[dict[str, AttrKind]] = {}
    # whether `infer` and `lower` accept dynamic dims (None, `?` in IR), which the programs of
    # `compile(shapeless=True)` have; an op without it makes such a program compile per shape
    dynamic: ClassVar[bool] = False
    # Rule slots; None means "not implemented", which a transform reports with the op's location.
    # vjp(b, primals, outputs, cotangents, **attrs) -> one cotangent (or None = zero) per operand
    # jvp(b, primals, tangents, outputs, **attrs) -> one tangent per result (tangents: None = zero)
    # batch(b, operands, axes, **attrs) -> (results, result_axes); axes[i] is an int or None
    vjp = None
    jvp = None
    batch = None
    # simplify(b, operands, out_types, **attrs) -> replacement values, or None to keep the op:
    # the op's algebraic identities, run by mx-simplify (`b.splat(v)` reads constant operands)
    simplify = None

    def infer(self, types: list[TensorType], **attrs) -> list[TensorType]:
        raise NotImplementedError

    def reference(self, *xs, **attrs):
        raise NotImplementedError

    def lower(self, lo, xs, in_types: list[TensorType], out_types: list[TensorType], **attrs):
        """Emit linalg/tensor/arith for this op; return its result value(s)."""
        raise NotImplementedError

    def check_arity(self, n: int) -> None:
        if self.arity is not None and n != self.arity:
            raise MxError(f"'mx.{self.name}' expects {self.arity} operands, got {n}")

    def __repr__(self) -> str:
        return f"<mx.{self.name}>"


def register(cls: type[Op]) -> type[Op]:
    """Class decorator: instantiate and add to the op table."""
    if cls.name in OPS:
        raise ValueError(f"op mx.{cls.name} defined twice")
    OPS[cls.name] = cls()
    return cls


def infer_types(name: str, types: list[TensorType], attrs: dict) -> list[TensorType]:
    """Result types of `mx.<name>`, normalised to a list; raises MxError on bad operands."""
    op = OPS[name]
    op.check_arity(len(types))
    out = op.infer(list(types), **attrs)
    return [out] if isinstance(out, TensorType) else list(out)
