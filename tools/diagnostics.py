"""Diagnostics for the tools: `FILE:LINE:COL: error: message` as mlir-opt prints them, input
screening (bytes that are not UTF-8, nesting that would overflow MLIR's parser, attributes that
abort it), `// -----` splitting and `--verify-diagnostics` expectations."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Module.parse names its buffer "-": locations in it are mapped back to the real file name.
PARSE_BUFFER = "-"
# MLIR's recursive-descent parser overflows the stack at ~3,000 nested regions and our Python
# walkers recurse once per level; no real program comes near this many open brackets.
MAX_NESTING = 1000
SPLIT_MARKER = "// -----"
_LOC = re.compile(r'"((?:[^"\\]|\\.)*)":(\d+):(\d+)')


@dataclass
class Diag:
    """One diagnostic; `file` None means an unknown location."""

    severity: str  # error | warning | note | remark
    message: str
    file: str | None = None
    line: int = 0
    col: int = 0
    notes: list[Diag] = field(default_factory=list)


def location_parts(loc, display: str) -> tuple[str | None, int, int]:
    """(file, line, col) of the first file location inside an MLIR location (or its text)."""
    m = _LOC.search(str(loc)) if loc is not None else None
    if not m:
        return None, 0, 0
    name = m.group(1)
    return (display if name == PARSE_BUFFER else name), int(m.group(2)), int(m.group(3))


def _severity(sev) -> str:
    text = str(sev).rsplit(".", 1)[-1].lower()
    return text if text in ("error", "warning", "note", "remark") else "error"


def from_mlir(d, display: str) -> Diag:
    """A Diag from MLIR's Diagnostic or DiagnosticInfo (copied: MLIR's object dies with the
    handler call)."""
    f, line, col = location_parts(d.location, display)
    notes = [from_mlir(n, display) for n in d.notes]
    return Diag(_severity(d.severity), str(d.message), f, line, col, notes)


def from_mx_error(e, display: str) -> Diag:
    f, line, col = location_parts(getattr(e, "location", None), display)
    return Diag("error", getattr(e, "message", str(e)), f, line, col)


def flatten(diags: list[Diag]) -> list[Diag]:
    out = []
    for d in diags:
        out.append(d)
        out.extend(flatten(d.notes))
    return out


def render(diag: Diag, lines: dict[str, list[str]] | None = None, prog: str = "") -> str:
    """mlir-opt's format, with the source line and a caret when the file is known; without a
    location, `prog: error: message`."""
    out = []
    for d in flatten([diag]):
        where = f"{d.file}:{d.line}:{d.col}: " if d.file is not None else (
            f"{prog}: " if prog else "")
        out.append(f"{where}{d.severity}: {d.message}")
        src = (lines or {}).get(d.file)
        if src and 1 <= d.line <= len(src) and not d.message.startswith("see current operation"):
            text = src[d.line - 1].rstrip("\r\n")
            if len(text) <= 400:
                out.append(text)
                out.append(" " * max(d.col - 1, 0) + "^")
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------
# Input screening (runs before MLIR sees the text)
def decode(data: bytes, display: str) -> tuple[str | None, Diag | None]:
    """UTF-8 text of `data`, or an error at the first byte that is not UTF-8."""
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        col = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        byte = data[e.start]
        return None, Diag("error", f"invalid UTF-8 byte 0x{byte:02x} in input", display, line, col)


_TOKENS = re.compile(
    r'"(?:[^"\\\n]|\\.)*"'  # string literal (brackets inside do not count)
    r"|//[^\n]*"  # comment
    r"|->|[<>]="  # arrows and comparisons are not brackets
    r"|\barray\s*<\s*index\b"  # a dense array of index elements aborts MLIR's printer/parser
    r"|[\[({<\])}>\n]"
)
_OPEN, _CLOSE = "[({<", "])}>"


def screen(text: str, display: str) -> Diag | None:
    """An error for input known to crash MLIR: too deep nesting, `array<index: ...>`."""
    depth, line, line_start = 0, 1, 0
    for m in _TOKENS.finditer(text):
        tok = m.group()
        if tok == "\n":
            line, line_start = line + 1, m.end()
        elif tok in _OPEN:
            depth += 1
            if depth > MAX_NESTING:
                return Diag("error", f"nesting deeper than {MAX_NESTING} levels is not supported",
                            display, line, m.start() - line_start + 1)
        elif tok in _CLOSE:
            depth = max(depth - 1, 0)
        elif tok.startswith("array"):
            return Diag("error", "dense arrays of 'index' elements are not supported; "
                        "use array<i64: ...>", display, line, m.start() - line_start + 1)
    return None


def split_input(text: str, split: bool) -> list[tuple[int, str]]:
    """(first line number, text) per `// -----`-separated chunk (one chunk unless `split`)."""
    if not split:
        return [(1, text)]
    chunks, current, first = [], [], 1
    for i, line in enumerate(text.splitlines(keepends=True), start=1):
        if line.strip().startswith(SPLIT_MARKER):
            chunks.append((first, "".join(current)))
            current, first = [], i + 1
        else:
            current.append(line)
    chunks.append((first, "".join(current)))
    return chunks


# ---------------------------------------------------------------------------------------------
# --verify-diagnostics
_EXPECT = re.compile(r"expected-(error|warning|note|remark)(-re)?\s*"
                     r"(?:@(above|below|unknown|[+-]\d+))?\s*\{\{")


@dataclass
class Expected:
    severity: str
    pattern: re.Pattern
    text: str
    line: int | None  # None: @unknown
    where: tuple[int, int]  # line, col of the comment itself
    seen: bool = False


def _pattern(content: str, is_regex: bool) -> re.Pattern:
    if not is_regex:
        return re.compile(re.escape(content))
    parts = re.split(r"\{\{(.*?)\}\}", content)
    return re.compile("".join(p if i % 2 else re.escape(p) for i, p in enumerate(parts)))


def expectations(text: str, first_line: int) -> tuple[list[Expected], list[Diag]]:
    """The expected diagnostics written in `text` (a chunk starting at `first_line`), plus
    errors for malformed expectation comments (their file is filled in by `check_expected`)."""
    found, bad = [], []
    for i, src in enumerate(text.splitlines(), start=first_line):
        for m in _EXPECT.finditer(src):
            sev, is_regex, anchor = m.group(1), bool(m.group(2)), m.group(3)
            rest = src[m.end():]
            end = rest.rfind("}}") if is_regex else rest.find("}}")
            col = m.start() + 1
            if end < 0:
                bad.append(Diag("error", "expected '}}' to close the expected text", None, i, col))
                continue
            content = rest[:end]
            if anchor in (None, ""):
                line = i
            elif anchor == "above":
                line = i - 1
            elif anchor == "below":
                line = i + 1
            elif anchor == "unknown":
                line = None
            else:
                line = i + int(anchor)
            try:
                pattern = _pattern(content, is_regex)
            except re.error as e:
                bad.append(Diag("error", f"invalid regex in expected text: {e}", None, i, col))
                continue
            found.append(Expected(sev, pattern, content, line, (i, col)))
    return found, bad


def check_expected(diags: list[Diag], expected: list[Expected], display: str,
                   bad: list[Diag]) -> list[Diag]:
    """Errors for every diagnostic that was not expected and every expectation not produced."""
    problems = []
    for b in bad:
        b.file = display
        problems.append(b)
    for d in flatten(diags):
        if d.severity == "note" and d.message.startswith("see current operation"):
            continue  # mlir-opt does not attach this note under --verify-diagnostics
        known = d.file == display
        for e in expected:
            if e.seen or e.severity != d.severity:
                continue
            if (e.line is None and d.file is None) or (known and e.line == d.line):
                if e.pattern.search(d.message):
                    e.seen = True
                    break
        else:
            problems.append(Diag("error", f"unexpected {d.severity}: {d.message}", d.file,
                                 d.line, d.col))
    for e in expected:
        if not e.seen:
            problems.append(Diag("error", f'expected {e.severity} "{e.text}" was not produced',
                                 display, e.where[0], e.where[1]))
    return problems
