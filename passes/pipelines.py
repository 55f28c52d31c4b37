"""Named pipelines of upstream passes (textual segments) used after mx-to-linalg."""

from __future__ import annotations

# linalg on tensors -> buffers with destination-passing results (out-params), deallocated temps.
BUFFERIZE = (
    "func.func(linalg-fuse-elementwise-ops),canonicalize,cse,"
    "eliminate-empty-tensors,"
    "one-shot-bufferize{bufferize-function-boundaries "
    "function-boundary-type-conversion=identity-layout-map},"
    "buffer-results-to-out-params{hoist-static-allocs modify-public-functions},"
    "canonicalize,buffer-deallocation-pipeline,canonicalize"
)

# buffers -> LLVM dialect (CPU).
CPU_TO_LLVM = (
    "func.func(convert-linalg-to-loops),convert-scf-to-cf,"
    "arith-expand{include-bf16=true},convert-math-to-funcs,"
    "convert-math-to-llvm,convert-math-to-libm,"
    "expand-strided-metadata,lower-affine,finalize-memref-to-llvm,convert-arith-to-llvm,"
    "convert-index-to-llvm,convert-func-to-llvm,convert-cf-to-llvm,convert-ub-to-llvm,"
    "reconcile-unrealized-casts"
)
