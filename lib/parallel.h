/* SPDX-License-Identifier: BSD-2-Clause */
/* Internal: the kernels run across the model's threads. Each splits its work into ranges whose
 * results do not depend on the split (see kernel_list.inc), or into fixed chunks combined in a
 * fixed order, so results are bit-identical whatever the thread count (docs/design.md,
 * "Invariants"). */
#ifndef MNV2_PARALLEL_H
#define MNV2_PARALLEL_H
#include <stddef.h>

#include "model.h"
#include "plan.h"

enum { GEMM_NN, GEMM_NT, GEMM_TN, GEMM_NN_BIAS_ACT };

/* A gemm as the kernel of that kind (kernel_list.inc), split over m. */
void mnv2__par_gemm(struct mnv2_model *m, int kind, size_t M, size_t N, size_t K, const float *a, size_t lda,
                    const float *b, size_t ldb, float *c, size_t ldc, int acc, const float *bias, float lo, float hi);
/* c[M x N] += a^T * b, a [K x M] and b [K x N] dense (a 1x1 convolution's weight gradient), over
 * mnv2__wgrad_chunks(K) row chunks combined in order: the same bits whatever the thread count. */
void mnv2__par_gemm_wgrad(struct mnv2_model *m, size_t M, size_t N, size_t K, const float *a, const float *b,
                          float *c);
/* Depthwise / stem convolutions over a batch of images (forward, input gradient), split over
 * images and row bands. bias NULL: plain dw3x3_fwd; else dw3x3_fwd_bias_act. */
void mnv2__par_dw_fwd(struct mnv2_model *m, size_t batch, const float *in, size_t h, size_t w, size_t c,
                      const float *wt, const float *bias, float lo, float hi, float *out, size_t ho, size_t wo,
                      size_t stride);
void mnv2__par_dw_bwd_data(struct mnv2_model *m, size_t batch, const float *dout, size_t ho, size_t wo, size_t c,
                           const float *wt, float *din, size_t h, size_t w, size_t stride);
void mnv2__par_conv3x3_fwd(struct mnv2_model *m, size_t batch, const float *in, size_t h, size_t w, size_t cin,
                           const float *wt, float *out, size_t ho, size_t wo, size_t cout, size_t stride);
/* Weight gradients of the depthwise / stem convolutions: per-image partial sums (in parallel)
 * added to dwt image by image, in order. */
void mnv2__par_dw_bwd_filter(struct mnv2_model *m, size_t batch, const float *in, size_t h, size_t w, size_t c,
                             const float *dout, size_t ho, size_t wo, size_t stride, float *dwt);
void mnv2__par_conv3x3_bwd_filter(struct mnv2_model *m, size_t batch, const float *in, size_t h, size_t w,
                                  size_t cin, const float *dout, size_t ho, size_t wo, size_t cout, size_t stride,
                                  float *dwt);
/* Batch-norm backward sums over fixed chunks of MNV2_REDUCE_CHUNK rows, combined in chunk order in
 * double: d1 = sum(d), d2 = sum(d * (z - mean)) per channel, d = dy through the ReLU6 mask of
 * mscale / mshift when they are not NULL (see kernel_list.inc). */
void mnv2__par_bn_bwd_sums(struct mnv2_model *m, const float *z, const float *dy, size_t rows, size_t c,
                           const float *mean, const float *mscale, const float *mshift, double *d1, double *d2);
/* dy[rows x c] = a[rows x k] * b^T (b stored [c x k]), chunk by chunk, each chunk's sums as
 * mnv2__par_bn_bwd_sums() taken while it is in cache. */
void mnv2__par_gemm_nt_bn_bwd_sums(struct mnv2_model *m, size_t k, const float *a, const float *b, float *dy,
                                   const float *z, size_t rows, size_t c, const float *mean, const float *mscale,
                                   const float *mshift, double *d1, double *d2);
/* Per-channel mean and biased variance of x[rows][c] in double, from fixed chunks of
 * MNV2_REDUCE_CHUNK rows (each chunk's moments about its own mean) combined in chunk order. */
void mnv2__par_bn_stats(struct mnv2_model *m, const float *x, size_t rows, size_t c, double *mean, double *var);
/* out[M x N] = act(a)[M x K] * b[K x N] (dense, leading dimensions K and N), chunk by chunk, each
 * chunk's statistics taken while it is in cache; then as mnv2__par_bn_stats(). With scale (and
 * shift), act(a) = min(max(a * scale + shift, 0), 6) per column, formed chunk by chunk in the
 * thread's tile (the plan sizes it); with scale NULL, act(a) = a. */
void mnv2__par_gemm_stats(struct mnv2_model *m, size_t M, size_t N, size_t K, const float *a, const float *scale,
                          const float *shift, const float *b, float *out, double *mean, double *var);
/* Training depthwise convolution of block k (which has an expansion): out = dw(relu6(z_expand *
 * scale + shift)), fused per (image, band of k->band output rows); mean and biased variance of out
 * as mnv2__par_bn_stats() but over the bands. */
void mnv2__par_dw_train(struct mnv2_model *m, const plan_block *k, size_t batch, const float *z_expand,
                        const float *scale, const float *shift, float *out, double *mean, double *var);
/* Block k's training depthwise output again (k has an expansion; the backward, which does not
 * keep it): zd bit for bit as mnv2__par_dw_train() wrote it, and ad = min(max(zd * dscale +
 * dshift, 0), 6), fused per (image, band). */
void mnv2__par_dw_recompute(struct mnv2_model *m, const plan_block *k, size_t batch, const float *z_expand,
                            const float *scale, const float *shift, const float *dscale, const float *dshift,
                            float *zd, float *ad);
/* Training backward of block k's depthwise convolution (k has an expansion), fused per (image,
 * band): adds the filter gradient to dwt, writes the input gradient din (w.r.t. the expand's
 * activation) and the expand's batch-norm backward sums d1 = sum(d), d2 = sum(d * (z - mean)) with
 * d = din through the ReLU6 mask, where scale / shift are the expand BN's affine (also used to
 * recompute its activation from z_expand). */
void mnv2__par_dw_bwd_train(struct mnv2_model *m, const plan_block *k, size_t batch, const float *z_expand,
                            const float *scale, const float *shift, const float *dout, float *din, float *dwt,
                            double *d1, double *d2);
/* Element-wise kernels over rows x c, split over rows. */
void mnv2__par_bn_apply(struct mnv2_model *m, const float *x, size_t rows, size_t c, const float *scale,
                        const float *shift, float lo, float hi, float *y);
void mnv2__par_bn_bwd_apply(struct mnv2_model *m, const float *dy, const float *z, size_t rows, size_t c,
                            const float *a, const float *b, const float *k, const float *mscale, const float *mshift,
                            float *dz);
void mnv2__par_add(struct mnv2_model *m, float *y, const float *x, size_t n);
void mnv2__par_copy(struct mnv2_model *m, float *y, const float *x, size_t n);

#endif
