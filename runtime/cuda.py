"""CudaDevice: the Device interface of runtime/plan.py on NVIDIA GPUs, running the PTX kernels of
passes/ptx.py. Through CuPy when it imports, else through cuda-python's `cuda.bindings.driver`
(`MXIR_CUDA_API=cupy|driver` forces one). Importing this module needs neither MLIR nor CUDA: the
libraries are imported when a device is opened.

Kernel ABI (bare pointers, passes/ptx.py): a buffer argument is one 64-bit device pointer; a
scalar is passed by value in its MLIR type (index is 64-bit). Every launch goes to one stream
in order, so each kernel sees the previous one's writes; host access synchronizes first.

"gemm" plan steps (runtime/plan.py) run through cuBLAS, called through ctypes on either path (on
the launch stream, with a workspace of our own, so the calls can be captured in a CUDA graph).
The handle's math mode is CUBLAS_DEFAULT_MATH, which keeps float32 products in float32 (no TF32).

`ResidentPlan` keeps an executable's buffers on the device and replays its steps (optionally as
a CUDA graph, CuPy only): what benchmarks time, without host transfers.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import tempfile

import numpy as np
from mxir.schema.executable import ELEMENTS, Executable, decode_bytes
from mxir.schema.gemm import gemm_layout

# MLIR scalar type -> the NumPy type the PTX parameter holds
SCALARS = {"index": np.int64, "i1": np.int8, "i8": np.int8, "i16": np.int16, "i32": np.int32,
           "i64": np.int64, "f16": np.float16, "f32": np.float32, "f64": np.float64}
_CTYPES = {np.int8: ctypes.c_int8, np.int16: ctypes.c_int16, np.int32: ctypes.c_int32,
           np.int64: ctypes.c_int64, np.float32: ctypes.c_float, np.float64: ctypes.c_double,
           np.uint16: ctypes.c_uint16, np.uint64: ctypes.c_uint64}


class CudaError(RuntimeError):
    """A failed CUDA call, module load or launch."""


def _api() -> str | None:
    forced = os.environ.get("MXIR_CUDA_API")
    order = [forced] if forced else ["cupy", "driver"]
    for name in order:
        try:
            if name == "cupy":
                import cupy  # noqa: F401
            elif name == "driver":
                from cuda.bindings import driver  # noqa: F401
            else:
                raise CudaError(f"MXIR_CUDA_API={name!r}: choose cupy or driver")
            return name
        except ImportError:
            continue
    return None


def is_available() -> bool:
    """A CUDA library imports and sees at least one device."""
    try:
        api = _api()
        if api == "cupy":
            import cupy

            return cupy.cuda.runtime.getDeviceCount() > 0
        if api == "driver":
            from cuda.bindings import driver

            if driver.cuInit(0)[0] != driver.CUresult.CUDA_SUCCESS:
                return False
            err, n = driver.cuDeviceGetCount()
            return err == driver.CUresult.CUDA_SUCCESS and n > 0
    except Exception:  # noqa: BLE001 - no driver, no device: not available
        return False
    return False


class CudaBuffer:
    __slots__ = ("ptr", "nbytes", "owner")

    def __init__(self, ptr: int, nbytes: int, owner=None):
        self.ptr, self.nbytes, self.owner = int(ptr), int(nbytes), owner


def _scalar(value, mlir_type: str):
    if mlir_type not in SCALARS:
        raise CudaError(f"no PTX parameter type for a scalar of type {mlir_type}")
    if mlir_type == "f16":
        return np.float16(value).view(np.uint16)
    return SCALARS[mlir_type](value)


def _check_launch(grid, block, dispatch: str):
    if dispatch != "threadgroups":
        raise CudaError(f"dispatch {dispatch!r}: the PTX kernels count whole blocks")
    grid = tuple(int(g) for g in grid) + (1,) * (3 - len(grid))
    block = tuple(int(b) for b in block) + (1,) * (3 - len(block))
    if block[0] * block[1] * block[2] > 1024:
        raise CudaError(f"block {block} has more than 1024 threads")
    return grid, block


# -- CuPy ---------------------------------------------------------------------------------------
class _CupyApi:
    def __init__(self):
        import cupy

        self.cp = cupy
        self.stream = cupy.cuda.Stream(non_blocking=True)
        self._dir = None
        self._blas = None

    def chip(self) -> str:
        props = self.cp.cuda.runtime.getDeviceProperties(self.cp.cuda.Device().id)
        return f"sm_{props['major']}{props['minor']}"

    def allocate(self, nbytes):
        mem = self.cp.cuda.alloc(max(int(nbytes), 1))
        return CudaBuffer(mem.ptr, nbytes, mem)

    def free(self, buf):
        buf.owner = None  # back to CuPy's pool; stream order keeps pending users safe

    def upload(self, buf, array):
        self.stream.synchronize()
        buf.owner.copy_from_host(array.ctypes.data, array.nbytes)

    def download(self, buf, array):
        self.stream.synchronize()
        buf.owner.copy_to_host(array.ctypes.data, array.nbytes)

    def copy(self, src, dst, nbytes):
        dst.owner.copy_from_device_async(src.owner, nbytes, self.stream)

    def load(self, ptx: str):
        # RawModule(path=...) loads PTX through cuModuleLoad (the driver JITs it) when the first
        # function is asked for: the file must outlive this call
        if self._dir is None:
            self._dir = tempfile.mkdtemp(prefix="mxir-ptx-")
        path = os.path.join(self._dir, hashlib.sha256(ptx.encode()).hexdigest() + ".ptx")
        with open(path, "w") as f:
            f.write(ptx)
        return self.cp.RawModule(path=path)

    def function(self, module, name):
        return module.get_function(name)

    def launch(self, fn, grid, block, params):
        fn(grid, block, tuple(params), stream=self.stream)

    def synchronize(self):
        self.stream.synchronize()

    def gemm(self, element, lay, pa, pb, pc, beta):
        # cuBLAS through ctypes here too: CuPy's own binding moves the handle to CuPy's current
        # stream on every call and refuses stream capture (no CUDA graphs)
        if self._blas is None:
            self._workspace = self.cp.cuda.alloc(CUBLAS_WORKSPACE)
            self._blas = _CublasLib(self.stream.ptr, self._workspace.ptr, CUBLAS_WORKSPACE)
        self._blas.gemm(element, lay, pa, pb, pc, beta)

    def event(self):
        return self.cp.cuda.Event()

    def record(self, ev):
        ev.record(self.stream)

    def elapsed_ms(self, a, b) -> float:
        b.synchronize()
        return self.cp.cuda.get_elapsed_time(a, b)


# -- cuda.bindings.driver --------------------------------------------------------------------------
class _DriverApi:
    def __init__(self):
        from cuda.bindings import driver

        self.d = driver
        self._ok(driver.cuInit(0))
        dev = self._ok(driver.cuDeviceGet(0))
        self.dev = dev
        self.ctx = self._ok(driver.cuDevicePrimaryCtxRetain(dev))
        self._ok(driver.cuCtxSetCurrent(self.ctx))
        self.stream = self._ok(driver.cuStreamCreate(driver.CUstream_flags.CU_STREAM_NON_BLOCKING))
        self._blas = None

    def _ok(self, result):
        err, *rest = result if isinstance(result, tuple) else (result,)
        if err != self.d.CUresult.CUDA_SUCCESS:
            name = self.d.cuGetErrorName(err)[1]
            raise CudaError(f"CUDA driver call failed: {name.decode() if name else err}")
        return rest[0] if len(rest) == 1 else (tuple(rest) if rest else None)

    def chip(self) -> str:
        a = self.d.CUdevice_attribute
        major = self._ok(self.d.cuDeviceGetAttribute(
            a.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, self.dev))
        minor = self._ok(self.d.cuDeviceGetAttribute(
            a.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, self.dev))
        return f"sm_{major}{minor}"

    def allocate(self, nbytes):
        ptr = self._ok(self.d.cuMemAlloc(max(int(nbytes), 1)))
        return CudaBuffer(int(ptr), nbytes, ptr)

    def free(self, buf):
        if buf.owner is not None:
            self.synchronize()  # cuMemFree of a buffer a queued kernel still uses is unsafe
            self._ok(self.d.cuMemFree(buf.owner))
            buf.owner = None

    def upload(self, buf, array):
        self.synchronize()
        self._ok(self.d.cuMemcpyHtoD(buf.owner, array.ctypes.data, array.nbytes))

    def download(self, buf, array):
        self.synchronize()
        self._ok(self.d.cuMemcpyDtoH(array.ctypes.data, buf.owner, array.nbytes))

    def copy(self, src, dst, nbytes):
        self._ok(self.d.cuMemcpyDtoDAsync(dst.owner, src.owner, nbytes, self.stream))

    def load(self, ptx: str):
        return self._ok(self.d.cuModuleLoadData(ptx.encode() + b"\0"))

    def function(self, module, name):
        return self._ok(self.d.cuModuleGetFunction(module, name.encode()))

    def launch(self, fn, grid, block, params):
        values = [_CTYPES[type(p)](p.item()) for p in params]
        pointers = (ctypes.c_void_p * max(len(values), 1))(
            *[ctypes.addressof(v) for v in values])
        self._ok(self.d.cuLaunchKernel(fn, *grid, *block, 0, self.stream,
                                       ctypes.addressof(pointers), 0))

    def synchronize(self):
        self._ok(self.d.cuStreamSynchronize(self.stream))

    def gemm(self, element, lay, pa, pb, pc, beta):
        if self._blas is None:
            self._workspace = self._ok(self.d.cuMemAlloc(CUBLAS_WORKSPACE))
            self._blas = _CublasLib(int(self.stream), int(self._workspace), CUBLAS_WORKSPACE)
        self._blas.gemm(element, lay, pa, pb, pc, beta)

    def event(self):
        return self._ok(self.d.cuEventCreate(0))

    def record(self, ev):
        self._ok(self.d.cuEventRecord(ev, self.stream))

    def elapsed_ms(self, a, b) -> float:
        self._ok(self.d.cuEventSynchronize(b))
        return float(self._ok(self.d.cuEventElapsedTime(a, b)))


CUBLAS_DEFAULT_MATH = 0  # cublasMath_t: no TF32 for float32 products
CUBLAS_WORKSPACE = 32 << 20
_ALPHAS: dict = {}


def _scalars(element: str, beta: int):
    """Host alpha (1) and beta, kept alive: cuBLAS reads host scalars at enqueue time."""
    key = (element, int(beta))
    if key not in _ALPHAS:
        dt = ELEMENTS[element]
        _ALPHAS[key] = (np.ones(1, dt), np.full(1, beta, dt))
    return _ALPHAS[key]


def _cublas_paths() -> list[str]:
    names = ["libcublas.so.13", "libcublas.so.12", "libcublas.so"]
    out = list(names)
    import glob
    import site
    import sys

    roots = [*site.getsitepackages(), *sys.path]
    for r in roots:
        for n in names:
            out += glob.glob(os.path.join(r, "nvidia", "*", "lib", n))
            out += glob.glob(os.path.join(r, "nvidia", "cu*", "lib", n))
    return out


class _CublasLib:
    """cuBLAS through ctypes: libcublas from the system or from an NVIDIA wheel."""

    def __init__(self, stream: int, workspace: int, size: int):
        lib = None
        for path in _cublas_paths():
            try:
                lib = ctypes.CDLL(path)
                break
            except OSError:
                continue
        if lib is None:
            raise CudaError("gemm steps need cuBLAS (libcublas.so) and none was found")
        self.lib = lib
        self.handle = ctypes.c_void_p()
        self._ok(lib.cublasCreate_v2(ctypes.byref(self.handle)), "cublasCreate")
        self._ok(lib.cublasSetStream_v2(self.handle, ctypes.c_void_p(stream)), "cublasSetStream")
        self._ok(lib.cublasSetMathMode(self.handle, CUBLAS_DEFAULT_MATH), "cublasSetMathMode")
        # a workspace of our own: cuBLAS then allocates nothing inside a graph capture
        self._ok(lib.cublasSetWorkspace_v2(self.handle, ctypes.c_void_p(workspace),
                                           ctypes.c_size_t(size)), "cublasSetWorkspace")

    @staticmethod
    def _ok(status: int, what: str) -> None:
        if status != 0:
            raise CudaError(f"{what} failed with cuBLAS status {status}")

    def gemm(self, element, lay, pa, pb, pc, beta):
        alpha, beta = _scalars(element, beta)
        prefix = {"f32": "S", "f64": "D"}[element]
        i, p = ctypes.c_int, ctypes.c_void_p
        ta, tb = (i(1 if t else 0) for t in (lay["transa"], lay["transb"]))
        head = (self.handle, ta, tb, i(lay["m"]), i(lay["n"]), i(lay["k"]),
                p(alpha.ctypes.data))
        if lay["batch"] == 1:
            fn = getattr(self.lib, f"cublas{prefix}gemm_v2")
            args = head + (p(pa), i(lay["lda"]), p(pb), i(lay["ldb"]), p(beta.ctypes.data),
                           p(pc), i(lay["ldc"]))
        else:
            fn = getattr(self.lib, f"cublas{prefix}gemmStridedBatched")
            q = ctypes.c_longlong
            args = head + (p(pa), i(lay["lda"]), q(lay["stride_a"]), p(pb), i(lay["ldb"]),
                           q(lay["stride_b"]), p(beta.ctypes.data), p(pc), i(lay["ldc"]),
                           q(lay["stride_c"]), i(lay["batch"]))
        self._ok(fn(*args), f"cublas{prefix}gemm")


def gemm_call(step: dict, a, b, c):
    """(element, layout, A pointer, B pointer, C pointer, beta) of a gemm step on buffers."""
    lay = gemm_layout(step)
    if lay is None:
        raise CudaError("a gemm step cuBLAS cannot take (no unit-stride dimension)")
    if step["element"] not in ("f32", "f64"):
        raise CudaError(f"gemm on {step['element']}: cuBLAS steps take f32 and f64")
    item = np.dtype(ELEMENTS[step["element"]]).itemsize
    ptrs = {k: buf.ptr + off * item for k, buf, off in zip("abc", (a, b, c), step["offsets"])}
    return (step["element"], lay, ptrs[lay["A"]], ptrs[lay["B"]], ptrs["c"], step["beta"])


class CudaProgram:
    def __init__(self, module, source: str):
        self.module, self.source = module, source
        self.functions: dict = {}


class CudaDevice:
    name = "cuda"

    def __init__(self, api: str | None = None):
        api = api or _api()
        if api is None:
            raise CudaError("the cuda device needs CuPy or cuda-python (cuda.bindings)")
        self.api_name = api
        self.api = _CupyApi() if api == "cupy" else _DriverApi()
        self._programs: dict[str, CudaProgram] = {}

    def chip(self) -> str:
        return self.api.chip()

    def allocate(self, nbytes: int) -> CudaBuffer:
        return self.api.allocate(nbytes)

    def free(self, buf: CudaBuffer) -> None:
        self.api.free(buf)

    def upload(self, buf: CudaBuffer, array: np.ndarray) -> None:
        array = np.ascontiguousarray(array)
        if array.nbytes > buf.nbytes:
            raise CudaError(f"upload of {array.nbytes} bytes into a {buf.nbytes}-byte buffer")
        if array.nbytes:
            self.api.upload(buf, array)

    def download(self, buf: CudaBuffer, array: np.ndarray) -> None:
        if array.nbytes > buf.nbytes:
            raise CudaError(f"download of {array.nbytes} bytes from a {buf.nbytes}-byte buffer")
        if not array.flags.c_contiguous:
            raise CudaError("download needs a C-contiguous array")
        if array.nbytes:
            self.api.download(buf, array)

    def copy(self, src: CudaBuffer, dst: CudaBuffer, nbytes: int) -> None:
        if nbytes > min(src.nbytes, dst.nbytes):
            raise CudaError(f"copy of {nbytes} bytes between smaller buffers")
        if nbytes:
            self.api.copy(src, dst, nbytes)

    def compile(self, source: str, kernels=()) -> CudaProgram:
        key = hashlib.sha256(source.encode()).hexdigest()
        if key not in self._programs:
            try:
                module = self.api.load(source)
            except CudaError:
                raise
            except Exception as e:  # CuPy raises its own types: one error type for callers
                raise CudaError(f"PTX failed to load: {e}") from None
            self._programs[key] = CudaProgram(module, source)
        return self._programs[key]

    def _function(self, program: CudaProgram, name: str):
        if name not in program.functions:
            try:
                program.functions[name] = self.api.function(program.module, name)
            except CudaError:
                raise
            except Exception as e:  # noqa: BLE001
                raise CudaError(f"no kernel {name!r} in the PTX module: {e}") from None
        return program.functions[name]

    def launch(self, program: CudaProgram, kernel_name: str, grid, threadgroup, args,
               dispatch: str = "threadgroups") -> None:
        grid, block = _check_launch(grid, threadgroup, dispatch)
        if 0 in grid:
            return
        params = [np.uint64(a.ptr) if isinstance(a, CudaBuffer) else _scalar(*a) for a in args]
        self.api.launch(self._function(program, kernel_name), grid, block, params)

    def gemm(self, a: CudaBuffer, b: CudaBuffer, c: CudaBuffer, step: dict) -> None:
        self.api.gemm(*gemm_call(step, a, b, c))

    def synchronize(self) -> None:
        self.api.synchronize()


_DEVICE: CudaDevice | None = None


def open_device() -> CudaDevice:
    global _DEVICE
    if _DEVICE is None:
        _DEVICE = CudaDevice()
    return _DEVICE


class ResidentPlan:
    """An executable with all its buffers on the device (temporaries included, allocated once):
    `run()` replays the steps; `read_outputs()` downloads. For timing kernels alone."""

    def __init__(self, exe: Executable, device: CudaDevice, inputs: list[np.ndarray]):
        self.exe, self.device = exe, device
        plan = exe.plan
        self.bufs = {b["id"]: device.allocate(b["nbytes"]) for b in plan["buffers"]}
        for bid, array in zip(plan["inputs"], inputs):
            device.upload(self.bufs[bid], np.ascontiguousarray(array))
        for key, c in plan.get("constants", {}).items():
            device.upload(self.bufs[int(key)], decode_bytes(c["data"], c["element"]))
        programs = {}
        for k in exe.kernels:
            programs[k.name] = device.compile(k.source, [k])
        self.calls = []
        for step in plan["steps"]:
            if step["op"] == "launch":
                prog = programs[step["kernel"]]
                fn = device._function(prog, step["kernel"])
                grid, block = _check_launch(step["grid"], step["threadgroup"],
                                            step.get("dispatch", "threadgroups"))
                params = [np.uint64(self.bufs[a["buffer"]].ptr) if "buffer" in a
                          else _scalar(a["scalar"], a["type"]) for a in step["args"]]
                if 0 not in grid:
                    self.calls.append(("launch", fn, grid, block, params))
            elif step["op"] == "copy":
                self.calls.append(("copy", self.bufs[step["src"]], self.bufs[step["dst"]],
                                   step["nbytes"]))
            elif step["op"] == "gemm":
                self.calls.append(("gemm", *gemm_call(step, *(self.bufs[step[k]]
                                                              for k in "abc"))))
        self.graph = None

    def run(self) -> None:
        if self.graph is not None:
            self.graph.launch(self.device.api.stream)
            return
        api = self.device.api
        for call in self.calls:
            if call[0] == "launch":
                api.launch(*call[1:])
            elif call[0] == "gemm":
                api.gemm(*call[1:])
            elif call[3]:
                api.copy(*call[1:])

    def capture(self) -> bool:
        """Capture the steps as a CUDA graph (CuPy only); False when not possible."""
        if self.device.api_name != "cupy":
            return False
        stream = self.device.api.stream
        with stream:
            stream.begin_capture()
            try:
                self.run()
            finally:
                self.graph = stream.end_capture()
        return True

    def profile(self, repeat: int = 10) -> list[tuple[str, float]]:
        """(step description, median ms) per step, each timed alone with events."""
        api = self.device.api
        self.run()
        api.synchronize()
        out = []
        for call in self.calls:
            ts = []
            for _ in range(repeat):
                a, b = api.event(), api.event()
                api.record(a)
                if call[0] == "launch":
                    api.launch(*call[1:])
                elif call[0] == "gemm":
                    api.gemm(*call[1:])
                else:
                    api.copy(*call[1:])
                api.record(b)
                ts.append(api.elapsed_ms(a, b))
            what = (f"launch grid {call[2]} block {call[3]}" if call[0] == "launch" else
                    f"gemm {call[2]['m']}x{call[2]['n']}x{call[2]['k']}" if call[0] == "gemm"
                    else f"copy {call[3]} B")
            out.append((what, sorted(ts)[len(ts) // 2]))
        return out

    def read_outputs(self, outputs: list[np.ndarray]) -> None:
        self.device.synchronize()
        for bid, array in zip(self.exe.plan["outputs"], outputs):
            self.device.download(self.bufs[bid], array)

    def time_ms(self, repeat: int = 20, warmup: int = 3, inner: int = 1) -> list[float]:
        """Per-run milliseconds, each from device events around `inner` runs."""
        api = self.device.api
        for _ in range(warmup):
            self.run()
        api.synchronize()
        out = []
        for _ in range(repeat):
            a, b = api.event(), api.event()
            api.record(a)
            for _ in range(inner):
                self.run()
            api.record(b)
            out.append(api.elapsed_ms(a, b) / inner)
        return out

    def close(self) -> None:
        self.device.synchronize()
        for buf in self.bufs.values():
            self.device.free(buf)
        self.bufs = {}
