"""The in-memory compile cache stays bounded; dropped programs still run (recompiled or read
back from the disk cache)."""

import mxir as mx
import numpy as np
from mxir import eager, evaluate


def test_in_memory_cache_is_bounded(monkeypatch):
    monkeypatch.setattr(evaluate, "CACHE_LIMIT", 4)
    monkeypatch.setattr(eager, "ENABLED", False)  # whole programs, not library kernels
    x = mx.array([1.0, 2.0])
    for k in range(10):  # ten programs of distinct structure
        y = x
        for _ in range(k + 1):
            y = mx.sin(y)
        mx.eval(y)
        assert len(evaluate._CACHE) <= 4
    # the first program (one sin) was dropped; it runs again and gives the right values
    np.testing.assert_allclose(np.array(mx.sin(x)), np.sin([1.0, 2.0]), rtol=1e-6)
