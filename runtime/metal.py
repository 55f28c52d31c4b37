"""MetalDevice: the Device interface of runtime/plan.py on Apple GPUs, through PyObjC
(`pip install pyobjc-framework-Metal`). Untested on Apple hardware: written against the Metal API
and checked only for importing on Linux; metal-sim (runtime/metal_sim) runs the same MSL here.

Launches are encoded into one command buffer (a serial compute encoder, so each dispatch sees
the previous one's writes) and committed at `synchronize`, which the plan interpreter calls once
at the end of a plan; host access to a buffer (upload, download) synchronizes first.
"""

from __future__ import annotations

import hashlib
import sys

import numpy as np

# MSL scalar type -> its NumPy layout (a scalar argument is passed as the bytes of its value)
_MSL_SCALARS = {"bool": np.uint8, "char": np.int8, "uchar": np.uint8, "short": np.int16,
                "ushort": np.uint16, "int": np.int32, "uint": np.uint32, "long": np.int64,
                "ulong": np.uint64, "half": np.float16, "float": np.float32}


class MetalError(RuntimeError):
    """A Metal compile error (with the compiler's log) or a failed command buffer."""


def is_available() -> bool:
    if sys.platform != "darwin":
        return False
    try:
        import Metal
    except ImportError:
        return False
    return Metal.MTLCreateSystemDefaultDevice() is not None


class MetalBuffer:
    __slots__ = ("buffer", "nbytes")

    def __init__(self, buffer, nbytes: int):
        self.buffer = buffer
        self.nbytes = nbytes

    def view(self) -> np.ndarray:
        if self.nbytes == 0:
            return np.empty(0, np.uint8)
        return np.frombuffer(self.buffer.contents().as_buffer(self.nbytes), np.uint8)


class MetalProgram:
    def __init__(self, library, source: str, kernels):
        self.library = library
        self.source = source
        self.pipelines: dict = {}
        self.args = {k.name: k.args for k in kernels}  # as the translator declared them


class MetalDevice:
    name = "metal"

    def __init__(self):
        try:
            import Metal  # only here: importing this module must work on Linux
        except ImportError:
            raise MetalError("the metal device needs macOS and pyobjc-framework-Metal") from None

        self._metal = Metal
        self.device = Metal.MTLCreateSystemDefaultDevice()
        if self.device is None:
            raise MetalError("no Metal device")
        self.queue = self.device.newCommandQueue()
        self._programs: dict[str, MetalProgram] = {}
        self._commands = None
        self._encoder = None

    # memory
    def allocate(self, nbytes: int) -> MetalBuffer:
        buf = self.device.newBufferWithLength_options_(
            max(int(nbytes), 1), self._metal.MTLResourceStorageModeShared)
        if buf is None:
            raise MetalError(f"cannot allocate a buffer of {nbytes} bytes")
        return MetalBuffer(buf, int(nbytes))

    def free(self, buf: MetalBuffer) -> None:
        buf.buffer = None  # a pending command buffer retains what it uses

    def upload(self, buf: MetalBuffer, array: np.ndarray) -> None:
        self.synchronize()
        src = np.ascontiguousarray(array).reshape(-1).view(np.uint8)
        if src.size > buf.nbytes:
            raise MetalError(f"upload of {src.size} bytes into a {buf.nbytes}-byte buffer")
        buf.view()[:src.size] = src

    def download(self, buf: MetalBuffer, array: np.ndarray) -> None:
        self.synchronize()
        if array.nbytes > buf.nbytes:
            raise MetalError(f"download of {array.nbytes} bytes from a {buf.nbytes}-byte buffer")
        array.reshape(-1).view(np.uint8)[:] = buf.view()[:array.nbytes]

    def copy(self, src: MetalBuffer, dst: MetalBuffer, nbytes: int) -> None:
        if nbytes == 0:
            return
        self._end_compute()
        blit = self._command_buffer().blitCommandEncoder()
        blit.copyFromBuffer_sourceOffset_toBuffer_destinationOffset_size_(
            src.buffer, 0, dst.buffer, 0, int(nbytes))
        blit.endEncoding()

    # programs
    def compile(self, source: str, kernels=()) -> MetalProgram:
        key = hashlib.sha256(source.encode()).hexdigest()
        if key not in self._programs:
            options = self._metal.MTLCompileOptions.new()
            # Tests compare against NumPy: no fast math (isnan, ordered compares must hold).
            if hasattr(options, "setMathMode_"):
                options.setMathMode_(self._metal.MTLMathModeSafe)
            else:
                options.setFastMathEnabled_(False)
            library, error = self.device.newLibraryWithSource_options_error_(
                source, options, None)
            if library is None:
                raise MetalError(f"MSL failed to compile:\n{_describe(error)}")
            self._programs[key] = MetalProgram(library, source, kernels)
        return self._programs[key]

    def _pipeline(self, program: MetalProgram, name: str):
        if name not in program.pipelines:
            function = program.library.newFunctionWithName_(name)
            if function is None:
                names = ", ".join(sorted(program.library.functionNames()))
                raise MetalError(f"no kernel {name!r} in the library (it has {names})")
            pipeline, error = self.device.newComputePipelineStateWithFunction_error_(
                function, None)
            if pipeline is None:
                raise MetalError(f"kernel {name}: pipeline creation failed:\n"
                                 f"{_describe(error)}")
            program.pipelines[name] = pipeline
        return program.pipelines[name]

    def launch(self, program: MetalProgram, kernel_name: str, grid, threadgroup, args,
               dispatch: str = "threadgroups") -> None:
        pipeline = self._pipeline(program, kernel_name)
        grid = tuple(int(x) for x in grid) + (1,) * (3 - len(grid))
        tg = tuple(int(x) for x in threadgroup) + (1,) * (3 - len(threadgroup))
        limit = pipeline.maxTotalThreadsPerThreadgroup()
        if tg[0] * tg[1] * tg[2] > limit:
            raise MetalError(f"kernel {kernel_name}: threadgroup {tg} exceeds the pipeline's "
                             f"{limit} threads")
        if 0 in grid:
            return
        declared = program.args.get(kernel_name)
        enc = self._compute_encoder()
        enc.setComputePipelineState_(pipeline)
        for index, arg in enumerate(args):
            offset = 0
            if isinstance(arg, tuple) and arg and isinstance(arg[0], MetalBuffer):
                arg, offset = arg
            if isinstance(arg, MetalBuffer):
                enc.setBuffer_offset_atIndex_(arg.buffer, int(offset), index)
                continue
            value = arg[0] if isinstance(arg, tuple) else arg  # (value, MLIR type)
            data = scalar_bytes(declared, index, value, kernel_name)
            enc.setBytes_length_atIndex_(data, len(data), index)
        size = self._metal.MTLSizeMake
        if dispatch == "threads":
            enc.dispatchThreads_threadsPerThreadgroup_(size(*grid), size(*tg))
        elif dispatch == "threadgroups":
            enc.dispatchThreadgroups_threadsPerThreadgroup_(size(*grid), size(*tg))
        else:
            raise MetalError(f"dispatch must be 'threads' or 'threadgroups', got {dispatch!r}")

    def synchronize(self) -> None:
        if self._commands is None:
            return
        self._end_compute()
        commands, self._commands = self._commands, None
        commands.commit()
        commands.waitUntilCompleted()
        if commands.status() == self._metal.MTLCommandBufferStatusError:
            raise MetalError(f"command buffer failed: {_describe(commands.error())}")

    # encoding
    def _command_buffer(self):
        if self._commands is None:
            self._commands = self.queue.commandBuffer()
        return self._commands

    def _compute_encoder(self):
        if self._encoder is None:
            self._encoder = self._command_buffer().computeCommandEncoder()
        return self._encoder

    def _end_compute(self) -> None:
        if self._encoder is not None:
            self._encoder.endEncoding()
            self._encoder = None


def scalar_bytes(declared: list[dict] | None, index: int, value, kernel_name: str) -> bytes:
    """The bytes of scalar argument `index`, typed as the kernel declares it (`msl_type` of
    the executable's kernel args, from the MSL translator)."""
    msl_type = declared[index].get("msl_type") if declared and index < len(declared) else None
    if msl_type not in _MSL_SCALARS:
        raise MetalError(f"kernel {kernel_name}: scalar argument {index} has no declared type "
                         f"Metal can pass ({msl_type!r})")
    return np.asarray(value).astype(_MSL_SCALARS[msl_type]).tobytes()


def _describe(error) -> str:
    return "unknown error" if error is None else str(error.localizedDescription())


_device: list[MetalDevice] = []


def open_device() -> MetalDevice:
    """The process's Metal device (the system default GPU)."""
    if not _device:
        _device.append(MetalDevice())
    return _device[0]
