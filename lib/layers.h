/* Internal: helpers shared by the forward and backward passes. */
#ifndef MNV2_LAYERS_H
#define MNV2_LAYERS_H
#include <stddef.h>

#include "kernels/kernels.h"
#include "model.h"
#include "plan.h"

static inline float *arena(const struct mnv2_model *m, size_t off) { return m->arena + off; }

/* Per-channel scratch for batch norm, carved from the plan's stat_tmp region. */
typedef struct bn_tmp {
    double *d1, *d2;
    float *f1, *f2, *a, *b, *k;
} bn_tmp;

static inline bn_tmp bn_scratch(const struct mnv2_model *m)
{
    const size_t C = m->plan->max_c;
    float *base = arena(m, m->plan->stat_tmp);
    bn_tmp t;
    t.d1 = (double *)(void *)base;
    t.d2 = (double *)(void *)(base + 2 * C);
    t.f1 = base + 4 * C;
    t.f2 = base + 5 * C;
    t.a = base + 6 * C;
    t.b = base + 7 * C;
    t.k = base + 8 * C;
    return t;
}

/* Convolution of a batch without BN: out = conv(in). */
void mnv2__conv(struct mnv2_model *m, const plan_conv *c, const float *in, float *out, size_t batch);
/* The BN's affine y = scale * z + shift of conv c, from batch statistics (mean | invstd) or,
 * with stats NULL, the running statistics. */
void mnv2__bn_affine(const struct mnv2_model *m, const plan_conv *c, const float *stats, float *scale, float *shift);
/* y = act(scale * z + shift) with the BN's affine from stats (mean | invstd) or running statistics. */
void mnv2__bn_act(struct mnv2_model *m, const plan_conv *c, const float *z, float *y, size_t batch,
                  const float *stats);

#endif
