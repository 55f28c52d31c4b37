"""mxir.nn's quantized layers (QuantizedLinear, QuantizedEmbedding, nn.quantize, to_quantized)
and Upsample against MLX's mlx.nn on generated cases: parameter trees, values, outputs, errors;
Upsample's gradient against finite differences too."""

import mxir as mx
import mxir.nn as nn
import numpy as np
import pytest
from mxir.utils import tree_flatten, tree_unflatten

mlx = pytest.importorskip("mlx.core")
mnn = pytest.importorskip("mlx.nn")
from mlx.utils import tree_flatten as mlx_tree_flatten  # noqa: E402

RNG = np.random.default_rng(17)


def _tree(params, flatten):
    """(name, shape, dtype name) of each array of a parameter tree."""
    return [(k, tuple(v.shape), str(v.dtype).rsplit(".", 1)[-1]) for k, v in flatten(params)]


def _same_params(ours, theirs):
    assert (_tree(ours.parameters(), tree_flatten)
            == _tree(theirs.parameters(), mlx_tree_flatten))
    assert (_tree(ours.trainable_parameters(), tree_flatten)
            == _tree(theirs.trainable_parameters(), mlx_tree_flatten))
    for (name, a), (_, b) in zip(tree_flatten(ours.parameters()),
                                 mlx_tree_flatten(theirs.parameters())):
        if a.dtype == mx.uint32:  # the packed values: bit for bit
            np.testing.assert_array_equal(np.array(a), np.array(b), err_msg=name)
        else:  # mx.quantize's scale may be an ulp off MLX's (its own test's tolerance)
            np.testing.assert_allclose(np.array(a), np.array(b), rtol=1e-6, err_msg=name)


def _model(lib_nn, dims, vocab):
    class Net(lib_nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = lib_nn.Embedding(vocab, dims)
            self.blocks = [lib_nn.Linear(dims, 2 * dims), lib_nn.ReLU(),
                           lib_nn.Linear(2 * dims, dims, bias=False)]
            self.small = lib_nn.Linear(dims, 24)
            self.head = lib_nn.Linear(24, 5)

        def __call__(self, tokens):
            x = self.embed(tokens)
            for b in self.blocks:
                x = b(x)
            return self.head(self.small(x)), self.embed.as_linear(x)
    return Net()


def _twins(build, seed):
    mx.random.seed(seed)
    ours = build(nn)
    mlx.random.seed(seed)
    return ours, build(mnn)


def _load_mlx_weights(ours, theirs):
    """MLX's float weights into ours through NumPy (mxir's normal draws may be an ulp off
    MLX's), so that quantization alone is compared."""
    ours.update(tree_unflatten([(k, mx.array(np.array(v)))
                                for k, v in mlx_tree_flatten(theirs.parameters())]))


def _divisible(group_size):
    """Quantize the layers whose input size the group size divides (MLX's own idiom)."""
    return lambda path, m: hasattr(m, "to_quantized") and m.weight.shape[-1] % group_size == 0


@pytest.mark.parametrize("group_size,bits", [(32, 2), (64, 3), (32, 4), (64, 5), (32, 6),
                                             (64, 8), (32, 1), (None, None)])
def test_quantize_model_matches_mlx(group_size, bits):
    seed = int(RNG.integers(1 << 16))
    dims, vocab = 64 if group_size != 32 else 96, int(RNG.integers(5, 20))
    ours, theirs = _twins(lambda lib_nn: _model(lib_nn, dims, vocab), seed)
    _load_mlx_weights(ours, theirs)
    pred = _divisible(group_size or 64)
    nn.quantize(ours, group_size, bits, class_predicate=pred)
    mnn.quantize(theirs, group_size, bits, class_predicate=pred)
    assert repr(ours) == repr(theirs)
    assert isinstance(ours.blocks[0], nn.QuantizedLinear)
    assert isinstance(ours.embed, nn.QuantizedEmbedding)
    assert type(ours.head) is nn.Linear  # 24 inputs: not chosen by the predicate
    _same_params(ours, theirs)  # packed uint32 weights, scales, biases; only biases trainable
    tokens = RNG.integers(0, vocab, (3, 4)).astype(np.int32)
    for got, want in zip(ours(mx.array(tokens)), theirs(mlx.array(tokens))):
        np.testing.assert_allclose(np.array(got), np.array(want), rtol=1e-5, atol=1e-5)
    _same_stream_and_gradients(ours, theirs, tokens, check_gradients=bits in (None, 3))


@pytest.mark.parametrize("mode", ["mxfp4", "mxfp8", "nvfp4"])
def test_quantize_model_in_floating_point_modes_matches_mlx(mode):
    seed = int(RNG.integers(1 << 16))
    dims, vocab = 64, int(RNG.integers(5, 20))
    ours, theirs = _twins(lambda lib_nn: _model(lib_nn, dims, vocab), seed)
    _load_mlx_weights(ours, theirs)
    pred = _divisible(32)
    nn.quantize(ours, mode=mode, class_predicate=pred)
    mnn.quantize(theirs, mode=mode, class_predicate=pred)
    assert repr(ours) == repr(theirs)
    assert ours.blocks[0].get("biases") is None
    _same_params(ours, theirs)  # packed codes and uint8 scales, bit for bit
    tokens = RNG.integers(0, vocab, (3, 4)).astype(np.int32)
    for got, want in zip(ours(mx.array(tokens)), theirs(mlx.array(tokens))):
        # the embedding's rows come out in bfloat16 (the modes' default), and MLX's CPU
        # accumulates a bfloat16 product in bfloat16 where mxir accumulates in float32
        assert got.dtype.name == str(want.dtype).split(".")[-1]
        np.testing.assert_allclose(np.array(got.astype(mx.float32)),
                                   np.array(want.astype(mlx.float32)), rtol=2e-2, atol=2e-3)
    _same_stream_and_gradients(ours, theirs, tokens, check_gradients=False)


def _same_stream_and_gradients(ours, theirs, tokens, check_gradients):
    # quantizing drew fresh layers as MLX does, so both random streams are still in step
    np.testing.assert_array_equal(np.array(mx.random.uniform(shape=(3,))),
                                  np.array(mlx.random.uniform(shape=(3,))))
    if not check_gradients:  # differentiating is the slow part: a couple of cases suffice
        return

    # gradients reach the trainable float biases (the quantized weights are frozen)
    def loss(model, lib):
        def f(t):
            a, b = model(t)
            return (a * a).sum() + lib.sin(b).sum()
        return f
    _, g = nn.value_and_grad(ours, loss(ours, mx))(mx.array(tokens))
    _, g_mlx = mnn.value_and_grad(theirs, loss(theirs, mlx))(mlx.array(tokens))
    assert [k for k, _ in tree_flatten(g)] == [k for k, _ in mlx_tree_flatten(g_mlx)]
    for (k, a), (_, b) in zip(tree_flatten(g), mlx_tree_flatten(g_mlx)):
        np.testing.assert_allclose(np.array(a), np.array(b), rtol=1e-4, atol=1e-4, err_msg=k)


def test_quantized_layers_from_seed_and_from_weights():
    ours, theirs = _twins(lambda lib_nn: lib_nn.QuantizedLinear(128, 7, group_size=128, bits=3),
                          5)
    _same_params(ours, theirs)
    assert repr(ours) == repr(theirs)
    ours, theirs = _twins(lambda lib_nn: lib_nn.QuantizedEmbedding(9, 64, bits=6), 6)
    _same_params(ours, theirs)
    assert repr(ours) == repr(theirs)
    # a float layer loaded from MLX's weights through NumPy, then converted by each library
    m_lin = mnn.Linear(64, 10)
    lin = nn.Linear(64, 10)
    lin.update({k: mx.array(np.array(v)) for k, v in m_lin.parameters().items()})
    ours, theirs = lin.to_quantized(bits=4), m_lin.to_quantized(bits=4)
    _same_params(ours, theirs)
    x = RNG.standard_normal((2, 3, 64)).astype(np.float32)
    np.testing.assert_allclose(np.array(ours(mx.array(x))), np.array(theirs(mlx.array(x))),
                               rtol=1e-5, atol=1e-5)
    # the layer computes x dequantize(W)^T + b
    w = mx.dequantize(ours.weight, ours.scales, ours.biases, 64, 4)
    np.testing.assert_allclose(np.array(ours(mx.array(x))),
                               x @ np.array(w).T + np.array(lin.bias), rtol=1e-5, atol=1e-5)


def test_quantize_with_per_layer_arguments_and_errors():
    ours, theirs = _twins(lambda lib_nn: _model(lib_nn, 64, 8), 9)
    _load_mlx_weights(ours, theirs)

    def per_layer(path, m):
        if path == "embed":
            return {"group_size": 32, "bits": 8, "quantize_input": False}
        return isinstance(m, (nn.Linear, mnn.Linear)) and m.weight.shape[-1] % 64 == 0
    nn.quantize(ours, bits=2, class_predicate=per_layer)
    mnn.quantize(theirs, bits=2, class_predicate=per_layer)
    assert repr(ours) == repr(theirs)
    _same_params(ours, theirs)

    def errors(make):
        """(type, message) of make(mxir.nn) and of make(mlx.nn)."""
        out = []
        for lib_nn in (nn, mnn):
            with pytest.raises(Exception) as info:
                make(lib_nn)
            out.append((info.type, str(info.value)))
        return out

    for kwargs in [dict(group_size=16), dict(group_size=48), dict(group_size=128), dict(bits=7),
                   dict(bits=9), dict(mode="foo")]:
        for make in (lambda n, kw=kwargs: n.QuantizedLinear(64, 8, **kw),
                     lambda n, kw=kwargs: n.Linear(64, 8).to_quantized(**kw),
                     lambda n, kw=kwargs: n.Embedding(5, 64).to_quantized(**kw),
                     lambda n, kw=kwargs: n.quantize(n.Sequential(n.Linear(64, 3)), **kw)):
            got, want = errors(make)
            assert got == want, kwargs
    for make in (lambda n: n.quantize(n.Sequential(n.ReLU()),
                                         class_predicate=lambda p, m: True),
                 lambda n: n.quantize(n.Sequential(n.Linear(64, 3)),
                                         class_predicate=lambda p, m: "yes"),
                 lambda n: n.Embedding(5, 64).to_quantized(quantize_input=True)):
        got, want = errors(make)
        assert got[0] is ValueError and got[1].replace("mxir.nn", "mlx.nn") == want[1]
    # quantized inputs (QQLinear, test_nn_distributed.py): no bias yet, and only two modes
    got, want = errors(lambda n: n.Linear(64, 8).to_quantized(mode="nvfp4", quantize_input=True))
    assert got == want and got[0] is NotImplementedError
    got, want = errors(lambda n: n.Linear(64, 8).to_quantized(quantize_input=True))
    assert got == want


def _upsample_cases():
    modes = [("nearest", False, False), ("linear", False, False), ("linear", True, False),
             ("linear", False, True), ("cubic", False, False), ("cubic", True, False),
             ("cubic", False, True)]
    rng = np.random.default_rng(23)
    cases = []
    for mode, align, aa in modes:
        for spatial in (1, 2, 3):
            scale = tuple(float(rng.choice([0.5, 0.7, 1.0, 1.5, 2.0, 2.6, 3.0]))
                          for _ in range(spatial))
            shape = (2,) + tuple(int(rng.integers(2, 6)) for _ in range(spatial)) + (3,)
            cases.append((mode, align, aa, scale if spatial > 1 else scale[0], shape))
    return cases


@pytest.mark.parametrize("mode,align,antialias,scale,shape", _upsample_cases())
def test_upsample_matches_mlx(mode, align, antialias, scale, shape):
    x = RNG.standard_normal(shape).astype(np.float32)
    ours = nn.Upsample(scale, mode, align, antialias)
    theirs = mnn.Upsample(scale, mode, align, antialias)
    assert repr(ours) == repr(theirs)
    got, want = ours(mx.array(x)), theirs(mlx.array(x))
    assert got.shape == want.shape and got.dtype.name == str(want.dtype).rsplit(".", 1)[-1]
    np.testing.assert_allclose(np.array(got), np.array(want), rtol=1e-5, atol=2e-6)
    # gradient: against MLX's and against central differences of a random projection
    cot = RNG.standard_normal(want.shape).astype(np.float32)
    g = mx.grad(lambda a: (ours(a) * mx.array(cot)).sum())(mx.array(x))
    g_mlx = mlx.grad(lambda a: (theirs(a) * mlx.array(cot)).sum())(mlx.array(x))
    np.testing.assert_allclose(np.array(g), np.array(g_mlx), rtol=1e-5, atol=1e-5)
    if mode != "nearest":
        x64 = x.astype(np.float64)
        for i in RNG.choice(x.size, 3, replace=False):
            e = np.zeros(x.size)
            e[i] = 1e-3
            e = e.reshape(x.shape)

            def f(v):
                return float((np.array(ours(mx.array(v.astype(np.float32)))) * cot).sum())
            fd = (f(x64 + e) - f(x64 - e)) / 2e-3
            np.testing.assert_allclose(np.array(g).reshape(-1)[i], fd, rtol=2e-2, atol=2e-2)


def test_upsample_dtypes_functions_and_errors():
    x = np.arange(12).reshape(1, 3, 4, 1).astype(np.int32)
    for mode in ("nearest", "linear", "cubic"):
        got, want = nn.Upsample(2, mode)(mx.array(x)), mnn.Upsample(2, mode)(mlx.array(x))
        assert got.dtype.name == str(want.dtype).rsplit(".", 1)[-1]  # nearest keeps int32
        np.testing.assert_allclose(np.array(got), np.array(want), rtol=1e-6, atol=1e-5)
    for name in ("upsample_nearest", "upsample_linear", "upsample_cubic"):
        got = getattr(nn.upsample, name)(mx.array(x), (1.5, 0.5))
        want = getattr(mnn.upsample, name)(mlx.array(x), (1.5, 0.5))
        np.testing.assert_allclose(np.array(got), np.array(want), rtol=1e-6, atol=1e-5)
    bad = [((2, "bilinear"), (1, 2, 2, 1)), ((2, "nearest", False, True), (1, 2, 2, 1)),
           ((2, "linear", True, True), (1, 2, 2, 1)), ((2,), (3, 4)), (((2, 2),), (1, 3, 4))]
    for args, shape in bad:
        msgs = []
        for lib_nn, lib in ((nn, mx), (mnn, mlx)):
            with pytest.raises(ValueError) as info:
                lib_nn.Upsample(*args)(lib.zeros(shape))
            msgs.append(str(info.value))
        assert msgs[0] == msgs[1]


def test_submodules_as_in_mlx():
    assert nn.upsample.Upsample is nn.Upsample
    assert nn.quantized.QuantizedLinear is nn.QuantizedLinear
    assert nn.quantized.quantize is nn.quantize
    assert nn.embedding.Embedding is nn.Embedding
    assert nn.convolution_transpose.ConvTranspose2d is nn.ConvTranspose2d
    out_of_scope = {"AllToShardedLinear", "ShardedToAllLinear", "QuantizedAllToShardedLinear",
                    "QuantizedShardedToAllLinear", "FullyShardedModule", "fully_shard",
                    "average_gradients", "distributed", "QQLinear"}
    theirs = {n for n in dir(mnn) if not n.startswith("_")} - out_of_scope
    assert theirs <= set(dir(nn))
