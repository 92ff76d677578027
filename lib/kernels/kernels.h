/* SPDX-License-Identifier: BSD-2-Clause */
/* Internal: the kernel table. Everything about kernels comes from kernel_list.inc. */
#ifndef MNV2_KERNELS_H
#define MNV2_KERNELS_H
#include <stddef.h>

/* Rows per chunk of a per-channel reduction over a whole layer: the engine calls the batch-norm
 * sum kernels on chunks of this many rows (the last one shorter) and combines the chunks' partial
 * sums in chunk order, in double, so results do not depend on the thread count. The training
 * depthwise passes reduce per (image, band) instead, on more rows: band * out_w (statistics, up
 * to 560 in the standard preset at 224x224) and up to stride * band * in_w (backward sums, 672).
 * test_kernels checks the kernels at the row counts the engine really passes (it records them);
 * docs/design.md, "Invariants", lists every such contract. */
#define MNV2_REDUCE_CHUNK 256

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

/* Prototypes of every ISA's kernels: mnv2_gemm_nn_scalar, mnv2_gemm_nn_avx2, ... An ISA may leave
 * out kernels it does not speed up: its fill function sets only the entries it has. */
#define MNV2_KERNEL(name, params)                                                                  \
    void mnv2_##name##_scalar params;                                                          \
    void mnv2_##name##_sse41 params;                                                           \
    void mnv2_##name##_avx2 params;                                                            \
    void mnv2_##name##_avx512 params;                                                          \
    void mnv2_##name##_neon params;
#include "kernel_list.inc"
#undef MNV2_KERNEL

/* Each ISA's fill function (lib/kernels/<isa>/fill.c) overwrites the table entries that ISA
 * speeds up. Built only where the compiler and the `simd` option allow (MNV2_HAVE_<ISA>). */
void mnv2__fill_sse41(mnv2_kernels *k);
void mnv2__fill_avx2(mnv2_kernels *k);
void mnv2__fill_avx512(mnv2_kernels *k);
void mnv2__fill_neon(mnv2_kernels *k);

/* The table for an ISA level (an MNV2_ISA_* value at most what the CPU has). Never NULL:
 * levels above the CPU's are lowered. Thread-safe; tables are static and read-only. */
const mnv2_kernels *mnv2__kernels_for(int level, int *level_used);

/* Why MNV2_ISA was not used (an unknown name or a level of another architecture), or NULL when it
 * is unset or valid. mnv2_model_create() fails with this text. Thread-safe. */
const char *mnv2__isa_env_error(void);

#endif
