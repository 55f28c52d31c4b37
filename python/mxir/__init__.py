"""mxir: MLX's function transforms as an MLIR compiler toolchain. Use as `import mxir as mx`."""

from __future__ import annotations

import math as _math

from . import ops as _ops
from .array import _install_operators, array
from .compile import compile, disable_compile, enable_compile  # noqa: A004,F401
from .custom import checkpoint, custom_function  # noqa: F401
from .dtypes import (  # noqa: F401
    Dtype,
    DtypeCategory,
    bfloat16,
    bool_,
    can_cast,
    complex64,
    complexfloating,
    finfo,
    float16,
    float32,
    float64,
    floating,
    generic,
    iinfo,
    inexact,
    int8,
    int16,
    int32,
    int64,
    integer,
    isdtype,
    issubdtype,
    number,
    promote_types,
    result_type,
    signedinteger,
    uint8,
    uint16,
    uint32,
    uint64,
    unsignedinteger,
)
from .evaluate import eval_arrays as _eval_arrays
from .export import (  # noqa: F401
    FunctionExporter,
    depends,
    export_function,
    export_to_dot,
    exporter,
    import_function,
)
from .transforms import grad, hessian, jacfwd, jacrev, jvp, value_and_grad, vjp, vmap  # noqa: F401

_install_operators()

from . import fast, fft, linalg, random  # noqa: E402,F401
from .conv import (  # noqa: E402
    conv1d,
    conv2d,
    conv3d,
    conv_general,
    conv_transpose1d,
    conv_transpose2d,
    conv_transpose3d,
    convolve,
)
from .device import (  # noqa: E402
    Device,
    DeviceType,
    Stream,
    clear_streams,
    cpu,
    default_device,
    default_stream,
    gpu,
    is_available,
    new_stream,
    set_default_device,
    set_default_stream,
    stream,
    synchronize,
)
from .memory import (  # noqa: E402
    clear_cache,
    get_active_memory,
    get_array_buffer_size,
    get_cache_memory,
    get_memory_limit,
    get_peak_memory,
    reset_peak_memory,
    set_cache_limit,
    set_memory_limit,
    set_wired_limit,
)
from .printing import get_printoptions, printoptions, set_printoptions  # noqa: E402

pi = _math.pi
e = _math.e
inf = float("inf")
nan = float("nan")
newaxis = None
euler_gamma = 0.5772156649015329

# -- mlx.core name parity (issue 12; tests/unit/test_mlx_names.py, mxir/_mlx_exceptions.py)
from . import cuda, distributed, metal  # noqa: E402
from .array_ops import ArrayIterator  # noqa: E402
from .device import (  # noqa: E402
    StreamContext,
    ThreadLocalStream,
    new_thread_local_stream,
    new_thread_unsafe_stream,
)
from .device_queries import device_count, device_info  # noqa: E402
from .indexing import _At as ArrayAt  # noqa: E402
from .printing import PrintOptions  # noqa: E402

for _name in dir(_ops):
    _obj = getattr(_ops, _name)
    if not _name.startswith("_") and callable(_obj) and getattr(_obj, "__module__", "").startswith(
            "mxir"):
        globals()[_name] = _obj


def eval(*args) -> None:  # noqa: A001
    """Evaluate arrays (in nested lists, tuples and dicts) in one compiled program."""
    for x in args:
        if type(x) is not array:
            break
    else:  # only arrays: skip the tree walk (a per-call cost of every eval)
        return _eval_arrays(args)
    leaves: list = []
    if _array_leaves(args, leaves):  # arrays in lists and tuples (a decode's caches)
        return _eval_arrays(leaves)
    from .tree import tree_flatten

    leaves = [x for x in tree_flatten(list(args)) if isinstance(x, array)]
    _eval_arrays(leaves)


def _array_leaves(xs, out: list) -> bool:
    """Append the arrays of `xs`, nested in lists and tuples only, in tree_flatten's order;
    False at anything else (then the general tree walk runs)."""
    for x in xs:
        kind = type(x)
        if kind is array:
            out.append(x)
        elif kind is not list and kind is not tuple or not _array_leaves(x, out):
            return False
    return True


def async_eval(*args) -> None:
    eval(*args)


def ir_of(fun, *args, lowered: bool = False) -> str:
    """The MLIR that `fun(*args)` compiles to: the `mx` dialect with transform ops (default),
    or after the transform passes and lowering to linalg (`lowered=True`)."""
    from .evaluate import program_ir
    from .tree import tree_flatten

    return program_ir([x for x in tree_flatten(fun(*args)) if isinstance(x, array)], lowered)

matrix_norm = linalg.norm  # MLX 0.32 exports the same function at the top level too
