"""The work of test_fork.py's multiprocessing workers (importable by spawned children)."""

import mxir as mx
import numpy as np


def scaled_sum(k: float) -> float:
    """A threaded kernel (2^20 elements) and a program new to the worker."""
    x = mx.array(np.linspace(-1, 1, 1 << 20, dtype=np.float32))
    y = np.asarray(mx.exp(x) * x + mx.sin(x))
    assert np.allclose(y, np.exp(np.asarray(x)) * np.asarray(x) + np.sin(np.asarray(x)),
                       rtol=1e-5, atol=1e-6)
    return float(mx.sum(x[:7] * k).item())
