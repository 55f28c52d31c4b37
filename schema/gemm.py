"""The "gemm" plan step: a BLAS matrix product that a device with a matrix library runs
(runtime/cuda.py through cuBLAS); passes/gpu.py emits it for targets that have one.

C[b, m, n] = beta * C[b, m, n] + sum_k A[b, m, k] * B[b, k, n], beta 0 or 1,
{"op": "gemm", "a": id, "b": id, "c": id, "element": "f32" | "f64", "m", "n", "k", "batch",
 "a_strides": [batch, m, k], "b_strides": [batch, k, n], "c_strides": [batch, m, n],
 "offsets": [a, b, c], "beta"}: strides and offsets in elements of each base buffer.
`gemm_layout(step)` gives its column-major (BLAS) arguments; `gemm_views(step, ...)` its
operands as NumPy views (the meaning of a step, for tests).
"""

from __future__ import annotations

import numpy as np


def _colmajor(rows: int, cols: int, s_row: int, s_col: int):
    """(transposed, ld) placing a rows x cols matrix with these element strides in BLAS terms:
    column-major with leading dimension ld, or the transpose of one; None if neither fits.
    A dimension of extent 1 takes any stride."""
    if (s_row == 1 or rows == 1) and (cols == 1 or s_col >= max(1, rows)):
        return False, (max(1, rows) if cols == 1 else s_col)
    if (s_col == 1 or cols == 1) and (rows == 1 or s_row >= max(1, cols)):
        return True, (max(1, cols) if rows == 1 else s_row)
    return None


def gemm_layout(step: dict) -> dict | None:
    """Column-major BLAS arguments of a gemm step: {"transa", "transb", "m", "n", "k", "lda",
    "ldb", "ldc", "A", "B" ("a"/"b": which step operand plays BLAS's A/B), "stride_a",
    "stride_b", "stride_c", "batch"}; None when some operand has no unit-stride dimension.
    A row-major C is computed as C^T = B^T A^T."""
    m, n, k = step["m"], step["n"], step["k"]
    sa, sb, sc = step["a_strides"], step["b_strides"], step["c_strides"]
    c = _colmajor(m, n, sc[1], sc[2])
    if c is not None and not c[0]:
        first, second = _colmajor(m, k, sa[1], sa[2]), _colmajor(k, n, sb[1], sb[2])
        rows, cols, pa, pb = m, n, "a", "b"
    else:
        c = _colmajor(n, m, sc[2], sc[1])
        if c is None or c[0]:
            return None
        first, second = _colmajor(n, k, sb[2], sb[1]), _colmajor(k, m, sa[2], sa[1])
        rows, cols, pa, pb = n, m, "b", "a"
    if first is None or second is None:
        return None
    return {"transa": first[0], "transb": second[0], "m": rows, "n": cols, "k": k,
            "lda": first[1], "ldb": second[1], "ldc": c[1], "A": pa, "B": pb,
            "stride_a": step[pa + "_strides"][0], "stride_b": step[pb + "_strides"][0],
            "stride_c": sc[0], "batch": step["batch"]}


def gemm_views(step: dict, a: np.ndarray, b: np.ndarray, c: np.ndarray):
    """(A, B, C) as strided NumPy views [batch, rows, cols] of flat base-buffer arrays."""
    from numpy.lib.stride_tricks import as_strided

    dims = {"a": ("m", "k"), "b": ("k", "n"), "c": ("m", "n")}
    out = []
    for key, flat, off in zip("abc", (a, b, c), step["offsets"]):
        r, q = dims[key]
        st = step[key + "_strides"]
        item = flat.itemsize
        out.append(as_strided(flat[off:], (step["batch"], step[r], step[q]),
                              tuple(x * item for x in st), writeable=key == "c"))
    return out
