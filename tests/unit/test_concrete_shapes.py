"""passes/concrete.py: the static result types of a program with dynamic dims for given
argument shapes, and errors at the op whose dynamic code needs the shapes to agree."""

from __future__ import annotations

import pytest
from mlir import ir
from mxir.dialect import MxError, TensorType, new_context
from mxir.passes.concrete import concrete_results, fits

PROG = """func.func @main(%x: tensor<?x?xf32>, %b: tensor<?xf32>)
    -> (tensor<?xf32>, tensor<1x?xf32>) {
  %0 = "mx.broadcast_to"(%b, %x) {shape = array<i64: -1, -1>}
    : (tensor<?xf32>, tensor<?x?xf32>) -> tensor<?x?xf32>
  %1 = "mx.multiply"(%x, %0) : (tensor<?x?xf32>, tensor<?x?xf32>) -> tensor<?x?xf32>
  %2 = "mx.sum"(%1) {axes = array<i64: 1>, keepdims = false} : (tensor<?x?xf32>) -> tensor<?xf32>
  %3 = "mx.reshape"(%2) {shape = array<i64: 1, -1>} : (tensor<?xf32>) -> tensor<1x?xf32>
  return %2, %3 : tensor<?xf32>, tensor<1x?xf32>
}
"""


def results(*shapes):
    with new_context(), ir.Location.unknown():
        module = ir.Module.parse(PROG)
        before = str(module)
        out = concrete_results(module, "main", [TensorType(s, "float32") for s in shapes])
        assert str(module) == before  # the module itself is left as it was
        return out


def test_result_types_follow_the_arguments():
    assert results((3, 2), (2,)) == [TensorType((3,), "float32"), TensorType((1, 3), "float32")]
    assert results((0, 5), (5,)) == [TensorType((0,), "float32"), TensorType((1, 0), "float32")]


def test_disagreeing_dims_fail_at_the_op():
    with pytest.raises(MxError, match="'mx.multiply' expects operands of equal type") as e:
        results((3, 2), (4,))
    assert '":5:8' in str(e.value.location)  # the multiply


def test_fits():
    dyn = TensorType((None, 4), "float32")
    assert fits(TensorType((7, 4), "float32"), dyn)
    assert not fits(TensorType((7, 3), "float32"), dyn)
    assert not fits(TensorType((7, 4), "float16"), dyn)
    assert not fits(TensorType((7, 4, 1), "float32"), dyn)
