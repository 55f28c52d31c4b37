"""`mxir-run`: run one function of an `mx` IR file on a device and print its results.

    mxir-run prog.mlir --entry main "dense<[1.0, 2.0]> : tensor<2xf32>"

Each argument is an MLIR dense literal of the function's argument type; each result prints on
its own line as a dense literal with its type (MLIR's own printer, so values are exact).

Types may have dynamic dims (`tensor<?x4xf32>`, as shapeless compile makes): an argument fits
when its rank, element type and static dims match, and its dynamic dims take any size. The cpu
device compiles the dynamic program once and runs it on those shapes, allocating each result at
the shape `mxir.passes.concrete` infers for them; arguments whose sizes disagree where an op
needs them equal are an error at that op. Results print with their static types.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

import numpy as np
from mlir import ir
from mxir.dialect import MxError, TensorType
from mxir.dialect.core import dense_from_ir, dense_to_ir, to_storage
from mxir.passes import PASSES, PIPELINES, run_pipeline
from mxir.passes.concrete import concrete_results, fits
from mxir.passes.isolate import Crash, run_isolated
from mxir.passes.registry import expand, mark_entry

from . import driver
from .diagnostics import Diag, from_mx_error, screen

PROG = "mxir-run"
DEVICES = ("cpu", "reference")
TRANSFORMS = "mx-transforms"  # expands mx.vjp / mx.jvp / mx.vmap where registered
CPU_PIPELINE = "mx-to-cpu"


@dataclass
class RunResult:
    lines: list[str]
    diags: list[Diag]


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # exit status 1 like every other error of the tools
        self.print_usage(sys.stderr)
        self.exit(1, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog=PROG, description="Run a function of an mx IR file and print its results as "
        "dense literals.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='example: mxir-run f.mlir --entry main "dense<[1.0, 2.0]> : tensor<2xf32>"\n\n'
        "A dynamic dim (tensor<?xf32>) takes any size: an argument of type tensor<?xf32>\n"
        'may be "dense<[1.0, 2.0]> : tensor<2xf32>". The cpu device compiles the dynamic\n'
        "program once; results print with their static types.")
    p.add_argument("input", metavar="FILE", help="the .mlir file, or - for stdin")
    p.add_argument("--entry", default="main", help="the function to run (default: main)")
    p.add_argument("--device", default="cpu", choices=DEVICES,
                   help="cpu: compile and JIT (default); reference: the NumPy interpreter")
    p.add_argument("args", nargs="*", metavar="ARG",
                   help='an argument as a dense literal, e.g. "dense<1.0> : tensor<2xf32>"; '
                   'its static type fills the dynamic dims (?) of the argument type')
    return p


def entry_signature(module, entry: str) -> tuple[list[TensorType], list[TensorType]]:
    for op in module.body.operations:
        if op.operation.name == "func.func" and \
                ir.StringAttr(op.attributes["sym_name"]).value == entry:
            ftype = ir.FunctionType(ir.TypeAttr(op.attributes["function_type"]).value)
            try:
                return ([TensorType.from_ir(t) for t in ftype.inputs],
                        [TensorType.from_ir(t) for t in ftype.results])
            except MxError as e:
                raise MxError(f"@{entry}: {e.message}", op.location) from None
    raise MxError(f"no function named @{entry} in the module")


def parse_arguments(args: list[str], types: list[TensorType], entry: str) -> list[np.ndarray]:
    if len(args) != len(types):
        raise MxError(f"@{entry} takes {len(types)} argument(s), got {len(args)}")
    values = []
    for i, (text, ttype) in enumerate(zip(args, types, strict=True), start=1):
        if screen(text, "<argument>") is not None:
            raise MxError(f"argument {i}: unsupported literal '{text}'")
        try:
            attr = ir.Attribute.parse(text)
        except ir.MLIRError as e:
            msgs = "; ".join(d.message for d in e.error_diagnostics) or str(e)
            raise MxError(f"argument {i}: cannot parse '{text}': {msgs}") from None
        except (TypeError, ValueError) as e:  # e.g. complex elements: no Python attribute class
            raise MxError(f"argument {i}: unsupported literal '{text}': {e}") from None
        if not isinstance(attr, ir.DenseElementsAttr):
            raise MxError(f"argument {i}: expected a dense literal such as "
                          f"'dense<...> : {ttype}', got '{text}'")
        try:
            got = TensorType.from_ir(attr.type)
        except MxError:
            got = None
        if got is None or not fits(got, ttype):  # a dynamic dim takes any size
            raise MxError(f"argument {i} of @{entry} must have type {ttype}, got {attr.type}")
        values.append(dense_from_ir(attr, got))
    return values


def dense_literal(value: np.ndarray, ttype: TensorType) -> str:
    """`dense<[...]> : tensor<...>` with MLIR's element printing. MLIR prints more than 100
    elements as a hex blob, so large results are printed in slices and nested here."""
    text = str(dense_to_ir(value, ttype))
    if '"0x' not in text:
        return text
    flat = np.asarray(value).reshape(-1)
    elems: list[str] = []
    for k in range(0, flat.size, 64):
        part = flat[k:k + 64]
        t = str(dense_to_ir(part, TensorType((part.size,), ttype.dtype)))
        body = t[len("dense<"):t.rindex("> : ")]
        elems.extend(body[1:-1].split(", ") if body.startswith("[") else [body] * part.size)

    def nest(dims, start):
        if not dims:
            return elems[start], start + 1
        parts = []
        for _ in range(dims[0]):
            s, start = nest(dims[1:], start)
            parts.append(s)
        return "[" + ", ".join(parts) + "]", start

    return f"dense<{nest(list(ttype.shape), 0)[0]}> : {ttype}"


def execute(module, entry: str, device: str, inputs: list, in_types: list[TensorType],
            out_types: list[TensorType]) -> tuple[list, list[TensorType]]:
    """The results of `entry` on `inputs`, and their (static) types."""
    if TRANSFORMS in PASSES or TRANSFORMS in PIPELINES:
        run_pipeline(module, [TRANSFORMS])
    if device == "reference":
        from mxir.passes.reference import interpret

        outs = interpret(module, entry, inputs)
        return outs, [t.with_shape(np.shape(o)) for o, t in zip(outs, out_types, strict=True)]
    from mxir.runtime.cpu import CpuExecutable

    if any(t.dynamic for t in [*in_types, *out_types]):
        # the outputs are allocated here, so their shapes for these arguments come first
        args = [t.with_shape(np.shape(v)) for v, t in zip(inputs, in_types, strict=True)]
        out_types = concrete_results(module, entry, args)

    mark_entry(module, entry)
    for step in expand([CPU_PIPELINE]):
        # the registry's marking step knows only @main; the entry was marked above
        if step in PASSES and PASSES[step].run is mark_entry:
            continue
        run_pipeline(module, [step])
    outs = [np.empty(t.shape, to_storage(np.zeros(()), t.dtype).dtype) for t in out_types]
    CpuExecutable(module, entry)(inputs, outs)
    return outs, out_types


def work(text: str, display: str, entry: str, device: str, args: list[str]) -> RunResult:
    with driver.context(), ir.Location.unknown():
        module, diags = driver.load(text, display)
        if module is None:
            return RunResult([], diags)
        try:
            in_types, out_types = entry_signature(module, entry)
            inputs = parse_arguments(args, in_types, entry)
            outs, out_types = execute(module, entry, device, inputs, in_types, out_types)
            lines = [dense_literal(o, t) for o, t in zip(outs, out_types, strict=True)]
            return RunResult(lines, [])
        except MxError as e:
            return RunResult([], [from_mx_error(e, display)])
        except ir.MLIRError as e:
            return RunResult([], driver.mlir_error_diags(e, display))


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_intermixed_args(sys.argv[1:] if argv is None else argv)
    loaded = driver.load_text(args.input, PROG)
    if loaded is None:
        return 1
    text, display = loaded

    def job(_):
        try:
            return work(text, display, args.entry, args.device, args.args)
        except Exception as e:  # noqa: BLE001 - a bug must not print a traceback
            return RunResult([], [driver.internal_error(e, "while running")])

    (res,) = run_isolated(job, [None])
    if isinstance(res, Crash):
        res = RunResult([], [Diag("error", res.describe(f"while running @{args.entry}"))])
    driver.print_diags(res.diags, text, display, PROG)
    if driver.has_errors(res.diags):
        return 1
    for line in res.lines:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
