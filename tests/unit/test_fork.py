"""A child of a process that used mxir evaluates: os.fork, multiprocessing (fork and spawn).

Each scenario runs in a fresh interpreter under a timeout, so a regression (a child waiting
for threads that the fork did not copy) fails instead of hanging the test session. The parent
first runs a threaded kernel (on mxir's pool, runtime/pool.py, or on the async runtime's) and
compiles with its MLIR context, so that both thread pools exist at the fork.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

TIMEOUT = 120  # seconds; each scenario takes a few

PRELUDE = """
import os, sys
import numpy as np
import mxir as mx
from mxir import evaluate

xs = np.linspace(-1, 1, 1 << 20, dtype=np.float32)  # big enough for threads (THREAD_MIN)
x = mx.array(xs)


# one program, compiled whole (not run op by op) once per process tree, then from memory
fused = mx.compile(lambda a: mx.exp(a) * a + mx.sin(a))


def threaded():
    return np.asarray(fused(x))


def fresh(k):  # a program that the process has not compiled yet
    return np.asarray(mx.cos(x[:5]) * k)


def check(tag):
    assert np.allclose(threaded(), np.exp(xs) * xs + np.sin(xs), rtol=1e-5, atol=1e-6), tag
    k = float(os.getpid() % 1000 + 3)
    assert np.allclose(fresh(k), np.cos(xs[:5]) * k, rtol=1e-6), tag


check("parent")
# the scenario must exercise a thread pool's threads, else it proves nothing
assert any(getattr(e, "_threaded", None) or "mxir_pool_run" in getattr(e, "bound", ())
           for e in evaluate._CACHE.values())
"""


@pytest.fixture(autouse=True, params=["pool", "async"])
def threads(request, monkeypatch):
    """Each scenario with threaded kernels on mxir's pool (runtime/pool.py, where the host has
    it) and on the async runtime's (MXIR_POOL=0, as on hosts without it)."""
    from mxir.schema import pool

    if request.param == "pool" and not pool.supported():
        pytest.skip("no pool on this host")
    monkeypatch.setenv("MXIR_POOL", "1" if request.param == "pool" else "0")
    return request.param


def run_scenario(body: str) -> str:
    code = PRELUDE + textwrap.dedent(body)
    # a session of its own: a hung scenario's forked children are killed with it
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = p.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        pytest.fail(f"scenario hung ({TIMEOUT} s): {out}\n{err}")
    assert p.returncode == 0, out + err
    return out


def test_os_fork_child_evaluates_and_exits_normally():
    out = run_scenario("""
        pid = os.fork()
        if pid == 0:
            check("child")
            grandchild = os.fork()  # a fork of a fork
            if grandchild == 0:
                check("grandchild")
                sys.exit(0)  # a normal exit runs the libraries' destructors
            _, status = os.waitpid(grandchild, 0)
            assert status == 0, status
            sys.exit(0)
        _, status = os.waitpid(pid, 0)
        assert status == 0, f"child status {status}"
        check("parent after fork")
        print("ok")
    """)
    assert out.strip() == "ok"


def test_child_that_never_evaluates_exits():
    run_scenario("""
        pid = os.fork()
        if pid == 0:
            sys.exit(0)
        _, status = os.waitpid(pid, 0)
        assert status == 0, f"child status {status}"
    """)


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_multiprocessing_pool(method):
    # the workers' function lives in a module that spawn's children can import
    out = run_scenario(f"""
        import multiprocessing as mp
        sys.path.insert(0, {os.path.dirname(__file__)!r})
        import fork_worker
        with mp.get_context({method!r}).Pool(2) as pool:
            got = pool.map(fork_worker.scaled_sum, [1.0, 2.0, 3.0, 4.0])
        assert got == [fork_worker.scaled_sum(k) for k in [1.0, 2.0, 3.0, 4.0]], got
        check("parent after pool")
        print("ok")
    """)
    assert out.strip() == "ok"


def test_fork_while_another_thread_runs_threaded_kernels():
    # the fork waits for the running kernel; the runtime is never torn down under it
    out = run_scenario("""
        import threading
        stop = False

        def busy():
            while not stop:
                check("parent thread")

        t = threading.Thread(target=busy)
        t.start()
        for _ in range(3):
            pid = os.fork()
            if pid == 0:
                check("child")
                os._exit(0)
            _, status = os.waitpid(pid, 0)
            assert status == 0, f"child status {status}"
        stop = True
        t.join()
        print("ok")
    """)
    assert out.strip() == "ok"


def test_compiling_in_a_forked_child_keeps_the_async_runtime(threads):
    if threads == "pool":
        pytest.skip("threaded kernels run on mxir's pool: no async runtime to keep")
    # the frontend compiles each new program in a forked child (passes/isolate.py): those
    # forks must not cost the threaded executables a new link
    out = run_scenario("""
        from mxir.runtime import cpu
        os.environ["MXIR_CACHE_DIR"] = "0"  # compile, don't load
        threaded()  # the async runtime is loaded
        spent = cpu._ASYNC_SPENT
        y = mx.array(np.ones(4, np.float32))
        assert np.allclose(np.asarray(mx.tanh(mx.tanh(mx.tanh(y)))), np.tanh(np.tanh(np.tanh(1))))
        assert cpu._ASYNC_SPENT == spent, "a compiler child's fork spent the async runtime"
        check("after a compile")
        print("ok")
    """)
    assert out.strip() == "ok"
