// metal-sim runtime: runs the threads of each threadgroup as fibers on one OS thread, so that
// threadgroup_barrier and SIMD-group functions are exact, and reports misuse (a barrier reached
// by only part of a group, a crash inside a kernel) as an error instead of hanging or dying.
// Built once into a shared library that every compiled MSL program links against at load time.

#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sim_runtime.h"

#if !defined(__x86_64__) && !defined(__aarch64__)
#define MXSIM_UCONTEXT 1
#include <ucontext.h>
#endif

// ---------------------------------------------------------------------------------------------
// Context switch. mxsim_switch(save, to) stores the callee-saved registers on the current stack,
// writes the stack pointer to *save and resumes the stack `to` (the ABI makes the caller save
// everything else). A new fiber's stack is laid out so that the first switch "returns" into
// mxsim_fiber_start, which calls entry(lane) from callee-saved registers.

#if defined(__x86_64__)
__asm__(
    ".text\n"
    ".p2align 4\n"
    ".hidden mxsim_switch\n"
    ".globl mxsim_switch\n"
    ".type mxsim_switch,@function\n"
    "mxsim_switch:\n"
    "  pushq %rbp\n  pushq %rbx\n  pushq %r12\n  pushq %r13\n  pushq %r14\n  pushq %r15\n"
    "  movq %rsp, (%rdi)\n"
    "  movq %rsi, %rsp\n"
    "  popq %r15\n  popq %r14\n  popq %r13\n  popq %r12\n  popq %rbx\n  popq %rbp\n"
    "  ret\n"
    ".size mxsim_switch, .-mxsim_switch\n"
    ".p2align 4\n"
    ".hidden mxsim_fiber_start\n"
    ".globl mxsim_fiber_start\n"
    "mxsim_fiber_start:\n"
    "  movq %r12, %rdi\n"
    "  callq *%r13\n"
    "  ud2\n");
#elif defined(__aarch64__)
__asm__(
    ".text\n"
    ".p2align 4\n"
    ".hidden mxsim_switch\n"
    ".globl mxsim_switch\n"
    ".type mxsim_switch,%function\n"
    "mxsim_switch:\n"
    "  sub sp, sp, #160\n"
    "  stp x19, x20, [sp, #0]\n  stp x21, x22, [sp, #16]\n  stp x23, x24, [sp, #32]\n"
    "  stp x25, x26, [sp, #48]\n  stp x27, x28, [sp, #64]\n  stp x29, x30, [sp, #80]\n"
    "  stp d8, d9, [sp, #96]\n  stp d10, d11, [sp, #112]\n  stp d12, d13, [sp, #128]\n"
    "  stp d14, d15, [sp, #144]\n"
    "  mov x2, sp\n  str x2, [x0]\n  mov sp, x1\n"
    "  ldp x19, x20, [sp, #0]\n  ldp x21, x22, [sp, #16]\n  ldp x23, x24, [sp, #32]\n"
    "  ldp x25, x26, [sp, #48]\n  ldp x27, x28, [sp, #64]\n  ldp x29, x30, [sp, #80]\n"
    "  ldp d8, d9, [sp, #96]\n  ldp d10, d11, [sp, #112]\n  ldp d12, d13, [sp, #128]\n"
    "  ldp d14, d15, [sp, #144]\n"
    "  add sp, sp, #160\n"
    "  ret\n"
    ".size mxsim_switch, .-mxsim_switch\n"
    ".p2align 4\n"
    ".hidden mxsim_fiber_start\n"
    ".globl mxsim_fiber_start\n"
    "mxsim_fiber_start:\n"
    "  mov x0, x19\n"
    "  blr x20\n"
    "  brk #0\n");
#endif

extern "C" {
void mxsim_switch(void** save, void* to) __attribute__((visibility("hidden")));
void mxsim_fiber_start(void) __attribute__((visibility("hidden")));
}

namespace {

enum LaneState { RUNNABLE, AT_BARRIER, AT_SIMD, DONE };

struct Lane {
  void* sp;
  int state;
  int simd_op;
  uint32_t simd_gen;
  mxsim_builtins b;
#ifdef MXSIM_UCONTEXT
  ucontext_t ctx;
#endif
};

struct SimdGroup {
  uint32_t gen;
  uint32_t mask[2];
  unsigned char vals[2][MXSIM_SIMD_WIDTH][MXSIM_SIMD_SLOT];
};

const size_t kStackBytes = 128 * 1024;
const size_t kTgBytes = 32 * 1024;  // Metal's threadgroup memory limit on Apple GPUs
const int kMaxTgVars = 256;
const size_t kAltStackBytes = 64 * 1024;

// One launch at a time (the Python device holds a lock), so the scheduler state is global.
Lane* g_lanes = nullptr;
SimdGroup* g_simd = nullptr;
int g_lane_capacity = 0;
char* g_stacks = nullptr;
size_t g_page = 4096;

Lane* g_cur = nullptr;
void* g_sched_sp = nullptr;
#ifdef MXSIM_UCONTEXT
ucontext_t g_sched_ctx;
#endif
bool g_fibers = false;
int g_nlanes = 0;
int g_at_simd = 0, g_at_barrier = 0, g_done = 0;  // lanes in each state this round

mxsim_lane_fn g_fn = nullptr;
void* const* g_args = nullptr;

alignas(64) unsigned char g_tg_mem[kTgBytes];
size_t g_tg_used = 0, g_tg_high = 0;
uint64_t g_tg_gen = 0;
uint64_t g_tg_var_gen[kMaxTgVars];
size_t g_tg_var_off[kMaxTgVars];

char g_err[1024];
bool g_failed = false;
sigjmp_buf g_escape;
volatile sig_atomic_t g_in_kernel = 0;
char* g_altstack = nullptr;

void set_error(const char* msg) {
  if (!g_failed) {
    snprintf(g_err, sizeof g_err, "%s", msg);
    g_failed = true;
  }
}

void on_signal(int sig) {
  if (!g_in_kernel) {
    signal(sig, SIG_DFL);
    raise(sig);
    return;
  }
  g_in_kernel = 0;
  const char* what = sig == SIGFPE ? "SIGFPE (integer division by zero?)"
                     : sig == SIGBUS ? "SIGBUS (misaligned or out-of-range access)"
                                     : "SIGSEGV (out-of-bounds access or thread stack overflow)";
  snprintf(g_err, sizeof g_err, "the kernel crashed with %s", what);
  g_failed = true;
  siglongjmp(g_escape, 1);
}

bool ensure_lanes(int n) {
  if (n <= g_lane_capacity) return true;
  if (g_stacks) munmap(g_stacks, (size_t)g_lane_capacity * (kStackBytes + g_page));
  free(g_lanes);
  free(g_simd);
  g_page = (size_t)sysconf(_SC_PAGESIZE);
  size_t total = (size_t)n * (kStackBytes + g_page);
  void* mem = mmap(nullptr, total, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  g_lanes = (Lane*)calloc((size_t)n, sizeof(Lane));
  g_simd = (SimdGroup*)calloc((size_t)(n + MXSIM_SIMD_WIDTH - 1) / MXSIM_SIMD_WIDTH,
                              sizeof(SimdGroup));
  if (mem == MAP_FAILED || !g_lanes || !g_simd) {
    g_stacks = nullptr;
    g_lane_capacity = 0;
    return false;
  }
  g_stacks = (char*)mem;
  // A guard page below each stack turns a thread's stack overflow into SIGSEGV.
  for (int i = 0; i < n; i++) mprotect(g_stacks + (size_t)i * (kStackBytes + g_page), g_page, 0);
  g_lane_capacity = n;
  return true;
}

[[noreturn]] void lane_main(Lane* lane) {
  g_fn(g_args, &lane->b);
  lane->state = DONE;
  g_done++;
#ifdef MXSIM_UCONTEXT
  swapcontext(&lane->ctx, &g_sched_ctx);
#else
  mxsim_switch(&lane->sp, g_sched_sp);
#endif
  abort();  // a finished lane is never resumed
}

#ifdef MXSIM_UCONTEXT
void lane_main_uc(void) { lane_main(g_cur); }
#endif

void start_fiber(int i) {
  Lane* lane = &g_lanes[i];
  char* top = g_stacks + (size_t)(i + 1) * (kStackBytes + g_page);
#ifdef MXSIM_UCONTEXT
  getcontext(&lane->ctx);
  lane->ctx.uc_stack.ss_sp = top - kStackBytes;
  lane->ctx.uc_stack.ss_size = kStackBytes;
  lane->ctx.uc_link = nullptr;
  makecontext(&lane->ctx, lane_main_uc, 0);
#elif defined(__x86_64__)
  // Popped by mxsim_switch: r15 r14 r13 r12 rbx rbp, then the return address; after `ret`
  // the stack is 16-byte aligned at the call in mxsim_fiber_start, as the ABI wants.
  void** sp = (void**)(top - 72);
  sp[0] = nullptr;
  sp[1] = nullptr;
  sp[2] = (void*)&lane_main;  // r13
  sp[3] = (void*)lane;        // r12
  sp[4] = nullptr;
  sp[5] = nullptr;
  sp[6] = (void*)&mxsim_fiber_start;
  lane->sp = sp;
#elif defined(__aarch64__)
  void** sp = (void**)(top - 160);
  memset(sp, 0, 160);
  sp[0] = (void*)lane;        // x19
  sp[1] = (void*)&lane_main;  // x20
  sp[11] = (void*)&mxsim_fiber_start;  // x30
  lane->sp = sp;
#endif
  lane->state = RUNNABLE;
}

inline void resume(Lane* lane) {
  g_cur = lane;
#ifdef MXSIM_UCONTEXT
  swapcontext(&g_sched_ctx, &lane->ctx);
#else
  mxsim_switch(&g_sched_sp, lane->sp);
#endif
}

inline void yield_to_scheduler() {
  Lane* lane = g_cur;
#ifdef MXSIM_UCONTEXT
  swapcontext(&lane->ctx, &g_sched_ctx);
#else
  mxsim_switch(&lane->sp, g_sched_sp);
#endif
}

uint64_t next_random(uint64_t* s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

void lane_order(int* order, int n, int kind, uint64_t* rng) {
  for (int i = 0; i < n; i++) order[i] = kind == MXSIM_ORDER_REVERSE ? n - 1 - i : i;
  if (kind == MXSIM_ORDER_SHUFFLE)
    for (int i = n - 1; i > 0; i--) {
      int j = (int)(next_random(rng) % (uint64_t)(i + 1));
      int t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
}

// Runs every lane of one threadgroup as fibers until all return. Returns false on an error.
bool run_group_fibers(int n, int order_kind, uint64_t* rng, int* order, const uint32_t* bid) {
  for (int i = 0; i < n; i++) start_fiber(i);
  int nsimd = (n + MXSIM_SIMD_WIDTH - 1) / MXSIM_SIMD_WIDTH;
  for (int g = 0; g < nsimd; g++) g_simd[g].gen = 0;
  g_at_simd = g_at_barrier = g_done = 0;
  for (;;) {
    if (order_kind == MXSIM_ORDER_SHUFFLE) lane_order(order, n, order_kind, rng);
    for (int k = 0; k < n; k++) {
      int i = order_kind == MXSIM_ORDER_FORWARD   ? k
              : order_kind == MXSIM_ORDER_REVERSE ? n - 1 - k
                                                  : order[k];
      Lane* lane = &g_lanes[i];
      if (lane->state != RUNNABLE) continue;
      resume(lane);
      if (g_failed) return false;
    }
    // Every lane is blocked or done. SIMD-group functions complete first: the lanes of a SIMD
    // group not waiting in one have returned or wait at a barrier, i.e. are inactive.
    bool released = false;
    for (int g = 0; g < nsimd && g_at_simd; g++) {
      SimdGroup* sg = &g_simd[g];
      uint32_t mask = 0;
      int op = -1;
      int first = g * MXSIM_SIMD_WIDTH;
      int last = first + MXSIM_SIMD_WIDTH < n ? first + MXSIM_SIMD_WIDTH : n;
      for (int i = first; i < last; i++) {
        if (g_lanes[i].state != AT_SIMD) continue;
        if (op >= 0 && g_lanes[i].simd_op != op) {
          set_error("threads of one SIMD-group wait in different SIMD-group functions");
          return false;
        }
        op = g_lanes[i].simd_op;
        mask |= 1u << (i - first);
      }
      if (!mask) continue;
      sg->mask[sg->gen & 1] = mask;
      sg->gen++;
      for (int i = first; i < last; i++)
        if (g_lanes[i].state == AT_SIMD) g_lanes[i].state = RUNNABLE;
      g_at_simd -= __builtin_popcount(mask);
      released = true;
    }
    if (released) continue;
    int waiting = g_at_barrier, done = g_done;
    if (waiting == 0) return true;
    if (done) {
      char msg[256];
      snprintf(msg, sizeof msg,
               "threadgroup_barrier reached by %d of %d threads of threadgroup (%u, %u, %u); "
               "the other %d returned without it (barrier divergence)",
               waiting, n, bid[0], bid[1], bid[2], done);
      set_error(msg);
      return false;
    }
    for (int i = 0; i < n; i++) g_lanes[i].state = RUNNABLE;
    g_at_barrier = 0;
  }
}

}  // namespace

extern "C" {

void mxsim_barrier(void) {
  if (!g_fibers) mxsim_fail("threadgroup_barrier in a kernel the simulator ran without fibers");
  g_cur->state = AT_BARRIER;
  g_at_barrier++;
  yield_to_scheduler();
}

mxsim_simd_view mxsim_simd_exchange(int op, const void* value, unsigned size) {
  if (!g_fibers) mxsim_fail("SIMD-group function in a kernel the simulator ran without fibers");
  if (size > MXSIM_SIMD_SLOT) mxsim_fail("SIMD-group function on a value wider than 16 bytes");
  Lane* lane = g_cur;
  int index = (int)(lane - g_lanes);
  SimdGroup* sg = &g_simd[index / MXSIM_SIMD_WIDTH];
  int slot = index % MXSIM_SIMD_WIDTH;
  uint32_t gen = sg->gen;
  if (size) memcpy(sg->vals[gen & 1][slot], value, size);
  lane->simd_op = op;
  lane->state = AT_SIMD;
  g_at_simd++;
  yield_to_scheduler();
  mxsim_simd_view view;
  view.mask = sg->mask[gen & 1];
  view.lane = (unsigned)slot;
  view.vals = &sg->vals[gen & 1][0][0];
  return view;
}

void* mxsim_tg_alloc(int id, unsigned long size, unsigned long align) {
  if (id < 0 || id >= kMaxTgVars) mxsim_fail("too many threadgroup variables in one kernel");
  if (g_tg_var_gen[id] != g_tg_gen) {
    if (align < 16) align = 16;
    size_t off = (g_tg_used + align - 1) / align * align;
    if (off + size > kTgBytes) mxsim_fail("threadgroup memory exceeds 32 KiB");
    // Fresh threadgroup memory holds 0xFF bytes (NaN for every float type), so reading it
    // before a write, or without a barrier after another thread's write, shows up as NaN.
    memset(g_tg_mem + off, 0xFF, size);
    g_tg_used = off + size;
    if (g_tg_used > g_tg_high) g_tg_high = g_tg_used;
    g_tg_var_off[id] = off;
    g_tg_var_gen[id] = g_tg_gen;
  }
  return g_tg_mem + g_tg_var_off[id];
}

void mxsim_fail(const char* msg) {
  set_error(msg);
  if (g_fibers && g_cur) {
    g_cur->state = DONE;
    g_done++;
    yield_to_scheduler();  // the scheduler sees the error and never resumes this lane
  }
  g_in_kernel = 0;
  siglongjmp(g_escape, 1);
}

int mxsim_run(mxsim_lane_fn fn, int fibers, void* const* args, const uint32_t* grid,
              const uint32_t* tg, int uniform, int order_kind, uint64_t seed, char* err,
              int errlen) {
  g_failed = false;
  g_err[0] = 0;
  uint32_t groups[3], tpg[3];
  for (int d = 0; d < 3; d++) {
    groups[d] = uniform ? grid[d] : (grid[d] + tg[d] - 1) / tg[d];
    tpg[d] = uniform ? grid[d] * tg[d] : grid[d];
  }
  int maxlanes = (int)(tg[0] * tg[1] * tg[2]);
  if (fibers && !ensure_lanes(maxlanes)) {
    snprintf(err, (size_t)errlen, "cannot allocate fiber stacks for %d threads", maxlanes);
    return 1;
  }
  if (!fibers && !ensure_lanes(1)) {
    snprintf(err, (size_t)errlen, "cannot allocate the lane table");
    return 1;
  }
  int* order = (int*)malloc(sizeof(int) * (size_t)(maxlanes ? maxlanes : 1));
  uint64_t rng = seed * 0x9E3779B97F4A7C15ull + 0x2545F4914F6CDD1Dull;
  g_fn = fn;
  g_args = args;
  g_fibers = fibers != 0;

  if (!g_altstack) g_altstack = (char*)malloc(kAltStackBytes);
  stack_t alt, old_alt;
  alt.ss_sp = g_altstack;
  alt.ss_size = kAltStackBytes;
  alt.ss_flags = 0;
  sigaltstack(&alt, &old_alt);
  struct sigaction sa, old_segv, old_bus, old_fpe;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_ONSTACK | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGSEGV, &sa, &old_segv);
  sigaction(SIGBUS, &sa, &old_bus);
  sigaction(SIGFPE, &sa, &old_fpe);

  uint64_t total_groups = (uint64_t)groups[0] * groups[1] * groups[2];
  if (sigsetjmp(g_escape, 1) == 0) {
    g_in_kernel = 1;
    for (uint64_t k = 0; k < total_groups && !g_failed; k++) {
      // Reverse order also walks the groups backwards, exposing cross-group races.
      uint64_t g = order_kind == MXSIM_ORDER_REVERSE ? total_groups - 1 - k : k;
      uint32_t bid[3] = {(uint32_t)(g % groups[0]), (uint32_t)(g / groups[0] % groups[1]),
                         (uint32_t)(g / groups[0] / groups[1])};
      uint32_t size[3];
      for (int d = 0; d < 3; d++) {
        uint32_t rest = tpg[d] - bid[d] * tg[d];
        size[d] = rest < tg[d] ? rest : tg[d];
      }
      int n = (int)(size[0] * size[1] * size[2]);
      g_tg_gen++;
      g_tg_used = 0;
      int nsimd_groups = (n + MXSIM_SIMD_WIDTH - 1) / MXSIM_SIMD_WIDTH;
      // Builtins of lane i; in direct mode the single lane record is refilled per thread.
      auto fill = [&](mxsim_builtins* b, int i) {
        bool flat = size[1] == 1 && size[2] == 1;
        uint32_t lx = flat ? (uint32_t)i : (uint32_t)i % size[0];
        uint32_t ly = flat ? 0 : (uint32_t)i / size[0] % size[1];
        uint32_t lz = flat ? 0 : (uint32_t)i / size[0] / size[1];
        uint32_t t[3] = {lx, ly, lz};
        for (int d = 0; d < 3; d++) {
          b->tid[d] = t[d];
          b->bid[d] = bid[d];
          b->gid[d] = bid[d] * tg[d] + t[d];
          b->tpg[d] = size[d];
          b->dispatch_tpg[d] = tg[d];
          b->groups[d] = groups[d];
          b->grid[d] = tpg[d];
        }
        b->index = (uint32_t)i;
        b->simd_lane = (uint32_t)i % MXSIM_SIMD_WIDTH;
        b->simd_group = (uint32_t)i / MXSIM_SIMD_WIDTH;
        b->simd_groups = (uint32_t)nsimd_groups;
        b->simd_width = MXSIM_SIMD_WIDTH;
      };
      if (fibers) {
        for (int i = 0; i < n; i++) fill(&g_lanes[i].b, i);
        g_nlanes = n;
        if (!run_group_fibers(n, order_kind, &rng, order, bid)) break;
      } else {
        if (order_kind == MXSIM_ORDER_SHUFFLE) lane_order(order, n, order_kind, &rng);
        for (int k2 = 0; k2 < n; k2++) {
          fill(&g_lanes[0].b, order_kind == MXSIM_ORDER_FORWARD   ? k2
                              : order_kind == MXSIM_ORDER_REVERSE ? n - 1 - k2
                                                                  : order[k2]);
          fn(args, &g_lanes[0].b);
        }
      }
    }
  }
  g_in_kernel = 0;
  sigaction(SIGSEGV, &old_segv, nullptr);
  sigaction(SIGBUS, &old_bus, nullptr);
  sigaction(SIGFPE, &old_fpe, nullptr);
  sigaltstack(&old_alt, nullptr);
  free(order);
  g_cur = nullptr;
  g_fibers = false;
  if (g_failed) {
    snprintf(err, (size_t)errlen, "%s", g_err);
    return 1;
  }
  return 0;
}

}  // extern "C"
