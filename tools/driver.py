"""What the tools share: reading the input, parsing and verifying it in the `mx` context with
every diagnostic captured, and printing diagnostics mlir-opt style."""

from __future__ import annotations

import sys

from mlir import ir
from mxir.dialect import MxError, new_context
from mxir.passes import verify

from .diagnostics import Diag, decode, from_mlir, from_mx_error, render, screen

STDIN = "<stdin>"


class UsageError(Exception):
    """A bad command line or unreadable input: `prog: error: message`, exit 1."""


def read_input(path: str) -> tuple[bytes, str]:
    """(bytes, display name) of FILE or `-` (stdin)."""
    if path == "-":
        return sys.stdin.buffer.read(), STDIN
    try:
        with open(path, "rb") as f:
            return f.read(), path
    except OSError as e:
        raise UsageError(f"cannot open input file '{path}': {e.strerror}") from None


def decode_input(data: bytes, display: str) -> tuple[str | None, list[Diag]]:
    text, err = decode(data, display)
    return text, ([err] if err else [])


def load_text(path: str, prog: str) -> tuple[str, str] | None:
    """(text, display name) of FILE or `-`, or None after reporting why it can't be read
    (`prog: error: ...` for an unreadable file, a located error for bytes that aren't UTF-8)."""
    try:
        data, display = read_input(path)
    except UsageError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return None
    text, diags = decode_input(data, display)
    if text is None:
        print_diags(diags, None, display, prog)
        return None
    return text, display


# One context per process: created lazily in the (forked) child, never in the parent, so no
# MLIR thread exists when the tool forks.
_CTX = None
_CAPTURED: list = []


def context():
    global _CTX
    if _CTX is None:
        _CTX = new_context()
        # warnings and remarks of passes that succeed would otherwise go to native stderr
        _CTX.attach_diagnostic_handler(_capture)
    return _CTX


def _capture(d) -> bool:
    _CAPTURED.append((d.severity, str(d.location), str(d.message), d))
    return True


def take_captured(display: str) -> list[Diag]:
    out = [from_mlir(d, display) for *_, d in _CAPTURED]
    _CAPTURED.clear()
    return out


def mlir_error_diags(e: ir.MLIRError, display: str) -> list[Diag]:
    diags = [from_mlir(d, display) for d in e.error_diagnostics]
    return diags or [Diag("error", str(e).strip())]


def parse(text: str, display: str) -> tuple[object | None, list[Diag]]:
    """(module, []) or (None, diagnostics); `text` must already be screened."""
    bad = screen(text, display)
    if bad is not None:
        return None, [bad]
    try:
        return ir.Module.parse(text), []
    except ir.MLIRError as e:
        return None, mlir_error_diags(e, display)


def check(module, display: str) -> list[Diag]:
    """MLIR's verifier (all its diagnostics), then the `mx` verifier (types via infer)."""
    try:
        module.operation.verify()
    except ir.MLIRError as e:
        return mlir_error_diags(e, display)
    try:
        verify(module)
    except MxError as e:
        return [from_mx_error(e, display)]
    return []


def load(text: str, display: str) -> tuple[object | None, list[Diag]]:
    """Parse and verify; call inside `with context(), ir.Location.unknown():`."""
    module, diags = parse(text, display)
    if module is None:
        return None, diags
    diags = check(module, display)
    return (module if not diags else None), diags


def internal_error(e: BaseException, what: str) -> Diag:
    return Diag("error", f"internal error {what}: {type(e).__name__}: {e}")


def print_diags(diags: list[Diag], text: str | None, display: str, prog: str) -> None:
    lines = {display: text.splitlines()} if text is not None else {}
    for d in diags:
        print(render(d, lines, prog), file=sys.stderr)


def has_errors(diags: list[Diag]) -> bool:
    return any(d.severity == "error" for d in diags)
