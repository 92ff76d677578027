/* Internal: the kernels run across the model's threads. Each splits its work into ranges whose
 * results do not depend on the split (see kernel_list.inc), or into fixed chunks combined in a
 * fixed order, so results are bit-identical whatever the thread count. */
#ifndef MNV2_PARALLEL_H
#define MNV2_PARALLEL_H
#include <stddef.h>

#include "model.h"

enum { GEMM_NN, GEMM_NT, GEMM_TN, GEMM_NN_BIAS_ACT };

/* A gemm as the kernel of that kind (kernel_list.inc), split over m. */
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
/* Weight gradients of the depthwise / stem convolutions: per-image partial sums (in parallel)
 * added to dwt image by image, in order. */
void mnv2__par_dw_bwd_filter(struct mnv2_model *m, size_t batch, const float *in, size_t h, size_t w, size_t c,
                             const float *dout, size_t ho, size_t wo, size_t stride, float *dwt);
void mnv2__par_conv3x3_bwd_filter(struct mnv2_model *m, size_t batch, const float *in, size_t h, size_t w,
                                  size_t cin, const float *dout, size_t ho, size_t wo, size_t cout, size_t stride,
                                  float *dwt);
/* Per-channel sums over fixed chunks of MNV2_REDUCE_CHUNK rows, combined in chunk order in double:
 * bn_moments (dy NULL: d1 = sum(x - center), d2 = sum((x - center)^2)) or bn_bwd_reduce
 * (d1 = sum(dy), d2 = sum(dy * (x - center))). */
void mnv2__par_channel_sums(struct mnv2_model *m, const float *x, const float *dy, size_t rows, size_t c,
                            const float *center, double *d1, double *d2);
/* Element-wise kernels over rows x c, split over rows. */
void mnv2__par_bn_apply(struct mnv2_model *m, const float *x, size_t rows, size_t c, const float *scale,
                        const float *shift, float lo, float hi, float *y);
void mnv2__par_bn_bwd_apply(struct mnv2_model *m, const float *dy, const float *z, size_t rows, size_t c,
                            const float *a, const float *b, const float *k, float *dz);
void mnv2__par_relu6_bwd(struct mnv2_model *m, float *dy, const float *y, size_t n);
void mnv2__par_add(struct mnv2_model *m, float *y, const float *x, size_t n);

#endif
