/* SPDX-License-Identifier: BSD-2-Clause */
/* Internal: how work is split over the model's threads. Each pass splits its work into ranges
 * whose results do not depend on the split (see kernel_list.inc), or into fixed chunks combined in
 * a fixed order (batch_stats.h, weight_grad.h, train_dw.h), so results are bit-identical whatever
 * the thread count (docs/design.md, "Invariants"). */
#ifndef MNV2_PARALLEL_H
#define MNV2_PARALLEL_H
#include <stddef.h>

#include "model.h"
#include "plan.h"

/* Ranges: item i of n covers [total * i / n, total * (i + 1) / n). */
static inline size_t mnv2__part(size_t total, size_t n, size_t i) { return total * i / n; }
/* How many ranges for `units` of work (each ~`cost`): a few per thread, none tiny. */
size_t mnv2__ranges(const struct mnv2_model *m, size_t units, size_t cost);

/* A 2-D split of an M x N product into `rows` row ranges of at least 16 rows (tiles of the
 * microkernels stay whole in the middle) times `cols` column blocks: rows first, then columns
 * until there are `want` items. A row split alone leaves most threads idle when M is small (a 7x7
 * map has 49 rows: 4 ranges for 16 threads). */
typedef struct split2d {
    size_t rows, cols;
} split2d;
split2d mnv2__split_2d(const struct mnv2_model *m, size_t M, size_t N, size_t K, size_t want);
/* Columns [*c0, *c1) of column block b of `cols` blocks over N columns. */
void mnv2__col_range(size_t N, size_t cols, size_t b, size_t *c0, size_t *c1);

enum { GEMM_NN, GEMM_NT, GEMM_TN, GEMM_NN_BIAS_ACT, GEMM_NN_BIAS_ACT_PACKED };

/* A gemm as the kernel of that kind (kernel_list.inc), split over rows and column blocks of c.
 * GEMM_NN_BIAS_ACT_PACKED: b packed by mnv2__gemm_pack_b (ldb unused). */
void mnv2__par_gemm(struct mnv2_model *m, int kind, size_t M, size_t N, size_t K, const float *a, size_t lda,
                    const float *b, size_t ldb, float *c, size_t ldc, int acc, const float *bias, float lo, float hi);
/* Depthwise / stem convolutions over a batch of images (forward, input gradient), split over
 * images and row bands. bias NULL: plain dw3x3_fwd; else dw3x3_fwd_bias_act. */
void mnv2__par_dw_fwd(struct mnv2_model *m, size_t batch, const float *in, size_t h, size_t w, size_t c,
                      const float *wt, const float *bias, float lo, float hi, float *out, size_t ho, size_t wo,
                      size_t stride);
void mnv2__par_dw_bwd_data(struct mnv2_model *m, size_t batch, const float *dout, size_t ho, size_t wo, size_t c,
                           const float *wt, float *din, size_t h, size_t w, size_t stride);
void mnv2__par_conv3x3_fwd(struct mnv2_model *m, size_t batch, const float *in, size_t h, size_t w, size_t cin,
                           const float *wt, float *out, size_t ho, size_t wo, size_t cout, size_t stride);
/* Element-wise kernels over rows x c, split over rows. */
void mnv2__par_bn_apply(struct mnv2_model *m, const float *x, size_t rows, size_t c, const float *scale,
                        const float *shift, float lo, float hi, float *y);
void mnv2__par_bn_bwd_apply(struct mnv2_model *m, const float *dy, const float *z, size_t rows, size_t c,
                            const float *a, const float *b, const float *k, const float *mscale, const float *mshift,
                            float *dz);
void mnv2__par_add(struct mnv2_model *m, float *y, const float *x, size_t n);
void mnv2__par_copy(struct mnv2_model *m, float *y, const float *x, size_t n);

#endif
