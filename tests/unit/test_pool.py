"""mxir's spinning thread pool (runtime/pool.py), which runs the panels of split gemms.

Each scenario runs in a fresh interpreter under a timeout: a lost wake-up or a broken claim
would hang or crash, and must fail the test instead of the session. Tasks here are ctypes
callbacks that record (call, index, thread); the compiled programs' tasks are gemm panels
(tests/unit/test_matmul_speed_paths.py checks their numbers on both paths).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from mxir.schema import pool

pytestmark = pytest.mark.skipif(not pool.supported(), reason="no pool on this host")

PRELUDE = """
import ctypes, os, threading, time
from mxir.runtime import pool

TASK = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int64)
run = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64)(pool.run_address())
done = []  # (ctx, i, thread name)


def record(ctx, i):
    done.append((ctx or 0, i, threading.current_thread().name))  # NULL comes as None


task = TASK(record)


def call(n, ctx=0, fn=task):
    run(ctypes.cast(fn, ctypes.c_void_p), ctypes.c_void_p(ctx), n)


def indices(ctx=None):
    return sorted(i for c, i, _ in done if ctx is None or c == ctx)
"""


def _run(body: str) -> str:
    code = PRELUDE + textwrap.dedent(body)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_every_task_runs_once():
    """Counts around the claim word's limit too (MAX_TASKS and past it run on the caller)."""
    _run("""
        for n in (0, 1, 2, 3, 7, 64, pool.MAX_TASKS - 1, pool.MAX_TASKS, pool.MAX_TASKS + 5):
            done.clear()
            call(n)
            assert indices() == list(range(n)), n
        call(-3)  # a negative count runs nothing (and returns)
        assert indices() == list(range(pool.MAX_TASKS + 5))
    """)


def test_workers_carry_their_name_for_the_os():
    """perf, top and /proc tell the pool's workers from the Python threads."""
    _run("""
        names = set()
        for task in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{task}/comm") as f:
                names.add(f.read().strip())
        want = {f"mxir-pool-{k}" for k in range(pool.cores() - 1)}
        assert want <= names, (want, names)
    """)


def test_sleeping_workers_wake_and_share_the_tasks():
    """After the spin (SPIN_NS) the workers sleep on a futex; a call wakes them. Slow tasks
    leave them time to take some (where the process has more than one core)."""
    _run("""
        slow = TASK(lambda ctx, i: (time.sleep(0.003), record(ctx, i)))
        for round in range(10):
            time.sleep(0.02)  # past the spin: asleep
            done.clear()
            call(8, fn=slow)
            assert indices() == list(range(8))
            if pool.cores() == 1 or any(t != "MainThread" for _, _, t in done):
                break
        else:
            raise AssertionError("no worker took a task in 10 calls")
    """)


def test_a_task_that_calls_the_pool_runs_its_tasks_itself():
    """The pool runs one call at a time: a nested call (or another thread's) runs on its own
    thread instead of waiting for the one it is part of."""
    _run("""
        def outer(ctx, i):
            call(5, ctx=100 + i)
            record(ctx, i)

        nest = TASK(outer)
        call(4, fn=nest)
        assert indices(0) == [0, 1, 2, 3]
        for i in range(4):
            assert indices(100 + i) == [0, 1, 2, 3, 4], i
    """)


def test_calls_from_two_threads_at_once_each_run_all_their_tasks():
    _run("""
        def caller(ctx):
            for _ in range(200):
                call(6, ctx=ctx)

        threads = [threading.Thread(target=caller, args=(c,)) for c in (1, 2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for c in (1, 2):
            assert indices(c) == sorted(list(range(6)) * 200), c
    """)


def test_a_forked_child_runs_split_gemms():
    """A child has the parent's pool state but none of its threads: programs it already has
    claim every panel on the caller; one it links starts its own workers."""
    out = _run("""
        import numpy as np
        import mxir as mx
        from mxir.passes import matmul

        rng = np.random.default_rng(0)
        a, b = (rng.standard_normal(s).astype(np.float32) for s in ((256, 384), (384, 256)))
        assert 256 * 384 * 256 >= matmul.SPLIT_MIN
        product = mx.compile(lambda x, y: x @ y)
        assert np.allclose(np.array(product(mx.array(a), mx.array(b))), a @ b, atol=1e-3)
        pid = os.fork()
        if pid == 0:
            ok = np.allclose(np.array(product(mx.array(a), mx.array(b))), a @ b, atol=1e-3)
            other = mx.compile(lambda x, y: (x @ y) * 2)  # a new program: linked here
            ok &= np.allclose(np.array(other(mx.array(a), mx.array(b))), 2 * (a @ b), atol=1e-3)
            os._exit(0 if ok else 1)
        _, status = os.waitpid(pid, 0)
        print("child", os.waitstatus_to_exitcode(status))
    """)
    assert "child 0" in out
