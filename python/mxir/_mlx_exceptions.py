"""The public names of `mlx.core` (0.32) that mxir does not have, each with the reason.

tests/unit/test_mlx_names.py enumerates MLX's names (`dir(mlx.core)` and of each public
submodule) and fails on a name that is neither in mxir (same submodule) nor listed here, and on
a name listed here that mxir has after all (a stale entry). Keys are dotted paths below
`mlx.core`: "distributed" (a whole submodule: its members are covered by it), "metal.start_capture".
Reasons starting with "in progress:" name the branch of issue 12 that adds the name.
"""

from __future__ import annotations

_QQ = ("not yet: quantizes both operands in the floating-point modes (nvfp4, mxfp8), which "
       "mxir's quantize (affine mode only) does not have")

MISSING: dict[str, str] = {
    # -- other branches of issue 12
    **{n: ("not yet: a user's own kernel source (MSL or CUDA) spliced into the program; mxir "
           "generates its kernels from IR and has no op that carries foreign source")
       for n in ("fast.metal_kernel", "fast.cuda_kernel", "fast.precompiled_cuda_kernel")},
    "fast.gated_delta_update": "not yet: the gated delta-rule recurrence (a scan over time)",
    # -- not in mxir, with the reason
    "distributed": (
        "needs a real multi-process collective engine: MLX's backends are MPI, its ring (TCP) "
        "backend, JACCL (RDMA over Thunderbolt) and NCCL; mxir would serve it with MPI through "
        "mpi4py or NCCL through cuda-bindings, plus all_sum/all_gather/send/recv ops whose vjp "
        "rules are the transposed collectives"),
    "metal.start_capture": (
        "a Metal GPU trace (MTLCaptureManager) for Xcode; mxir's Metal runtime has no capture "
        "hook yet and on Linux there is no Metal device to capture"),
    "metal.stop_capture": "see metal.start_capture",
    **{n: _QQ for n in ("qqmm", "gather_qqmm")},
}
