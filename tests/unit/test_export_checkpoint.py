"""mx.checkpoint (gradients unchanged, recomputation in the IR), export_function /
import_function / exporter against MLX, the exported module run by mxir-run without the
Python that made it, export_to_dot and depends."""

import subprocess
import sys

import mxir
import numpy as np
import pytest

mlx = pytest.importorskip("mlx.core")


def mlp(mx, checkpoint, layers=6, segment=2):
    rng = np.random.default_rng(0)
    ws = [mx.array(rng.normal(size=(5, 5)).astype(np.float32) / 2) for _ in range(layers)]
    x = mx.array(rng.normal(size=(3, 5)).astype(np.float32))

    def block(h, *ws):
        for w in ws:
            h = mx.tanh(h @ w)
        return h

    step = mx.checkpoint(block) if checkpoint else block

    def loss(ws):
        h = x
        for i in range(0, layers, segment):
            h = step(h, *ws[i:i + segment])
        return (h * h).sum()

    return loss, ws


@pytest.mark.parametrize("checkpoint", [False, True])
def test_checkpoint_gradients_as_mlx(checkpoint):
    loss, ws = mlp(mxir, checkpoint)
    v, g = mxir.value_and_grad(loss)(ws)
    loss_m, ws_m = mlp(mlx, checkpoint)
    vm, gm = mlx.value_and_grad(loss_m)(ws_m)
    np.testing.assert_allclose(v.item(), vm.item(), rtol=1e-5)
    for a, b in zip(g, gm):
        np.testing.assert_allclose(np.array(a), np.array(b), rtol=1e-4, atol=1e-6)


def test_checkpoint_composes():
    """vmap, jvp and compile over a checkpointed gradient agree with the plain one."""
    outs = []
    for ck in (False, True):
        loss, ws = mlp(mxir, ck, layers=2, segment=1)

        def grad_w(w, loss=loss):
            return mxir.grad(lambda w: loss([w, w]))(w)

        outs.append([mxir.vmap(grad_w)(mxir.stack(ws)),
                     mxir.jvp(grad_w, [ws[0]], [ws[1]])[1][0],
                     mxir.compile(grad_w)(ws[0]),
                     mxir.grad(lambda w: grad_w(w).sum())(ws[0])])
    for a, b in zip(*outs):
        np.testing.assert_allclose(np.array(a), np.array(b), rtol=1e-4, atol=1e-6)


def test_checkpoint_recomputes_in_the_program():
    loss, ws = mlp(mxir, True, layers=4, segment=4)
    text = mxir.ir_of(lambda ws: mxir.grad(loss)(ws), ws, lowered=True)
    assert text.count("math.tanh") == 8  # forward once, recomputed once (after upstream CSE)
    loss, ws = mlp(mxir, False, layers=4, segment=4)
    assert mxir.ir_of(lambda ws: mxir.grad(loss)(ws), ws, lowered=True).count("math.tanh") == 4


# ---------------------------------------------------------------------------------------------
def _export_cases(mx, tmp, tag):
    def f(x, y):
        return x * y + 1

    out = {}

    def run(name, fn):
        try:
            r = fn()
            out[name] = ("ok", [np.array(a) for a in r] if isinstance(r, tuple) else r)
        except Exception as e:  # noqa: BLE001 - compared with MLX's
            out[name] = (type(e).__name__, str(e))

    path = str(tmp / f"f.{tag}")
    mx.export_function(path, f, mx.array([1.0, 2.0]), mx.array(3.0))
    g = mx.import_function(path)
    run("call", lambda: g(mx.array([1.0, 2.0]), mx.array(3.0)))
    run("bad_shape", lambda: g(mx.array([1.0, 2.0, 3.0]), mx.array(3.0)))
    run("bad_count", lambda: g(mx.array([1.0, 2.0])))
    path = str(tmp / f"k.{tag}")
    mx.export_function(path, lambda x, *, w: x * w, mx.array(1.0), w=mx.array(2.0))
    k = mx.import_function(path)
    run("kw", lambda: k(mx.array(1.0), w=mx.array(5.0)))
    run("kw_positional", lambda: k(mx.array(1.0), mx.array(5.0)))
    path = str(tmp / f"s.{tag}")
    mx.export_function(path, f, mx.array([1.0, 2.0]), mx.array(3.0), shapeless=True)
    s = mx.import_function(path)
    run("shapeless", lambda: s(mx.array([1.0, 2.0, 4.0]), mx.array(3.0)))
    run("float_arg", lambda: mx.export_function(str(tmp / "t"), f, mx.array([1.0]), 2.0))
    run("list_arg", lambda: mx.export_function(str(tmp / "t"), f, [mx.array([1.0])],
                                               mx.array(2.0)))
    run("dict_out", lambda: mx.export_function(str(tmp / "t"), lambda x: {"a": x},
                                               mx.array([1.0])))
    path = str(tmp / f"e.{tag}")
    with mx.exporter(path, f) as ex:
        ex(mx.array([1.0]), mx.array(2.0))
        ex(mx.array([1.0, 2.0]), mx.array(2.0))
    e = mx.import_function(path)
    run("exporter", lambda: (*e(mx.array([1.0, 2.0]), mx.array(2.0)),
                             *e(mx.array([1.0]), mx.array(2.0))))
    run("grad", lambda: (mx.grad(lambda a: g(a, mx.array(3.0))[0].sum())(mx.array([1.0, 2.0])),))
    run("vmap", lambda: (mx.vmap(lambda a: g(a, mx.array(3.0))[0])(
        mx.array([[1.0, 2.0], [3.0, 4.0]])),))
    run("compile", lambda: (mx.compile(lambda a: g(a, mx.array(3.0))[0])(mx.array([1.0, 2.0])),))
    w = mx.array([2.0, 3.0])
    path = str(tmp / f"c.{tag}")
    mx.export_function(path, lambda x: mx.grad(lambda v: mx.sin(v * w).sum())(x),
                       mx.array([1.0, 2.0]))
    run("captured_grad", lambda: mx.import_function(path)(mx.array([1.0, 2.0])))
    run("depends", lambda: (*mx.depends([mx.array(1.0)], [mx.array(2.0)]),
                            mx.depends(mx.array(1.0), mx.array(2.0))))
    return out


def test_export_as_mlx(tmp_path):
    want, got = _export_cases(mlx, tmp_path, "mlx"), _export_cases(mxir, tmp_path, "mxir")
    assert want.keys() == got.keys()
    for name in want:
        assert want[name][0] == got[name][0], (name, want[name], got[name])
        if want[name][0] == "ok":
            for a, b in zip(want[name][1], got[name][1]):
                np.testing.assert_allclose(a, b, rtol=1e-6)
        else:
            assert want[name][1] == got[name][1], name


def test_exported_module_runs_without_python(tmp_path):
    """The file is the mx module: mxir-opt reads it, mxir-run runs it."""
    w = mxir.array([2.0, 3.0])
    path = tmp_path / "f.mlir"
    mxir.export_function(str(path), lambda x: mxir.grad(lambda v: mxir.sin(v * w).sum())(x),
                         mxir.array([1.0, 2.0]))
    bin_dir = __import__("os").path.dirname(sys.executable)
    opt = subprocess.run([f"{bin_dir}/mxir-opt", str(path), "--mx-verify"], capture_output=True,
                         text=True, timeout=120)
    assert opt.returncode == 0 and '"mx.vjp"' in opt.stdout, opt.stderr
    run = subprocess.run([f"{bin_dir}/mxir-run", str(path), "--entry", "main",
                          "dense<[1.0, 2.0]> : tensor<2xf32>"], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    want = np.cos(np.array([2.0, 6.0])) * np.array([2.0, 3.0])
    got = np.array([float(v) for v in run.stdout.split("[")[1].split("]")[0].split(",")])
    np.testing.assert_allclose(got, want, rtol=1e-5)


def test_export_to_dot(tmp_path):
    x, y = mxir.array(1.0), mxir.array(2.0)
    path = tmp_path / "g.dot"
    mxir.export_to_dot(str(path), x * y + 1)
    text = path.read_text()
    assert text.startswith("digraph {") and text.rstrip().endswith("}")
    assert 'label ="multiply"' in text and 'label ="add"' in text
    assert text.count("->") == 6  # two operands and one result for each op


def test_export_metadata_as_mlx(tmp_path):
    """metadata= is saved with the function and read back by return_metadata=True ("" when
    none), through export_function and exporter, as MLX; a callback refuses it."""
    def fn(x):
        return x * 2

    for lib in (mlx, mxir):
        name = lib.__name__.split(".")[0]
        lib.export_function(str(tmp_path / f"{name}_none"), fn, lib.array([1.0]))
        lib.export_function(str(tmp_path / f"{name}_json"), fn, lib.array([1.0]),
                            metadata='{"layers": 2}\n')
        with lib.exporter(str(tmp_path / f"{name}_ex"), fn, metadata="é") as ex:
            ex(lib.array([1.0]))
    for case in ("none", "json", "ex"):
        want = mlx.import_function(str(tmp_path / f"mlx_{case}"), return_metadata=True)[1]
        got_fn, got = mxir.import_function(str(tmp_path / f"mxir_{case}"), return_metadata=True)
        assert got == want
        assert np.array(got_fn(mxir.array([3.0]))[0]).tolist() == [6.0]
    with pytest.raises(ValueError, match="only supported when exporting to a file"):
        mxir.export_function(lambda *a: None, fn, mxir.array([1.0]), metadata="x")
