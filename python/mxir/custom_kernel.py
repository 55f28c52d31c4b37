"""`mx.fast.metal_kernel`: a user's Metal kernel body, wrapped in the signature MLX generates,
as an `mx.metal_kernel` op of the lazy graph (dialect/custom_kernel.py).

A compiled CPU program calls back into `launch` here, which runs the kernel on mxir's Metal
device (Metal on macOS, metal-sim anywhere) with MLX's dispatch (`dispatchThreads(grid,
min(threadgroup, grid))`). Inside grad/jvp/vmap the op's rules raise MLX's errors for its
CustomKernel primitive; `mx.custom_function` gives a kernel its derivatives, as in MLX.
"""

from __future__ import annotations

import ctypes
import json
from collections.abc import Callable, Sequence

import numpy as np

from mxir.dialect import numpy_dtype, to_storage
from mxir.dialect.custom_kernel import KERNEL_CALL, MetalKernelOp
from mxir.runtime.cpu import HOST_FUNCTIONS

from . import dtypes as dt
from .array import array
from .graph import make_node

# Inputs of fewer elements are passed in the constant address space (MLX's
# max_constant_array_size).
_MAX_CONSTANT_SIZE = 8

# MSL's kernel attributes (Table 5.8) that MLX adds as parameters when the body names them, in
# MLX's order.
_ATTRIBUTES = (
    ("dispatch_quadgroups_per_threadgroup", "uint"),
    ("dispatch_simdgroups_per_threadgroup", "uint"),
    ("dispatch_threads_per_threadgroup", "uint3"),
    ("grid_origin", "uint3"),
    ("grid_size", "uint3"),
    ("quadgroup_index_in_threadgroup", "uint"),
    ("quadgroups_per_threadgroup", "uint"),
    ("simdgroup_index_in_threadgroup", "uint"),
    ("simdgroups_per_threadgroup", "uint"),
    ("thread_execution_width", "uint"),
    ("thread_index_in_quadgroup", "uint"),
    ("thread_index_in_simdgroup", "uint"),
    ("thread_index_in_threadgroup", "uint"),
    ("thread_position_in_grid", "uint3"),
    ("thread_position_in_threadgroup", "uint3"),
    ("threadgroup_position_in_grid", "uint3"),
    ("threadgroups_per_grid", "uint3"),
    ("threads_per_grid", "uint3"),
    ("threads_per_simdgroup", "uint"),
    ("threads_per_threadgroup", "uint3"),
)

_TYPE_STRING = {
    "float32": "float", "float16": "float16_t", "bfloat16": "bfloat16_t", "float64": "double",
    "complex64": "complex64_t", "bool": "bool", "int8": "int8_t", "int16": "int16_t",
    "int32": "int32_t", "int64": "int64_t", "uint8": "uint8_t", "uint16": "uint16_t",
    "uint32": "uint32_t", "uint64": "uint64_t",
}

# What MLX's kernel utilities (prepended to the source, never printed) give a kernel body: the
# type names of the generated signature and the indexing helpers its documentation uses. Only
# this subset is provided (written here, after MLX's documented behaviour).
UTILS = """#include <metal_stdlib>
using namespace metal;
typedef half float16_t;
typedef bfloat bfloat16_t;

template <typename T, typename U> inline T ceildiv(T n, U m) { return (n + m - 1) / m; }

template <typename U> struct Limits {
  static constexpr constant U max = metal::numeric_limits<U>::max();
  static constexpr constant U min = metal::numeric_limits<U>::min();
  static constexpr constant U finite_max = metal::numeric_limits<U>::max();
  static constexpr constant U finite_min = metal::numeric_limits<U>::min();
};
#define MXIR_FLOAT_LIMITS(T)                                              \\
  template <> struct Limits<T> {                                          \\
    static constexpr constant T max = metal::numeric_limits<T>::infinity(); \\
    static constexpr constant T min = -metal::numeric_limits<T>::infinity(); \\
    static constexpr constant T finite_max = metal::numeric_limits<T>::max(); \\
    static constexpr constant T finite_min = -metal::numeric_limits<T>::max(); \\
  };
MXIR_FLOAT_LIMITS(float)
MXIR_FLOAT_LIMITS(half)

// the memory offset of row-major element `elem` of an array of `ndim` dims
template <typename IdxT = int64_t>
inline IdxT elem_to_loc(IdxT elem, constant const int* shape, constant const int64_t* strides,
                        int ndim) {
  IdxT loc = 0;
  for (int i = ndim - 1; i >= 0 && elem > 0; --i) {
    loc += (elem % shape[i]) * IdxT(strides[i]);
    elem /= shape[i];
  }
  return loc;
}
// a 3-d grid position: x, y index the last two dims, z the others
template <typename IdxT = int64_t>
inline IdxT elem_to_loc(uint3 elem, constant const int* shape, constant const int64_t* strides,
                        int ndim) {
  IdxT loc = elem.x * IdxT(strides[ndim - 1]) + elem.y * IdxT(strides[ndim - 2]);
  for (int d = ndim - 3; d >= 0; --d) {
    loc += (elem.z % shape[d]) * IdxT(strides[d]);
    elem.z /= shape[d];
  }
  return loc;
}
template <typename IdxT = int64_t>
inline IdxT elem_to_loc_1(uint elem, constant const int64_t& stride) {
  return elem * IdxT(stride);
}
template <typename IdxT = int64_t>
inline IdxT elem_to_loc_2(uint2 elem, constant const int64_t strides[2]) {
  return elem.x * IdxT(strides[1]) + elem.y * IdxT(strides[0]);
}
template <typename IdxT = int64_t>
inline IdxT elem_to_loc_3(uint3 elem, constant const int64_t strides[3]) {
  return elem.x * IdxT(strides[2]) + elem.y * IdxT(strides[1]) + elem.z * IdxT(strides[0]);
}
"""

_MATH_MODES = ("safe", "relaxed", "fast")


def _type_string(dtype: dt.Dtype) -> str:
    return _TYPE_STRING[dtype.name]


def _check_compile_options(options) -> None:
    if options is None:
        return
    if not isinstance(options, dict):
        raise ValueError("[metal_kernel] Expected `compile_options` to be a dict.")
    for key, value in options.items():
        if key != "math_mode":
            raise ValueError(f"[metal_kernel] Unknown compile option `{key}`.")
        if value not in _MATH_MODES:
            raise ValueError("[metal_kernel] Expected math_mode to be 'safe', 'relaxed', or "
                             "'fast'.")


def _template_value(value) -> str:
    if isinstance(value, bool):
        return str(int(value))  # C++ streams a bool as 1 / 0
    if isinstance(value, int):
        return str(value)
    return _type_string(value)


def _template_param(value) -> str:
    return "bool" if isinstance(value, bool) else "int" if isinstance(value, int) else "typename"


def _template_hash(text: str) -> str:
    """MLX's kernel-name suffix of a template argument list: `<float, 3>` -> `_float_3`."""
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c in "<>":
            out.append("_")
        elif c == "," and i + 1 < len(text) and text[i + 1] == " ":
            out.append("_")
            i += 1
        else:
            out.append(c)
        i += 1
    return "".join(out)[:-1]


def write_signature(name: str, header: str, source: str, input_names, inputs: list[array],
                    output_names, output_dtypes, template: list, attributes: list[str],
                    shape_infos: list[tuple[bool, bool, bool]], atomic_outputs: bool) -> str:
    """The kernel source MLX generates: header, template head, signature, body."""
    parts = [header]
    if template:
        parts.append("template <" + ", ".join(f"{_template_param(v)} {n}" for n, v in template)
                     + ">\n")
    parts.append(f"[[kernel]] void {name}(\n")
    index = 0
    for n, x, info in zip(input_names, inputs, shape_infos):
        space = "constant" if x.size < _MAX_CONSTANT_SIZE else "device"
        ref = "&" if x.ndim == 0 else "*"
        parts.append(f"  const {space} {_type_string(x.dtype)}{ref} {n} [[buffer({index})]],\n")
        index += 1
        if x.ndim > 0:
            for present, text in zip(info, ("const constant int* {}_shape",
                                            "const constant int64_t* {}_strides",
                                            "const constant int& {}_ndim")):
                if present:
                    parts.append(f"  {text.format(n)} [[buffer({index})]],\n")
                    index += 1
    n_in = len(inputs)
    for n, dtype in zip(output_names, output_dtypes):
        t = _type_string(dtype)
        t = f"atomic<{t}>" if atomic_outputs else t
        parts.append(f"  device {t}* {n} [[buffer({index})]]")
        # MLX's test (it counts shape buffers in `index` but not in the bound)
        last = not (index < n_in + len(output_names) - 1 or attributes)
        parts.append(") {\n" if last else ",\n")
        index += 1
    for i, attr in enumerate(attributes):
        parts.append(attr)
        parts.append(") {\n" if i == len(attributes) - 1 else ",\n")
    parts.append(source)
    parts.append("\n}\n")
    return "".join(parts)


def _is_gpu(stream) -> bool:
    from .device import Device, DeviceType, Stream

    if isinstance(stream, DeviceType):
        return stream == DeviceType.gpu
    if isinstance(stream, Device):
        return stream.type == DeviceType.gpu
    if isinstance(stream, Stream):
        return stream.device.type == DeviceType.gpu
    resolve = getattr(stream, "resolve", None)  # a ThreadLocalStream
    return resolve is not None and resolve().device.type == DeviceType.gpu


_MAX_THREADS = 1024


def launch(spec: dict, inputs: list[np.ndarray], dev=None) -> list[np.ndarray]:
    """Run the kernel `spec` describes (dialect/custom_kernel.py) on host-storage inputs, on
    `dev` (default: the selected Metal backend)."""
    from .device import gpu_backend, open_gpu
    from .metal import is_available

    if dev is None:
        if not is_available():
            raise RuntimeError("[metal_kernel] No Metal back-end.")
        dev = open_gpu(gpu_backend())
    program = dev.compile(spec["source"])
    args, owned = [], []

    def buffer(values: np.ndarray):
        buf = dev.allocate(max(values.nbytes, 4))
        owned.append(buf)
        dev.upload(buf, values)
        args.append(buf)

    try:
        for x, info in zip(inputs, spec["shape_infos"]):
            x = np.ascontiguousarray(x)  # mxir passes row-contiguous inputs
            buffer(x)
            if x.ndim:
                strides = [int(np.prod(x.shape[i + 1:], dtype=np.int64)) for i in range(x.ndim)]
                extra = (np.asarray(x.shape, np.int32), np.asarray(strides, np.int64),
                         np.asarray([x.ndim], np.int32))
                for present, data in zip(info, extra):
                    if present:
                        buffer(data)
        outs = []
        for shape, dtype in spec["outputs"]:
            host = np.empty(shape, numpy_dtype(dtype))
            if spec["init_value"] is not None:
                with np.errstate(invalid="ignore", over="ignore"):
                    host[...] = to_storage(np.full(shape, spec["init_value"]), dtype)
            buffer(host)  # uninitialised otherwise (metal-sim's new memory is NaN bytes)
            outs.append(host)
        grid, tg = spec["grid"], spec["threadgroup"]
        if all(g > 0 for g in grid):
            group = tuple(min(t, g) for t, g in zip(tg, grid))
            dev.launch(program, spec["kernel"], grid, group, args, dispatch="threads")
            dev.synchronize()
        for host, buf in zip(outs, args[len(args) - len(outs):]):
            dev.download(buf, host)
        return outs
    finally:
        for buf in owned:
            dev.free(buf)


_SPECS: dict[bytes, dict] = {}


@ctypes.CFUNCTYPE(None, ctypes.c_int64, ctypes.c_int64)
def _host_call(spec_address: int, argv_address: int) -> None:
    """`mxir_metal_kernel`, called by compiled code with the spec's address and an array of the
    buffers' addresses (inputs, then outputs). An exception cannot cross the compiled frames:
    it is kept, and evaluate.py raises it when the program returns."""
    from .evaluate import KERNEL_ERRORS

    try:
        text = ctypes.string_at(spec_address)
        spec = _SPECS.get(text)
        if spec is None:
            spec = _SPECS[text] = json.loads(text)
        types = spec["inputs"] + spec["outputs"]
        addresses = (ctypes.c_int64 * len(types)).from_address(argv_address)

        def view(address: int, shape, dtype: str) -> np.ndarray:
            npt = numpy_dtype(dtype)
            n = int(np.prod(shape, dtype=np.int64)) * npt.itemsize
            if n == 0:
                return np.empty(shape, npt)
            raw = np.ctypeslib.as_array((ctypes.c_uint8 * n).from_address(address))
            return raw.view(npt).reshape(shape)

        arrays = [view(a, shape, dtype) for a, (shape, dtype) in zip(addresses, types)]
        n_in = len(spec["inputs"])
        for out, result in zip(arrays[n_in:], launch(spec, arrays[:n_in])):
            out[...] = result
    except BaseException as e:  # noqa: BLE001 - re-raised by evaluate.py
        KERNEL_ERRORS.append(e)


HOST_FUNCTIONS[KERNEL_CALL] = ctypes.cast(_host_call, ctypes.c_void_p).value


def _reference(spec: dict, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """The op's reference semantics: the kernel run on metal-sim, on any OS."""
    from mxir.runtime.metal_sim import open_device

    return launch(spec, inputs, open_device())


MetalKernelOp.launch = staticmethod(_reference)


class MetalKernel:
    """The callable `mx.fast.metal_kernel` returns."""

    def __init__(self, name: str, input_names, output_names, source: str, header: str,
                 ensure_row_contiguous: bool, atomic_outputs: bool):
        self.name = name
        self.input_names = list(input_names)
        self.output_names = list(output_names)
        self.source = source
        self.header = header
        self.ensure_row_contiguous = ensure_row_contiguous
        self.atomic_outputs = atomic_outputs
        self.shape_infos = [(f"{n}_shape" in source, f"{n}_strides" in source,
                             f"{n}_ndim" in source) for n in self.input_names]
        self.attributes = [f"  {t} {a} [[{a}]]" for a, t in _ATTRIBUTES if a in source]

    def __call__(self, *, inputs: list, output_shapes: list[Sequence[int]],
                 output_dtypes: list, grid: tuple[int, int, int],
                 threadgroup: tuple[int, int, int], template: list | None = None,
                 init_value: float | None = None, verbose: bool = False,
                 stream=None) -> list[array]:
        from .ops import as_array

        xs = [as_array(x) for x in inputs]
        template = list(template or [])
        for _, value in template:
            if not isinstance(value, (bool, int, dt.Dtype)):
                raise ValueError("[metal_kernel] Invalid template argument. Must be "
                                 "`mlx.core.Dtype`, `int` or `bool`.")
        for got, want, what in ((len(xs), len(self.input_names), "inputs"),
                                (len(output_shapes), len(self.output_names), "output_shapes"),
                                (len(output_dtypes), len(self.output_names), "output_dtypes")):
            if got != want:
                raise ValueError(f"[metal_kernel] Expected `{what}` to have size {want} but "
                                 f"got size {got}.\n")
        from .metal import is_available

        if not is_available():
            raise RuntimeError("[metal_kernel] No Metal back-end.")
        if stream is not None and not _is_gpu(stream):
            raise ValueError("[metal_kernel] Only supports the GPU.")
        dtypes = [dt.to_dtype(d) for d in output_dtypes]
        kernel_name = "custom_kernel_" + self.name
        args = "<" + ", ".join(_template_value(v) for _, v in template) + ">"
        if template:
            kernel_name += "_" + _template_hash(args)
        for x in xs:
            kernel_name += "_" + _type_string(x.dtype)
            kernel_name += "s" if x.ndim == 0 else "c" if x.size < _MAX_CONSTANT_SIZE else ""
        for d in dtypes:
            kernel_name += "_" + _type_string(d)
        text = write_signature(kernel_name, self.header, self.source, self.input_names, xs,
                               self.output_names, dtypes, template, self.attributes,
                               self.shape_infos, self.atomic_outputs)
        if template:
            inst = kernel_name + args
            text += (f'\ntemplate [[host_name("{kernel_name}")]] [[kernel]] decltype({inst}) '
                     f"{inst};\n")
        if verbose:
            print(f"Generated source code for `{self.name}`:\n```\n{text}\n```", flush=True)
        tg = [int(v) for v in threadgroup]
        if tg[0] * tg[1] * tg[2] > _MAX_THREADS:
            raise ValueError(f"Thread group size ({tg[0] * tg[1] * tg[2]}) is greater than  the "
                             f"maximum allowed threads per threadgroup ({_MAX_THREADS}).")
        spec = {"kernel": kernel_name, "source": UTILS + text,
                "inputs": [[list(x.shape), x.dtype.name] for x in xs],
                "outputs": [[[int(n) for n in s], d.name] for s, d in zip(output_shapes, dtypes)],
                "shape_infos": self.shape_infos, "grid": [int(g) for g in grid],
                "threadgroup": tg,
                "init_value": None if init_value is None else float(init_value)}
        node = make_node("metal_kernel", xs, {"spec": json.dumps(spec, sort_keys=True)})
        return [array._from(node, i) for i in range(len(node.types))]


def metal_kernel(name: str, input_names: Sequence[str], output_names: Sequence[str],
                 source: str, header: str = "", ensure_row_contiguous: bool = True,
                 atomic_outputs: bool = False, compile_options: dict | None = None
                 ) -> Callable[..., list[array]]:
    """A Metal kernel from the body `source`; its signature is generated from the inputs'
    dtypes and shapes, the output dtypes, the template arguments and the attributes the body
    names, as MLX generates it."""
    _check_compile_options(compile_options)
    if not output_names:
        raise ValueError("[metal_kernel] Must specify at least one output.")
    return MetalKernel(name, input_names, output_names, source, header,
                       ensure_row_contiguous, atomic_outputs)
