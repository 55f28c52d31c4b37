"""The on-disk compile cache: a second process reuses the entry; damage is survived."""

import os
import subprocess
import sys

PROGRAM = """
import os
if os.environ.get("MXIR_TEST_CORES"):  # before mxir reads its cores
    os.sched_setaffinity(0, [int(c) for c in os.environ["MXIR_TEST_CORES"].split(",")])
import mxir as mx
x = mx.array([0.5, 1.0, 2.0])
print(mx.grad(lambda v: mx.sum(mx.sin(v) * v))(x).tolist())
"""


def run(cache_dir, **env_vars):
    env = dict(os.environ, MXIR_CACHE_DIR=str(cache_dir), **env_vars)
    out = subprocess.run([sys.executable, "-c", PROGRAM], env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


def entries(cache_dir):
    return [os.path.join(d, f) for d, _, fs in os.walk(cache_dir) for f in fs]


def test_second_process_reads_the_entry(tmp_path):
    first = run(tmp_path)
    files = entries(tmp_path)
    assert len(files) == 1
    stamp = os.stat(files[0]).st_mtime_ns
    assert run(tmp_path) == first
    assert os.stat(files[0]).st_mtime_ns == stamp  # read, not rewritten


def test_corrupted_or_truncated_entries_are_recompiled(tmp_path):
    first = run(tmp_path)
    (path,) = entries(tmp_path)
    with open(path, "ab") as f:
        f.write(b"garbage")
    assert run(tmp_path) == first
    with open(path, "rb") as f:
        data = f.read()
    with open(path, "wb") as f:
        f.write(data[:50])
    assert run(tmp_path) == first


def test_cache_can_be_disabled(tmp_path):
    env = dict(os.environ, MXIR_CACHE_DIR="0", HOME=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", PROGRAM], env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0
    assert entries(tmp_path) == []


def test_another_blas_choice_compiles_its_own_entry(tmp_path):
    """MXIR_BLAS changes which library the generated gemm calls: an entry compiled under one
    choice is not reused under another."""
    first = run(tmp_path, MXIR_BLAS="wheel")
    assert len(entries(tmp_path)) == 1
    assert run(tmp_path, MXIR_BLAS="none") == first
    assert len(entries(tmp_path)) == 2


def test_another_core_count_compiles_its_own_entry(tmp_path):
    """Gemm panels and reduction blocks follow the cores a process may use: an entry compiled
    on one core is not reused by a process allowed two (on a 16-core host, code cached with
    another panel count ran a 1024^3 gemm in 11 ms instead of 2.5)."""
    if not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2:
        import pytest

        pytest.skip("needs two cores")
    first = run(tmp_path, MXIR_TEST_CORES="0")
    assert len(entries(tmp_path)) == 1
    assert run(tmp_path, MXIR_TEST_CORES="0,1") == first
    assert len(entries(tmp_path)) == 2
