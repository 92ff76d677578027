/* Internal: the kernel table. Everything about kernels comes from kernel_list.inc. */
#ifndef MNV2_KERNELS_H
#define MNV2_KERNELS_H
#include <stddef.h>

/* Function types: mnv2_gemm_nn_fn, ... */
#define MNV2_KERNEL(name, params) typedef void mnv2_##name##_fn params;
#include "kernel_list.inc"
#undef MNV2_KERNEL

/* The table a model holds a const pointer to. */
typedef struct mnv2_kernels {
#define MNV2_KERNEL(name, params) mnv2_##name##_fn *name;
#include "kernel_list.inc"
#undef MNV2_KERNEL
} mnv2_kernels;

/* Names of the kernels in table order (for tests and benchmarks). */
#define MNV2_KERNEL(name, params) +1
enum { MNV2_N_KERNELS = 0
#include "kernel_list.inc"
};
#undef MNV2_KERNEL
extern const char *const mnv2__kernel_names[MNV2_N_KERNELS];

/* Prototypes of one ISA's kernels: mnv2_gemm_nn_scalar, mnv2_gemm_nn_avx2, ... An ISA may leave
 * out kernels it does not speed up; its fill function (cpu.c) names those it has. */
#define MNV2_KERNEL(name, params) void mnv2_##name##_scalar params;
#include "kernel_list.inc"
#undef MNV2_KERNEL

/* The table for an ISA level (an MNV2_ISA_* value at most what the CPU has). Never NULL:
 * levels above the CPU's are lowered. Thread-safe; tables are static and read-only. */
const mnv2_kernels *mnv2__kernels_for(int level, int *level_used);

#endif
