"""Devices and streams as in MLX: `mx.cpu`, `mx.gpu`, `mx.Device`, `mx.Stream`, the defaults,
`mx.stream(...)` and `mx.synchronize()`.

Evaluation runs on the default device. The CPU backend always exists; the GPU backend is the
one `MXIR_GPU_BACKEND` names (`metal`, or `metal-sim`, which runs the same Metal kernels on any
OS), by default `metal` on macOS and none elsewhere. `check_device()` — called once per
evaluation — refuses a device without a backend with a RuntimeError that names those that exist;
`target()` says which backend evaluates.
"""

from __future__ import annotations

import enum
import itertools
import os
import sys
import threading


class DeviceType(enum.Enum):
    cpu = 0
    gpu = 1

    def __repr__(self) -> str:
        return f"DeviceType.{self.name}"

    __str__ = __repr__


cpu = DeviceType.cpu
gpu = DeviceType.gpu

# Device types with a backend that can evaluate arrays, and what runs them (the GPU entry is
# added by `available_backends` when a GPU backend is selected and usable).
BACKENDS = {DeviceType.cpu: "cpu (LLVM JIT)"}
# GPU backend name -> (runtime module with open_device() / is_available(), description).
GPU_BACKENDS = {
    "metal": ("mxir.runtime.metal", "gpu (Metal)"),
    "metal-sim": ("mxir.runtime.metal_sim", "gpu (metal-sim: Metal kernels simulated on the CPU)"),
    "cuda": ("mxir.runtime.cuda", "gpu (CUDA: PTX kernels)"),
}
_usable: dict[str, bool] = {}


def gpu_backend() -> str | None:
    """The selected GPU backend's name, or None (MXIR_GPU_BACKEND; default metal on macOS)."""
    name = os.environ.get("MXIR_GPU_BACKEND") or ("metal" if sys.platform == "darwin" else None)
    if name is not None and name not in GPU_BACKENDS:
        raise RuntimeError(f"MXIR_GPU_BACKEND={name!r} is not a GPU backend; choose one of "
                           + ", ".join(sorted(GPU_BACKENDS)))
    return name


def _gpu_usable(name: str) -> bool:
    if name not in _usable:
        import importlib

        try:
            _usable[name] = bool(importlib.import_module(GPU_BACKENDS[name][0]).is_available())
        except ImportError:
            _usable[name] = False
    return _usable[name]


def available_backends() -> dict:
    out = dict(BACKENDS)
    name = gpu_backend()
    if name is not None and _gpu_usable(name):
        out[DeviceType.gpu] = GPU_BACKENDS[name][1]
    return out


def target(device=None) -> str:
    """What evaluates on `device` (default: the default device): "cpu" or a GPU backend name."""
    d = _default_device if device is None else _device(device)
    return "cpu" if d.type == DeviceType.cpu else gpu_backend() or "cpu"


def open_gpu(name: str):
    """The runtime Device of GPU backend `name` (runtime/plan.py describes the interface)."""
    import importlib

    return importlib.import_module(GPU_BACKENDS[name][0]).open_device()


class Device:
    """A device: a type and an index (`Device(cpu, 0)`)."""

    __slots__ = ("type", "index")

    def __init__(self, type: DeviceType, index: int = 0):  # noqa: A002  (MLX's name)
        if not isinstance(type, DeviceType):
            raise TypeError(f"Device(): expected a DeviceType, got {type!r}")
        self.type = type
        self.index = int(index)

    def __repr__(self) -> str:
        return f"Device({self.type.name}, {self.index})"

    def __eq__(self, other) -> bool:
        if isinstance(other, DeviceType):  # MLX converts a DeviceType to Device(type, 0)
            other = Device(other)
        return isinstance(other, Device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))


def _device(d) -> Device:
    if isinstance(d, Device):
        return d
    if isinstance(d, DeviceType):
        return Device(d)
    raise TypeError(f"expected a Device or DeviceType, got {type(d).__name__}")


class Stream:
    """A stream of work on a device (`Stream(Device(cpu, 0), 0)`). Made by `new_stream` and
    `default_stream`; as in MLX, there is no public constructor."""

    __slots__ = ("device", "index")

    def __init__(self, *args, **kwargs):
        raise TypeError("mxir.Stream: no constructor defined!")

    @classmethod
    def _make(cls, device: Device, index: int) -> Stream:
        s = cls.__new__(cls)
        s.device, s.index = device, index
        return s

    def __repr__(self) -> str:
        return f"Stream({self.device!r}, {self.index})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Stream) and (self.device, self.index) == (other.device,
                                                                           other.index)

    def __hash__(self) -> int:
        return hash((self.device, self.index))


_stream_ids = itertools.count()
_default_device = Device(DeviceType.cpu)
_default_streams: dict[Device, Stream] = {}


def default_device() -> Device:
    return _default_device


def set_default_device(device) -> None:
    global _default_device
    _default_device = _device(device)


def default_stream(device) -> Stream:
    d = _device(device)
    if d not in _default_streams:
        _default_streams[d] = Stream._make(d, next(_stream_ids))
    return _default_streams[d]


def set_default_stream(stream: Stream) -> None:
    if not isinstance(stream, Stream):
        raise TypeError(f"set_default_stream(): expected a Stream, got {type(stream).__name__}")
    _default_streams[stream.device] = stream


# The streams `new_stream` made, and the thread each belongs to (None once cleared): as in MLX,
# such a stream runs work only in its own thread until `clear_streams` there. The default
# streams and thread-unsafe streams are not in it: every thread may use them.
_owner: dict[Stream, int | None] = {}


def new_stream(device) -> Stream:
    """A new stream on `device` for this thread."""
    s = Stream._make(_device(device), next(_stream_ids))
    _owner[s] = threading.get_ident()
    return s


def new_thread_unsafe_stream(device) -> Stream:
    """A new stream on `device` that every thread may use and `clear_streams` leaves alone."""
    return Stream._make(_device(device), next(_stream_ids))


def clear_streams() -> None:
    """Destroy the streams `new_stream` made in this thread (a thread-local stream's stream here
    too): as in MLX they can still be named, and evaluating on one raises. Unlike MLX, where a
    thread's default stream is destroyed too once used, the default streams stay usable."""
    me = threading.get_ident()
    for s, thread in _owner.items():
        if thread == me:
            _owner[s] = None


def _check_usable(s: Stream) -> None:
    if s in _owner and _owner[s] != threading.get_ident():
        raise RuntimeError(f"There is no Stream({s.device.type.name}, {s.index}) in current "
                           "thread.")


default_stream(_default_device)  # the cpu stream is stream 0, as in MLX's CPU build


class ThreadLocalStream:
    """A stream that is a different Stream on each thread (made on first use there), as
    `new_thread_local_stream` makes; accepted wherever a stream is."""

    __slots__ = ("device", "index", "_local")

    def __init__(self, device: Device, index: int):
        self.device, self.index = device, index
        self._local = threading.local()

    def resolve(self) -> Stream:
        """This thread's stream."""
        s = getattr(self._local, "stream", None)
        if s is None:
            s = self._local.stream = new_stream(self.device)
        return s

    def __repr__(self) -> str:
        return f"ThreadLocalStream({self.device!r}, {self.index})"


_thread_local_ids = itertools.count()


def new_thread_local_stream(device) -> ThreadLocalStream:
    return ThreadLocalStream(_device(device), next(_thread_local_ids))


class StreamContext:
    """Makes `s` (a Stream, Device or DeviceType) the default inside a `with` block; restores
    the previous default device and stream on exit (`mx.stream(s)` returns one)."""

    def __init__(self, s):
        self._stream = s if isinstance(s, (Stream, ThreadLocalStream)) else default_stream(s)
        self._saved: list[tuple[Device, Stream]] = []

    def __enter__(self) -> None:
        s = self._stream.resolve() if isinstance(self._stream, ThreadLocalStream) else (
            self._stream)
        self._saved.append((_default_device, default_stream(s.device)))
        set_default_device(s.device)
        set_default_stream(s)

    def __exit__(self, *exc) -> None:
        device, saved = self._saved.pop()
        set_default_device(device)
        set_default_stream(saved)


def stream(s) -> StreamContext:
    """Make `s` (a Stream, Device or DeviceType) the default inside a `with` block."""
    return StreamContext(s)


def synchronize(stream: Stream | None = None) -> None:
    """Wait for the work on `stream` (default: the default stream) to finish. Evaluation is
    synchronous on every backend mxir has so far, so there is never anything to wait for."""
    if stream is not None and not isinstance(stream, Stream):
        raise TypeError(f"synchronize(): expected a Stream, got {type(stream).__name__}")


def is_available(device) -> bool:
    return _device(device).type in available_backends()


def check_device(device: Device | None = None) -> None:
    """Raise unless arrays can be evaluated on `device` (default: the default device)."""
    d = _default_device if device is None else _device(device)
    if _owner:
        _check_usable(default_stream(d))
    if d.type == DeviceType.cpu:
        return
    backends = available_backends()
    if d.type not in backends:
        names = ", ".join(backends.values())
        chosen = gpu_backend()
        why = (f"the {chosen} backend is not usable on this machine" if chosen else
               "set MXIR_GPU_BACKEND=metal-sim to run Metal kernels on the CPU")
        raise RuntimeError(f"[eval] Cannot evaluate on {d!r}: mxir has no {d.type.name} backend "
                           f"here ({why}). Available backends: {names}. Use "
                           "mx.set_default_device(mx.cpu).")


__all__ = ["Device", "DeviceType", "Stream", "StreamContext", "ThreadLocalStream", "clear_streams",
           "cpu", "default_device", "default_stream", "gpu", "is_available", "new_stream",
           "new_thread_local_stream", "new_thread_unsafe_stream", "set_default_device",
           "set_default_stream", "stream", "synchronize"]
