"""Issue 12, more mlx.core names, each compared with MLX on generated cases: get_memory_limit,
get_array_buffer_size, FunctionExporter, random.multivariate_normal, clear_streams."""

import subprocess
import sys
import threading
from pathlib import Path

import mxir as mx
import numpy as np
import pytest

m = pytest.importorskip("mlx.core")

DTYPES = ["bool_", "int8", "uint8", "int16", "float16", "bfloat16", "int32", "float32", "int64"]


def outcome(fn, *args):
    """fn(*args), or (exception type name, message): both libraries must agree on it."""
    try:
        return fn(*args)
    except Exception as e:  # noqa: BLE001 - the exception is what is compared
        return type(e).__name__, str(e)


# -- memory limit -----------------------------------------------------------------------------
def test_get_memory_limit_as_mlx():
    assert mx.get_memory_limit() == m.get_memory_limit()  # both: 80% of the machine's memory
    default = mx.get_memory_limit()
    try:
        assert mx.set_memory_limit(1 << 30) == default  # set returns the previous one,
        assert mx.get_memory_limit() == 1 << 30  # get the current one
        assert mx.set_memory_limit(default) == 1 << 30
    finally:
        mx.set_memory_limit(default)
    assert mx.get_memory_limit() == default


# -- buffer sizes -----------------------------------------------------------------------------
@pytest.fixture
def mlx_without_cache():
    # MLX reports the size of the buffer an array got: with its cache on, a reused (larger)
    # one; without it, exactly the bytes asked for, which is what mxir reports
    previous = m.set_cache_limit(0)
    yield
    m.set_cache_limit(previous)


def test_get_array_buffer_size_generated(mlx_without_cache):
    rng = np.random.default_rng(12)
    for _ in range(25):
        made = []
        for _ in range(int(rng.integers(1, 4))):
            shape = tuple(int(d) for d in rng.integers(0, 9, size=int(rng.integers(0, 4))))
            dtype = str(rng.choice(DTYPES))
            x = rng.standard_normal(shape).astype(np.float32)
            pair = []
            for lib in (mx, m):
                a = lib.array(x).astype(getattr(lib, dtype))
                b = a * 3 if dtype != "bool_" else a & a  # an output the runtime allocated
                lib.eval(b)
                pair.append((a, b))
            made.append(pair)
        for side, lib in ((0, mx), (1, m)):
            arrays = [p[side] for p in made]
            # trees, repeats (each buffer once) and non-array leaves (ignored)
            tree = [{"k": arrays, "n": 3}, arrays[0], (arrays[-1], "s", None)]
            sizes = [lib.get_array_buffer_size(*arrays[0]),
                     lib.get_array_buffer_size(*tree), lib.get_array_buffer_size(tree, 1.5)]
            if side == 0:
                mine = sizes
            else:
                assert mine == sizes
        total = sum(a.nbytes + b.nbytes for (a, b), _ in made)
        assert mine[1] == total  # distinct buffers: their bytes


def test_get_array_buffer_size_shared_buffers_and_errors(mlx_without_cache):
    x = np.arange(60, dtype=np.float32).reshape(6, 10)
    for lib in (mx, m):
        a = lib.array(x) * 2
        lib.eval(a)
        views = [a[1:3], a.reshape(60), a[4:]]  # views of a's buffer in both libraries
        lib.eval(*views)
        assert lib.get_array_buffer_size(a, *views) == 240
        assert lib.get_array_buffer_size() == 0
        assert lib.get_array_buffer_size(3, "x", [None]) == 0
    assert outcome(lambda: mx.get_array_buffer_size(mx.array(x) + 1)) == outcome(
        lambda: m.get_array_buffer_size(m.array(x) + 1))
    assert outcome(lambda: mx.get_array_buffer_size(
        [mx.array(1.0), mx.array(x) + 1])) == outcome(lambda: m.get_array_buffer_size(
            [m.array(1.0), m.array(x) + 1]))
    assert outcome(lambda: mx.get_array_buffer_size(mx.array(x) + 1))[0] == "ValueError"


# -- FunctionExporter -------------------------------------------------------------------------
def _exporter_story(lib, tmp_path) -> list:
    path = str(tmp_path / f"f.{lib.__name__}")
    ex = lib.exporter(path, lambda x, y: x * y + 1)
    got = [type(ex) is lib.FunctionExporter, (tmp_path / f"f.{lib.__name__}").exists()]
    # before any trace the file imports as a function that matches no call
    got.append(outcome(lambda: lib.import_function(path)(lib.array([1.0]), lib.array(2.0)))[0])
    with ex as entered:
        got.append(entered is ex)
        ex(lib.array([1.0, 2.0]), lib.array(3.0))
        # written after each trace, so it imports while still open
        got.append(lib.import_function(path)(lib.array([1.0, 2.0]), lib.array(3.0))[0].tolist())
        ex(lib.array([[1.0]]), lib.array(2.0))
    got.append(outcome(lambda: ex(lib.array([1.0]), lib.array(2.0))))  # closed by __exit__
    ex.close()  # closing twice is fine
    f = lib.import_function(path)
    got += [f(lib.array([5.0, 6.0]), lib.array(2.0))[0].tolist(),
            f(lib.array([[4.0]]), lib.array(0.5))[0].tolist()]
    got.append(outcome(lambda: lib.FunctionExporter(path, lambda x: x))[0])
    got.append(outcome(lambda: lib.exporter(str(tmp_path / "missing" / "f"), lambda x: x))[0])
    return got


def test_function_exporter_as_mlx(tmp_path):
    mine = _exporter_story(mx, tmp_path)
    assert mine == _exporter_story(m, tmp_path)
    assert mine[:2] == [True, True] and mine[-2:] == ["TypeError", "RuntimeError"]


# -- random.multivariate_normal ---------------------------------------------------------------
def _mvn_case(rng):
    n = int(rng.integers(1, 5))
    cov_batch = [int(d) for d in rng.integers(1, 3, size=int(rng.integers(0, 3)))]
    mean_batch = cov_batch[len(cov_batch) - int(rng.integers(0, len(cov_batch) + 1)):]
    a = rng.standard_normal(cov_batch + [n, n]).astype(np.float32)
    cov = a @ np.swapaxes(a, -1, -2) + 0.1 * np.eye(n, dtype=np.float32)
    mean = rng.standard_normal(mean_batch + [n]).astype(np.float32)
    shape = [int(rng.integers(1, 4))] + cov_batch if rng.random() < 0.5 else []
    return mean, cov, shape, int(rng.integers(0, 2**32))


def test_multivariate_normal_same_samples_as_mlx():
    rng = np.random.default_rng(7)
    for _ in range(6):
        mean, cov, shape, seed = _mvn_case(rng)
        mine = mx.random.multivariate_normal(mx.array(mean), mx.array(cov), shape,
                                             key=mx.random.key(seed))
        theirs = m.random.multivariate_normal(m.array(mean), m.array(cov), shape,
                                              key=m.random.key(seed))
        assert mine.shape == theirs.shape and mine.dtype == mx.float32
        np.testing.assert_allclose(np.array(mine), np.array(theirs), rtol=1e-4, atol=1e-4)
    # without a key: the next key of the global sequence, as MLX (int inputs, dtype=None)
    mean, cov = np.array([1, 2]), np.array([[2, 1], [1, 2]])
    mx.random.seed(3)
    m.random.seed(3)
    mine = mx.random.multivariate_normal(mx.array(mean), mx.array(cov), [4], dtype=None)
    theirs = m.random.multivariate_normal(m.array(mean), m.array(cov), [4], dtype=None)
    np.testing.assert_allclose(np.array(mine), np.array(theirs), rtol=1e-5, atol=1e-5)


def test_multivariate_normal_gradient_in_cov_vs_finite_differences():
    # beyond MLX (its SVD has no vjp): through mxir's svd vjp
    mean, cov = np.array([0.5, -1.0], np.float32), np.array([[2.0, 0.3], [0.3, 1.0]], np.float32)

    def f(c):
        return mx.random.multivariate_normal(mx.array(mean), c, [3], key=mx.random.key(5)).sum()

    grad = np.array(mx.grad(f)(mx.array(cov)))
    eps, fd = 1e-2, np.zeros_like(cov)
    for i, j in np.ndindex(2, 2):
        step = np.zeros_like(cov)
        step[i, j] = eps
        fd[i, j] = (f(mx.array(cov + step)).item() - f(mx.array(cov - step)).item()) / (2 * eps)
    np.testing.assert_allclose(grad, fd, rtol=1e-3, atol=1e-3)


def _mvn_shape(lib, mean, cov, shape, dtype):
    return lib.random.multivariate_normal(lib.array(mean), lib.array(np.asarray(cov, np.float32)),
                                          shape, getattr(lib, dtype), key=lib.random.key(0)).shape


def test_multivariate_normal_errors_as_mlx():
    cases = [  # (mean, cov, shape, dtype)
        ([0.0, 1.0], [[1.0, 0.0], [0.0, 1.0]], [], "float16"),
        (1.0, [[1.0]], [], "float32"),
        ([0.0, 1.0], [1.0, 2.0], [], "float32"),
        ([0.0, 1.0], np.ones((2, 3)), [], "float32"),
        ([0.0, 1.0, 2.0], [[1.0, 0.0], [0.0, 1.0]], [], "float32"),
        ([0.0, 1.0], np.ones((3, 2, 2)), [4], "float32"),
    ]
    for case in cases:
        mine, theirs = outcome(_mvn_shape, mx, *case), outcome(_mvn_shape, m, *case)
        assert mine == theirs, case
        assert mine[0] == "ValueError"
    assert outcome(lambda: mx.random.multivariate_normal([0.0], mx.array([[1.0]])))[0] == (
        outcome(lambda: m.random.multivariate_normal([0.0], m.array([[1.0]])))[0])


# -- clear_streams ----------------------------------------------------------------------------
def _in_thread(story) -> list:
    """story's results, run in a fresh thread: clear_streams acts on the calling thread's
    streams only (MLX's use: a thread's cleanup)."""
    got: list = []
    t = threading.Thread(target=story, args=(got,))
    t.start()
    t.join()
    return got


def _on(lib, stream):
    with lib.stream(stream):
        return lib.add(lib.array(1), 2).item()


def _made_then_cleared(lib):
    def story(got):
        s = lib.new_stream(lib.cpu)
        got.append(lib.clear_streams())
        got.append(lib.add(lib.array(1), 5).item())  # the default stream works
        got.append(outcome(lambda: _on(lib, s))[0])  # a cleared stream can be named, not used
        s2 = lib.new_stream(lib.cpu)
        got += [s2 != s, _on(lib, s2)]
    return _in_thread(story)


def _used_then_cleared(lib):
    def story(got):
        s = lib.new_stream(lib.cpu)
        tls = lib.new_thread_local_stream(lib.cpu)
        got += [_on(lib, s), _on(lib, tls), lib.clear_streams()]
        got.append(outcome(lambda: _on(lib, s))[0])
        got.append(outcome(lambda: _on(lib, tls))[0])  # this thread's stream of tls is gone
    return _in_thread(story)


def _other_threads_streams(lib):
    mine, unsafe = lib.new_stream(lib.cpu), lib.new_thread_unsafe_stream(lib.cpu)

    def story(got):
        got.append(outcome(_on, lib, mine)[0])  # another thread's stream: refused
        got.append(_on(lib, unsafe))  # a thread-unsafe one: every thread's
        got.append(lib.clear_streams())
    got = _in_thread(story)
    got += [_on(lib, mine), _on(lib, unsafe)]  # untouched by the other thread's clear
    lib.clear_streams()
    got += [outcome(_on, lib, mine)[0], _on(lib, unsafe)]  # thread-unsafe: never cleared
    return got


def test_clear_streams_as_mlx():
    assert _made_then_cleared(mx) == _made_then_cleared(m) == [None, 6, "RuntimeError", True, 3]
    assert _used_then_cleared(mx) == _used_then_cleared(m) == [3, 3, None, "RuntimeError",
                                                               "RuntimeError"]
    assert mx.add(mx.array(1), 1).item() == 2  # other threads' streams are untouched


def test_streams_belong_to_their_thread_as_mlx():
    # MLX's main thread has used its default stream by now, and clear_streams would destroy it
    # (see clear_streams' docstring): MLX's side runs in a subprocess
    script = (f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
              "import mlx.core, test_mlx_more_names as t; "
              "print(t._other_threads_streams(mlx.core))")
    theirs = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=120)
    assert theirs.returncode == 0, theirs.stderr
    mine = _other_threads_streams(mx)
    assert str(mine) == theirs.stdout.strip()
    assert mine == ["RuntimeError", 3, None, 3, 3, "RuntimeError", 3]
