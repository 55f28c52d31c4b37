"""mxir.optimizers against mlx.optimizers: several update steps of every optimizer on the same
parameters and gradients, schedules, clip_grad_norm, and a compiled step with the optimizer
state as implicit inputs and outputs."""

from functools import partial

import mxir as mx
import mxir.nn as nn
import mxir.optimizers as optim
import numpy as np
import pytest
from mxir.utils import tree_flatten

mlx = pytest.importorskip("mlx.core")
mopt = pytest.importorskip("mlx.optimizers")
mnn = pytest.importorskip("mlx.nn")
from mlx.utils import tree_flatten as mlx_tree_flatten  # noqa: E402

RNG = np.random.default_rng(5)
PARAMS = {"w": RNG.standard_normal((3, 4)).astype(np.float32),
          "layers": [{"b": RNG.standard_normal(4).astype(np.float32)}]}
GRADS = [{"w": RNG.standard_normal((3, 4)).astype(np.float32),
          "layers": [{"b": RNG.standard_normal(4).astype(np.float32)}]} for _ in range(3)]

OPTIMIZERS = [
    ("SGD", (0.1,), {}), ("SGD", (0.1,), {"momentum": 0.9, "weight_decay": 0.01,
                                          "nesterov": True}),
    ("SGD", (0.1,), {"momentum": 0.5, "dampening": 0.2}),
    ("RMSprop", (0.01,), {}), ("Adagrad", (0.1,), {}), ("AdaDelta", (0.5,), {}),
    ("Adam", (0.01,), {}), ("Adam", (0.01,), {"bias_correction": True}),
    ("AdamW", (0.01,), {"weight_decay": 0.1}), ("Adamax", (0.01,), {}),
    ("Lion", (0.01,), {"weight_decay": 0.1}), ("Adafactor", (), {}),
    ("Adafactor", (0.01,), {"relative_step": False, "beta_1": 0.9, "weight_decay": 0.1}),
    ("Muon", (0.02,), {}), ("Muon", (0.02,), {"nesterov": False, "weight_decay": 0.0}),
]


def _tree(lib, t):
    if isinstance(t, dict):
        return {k: _tree(lib, v) for k, v in t.items()}
    if isinstance(t, list):
        return [_tree(lib, v) for v in t]
    return lib.array(t)


@pytest.mark.parametrize("case", OPTIMIZERS, ids=[f"{c[0]}-{i}" for i, c in enumerate(OPTIMIZERS)])
def test_optimizer_steps_match_mlx(case):
    name, args, kwargs = case
    ours, theirs = getattr(optim, name)(*args, **kwargs), getattr(mopt, name)(*args, **kwargs)
    p_ours, p_theirs = _tree(mx, PARAMS), _tree(mlx, PARAMS)
    for g in GRADS:
        p_ours = ours.apply_gradients(_tree(mx, g), p_ours)
        p_theirs = theirs.apply_gradients(_tree(mlx, g), p_theirs)
    mx.eval(p_ours, ours.state)
    for (k, a), (k2, b) in zip(tree_flatten(p_ours), mlx_tree_flatten(p_theirs)):
        assert k == k2
        np.testing.assert_allclose(np.array(a), np.array(b), rtol=1e-5, atol=1e-6)
    assert sorted(k for k, _ in tree_flatten(ours.state)) == sorted(
        k for k, _ in mlx_tree_flatten(theirs.state))
    assert ours.step.item() == theirs.step.item() == len(GRADS)


def test_schedules_match_mlx():
    def build(o):
        return [o.exponential_decay(0.1, 0.9), o.step_decay(0.1, 0.5, 3),
                o.cosine_decay(0.1, 7, 0.01), o.linear_schedule(0.0, 1.0, 5),
                o.join_schedules([o.linear_schedule(0.0, 0.1, 4), o.cosine_decay(0.1, 6)], [4])]
    for s_ours, s_theirs in zip(build(optim), build(mopt)):
        got = [s_ours(mx.array(i)) for i in range(12)]
        mx.eval(got)
        for i, g in enumerate(got):
            assert abs(g.item() - s_theirs(mlx.array(i)).item()) < 1e-6
    with pytest.raises(ValueError, match="Received 2 boundaries but expected 1."):
        optim.join_schedules([optim.exponential_decay(1, 1)] * 2, [1, 2])
    # a schedule drives the learning rate stored in the state
    opt = optim.SGD(learning_rate=optim.step_decay(1.0, 0.5, 1))
    params = {"w": mx.ones(2)}
    for _ in range(3):
        params = opt.apply_gradients({"w": mx.ones(2)}, params)
    np.testing.assert_allclose(np.array(params["w"]), 1 - (1 + 0.5 + 0.25))


def test_clip_grad_norm_matches_mlx():
    g_ours, g_theirs = _tree(mx, GRADS[0]), _tree(mlx, GRADS[0])
    for max_norm in (0.5, 100.0):
        c, n = optim.clip_grad_norm(g_ours, max_norm)
        c2, n2 = mopt.clip_grad_norm(g_theirs, max_norm)
        assert abs(n.item() - n2.item()) < 1e-5
        for (_, a), (_, b) in zip(tree_flatten(c), mlx_tree_flatten(c2)):
            np.testing.assert_allclose(np.array(a), np.array(b), rtol=1e-5, atol=1e-6)


def test_compiled_step_with_state_matches_uncompiled():
    """mx.compile(step, inputs=state, outputs=state) over model + optimizer state."""
    def run(compiled):
        mx.random.seed(2)
        model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
        opt = optim.Adam(learning_rate=optim.cosine_decay(0.05, 10))
        loss_grad = nn.value_and_grad(model, lambda m, x, y: nn.losses.mse_loss(m(x), y))

        def step(x, y):
            loss, grads = loss_grad(model, x, y)
            opt.update(model, grads)
            return loss

        state = [model.state, opt.state]
        if compiled:
            step = partial(mx.compile, inputs=state, outputs=state)(step)
        rng = np.random.default_rng(0)
        x = mx.array(rng.standard_normal((5, 4)).astype(np.float32))
        y = mx.array(rng.standard_normal((5, 2)).astype(np.float32))
        losses = []
        for _ in range(4):
            loss = step(x, y)
            mx.eval(loss, state)
            losses.append(loss.item())
        return losses, opt.step.item()

    (eager, n1), (compiled, n2) = run(False), run(True)
    np.testing.assert_allclose(compiled, eager, rtol=1e-5)
    assert n1 == n2 == 4 and eager[-1] < eager[0]
