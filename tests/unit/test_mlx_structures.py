"""What functions return, container by container (tuple or list, nested), compared with MLX
itself: a program that unpacks or concatenates results (`a + b` of two results) breaks on a list
where MLX gives a tuple. MLX is the test-only oracle."""

from __future__ import annotations

import pytest

mlx = pytest.importorskip("mlx.core")

import mxir  # noqa: E402


def _cases(mx):
    a = mx.array([[2.0, 1.0], [1.0, 3.0]])
    on_cpu = {"stream": mx.cpu}
    return {
        "meshgrid": lambda: mx.meshgrid(mx.arange(2), mx.arange(3)),
        "meshgrid sparse": lambda: mx.meshgrid(mx.arange(2), mx.arange(3), sparse=True),
        "linalg.qr": lambda: mx.linalg.qr(a, **on_cpu),
        "linalg.svd": lambda: mx.linalg.svd(a, **on_cpu),
        "linalg.eigh": lambda: mx.linalg.eigh(a, **on_cpu),
        "linalg.lu": lambda: mx.linalg.lu(a, **on_cpu),
        "linalg.lu_factor": lambda: mx.linalg.lu_factor(a, **on_cpu),
        "quantize": lambda: mx.quantize(mx.ones((32, 64))),
        "random.split": lambda: mx.random.split(mx.random.key(0)),
        "divmod": lambda: mx.divmod(a, 2),
        "split": lambda: mx.split(a, 2),
        "broadcast_arrays": lambda: mx.broadcast_arrays(a, a),
        "atleast_2d": lambda: mx.atleast_2d(a, a),
        "vjp of lists": lambda: mx.vjp(lambda x: x, [a], [a]),
        "vjp of tuples": lambda: mx.vjp(lambda x: x, (a,), (a,)),
        "jvp": lambda: mx.jvp(lambda x: x, [a], [a]),
        "value_and_grad": lambda: mx.value_and_grad(lambda x: x.sum())(a),
        "grad argnums": lambda: mx.grad(lambda x, y: (x * y).sum(), argnums=(0, 1))(a, a),
        "vmap of a tuple": lambda: mx.vmap(lambda x: (x, x))(a),
        "einsum_path": lambda: mx.einsum_path("ij,jk", a, a),
        "topk": lambda: mx.topk(a, 1),
    }


def _structure(x) -> str:
    if isinstance(x, (list, tuple)):
        return f"{type(x).__name__}({','.join(_structure(y) for y in x)})"
    return "array" if type(x).__name__ == "array" else type(x).__name__


@pytest.mark.parametrize("name", sorted(_cases(mlx)))
def test_result_structure_matches_mlx(name):
    want = _structure(_cases(mlx)[name]())
    assert _structure(_cases(mxir)[name]()) == want
