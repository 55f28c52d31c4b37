"""The examples train, and their losses over the first 50 steps equal MLX's run of the same
script (same seed: mxir's random stream equals MLX's, so the initial weights do too)."""

import importlib.util
import os

import numpy as np
import pytest

pytest.importorskip("mlx.core")

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks")


def _example(name: str):
    spec = importlib.util.spec_from_file_location(name, os.path.join(EXAMPLES, name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("compiled", [False, True])
def test_mlp_losses_match_mlx(compiled):
    mlp = _example("mlp")
    argv = ["--steps", "50", "--batch-size", "16", "--hidden", "32"] + (
        ["--compile"] if compiled else [])
    ours = mlp.main(argv)
    theirs = mlp.main(argv + ["--backend", "mlx"])
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)
    assert ours[-1] < 0.5 * ours[0]  # it learns


def test_transformer_lm_losses_match_mlx():
    lm = _example("transformer_lm")
    argv = ["--steps", "50", "--batch-size", "4", "--context", "8", "--vocab", "16",
            "--dims", "16", "--heads", "2", "--layers", "1"]
    ours = lm.main(argv)
    theirs = lm.main(argv + ["--backend", "mlx"])
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-4)
    assert ours[-1] < 0.7 * ours[0]
