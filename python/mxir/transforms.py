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
from .tree import _children, tree_flatten, tree_structure

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
            if i == 0 and len(args) == 1 and not kwargs:  # f(x), the commonest call
                return trace, fun(p), [x]
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


def _signature_error(where: str, returns: str, given: dict) -> TypeError:
    """MLX's (nanobind's) TypeError for an argument of the wrong type."""
    kinds = ", ".join(f"{k}: {type(v).__name__}" for k, v in given.items())
    return TypeError(
        f"{where}(): incompatible function arguments. The following argument types are "
        f"supported:\n    1. {where}(fun: Callable[P, R], argnums: int | Sequence[int] | None = "
        f"None, argnames: str | Sequence[str] = []) -> {returns}\n\nInvoked with types: "
        f"function, kwargs = {{ {kinds} }}")


def _normalise_argnums(argnums, argnames, where: str):
    """(argnums tuple, argnames tuple), checked when the transform is made, as MLX."""
    returns = "Callable[P, Any]" if where == "grad" else "Callable[P, tuple[R, Any]]"
    if argnums is None:
        nums = () if argnames else (0,)
    elif isinstance(argnums, int) and not isinstance(argnums, bool):
        nums = (argnums,)
    elif isinstance(argnums, Sequence) and not isinstance(argnums, str) and all(
            isinstance(i, int) for i in argnums):
        nums = tuple(argnums)
    else:
        raise _signature_error(where, returns, {"argnums": argnums})
    if isinstance(argnames, str):
        names = (argnames,)
    elif isinstance(argnames, Sequence) and all(isinstance(k, str) for k in argnames):
        names = tuple(argnames)
    else:
        raise _signature_error(where, returns, {"argnames": argnames})
    if not nums and not names:
        raise ValueError(f"[{where}] Gradient wrt no argument requested")
    for i in nums:
        if i < 0:
            raise ValueError(f"[{where}] Can't compute the gradient of negative argument index "
                             f"{i}")
    if len(set(nums)) != len(nums):
        dup = next(i for i in nums if nums.count(i) > 1)
        raise ValueError(f"[{where}] Duplicate argument index {dup} is not allowed.")
    return nums, names


def _check_call(nums, names, args, kwargs, where: str) -> None:
    for i in nums:
        if i >= len(args):
            raise ValueError(f"[{where}] Can't compute the gradient of argument index {i} "
                             f"because the function is called with only {len(args)} positional "
                             "arguments.")
    for k in names:
        if k not in kwargs:
            given = "".join(f"{n}," for n in kwargs)
            raise ValueError(f"[{where}] Can't compute the gradient of keyword argument {k!r} "
                             "because the function is called with the following keyword "
                             f"arguments {{{given}}}")


def _loss_and_aux(out, where: str):
    """The scalar to differentiate and the auxiliary outputs (None for a bare array)."""
    if isinstance(out, array):
        return out, None
    if where == "grad":
        raise ValueError("[grad] The return value of the function whose gradient we want to "
                         "compute should be a scalar array; but "
                         f"{type(out).__name__} was returned.")
    head = ("[value_and_grad] The return value of the function whose gradient we want to "
            "compute should be either a scalar array or a")
    if not isinstance(out, tuple):
        raise ValueError(f"{head} tuple with the first value being a scalar array "
                         f"(Union[array, tuple[array, Any, ...]]); but {type(out).__name__} "
                         "was returned.")
    if not out:
        raise ValueError(f"{head} non-empty tuple. The first value should be a scalar array and "
                         "the rest can be anything. Instead, we got an empty tuple.")
    if not isinstance(out[0], array):
        raise ValueError(f"{head} tuple with the first value being a scalar array "
                         "(Union[array, tuple[array, Any, ...]]); but it was a tuple with the "
                         f"first value being of type {type(out[0]).__name__} .")
    return out[0], out


def _vjp_node(trace: Trace, outputs: list[array], primals, cotangents) -> Node:
    """The mx.vjp node: its results are the outputs, then one gradient per parameter."""
    trace.outputs = outputs
    params = trace.params
    n = len(params)
    types = [o._node.types[o._index] for o in outputs]
    types += [p.types[0] for p in params]
    attrs = _ARGNUMS.get(n) or {"argnums": tuple(range(n))}
    return Node("vjp", (*primals, *cotangents), attrs, tuple(types), trace)


def _results(node: Node, start: int, stop: int) -> list[array]:
    return [array._from(node, i) for i in range(start, stop)]


# the attributes of a vjp node of n parameters, shared (a node's attributes are never changed)
_ARGNUMS = {n: {"argnums": tuple(range(n))} for n in range(8)}


def _one(dtype: str) -> array:
    """The cotangent 1 of a scalar loss: one shared constant node per dtype (an op node with no
    inputs, never evaluated on its own, so sharing it across graphs is safe; ~1.5 µs a grad)."""
    one = _ONES.get(dtype)
    if one is None:
        one = _ONES[dtype] = constant(1, dtype)
    return one


_ONES: dict[str, array] = {}


def value_and_grad(fun: Callable, argnums=None, argnames=()) -> Callable:
    """Returns a function computing `(fun(*args), grad)` of the first output."""
    return _value_and_grad(fun, argnums, argnames, "value_and_grad")


def _value_and_grad(fun: Callable, argnums, argnames, where: str) -> Callable:
    """value_and_grad, or grad (`where`), which returns the gradient alone."""
    nums, names = _normalise_argnums(argnums, argnames, where)
    with_value = where != "grad"
    # one positional array differentiated (the common call): no trees to rebuild
    single = nums[0] + 1 if not names and len(nums) == 1 else 0

    def wrapped(*args, **kwargs):
        if single and len(args) >= single and type(x := args[single - 1]) is array:
            # grad(f)(x), the common call, traced here (what _trace does, one frame less)
            trace = Trace(getattr(fun, "__name__", "f"), "grad")
            p = array._from(param_node(x._node.types[x._index], trace, x))
            out = fun(p) if single == 1 and len(args) == 1 and not kwargs else fun(
                *args[:single - 1], p, *args[single:], **kwargs)
            primals = [x]
        else:
            _check_call(nums, names, args, kwargs, where)
            trace, out, primals = _trace(fun, args, kwargs, nums, names, "grad", bound=True)
        if type(out) is array:
            loss, aux = out, None
        else:
            loss, aux = _loss_and_aux(out, where)
        ltype = loss._node.types[loss._index]
        if ltype.shape != ():
            shape = "(" + ",".join(map(str, loss.shape)) + ")"
            extra = (" If you are using grad your function must return a scalar."
                     if loss.size == 1 else "")
            raise ValueError(f"[vjp] Output shape {shape} does not match cotangent shape ()."
                             f"{extra}")
        node = _vjp_node(trace, [loss], primals, [_one(ltype.dtype)])
        if single and type(args[nums[0]]) is array:  # the common call
            g = array._from(node, 1)
            if not with_value:
                return g
            value = array._from(node, 0)
            if aux is not None:
                return _with_value(aux, value), g
            return value, g
        grads = _results(node, 1, len(node.types))
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
        # MLX: argnums=(0,) gives a bare array; only argnames gives None for the positions
        g = (pos[0] if len(pos) == 1 else tuple(pos)) if pos else None
        if names:
            g = (g, kw)
        if not with_value:
            return g
        value = array._from(node, 0)
        if aux is not None:
            return _with_value(aux, value), g
        return value, g

    wrapped.__name__ = f"{where}({getattr(fun, '__name__', 'f')})"
    return wrapped


def _with_value(aux: tuple, value: array) -> tuple:
    """The function's output with the loss in first place (a named tuple stays one)."""
    return _children(aux)[1]([value, *aux[1:]])


def grad(fun: Callable, argnums=None, argnames=()) -> Callable:
    """The gradient of a scalar-valued function (as `mx.grad`)."""
    return _value_and_grad(fun, argnums, argnames, "grad")


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


def _array_list(fun, where: str, second: str, primals, others) -> tuple[list, list]:
    """`primals` and `others` as lists of arrays, or MLX's TypeError (nanobind's signature
    check: a list or tuple of arrays each, nothing nested)."""
    def ok(xs):
        return isinstance(xs, (list, tuple)) and all(isinstance(x, array) for x in xs)

    if not (ok(primals) and ok(others)):
        def name(x):
            return "mxir.array" if isinstance(x, array) else type(x).__name__

        raise TypeError(
            f"{where}(): incompatible function arguments. The following argument types are "
            f"supported:\n    1. {where}(fun: Callable, primals: list[array], {second}: "
            "list[array]) -> tuple[list[array], list[array]]\n\nInvoked with types: "
            f"{name(fun)}, {name(primals)}, {name(others)}")
    return list(primals), list(others)


def vjp(fun: Callable, primals: Sequence[array], cotangents: Sequence[array]):
    """(outputs, vjps): `fun` applied to `primals`, and the cotangents pulled back."""
    primals, cotangents = _array_list(fun, "vjp", "cotangents", primals, cotangents)
    trace, out, prims = _trace(fun, primals, {}, range(len(primals)), (), "vjp", bound=True)
    outs = _as_output_list(out, "vjp")
    if len(cotangents) != len(outs):
        raise ValueError(f"[vjp] Number of outputs to compute gradients for ({len(outs)}) does "
                         f"not match number of cotangents ({len(cotangents)}).")
    _check_shapes(outs, cotangents, "[vjp] Output shape ({}) does not match cotangent shape ({}).")
    cts = [astype(c, o.dtype) for o, c in zip(outs, cotangents)]
    node = _vjp_node(trace, outs, prims, cts)
    return _results(node, 0, len(outs)), _results(node, len(outs), len(node.types))


def jvp(fun: Callable, primals: Sequence[array], tangents: Sequence[array]):
    """(outputs, jvps): `fun` applied to `primals`, and the tangents pushed forward."""
    primals, tangents = _array_list(fun, "jvp", "tangents", primals, tangents)
    if len(primals) != len(tangents):
        raise ValueError("[jvp] Number of inputs does not match number of tangents.")
    if any(p.shape != t.shape for p, t in zip(primals, tangents)):
        raise ValueError("[jvp] Input shape does not match shape of tangent.")
    trace, out, prims = _trace(fun, primals, {}, range(len(primals)), (), "jvp", bound=True)
    outs = _as_output_list(out, "jvp")
    trace.outputs = outs
    tans = [astype(t, p.dtype) for p, t in zip(prims, tangents)]
    types = [o._node.types[o._index] for o in outs] * 2
    node = make_node("jvp", prims + tans, {}, callee=trace, types=types)
    results = [array._from(node, i) for i in range(len(types))]
    return results[:len(outs)], results[len(outs):]


# ---------------------------------------------------------------------------------------------
_AXIS_KIND = "[vmap] axis must be int or None."
_PREFIX = "[tree_map] Additional input tree is not a valid prefix of the first tree."


def _flat_axes(tree, axes, output: bool) -> list:
    """One axis (an int >= 0, or None) per array leaf of `tree`, read from `axes`, a prefix
    of it, as MLX reads `in_axes` and `out_axes`: an int or None applies to everything below
    it; a container must be of the tree's kind (tuple, list, dict: same length, same keys); a
    one-element tuple stands for its element only where the whole tree is one array. Output
    axes range over one more dimension (the batch axis is inserted)."""
    flat: list = []
    tupled = False

    def visit(t, a):
        nonlocal tupled
        if isinstance(t, array):
            if isinstance(a, tuple):
                tupled = True
                if len(a) != 1:
                    raise ValueError(_AXIS_KIND)
                a = a[0]
            if a is None:
                flat.append(None)
                return
            if not isinstance(a, int):
                raise ValueError(_AXIS_KIND)
            ndim = t.ndim + output
            ax = a + ndim if a < 0 else a
            if not 0 <= ax < ndim:
                shape = ",".join(map(str, t.shape))
                what = "output vectorization" if output else "vectorization"
                raise IndexError(f"[vmap] Invalid {what} axis {ax} for array with shape "
                                 f"({shape})")
            flat.append(ax)
            return
        node = _children(t)
        if node is None:
            raise ValueError(NOT_ARRAYS)
        children = node[0]
        if isinstance(a, dict):
            if not isinstance(t, dict) or set(a) != set(t):
                raise ValueError(_PREFIX)
            for k, c in zip(t.keys(), children):
                visit(c, a[k])
        elif isinstance(a, (list, tuple)):
            if isinstance(a, list) != isinstance(t, list) or isinstance(t, dict) or \
                    len(a) != len(children):
                raise ValueError(_PREFIX)
            for c, ax in zip(children, a):
                visit(c, ax)
        else:  # one axis for the whole subtree
            for c in children:
                visit(c, a)

    visit(tree, axes)
    if tupled and not isinstance(tree, array):
        raise ValueError(_AXIS_KIND)
    return flat


_VMAPS: list = []  # (ids of the mapped parameter nodes, axis size) of the vmaps being traced


def _depends_on(out: array, params: set) -> bool:
    """Whether `out` is computed from one of the parameter nodes `params` (walking into the
    callees of transform nodes, which may read enclosing parameters, and from parameters
    bound to an argument to that argument)."""
    stack, seen = [out._node], set()
    while stack:
        node = stack.pop()
        if id(node) in seen or not node.traced:
            continue
        seen.add(id(node))
        if id(node) in params:
            return True
        stack.extend(a._node for a in node.inputs)
        if node.bound is not None:
            stack.append(node.bound._node)
        if node.callee is not None:
            stack.extend(o._node for o in node.callee.outputs)
    return False


def vmap(fun: Callable, in_axes=0, out_axes=0) -> Callable:
    """Vectorise `fun` over the `in_axes` of its arguments (as `mx.vmap`)."""
    if in_axes is None or out_axes is None:  # nanobind refuses None for an `object` argument
        given = ", ".join(f"{k}: NoneType" for k, v in (("in_axes", in_axes),
                                                         ("out_axes", out_axes)) if v is None)
        raise TypeError(
            "vmap(): incompatible function arguments. The following argument types are "
            "supported:\n    1. vmap(fun: Callable[P, R], in_axes: object = 0, out_axes: object "
            f"= 0) -> Callable[P, R]\n\nInvoked with types: {type(fun).__name__}, kwargs = "
            f"{{ {given} }}")

    def wrapped(*args, **kwargs):
        if kwargs:
            raise TypeError("[vmap] Keyword arguments are not supported.")
        tree = args[0] if len(args) == 1 else args
        axes = _flat_axes(tree, in_axes, output=False)
        leaves = tree_flatten(args)
        size = None
        for x, ax in zip(leaves, axes):
            if ax is None:
                continue
            if size is not None and x.shape[ax] != size:
                raise ValueError(f"[vmap] Inconsistent axis sizes: {size} and {x.shape[ax]}.")
            size = x.shape[ax]
        if size is None:
            raise ValueError("At least one of in_axes must be non-None.")
        trace = Trace(getattr(fun, "__name__", "f"), "vmap")
        params = []
        for x, ax in zip(leaves, axes):
            t = x._node.types[x._index]
            if ax is not None:
                t = t.with_shape(t.shape[:ax] + t.shape[ax + 1:])
            params.append(array._from(param_node(t, trace)))
        mapped = {id(p._node) for p, ax in zip(params, axes) if ax is not None}
        _VMAPS.append((mapped, size))  # custom functions called inside trace their vmap rule
        try:
            out = fun(*tree_structure(args)(params))
        finally:
            _VMAPS.pop()
        outs = tree_flatten(out)
        oaxes = _flat_axes(out, out_axes, output=True)
        trace.outputs = outs
        types = []
        for o, ax in zip(outs, oaxes):
            t = o._node.types[o._index]
            if ax is None:
                if _depends_on(o, mapped):  # MLX reads None as -1 of the batched output
                    raise ValueError(f"[vmap] Axis -1 invalid for output with {t.ndim + 1} "
                                     "dimensions.")
                types.append(t)
                continue
            types.append(t.with_shape(t.shape[:ax] + (size,) + t.shape[ax:]))
        node = make_node("vmap", leaves, {"in_axes": tuple(axes), "out_axes": tuple(oaxes)},
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
