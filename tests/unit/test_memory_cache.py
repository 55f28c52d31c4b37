"""The in-memory compile cache stays bounded in bytes; dropped programs still run (recompiled
or read back from the disk cache)."""

import mxir as mx
import numpy as np
from mxir import eager, evaluate


def test_in_memory_cache_is_bounded_in_bytes(monkeypatch):
    monkeypatch.setattr(eager, "ENABLED", False)  # whole programs, not library kernels
    x = mx.array([1.0, 2.0])
    mx.eval(mx.cos(x))
    one = evaluate._COST[next(reversed(evaluate._COST))]
    assert one > 0  # each program is charged what its compilation kept
    monkeypatch.setattr(evaluate, "CACHE_BYTES", 4 * one)
    for k in range(10):  # ten programs of distinct structure
        y = x
        for _ in range(k + 1):
            y = mx.sin(y)
        mx.eval(y)
        assert evaluate.cache_bytes() <= 4 * one or len(evaluate._CACHE) == 1
        assert set(evaluate._SPECS) <= set(evaluate._CACHE)  # specs hold executables too
    assert len(evaluate._CACHE) < 10
    # the first program (one sin) was dropped; it runs again and gives the right values
    np.testing.assert_allclose(np.array(mx.sin(x)), np.sin([1.0, 2.0]), rtol=1e-6)
