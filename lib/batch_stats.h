/* SPDX-License-Identifier: BSD-2-Clause */
/* Internal: batch-norm reductions over the batch. Rows are summed in fixed chunks of
 * MNV2_REDUCE_CHUNK rows (or, for the training depthwise passes, per (image, band): train_dw.h),
 * each chunk on its own, and the chunks are combined in chunk order in double, so the results do
 * not depend on the thread count. The chunk partials live in the arena's cpart region. */
#ifndef MNV2_BATCH_STATS_H
#define MNV2_BATCH_STATS_H
#include <stddef.h>

#include "kernels/kernels.h"
#include "model.h"

/* Floats of one chunk's partial batch statistics over c channels:
 * [sum | chunk mean | residual sum about it | M2 about it | rows]. */
#define MNV2_STATS_SLOT(c) (4 * (size_t)(c) + 4)

/* Per-channel mean and biased variance of x[rows][c] in double, from fixed chunks of
 * MNV2_REDUCE_CHUNK rows (each chunk's moments about its own mean) combined in chunk order. */
void mnv2__bn_stats(struct mnv2_model *m, const float *x, size_t rows, size_t c, double *mean, double *var);
/* out[M x N] = act(a)[M x K] * b[K x N] (dense, leading dimensions K and N), chunk by chunk, each
 * chunk's statistics taken while it is in cache; then as mnv2__bn_stats(). With scale (and
 * shift), act(a) = min(max(a * scale + shift, 0), 6) per column, formed chunk by chunk in the
 * thread's tile (the plan sizes it); with scale NULL, act(a) = a. */
void mnv2__gemm_bn_stats(struct mnv2_model *m, size_t M, size_t N, size_t K, const float *a, const float *scale,
                         const float *shift, const float *b, float *out, double *mean, double *var);
/* Batch-norm backward sums over fixed chunks of MNV2_REDUCE_CHUNK rows, combined in chunk order in
 * double: d1 = sum(d), d2 = sum(d * (z - mean)) per channel, d = dy through the ReLU6 mask of
 * mscale / mshift when they are not NULL (see kernel_list.inc). */
void mnv2__bn_bwd_sums(struct mnv2_model *m, const float *z, const float *dy, size_t rows, size_t c,
                       const float *mean, const float *mscale, const float *mshift, double *d1, double *d2);
/* dy[rows x c] = a[rows x k] * b^T (b stored [c x k]), chunk by chunk, each chunk's sums as
 * mnv2__bn_bwd_sums() taken while it is in cache. */
void mnv2__gemm_nt_bn_bwd_sums(struct mnv2_model *m, size_t k, const float *a, const float *b, float *dy,
                               const float *z, size_t rows, size_t c, const float *mean, const float *mscale,
                               const float *mshift, double *d1, double *d2);

/* Floats of the arena's cpart region the reductions over rows x c need: a slot per chunk of
 * MNV2_REDUCE_CHUNK rows (the backward sums use 2c floats of each). */
size_t mnv2__bn_stats_scratch(size_t rows, size_t c, int *ovf);
/* Floats of a thread's tile mnv2__gemm_bn_stats() needs to form act(a) for K = k: a chunk of rows. */
size_t mnv2__bn_stats_tile(size_t k, int *ovf);
/* (ovf: set when a size overflows, ckd.h.) */

/* The statistics of one chunk of n rows x c channels into its slot (MNV2_STATS_SLOT(c) floats):
 * its sum, then its moments about its own mean while it is in cache. */
void mnv2__stats_chunk(const mnv2_kernels *k, const float *x, size_t n, size_t c, float *slot);
/* Mean and biased variance from `chunks` consecutive slots, combined in slot order in double
 * (Chan et al.'s pairwise update). */
void mnv2__stats_combine(const float *slots, size_t chunks, size_t c, double *mean, double *var);

#endif
