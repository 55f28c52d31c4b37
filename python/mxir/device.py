"""Devices and streams as in MLX: `mx.cpu`, `mx.gpu`, `mx.Device`, `mx.Stream`, the defaults,
`mx.stream(...)` and `mx.synchronize()`.

Evaluation runs on the default device. Only the CPU backend exists so far: choosing the GPU is
allowed (so code that selects it runs), and `check_device()` — called once per evaluation —
refuses to compute there with a RuntimeError that names the backends that do exist.
"""

from __future__ import annotations

import contextlib
import enum
import itertools


class DeviceType(enum.Enum):
    cpu = 0
    gpu = 1

    def __repr__(self) -> str:
        return f"DeviceType.{self.name}"

    __str__ = __repr__


cpu = DeviceType.cpu
gpu = DeviceType.gpu

# Device types with a backend that can evaluate arrays, and what runs them.
BACKENDS = {DeviceType.cpu: "cpu (LLVM JIT)"}


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


def new_stream(device) -> Stream:
    return Stream._make(_device(device), next(_stream_ids))


default_stream(_default_device)  # the cpu stream is stream 0, as in MLX's CPU build


@contextlib.contextmanager
def stream(s):
    """Make `s` (a Stream, Device or DeviceType) the default inside a `with` block."""
    s = s if isinstance(s, Stream) else default_stream(s)
    saved_device, saved_stream = _default_device, default_stream(s.device)
    set_default_device(s.device)
    set_default_stream(s)
    try:
        yield s
    finally:
        set_default_device(saved_device)
        set_default_stream(saved_stream)


def synchronize(stream: Stream | None = None) -> None:
    """Wait for the work on `stream` (default: the default stream) to finish. Evaluation is
    synchronous on every backend mxir has so far, so there is never anything to wait for."""
    if stream is not None and not isinstance(stream, Stream):
        raise TypeError(f"synchronize(): expected a Stream, got {type(stream).__name__}")


def is_available(device) -> bool:
    return _device(device).type in BACKENDS


def check_device(device: Device | None = None) -> None:
    """Raise unless arrays can be evaluated on `device` (default: the default device)."""
    d = _default_device if device is None else _device(device)
    if d.type not in BACKENDS:
        names = ", ".join(BACKENDS.values())
        raise RuntimeError(f"[eval] Cannot evaluate on {d!r}: mxir has no {d.type.name} backend "
                           f"yet. Available backends: {names}. Use "
                           "mx.set_default_device(mx.cpu).")


__all__ = ["Device", "DeviceType", "Stream", "cpu", "default_device", "default_stream", "gpu",
           "is_available", "new_stream", "set_default_device", "set_default_stream", "stream",
           "synchronize"]
