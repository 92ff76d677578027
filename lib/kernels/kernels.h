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

/* Packed B of gemm_nn_bias_act_packed, the same layout at every level: panels of MNV2_GEMM_PANEL
 * columns, panel q (columns 32q ..) starting at bp + 32 * q * k; its rows are pw floats apart,
 * pw = 32, or 16 for a last panel of at most 16 columns, zero-padded. So columns c0 .. n of a
 * packed matrix, c0 a multiple of 32, are the packed matrix of n - c0 columns at bp + c0 * k
 * (the engine's column blocks, parallel.c, are multiples of 32). It takes
 * k * mnv2__gemm_packed_cols(n) floats. lib/kernels/gemm_pack.c. */
#define MNV2_GEMM_PANEL 32
size_t mnv2__gemm_packed_cols(size_t n);
void mnv2__gemm_pack_b(size_t k, size_t n, const float *b, size_t ldb, float *bp);
/* gemm_nn_bias_act_packed for a level whose own product reads B unpacked (sse41, neon, scalar):
 * gemm on each panel in place. */
void mnv2__gemm_packed_by_panels(mnv2_gemm_nn_bias_act_fn *gemm, size_t m, size_t n, size_t k, const float *a,
                                 size_t lda, const float *bp, float *c, size_t ldc, const float *bias, float lo,
                                 float hi);
/* Whether inference should pack at this level (an MNV2_ISA_* value): where the packed product
 * reads the panels in place (avx2, avx512). Elsewhere one unpacked call is faster than a call per
 * panel (NEON's 12-column tiles do not divide a panel; SSE4.1 measured 1% slower), and the engine
 * keeps the unpacked product. */
int mnv2__gemm_packed_pays(int level);

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
