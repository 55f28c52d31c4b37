"""The public names of `mlx.core` (0.32) that mxir does not have, each with the reason.

tests/unit/test_mlx_names.py enumerates MLX's names (`dir(mlx.core)` and of each public
submodule) and fails on a name that is neither in mxir (same submodule) nor listed here, and on
a name listed here that mxir has after all (a stale entry). Keys are dotted paths below
`mlx.core`: "fft" (a whole submodule: its members are covered by it), "metal.start_capture".
Reasons starting with "in progress:" name the branch of issue 12 that adds the name.

`PARTIAL` lists names that mxir has with only part of MLX's semantics, each with what is
missing (the test checks that they are present).
"""

from __future__ import annotations

MISSING: dict[str, str] = {
    **{n: ("not yet: a user's CUDA kernel source; mxir's mx.metal_kernel op runs user MSL "
           "through a host call of CPU programs (Metal or metal-sim), and has no CUDA "
           "counterpart (NVRTC compilation, a launch through the CUDA runtime)")
       for n in ("fast.cuda_kernel", "fast.precompiled_cuda_kernel")},
    # -- not in mxir, with the reason
    "metal.start_capture": (
        "a Metal GPU trace (MTLCaptureManager) for Xcode; mxir's Metal runtime has no capture "
        "hook yet and on Linux there is no Metal device to capture"),
    "metal.stop_capture": "see metal.start_capture",
}

PARTIAL: dict[str, str] = {
    "distributed": (
        "the singleton group only (what MLX gives a process without a configured backend: "
        "collectives return their input, send/recv refuse); multi-process groups need a real "
        "collective engine: MLX's backends are MPI, its ring (TCP) backend, JACCL (RDMA over "
        "Thunderbolt) and NCCL; mxir would serve them with MPI through mpi4py or NCCL through "
        "cuda-bindings, plus all_sum/all_gather/send/recv ops whose vjp rules are the "
        "transposed collectives"),
}
