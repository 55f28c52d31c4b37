"""The process survives every program: outputs that fold into one value, and a compiler that
crashes or raises while compiling a new program (it compiles in a forked child)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import mxir as mx
import numpy as np
import pytest
from mxir import eager
from mxir.passes import PASSES, Pass
from mxir.passes.isolate import CompilerCrash


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=300)


def test_outputs_that_cse_into_one_value_evaluate():
    # each of these killed the process with SIGSEGV in buffer-results-to-out-params
    proc = _run("""
        import mxir as mx
        x = mx.array([1.0, 2.0])
        a, b = x + 1, x + 1
        mx.eval(a, b)
        print(a.tolist(), b.tolist())

        @mx.compile
        def fun():
            return [0.1 * mx.zeros((2,)), 0.1 * mx.zeros((2,))]
        print([v.tolist() for v in fun()])

        y = mx.array([7], dtype=mx.int32)
        s, m = mx.sum(y, axis=0), mx.max(y, axis=0)
        mx.eval(s, m)
        print(s.item(), m.item())
    """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n")[:3] == ["[2.0, 3.0] [2.0, 3.0]", "[[0.0, 0.0], [0.0, 0.0]]",
                                           "7 7"]


def test_chained_transcendentals_in_a_reduction_compile_quickly():
    # LLVM's loop vectorizer took 12 s (three sin) to minutes (six) on these scalar loops
    x = mx.ones((64, 64))
    y = x
    for k in range(6):
        y = mx.sin(y) * 2 + k
    expect = np.ones((64, 64), np.float32)
    for k in range(6):
        expect = np.sin(expect) * 2 + k
    np.testing.assert_allclose(np.array(mx.sum(y, axis=1)), expect.sum(axis=1), rtol=1e-5)


@pytest.fixture
def broken_pass():
    """Replace mx-simplify by `fn` for one test (the forked compile inherits the registry)."""
    saved = PASSES["mx-simplify"]
    eager_was, eager.ENABLED = eager.ENABLED, False  # whole programs: the pipeline under test

    def install(fn):
        PASSES["mx-simplify"] = Pass("mx-simplify", fn, saved.summary)

    yield install
    PASSES["mx-simplify"] = saved
    eager.ENABLED = eager_was


@pytest.mark.skipif(not hasattr(os, "fork"), reason="crash isolation needs fork")
def test_a_crashing_pass_becomes_an_exception_naming_it(broken_pass):
    broken_pass(lambda module: os.abort())
    with pytest.raises(CompilerCrash, match=r"SIGABRT.*in pass 'mx-simplify'"):
        mx.eval(mx.array([1.0, 2.0, 3.0]) * 41.5)
    assert isinstance(CompilerCrash("x"), RuntimeError)


def test_an_exception_in_a_pass_keeps_its_type_and_message(broken_pass):
    def refuse(module):
        raise IndexError("refused by the test's pass")

    broken_pass(refuse)
    with pytest.raises(IndexError, match="refused by the test's pass"):
        # a program no other test compiles: a cached one would never reach the pass
        mx.eval(mx.expm1(mx.ones((3, 7, 2))) * 43.5)


def test_the_process_evaluates_after_a_crash(broken_pass):
    broken_pass(lambda module: os.abort())
    with pytest.raises((CompilerCrash, RuntimeError)):
        mx.eval(mx.array([4.0]) - 44.5)
    broken_pass(PASSES["mx-verify"].run)  # any pass that leaves the module as it is
    assert (mx.array([4.0]) * 2 + 1).item() == 9.0
