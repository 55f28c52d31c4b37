"""`mx.linalg` with MLX's signatures and semantics. The factorizations are `mx` ops that call
LAPACK from the compiled program (dialect/lapack.py); the rest are compositions of them.
As in MLX, the LAPACK-backed functions run on the CPU only: with the GPU as the device they
raise MLX's error; a CPU stream under a GPU default device is refused too (one mxir program
runs on one device), with a message that says so.

`eig` and `eigvals` return complex64 (LAPACK cgeev); their derivatives cover the eigenvalues
(MLX has none), not the eigenvectors.
"""

from __future__ import annotations

import math

from . import dtypes as dt
from . import ops
from .array import array
from .join_ops import matmul

__all__ = ["cholesky", "cholesky_inv", "cross", "det", "eig", "eigh", "eigvals", "eigvalsh",
           "inv", "lu", "lu_factor", "norm", "pinv", "qr", "slogdet", "solve", "solve_triangular",
           "svd", "tri_inv"]


def _on_cpu(name: str, stream) -> None:
    from .device import DeviceType, default_device

    def kind(target):
        return getattr(target, "type", None) or getattr(getattr(target, "device", None),
                                                        "type", target)

    if kind(stream if stream is not None else default_device()) == DeviceType.gpu:
        raise ValueError(f"[linalg::{name}] This op is not yet supported on the GPU. "
                         f"Explicitly pass a CPU stream to run it.")
    if kind(default_device()) == DeviceType.gpu:
        # unlike MLX, one mxir program runs on one device: a CPU stream inside a GPU program
        # cannot be honoured, so say so here rather than fail at compile time
        raise ValueError(f"[linalg::{name}] mxir compiles a program for one device: with the "
                         f"GPU as the default device, linalg needs mx.set_default_device("
                         f"mx.cpu) around it.")


def _matrix(name: str, a, stream, square: str | None = None, complex_ok: bool = False) -> array:
    """The operand checked as MLX checks it (rank, dtype, squareness with `square`'s text)."""
    _on_cpu(name, stream)
    a = ops.as_array(a)
    if a.ndim < 2:
        raise ValueError(f"[linalg::{name}] Arrays must have >= 2 dimensions. Received array "
                         f"with {a.ndim} dimensions.")
    if complex_ok and a.dtype not in (dt.float32, dt.float64, dt.complex64):
        raise ValueError(f"[linalg::{name}] Arrays must have type float32, float64 or "
                         f"complex64. Received array with type {a.dtype.name}.")
    if not complex_ok and a.dtype not in (dt.float32, dt.float64):
        raise ValueError(f"[linalg::{name}] Arrays must have type float32 or float64. "
                         f"Received array with type {a.dtype.name}.")
    if square is not None and a.shape[-1] != a.shape[-2]:
        raise ValueError(f"[linalg::{name}] {square}")
    return a


def _t(a: array) -> array:
    return ops.swapaxes(a, -1, -2)


def inv(a, *, stream=None) -> array:
    a = _matrix("inv", a, stream, "Inverses are only defined for square matrices.")
    return array._op("inv", [a])


def tri_inv(a, upper: bool = False, *, stream=None) -> array:
    a = _matrix("tri_inv", a, stream, "Inverses are only defined for square matrices.")
    return array._op("tri_inv", [a], upper=bool(upper))


def cholesky(a, upper: bool = False, *, stream=None) -> array:
    a = _matrix("cholesky", a, stream,
                "Cholesky decomposition is only defined for square matrices.")
    return array._op("cholesky", [a], upper=bool(upper))


def cholesky_inv(a, upper: bool = False, *, stream=None) -> array:
    """The inverse of A from its Cholesky factor `a` (A = L L^T, or U^T U with `upper`)."""
    a = _matrix("cholesky_inv", a, stream,
                "Cholesky inverse is only defined for square matrices.")
    f = tri_inv(a, upper=upper)
    return matmul(f, _t(f)) if upper else matmul(_t(f), f)


def eigh(a, UPLO: str = "L", *, stream=None):  # noqa: N803 (MLX's name)
    a = _matrix("eigh", a, stream, "Only defined for square matrices.")
    w, v = array._op("eigh", [a], upper=UPLO == "U")
    return w, v


def eigvalsh(a, UPLO: str = "L", *, stream=None) -> array:  # noqa: N803 (MLX's name)
    a = _matrix("eigvalsh", a, stream, "Only defined for square matrices.")
    return array._op("eigh", [a], upper=UPLO == "U")[0]


def eig(a, *, stream=None):
    """(eigenvalues, right eigenvectors as columns), complex64, in LAPACK's order."""
    a = _matrix("eig", a, stream, "Only defined for square matrices.", complex_ok=True)
    w, v = array._op("eig", [a])
    return w, v


def eigvals(a, *, stream=None) -> array:
    a = _matrix("eigvals", a, stream, "Only defined for square matrices.", complex_ok=True)
    return array._op("eigvals", [a])


def svd(a, compute_uv: bool = True, *, stream=None):
    """(U, S, Vt) with full U and Vt, or S alone without `compute_uv`."""
    _on_cpu("svd", stream)
    a = ops.as_array(a)
    if a.ndim >= 2 and a.dtype not in (dt.float32, dt.float64):
        raise ValueError(f"[linalg::svd] Arrays must have type float32, float64 or complex64. "
                         f"Received array with type {a.dtype.name}.")
    a = _matrix("svd", a, stream)
    if not compute_uv:
        return array._op("svdvals", [a])
    m, n = a.shape[-2:]
    if m == 0 or n == 0:  # no LAPACK call (its factors were uninitialised): U, Vt identities
        batch = a.shape[:-2]
        u, vt = (ops.broadcast_to(ops.eye(k, dtype=a.dtype), batch + (k, k)) for k in (m, n))
        return u, ops.zeros(batch + (0,), a.dtype), vt
    u, s, vt = array._op("svd", [a])
    return u, s, vt


def qr(a, *, stream=None):
    a = _matrix("qr", a, stream)
    m, n = a.shape[-2:]
    if m == 0 or n == 0:  # empty factors, both carrying min(m, n) (NumPy's reduced mode)
        return ops.zeros(a.shape[:-2] + (m, 0), a.dtype), ops.zeros(a.shape[:-2] + (0, n), a.dtype)
    q, r = array._op("qr", [a])
    return q, r


def lu_factor(a, *, stream=None):
    """(LU packed, pivots): row i was exchanged with row pivots[i] (0-based)."""
    a = _matrix("lu_factor", a, stream)
    packed, pivots, _ = array._op("lu", [a])
    return packed, pivots


def lu(a, *, stream=None):
    """(P, L, U) with a = L[P] @ U (P: the inverse of the op's row permutation)."""
    a = _matrix("lu", a, stream)
    packed, _, perm = array._op("lu", [a])
    m, n = a.shape[-2:]
    k = min(m, n)
    lower = ops.add(ops.tril(packed[..., :, :k], -1), ops.eye(m, k, dtype=a.dtype))
    return ops.argsort(perm, axis=-1), lower, ops.triu(packed[..., :k, :])


def _pivot_sign(pivots: array, dtype: dt.Dtype) -> array:
    """(-1) ** (the number of row exchanges)."""
    k = pivots.shape[-1]
    swaps = ops.sum(ops.not_equal(pivots, ops.arange(k, dtype=dt.uint32)), axis=-1)
    return ops.subtract(1, ops.multiply(ops.astype(ops.remainder(swaps, 2), dtype), 2))


def _float_matrix(a):
    """det and slogdet take integer matrices as float32 (MLX)."""
    a = ops.as_array(a)
    return a if dt.issubdtype(a.dtype, dt.inexact) else ops.astype(a, dt.float32)


def det(a, *, stream=None) -> array:
    a = _matrix("det", _float_matrix(a), stream, "Determinant is only defined for square matrices.")
    if a.shape[-1] == 0:  # the empty product
        return ops.ones(a.shape[:-2], a.dtype)
    packed, pivots = lu_factor(a, stream=stream)
    return ops.multiply(_pivot_sign(pivots, a.dtype),
                        ops.prod(ops.diagonal(packed, 0, -2, -1), axis=-1))


def slogdet(a, *, stream=None):
    """(sign, log |det|)."""
    a = _matrix("slogdet", _float_matrix(a), stream,
                "Log determinant is only defined for square matrices.")
    if a.shape[-1] == 0:  # the empty product: sign 1, log |det| 0
        return ops.ones(a.shape[:-2], a.dtype), ops.zeros(a.shape[:-2], a.dtype)
    packed, pivots = lu_factor(a, stream=stream)
    diag = ops.diagonal(packed, 0, -2, -1)
    sign = ops.multiply(_pivot_sign(pivots, a.dtype), ops.prod(ops.sign(diag), axis=-1))
    return sign, ops.sum(ops.log(ops.abs(diag)), axis=-1)


def _check_rhs(name: str, a: array, b: array) -> None:
    if b.ndim == 1:
        if b.shape[0] != a.shape[-1]:
            raise ValueError(f"[linalg::{name}] Last dimension of first input with shape "
                             f"{_shape(a.shape)} must match second to last dimension of second "
                             f"input with shape {_shape(b.shape)}.")
    elif b.ndim < 2 or b.shape[-2] != a.shape[-1]:
        raise ValueError(f"[linalg::{name}] Last dimension of first input with shape "
                         f"{_shape(a.shape)} must match second to last dimension of second "
                         f"input with shape {_shape(b.shape)}.")


def _shape(s) -> str:
    return "(" + ",".join(str(d) for d in s) + ")"


def solve(a, b, *, stream=None) -> array:
    """x with a @ x = b (b a vector or a batch of matrices)."""
    a = _matrix("solve", a, stream, None)
    if a.shape[-1] != a.shape[-2]:
        raise ValueError(f"[linalg::solve] First input must be a square matrix. Received "
                         f"array with shape {_shape(a.shape)}.")
    b = ops.as_array(b)
    _check_rhs("solve", a, b)
    return matmul(inv(a, stream=stream), ops.astype(b, a.dtype))


def solve_triangular(a, b, *, upper: bool = False, stream=None) -> array:
    a = _matrix("solve_triangular", a, stream,
                "First input must be a square matrix.")
    b = ops.as_array(b)
    _check_rhs("solve_triangular", a, b)
    return matmul(tri_inv(a, upper=upper, stream=stream), ops.astype(b, a.dtype))


def pinv(a, *, stream=None) -> array:
    """The Moore-Penrose pseudo-inverse: V diag(1/s) U^T over the singular values above
    max(M, N) * eps * max(s). A non-square matrix goes through its QR factorization first
    (pinv(QR) = pinv(R) Q^T, R square with the same singular values), so that only square SVDs
    are differentiated (a non-square one's extra singular vectors are not unique)."""
    a = _matrix("pinv", a, stream)
    m, n = a.shape[-2:]
    if a.size == 0:  # the shape of the transpose
        return ops.zeros(a.shape[:-2] + (n, m), a.dtype)
    if m < n:
        return _t(pinv(_t(a), stream=stream))
    if m > n:
        q, r = qr(a, stream=stream)
        return matmul(_square_pinv(r, max(m, n), stream), _t(q))
    return _square_pinv(a, m, stream)


def _square_pinv(a: array, size: int, stream) -> array:
    u, s, vt = svd(a, stream=stream)
    cutoff = ops.multiply(ops.max(s, axis=-1, keepdims=True), size * dt.finfo(a.dtype).eps)
    keep = ops.greater(s, cutoff)
    inv_s = ops.where(keep, ops.reciprocal(ops.where(keep, s, 1)), 0)
    return matmul(_t(vt) * ops.expand_dims(inv_s, -2), _t(u))


def cross(a, b, axis: int = -1, *, stream=None) -> array:
    """The cross product of 3-vectors (2-vectors count as having a zero third component)."""
    a, b = ops.as_array(a), ops.as_array(b)
    for x in (a, b):
        if x.ndim == 0 or x.shape[axis] not in (2, 3):
            raise ValueError("[linalg::cross] The specified axis must have size 2 or 3.")

    def parts(x):
        cs = [ops.take(x, i, axis=axis) for i in range(x.shape[axis])]
        return cs + [ops.zeros_like(cs[0])] * (3 - len(cs))

    (a0, a1, a2), (b0, b1, b2) = parts(a), parts(b)
    out = [ops.subtract(ops.multiply(a1, b2), ops.multiply(a2, b1)),
           ops.subtract(ops.multiply(a2, b0), ops.multiply(a0, b2)),
           ops.subtract(ops.multiply(a0, b1), ops.multiply(a1, b0))]
    return ops.stack(out, axis=axis)


def norm(a, /, ord=None, axis=None, keepdims: bool = False, *, stream=None) -> array:  # noqa: A002
    """Vector norms (one axis) and matrix norms (two axes), as MLX's `linalg.norm`."""
    a = ops.as_array(a)
    if not dt.issubdtype(a.dtype, dt.inexact):
        a = ops.astype(a, dt.float32)
    if a.dtype == dt.complex64 and ord in (2, -2, "nuc") and (
            a.ndim == 2 if axis is None else not isinstance(axis, int) and len(axis) == 2):
        raise NotImplementedError("[linalg::norm] the spectral and nuclear norms of complex "
                                  "matrices need a complex SVD, which mxir does not have yet")
    if axis is None:
        if ord is None:
            return _sqrt_sum_sq(a, tuple(range(a.ndim)), keepdims)
        axes = tuple(range(a.ndim))
    else:
        axes = (axis,) if isinstance(axis, int) else tuple(axis)
    if len(axes) == 1:
        return _vector_norm(a, ord, axes[0], keepdims)
    if len(axes) == 2:
        return _matrix_norm(a, ord, axes, keepdims)
    if isinstance(ord, str):
        _refuse_matrix_norm(ord, len(axes))
    raise ValueError("[linalg::norm] Received too many axes for norm.")


def _refuse_matrix_norm(ord: str, n_axes: int) -> None:  # noqa: A002
    raise ValueError(f"[linalg::norm] Norm '{ord}' only supported for matrices, but received "
                     f"{n_axes} axis/axes.")


def _sqrt_sum_sq(a, axes, keepdims):
    return ops.sqrt(ops.sum(ops.square(ops.abs(a)), axis=axes, keepdims=keepdims))


def _vector_norm(a, ord, axis, keepdims):  # noqa: A002
    if isinstance(ord, str):
        _refuse_matrix_norm(ord, 1)
    if ord is None or ord == 2:
        return _sqrt_sum_sq(a, axis, keepdims)
    x = ops.abs(a)
    if ord == math.inf:
        return ops.max(x, axis=axis, keepdims=keepdims)
    if ord == -math.inf:
        return ops.min(x, axis=axis, keepdims=keepdims)
    if ord == 0:
        return ops.astype(ops.sum(ops.not_equal(a, 0), axis=axis, keepdims=keepdims), a.dtype)
    if ord == 1:
        return ops.sum(x, axis=axis, keepdims=keepdims)
    p = float(ord)
    return ops.power(ops.sum(ops.power(x, p), axis=axis, keepdims=keepdims), 1.0 / p)


def _matrix_norm(a, ord, axes, keepdims):  # noqa: A002
    row, col = (ax % a.ndim for ax in axes)
    if ord is None or ord == "fro":
        return _sqrt_sum_sq(a, (row, col), keepdims)
    if ord in ("nuc", 2, -2):
        rest = [d for d in range(a.ndim) if d not in (row, col)]
        moved = ops.transpose(a, rest + [row, col]) if (row, col) != (a.ndim - 2, a.ndim - 1) \
            else a
        s = svd(moved, compute_uv=False)
        out = ops.sum(s, axis=-1) if ord == "nuc" else (
            ops.max(s, axis=-1) if ord == 2 else ops.min(s, axis=-1))
        if keepdims:
            for ax in sorted((row, col)):
                out = ops.expand_dims(out, ax)
        return out
    if ord in (1, -1, math.inf, -math.inf):
        # 1: the largest column sum (sum over rows); inf: the largest row sum
        summed, other = (row, col) if ord in (1, -1) else (col, row)
        sums = ops.sum(ops.abs(a), axis=summed, keepdims=True)
        pick = ops.max if ord in (1, math.inf) else ops.min
        out = pick(sums, axis=other, keepdims=True)
        return out if keepdims else ops.squeeze(out, axis=(row, col))
    raise ValueError(f"[linalg::norm] Invalid ord {ord} for matrix norm.")


