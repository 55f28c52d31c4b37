"""Codegen and threads follow the host: the vector width every LLVM function asks for, and the
thread pool sized from the cores the process may use."""

import os
import subprocess
import sys

import mxir as mx
import numpy as np
import pytest
from mlir import ir
from mxir import evaluate
from mxir.passes import host, run_pipeline
from mxir.program import build_module, trace_program


def _llvm_text(arrays) -> str:
    main, _ = trace_program(arrays)
    with evaluate.context(), ir.Location.unknown():
        module = build_module(main)
        run_pipeline(module, ["mx-to-cpu"])
        return str(module)


def test_vector_bits_from_features():
    flags = host.cpu_features()
    bits = host.vector_bits()
    if os.environ.get("MXIR_VECTOR_BITS"):
        assert bits == int(os.environ["MXIR_VECTOR_BITS"])
    elif "avx512f" in flags:
        assert bits == 512
    elif "avx2" in flags:
        assert bits == 256
    else:
        assert bits == 128


def test_functions_ask_for_the_host_width_and_keep_their_attributes(monkeypatch):
    monkeypatch.setenv("MXIR_POOL", "0")  # threads on the async runtime: coroutines
    x = mx.array(np.linspace(-3, 3, 1 << 22, dtype=np.float32))
    mx.eval(x)
    text = _llvm_text([mx.sin(x)])
    bits = host.vector_bits()
    assert f'["prefer-vector-width", "{bits}"]' in text
    assert f'["min-legal-vector-width", "{bits}"]' in text
    assert "presplitcoroutine" in text  # the coroutines' own passthrough is kept
    np.testing.assert_allclose(np.array(mx.sin(x)), np.sin(np.array(x)), atol=1e-6)


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="Linux affinity")
def test_threads_follow_the_usable_cores():
    code = ("import os, sys; os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}); "
            "from mxir.runtime.cpu import worker_threads; print(worker_threads())")
    one = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert one.stdout.strip() == "1", one.stderr
    all_ = subprocess.run([sys.executable, "-c", "from mxir.runtime.cpu import worker_threads;"
                           " print(worker_threads())"], capture_output=True, text=True,
                          timeout=120)
    assert all_.stdout.strip() == str(len(os.sched_getaffinity(0))), all_.stderr
