"""`mx.distributed` on the singleton group, case by case against MLX without a configured
backend (which gives the same group): values, dtypes, transforms through the collectives, and
MLX's errors."""

import mxir as mx
import numpy as np
import pytest

mlx = pytest.importorskip("mlx.core")


@pytest.fixture(autouse=True)
def no_backend(monkeypatch):
    for var in ("MLX_RANK", "MLX_HOSTFILE", "MLX_WORLD_SIZE", "OMPI_COMM_WORLD_SIZE"):
        monkeypatch.delenv(var, raising=False)


def _outcome(fn, lib):
    try:
        out = fn(lib)
        if isinstance(out, (mx.array, mlx.array)):
            lib.eval(out)
            return ("value", str(out.dtype).split(".")[-1], tuple(out.shape),
                    np.array(out.astype(lib.float32) if out.dtype in (lib.bfloat16,) else out)
                    .tolist())
        return ("value", out)
    except Exception as e:  # noqa: BLE001 - the type and message are compared
        return ("error", type(e).__name__, str(e))


def _group_facts(lib, **kw):
    g = lib.distributed.init(**kw)
    return g.rank(), g.size()


CASES = {
    "init": lambda L: _group_facts(L),
    "init any": lambda L: _group_facts(L, backend="any"),
    "init mpi": lambda L: _group_facts(L, backend="mpi"),
    "init ring": lambda L: _group_facts(L, backend="ring"),
    "init nccl": lambda L: _group_facts(L, backend="nccl"),
    "init jaccl": lambda L: _group_facts(L, backend="jaccl"),
    "init bad backend": lambda L: _group_facts(L, backend="tcp"),
    "init strict": lambda L: _group_facts(L, strict=True),
    "init strict mpi": lambda L: _group_facts(L, strict=True, backend="mpi"),
    "init strict ring": lambda L: _group_facts(L, strict=True, backend="ring"),
    "init strict nccl": lambda L: _group_facts(L, strict=True, backend="nccl"),
    "init strict jaccl": lambda L: _group_facts(L, strict=True, backend="jaccl"),
    "factory not jaccl": lambda L: _group_facts(L, all_gather_factory=lambda r, s: None),
    "split": lambda L: L.distributed.init().split(0),
    "split key": lambda L: L.distributed.init().split(1, 3),
    "Group()": lambda L: L.distributed.Group(),
    "send": lambda L: L.distributed.send(L.ones((2,)), 0),
    "send group": lambda L: L.distributed.send(L.ones((2,)), 1, group=L.distributed.init()),
    "recv": lambda L: L.distributed.recv((2, 3), L.float32, 0),
    "recv_like": lambda L: L.distributed.recv_like(L.ones((2,)), 0),
    "grad all_sum": lambda L: L.grad(lambda x: (L.distributed.all_sum(x) ** 2).sum())(
        L.arange(4, dtype=L.float32)),
    "grad all_gather": lambda L: L.grad(lambda x: L.sin(L.distributed.all_gather(x)).sum())(
        L.arange(4, dtype=L.float32)),
    "grad all_max": lambda L: L.grad(lambda x: L.distributed.all_max(x).sum())(L.ones((2, 2))),
    "grad sum_scatter": lambda L: L.grad(lambda x: (L.distributed.sum_scatter(x) * x).sum())(
        L.ones((3,))),
    "jvp all_sum": lambda L: L.jvp(lambda x: L.distributed.all_sum(x) * 2, [L.ones((2,))],
                                   [L.arange(2, dtype=L.float32)])[1][0],
    "vmap all_min": lambda L: L.vmap(L.distributed.all_min)(L.arange(6).reshape(2, 3)),
}
for _name in ("all_sum", "all_gather", "all_max", "all_min", "sum_scatter"):
    CASES[_name] = lambda L, n=_name: getattr(L.distributed, n)(L.arange(6).reshape(2, 3))
    CASES[f"{_name} group"] = lambda L, n=_name: getattr(L.distributed, n)(
        L.ones((2,), dtype=L.bfloat16), group=L.distributed.init())
    CASES[f"{_name} scalar"] = lambda L, n=_name: getattr(L.distributed, n)(L.array(True))
    CASES[f"{_name} python float"] = lambda L, n=_name: getattr(L.distributed, n)(3.5)
    CASES[f"{_name} stream"] = lambda L, n=_name: getattr(L.distributed, n)(
        L.ones((1, 2), dtype=L.int8), stream=L.cpu)


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_mlx(name):
    got, want = _outcome(CASES[name], mx), _outcome(CASES[name], mlx)
    if name == "Group()":
        assert got == ("error", "TypeError", "mxir.distributed.Group: no constructor defined!")
        assert want == ("error", "TypeError",
                        "mlx.core.distributed.Group: no constructor defined!")
        return
    assert got == want


def test_is_available_says_no_backend():
    """mxir has no communication backend (MLX's CPU wheel has its ring backend)."""
    for backend in ("any", "mpi", "ring", "nccl", "jaccl", "tcp"):
        assert mx.distributed.is_available(backend) is False
    assert mx.distributed.is_available() is False


def test_group_type_is_checked():
    with pytest.raises(TypeError, match="incompatible function arguments"):
        mx.distributed.all_sum(mx.ones((2,)), group=3)
    with pytest.raises(TypeError, match="incompatible function arguments"):
        mlx.distributed.all_sum(mlx.ones((2,)), group=3)
