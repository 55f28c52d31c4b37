"""metal-sim: runs Metal Shading Language kernels on any OS by compiling them as C++ against a
Metal shim, each GPU thread a fiber so barriers and SIMD-group functions are exact."""

from .compiler import MetalSimError, Program, compile_msl
from .device import MetalSimDevice, SimBuffer, is_available, open_device

__all__ = ["MetalSimDevice", "MetalSimError", "Program", "SimBuffer", "compile_msl",
           "is_available", "open_device"]
