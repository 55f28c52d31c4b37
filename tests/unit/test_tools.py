"""The console scripts (mxir-opt, mxir-run, mxir-translate) run as subprocesses: exit codes,
`FILE:LINE:COL: error:` diagnostics, survival of inputs that abort MLIR, and results that
match NumPy."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pytest
from mxir.passes.isolate import Crash, run_isolated
from mxir.tools.diagnostics import Diag, check_expected, expectations, screen, split_input

BIN = os.path.dirname(sys.executable)


def tool(name: str, *args, stdin: bytes | None = None, env=None):
    script = os.path.join(BIN, name)
    cmd = [script] if os.path.exists(script) else [
        sys.executable, "-m", "mxir.tools." + name.split("-", 1)[1]]
    p = subprocess.run(cmd + [str(a) for a in args], input=stdin, capture_output=True,
                       timeout=120, env=env)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


SIN = """func.func @main(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = "mx.sin"(%x) : (tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}
"""
BAD_ARITY = """func.func @main(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = "mx.add"(%x) : (tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}
"""
# An attribute of the wrong kind on a registered op: an assertion aborts MLIR 22's parser.
ABORTS = """func.func @f(%a: tensor<2x3xf32>, %b: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %0 = linalg.transpose ins(%a : tensor<2x3xf32>) outs(%b : tensor<3x2xf32>) permutation = true
  return %0 : tensor<3x2xf32>
}
"""


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_bytes(text.encode() if isinstance(text, str) else text)
    return p


# ---------------------------------------------------------------------------------------------
# mxir-opt
def test_opt_prints_generic_form_and_exits_0(tmp_path):
    rc, out, err = tool("mxir-opt", write(tmp_path, "sin.mlir", SIN))
    assert (rc, err) == (0, "")
    assert '%0 = "mx.sin"(%arg0) : (tensor<4xf32>) -> tensor<4xf32>' in out


def test_opt_error_has_file_line_col_and_no_traceback(tmp_path):
    path = write(tmp_path, "bad.mlir", BAD_ARITY)
    rc, out, err = tool("mxir-opt", path)
    assert rc == 1 and out == ""
    assert re.match(rf"{re.escape(str(path))}:2:8: error: 'mx.add' .*2 operands, got 1", err)
    assert "Traceback" not in err


def test_opt_survives_mlir_abort(tmp_path):
    path = write(tmp_path, "abort.mlir", ABORTS)
    rc, out, err = tool("mxir-opt", path)
    assert rc == 1  # not a signal: the abort happened in the isolated child
    assert err.startswith(f"{path}:1:1: error: MLIR crashed (SIGABRT)")
    assert "Assertion" in err and "/llvm-project/" not in err


def test_opt_reports_invalid_utf8_from_stdin():
    rc, _, err = tool("mxir-opt", "-", stdin=b"func.func @f() {\n  return // \xff\n}\n")
    assert rc == 1
    assert err.startswith("<stdin>:2:13: error: invalid UTF-8 byte 0xff")


def test_opt_split_input_file_keeps_line_numbers(tmp_path):
    text = SIN + "\n// -----\n\n" + BAD_ARITY + "// -----\n" + SIN
    path = write(tmp_path, "split.mlir", text)
    rc, out, err = tool("mxir-opt", path, "--split-input-file")
    assert rc == 1
    bad_line = text.splitlines().index('  %0 = "mx.add"(%x) : (tensor<4xf32>) -> tensor<4xf32>') + 1
    assert err.startswith(f"{path}:{bad_line}:8: error:")
    assert out.count("// -----\n") == 2 and out.count('"mx.sin"') == 2


def test_opt_verify_diagnostics_exit_codes(tmp_path):
    good = BAD_ARITY.replace("  %0 =", "  // expected-error @+1 {{expects 2 operands}}\n  %0 =")
    assert tool("mxir-opt", write(tmp_path, "g.mlir", good), "--verify-diagnostics")[0] == 0
    wrong = good.replace("expects 2 operands", "something else")
    rc, _, err = tool("mxir-opt", write(tmp_path, "w.mlir", wrong), "--verify-diagnostics")
    assert rc == 1
    assert "unexpected error" in err and 'expected error "something else" was not produced' in err


def test_opt_mixes_registry_and_upstream_passes(tmp_path):
    path = write(tmp_path, "sin.mlir", SIN)
    rc, out, err = tool("mxir-opt", path, "--pass-pipeline=builtin.module(mx-to-linalg,cse)")
    assert (rc, err) == (0, "")
    assert "math.sin" in out and "mx." not in out
    rc, _, err = tool("mxir-opt", path, "--no-such-pass")
    assert rc == 1 and err.startswith("mxir-opt: error: --no-such-pass:")


def test_opt_output_file(tmp_path):
    out_path = tmp_path / "out.mlir"
    rc, out, _ = tool("mxir-opt", write(tmp_path, "sin.mlir", SIN), "-o", out_path)
    assert rc == 0 and out == ""
    assert '"mx.sin"' in out_path.read_text()


# ---------------------------------------------------------------------------------------------
# mxir-run
def parse_literal(text: str) -> np.ndarray:
    from mlir import ir

    with ir.Context():
        return np.array(ir.DenseElementsAttr(ir.Attribute.parse(text)))


@pytest.mark.parametrize("device", ["cpu", "reference"])
def test_run_matches_numpy(tmp_path, device):
    x = np.array([0.25, -1.5, 3.0, 10.0], np.float32)
    arg = "dense<[" + ", ".join(repr(float(v)) for v in x) + "]> : tensor<4xf32>"
    rc, out, err = tool("mxir-run", write(tmp_path, "sin.mlir", SIN), "--device", device, arg)
    assert (rc, err) == (0, "")
    (line,) = out.splitlines()
    assert line.endswith(" : tensor<4xf32>")
    np.testing.assert_allclose(parse_literal(line), np.sin(x), rtol=2e-6, atol=1e-7)


def test_run_argument_errors(tmp_path):
    path = write(tmp_path, "sin.mlir", SIN)
    rc, out, err = tool("mxir-run", path)
    assert (rc, out) == (1, "") and err == "mxir-run: error: @main takes 1 argument(s), got 0\n"
    rc, _, err = tool("mxir-run", path, "dense<1> : tensor<4xi32>")
    assert rc == 1
    assert err == "mxir-run: error: argument 1 of @main must have type tensor<4xf32>, " \
                  "got tensor<4xi32>\n"


# ---------------------------------------------------------------------------------------------
# mxir-translate
def test_translate_without_translation_lists_available(tmp_path):
    rc, _, err = tool("mxir-translate", write(tmp_path, "sin.mlir", SIN))
    assert rc == 1 and err.startswith("mxir-translate: error: no translation selected; available:")


def test_translate_runs_a_registered_translation(tmp_path):
    # a translation registered in the table is selectable by its flag and sees a verified module
    code = (
        "import sys\n"
        "from mxir.tools import translate\n"
        "translate.register_translation('count-ops', 'ops per function')(\n"
        "    lambda m: ''.join(f'{len(f.regions[0].blocks[0].operations)}\\n'\n"
        "                      for f in m.body.operations))\n"
        "sys.exit(translate.main(sys.argv[1:]))\n"
    )
    p = subprocess.run([sys.executable, "-c", code, str(write(tmp_path, "s.mlir", SIN)),
                        "--count-ops"], capture_output=True, text=True, timeout=120)
    assert (p.returncode, p.stdout, p.stderr) == (0, "2\n", "")
    p = subprocess.run([sys.executable, "-c", code, str(write(tmp_path, "b.mlir", BAD_ARITY)),
                        "--count-ops"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 1 and ":2:8: error:" in p.stderr


# ---------------------------------------------------------------------------------------------
# Pieces, in-process
def _abort_on_two(x):
    if x == 2:
        os.abort()
    return x * 10


def test_run_isolated_turns_a_crash_into_a_result_and_continues():
    results = run_isolated(_abort_on_two, [1, 2, 3])
    assert results[0] == 10 and results[2] == 30
    assert isinstance(results[1], Crash) and results[1].how == "SIGABRT"


def test_split_input_reports_first_line_of_each_chunk():
    chunks = split_input("a\nb\n// -----\nc\n// -----\n\nd\n", split=True)
    assert chunks == [(1, "a\nb\n"), (4, "c\n"), (6, "\nd\n")]


def test_screen_finds_index_arrays_outside_comments_and_strings():
    assert screen('// array<index: 0>\n%0 = "s"() {a = "array<index: 0>"}', "f") is None
    d = screen("\n  x {axes = array<index: 0>}", "f")
    assert (d.line, d.col) == (2, 13)
    deep = screen("(" * 1001, "f")
    assert deep is not None and deep.col == 1001


def test_expectations_anchor_lines():
    text = "// expected-error @+2 {{two}}\nx\ny // expected-error {{here}}\n" \
           "// expected-warning @above {{up}}\n// expected-error-re @below {{a{{[0-9]+}}b}}\n"
    found, bad = expectations(text, first_line=10)
    assert bad == []
    assert [(e.severity, e.line) for e in found] == [
        ("error", 12), ("error", 12), ("warning", 12), ("error", 15)]
    diags = [Diag("error", "two", "f", 12, 1), Diag("error", "here!", "f", 12, 3),
             Diag("warning", "up", "f", 12, 1), Diag("error", "a42b", "f", 15, 1)]
    assert check_expected(diags, found, "f", bad) == []
