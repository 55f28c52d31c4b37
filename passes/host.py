"""The host CPU that the JIT compiles for: its vector features, read once, and the codegen
choices taken from them (mx-cpu-host pass: LLVM function attributes).

The ExecutionEngine compiles for the host CPU, but which vector width LLVM's tuning prefers
varies by CPU model and LLVM version (its Intel AVX-512 server tunings have preferred 256-bit
halves). So every function states the host's width (prefer- and min-legal-vector-width): 512 with
AVX-512, 256 with AVX2, 128 on NEON/SSE; MXIR_VECTOR_BITS overrides it (timings of the
other widths). Measured on a 2-core Sapphire Rapids VM (benchmarks/roofline.py): FMA peak
41 GFLOP/s in 8 x f32 vectors vs 103 in 16 x f32 on one core.
"""

from __future__ import annotations

import os
import platform

from mlir import ir
from mxir.schema import pool


def cpu_features() -> frozenset[str]:
    """The host's CPU feature flags (/proc/cpuinfo's `flags` on x86, `Features` on Arm);
    macOS arm64 hosts all have NEON."""
    global _FEATURES
    if _FEATURES is None:
        flags: set[str] = set()
        try:
            with open("/proc/cpuinfo") as f:
                for line in f:
                    key, _, value = line.partition(":")
                    if key.strip() in ("flags", "Features"):
                        flags = set(value.split())
                        break
        except OSError:
            pass
        if platform.machine() in ("arm64", "aarch64"):
            flags.add("asimd")
        forced = os.environ.get("MXIR_VECTOR_BITS")  # tests and timings of other widths
        if forced:
            flags.add(f"mxir_bits_{forced}")
        _FEATURES = frozenset(flags)
    return _FEATURES


_FEATURES: frozenset[str] | None = None


def vector_bits() -> int:
    """Bits of the widest f32 vector the host computes natively (MXIR_VECTOR_BITS overrides)."""
    flags = cpu_features()
    for f in flags:
        if f.startswith("mxir_bits_"):
            return int(f[len("mxir_bits_"):])
    if "avx512f" in flags:
        return 512
    if "avx2" in flags or "avx" in flags:
        return 256
    return 128


def thread_min() -> int:
    """Elements from which a large elementwise op runs in chunks on the thread pool
    (mx-cpu-codegen). Each fork and join wakes a sleeping thread, and in a virtual machine (the
    `hypervisor` flag) a wake-up is an interrupt routed through the hypervisor: on a 2-core
    KVM guest a condition-variable round trip between two threads took 30 µs, and `x * 2 + 1`
    compiled on 2^18 f32 took 117-130 µs on two threads against 53-68 µs on one (2^19: 199-210
    vs 159-173; 2^20: even; sin*cos+exp even up to 2^19, threads ahead from 2^21). Other hosts
    keep 2^18, not measured again. On mxir's own pool (runtime/pool.py, Linux), whose workers
    spin between tasks, 2^17, two chunks (cpu_codegen.CHUNK): on the same guest `sin*cos+exp`
    on 2^17 f32 took 44-48 µs on two threads against 78-91 on one, 2^18 78-107 against 160-222,
    and `x * 2 + 1` on 2^17 14-15 against 21-22 µs."""
    if pool.supported():
        return 1 << 17
    return 1 << 20 if "hypervisor" in cpu_features() else 1 << 18


def tag_host(module) -> None:
    """Every defined llvm.func asks for the host's vector width (see the module doc)."""
    bits = vector_bits()
    with module.context:
        # both: without min-legal-vector-width LLVM takes any width as legal for the
        # function, and explicit vector types then use whatever registers exist
        wanted = [ir.ArrayAttr.get([ir.StringAttr.get(k), ir.StringAttr.get(str(bits))])
                  for k in ("prefer-vector-width", "min-legal-vector-width")]
        for op in module.body.operations:
            if op.operation.name != "llvm.func" or not op.regions[0].blocks:
                continue
            attrs = op.operation.attributes
            # kept: what lowering put there (async coroutines carry "presplitcoroutine")
            old = list(ir.ArrayAttr(attrs["passthrough"])) if "passthrough" in attrs else []
            attrs["passthrough"] = ir.ArrayAttr.get(old + wanted)
