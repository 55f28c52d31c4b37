"""Arrays in and out of mxir: `asarray`, DLPack (`from_dlpack`, `__dlpack__`,
`__dlpack_device__`), the Array API namespace, and files (`.npy`, `.npz`, `.safetensors`,
`.gguf`) through `save*` / `load`. Array data lives in host memory (NumPy storage), so DLPack
exchange goes through NumPy's DLPack support and the files are written here byte for byte."""

from __future__ import annotations

import json
import os
import struct
import typing

import numpy as np

from mxir.dialect.core import bf16_bits_from_f32, f32_from_bf16_bits

from . import dtypes as dt
from . import ops
from .array import array


@typing.runtime_checkable
class ArrayLike(typing.Protocol):
    """Any object with an `__mlx_array__` method returning an array: `mx.array(obj)` and every
    op accept it."""

    def __mlx_array__(self) -> array: ...


def asarray(a, dtype=None, *, copy=None) -> array:
    """`a` as an array (no copy of an mxir array of the right dtype: arrays are values)."""
    if hasattr(a, "__dlpack__") and not isinstance(a, (array, np.ndarray)):
        a = from_dlpack(a)
    a = ops.as_array(a) if isinstance(a, array) or dtype is None else array(a, dtype)
    return a if dtype is None else ops.astype(a, dtype)


def from_dlpack(x, /, *, copy=None) -> array:
    """An array from any object with `__dlpack__` (host memory; the data is copied in)."""
    return array(np.from_dlpack(x))


def _host(a: array) -> np.ndarray:
    if a.dtype == dt.bfloat16:
        raise BufferError("bfloat16 has no DLPack type in NumPy; convert with astype first.")
    return np.asarray(a)


def _install_methods() -> None:
    import mxir

    array.__dlpack__ = lambda self, *args, **kwargs: _host(self).__dlpack__(*args, **kwargs)
    array.__dlpack_device__ = lambda self: (1, 0)  # kDLCPU: the data is in host memory
    array.__array_namespace__ = lambda self, /, *, api_version=None: mxir


# -- files -----------------------------------------------------------------------------------
def _path(file, suffix: str):
    if isinstance(file, (str, os.PathLike)):
        file = os.fspath(file)
        return file if file.endswith(suffix) else file + suffix
    return file


def _open(file, suffix: str, mode: str):
    """(file object, whether we opened it) for a path (suffix added as MLX does) or a file."""
    f = _path(file, suffix)
    return (open(f, mode), True) if isinstance(f, str) else (f, False)


def save(file, arr) -> None:
    np.save(_path(file, ".npy"), np.asarray(ops.as_array(arr)))


def savez(file, *args, **kwargs) -> None:
    np.savez(_path(file, ".npz"), *[np.asarray(ops.as_array(a)) for a in args],
             **{k: np.asarray(ops.as_array(v)) for k, v in kwargs.items()})


def savez_compressed(file, *args, **kwargs) -> None:
    np.savez_compressed(_path(file, ".npz"), *[np.asarray(ops.as_array(a)) for a in args],
                        **{k: np.asarray(ops.as_array(v)) for k, v in kwargs.items()})


def _raw(a: array) -> bytes:
    """The little-endian bytes of `a` in its own dtype (bfloat16 as its 16 bits)."""
    a = ops.as_array(a)
    host = bf16_bits_from_f32(np.asarray(a)) if a.dtype == dt.bfloat16 else np.asarray(a)
    return np.ascontiguousarray(host).astype(host.dtype.newbyteorder("<"), copy=False).tobytes()


def _from_raw(data: bytes, dtype: str, shape) -> array:
    if dtype == "bfloat16":
        bits = np.frombuffer(data, dtype="<u2").reshape(shape)
        return array(f32_from_bf16_bits(bits), dt.bfloat16)
    return array(np.frombuffer(data, dtype=np.dtype(dtype).newbyteorder("<")).reshape(shape)
                 .astype(dtype))


# safetensors: u64 header size, a JSON header {name: {dtype, shape, data_offsets}}, the data
_ST_CODES = {"bool": "BOOL", "uint8": "U8", "uint32": "U32", "int32": "I32", "int64": "I64",
             "float16": "F16", "bfloat16": "BF16", "float32": "F32", "float64": "F64",
             "int8": "I8", "int16": "I16", "uint16": "U16", "uint64": "U64",
             "complex64": "C64"}
_ST_NAMES = {v: k for k, v in _ST_CODES.items()}


def save_safetensors(file, arrays: dict, metadata: dict | None = None) -> None:
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name, a in arrays.items():
        a = ops.as_array(a)
        blob = _raw(a)
        header[name] = {"dtype": _ST_CODES[a.dtype.name], "shape": list(a.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the data starts 8-byte aligned
    f, mine = _open(file, ".safetensors", "wb")
    try:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
    finally:
        if mine:
            f.close()


def _load_safetensors(f) -> tuple[dict, dict]:
    (n,) = struct.unpack("<Q", f.read(8))
    header = json.loads(f.read(n))
    data = f.read()
    metadata = header.pop("__metadata__", {})
    out = {}
    for name, info in header.items():
        if info["dtype"] not in _ST_NAMES or _ST_NAMES[info["dtype"]] not in dt.ALL:
            raise ValueError(f"[load_safetensors] dtype {info['dtype']} of {name!r} is not "
                             "supported by mxir.")
        lo, hi = info["data_offsets"]
        out[name] = _from_raw(data[lo:hi], _ST_NAMES[info["dtype"]], info["shape"])
    return out, metadata


# GGUF (v3): magic, version, counts, key/value metadata, tensor infos (dims innermost first),
# then the tensor data at offsets aligned to 32 bytes
_GGUF_TYPES = {"float32": 0, "float16": 1, "int8": 24, "int16": 25, "int32": 26, "int64": 27,
               "float64": 28, "bfloat16": 30}
_GGUF_NAMES = {v: k for k, v in _GGUF_TYPES.items()}
_GGUF_SAVE = ("float32", "float16", "int8", "int16", "int32")  # the dtypes MLX writes
_GGUF_ALIGN = 32
_KV_STRING, _KV_ARRAY = 8, 9
_KV_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?",
               10: "<Q", 11: "<q", 12: "<d"}
_KV_NUMPY = {"uint8": 0, "int8": 1, "uint16": 2, "int16": 3, "uint32": 4, "int32": 5,
             "float32": 6, "bool": 7, "uint64": 10, "int64": 11, "float64": 12}


def _gguf_str(s: str) -> bytes:
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def _gguf_value(v) -> bytes:
    if isinstance(v, str):
        return struct.pack("<I", _KV_STRING) + _gguf_str(v)
    if isinstance(v, (list, tuple)):
        if not all(isinstance(s, str) for s in v):
            raise ValueError("[save_gguf] Metadata lists must hold strings.")
        return (struct.pack("<IIQ", _KV_ARRAY, _KV_STRING, len(v))
                + b"".join(_gguf_str(s) for s in v))
    a = np.asarray(ops.as_array(v))
    code = _KV_NUMPY.get(a.dtype.name)
    if code is None:
        raise ValueError(f"[save_gguf] Metadata arrays of dtype {a.dtype} are not supported.")
    if a.ndim == 0:
        return struct.pack("<I", code) + struct.pack(_KV_SCALARS[code], a.item())
    if a.ndim != 1:
        raise ValueError("[save_gguf] Metadata arrays must be scalars or 1-D.")
    return struct.pack("<IIQ", _KV_ARRAY, code, a.size) + a.astype(
        a.dtype.newbyteorder("<")).tobytes()


def save_gguf(file, arrays: dict, metadata: dict | None = None) -> None:
    kv = b"".join(_gguf_str(k) + _gguf_value(v) for k, v in (metadata or {}).items())
    infos, blobs, offset = [], [], 0
    for name, a in arrays.items():
        a = ops.as_array(a)
        if a.dtype.name not in _GGUF_SAVE:
            raise RuntimeError(f"[save_gguf] dtype {a.dtype.name} is not supported")
        blob = _raw(a)
        dims = a.shape[::-1]  # innermost first; a scalar has none (as MLX writes it)
        infos.append(_gguf_str(name) + struct.pack("<I", len(dims))
                     + struct.pack(f"<{len(dims)}Q", *dims)
                     + struct.pack("<IQ", _GGUF_TYPES[a.dtype.name], offset))
        blob += b"\0" * (-len(blob) % _GGUF_ALIGN)
        blobs.append(blob)
        offset += len(blob)
    head = (b"GGUF" + struct.pack("<IQQ", 3, len(arrays), len(metadata or {})) + kv
            + b"".join(infos))
    head += b"\0" * (-len(head) % _GGUF_ALIGN)
    f, mine = _open(file, ".gguf", "wb")
    try:
        f.write(head + b"".join(blobs))
    finally:
        if mine:
            f.close()


class _Reader:
    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def take(self, fmt: str):
        out = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return out if len(out) > 1 else out[0]

    def string(self) -> str:
        n = self.take("<Q")
        self.pos += n
        return self.data[self.pos - n:self.pos].decode()

    def value(self, code: int):
        if code == _KV_STRING:
            return self.string()
        if code == _KV_ARRAY:
            inner, n = self.take("<IQ")
            if inner == _KV_STRING:
                return [self.string() for _ in range(n)]
            dtype = next(k for k, c in _KV_NUMPY.items() if c == inner)
            a = np.frombuffer(self.data, np.dtype(dtype).newbyteorder("<"), n, self.pos)
            self.pos += a.nbytes
            return array(a.astype(dtype))
        return array(np.asarray(self.take(_KV_SCALARS[code])).astype(
            next(k for k, c in _KV_NUMPY.items() if c == code)))


def _load_gguf(f) -> tuple[dict, dict]:
    r = _Reader(f.read())
    if r.take("<4s") != b"GGUF":
        raise ValueError("[load_gguf] Not a GGUF file.")
    _version, n_tensors, n_kv = r.take("<IQQ")
    metadata = {}
    for _ in range(n_kv):
        key = r.string()
        metadata[key] = r.value(r.take("<I"))
    align = int(metadata.get("general.alignment", _GGUF_ALIGN))
    infos = []
    for _ in range(n_tensors):
        name = r.string()
        nd = r.take("<I")
        dims = [r.take("<Q") for _ in range(nd)]
        kind, offset = r.take("<IQ")
        infos.append((name, tuple(dims[::-1]), kind, offset))
    start = r.pos + (-r.pos % align)
    out = {}
    for name, shape, kind, offset in infos:
        if kind not in _GGUF_NAMES:
            raise ValueError(f"[load_gguf] GGUF tensor type {kind} of {name!r} (a quantized "
                             "type) is not supported by mxir.")
        dtype = _GGUF_NAMES[kind]
        size = int(np.prod(shape)) * (2 if dtype == "bfloat16" else np.dtype(dtype).itemsize)
        out[name] = _from_raw(r.data[start + offset:start + offset + size], dtype, shape)
    return out, metadata


def load(file, format=None, return_metadata=False, stream=None):  # noqa: A002
    """Arrays from a `.npy`, `.npz`, `.safetensors` or `.gguf` file (format: by extension)."""
    if format is None:
        if not isinstance(file, (str, os.PathLike)):
            raise ValueError("[load] The format must be given for a file object.")
        format = os.fspath(file).rsplit(".", 1)[-1]  # noqa: A001
    if format in ("safetensors", "gguf"):
        f, mine = _open(file, "", "rb")
        try:
            arrays, metadata = (_load_safetensors if format == "safetensors" else _load_gguf)(f)
        finally:
            if mine:
                f.close()
        return (arrays, metadata) if return_metadata else arrays
    if format not in ("npy", "npz"):
        raise ValueError(f"[load] Invalid format {format!r}.")
    if return_metadata:
        raise ValueError("[load] metadata not supported for format " + format)
    data = np.load(file)
    if isinstance(data, np.ndarray):
        return array(data)
    return {k: array(data[k]) for k in data.files}


_install_methods()

__all__ = ["ArrayLike", "asarray", "from_dlpack", "load", "save", "save_gguf",
           "save_safetensors", "savez", "savez_compressed"]
