"""Run work that may abort the process (MLIR assertions, parser stack overflow) in a forked
child, so a tool turns a crash into an `error:` diagnostic, and the frontend into an exception,
instead of dying.

The tools fork after `mlir` and `mxir` are imported (about 2 ms, against ~0.3 s for a fresh
interpreter) but before any MLIR context exists, so no MLIR thread is running at the fork.
Results come back pickled through a pipe, one per work item; when the child dies on item k,
item k becomes a `Crash` and a new child carries on from item k + 1. The frontend compiles each
new program with `call_isolated` (python/mxir/evaluate.py), which builds its IR in a fresh
context in the child.
"""

from __future__ import annotations

import faulthandler
import os
import pickle
import re
import signal
import sys
import tempfile
import traceback
from collections.abc import Callable
from dataclasses import dataclass

# Set MXIR_NO_FORK=1 to run in-process (debugging with pdb; no crash protection).
_NO_FORK = os.environ.get("MXIR_NO_FORK") == "1" or not hasattr(os, "fork")
_NATIVE_MARKERS = ("LLVM ERROR", "UNREACHABLE", "error:", "Error")


@dataclass
class Crash:
    """The child died while working on an item: how, and the native message it printed."""

    how: str
    detail: str

    def describe(self, doing: str) -> str:
        return f"MLIR crashed ({self.how}) {doing}" + (f": {self.detail}" if self.detail else "")


def run_isolated(fn: Callable, items: list, stop: Callable = lambda result: False) -> list:
    """[fn(item) or Crash, ...] in order; after a result with stop(result) true, the remaining
    items are not run (their entries are None)."""
    results: list = [None] * len(items)
    if _NO_FORK:
        for k, item in enumerate(items):
            results[k] = fn(item)
            if stop(results[k]):
                break
        return results
    k = 0
    while k < len(items):
        def work(send, start=k):
            for i in range(start, len(items)):
                res = fn(items[i])
                send((i, res))
                if stop(res):
                    break

        done, crash = _in_child(work)
        for i, res in done:
            results[i] = res
        k += len(done)
        if done and stop(done[-1][1]):
            break
        if crash is None:
            break
        if k < len(items):
            results[k] = crash
            k += 1
    return results


class CompilerCrash(RuntimeError):
    """The compiler died (a signal or an abort of the MLIR wheels) while running a pass."""


_STEP = "step"


def call_isolated(fn: Callable, *args):
    """fn(*args) run in a forked child: its result, or its exception raised here; a crash of
    the child becomes CompilerCrash naming the pipeline step (pass) it died in. Pass steps are
    reported by run_pipeline through `step_listener` as they start."""
    if _NO_FORK:
        return fn(*args)

    def work(send):
        from . import registry

        registry.step_listener = lambda step: send((_STEP, step))
        try:
            send(("ok", fn(*args)))
        except Exception as e:  # noqa: BLE001 - every exception goes back to the caller
            send(("raise", _picklable(e)))

    done, crash = _in_child(work)
    step = None
    for kind, value in done:
        if kind == _STEP:
            step = value
        elif kind == "ok":
            return value
        else:
            raise value
    where = f" in pass '{step}'" if step else ""
    raise CompilerCrash(f"[compile] {crash.describe('compiling the program' + where)}. This is "
                        "a bug of mxir or of the MLIR wheels; the process survived it.")


def _picklable(e: Exception) -> Exception:
    """`e` if it pickles (an MxError's IR location becomes text), else a RuntimeError saying it."""
    location = getattr(e, "location", None)
    if location is not None and not isinstance(location, str):
        e.location = str(location)
    try:
        pickle.loads(pickle.dumps(e))
        return e
    except Exception:  # noqa: BLE001 - an exception type that does not pickle
        return RuntimeError(f"{type(e).__name__}: {e}")


def _in_child(work: Callable) -> tuple[list, Crash | None]:
    """Run work(send) in a forked child; ([what it sent], None) or ([...], Crash) if it died."""
    read_fd, write_fd = os.pipe()
    native = tempfile.TemporaryFile()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # child: never returns
        code = 0
        try:
            os.close(read_fd)
            faulthandler.disable()  # a crash is reported by the parent, not as a Python dump
            # native code (assert messages, LLVM errors) writes to fds 1 and 2: keep it
            os.dup2(native.fileno(), 1)
            os.dup2(native.fileno(), 2)
            out = os.fdopen(write_fd, "wb")

            def send(message):
                pickle.dump(message, out, protocol=pickle.HIGHEST_PROTOCOL)
                out.flush()

            work(send)
            out.close()
        except BaseException:  # noqa: BLE001 - report anything as a crash of this item
            traceback.print_exc(file=sys.stderr)
            sys.stderr.flush()
            code = 70
        os._exit(code)
    os.close(write_fd)
    done = []
    with os.fdopen(read_fd, "rb") as inp:
        while True:
            try:
                done.append(pickle.load(inp))
            except (EOFError, pickle.UnpicklingError, ValueError, TypeError):
                break  # end of stream, or cut off mid-result by a crash
    _, status = os.waitpid(pid, 0)
    if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
        native.close()
        return done, None
    native.seek(0)
    log = native.read().decode("utf-8", "replace")
    native.close()
    if os.WIFSIGNALED(status):
        try:
            how = signal.Signals(os.WTERMSIG(status)).name
        except ValueError:
            how = f"signal {os.WTERMSIG(status)}"
    else:
        how = f"exit status {os.WEXITSTATUS(status)}"
    return done, Crash(how, _native_detail(log))


def _native_detail(log: str) -> str:
    lines = [ln.strip() for ln in log.splitlines() if ln.strip()]
    for ln in lines:
        m = re.search(r"Assertion .* failed", ln)
        if m:  # drop the path of LLVM's source file
            return m.group()[:300]
        if any(m in ln for m in _NATIVE_MARKERS):
            return ln[:300]
    return lines[-1][:300] if lines else ""
