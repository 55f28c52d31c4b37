"""The op table is the single definition of the dialect: generated files stay in sync, every op
has every part, and the generated IRDL loads into MLIR."""

import numpy as np
import pytest
from mlir import ir
from mlir.dialects import irdl
from mxir.dialect import (
    COVERAGE_PATH,
    IRDL_PATH,
    OPS,
    PARTS,
    ConstValue,
    TensorType,
    coverage_table,
    has_part,
    irdl_text,
    to_storage,
)
from mxir.dialect.core import DENSE, dense_from_ir, dense_to_ir


def test_irdl_file_is_generated_from_the_op_table():
    with open(IRDL_PATH) as f:
        assert f.read() == irdl_text(), "run `python -m mxir.dialect`"


def test_coverage_file_is_generated_from_the_op_table():
    with open(COVERAGE_PATH) as f:
        assert f.read() == coverage_table(), "run `python -m mxir.dialect`"


@pytest.mark.parametrize("part", PARTS)
def test_every_op_has_every_part(part):
    assert [n for n, op in OPS.items() if not has_part(op, part)] == []


def test_irdl_definition_loads_and_verifies_ops():
    ctx = ir.Context()
    with ctx, ir.Location.unknown():
        with open(IRDL_PATH) as f:
            irdl.load_dialects(ir.Module.parse(f.read()))
        m = ir.Module.parse('func.func @f(%a: tensor<2xf32>) -> tensor<f32> {\n'
                            '  %0 = "mx.sum"(%a) {axes = array<i64: 0>, keepdims = false} : '
                            '(tensor<2xf32>) -> tensor<f32>\n  return %0 : tensor<f32>\n}')
        m.operation.verify()
        with pytest.raises(ir.MLIRError, match="is expected but not provided"):
            ir.Module.parse('func.func @f(%a: tensor<2xf32>) -> tensor<f32> {\n'
                            '  %0 = "mx.sum"(%a) : (tensor<2xf32>) -> tensor<f32>\n'
                            '  return %0 : tensor<f32>\n}')


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16", "float64", "int32", "int64",
                                   "uint32", "uint8", "bool"])
def test_constants_round_trip_through_dense_attributes(dtype):
    rng = np.random.default_rng(0)
    values = rng.uniform(-5, 5, (2, 3)) if dtype != "bool" else rng.random((2, 3)) < 0.5
    if dtype.startswith("uint"):
        values = np.abs(values)
    storage = to_storage(values, dtype)
    t = TensorType((2, 3), dtype)
    with ir.Context(), ir.Location.unknown():
        for v in (storage, np.full_like(storage, storage.flat[0])):  # dense and splat
            back = dense_from_ir(dense_to_ir(v, t), t)
            np.testing.assert_array_equal(back, v)
            cv = DENSE.from_ir(DENSE.to_ir(ConstValue(v, dtype)))
            assert cv == ConstValue(v, dtype)
