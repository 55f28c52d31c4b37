"""Named pipelines of upstream passes (textual segments) used after mx-to-linalg."""

from __future__ import annotations

# linalg on tensors -> buffers with destination-passing results (out-params), deallocated temps.
# (CPU: mx-cpu-codegen fuses in bounded groups first, then ONE_SHOT.)
BUFFERIZE_TENSORS = (
    "eliminate-empty-tensors,"
    "one-shot-bufferize{bufferize-function-boundaries "
    "function-boundary-type-conversion=identity-layout-map},"
    # folds loop-carried buffers of tiled loops, so that the result is the alloc itself and
    # hoist-static-allocs writes into the out-param (else: alloc + 64 MB copy on W3)
    "canonicalize"
)
RESULTS_TO_OUT_PARAMS = (
    "buffer-results-to-out-params{hoist-static-allocs modify-public-functions},"
    "canonicalize,buffer-deallocation-pipeline,canonicalize"
)
# mx-distinct-results between the two: a buffer returned twice crashes the out-params pass
# (passes/results.py).
# mx-private-fills after the last CSE: a fill per destination (passes/fills.py)
ONE_SHOT = ["canonicalize,cse", "mx-private-fills", BUFFERIZE_TENSORS, "mx-distinct-results",
            RESULTS_TO_OUT_PARAMS]
BUFFERIZE = ["func.func(linalg-fuse-elementwise-ops)", *ONE_SHOT]

# buffers -> LLVM dialect (CPU).
# vector ops come from mx-cpu-codegen; rank-1 transfers after its lower_transfer
# mx-cpu-loop-hints between the loops and their lowering to branches (passes/cpu_codegen.py).
CPU_TO_LLVM = ["func.func(convert-linalg-to-loops)", "mx-cpu-loop-hints", (
    "convert-vector-to-scf{full-unroll=true target-rank=1},convert-scf-to-cf,"
    # complex64: complex.* ops to arith/math on the parts, then create/re/im to LLVM structs
    "convert-complex-to-standard,"
    "arith-expand{include-bf16=true},convert-math-to-funcs,"
    "convert-math-to-llvm,convert-math-to-libm,"
    "convert-vector-to-llvm{vector-contract-lowering=outerproduct "
    "vector-transpose-lowering=shuffle1d},"
    "expand-strided-metadata,lower-affine,finalize-memref-to-llvm,convert-complex-to-llvm,"
    "convert-arith-to-llvm,"
    "convert-index-to-llvm,convert-func-to-llvm,convert-cf-to-llvm,convert-ub-to-llvm,"
    "reconcile-unrealized-casts"
), "mx-cpu-loop-hints-to-llvm"]
