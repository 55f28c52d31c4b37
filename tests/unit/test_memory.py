"""The memory API (as MLX's) over the runtime's buffer pool: real accounting, reuse of freed
buffers, bounded cache, and the memory limit as MLX's error instead of the process dying."""

import gc
import subprocess
import sys

import mlx.core as mlx
import mxir as mx
import numpy as np
import pytest
from mxir.runtime import memory


@pytest.fixture(autouse=True)
def fresh_limits():
    gc.collect()
    pool = memory.POOL
    saved = (pool.memory_limit, pool.cache_limit)
    yield pool
    pool.memory_limit, pool.cache_limit = saved


def _eval(y):
    mx.eval(y)
    return y


_GROWTH = """
import sys
import numpy as np
import {m} as m
seed = int(sys.argv[1])
rng = np.random.default_rng(seed)
shape = tuple(int(d) for d in rng.integers(1, 40, size=rng.integers(0, 4)))
dtype = ["float32", "float16", "int32", "bool"][seed % 4]
x = m.array(rng.standard_normal(shape) * 3)
x = x.astype(getattr(m, dtype if dtype != "bool" else "bool_"))
m.eval(x)
before = m.get_active_memory()
y = x * 2 if dtype != "bool" else m.logical_not(x)
m.eval(y)
print(m.get_active_memory() - before, np.dtype(dtype).itemsize * int(np.prod(shape)))
"""


@pytest.mark.parametrize("seed", range(6))
def test_active_memory_matches_mlx(seed):
    """Generated shapes and dtypes: the active memory an op's result adds is MLX's figure.
    Each library runs in a fresh process: in a long test run MLX's own figure moves with
    what earlier tests left in its allocator (measured: 60 bytes for a 40-byte result)."""
    figures = []
    for module in ("mxir", "mlx.core"):
        out = subprocess.run([sys.executable, "-c", _GROWTH.format(m=module), str(seed)],
                             capture_output=True, text=True, check=True).stdout.split()
        figures.append(tuple(map(int, out)))
    (mine, size), (theirs, _) = figures
    assert mine == theirs == size


def test_freed_output_is_reused_and_counted(fresh_limits):
    pool = fresh_limits
    x = _eval(mx.arange(50_000, dtype=mx.float32))
    y = _eval(x * 2 + 1)
    active = mx.get_active_memory()
    assert mx.get_peak_memory() >= active >= 200_000
    del y
    assert mx.get_active_memory() == active - 200_000
    assert mx.get_cache_memory() >= 200_000
    fresh = pool.fresh
    z = _eval(x * 3 - 1)  # same size class: the freed buffer, no new one
    assert pool.fresh == fresh
    np.testing.assert_array_equal(np.array(z), np.arange(50_000, dtype=np.float32) * 3 - 1)


def test_views_keep_the_buffer(fresh_limits):
    x = _eval(mx.arange(4096, dtype=mx.float32))
    y = _eval(x + 1)
    view = np.asarray(y)[10:20]  # may share y's buffer
    expect = view.copy()
    del y
    for k in range(3):  # allocations of the same class must not take a buffer still seen
        _eval(x * (k + 5))
    np.testing.assert_array_equal(view, expect)


def test_cache_limit_and_clear(fresh_limits):
    x = _eval(mx.arange(100_000, dtype=mx.float32))
    y = _eval(x + 1)
    del y
    assert mx.get_cache_memory() > 0
    mx.clear_cache()
    assert mx.get_cache_memory() == 0
    previous = mx.set_cache_limit(0)
    assert previous > 0 and mx.set_cache_limit(0) == 0
    y = _eval(x + 2)
    del y
    assert mx.get_cache_memory() == 0  # a zero limit disables the cache
    mx.set_cache_limit(1 << 30)
    for n in range(1000, 1200):  # ever-new sizes: the cache stays within its limit
        mx.set_cache_limit(300_000)
        del_me = _eval(mx.zeros((n * 10,)) + 1)
        del del_me
        assert mx.get_cache_memory() <= 300_000


def test_peak_reset():
    x = _eval(mx.zeros((10_000,)) + 1)
    assert mx.get_peak_memory() >= 40_000
    assert mx.reset_peak_memory() is None
    assert mx.get_peak_memory() == 0
    y = _eval(x + 1)
    assert mx.get_peak_memory() >= 40_000
    del y


def test_memory_limit_raises_mlx_error(fresh_limits):
    x = _eval(mx.zeros((10,)) + 1)
    previous = mx.set_memory_limit(mx.get_active_memory() + 1_000_000)
    assert previous == fresh_limits.memory_limit or previous > 0
    with pytest.raises(RuntimeError, match=r"^\[malloc\] Unable to allocate 4000000 bytes\.$"):
        mx.eval(mx.zeros((1_000_000,)) + x[0])
    mx.set_memory_limit(previous)
    assert float(mx.sum(mx.zeros((1_000_000,)) + x[0]).item()) == 1_000_000  # still works


def test_limit_arguments_as_mlx():
    for name in ("set_memory_limit", "set_cache_limit", "set_wired_limit"):
        for bad in (-1, 1.5, "1"):
            with pytest.raises(TypeError) as ours:
                getattr(mx, name)(bad)
            with pytest.raises(TypeError) as theirs:
                getattr(mlx, name)(bad)
            assert str(ours.value).split("\n")[0] == str(theirs.value).split("\n")[0]
    assert mx.set_wired_limit(0) == 0 and mx.set_wired_limit(0) == 0


def test_size_classes():
    for n in (1, 15, 16, 17, 4096, 4097, 1 << 20, (1 << 20) + 1, 3 * (1 << 24) + 5):
        c = memory.size_class(n)
        assert c >= n and (c <= 2 * n if n > 16 else c == 16 if n <= 16 else True)
        if n > 4096:
            assert c % 4096 == 0 and c <= n * 1.25 + 4096


def test_outputs_are_cache_line_aligned():
    """Outputs start on a 64-byte line (malloc's large blocks start 16 bytes past a page,
    where each 512-bit vector store straddles two lines), fresh and reused alike."""
    x = _eval(mx.arange(3, dtype=mx.float32))
    for n in (1, 3, 100, 5000, 1 << 20):
        for _ in range(2):  # fresh, then the freed buffer again
            y = _eval(mx.zeros((n,)) + x[0])
            assert np.asarray(y).ctypes.data % memory.ALIGN == 0
            del y


def test_cache_counters_are_the_pools_buffers(fresh_limits):
    """get_cache_memory / clear_cache / set_cache_limit act on the buffers the outputs come
    from: a freed output's buffer is counted, then taken by the next output of its class;
    once cleared (or with a zero limit) the next output needs a fresh buffer, and the
    memory goes back to the OS."""
    pool = fresh_limits
    mx.clear_cache()
    n = 8 << 20  # 32 MB: malloc maps it, so freeing it lowers the resident size
    x = _eval(mx.zeros((1,)))
    y = _eval(mx.zeros((n,)) + x)
    del y
    assert mx.get_cache_memory() == pool.cache == memory.size_class(4 * n)
    fresh = pool.fresh
    y = _eval(mx.zeros((n,)) + x)
    assert pool.fresh == fresh and mx.get_cache_memory() == 0  # the cached buffer, reused
    del y
    resident = memory.resident_bytes()
    mx.clear_cache()
    assert mx.get_cache_memory() == 0
    assert memory.resident_bytes() < resident - 16 * (1 << 20)
    y = _eval(mx.zeros((n,)) + x)
    assert pool.fresh == fresh + 1
    mx.set_cache_limit(0)
    del y
    assert mx.get_cache_memory() == 0
    y = _eval(mx.zeros((n,)) + x)
    assert pool.fresh == fresh + 2
    del y
