"""mxir.nn against MLX's mlx.nn: the Module API, every layer's initial parameters (same seed:
mxir's random stream equals MLX's) and outputs, activations, losses, initializers, printing,
value_and_grad, weights files."""

import mxir as mx
import mxir.nn as nn
import numpy as np
import pytest
from mxir.utils import tree_flatten

mlx = pytest.importorskip("mlx.core")
mnn = pytest.importorskip("mlx.nn")
from mlx.utils import tree_flatten as mlx_tree_flatten  # noqa: E402

RNG = np.random.default_rng(3)


def _close(got, want, tol=1e-5):
    np.testing.assert_allclose(np.array(got), np.array(want), rtol=tol, atol=tol)


def _twins(build):
    """The same model built by mxir and MLX from the same seed."""
    mx.random.seed(11)
    ours = build(nn, mx)
    mlx.random.seed(11)
    theirs = build(mnn, mlx)
    return ours, theirs


def _mlp(lib_nn, lib):
    class Net(lib_nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = [lib_nn.Linear(4, 8), lib_nn.ReLU(), lib_nn.Linear(8, 8)]
            self.head = {"out": lib_nn.Linear(8, 3, bias=False), "ln": lib_nn.LayerNorm(8)}
            self.bn = lib_nn.BatchNorm(8)
            self._hidden = lib.zeros((2,))

        def __call__(self, x):
            for b in self.blocks:
                x = b(x)
            return self.head["out"](self.bn(self.head["ln"](x)))
    return Net()


def _keys(tree, flatten):
    return sorted(k for k, _ in flatten(tree))


def test_module_api_matches_mlx():
    ours, theirs = _twins(_mlp)
    assert repr(ours) == repr(theirs)
    assert _keys(ours.parameters(), tree_flatten) == _keys(theirs.parameters(), mlx_tree_flatten)
    assert (_keys(ours.trainable_parameters(), tree_flatten)
            == _keys(theirs.trainable_parameters(), mlx_tree_flatten))
    for a, b in zip(tree_flatten(ours.parameters()), mlx_tree_flatten(theirs.parameters())):
        assert a[0] == b[0]
        _close(a[1], b[1], 1e-6)  # same seed, same draws (to an ulp)
    is_mod = nn.Module.is_module
    assert ([k for k, _ in tree_flatten(ours.children(), is_leaf=is_mod)]
            == [k for k, _ in mlx_tree_flatten(theirs.children(), is_leaf=mnn.Module.is_module)])
    assert ([k for k, _ in tree_flatten(ours.leaf_modules(), is_leaf=is_mod)]
            == [k for k, _ in mlx_tree_flatten(theirs.leaf_modules(),
                                               is_leaf=mnn.Module.is_module)])
    assert [k for k, _ in ours.named_modules()] == [k for k, _ in theirs.named_modules()]
    for m in (ours, theirs):
        m.freeze()
        m.unfreeze(keys=["weight"])
        m.blocks[0].unfreeze()
    assert (_keys(ours.trainable_parameters(), tree_flatten)
            == _keys(theirs.trainable_parameters(), mlx_tree_flatten))
    for m in (ours, theirs):
        m.freeze(keys="bias", strict=True)
    assert (_keys(ours.trainable_parameters(), tree_flatten)
            == _keys(theirs.trainable_parameters(), mlx_tree_flatten))
    with pytest.raises(KeyError, match="Module doesn't contain member nope."):
        ours.freeze(keys="nope", strict=True)
    ours.eval()
    assert not ours.training and not ours.blocks[0].training
    ours.train()
    assert ours.head["ln"].training


def test_update_and_apply():
    ours, theirs = _twins(_mlp)
    for m, lib in ((ours, mx), (theirs, mlx)):
        m.apply(lambda p: p * 2)
        m.update({"blocks": [{"bias": lib.ones((8,))}]})
        m.update_modules({"blocks": [{}, {}, type(m.blocks[0])(8, 8)]})
    for a, b in zip(tree_flatten(ours.parameters()), mlx_tree_flatten(theirs.parameters())):
        assert a[0] == b[0]
        _close(a[1], b[1], 1e-6)
    with pytest.raises(ValueError, match='Module does not have parameter named "nope".'):
        ours.update({"nope": mx.zeros(1)})
    with pytest.raises(ValueError, match="Received invalid type: float."):
        ours.update({"blocks": [{"bias": 1.0}]})


def test_save_and_load_weights(tmp_path):
    ours, theirs = _twins(_mlp)
    path = str(tmp_path / "w.npz")
    ours.save_weights(path)
    mx.random.seed(5)
    other = _mlp(nn, mx)
    other.load_weights(path)
    for (_k, a), (_, b) in zip(tree_flatten(ours.parameters()), tree_flatten(other.parameters())):
        _close(a, b, 0)
    theirs.load_weights(path)  # MLX reads the file mxir wrote
    for (_k, a), (_, b) in zip(tree_flatten(ours.parameters()),
                              mlx_tree_flatten(theirs.parameters())):
        _close(a, b, 0)
    with pytest.raises(ValueError, match="Missing 1 parameters"):
        other.load_weights([(k, v) for k, v in tree_flatten(ours.parameters())][1:])
    with pytest.raises(ValueError, match="Unsupported file extension"):
        ours.save_weights(str(tmp_path / "w.bin"))


# (name, args, kwargs, input shapes, call kwargs); float inputs unless the name says tokens
LAYERS = [
    ("Linear", (5, 3), {}, [(2, 5)], {}),
    ("Bilinear", (4, 3, 2), {}, [(2, 4), (2, 3)], {}),
    ("Embedding", (10, 4), {}, ["tokens", (2, 3)], {}),
    ("LayerNorm", (6,), {}, [(2, 3, 6)], {}),
    ("RMSNorm", (6,), {}, [(2, 3, 6)], {}),
    ("GroupNorm", (2, 6), {}, [(2, 4, 6)], {}),
    ("GroupNorm", (3, 6), {"pytorch_compatible": True}, [(2, 4, 6)], {}),
    ("InstanceNorm", (4,), {"affine": True}, [(2, 3, 3, 4)], {}),
    ("BatchNorm", (4,), {}, [(5, 3, 4)], {}),
    ("Conv1d", (4, 6, 3), {"stride": 2, "padding": 1, "groups": 2}, [(2, 9, 4)], {}),
    ("Conv2d", (3, 4, (2, 3)), {"padding": 1, "dilation": 2}, [(2, 7, 8, 3)], {}),
    ("Conv3d", (2, 3, 2), {"stride": 2}, [(1, 5, 4, 5, 2)], {}),
    ("ConvTranspose1d", (4, 3, 3), {"stride": 2, "output_padding": 1}, [(2, 6, 4)], {}),
    ("ConvTranspose2d", (2, 3, 3), {"padding": 1}, [(1, 4, 5, 2)], {}),
    ("ConvTranspose3d", (2, 3, 2), {"stride": 2}, [(1, 3, 2, 3, 2)], {}),
    ("MaxPool1d", (3,), {"stride": 2, "padding": 1}, [(2, 9, 3)], {}),
    ("AvgPool2d", (2,), {}, [(2, 6, 6, 3)], {}),
    ("MaxPool2d", ((2, 3),), {"stride": 1}, [(1, 5, 6, 2)], {}),
    ("AvgPool3d", (2,), {"padding": 1}, [(1, 4, 3, 4, 2)], {}),
    ("MultiHeadAttention", (8, 2), {"bias": True}, [(2, 5, 8), (2, 4, 8), (2, 4, 8)], {}),
    ("MultiHeadAttention", (8, 2), {}, [(2, 5, 8), (2, 5, 8), (2, 5, 8), ("mask", 5)], {}),
    ("TransformerEncoder", (2, 8, 2), {}, [(2, 5, 8), ("mask", 5)], {}),
    ("Transformer", (8, 2, 1, 1), {"norm_first": False},
     [(2, 5, 8), (2, 4, 8), ("mask", 5), ("mask", 4), None], {}),
    ("RoPE", (6,), {}, [(2, 3, 5, 8)], {"offset": 2}),
    ("RoPE", (8,), {"traditional": True, "base": 100.0}, [(2, 5, 8)], {}),
    ("SinusoidalPositionalEncoding", (8,), {"cos_first": True}, [(5,)], {}),
    ("RNN", (3, 4), {}, [(2, 5, 3)], {}),
    ("GRU", (3, 4), {}, [(2, 5, 3)], {}),
    ("LSTM", (3, 4), {"bias": False}, [(2, 5, 3)], {}),
    ("PReLU", (), {}, [(3, 4)], {}),
    ("Dropout", (0.3,), {}, [(4, 6)], {}),
    ("Dropout2d", (0.5,), {}, [(2, 3, 3, 4)], {}),
    ("Sequential", "mlp", {}, [(2, 4)], {}),
]


def _inputs(shapes, lib):
    out = []
    for i, s in enumerate(shapes):
        if s == "tokens":
            out.append(lib.array(RNG_INPUTS.integers(0, 10, shapes[i + 1]).astype(np.int32)))
        elif s is None:
            out.append(None)
        elif s[0] == "mask":
            lib_nn = nn if lib is mx else mnn
            out.append(lib_nn.MultiHeadAttention.create_additive_causal_mask(s[1]))
        elif i > 0 and shapes[i - 1] == "tokens":
            continue
        else:
            out.append(lib.array(RNG_INPUTS.standard_normal(s).astype(np.float32)))
    return out


RNG_INPUTS = np.random.default_rng(0)


def _build(lib_nn, name, args, kwargs):
    if args == "mlp":
        return lib_nn.Sequential(lib_nn.Linear(4, 5), lib_nn.GELU(), lib_nn.Linear(5, 2))
    return getattr(lib_nn, name)(*args, **kwargs)


@pytest.mark.parametrize("case", LAYERS, ids=[f"{c[0]}-{i}" for i, c in enumerate(LAYERS)])
def test_layer_matches_mlx(case):
    name, args, kwargs, shapes, call = case
    ours, theirs = _twins(lambda lib_nn, lib: _build(lib_nn, name, args, kwargs))
    if name != "RNN":  # its repr holds the address of its nonlinearity function
        assert repr(ours) == repr(theirs)
    for (_k, a), (_, b) in zip(tree_flatten(ours.parameters()),
                              mlx_tree_flatten(theirs.parameters())):
        _close(a, b, 1e-6)
    state = RNG_INPUTS.bit_generator.state
    x_ours = _inputs(shapes, mx)
    RNG_INPUTS.bit_generator.state = state
    x_theirs = _inputs(shapes, mlx)
    mx.random.seed(1)  # dropout masks from the same random state
    mlx.random.seed(1)
    out, want = [ours(*x_ours, **call)], [theirs(*x_theirs, **call)]
    if name == "BatchNorm":  # running statistics updated in training mode
        out += [ours.running_mean, ours.running_var]
        want += [theirs.running_mean, theirs.running_var]
    mx.eval(out)
    ours_leaves = [v for _, v in tree_flatten(out)]
    mlx_leaves = [v for _, v in mlx_tree_flatten(want)]
    assert len(ours_leaves) == len(mlx_leaves)
    for a, b in zip(ours_leaves, mlx_leaves):
        assert a.shape == b.shape
        _close(a, b, 2e-5)


ACTIVATIONS = ["sigmoid", "relu", "relu2", "relu6", "leaky_relu", "log_softmax", "elu",
               "softmax", "softplus", "softsign", "softshrink", "celu", "silu", "log_sigmoid",
               "gelu", "gelu_approx", "gelu_fast_approx", "glu", "step", "selu", "mish",
               "hardswish", "hard_tanh", "hard_shrink", "softmin", "tanh"]
ACTIVATION_CLASSES = ["Sigmoid", "ReLU", "ReLU2", "ReLU6", "LeakyReLU", "LogSoftmax", "ELU",
                      "Softmax", "Softplus", "Softsign", "Softshrink", "CELU", "SiLU",
                      "LogSigmoid", "GELU", "GLU", "Step", "SELU", "Mish", "Hardswish",
                      "HardTanh", "HardShrink", "Softmin", "Tanh"]


def test_activations_match_mlx():
    x = RNG.standard_normal((4, 6)).astype(np.float32) * 3
    ours = [getattr(nn, f)(mx.array(x)) for f in ACTIVATIONS]
    ours += [getattr(nn, c)()(mx.array(x)) for c in ACTIVATION_CLASSES]
    ours += [nn.GELU(approx="tanh")(mx.array(x)), nn.LeakyReLU(0.2)(mx.array(x))]
    mx.eval(ours)
    want = [getattr(mnn, f)(mlx.array(x)) for f in ACTIVATIONS]
    want += [getattr(mnn, c)()(mlx.array(x)) for c in ACTIVATION_CLASSES]
    want += [mnn.GELU(approx="tanh")(mlx.array(x)), mnn.LeakyReLU(0.2)(mlx.array(x))]
    for name, a, b in zip(ACTIVATIONS + ACTIVATION_CLASSES + ["tanh", "leaky"], ours, want):
        assert a.dtype.name == str(b.dtype).rsplit(".", 1)[-1], name
        _close(a, b, 1e-5)
    missing_in_ours = [n for n in dir(mnn) if n[0] != "_" and not hasattr(nn, n)]
    assert "Linear" not in missing_in_ours


def _loss_cases(lib):
    a = lib.array(RNG_L.standard_normal((4, 5)).astype(np.float32))
    b = lib.array(RNG_L.standard_normal((4, 5)).astype(np.float32))
    c = lib.array(RNG_L.standard_normal((4, 5)).astype(np.float32))
    probs = lib.softmax(b, axis=-1)
    labels = lib.array(RNG_L.integers(0, 5, (4,)).astype(np.int32))
    w = lib.array(RNG_L.random(4).astype(np.float32))
    sign = lib.array(np.sign(RNG_L.standard_normal((4, 5))).astype(np.float32))
    unit = lib.sigmoid(a)
    return [
        ("cross_entropy", (a, labels), {}),
        ("cross_entropy", (a, labels), {"weights": w, "label_smoothing": 0.2,
                                         "reduction": "mean"}),
        ("cross_entropy", (a, probs), {"axis": -1, "reduction": "sum"}),
        ("binary_cross_entropy", (a, unit), {}),
        ("binary_cross_entropy", (unit, lib.sigmoid(b)), {"with_logits": False,
                                                          "reduction": "none"}),
        ("l1_loss", (a, b), {}), ("mse_loss", (a, b), {"reduction": "sum"}),
        ("nll_loss", (a, labels), {"reduction": "mean"}),
        ("gaussian_nll_loss", (a, b, lib.exp(c)), {"full": True}),
        ("kl_div_loss", (lib.log(probs), lib.log(lib.softmax(a, axis=-1))), {}),
        ("smooth_l1_loss", (a, b), {"beta": 0.5}),
        ("triplet_loss", (a, b, c), {"reduction": "mean"}),
        ("hinge_loss", (a, sign), {}), ("huber_loss", (a, b), {"delta": 0.7}),
        ("log_cosh_loss", (a, b), {"reduction": "mean"}),
        ("cosine_similarity_loss", (a, b), {}),
        ("margin_ranking_loss", (a, b, sign), {"margin": 0.1}),
    ]


RNG_L = None


def test_losses_match_mlx():
    global RNG_L
    RNG_L = np.random.default_rng(9)
    ours = [(n, getattr(nn.losses, n)(*args, **kw)) for n, args, kw in _loss_cases(mx)]
    RNG_L = np.random.default_rng(9)
    want = [getattr(mnn.losses, n)(*args, **kw) for n, args, kw in _loss_cases(mlx)]
    mx.eval([o for _, o in ours])
    for (name, a), b in zip(ours, want):
        assert a.shape == b.shape, name
        _close(a, b, 1e-5)
    with pytest.raises(ValueError, match=r"Invalid reduction"):
        nn.losses.mse_loss(mx.zeros(2), mx.zeros(2), reduction="avg")
    with pytest.raises(ValueError, match=r"Targets shape \(3,\) does not match logits shape"):
        nn.losses.cross_entropy(mx.zeros((2, 4)), mx.zeros(3, dtype=mx.int32))


def test_initializers_match_mlx():
    shape = (6, 4)
    names = [("constant", (0.5,)), ("normal", (0.1, 2.0)), ("uniform", (-1.0, 2.0)),
             ("identity", ()), ("glorot_normal", ()), ("glorot_uniform", ()),
             ("he_normal", ()), ("he_uniform", ()), ("sparse", (0.5,)), ("orthogonal", ())]
    for name, args in names:
        s = (4, 4) if name == "identity" else shape
        mx.random.seed(4)
        a = getattr(nn.init, name)(*args)(mx.zeros(s))
        mlx.random.seed(4)
        b = getattr(mnn.init, name)(*args)(mlx.zeros(s))
        _close(a, b, 1e-5)


def test_value_and_grad_matches_mlx_and_finite_differences():
    ours, theirs = _twins(_mlp)
    x = RNG.standard_normal((6, 4)).astype(np.float32)
    y = RNG.integers(0, 3, 6).astype(np.int32)

    def loss(lib_nn):
        return lambda model, x, y: lib_nn.losses.cross_entropy(model(x), y, reduction="mean")

    v, g = nn.value_and_grad(ours, loss(nn))(ours, mx.array(x), mx.array(y))
    v2, g2 = mnn.value_and_grad(theirs, loss(mnn))(theirs, mlx.array(x), mlx.array(y))
    _close(v, v2, 1e-5)
    assert _keys(g, tree_flatten) == _keys(g2, mlx_tree_flatten)
    for (_k, a), (_, b) in zip(sorted(tree_flatten(g)), sorted(mlx_tree_flatten(g2))):
        _close(a, b, 1e-4)
    # one weight entry against a central difference
    w = np.array(ours.blocks[0].weight)
    eps = 1e-2
    plus, minus = w.copy(), w.copy()
    plus[1, 2] += eps
    minus[1, 2] -= eps
    vals = []
    for ww in (plus, minus):
        ours.blocks[0].weight = mx.array(ww)
        vals.append(loss(nn)(ours, mx.array(x), mx.array(y)).item())
    assert abs((vals[0] - vals[1]) / (2 * eps) - np.array(g["blocks"][0]["weight"])[1, 2]) < 1e-3
