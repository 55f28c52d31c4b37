"""Generated differential tests against MLX: values, dtypes, shapes, exception types, vjp, jvp
and vmap on every axis (mlx_diff.py says how and holds the op specs). The cases run in a child
process (a compiler crash must not take pytest down: it is charged to the op that was running,
and the run goes on with the next op). MLX_DIFF_CASES=n sets the cases per op (default 3, which
keeps this file under a minute); MLX_DIFF_REPORT=1 prints the pass rate and every failure."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("mlx.core")

from mlx_diff import SPECS, Result, summarize  # noqa: E402

N_CASES = int(os.environ.get("MLX_DIFF_CASES", "3"))
HERE = os.path.dirname(__file__)


def _collect(stdout: str, out: dict) -> str | None:
    """The child's results into `out`; the op it began last."""
    current = None
    for line in stdout.splitlines():
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:  # a line cut by the timeout
            continue
        if "begin" in rec:
            current = rec["begin"]
            out[current] = []
        else:
            out[current].append(Result(**rec))
    return current


def _run_all(names: list[str]) -> dict[str, list[Result]]:
    out: dict[str, list[Result]] = {}
    todo = list(names)
    retried = False
    while todo:
        # the child is the crash isolation: no fork per compile (forking after MLX has started
        # its threads can leave the forked child waiting on a lock forever)
        env = dict(os.environ, MXIR_NO_FORK="1")
        try:
            proc = subprocess.run([sys.executable, os.path.join(HERE, "mlx_diff.py"),
                                   str(N_CASES), *todo], capture_output=True, text=True,
                                  timeout=600, cwd=HERE, env=env)
        except subprocess.TimeoutExpired as e:
            # seen once in CI: MLX's own CPU stream spinning in an `any` reduction (the oracle,
            # not mxir, under gdb); the same deterministic cases run again once from the op
            # that hung, and a second hang fails that op
            stdout = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
            hung = _collect(stdout, out) or todo[0]
            out.pop(hung, None)  # its partial results come again
            if retried:
                out.setdefault(hung, []).append(Result(hung, "hang", "timed out twice", False))
                todo = todo[todo.index(hung) + 1:]
            else:
                todo = todo[todo.index(hung):]
            retried = True
            continue
        current = _collect(proc.stdout, out)
        if proc.returncode == 0:
            break
        crashed = current if current is not None else todo[0]
        out.setdefault(crashed, []).append(Result(
            crashed, "crash", f"the child process died (rc {proc.returncode}): "
            + proc.stderr.strip().splitlines()[-1:][0] if proc.stderr.strip() else "", False))
        todo = todo[todo.index(crashed) + 1:]
    return out


@pytest.fixture(scope="module")
def results():
    res = _run_all([s.name for s in SPECS])
    yield res
    if os.environ.get("MLX_DIFF_REPORT"):
        flat = [r for rs in res.values() for r in rs]
        print("\nmlx differential:", summarize(flat))
        for r in flat:
            if not r.ok:
                print(f"  FAIL {r.op} {r.check}: {r.detail}")


@pytest.mark.parametrize("name", [s.name for s in SPECS])
def test_matches_mlx(name, results):
    failed = [f"{r.check}: {r.detail}" for r in results.get(name, []) if not r.ok]
    assert name in results, "not run"
    assert not failed, "\n".join(failed)


# Where MLX itself is wrong, mxir is checked against the definition instead.
def test_addmm_jvp_matches_finite_differences():
    import mxir as mx
    import numpy as np

    rng = np.random.default_rng(0)
    c, a, tc, ta = (rng.standard_normal((3, 3)).astype(np.float32) for _ in range(4))

    def f(c_, a_):
        return mx.addmm(c_, a_, mx.swapaxes(a_, -1, -2), 0.5, 2.0)

    tangent = mx.jvp(f, [mx.array(c), mx.array(a)], [mx.array(tc), mx.array(ta)])[1][0]
    g = lambda c_, a_: 0.5 * (a_ @ a_.T) + 2.0 * c_
    eps = 1e-3
    fd = (g(c + eps * tc, a + eps * ta) - g(c - eps * tc, a - eps * ta)) / (2 * eps)
    np.testing.assert_allclose(np.array(tangent), fd, rtol=1e-3, atol=1e-3)


def test_slice_update_vmap_matches_a_loop():
    import mxir as mx
    import numpy as np

    rng = np.random.default_rng(1)
    xs = rng.standard_normal((3, 4)).astype(np.float32)
    y = rng.standard_normal((2,)).astype(np.float32)
    f = lambda x: mx.slice_update(x, mx.array(y), mx.array([1]), [0])
    batched = mx.vmap(f)(mx.array(xs))
    looped = np.stack([np.array(f(mx.array(x))) for x in xs])
    np.testing.assert_array_equal(np.array(batched), looped)
