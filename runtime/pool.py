"""mxir's spinning thread pool for compiled programs' parallel loops and split gemms (Linux):
`mxir_pool_run(task, ctx, n)` runs `task(ctx, i)` for i in [0, n) on the calling thread and
the pool's workers, and returns when all have run (passes/pool_tasks.py outlines the work).

Why not the async runtime's pool (mx-cpu-parallel): its workers sleep on a condition variable
as soon as they are idle, and in a VM each wake-up is an inter-processor interrupt through the
hypervisor (a condition-variable round trip between two threads: 30 µs here). W2's step forks
and joins twice; MKL's own threads, which spin for a while after a call, ran it in 1.58 against
1.71 ms, and in 2.0 ms when told not to spin (KMP_BLOCKTIME=0). Here workers spin for SPIN_NS
after their last task, then sleep on a futex; the caller spins as long on the join, then sleeps
until the last task wakes it. A worker descheduled by another process therefore costs the
caller a futex sleep, not a spinning core (MKL's threads meet at barriers inside each gemm:
with one core busy elsewhere its step's mean went to 4.6-5.3 ms, the panels' to 2.5).

The pool is LLVM-dialect code compiled once per process; its workers are Python threads that
call into it (ctypes lets go of the GIL) and never return. Tasks are claimed from one 64-bit
word (job number, task count, next task) by compare-and-swap, so a late worker can never run a
task of a job that has already ended: a claim holds the job open until its task is done. A
call while another runs (a second Python thread, or a task that calls the pool) runs its tasks
on its own thread. A forked child has no workers: its caller claims every task itself, until
a program it links starts new ones. Where another process wants the cores, spinning takes them
from it: a spinning thread that finds it was descheduled (GAP_NS between two looks at the
clock) stops all spinning for HOLD_NS. DESIGN.md ("matmul (CPU)") has the measurements.
"""

from __future__ import annotations

import ctypes
import os
import platform
import sys
import threading

from mxir.schema.pool import RUN, cores, supported

__all__ = ["RUN", "cores", "run_address", "supported"]

SPIN_NS = 500_000  # how long an idle worker, or a caller waiting on the join, spins (0.5 ms)
# a spinning thread that finds GAP_NS between two looks at the clock was descheduled: another
# process wants the core, and no thread spins for HOLD_NS (jitter in this VM reached 50 µs;
# with one core busy elsewhere W2's median stayed level with the async runtime's panels)
GAP_NS = 1_000_000
HOLD_NS = 1_000_000_000
MAX_TASKS = 1 << 16  # tasks per call in the claim word; more run on the calling thread

# slots of the state (i64 words; each field on its own 64-byte line)
_WORD, _EPOCH, _PENDING, _SLEEPERS, _WAITER, _BUSY, _QUIET, _FN, _CTX, _SPIN = (
    0, 8, 16, 24, 32, 40, 48, 56, 57, 58)
_SYSCALL = {("linux", "x86_64"): (202, "pause"), ("linux", "aarch64"): (98, "yield")}
_FUTEX_WAIT, _FUTEX_WAKE = 128, 129  # the _PRIVATE forms

_SOURCE = """
module {
  llvm.mlir.global internal @state(dense<0> : tensor<64xi64>) {alignment = 64 : i64}
      : !llvm.array<64 x i64>
  llvm.func @clock_gettime(i32, !llvm.ptr) -> i32
  llvm.func @syscall(i64, ...) -> i64

  llvm.func internal @slot(%i: i64) -> !llvm.ptr attributes {always_inline} {
    %g = llvm.mlir.addressof @state : !llvm.ptr
    %p = llvm.getelementptr %g[0, %i] : (!llvm.ptr, i64) -> !llvm.ptr, !llvm.array<64 x i64>
    llvm.return %p : !llvm.ptr
  }

  llvm.func internal @now() -> i64 {
    %one = llvm.mlir.constant(1 : i64) : i64
    %ts = llvm.alloca %one x !llvm.array<2 x i64> : (i64) -> !llvm.ptr
    %monotonic = llvm.mlir.constant(1 : i32) : i32
    %r = llvm.call @clock_gettime(%monotonic, %ts) : (i32, !llvm.ptr) -> i32
    %s = llvm.load %ts : !llvm.ptr -> i64
    %nsp = llvm.getelementptr %ts[0, 1] : (!llvm.ptr) -> !llvm.ptr, !llvm.array<2 x i64>
    %ns = llvm.load %nsp : !llvm.ptr -> i64
    %g = llvm.mlir.constant(1000000000 : i64) : i64
    %t = llvm.mul %s, %g : i64
    %u = llvm.add %t, %ns : i64
    llvm.return %u : i64
  }

  llvm.func internal @futex(%addr: !llvm.ptr, %op: i64, %val: i32) {
    %nr = llvm.mlir.constant(SYSCALL : i64) : i64
    %v = llvm.sext %val : i32 to i64
    %null = llvm.mlir.zero : !llvm.ptr
    %r = llvm.call @syscall(%nr, %addr, %op, %v, %null) vararg(!llvm.func<i64 (i64, ...)>)
        : (i64, !llvm.ptr, i64, i64, !llvm.ptr) -> i64
    llvm.return
  }

  llvm.func internal @relax() {
    llvm.inline_asm has_side_effects "PAUSE", "" : () -> ()
    llvm.return
  }

  // futex-wake every thread asleep on `word` if `sleepers` says there may be one
  llvm.func internal @wake(%sleepers: !llvm.ptr, %word: !llvm.ptr) {
    %k = llvm.load %sleepers atomic seq_cst {alignment = 4 : i64} : !llvm.ptr -> i32
    %zero = llvm.mlir.constant(0 : i32) : i32
    %any = llvm.icmp "ne" %k, %zero : i32
    llvm.cond_br %any, ^signal, ^out
  ^signal:
    %op = llvm.mlir.constant(WAKE : i64) : i64
    %all = llvm.mlir.constant(2147483647 : i32) : i32
    llvm.call @futex(%word, %op, %all) : (!llvm.ptr, i64, i32) -> ()
    llvm.br ^out
  ^out:
    llvm.return
  }

  // sleep on `word` while it holds `seen`, counted in `sleepers` (each side writes its own
  // word, then reads the other's, both seq_cst: a waker sees the sleeper or the sleeper the
  // new value)
  llvm.func internal @sleep(%word: !llvm.ptr, %seen: i32, %sleepers: !llvm.ptr) {
    %one = llvm.mlir.constant(1 : i32) : i32
    %k0 = llvm.atomicrmw add %sleepers, %one seq_cst : !llvm.ptr, i32
    %now = llvm.load %word atomic seq_cst {alignment = 4 : i64} : !llvm.ptr -> i32
    %same = llvm.icmp "eq" %now, %seen : i32
    llvm.cond_br %same, ^wait, ^out
  ^wait:
    %op = llvm.mlir.constant(WAIT : i64) : i64
    llvm.call @futex(%word, %op, %seen) : (!llvm.ptr, i64, i32) -> ()
    llvm.br ^out
  ^out:
    %k1 = llvm.atomicrmw sub %sleepers, %one seq_cst : !llvm.ptr, i32
    llvm.return
  }

  // whether to go on spinning: -1 to sleep, else (after a pause) the time of this look; `since`
  // the wait began and `prev` the last look (ns). A gap of more than GAP since the last look
  // means this thread was descheduled: the core is wanted elsewhere, and no thread spins for
  // HOLD.
  llvm.func internal @spin_on(%since: i64, %prev: i64) -> i64 {
    %t = llvm.call @now() : () -> i64
    %qslot = llvm.mlir.constant(QUIET : i64) : i64
    %qp = llvm.call @slot(%qslot) : (i64) -> !llvm.ptr
    %gap = llvm.sub %t, %prev : i64
    %gmax = llvm.mlir.constant(GAP_NS : i64) : i64
    %preempted = llvm.icmp "sgt" %gap, %gmax : i64
    %no = llvm.mlir.constant(-1 : i64) : i64
    llvm.cond_br %preempted, ^hold, ^next
  ^hold:
    %hold = llvm.mlir.constant(HOLD_NS : i64) : i64
    %until = llvm.add %t, %hold : i64
    llvm.store %until, %qp atomic monotonic {alignment = 8 : i64} : i64, !llvm.ptr
    llvm.return %no : i64
  ^next:
    %quiet = llvm.load %qp atomic monotonic {alignment = 8 : i64} : !llvm.ptr -> i64
    %hushed = llvm.icmp "slt" %t, %quiet : i64
    %sslot = llvm.mlir.constant(SPIN : i64) : i64
    %sp = llvm.call @slot(%sslot) : (i64) -> !llvm.ptr
    %spin = llvm.load %sp : !llvm.ptr -> i64
    %dt = llvm.sub %t, %since : i64
    %long = llvm.icmp "sgt" %dt, %spin : i64
    %stop = llvm.or %hushed, %long : i1
    llvm.cond_br %stop, ^tired, ^pause
  ^tired:
    llvm.return %no : i64
  ^pause:
    llvm.call @relax() : () -> ()
    llvm.return %t : i64
  }

  // claim and run tasks of the current job until none is left unclaimed
  llvm.func internal @drain() {
    %wslot = llvm.mlir.constant(WORD : i64) : i64
    %wp = llvm.call @slot(%wslot) : (i64) -> !llvm.ptr
    %w0 = llvm.load %wp atomic acquire {alignment = 8 : i64} : !llvm.ptr -> i64
    llvm.br ^loop(%w0 : i64)
  ^loop(%w: i64):
    %c16 = llvm.mlir.constant(16 : i64) : i64
    %mask = llvm.mlir.constant(65535 : i64) : i64
    %hi = llvm.lshr %w, %c16 : i64
    %n = llvm.and %hi, %mask : i64
    %i = llvm.and %w, %mask : i64
    %more = llvm.icmp "ult" %i, %n : i64
    llvm.cond_br %more, ^claim, ^done
  ^claim:
    %c1 = llvm.mlir.constant(1 : i64) : i64
    %next = llvm.add %w, %c1 : i64
    %pair = llvm.cmpxchg %wp, %w, %next acq_rel acquire : !llvm.ptr, i64
    %cur = llvm.extractvalue %pair[0] : !llvm.struct<(i64, i1)>
    %ok = llvm.extractvalue %pair[1] : !llvm.struct<(i64, i1)>
    llvm.cond_br %ok, ^run, ^loop(%cur : i64)
  ^run:
    %fslot = llvm.mlir.constant(FN : i64) : i64
    %fp = llvm.call @slot(%fslot) : (i64) -> !llvm.ptr
    %fn = llvm.load %fp : !llvm.ptr -> !llvm.ptr
    %cslot = llvm.mlir.constant(CTX : i64) : i64
    %cp = llvm.call @slot(%cslot) : (i64) -> !llvm.ptr
    %ctx = llvm.load %cp : !llvm.ptr -> !llvm.ptr
    llvm.call %fn(%ctx, %i) : !llvm.ptr, (!llvm.ptr, i64) -> ()
    %pslot = llvm.mlir.constant(PENDING : i64) : i64
    %pp = llvm.call @slot(%pslot) : (i64) -> !llvm.ptr
    %one32 = llvm.mlir.constant(1 : i32) : i32
    %old = llvm.atomicrmw sub %pp, %one32 seq_cst : !llvm.ptr, i32
    %last = llvm.icmp "eq" %old, %one32 : i32
    llvm.cond_br %last, ^wake, ^again
  ^wake:
    %aslot = llvm.mlir.constant(WAITER : i64) : i64
    %ap = llvm.call @slot(%aslot) : (i64) -> !llvm.ptr
    llvm.call @wake(%ap, %pp) : (!llvm.ptr, !llvm.ptr) -> ()
    llvm.br ^again
  ^again:
    %w2 = llvm.load %wp atomic acquire {alignment = 8 : i64} : !llvm.ptr -> i64
    llvm.br ^loop(%w2 : i64)
  ^done:
    llvm.return
  }

  // a worker: runs the tasks of each new job, spins when idle, then sleeps; never returns
  llvm.func @mxir_pool_work() {
    %eslot = llvm.mlir.constant(EPOCH : i64) : i64
    %ep = llvm.call @slot(%eslot) : (i64) -> !llvm.ptr
    %seen0 = llvm.load %ep atomic acquire {alignment = 4 : i64} : !llvm.ptr -> i32
    llvm.br ^drain(%seen0 : i32)
  ^drain(%seen: i32):
    llvm.call @drain() : () -> ()
    %t0 = llvm.call @now() : () -> i64
    llvm.br ^idle(%seen, %t0, %t0 : i32, i64, i64)
  ^idle(%s: i32, %since: i64, %prev: i64):
    %e = llvm.load %ep atomic acquire {alignment = 4 : i64} : !llvm.ptr -> i32
    %new = llvm.icmp "ne" %e, %s : i32
    llvm.cond_br %new, ^drain(%e : i32), ^check
  ^check:
    %t = llvm.call @spin_on(%since, %prev) : (i64, i64) -> i64
    %zero = llvm.mlir.constant(0 : i64) : i64
    %tired = llvm.icmp "slt" %t, %zero : i64
    llvm.cond_br %tired, ^sleep, ^idle(%s, %since, %t : i32, i64, i64)
  ^sleep:
    %kslot = llvm.mlir.constant(SLEEPERS : i64) : i64
    %kp = llvm.call @slot(%kslot) : (i64) -> !llvm.ptr
    llvm.call @sleep(%ep, %s, %kp) : (!llvm.ptr, i32, !llvm.ptr) -> ()
    %t1 = llvm.call @now() : () -> i64
    llvm.br ^idle(%s, %t1, %t1 : i32, i64, i64)
  }

  // task(ctx, i) for i in [0, n), on this thread and the workers; returns when all are done
  llvm.func @mxir_pool_run(%fn: !llvm.ptr, %ctx: !llvm.ptr, %n: i64) {
    %bslot = llvm.mlir.constant(BUSY : i64) : i64
    %bp = llvm.call @slot(%bslot) : (i64) -> !llvm.ptr
    %zero32 = llvm.mlir.constant(0 : i32) : i32
    %one32 = llvm.mlir.constant(1 : i32) : i32
    %pair = llvm.cmpxchg %bp, %zero32, %one32 acquire monotonic : !llvm.ptr, i32
    %free = llvm.extractvalue %pair[1] : !llvm.struct<(i32, i1)>
    %limit = llvm.mlir.constant(MAX_TASKS : i64) : i64
    %fits = llvm.icmp "ult" %n, %limit : i64
    %pooled = llvm.and %free, %fits : i1
    %c0 = llvm.mlir.constant(0 : i64) : i64
    llvm.cond_br %pooled, ^publish, ^serial(%c0 : i64)
  ^publish:
    %fslot = llvm.mlir.constant(FN : i64) : i64
    %fp = llvm.call @slot(%fslot) : (i64) -> !llvm.ptr
    llvm.store %fn, %fp : !llvm.ptr, !llvm.ptr
    %cslot = llvm.mlir.constant(CTX : i64) : i64
    %cp = llvm.call @slot(%cslot) : (i64) -> !llvm.ptr
    llvm.store %ctx, %cp : !llvm.ptr, !llvm.ptr
    %pslot = llvm.mlir.constant(PENDING : i64) : i64
    %pp = llvm.call @slot(%pslot) : (i64) -> !llvm.ptr
    %n32 = llvm.trunc %n : i64 to i32
    llvm.store %n32, %pp atomic monotonic {alignment = 4 : i64} : i32, !llvm.ptr
    %wslot = llvm.mlir.constant(WORD : i64) : i64
    %wp = llvm.call @slot(%wslot) : (i64) -> !llvm.ptr
    %w = llvm.load %wp atomic monotonic {alignment = 8 : i64} : !llvm.ptr -> i64
    %c32 = llvm.mlir.constant(32 : i64) : i64
    %c16 = llvm.mlir.constant(16 : i64) : i64
    %c1 = llvm.mlir.constant(1 : i64) : i64
    %job = llvm.lshr %w, %c32 : i64
    %job1 = llvm.add %job, %c1 : i64
    %jobhi = llvm.shl %job1, %c32 : i64
    %nmid = llvm.shl %n, %c16 : i64
    %word = llvm.or %jobhi, %nmid : i64
    llvm.store %word, %wp atomic release {alignment = 8 : i64} : i64, !llvm.ptr
    %eslot = llvm.mlir.constant(EPOCH : i64) : i64
    %ep = llvm.call @slot(%eslot) : (i64) -> !llvm.ptr
    %e0 = llvm.atomicrmw add %ep, %one32 seq_cst : !llvm.ptr, i32
    %kslot = llvm.mlir.constant(SLEEPERS : i64) : i64
    %kp = llvm.call @slot(%kslot) : (i64) -> !llvm.ptr
    llvm.call @wake(%kp, %ep) : (!llvm.ptr, !llvm.ptr) -> ()
    llvm.br ^work
  ^work:
    llvm.call @drain() : () -> ()
    %t0 = llvm.call @now() : () -> i64
    llvm.br ^join(%t0, %t0 : i64, i64)
  ^join(%since: i64, %prev: i64):
    %left = llvm.load %pp atomic acquire {alignment = 4 : i64} : !llvm.ptr -> i32
    %done = llvm.icmp "eq" %left, %zero32 : i32
    llvm.cond_br %done, ^finish, ^check
  ^check:
    %t = llvm.call @spin_on(%since, %prev) : (i64, i64) -> i64
    %zero = llvm.mlir.constant(0 : i64) : i64
    %tired = llvm.icmp "slt" %t, %zero : i64
    llvm.cond_br %tired, ^sleep, ^join(%since, %t : i64, i64)
  ^sleep:
    %aslot = llvm.mlir.constant(WAITER : i64) : i64
    %ap = llvm.call @slot(%aslot) : (i64) -> !llvm.ptr
    llvm.call @sleep(%pp, %left, %ap) : (!llvm.ptr, i32, !llvm.ptr) -> ()
    %t1 = llvm.call @now() : () -> i64
    llvm.br ^join(%t1, %t1 : i64, i64)
  ^finish:
    llvm.store %zero32, %bp atomic release {alignment = 4 : i64} : i32, !llvm.ptr
    llvm.return
  ^serial(%i: i64):
    %more = llvm.icmp "slt" %i, %n : i64  // signed: a negative count runs nothing
    llvm.cond_br %more, ^one, ^out
  ^one:
    llvm.call %fn(%ctx, %i) : !llvm.ptr, (!llvm.ptr, i64) -> ()
    %step = llvm.mlir.constant(1 : i64) : i64
    %i1 = llvm.add %i, %step : i64
    llvm.br ^serial(%i1 : i64)
  ^out:
    llvm.cond_br %free, ^release, ^end
  ^release:
    llvm.store %zero32, %bp atomic release {alignment = 4 : i64} : i32, !llvm.ptr
    llvm.br ^end
  ^end:
    llvm.return
  }

  // the addresses of mxir_pool_run and mxir_pool_work, into out[0..1] (the JIT's lookup gives
  // packed wrappers), and the spin time
  llvm.func @mxir_pool_start(%out: !llvm.ptr, %ns: i64) {
    %run = llvm.mlir.addressof @mxir_pool_run : !llvm.ptr
    llvm.store %run, %out : !llvm.ptr, !llvm.ptr
    %work = llvm.mlir.addressof @mxir_pool_work : !llvm.ptr
    %second = llvm.getelementptr %out[1] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
    llvm.store %work, %second : !llvm.ptr, !llvm.ptr
    %sslot = llvm.mlir.constant(SPIN : i64) : i64
    %sp = llvm.call @slot(%sslot) : (i64) -> !llvm.ptr
    llvm.store %ns, %sp : i64, !llvm.ptr
    llvm.return
  }
}
"""


def _source() -> str:
    nr, relax = _SYSCALL[(sys.platform, platform.machine())]
    text = _SOURCE.replace("PAUSE", relax).replace("SYSCALL", str(nr))
    for name, value in (("WORD", _WORD), ("EPOCH", _EPOCH), ("PENDING", _PENDING),
                        ("SLEEPERS", _SLEEPERS), ("WAITER", _WAITER), ("BUSY", _BUSY),
                        ("FN", _FN), ("CTX", _CTX), ("SPIN", _SPIN), ("QUIET", _QUIET),
                        ("GAP_NS", GAP_NS), ("HOLD_NS", HOLD_NS), ("MAX_TASKS", MAX_TASKS),
                        ("WAIT", _FUTEX_WAIT), ("WAKE", _FUTEX_WAKE)):
        text = text.replace(f"({name} :", f"({value} :")
    return text


_LOCK = threading.Lock()
_ENGINE = None  # the pool's compiled code, alive for the process
_RUN = _WORK = 0  # the addresses of mxir_pool_run and mxir_pool_work
_WORKERS: list[threading.Thread] = []
_PID = 0  # the process whose workers _WORKERS are


def run_address() -> int:
    """The address of `mxir_pool_run`, its workers started in this process (compiled and
    started on first use, and again in a forked child)."""
    global _ENGINE, _RUN, _WORK, _PID
    with _LOCK:
        if _ENGINE is None:
            from mlir import ir
            from mlir.execution_engine import ExecutionEngine

            with ir.Context(), ir.Location.unknown():
                _ENGINE = ExecutionEngine(ir.Module.parse(_source()), opt_level=3)
            # never freed, not even when the interpreter clears module globals at exit: the
            # workers run in this code until the process ends
            ctypes.pythonapi.Py_IncRef(ctypes.py_object(_ENGINE))
            out = (ctypes.c_void_p * 2)()
            args = [ctypes.c_void_p(ctypes.addressof(out)), ctypes.c_int64(SPIN_NS)]
            packed = (ctypes.c_void_p * 2)(*[ctypes.addressof(a) for a in args])
            ctypes.CFUNCTYPE(None, ctypes.c_void_p)(_ENGINE.raw_lookup("mxir_pool_start"))(
                ctypes.addressof(packed))
            _RUN, _WORK = out
        if _PID != os.getpid():
            _WORKERS.clear()
            _PID = os.getpid()
        while len(_WORKERS) < cores() - 1:
            name = f"mxir-pool-{len(_WORKERS)}"
            named = threading.Event()
            t = threading.Thread(target=_work, args=(name, named), name=name, daemon=True)
            t.start()
            named.wait()  # the OS sees the name once start returns (a loaded CI host did not)
            _WORKERS.append(t)
        return _RUN


def _work(name: str, named: threading.Event) -> None:
    """A worker's thread: named for the OS too (perf, top, /proc), then into the pool's loop,
    which never returns."""
    ctypes.CDLL(None).prctl(15, name.encode())  # PR_SET_NAME
    named.set()
    ctypes.CFUNCTYPE(None)(_WORK)()
