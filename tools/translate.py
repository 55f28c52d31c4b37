"""`mxir-translate`: translate `mx`-derived IR out of MLIR (e.g. `--gpu-to-msl`).

A translation is a function `module -> str`, registered in TRANSLATIONS under its flag name;
the driver parses and verifies the input (in the crash-isolated child, like mxir-opt), runs the
selected translation and prints its text.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass

from mlir import ir
from mxir.dialect import MxError
from mxir.passes.isolate import Crash, run_isolated

from . import driver
from .diagnostics import Diag, from_mx_error

PROG = "mxir-translate"


@dataclass(frozen=True)
class Translation:
    name: str
    run: Callable  # module -> str
    summary: str


TRANSLATIONS: dict[str, Translation] = {}


def register_translation(name: str, summary: str):
    def deco(fn):
        TRANSLATIONS[name] = Translation(name, fn, summary)
        return fn

    return deco


@register_translation("gpu-to-msl", "gpu.module kernels -> Metal Shading Language")
def _gpu_to_msl(module) -> str:
    from mxir.passes.msl import translate_module  # imported on use: keeps startup light

    return translate_module(module)


@register_translation("gpu-to-ptx", "gpu.module kernels -> PTX (NVVM, sm_90)")
def _gpu_to_ptx(module) -> str:
    from mxir.passes.ptx import translate_module

    return translate_module(module)


def available() -> str:
    return ", ".join(f"--{n}" for n in sorted(TRANSLATIONS)) or "(none yet)"


def usage() -> str:
    lines = [f"usage: {PROG} [FILE|-] --TRANSLATION [-o OUT]", "",
             "Translates a module out of MLIR and prints the result.", "", "translations:"]
    for name in sorted(TRANSLATIONS):
        lines.append(f"  --{name.ljust(24)}{TRANSLATIONS[name].summary}")
    if not TRANSLATIONS:
        lines.append("  (none yet)")
    return "\n".join(lines)


@dataclass
class TranslateResult:
    text: str | None
    diags: list[Diag]


def parse_args(argv: list[str]):
    inputs, output, selected, i = [], "-", [], 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if arg in ("-h", "--help", "-help"):
            print(usage())
            return None
        if arg == "-" or not arg.startswith("-"):
            inputs.append(arg)
        elif arg == "-o":
            if i >= len(argv):
                raise driver.UsageError("-o needs a value")
            output, i = argv[i], i + 1
        elif arg.startswith("-o="):
            output = arg[3:]
        elif arg.lstrip("-") in TRANSLATIONS:
            selected.append(arg.lstrip("-"))
        else:
            raise driver.UsageError(f"unknown argument '{arg}'; translations: {available()}")
    if len(inputs) > 1:
        raise driver.UsageError(f"more than one input file: {' '.join(inputs)}")
    if not selected:
        raise driver.UsageError(f"no translation selected; available: {available()}")
    if len(selected) > 1:
        raise driver.UsageError("select one translation, got " +
                                ", ".join(f"--{s}" for s in selected))
    return (inputs[0] if inputs else "-"), output, TRANSLATIONS[selected[0]]


def work(text: str, display: str, translation: Translation) -> TranslateResult:
    with driver.context(), ir.Location.unknown():
        module, diags = driver.load(text, display)
        if module is None:
            return TranslateResult(None, diags)
        try:
            return TranslateResult(translation.run(module), [])
        except MxError as e:
            return TranslateResult(None, [from_mx_error(e, display)])
        except ir.MLIRError as e:
            return TranslateResult(None, driver.mlir_error_diags(e, display))


def main(argv: list[str] | None = None) -> int:
    try:
        parsed = parse_args(sys.argv[1:] if argv is None else argv)
        if parsed is None:
            return 0
        path, output, translation = parsed
    except driver.UsageError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 1
    loaded = driver.load_text(path, PROG)
    if loaded is None:
        return 1
    text, display = loaded

    def job(_):
        try:
            return work(text, display, translation)
        except Exception as e:  # noqa: BLE001 - a bug must not print a traceback
            return TranslateResult(None, [driver.internal_error(e, f"in --{translation.name}")])

    (res,) = run_isolated(job, [None])
    if isinstance(res, Crash):
        res = TranslateResult(None, [Diag("error", res.describe(f"in --{translation.name}"))])
    driver.print_diags(res.diags, text, display, PROG)
    if res.text is None or driver.has_errors(res.diags):
        return 1
    if output == "-":
        sys.stdout.write(res.text)
    else:
        try:
            with open(output, "w") as f:
                f.write(res.text)
        except OSError as e:
            print(f"{PROG}: error: cannot write '{output}': {e.strerror}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
