"""`mx.distributed`: MLX's API on the one group mxir has, the singleton group of this process.

MLX, with no backend configured, gives `init()` a group of size 1, on which the collectives
return their input and point-to-point communication is refused; that is what this module is.
mxir has no communication backend (MLX's MPI, ring, JACCL and NCCL), so `is_available` is False
for each, and `init(strict=True)` raises as MLX does when its backend cannot start. Multi-process
groups are listed as missing in `_mlx_exceptions.PARTIAL`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from .array import array

_BACKENDS = ("any", "mpi", "nccl", "jaccl", "ring")
# what MLX raises for `init(strict=True, backend=...)` when the backend cannot start
_CANNOT_START = {"any": "[distributed] Couldn't initialize any backend",
                 "mpi": "Cannot initialize MPI",
                 "nccl": "Cannot initialize nccl distributed backend.",
                 "jaccl": "Cannot initialize jaccl distributed backend."}


class Group:
    """A group of processes that communicate: here only the process itself (rank 0 of 1)."""

    def __init__(self, *args, **kwargs):
        raise TypeError("mxir.distributed.Group: no constructor defined!")

    @classmethod
    def _singleton(cls) -> Group:
        return cls.__new__(cls)

    def rank(self) -> int:
        return 0

    def size(self) -> int:
        return 1

    def split(self, color: int, key: int = -1) -> Group:
        raise RuntimeError("Cannot split the distributed group further.")


def is_available(backend: str = "any") -> bool:
    """Whether a communication backend is available: none is, in mxir."""
    return False


def init(strict: bool = False, backend: str = "any", *,
         all_gather_factory: Callable[[int, int], Callable[[bytes, int], bytes]] | None = None
         ) -> Group:
    """The group of this process: MLX's singleton group (strict: MLX's error, as no backend
    can start)."""
    if backend not in _BACKENDS:
        raise ValueError(f"[distributed] The only valid values for backend are 'any', 'mpi', "
                         f"'nccl', 'jaccl' and 'ring' but '{backend}' was provided.")
    if all_gather_factory is not None and backend != "jaccl":
        raise ValueError("all_gather_factory is only supported with backend='jaccl'.")
    if strict:
        if backend == "ring":
            rank, hosts = os.environ.get("MLX_RANK", ""), os.environ.get("MLX_HOSTFILE", "")
            if not rank or not hosts:
                raise RuntimeError(f"[ring] You need to provide via environment variables both "
                                   f"a rank (MLX_RANK) and a hostfile (MLX_HOSTFILE) but "
                                   f"provided MLX_RANK=\"{rank}\" and MLX_HOSTFILE=\"{hosts}\"")
            raise RuntimeError("[ring] mxir has no ring backend: multi-process groups are not "
                               "implemented")
        raise RuntimeError(_CANNOT_START[backend])
    return Group._singleton()


def _check_group(fn: str, group) -> None:
    if group is not None and not isinstance(group, Group):
        raise TypeError(f"{fn}(): incompatible function arguments. The following argument "
                        f"types are supported:\n    1. {fn}(x: array, *, group: Group | None = "
                        f"None, stream: StreamOrDevice = None) -> array\n\nInvoked with types: "
                        f"array, kwargs = {{ group: {type(group).__name__} }}")


def _over_singleton(fn: str, x, group) -> array:
    from .ops import as_array

    _check_group(fn, group)
    return as_array(x)  # over one process a collective gives its input, as MLX


def all_sum(x: array, *, group: Group | None = None, stream=None) -> array:
    """The sum of x over the group's processes."""
    return _over_singleton("all_sum", x, group)


def all_gather(x: array, *, group: Group | None = None, stream=None) -> array:
    """The processes' x concatenated along the first axis."""
    return _over_singleton("all_gather", x, group)


def all_max(x: array, *, group: Group | None = None, stream=None) -> array:
    """The elementwise maximum of x over the group's processes."""
    return _over_singleton("all_max", x, group)


def all_min(x: array, *, group: Group | None = None, stream=None) -> array:
    """The elementwise minimum of x over the group's processes."""
    return _over_singleton("all_min", x, group)


def sum_scatter(x: array, *, group: Group | None = None, stream=None) -> array:
    """The sum of x over the processes, each keeping its slice of the first axis."""
    return _over_singleton("sum_scatter", x, group)


def send(x: array, dst: int, *, group: Group | None = None, stream=None) -> array:
    raise ValueError("Cannot send to a singleton group")


def recv(shape: Sequence[int], dtype, src: int, *, group: Group | None = None,
         stream=None) -> array:
    raise ValueError("Cannot recv from a singleton group")


def recv_like(x: array, src: int, *, group: Group | None = None, stream=None) -> array:
    raise ValueError("Cannot recv from a singleton group")


__all__ = ["Group", "all_gather", "all_max", "all_min", "all_sum", "init", "is_available",
           "recv", "recv_like", "send", "sum_scatter"]
