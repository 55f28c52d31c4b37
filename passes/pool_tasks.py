"""Work for mxir's thread pool (runtime/pool.py; the contract is schema/pool.py): code outlined
into a task function `(table, i)` and a call `mxir_pool_run(task, table, n)` in its place.

The table holds what the task needs from its caller, one i64 word per scalar (index, integers,
floats by their bits) and per memref field (aligned pointer, offset, sizes, strides), on the
caller's stack. A memref is rebuilt in the task as its LLVM descriptor, cast to the memref type:
the memref-to-LLVM lowering's own cast back folds it away. Constants are cloned, not passed.
"""

from __future__ import annotations

from mlir import ir
from mlir.dialects import arith, builtin, func, llvm, memref
from mxir.schema import pool

from .ir_utils import call_external

_CONSTANTS = ("arith.constant", "ub.poison", "llvm.mlir.constant", "llvm.mlir.zero")


def _i64():
    return ir.IntegerType.get_signless(64)


def _words(t) -> int | None:
    """How many i64 words carry a value of type `t` (None: a type the table can't carry)."""
    if isinstance(t, ir.IndexType):
        return 1
    if isinstance(t, ir.IntegerType) and t.width <= 64:
        return 1
    if isinstance(t, (ir.F16Type, ir.BF16Type, ir.F32Type, ir.F64Type)):
        return 1
    if isinstance(t, ir.MemRefType) and t.memory_space is None:
        return 2 + 2 * t.rank
    return None


def _encode(value) -> list:
    """The words of `value`, emitted at the insertion point."""
    t, i64 = value.type, _i64()
    if isinstance(t, ir.IndexType):
        return [arith.index_cast(i64, value)]
    if isinstance(t, ir.IntegerType):
        return [value if t.width == 64 else arith.extui(i64, value)]
    if isinstance(t, ir.MemRefType):
        meta = memref.ExtractStridedMetadataOp(value).results
        fields = [memref.extract_aligned_pointer_as_index(value), *list(meta)[1:]]
        return [arith.index_cast(i64, f) for f in fields]
    width = {ir.F64Type: 64, ir.F32Type: 32}.get(type(t), 16)
    bits = arith.bitcast(ir.IntegerType.get_signless(width), value)
    return [bits if width == 64 else arith.extui(i64, bits)]


def _decode(t, words: list):
    """The value of type `t` from its words, emitted at the insertion point."""
    if isinstance(t, ir.IndexType):
        return arith.index_cast(t, words[0])
    if isinstance(t, ir.IntegerType):
        return words[0] if t.width == 64 else arith.trunci(t, words[0])
    if isinstance(t, ir.MemRefType):
        ptr = llvm.PointerType.get()
        rank = t.rank
        arrays = f", array<{rank} x i64>, array<{rank} x i64>" if rank else ""
        desc = llvm.mlir_undef(ir.Type.parse(f"!llvm.struct<(ptr, ptr, i64{arrays})>"))
        base = llvm.inttoptr(ptr, words[0])
        desc = llvm.insertvalue(desc, base, [0])
        desc = llvm.insertvalue(desc, base, [1])
        desc = llvm.insertvalue(desc, words[1], [2])
        for j in range(rank):
            desc = llvm.insertvalue(desc, words[2 + j], [3, j])
            desc = llvm.insertvalue(desc, words[2 + rank + j], [4, j])
        return builtin.unrealized_conversion_cast([t], [desc])
    width = {ir.F64Type: 64, ir.F32Type: 32}.get(type(t), 16)
    bits = words[0] if width == 64 else arith.trunci(ir.IntegerType.get_signless(width),
                                                     words[0])
    return arith.bitcast(t, bits)


def _slot(table_address, j: int):
    """The j-th word of the table at `table_address` (an i64), as a pointer."""
    return llvm.inttoptr(llvm.PointerType.get(),
                         arith.addi(table_address, arith.constant(_i64(), 8 * j)))


def task_function(module, name_hint: str):
    """A new private function `(table: !llvm.ptr, i: index)` at the end of `module`; its entry
    block and its signature."""
    index, ptr = ir.IndexType.get(), llvm.PointerType.get()
    signature = ir.FunctionType.get([ptr, index], [])
    table = ir.SymbolTable(module.operation)
    number = 0
    while f"{name_hint}{number}" in table:
        number += 1
    with ir.InsertionPoint(module.body):
        fn = func.FuncOp(f"{name_hint}{number}", signature)
    fn.attributes["sym_visibility"] = ir.StringAttr.get("private")
    return fn, fn.add_entry_block(), signature


def load_values(entry, types) -> list:
    """In a task's entry block (at the insertion point): its table's words back as values of
    `types`, in the order `call_pool` stored them."""
    start = llvm.ptrtoint(_i64(), entry.arguments[0])
    values, j = [], 0
    for t in types:
        n = _words(t)
        words = [llvm.load(_i64(), _slot(start, j + k)) for k in range(n)]
        values.append(_decode(t, words))
        j += n
    return values


def call_pool(module, fn, signature, values, count, declared: set[str]) -> None:
    """At the insertion point: `values` stored in a table on the stack and `fn` run on the
    pool for i in [0, count) (`count` an index value)."""
    words = [w for v in values for w in _encode(v)]
    ptr = llvm.PointerType.get()
    # the table on the stack of the function, or of a parallel loop's iteration (which may run
    # beside others): not in a sequential loop, where each trip would grow the stack
    block = ir.InsertionPoint.current.block
    while block.owner.operation.name not in ("func.func", "scf.forall", "scf.parallel"):
        block = block.owner.operation.block
    with ir.InsertionPoint.at_block_begin(block):
        table = llvm.alloca(ptr, arith.constant(_i64(), max(1, len(words))), _i64(),
                            alignment=8)
    start = llvm.ptrtoint(_i64(), table)
    for j, w in enumerate(words):
        llvm.store(w, _slot(start, j))
    name = ir.StringAttr(fn.attributes["sym_name"]).value
    call_external(module, pool.RUN, [func.constant(signature, name), table, count], declared)


def _inside(op, ancestor) -> bool:
    while op is not None:
        if op == ancestor:
            return True
        op = op.parent
    return False


def _defining_op(value):
    if isinstance(value.owner, ir.Block):
        return value.owner.owner.operation
    return value.owner.operation


def outline_forall(module, forall, declared: set[str]) -> bool:
    """An scf.forall over [0, n) with step 1 and no results, as a task run on the pool; False
    (left as it is) for any other, or when it uses a value the table can't carry."""
    op = forall.operation
    attrs = op.attributes
    if len(op.results) or "mapping" in attrs:
        return False
    lower = ir.DenseI64ArrayAttr(attrs["staticLowerBound"])
    upper = ir.DenseI64ArrayAttr(attrs["staticUpperBound"])
    step = ir.DenseI64ArrayAttr(attrs["staticStep"])
    if len(lower) != 1 or lower[0] != 0 or step[0] != 1:
        return False
    body = op.regions[0].blocks[0]
    captured, constants = [], []

    def visit(inner):
        if inner == op:  # its own operands (a dynamic bound) are the caller's
            return ir.WalkResult.ADVANCE
        for v in inner.operands:
            owner = _defining_op(v)
            if _inside(owner, op):
                continue
            if owner.name in _CONSTANTS and not len(owner.operands):
                if owner not in constants:
                    constants.append(owner)
            elif v not in captured:
                captured.append(v)
        return ir.WalkResult.ADVANCE

    op.walk(visit)
    if any(_words(v.type) is None for v in captured):
        return False
    with op.location:
        fn, entry, signature = task_function(module, "_mxir_chunk")
        with ir.InsertionPoint(entry):
            clones = {}
            for c in constants:
                clones[c] = c.clone()
            loaded = load_values(entry, [v.type for v in captured])
            ret = func.ReturnOp([])
        mapping = {v: new for v, new in zip(captured, loaded)}
        for c, clone in clones.items():
            for old, new in zip(c.results, clone.results):
                mapping[old] = new
        for inner in list(body.operations)[:-1]:  # not the scf.forall.in_parallel
            inner.operation.move_before(ret)
        body.arguments[0].replace_all_uses_with(entry.arguments[1])

        def rewire(inner):
            for k, v in enumerate(inner.operands):
                if v in mapping:
                    inner.operands[k] = mapping[v]
            return ir.WalkResult.ADVANCE

        fn.operation.walk(rewire)
        with ir.InsertionPoint(op):
            index = ir.IndexType.get()
            count = op.operands[0] if upper[0] == ir.ShapedType.get_dynamic_size() \
                else arith.constant(index, upper[0])
            call_pool(module, fn, signature, captured, count, declared)
    op.erase()
    return True

