"""grad, value_and_grad, vjp, jvp, vmap (as MLX).

Each call traces the function into a callee (a Trace whose parameters stand for the arguments)
and adds ONE transform node (`mx.vjp`, `mx.jvp`, `mx.vmap`) to the graph. Nothing here
differentiates or batches: the passes expand the transform ops when the graph is compiled.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .array import array
from .graph import Node, Trace, make_node, param_node
from .ops import astype, constant
from .tree import tree_flatten, tree_map, tree_structure

NOT_ARRAYS = "[tree_flatten] The argument should contain only arrays"


def _leaves_as_arrays(tree, where: str) -> list[array]:
    leaves = tree_flatten(tree)
    if not all(isinstance(x, array) for x in leaves):
        raise ValueError(NOT_ARRAYS)
    return leaves


def _trace(fun: Callable, args, kwargs, diff_positions, diff_names, name: str, bound: bool):
    """Call `fun` with parameters in place of the differentiated arguments.
    Returns (trace, output tree, the arrays the parameters stand for, param trees)."""
    trace = Trace(getattr(fun, "__name__", "f"), name)
    if not diff_names and len(diff_positions) == 1:  # one array argument: no closure, no walk
        i = diff_positions[0]
        x = args[i]
        if type(x) is array:
            p = array._from(param_node(x._node.types[x._index], trace, x if bound else None))
            out = fun(*args[:i], p, *args[i + 1:], **kwargs)
            return trace, out, [x]
    args = list(args)
    kwargs = dict(kwargs)
    primals: list[array] = []

    def substitute(tree):
        if type(tree) is array:  # the common case, without the tree walk
            p = param_node(tree._node.types[tree._index], trace, tree if bound else None)
            primals.append(tree)
            return array._from(p)
        leaves = _leaves_as_arrays(tree, name)
        params = []
        for x in leaves:
            p = param_node(x._node.types[x._index], trace, x if bound else None)
            params.append(array._from(p))
            primals.append(x)
        return tree_structure(tree)(params)

    for i in diff_positions:
        args[i] = substitute(args[i])
    for k in diff_names:
        kwargs[k] = substitute(kwargs[k])
    out = fun(*args, **kwargs)
    return trace, out, primals


def _check_argnums(argnums, argnames, nargs: int, where: str = "grad"):
    if argnums is None:
        argnums = () if argnames else (0,)
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    for i in nums:
        if i < 0:
            raise ValueError(f"[{where}] Can't compute the gradient of negative argument index "
                             f"{i}.")
        if i >= nargs:
            raise ValueError(f"[{where}] Can't compute the gradient of argument index {i} because "
                             f"the function is called with only {nargs} positional arguments.")
    names = (argnames,) if isinstance(argnames, str) else tuple(argnames)
    return nums, names


def _vjp_node(trace: Trace, outputs: list[array], primals, cotangents) -> list[array]:
    """The mx.vjp node; returns [outputs..., one gradient per parameter]."""
    trace.outputs = outputs
    n = len(trace.params)
    types = [o._node.types[o._index] for o in outputs] + [p.types[0] for p in trace.params]
    node = Node("vjp", (*primals, *cotangents), {"argnums": _ARGNUMS.get(n) or tuple(range(n))},
                tuple(types), trace)
    return [array._from(node, i) for i in range(len(types))]


_ARGNUMS = {n: tuple(range(n)) for n in range(8)}


def _one(dtype) -> array:
    """The cotangent 1 of a scalar loss: one shared constant node per dtype (an op node with no
    inputs, never evaluated on its own, so sharing it across graphs is safe; ~1.5 µs a grad)."""
    one = _ONES.get(dtype)
    if one is None:
        one = _ONES[dtype] = constant(1, dtype)
    return one


_ONES: dict = {}


def value_and_grad(fun: Callable, argnums=None, argnames=()) -> Callable:
    """Returns a function computing `(fun(*args), grad)` of the first output."""

    def wrapped(*args, **kwargs):
        nums, names = _check_argnums(argnums, argnames, len(args))
        for k in names:
            if k not in kwargs:
                raise ValueError(f"[grad] Can't compute the gradient of argument {k!r} because "
                                 "it was not given as a keyword argument.")
        trace, out, primals = _trace(fun, args, kwargs, nums, names, "grad", bound=True)
        if isinstance(out, array):
            loss, aux = out, None
        elif isinstance(out, (tuple, list)) and out and isinstance(out[0], array):
            loss, aux = out[0], out
        else:
            raise ValueError("[grad] The return value of the function whose gradient we want to "
                             f"compute should be either a scalar array or a tuple with the first "
                             f"value being a scalar array; but {type(out).__name__} was returned.")
        if loss._node.types[loss._index].shape != ():
            shape = "(" + ",".join(map(str, loss.shape)) + ")"
            extra = (" If you are using grad your function must return a scalar."
                     if loss.size == 1 else "")
            raise ValueError(f"[vjp] Output shape {shape} does not match cotangent shape ()."
                             f"{extra}")
        results = _vjp_node(trace, [loss], primals, [_one(loss.dtype)])
        value, grads = results[0], results[1:]
        if not names and len(nums) == 1 and type(args[nums[0]]) is array:  # the common call
            g = grads[0]
            if aux is not None:
                return (value, *aux[1:]), g
            return value, g
        # rebuild the gradient trees in the shape of the differentiated arguments
        trees, k = [], 0
        for tree in [args[i] for i in nums] + [kwargs[n] for n in names]:
            if type(tree) is array:
                trees.append(grads[k])
                k += 1
                continue
            leaves = tree_flatten(tree)
            trees.append(tree_structure(tree)(grads[k:k + len(leaves)]))
            k += len(leaves)
        pos, kw = trees[:len(nums)], dict(zip(names, trees[len(nums):]))
        g = pos[0] if len(pos) == 1 else tuple(pos)  # MLX: argnums=(0,) gives a bare array
        if names:
            g = (g, kw)
        if aux is not None:
            return (value, *aux[1:]), g
        return value, g

    wrapped.__name__ = f"value_and_grad({getattr(fun, '__name__', 'f')})"
    return wrapped


def grad(fun: Callable, argnums=None, argnames=()) -> Callable:
    """The gradient of a scalar-valued function (as `mx.grad`)."""
    vg = value_and_grad(fun, argnums, argnames)

    def wrapped(*args, **kwargs):
        return vg(*args, **kwargs)[1]

    wrapped.__name__ = f"grad({getattr(fun, '__name__', 'f')})"
    return wrapped


def _as_output_list(out, where: str) -> list[array]:
    if isinstance(out, array):
        outs = [out]
    else:
        outs = list(out) if isinstance(out, (list, tuple)) else None
    if outs is None or not all(isinstance(o, array) for o in outs):
        raise ValueError(f"[{where}] The return value of the function should be an array or a "
                         "list/tuple of arrays.")
    return outs


def _check_shapes(xs, ys, message: str) -> None:
    """MLX's error when paired arrays (outputs and cotangents, ...) differ in shape."""
    for x, y in zip(xs, ys):
        if x.shape != y.shape:
            raise ValueError(message.format(",".join(map(str, x.shape)),
                                            ",".join(map(str, y.shape))))


def vjp(fun: Callable, primals: Sequence[array], cotangents: Sequence[array]):
    """(outputs, vjps): `fun` applied to `primals`, and the cotangents pulled back."""
    primals, cotangents = list(primals), list(cotangents)
    _leaves_as_arrays(primals, "vjp")
    trace, out, prims = _trace(fun, primals, {}, range(len(primals)), (), "vjp", bound=True)
    outs = _as_output_list(out, "vjp")
    if len(cotangents) != len(outs):
        raise ValueError(f"[vjp] Number of outputs to compute gradients for ({len(outs)}) does "
                         f"not match number of cotangents ({len(cotangents)}).")
    _check_shapes(outs, cotangents, "[vjp] Output shape ({}) does not match cotangent shape ({}).")
    cts = [astype(c, o.dtype) for o, c in zip(outs, cotangents)]
    results = _vjp_node(trace, outs, prims, cts)
    return results[:len(outs)], results[len(outs):]


def jvp(fun: Callable, primals: Sequence[array], tangents: Sequence[array]):
    """(outputs, jvps): `fun` applied to `primals`, and the tangents pushed forward."""
    primals, tangents = list(primals), list(tangents)
    _leaves_as_arrays(primals, "jvp")
    if len(primals) != len(tangents):
        raise ValueError(f"[jvp] Number of inputs ({len(primals)}) does not match number of "
                         f"tangents ({len(tangents)}).")
    _check_shapes(primals, tangents, "[jvp] Input shape ({}) does not match tangent shape ({}).")
    trace, out, prims = _trace(fun, primals, {}, range(len(primals)), (), "jvp", bound=True)
    outs = _as_output_list(out, "jvp")
    trace.outputs = outs
    tans = [astype(t, p.dtype) for p, t in zip(prims, tangents)]
    types = [o._node.types[o._index] for o in outs] * 2
    node = make_node("jvp", prims + tans, {}, callee=trace, types=types)
    results = [array._from(node, i) for i in range(len(types))]
    return results[:len(outs)], results[len(outs):]


# ---------------------------------------------------------------------------------------------
def _broadcast_prefix(prefix, tree, what):
    """Expand an in_axes/out_axes prefix tree to one entry per leaf of `tree`."""
    if prefix is None or isinstance(prefix, int):
        return [prefix] * len(tree_flatten(tree))
    out = []
    tree_map(lambda p, t: out.extend([p] * len(tree_flatten(t))), prefix, tree,
             is_leaf=lambda x: x is None or isinstance(x, int))
    return out


def vmap(fun: Callable, in_axes=0, out_axes=0) -> Callable:
    """Vectorise `fun` over the `in_axes` of its arguments (as `mx.vmap`)."""

    def wrapped(*args):
        if isinstance(in_axes, (list, tuple)) and not isinstance(in_axes, int):
            if len(in_axes) != len(args):
                raise ValueError("[vmap] The number of in axes (" + str(len(in_axes)) +
                                 ") must match the number of arguments (" + str(len(args)) + ").")
            axes = [a for ax, arg in zip(in_axes, args)
                    for a in _broadcast_prefix(ax, arg, "in_axes")]
        else:
            axes = _broadcast_prefix(in_axes, list(args), "in_axes")
        leaves = tree_flatten(list(args))
        if not all(isinstance(x, array) for x in leaves):
            raise ValueError(NOT_ARRAYS)
        size = None
        norm = []
        for x, ax in zip(leaves, axes):
            if ax is None:
                norm.append(None)
                continue
            if x.ndim == 0:
                raise ValueError("[vmap] Cannot vmap an array with zero dimensions. "
                                 "Use in_axes=None for scalars.")
            if not -x.ndim <= ax < x.ndim:
                raise IndexError(f"[vmap] Invalid vectorization axis {ax} for array with shape "
                                 f"({','.join(map(str, x.shape))})")
            ax %= x.ndim
            if size is not None and x.shape[ax] != size:
                raise ValueError(f"[vmap] Inconsistent axis sizes: {size} and {x.shape[ax]}.")
            size = x.shape[ax]
            norm.append(ax)
        if size is None:
            raise ValueError("[vmap] At least one of in_axes must be non-None.")
        trace = Trace(getattr(fun, "__name__", "f"), "vmap")
        params = []
        for x, ax in zip(leaves, norm):
            t = x._node.types[x._index]
            if ax is not None:
                t = t.with_shape(t.shape[:ax] + t.shape[ax + 1:])
            params.append(array._from(param_node(t, trace)))
        inner_args = tree_structure(list(args))(params)
        out = fun(*inner_args)
        outs = tree_flatten(out)
        if not all(isinstance(o, array) for o in outs):
            raise ValueError("[vmap] The return value of the function should be arrays.")
        trace.outputs = outs
        oaxes = _broadcast_prefix(out_axes, out, "out_axes")
        types = []
        for o, ax in zip(outs, oaxes):
            t = o._node.types[o._index]
            if ax is None:
                types.append(t)
                continue
            if not -(t.ndim + 1) <= ax <= t.ndim:
                raise IndexError(f"[vmap] Invalid out axis {ax} for output with "
                                 f"{t.ndim} dimensions.")
            ax %= t.ndim + 1
            types.append(t.with_shape(t.shape[:ax] + (size,) + t.shape[ax:]))
        oaxes = [None if ax is None else ax % (t.ndim) for ax, t in zip(oaxes, types)]
        node = make_node("vmap", leaves, {"in_axes": tuple(norm), "out_axes": tuple(oaxes)},
                         callee=trace, types=types)
        results = [array._from(node, i) for i in range(len(types))]
        return tree_structure(out)(results)

    return wrapped


# ---------------------------------------------------------------------------------------------
# Jacobians and Hessians (beyond MLX; requested of it in #164), built only from the transforms.
def _basis(size: int, shape, dtype):
    from .ops import astype, eye, reshape

    return reshape(astype(eye(size), dtype), (size, *shape))


def _of_one_argument(fun, args, argnums: int, where: str):
    """(x, f) with f(v) = fun(*args) where args[argnums] is replaced by v."""
    if not isinstance(argnums, int) or not 0 <= argnums < len(args):
        raise ValueError(f"[{where}] argnums must be the index of one positional argument.")
    x = args[argnums]
    if not isinstance(x, array):
        raise ValueError(NOT_ARRAYS)
    return x, lambda v: fun(*args[:argnums], v, *args[argnums + 1:])


def jacrev(fun: Callable, argnums: int = 0) -> Callable:
    """Jacobian by reverse mode: one vjp per output element, batched with vmap.
    Shape: output shape + input shape."""

    def wrapped(*args):
        from .ops import reshape

        x, f = _of_one_argument(fun, args, argnums, "jacrev")
        out = f(x)
        pull = vmap(lambda ct: vjp(f, [x], [ct])[1][0])
        rows = pull(_basis(out.size, out.shape, out.dtype))
        return reshape(rows, (*out.shape, *x.shape))

    return wrapped


def jacfwd(fun: Callable, argnums: int = 0) -> Callable:
    """Jacobian by forward mode: one jvp per input element, batched with vmap.
    Shape: output shape + input shape."""

    def wrapped(*args):
        from .ops import reshape

        x, f = _of_one_argument(fun, args, argnums, "jacfwd")
        push = vmap(lambda t: jvp(f, [x], [t])[1][0], out_axes=-1)
        cols = push(_basis(x.size, x.shape, x.dtype))
        return reshape(cols, (*cols.shape[:-1], *x.shape))

    return wrapped


def hessian(fun: Callable, argnums: int = 0) -> Callable:
    """Hessian of a scalar function: forward over reverse."""
    return jacfwd(jacrev(fun, argnums), argnums)


__all__ = ["grad", "value_and_grad", "vjp", "jvp", "vmap", "jacrev", "jacfwd", "hessian"]
