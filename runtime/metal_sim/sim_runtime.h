// Interface between compiled MSL programs (through metal_shim.h) and the metal-sim runtime.
#ifndef MXSIM_RUNTIME_H
#define MXSIM_RUNTIME_H

#include <stdint.h>

#define MXSIM_SIMD_WIDTH 32
#define MXSIM_SIMD_SLOT 16
#define MXSIM_ORDER_FORWARD 0
#define MXSIM_ORDER_REVERSE 1
#define MXSIM_ORDER_SHUFFLE 2

extern "C" {

// The values of a thread's [[...]] builtin attributes.
struct mxsim_builtins {
  uint32_t gid[3];           // thread_position_in_grid
  uint32_t tid[3];           // thread_position_in_threadgroup
  uint32_t bid[3];           // threadgroup_position_in_grid
  uint32_t tpg[3];           // threads_per_threadgroup (smaller in a partial last group)
  uint32_t dispatch_tpg[3];  // dispatch_threads_per_threadgroup
  uint32_t groups[3];        // threadgroups_per_grid
  uint32_t grid[3];          // threads_per_grid
  uint32_t index;            // thread_index_in_threadgroup
  uint32_t simd_lane;        // thread_index_in_simdgroup
  uint32_t simd_group;       // simdgroup_index_in_threadgroup
  uint32_t simd_groups;      // simdgroups_per_threadgroup
  uint32_t simd_width;       // threads_per_simdgroup
};

// What a SIMD-group function sees once every active lane of its SIMD group has arrived:
// the active lanes (bit i = lane i), this lane, and each lane's 16-byte value slot.
struct mxsim_simd_view {
  uint32_t mask;
  uint32_t lane;
  const unsigned char* vals;
};

typedef void (*mxsim_lane_fn)(void* const* args, const mxsim_builtins* b);

int mxsim_run(mxsim_lane_fn fn, int fibers, void* const* args, const uint32_t* grid,
              const uint32_t* tg, int uniform, int order, uint64_t seed, char* err, int errlen);
void mxsim_barrier(void);
mxsim_simd_view mxsim_simd_exchange(int op, const void* value, unsigned size);
void* mxsim_tg_alloc(int id, unsigned long size, unsigned long align);
[[noreturn]] void mxsim_fail(const char* msg);
}

#endif
