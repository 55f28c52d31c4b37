"""`mxir-opt`: parse `mx` IR, run our passes and upstream MLIR passes, print the result.

Flags named after a registry pass or pipeline run it; any other `--name`, `--name=opts` or
`--name{opts}` is an upstream pass, run textually (consecutive ones share one PassManager).
`--pass-pipeline='builtin.module(a,mx-autodiff,b)'` is split at the top level the same way.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field

from mlir import ir, passmanager
from mxir.dialect import MxError
from mxir.passes import PASSES, PIPELINES, run_pipeline
from mxir.passes.isolate import Crash, run_isolated

from . import driver
from .diagnostics import (
    SPLIT_MARKER,
    Diag,
    check_expected,
    expectations,
    from_mx_error,
    split_input,
)

PROG = "mxir-opt"


@dataclass(frozen=True)
class Step:
    text: str  # a registry name, or a textual upstream pipeline element
    ours: bool
    flag: str  # how the user spelled it, for error messages


@dataclass
class Options:
    input: str = "-"
    output: str = "-"
    steps: list[Step] = field(default_factory=list)
    split: bool = False
    verify_diagnostics: bool = False
    print_after_all: bool = False


def is_ours(name: str) -> bool:
    return name in PASSES or name in PIPELINES


def usage() -> str:
    lines = [
        f"usage: {PROG} [FILE|-] [-o OUT] [--PASS ...] [--pass-pipeline='builtin.module(...)']",
        "                [--split-input-file] [--verify-diagnostics] [--mlir-print-ir-after-all]",
        "",
        "Parses mx IR (generic form), verifies it, runs the passes in command-line order and",
        "prints the module. Any upstream mlir-opt pass works too (--canonicalize, --cse,",
        "--convert-linalg-to-loops, --one-shot-bufferize=\"bufferize-function-boundaries\", ...).",
        "",
        "options:",
        "  -o OUT                     write the output to OUT (default: stdout)",
        "  --pass-pipeline=PIPELINE   a textual pipeline; may name mx passes at its top level",
        "  --split-input-file         process each '// -----' separated chunk on its own",
        "  --verify-diagnostics       check diagnostics against '// expected-error {{...}}'",
        "  --mlir-print-ir-after-all  print the IR after every pass to stderr",
        "  -h, --help                 show this help",
        "",
        "mx passes:",
    ]
    width = max([len(n) for n in list(PASSES) + list(PIPELINES)] + [10]) + 4
    for name in sorted(PASSES):
        lines.append(f"  --{name.ljust(width)}{PASSES[name].summary}")
    lines.append("")
    lines.append("mx pipelines:")
    for name in sorted(PIPELINES):
        parts = [p if is_ours(p) else f"'{p[:40]}...'" if len(p) > 40 else f"'{p}'"
                 for p in PIPELINES[name]]
        lines.append(f"  --{name.ljust(width)}" + ", ".join(parts))
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Command line
def split_top_level(text: str) -> list[str]:
    """Elements of a pipeline at bracket depth 0 (quotes and nested `()`/`{}` kept whole)."""
    out, depth, quote, cur = [], 0, None, []
    for ch in text:
        if quote:
            quote = None if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "({[":
            depth += 1
        elif ch in ")}]":
            depth -= 1
            if depth < 0:
                raise driver.UsageError(f"unbalanced ')' in pipeline '{text}'")
        elif ch == "," and depth == 0:
            out.append("".join(cur).strip())
            cur = []
            continue
        cur.append(ch)
    if depth or quote:
        raise driver.UsageError(f"unbalanced brackets or quotes in pipeline '{text}'")
    out.append("".join(cur).strip())
    return [e for e in out if e]


def _element_step(element: str, flag: str) -> Step:
    name = element
    for i, ch in enumerate(element):
        if ch in "({":
            name = element[:i].strip()
            break
    for ours in list(PASSES) + list(PIPELINES):
        if name != ours and re.search(rf"(?<![\w.-]){re.escape(ours)}(?![\w-])", element):
            raise driver.UsageError(f"'{ours}' runs on the whole module: put it at the top "
                                    f"level of the pipeline ({flag})")
    if is_ours(name):
        if name != element:
            raise driver.UsageError(f"'{name}' takes no options or nested pipeline ({flag})")
        return Step(name, True, flag)
    return Step(element, False, flag)


def pipeline_steps(text: str) -> list[Step]:
    flag = f"--pass-pipeline='{text}'"
    body = text.strip()
    split_top_level(body)  # reports unbalanced brackets against the text as written
    if body.startswith("builtin.module(") and body.endswith(")"):
        inner = body[len("builtin.module("):-1]
        if split_top_level(f"({inner})") == [f"({inner})"]:  # one balanced anchor
            body = inner
    return [_element_step(e, flag) for e in split_top_level(body)]


def pass_flag_step(arg: str) -> Step:
    """`--name`, `--name=opts` (mlir-opt's spelling of pass options) or `--name{opts}`."""
    spec = arg.lstrip("-")
    name, eq, value = spec.partition("=")
    if "{" in name:
        return _element_step(spec, arg)
    if not name:
        raise driver.UsageError(f"unknown argument '{arg}'")
    if eq:
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        return _element_step(f"{name}{{{value}}}", arg)
    return _element_step(name, arg)


def parse_args(argv: list[str]) -> Options | None:
    """Options, or None when help was printed."""
    opts, inputs, i = Options(), [], 0
    while i < len(argv):
        arg = argv[i]
        i += 1

        def value(flag, arg=arg):
            nonlocal i
            if "=" in arg:
                return arg.split("=", 1)[1]
            if i >= len(argv):
                raise driver.UsageError(f"{flag} needs a value")
            i += 1
            return argv[i - 1]

        if arg in ("-h", "--help", "-help"):
            print(usage())
            return None
        if arg == "-" or not arg.startswith("-"):
            inputs.append(arg)
        elif arg == "-o" or arg.startswith("-o="):  # not -oFILE: -one-shot-bufferize is a pass
            opts.output = value("-o")
        elif arg in ("--pass-pipeline", "-pass-pipeline") or arg.startswith(
                ("--pass-pipeline=", "-pass-pipeline=")):
            opts.steps.extend(pipeline_steps(value("--pass-pipeline")))
        elif arg in ("--split-input-file", "-split-input-file"):
            opts.split = True
        elif arg in ("--verify-diagnostics", "-verify-diagnostics"):
            opts.verify_diagnostics = True
        elif arg in ("--mlir-print-ir-after-all", "-mlir-print-ir-after-all"):
            opts.print_after_all = True
        elif arg == "--":
            inputs.extend(argv[i:])
            break
        else:
            opts.steps.append(pass_flag_step(arg))
    if len(inputs) > 1:
        raise driver.UsageError(f"more than one input file: {' '.join(inputs)}")
    if inputs:
        opts.input = inputs[0]
    return opts


def grouped(steps: list[Step], splice: bool) -> list[Step]:
    """Consecutive upstream elements joined into one textual segment (unless `splice` is off,
    as for --mlir-print-ir-after-all, which dumps after each element)."""
    out: list[Step] = []
    for s in steps:
        if splice and out and not s.ours and not out[-1].ours:
            prev = out[-1]
            out[-1] = Step(f"{prev.text},{s.text}", False, f"{prev.flag} {s.flag}")
        else:
            out.append(s)
    return out


# ---------------------------------------------------------------------------------------------
# Work done in the isolated child
@dataclass
class ChunkResult:
    output: str | None
    diags: list[Diag]
    dumps: str = ""
    fatal: bool = False  # a bad pipeline: nothing else runs


def validate(steps: list[Step]) -> ChunkResult:
    """Each upstream element must name a registered pass with valid options."""
    with driver.context():
        for s in steps:
            if s.ours:
                continue
            try:
                passmanager.PassManager.parse(f"builtin.module({s.text})")
            except ValueError as e:
                msg = _pipeline_error(str(e))
                return ChunkResult(None, [Diag("error", f"{s.flag}: {msg}")], fatal=True)
    return ChunkResult(None, [])


def _pipeline_error(text: str) -> str:
    for line in text.splitlines():
        line = line.strip()
        if "error:" in line:
            return line.split("error:", 1)[1].strip()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return "; ".join(lines) or "invalid pass pipeline"


def process(opts: Options, display: str, first_line: int, chunk: str) -> ChunkResult:
    text = "\n" * (first_line - 1) + chunk  # keeps MLIR's line numbers those of the file
    dumps: list[str] = []
    with driver.context(), ir.Location.unknown():
        driver.take_captured(display)
        module, diags = driver.load(text, display)
        if module is None:
            return ChunkResult(None, diags + driver.take_captured(display))

        def dump(step, mod):
            dumps.append(f"// -----// IR Dump After {step} //----- //\n{mod}\n")

        for step in grouped(opts.steps, splice=not opts.print_after_all):
            try:
                if step.ours:
                    run_pipeline(module, [step.text],
                                 after_each=dump if opts.print_after_all else None)
                else:
                    run_pipeline(module, [step.text])
                    if opts.print_after_all:
                        dump(step.text, module)
            except MxError as e:
                diags = driver.take_captured(display) + [from_mx_error(e, display)]
                return ChunkResult(None, _dedupe(diags), "".join(dumps))
            except ir.MLIRError as e:
                diags = driver.take_captured(display) + driver.mlir_error_diags(e, display)
                return ChunkResult(None, _dedupe(diags), "".join(dumps))
            except Exception as e:  # noqa: BLE001 - a bug in a pass must not print a traceback
                diag = driver.internal_error(e, f"in pass '{step.text}'")
                return ChunkResult(None, [diag], "".join(dumps))
        try:
            module.operation.verify()
        except ir.MLIRError as e:
            diags = driver.mlir_error_diags(e, display)
            for d in diags:
                d.message = f"IR is invalid after the passes: {d.message}"
            return ChunkResult(None, diags, "".join(dumps))
        return ChunkResult(str(module), driver.take_captured(display), "".join(dumps))


def _dedupe(diags: list[Diag]) -> list[Diag]:
    seen, out = set(), []
    for d in diags:
        key = (d.severity, d.message, d.file, d.line, d.col)
        if key not in seen:
            seen.add(key)
            out.append(d)
    return out


# ---------------------------------------------------------------------------------------------
def run(opts: Options) -> int:
    data, display = driver.read_input(opts.input)
    text, diags = driver.decode_input(data, display)
    if text is None:
        driver.print_diags(diags, None, display, PROG)
        return 1
    chunks = split_input(text, opts.split)
    items = [("validate", None)] + [("chunk", c) for c in chunks]

    def work(item):
        kind, payload = item
        try:
            if kind == "validate":
                return validate(opts.steps)
            return process(opts, display, *payload)
        except Exception as e:  # noqa: BLE001
            return ChunkResult(None, [driver.internal_error(e, "while processing the input")])

    results = run_isolated(work, items, stop=lambda r: getattr(r, "fatal", False))
    check = results[0]
    if isinstance(check, Crash) or check.fatal:
        msg = (check.describe("while checking the pass pipeline") if isinstance(check, Crash)
               else check.diags[0].message)
        print(f"{PROG}: error: {msg}", file=sys.stderr)
        return 1

    failed, outputs = False, []
    for (first_line, chunk), res in zip(chunks, results[1:], strict=True):
        if isinstance(res, Crash):
            line = first_line + _leading_blank_lines(chunk)
            msg = res.describe("while processing this input")
            res = ChunkResult(None, [Diag("error", msg, display, line, 1)])
        if res.dumps:
            sys.stderr.write(res.dumps)
        if opts.verify_diagnostics:
            expected, bad = expectations(chunk, first_line)
            problems = check_expected(res.diags, expected, display, bad)
            driver.print_diags(problems, text, display, PROG)
            failed |= bool(problems)
        else:
            driver.print_diags(res.diags, text, display, PROG)
            failed |= driver.has_errors(res.diags)
        outputs.append(res.output if res.output is not None else "")
    _write(opts.output, f"{SPLIT_MARKER}\n".join(o for o in outputs), any_output=any(outputs))
    return 1 if failed else 0


def _leading_blank_lines(chunk: str) -> int:
    n = 0
    for line in chunk.splitlines():
        if line.strip() and not line.strip().startswith("//"):
            break
        n += 1
    return n


def _write(path: str, text: str, any_output: bool) -> None:
    if path == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
    elif any_output:
        try:
            with open(path, "w") as f:
                f.write(text)
        except OSError as e:
            raise driver.UsageError(f"cannot write '{path}': {e.strerror}") from None


def main(argv: list[str] | None = None) -> int:
    try:
        opts = parse_args(sys.argv[1:] if argv is None else argv)
        if opts is None:
            return 0
        return run(opts)
    except driver.UsageError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
