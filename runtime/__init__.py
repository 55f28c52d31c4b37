"""Devices that run compiled `mx` programs: cpu (LLVM JIT)."""
