"""`einsum` and `einsum_path`: Einstein summation as a left-to-right chain of pairwise
contractions, each a `matmul` over (batch, free, contracted) labels, so that every transform
sees only transpose, reshape, matmul and sum."""

from __future__ import annotations

import math

from . import ops
from .array import array
from .composites import diagonal
from .join_ops import matmul


def _parse(subscripts: str, operands: list[array]) -> tuple[list[str], str]:
    """The label string of each operand and of the output, '...' expanded to fresh labels."""
    spec = subscripts.replace(" ", "")
    lhs, arrow, out = spec.partition("->")
    ins = lhs.split(",")
    if len(ins) != len(operands):
        raise ValueError(f"[einsum] Number of operands, {len(operands)}, does not match number "
                         f"of input subscripts, {len(ins)}.")
    used = set(spec) - set(".,->")
    fresh = iter(c for c in map(chr, range(0x100, 0x200)) if c not in used)
    n_ell = max((op.ndim - len(s.replace("...", "")) for s, op in zip(ins, operands)
                 if "..." in s), default=0)
    ell = "".join(next(fresh) for _ in range(n_ell))
    labels = []
    for s, op in zip(ins, operands):
        if "..." in s:
            k = op.ndim - len(s.replace("...", ""))
            s = s.replace("...", ell[n_ell - k:])
        if len(s) != op.ndim:
            raise ValueError(f"[einsum] Invalid number of subscripts, {len(s)}, for operand "
                             f"with {op.ndim} dimensions.")
        labels.append(s)
    size: dict[str, int] = {}
    for s, op in zip(labels, operands):
        for c, d in zip(s, op.shape):
            if size.setdefault(c, d) != d and 1 not in (size[c], d):
                raise ValueError(f"[einsum] Size of subscript '{c}' differs between operands "
                                 f"or axes: {size[c]} and {d}.")
            size[c] = max(size[c], d) if 1 in (size[c], d) else d
    for s, op in zip(labels, operands):  # a label repeated in one operand is a diagonal
        for c in set(s):
            if len({op.shape[i] for i, e in enumerate(s) if e == c}) > 1:
                raise ValueError(f"[einsum] Size of subscript '{c}' differs within an operand.")
    if not arrow:  # implicit output: labels seen once, sorted, after the broadcast ones
        counts = "".join(labels)
        out = ell + "".join(sorted(c for c in set(counts) - set(ell) if counts.count(c) == 1))
    else:
        out = out.replace("...", ell)
        for c in out:
            if c not in "".join(labels):
                raise ValueError(f"[einsum] Output subscript '{c}' is not in the inputs.")
    return labels, out


def _reduce_own(x: array, labels: str, keep: set[str]) -> tuple[array, str]:
    """Take repeated labels' diagonals and sum out labels that no one else needs."""
    while True:
        dup = next((c for c in labels if labels.count(c) > 1), None)
        if dup is None:
            break
        i = labels.index(dup)
        j = labels.index(dup, i + 1)
        x = diagonal(x, 0, i, j)  # the diagonal axis goes last
        labels = "".join(c for k, c in enumerate(labels) if k not in (i, j)) + dup
    gone = [k for k, c in enumerate(labels) if c not in keep]
    if gone:
        x = ops.sum(x, axis=gone)
        labels = "".join(c for c in labels if c in keep)
    return x, labels


def _contract(a: array, la: str, b: array, lb: str, keep: set[str]) -> tuple[array, str]:
    batch = [c for c in la if c in lb and c in keep]
    summed = [c for c in la if c in lb and c not in keep]
    fa = [c for c in la if c not in lb]
    fb = [c for c in lb if c not in la]
    size = {c: d for c, d in zip(la + lb, a.shape + b.shape)}
    for c in batch + summed:  # shared labels broadcast when one side has size 1
        size[c] = max(a.shape[la.index(c)], b.shape[lb.index(c)])

    def arrange(x, lx, order, rows, cols):
        x = ops.broadcast_to(x, tuple(size[c] if c in batch + summed else d
                                      for c, d in zip(lx, x.shape)))
        x = ops.transpose(x, [lx.index(c) for c in order])
        n = len(batch)
        return ops.reshape(x, tuple(size[c] for c in batch) + (
            math.prod(size[c] for c in order[n:n + rows]),
            math.prod(size[c] for c in order[n + rows:n + rows + cols])))

    am = arrange(a, la, batch + fa + summed, len(fa), len(summed))
    bm = arrange(b, lb, batch + summed + fb, len(summed), len(fb))
    out = matmul(am, bm)
    labels = "".join(batch + fa + fb)
    return ops.reshape(out, tuple(size[c] for c in labels)), labels


def einsum(subscripts: str, *operands, stream=None) -> array:
    ops_ = [ops.as_array(x) for x in operands]
    labels, out = _parse(subscripts, ops_)
    needed = [set(out) | set("".join(labels[k + 1:])) for k in range(len(ops_))]
    x, lx = _reduce_own(ops_[0], labels[0], needed[0] | set("".join(labels[1:])))
    for k in range(1, len(ops_)):
        y, ly = _reduce_own(ops_[k], labels[k], needed[k] | set(lx))
        x, lx = _contract(x, lx, y, ly, needed[k])
    x, lx = _reduce_own(x, lx, set(out))
    return ops.transpose(x, [lx.index(c) for c in out])


def einsum_path(subscripts: str, *operands) -> tuple[list[tuple[int, int]], str]:
    """The contraction order `einsum` uses (left to right: always the first two of the
    remaining operands) and a description of its steps."""
    ops_ = [ops.as_array(x) for x in operands]
    labels, out = _parse(subscripts, ops_)
    path = [(0, 1)] * max(len(ops_) - 1, 0) if len(ops_) > 1 else [(0,)]
    steps = [f"{labels[0]},{labels[k]}" for k in range(1, len(labels))]
    info = (f"  Complete contraction:  {','.join(labels)}->{out}\n"
            f"  Order: left to right, each step a batched matmul\n"
            + "".join(f"  step {k}: {s}\n" for k, s in enumerate(steps, 1)))
    return path, info


__all__ = ["einsum", "einsum_path"]
