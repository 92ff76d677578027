/* SPDX-License-Identifier: BSD-2-Clause */
/* Internal: the training passes of the depthwise convolution of a block with an expansion, fused
 * per (image, band of k->band output rows) with the expand's BN + ReLU6 (formed in the thread's
 * tile, never stored). Bands come from the plan, not the thread count, and their partial sums
 * (arena regions cpart and wpart) combine in band order: the bits do not depend on the thread
 * count. */
#ifndef MNV2_TRAIN_DW_H
#define MNV2_TRAIN_DW_H
#include <stddef.h>

#include "model.h"
#include "plan.h"

/* Forward: out = dw(relu6(z_expand * scale + shift)); mean and biased variance of out as
 * mnv2__bn_stats() but over the bands. */
void mnv2__dw_train(struct mnv2_model *m, const plan_block *k, size_t batch, const float *z_expand,
                    const float *scale, const float *shift, float *out, double *mean, double *var);
/* Block k's training depthwise output again (the backward, which does not keep it): zd bit for bit
 * as mnv2__dw_train() wrote it, and ad = min(max(zd * dscale + dshift, 0), 6). */
void mnv2__dw_recompute(struct mnv2_model *m, const plan_block *k, size_t batch, const float *z_expand,
                        const float *scale, const float *shift, const float *dscale, const float *dshift, float *zd,
                        float *ad);
/* Backward: adds the filter gradient to dwt, writes the input gradient din (w.r.t. the expand's
 * activation) and the expand's batch-norm backward sums d1 = sum(d), d2 = sum(d * (z - mean)) with
 * d = din through the ReLU6 mask, where scale / shift are the expand BN's affine (also used to
 * recompute its activation from z_expand). */
void mnv2__dw_bwd_train(struct mnv2_model *m, const plan_block *k, size_t batch, const float *z_expand,
                        const float *scale, const float *shift, const float *dout, float *din, float *dwt, double *d1,
                        double *d2);
/* The arena scratch these passes need for block k at batch: *cpart floats (a statistics slot per
 * band), *wpart floats (a filter-gradient slot per band). ovf: set when a size overflows (ckd.h). */
void mnv2__dw_train_scratch(const plan_block *k, size_t batch, size_t *cpart, size_t *wpart, int *ovf);

#endif
