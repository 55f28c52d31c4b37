"""Every op's transform rules, checked through the passes on single-op callees:
vjp and jvp against central finite differences (float64, reference interpreter), batching
against a loop over the batch, for every batch axis."""

import itertools

import numpy as np
import pytest
from harness import context
from mlir import ir
from mlir.dialects import func
from mxir.dialect import OPS, Builder, MxError, TensorType, infer_types
from mxir.dialect.core import is_float
from mxir.passes import run_pipeline
from mxir.passes.reference import interpret, run_op

# (op, operand shapes, attrs, input range): cases that every op with rules is checked on
DOMAIN = {"log": (0.2, 3), "log2": (0.2, 3), "log10": (0.2, 3), "log1p": (-0.5, 3),
          "sqrt": (0.2, 3), "rsqrt": (0.2, 3), "arcsin": (-0.9, 0.9), "arccos": (-0.9, 0.9),
          "arctanh": (-0.9, 0.9), "arccosh": (1.2, 3), "erfinv": (-0.9, 0.9),
          "reciprocal": (0.5, 3), "divide": (0.5, 3), "power": (0.5, 2), "remainder": (0.5, 3),
          "floor_divide": (0.5, 3)}
# derivative zero by definition (stop_gradient) or where finite differences cross a jump
NO_FD = {"floor", "ceil", "round", "sign", "floor_divide", "remainder", "stop_gradient"}


def cases():
    out = []
    for name, op in sorted(OPS.items()):
        # the LAPACK ops need well-conditioned inputs: test_linalg.py checks their rules
        if op.arity in (1, 2) and not op.attrs and type(op).__module__ != "mxir.dialect.lapack":
            shapes = [(2, 3)] * op.arity
            try:
                infer_types(name, [TensorType(s, "float64") for s in shapes], {})
            except MxError:
                continue
            out.append((name, shapes, {}))
    out += [("sum", [(2, 3)], {"axes": (1,), "keepdims": False}),
            ("sum", [(2, 3)], {"axes": (0, 1), "keepdims": True}),
            ("reshape", [(2, 3)], {"shape": (3, 2)}),
            ("transpose", [(2, 3, 4)], {"perm": (2, 0, 1)}),
            ("broadcast_to", [(3, 1)], {"shape": (2, 3, 4)}),
            ("prod", [(2, 3)], {"axes": (1,), "keepdims": False}),
            ("max", [(2, 3)], {"axes": (0,), "keepdims": True}),
            ("min", [(2, 3)], {"axes": (0, 1), "keepdims": False}),
            ("matmul", [(2, 3), (3, 4)], {}),
            ("matmul", [(5, 2, 3), (5, 3, 4)], {}),
            ("concatenate", [(2, 3), (2, 2)], {"axis": 1}),
            ("pad", [(2, 3), ()], {"low": (1, 0), "high": (0, 2)}),
            ("slice", [(4, 5)], {"start": (1, 0), "stop": (4, 5), "strides": (2, 2)})]
    out += [("scan", [(2, 3)], {"kind": k, "axis": a, "reverse": r, "inclusive": i})
            for k, a, r, i in [(0, 1, False, True), (0, 0, True, False), (1, 1, False, True),
                               (1, 0, True, False), (1, 1, True, True), (2, 1, False, True),
                               (3, 0, True, True), (4, 1, False, True), (4, 0, True, True)]]
    out += [("sort", [(2, 3)], {"axis": 1}), ("sort", [(4, 2)], {"axis": 0})]
    out += [("barrier", [(2, 3), ()], {})]
    return out


def _transform_module(name, in_types, attrs, transform, main_args, main_results, attributes):
    """@f = the single op `name`; @main(main_args) applies `mx.<transform>` to @f."""
    out_types = infer_types(name, in_types, attrs)
    module = ir.Module.create()
    with ir.InsertionPoint(module.body):
        f = func.FuncOp("f", ir.FunctionType.get([t.to_ir() for t in in_types],
                                                 [t.to_ir() for t in out_types]),
                        visibility="private")
        main = func.FuncOp("main", ir.FunctionType.get([t.to_ir() for t in main_args],
                                                      [t.to_ir() for t in main_results]))
    block = f.add_entry_block()
    with ir.InsertionPoint(block):
        r = Builder(ir.InsertionPoint(block), ir.Location.unknown()).emit(
            name, list(block.arguments), **attrs)
        func.ReturnOp(r if isinstance(r, list) else [r])
    mblock = main.add_entry_block()
    with ir.InsertionPoint(mblock):
        op = ir.Operation.create(f"mx.{transform}", results=[t.to_ir() for t in main_results],
                                 operands=list(mblock.arguments),
                                 attributes={"callee": ir.FlatSymbolRefAttr.get("f"),
                                             **attributes})
        func.ReturnOp(list(op.results))
    return module, out_types


def _module(name, in_types, attrs, transform):
    """@main applies "vjp" or "jvp" to the single op."""
    out_types = infer_types(name, in_types, attrs)
    if transform == "vjp":
        args, results = in_types + out_types, out_types + in_types
        attributes = {"argnums": ir.DenseI64ArrayAttr.get(list(range(len(in_types))))}
    else:
        args, results, attributes = in_types * 2, out_types * 2, {}
    return _transform_module(name, in_types, attrs, transform, args, results, attributes)


def _inputs(name, shapes, rng):
    lo, hi = DOMAIN.get(name, (-2, 2))
    return [rng.uniform(lo, hi, s) for s in shapes]


def _f(name, in_types, out_types, attrs, xs):
    return run_op(name, xs, in_types, out_types, attrs)


@pytest.mark.parametrize("name,shapes,attrs", cases(), ids=lambda v: str(v))
def test_vjp_and_jvp_match_finite_differences(name, shapes, attrs):
    rng = np.random.default_rng(0)
    in_types = [TensorType(s, "float64") for s in shapes]
    xs = _inputs(name, shapes, rng)
    with context(), ir.Location.unknown():
        mv, out_types = _module(name, in_types, attrs, "vjp")
        run_pipeline(mv, ["mx-verify", "mx-autodiff", "mx-verify"])
        # integer results (sort's indices) carry no derivative: zero cotangents, left out of
        # the finite differences
        differentiable = any(is_float(t.dtype) for t in out_types)
        cts = [rng.normal(size=t.shape) if is_float(t.dtype) else np.zeros(t.shape, bool)
               for t in out_types]
        got = interpret(mv, "main", xs + cts)
        mj, _ = _module(name, in_types, attrs, "jvp")
        run_pipeline(mj, ["mx-verify", "mx-jvp", "mx-verify"])
        tans = [rng.normal(size=s) for s in shapes]
        got_j = interpret(mj, "main", xs + tans)
    grads = got[len(out_types):]
    jvps = got_j[len(out_types):]
    if not differentiable:  # comparisons: zero gradients, as MLX
        assert all(not np.any(g) for g in grads)
        return
    eps = 1e-6
    smooth = name not in NO_FD
    # <ct, J t> from finite differences, compared with <grad, t> and <ct, jvp>
    plus = _f(name, in_types, out_types, attrs, [x + eps * t for x, t in zip(xs, tans)])
    minus = _f(name, in_types, out_types, attrs, [x - eps * t for x, t in zip(xs, tans)])
    floats = [is_float(t.dtype) for t in out_types]
    fd = sum(np.sum(c * (p - m) / (2 * eps))
             for c, p, m, f in zip(cts, plus, minus, floats) if f)
    via_vjp = sum(np.sum(g * t) for g, t in zip(grads, tans))
    via_jvp = sum(np.sum(c * j) for c, j, f in zip(cts, jvps, floats) if f)
    if smooth:
        np.testing.assert_allclose(via_vjp, fd, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(via_jvp, fd, rtol=1e-5, atol=1e-6)
    else:
        np.testing.assert_allclose(via_vjp, via_jvp, rtol=1e-6, atol=1e-8)


def _vmap_module(name, in_types, attrs, in_axes, batched_types):
    from mxir.dialect.core import AXES

    out_types = infer_types(name, in_types, attrs)
    results = [t.with_shape((BATCH, *t.shape)) for t in out_types]
    return _transform_module(name, in_types, attrs, "vmap", batched_types, results,
                             {"in_axes": AXES.to_ir(in_axes),
                              "out_axes": AXES.to_ir((0,) * len(results))})


BATCH = 3


@pytest.mark.parametrize("name,shapes,attrs", cases(), ids=lambda v: str(v))
def test_batch_rule_matches_loop(name, shapes, attrs):
    rng = np.random.default_rng(1)
    in_types = [TensorType(s, "float64") for s in shapes]
    # every batch axis position of every operand, and unbatched, in all combinations
    per_operand = [[None, *range(len(s) + 1)] for s in shapes]
    axis_choices = [c for c in itertools.product(*per_operand) if any(a is not None for a in c)]
    for in_axes in axis_choices:
        xs, batched = [], []
        for s, ax in zip(shapes, in_axes):
            shape = s if ax is None else s[:ax] + (BATCH,) + s[ax:]
            xs.append(rng.uniform(*DOMAIN.get(name, (-2, 2)), shape))
            batched.append(TensorType(shape, "float64"))
        with context(), ir.Location.unknown():
            m, out_types = _vmap_module(name, in_types, attrs, in_axes, batched)
            run_pipeline(m, ["mx-verify", "mx-vmap", "mx-verify"])
            got = interpret(m, "main", xs)
        for i in range(BATCH):
            slices = [x if ax is None else np.take(x, i, axis=ax) for x, ax in zip(xs, in_axes)]
            want = run_op(name, slices, in_types, out_types, attrs)
            for g, w in zip(got, want):
                np.testing.assert_allclose(g[i], w, rtol=1e-12)


def test_every_op_has_all_rules_or_is_listed():
    """The coverage table: ops without a rule must be deliberate (listed here)."""
    missing = {(n, part) for n, op in OPS.items() for part in ("vjp", "jvp", "batch")
               if getattr(op, part) is None}
    assert not missing, sorted(missing)


def _missing_rule_error(op, transform: str, pass_name: str) -> MxError:
    """The error of `pass_name` expanding mx.<transform> of a callee made of `op` (registered
    for the test as mx.test_no_rules)."""
    OPS["test_no_rules"] = op
    extra = {"vjp": ("%ct", ", tensor<3xf32>", ", tensor<3xf32>", ' argnums = array<i64: 0>,'),
             "jvp": ("%ct", ", tensor<3xf32>", ", tensor<3xf32>", ""),
             "vmap": ("", "", "", " in_axes = [0 : i64], out_axes = [0 : i64],")}[transform]
    ct, ct_type, res_type, attrs = extra
    text = (
        'func.func private @f(%x: tensor<3xf32>) -> tensor<3xf32> {\n'
        '  %0 = "mx.test_no_rules"(%x) : (tensor<3xf32>) -> tensor<3xf32>\n'
        '  return %0 : tensor<3xf32>\n}\n'
        f'func.func @main(%x: tensor<3xf32>{", %ct: tensor<3xf32>" if ct else ""}) {{\n'
        f'  %r:{2 if ct else 1} = "mx.{transform}"(%x{", " + ct if ct else ""}) {{{attrs} '
        f'callee = @f}} : (tensor<3xf32>{ct_type}) -> (tensor<3xf32>{res_type})\n'
        '  return\n}\n')
    try:
        with context(), ir.Location.unknown():
            module = ir.Module.parse(text, context())
            with pytest.raises(MxError) as err:
                run_pipeline(module, [pass_name])
    finally:
        del OPS["test_no_rules"]
    return err.value


@pytest.mark.parametrize("transform,pass_name", [("vjp", "mx-autodiff"), ("jvp", "mx-jvp"),
                                                 ("vmap", "mx-vmap")])
def test_missing_rule_is_a_pass_error_naming_the_op_and_its_location(transform, pass_name):
    from mxir.dialect import Op

    class NoRules(Op):
        name = "test_no_rules"

        def infer(self, types):
            return [types[0]]

    err = _missing_rule_error(NoRules(), transform, pass_name)
    assert f"no {'batch' if transform == 'vmap' else transform} rule for 'mx.test_no_rules'" in (
        err.message)
    assert ":2:" in str(err.location)


@pytest.mark.parametrize("transform,pass_name", [("vjp", "mx-autodiff"), ("jvp", "mx-jvp")])
def test_elementwise_op_without_a_derivative_is_an_error_not_a_zero(transform, pass_name):
    import math

    from mxir.dialect.elementwise import ZERO, Binary, Unary

    class NoDerivative(Unary):
        name = "test_no_rules"
        np_fn = staticmethod(np.floor)
        scalar = staticmethod(lambda s, x: math.floor(x))

    err = _missing_rule_error(NoDerivative(), transform, pass_name)
    assert f"no {transform} rule for 'mx.test_no_rules'" in err.message
    assert ":2:" in str(err.location)

    class NoPartials(Binary):
        name = "test_no_partials"

    class ZeroPartials(Binary):
        name = "test_zero_partials"
        partials = ZERO

    assert NoPartials().vjp is None and NoPartials().jvp is None
    assert ZeroPartials().vjp is not None and ZeroPartials().jvp is not None


@pytest.mark.parametrize("name", ["floor", "ceil", "round", "sign", "floor_divide"])
def test_zero_derivatives_are_explicit_and_zero_as_mlx(name):
    import mlx.core as mlx
    import mxir as mx
    from mxir.dialect.elementwise import ZERO

    op = OPS[name]
    assert (op.deriv if op.arity == 1 else op.partials) is ZERO
    x = np.array([1.5, -2.3, 0.7], np.float32)
    got, want = [], []
    for lib, out in ((mx, got), (mlx, want)):
        def f(v, lib=lib):
            y = getattr(lib, name)(v) if op.arity == 1 else lib.floor_divide(v, lib.array(0.6))
            return y.sum()

        out.append(np.array(lib.grad(f)(lib.array(x))))
    np.testing.assert_array_equal(got[0], want[0])
