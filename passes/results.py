"""mx-distinct-results: every buffer a function returns is returned once.

A program whose outputs fold or CSE into one value (`mx.eval(x + 1, x + 1)`) bufferizes to a
function returning the same `memref.alloc` twice. Upstream `buffer-results-to-out-params
{hoist-static-allocs}` (LLVM 22.1.8) then replaces the alloc by the first out-param, erases it,
and dereferences it again for the second result: a segfault of the whole process (DESIGN.md,
"Upstream bugs" has the smallest IR). Copying each repeated result into its own buffer first costs
one copy in that rare case, and every other program is left as it is.
"""

from __future__ import annotations

from mlir import ir
from mlir.dialects import arith, memref

from .ir_utils import functions


def distinct_results(module) -> None:
    for fn in functions(module):
        for block in fn.regions[0].blocks:
            ret = block.operations[len(block.operations) - 1]
            if ret.operation.name == "func.return":
                _copy_repeats(ret)


def _copy_repeats(ret) -> None:
    seen: set = set()
    for i, value in enumerate(list(ret.operands)):
        if not isinstance(value.type, ir.MemRefType):
            continue
        if value not in seen:  # Values hash and compare by the SSA value they wrap
            seen.add(value)
            continue
        with ir.InsertionPoint(ret), ret.location:
            t = value.type
            dims = [memref.dim(value, _index(d)) for d, n in enumerate(t.shape)
                    if n == ir.ShapedType.get_dynamic_size()]
            plain = ir.MemRefType.get(t.shape, t.element_type, memory_space=t.memory_space)
            copy = memref.alloc(plain, dims, [])
            memref.copy(value, copy)
        ret.operation.operands[i] = copy


def _index(i: int):
    return arith.constant(ir.IndexType.get(), i)
