/* SPDX-License-Identifier: BSD-2-Clause */
/* Internal: weight gradients of the convolutions, accumulated into the gradient buffer. Each is a
 * sum over the batch, taken as partial sums over a split that depends on the shape alone (row
 * chunks of a 1x1 convolution, images of a 3x3 one) and combined in a fixed order, so the bits do
 * not depend on the thread count. The partials live in the arena's wpart region. */
#ifndef MNV2_WEIGHT_GRAD_H
#define MNV2_WEIGHT_GRAD_H
#include <stddef.h>

#include "model.h"
#include "plan.h"

/* The weight gradient of a 1x1 convolution over k rows (batch x pixels) is summed over this
 * many fixed row chunks, each on its own, then combined in chunk order: each thread reads the
 * rows it produced (see pool.c), and the split depends on the shape alone, never on the thread
 * count. Chunks after the first need an [cin x cout] partial each. */
#define MNV2_WGRAD_MAX_CHUNKS 4
#define MNV2_WGRAD_MIN_ROWS 256
static inline size_t mnv2__wgrad_chunks(size_t k)
{
    const size_t n = k / MNV2_WGRAD_MIN_ROWS;
    return n < 1 ? 1 : n > MNV2_WGRAD_MAX_CHUNKS ? MNV2_WGRAD_MAX_CHUNKS : n;
}

/* c[M x N] += a^T * b, a [K x M] and b [K x N] dense (a 1x1 convolution's weight gradient, K =
 * batch x pixels), over mnv2__wgrad_chunks(K) row chunks combined in order. */
void mnv2__wgrad_1x1(struct mnv2_model *m, size_t M, size_t N, size_t K, const float *a, const float *b, float *c);
/* Weight gradients of the depthwise / stem convolutions: per-image partial sums (in parallel)
 * added to dwt image by image, in order. */
void mnv2__wgrad_dw(struct mnv2_model *m, size_t batch, const float *in, size_t h, size_t w, size_t c,
                    const float *dout, size_t ho, size_t wo, size_t stride, float *dwt);
void mnv2__wgrad_stem(struct mnv2_model *m, size_t batch, const float *in, size_t h, size_t w, size_t cin,
                      const float *dout, size_t ho, size_t wo, size_t cout, size_t stride, float *dwt);
/* Floats of the arena's wpart region the weight gradient of conv c needs at batch: a 3x3 one a
 * weight-sized slot per image, a 1x1 one a slot per row chunk after the first. ovf: set when a
 * size overflows (ckd.h). */
size_t mnv2__wgrad_scratch(const plan_conv *c, size_t batch, int *ovf);

#endif
