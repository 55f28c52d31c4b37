"""`mx-early-dealloc`: free each temporary buffer right after its last use.

Ownership-based buffer deallocation puts every `memref.dealloc` at the end of its block, so in
a straight-line program every intermediate lives until the function returns and the peak
memory is the sum of all of them; a gradient's backward sweep could not reuse the memory of
forward values it no longer needs, and mx.checkpoint's recomputation would only add buffers.
This pass moves each `memref.dealloc` of a function's top block to just after the last
top-level op that uses the buffer or a view of it (uses inside loops count at the loop).
A buffer with a use it cannot follow (returned, its raw pointer taken, or a result it does not
know to be a view) is left where it is. Run it before anything asynchronous (mx-cpu-parallel),
whose regions run after the op that launches them.
"""

from __future__ import annotations

from mlir import ir

from .ir_utils import functions

# ops whose memref results alias their source operand
VIEWS = ("memref.subview", "memref.collapse_shape", "memref.expand_shape",
         "memref.reinterpret_cast", "memref.cast", "memref.view", "memref.transpose")


def early_dealloc(module) -> None:
    for func in functions(module):
        block = func.regions[0].blocks[0]
        ops = [op.operation for op in block.operations]
        position = {op: i for i, op in enumerate(ops)}
        for dealloc in [op for op in ops if op.name == "memref.dealloc"]:
            last = _last_use(dealloc, func.operation, position)
            if last is not None and last < position[dealloc]:
                dealloc.move_after(ops[last])


def _last_use(dealloc, func, position: dict) -> int | None:
    """Index in the top block of the last op using the deallocated buffer (or a view of it),
    or None when some use cannot be followed."""
    buffer = dealloc.operands[0]
    owner = buffer.owner
    last = position.get(owner) if isinstance(owner, ir.Operation) else -1
    if last is None:
        return None
    pending = [buffer]
    while pending:
        value = pending.pop()
        for use in value.uses:
            user = use.owner
            if user == dealloc:
                continue
            top = _top(user, func)
            # a raw pointer (the LAPACK calls of mx.linalg) escapes: its uses cannot be followed
            if top is None or user.name in ("func.return",
                                            "memref.extract_aligned_pointer_as_index"):
                return None
            last = max(last, position[top])
            for result in user.results:
                if isinstance(result.type, ir.MemRefType):
                    if user.name not in VIEWS:
                        return None
                    pending.append(result)
    return last if last >= 0 else None


def _top(op, func):
    """The ancestor of `op` in `func`'s top block (op itself when it is there)."""
    while op is not None:
        parent = op.parent
        if parent == func:
            return op
        op = parent
    return None
