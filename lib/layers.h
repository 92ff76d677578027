/* SPDX-License-Identifier: BSD-2-Clause */
/* Internal: helpers shared by the forward and backward passes. */
#ifndef MNV2_LAYERS_H
#define MNV2_LAYERS_H
#include <stddef.h>
#include <stdint.h>

#include "kernels/kernels.h"
#include "model.h"
#include "plan.h"

static inline float *arena(const struct mnv2_model *m, size_t off) { return m->arena + off; }

/* The tile of worker `thread` (plan->tile_floats floats). */
static inline float *thread_tile(const struct mnv2_model *m, uint32_t thread)
{
    return m->arena + m->plan->tile + (size_t)thread * m->plan->tile_floats;
}

/* Task i of a block's (image, band) loop: output rows [oy0, oy1) of image img, and the input rows
 * [origin, origin + rows) they read. A band starting at oy0 > 0 puts the tile's origin at input
 * row s * (oy0 - 1): tile output row r' = r0 + (oy - oy0), r0 = 1, then reads tile rows
 * s * r' + ky - 1 >= 0, exactly the rows image row oy needs, and the kernels' zero padding is used
 * only at the image's real edges; the first band has origin 0 and r0 = 0. */
typedef struct band_geom {
    size_t img, oy0, oy1, n, origin, r0, rows;
} band_geom;

static inline band_geom block_band(const plan_block *k, size_t bands, size_t i)
{
    band_geom g;
    const size_t s = k->stride, band = i % bands;
    g.img = i / bands;
    g.oy0 = band * k->band;
    g.oy1 = g.oy0 + k->band < k->out_h ? g.oy0 + k->band : k->out_h;
    g.n = g.oy1 - g.oy0;
    g.origin = g.oy0 ? s * (g.oy0 - 1) : 0;
    g.r0 = g.oy0 ? 1 : 0;
    size_t last = s * (g.oy1 - 1) + 2;
    if (last > k->in_h)
        last = k->in_h;
    g.rows = last - g.origin;
    return g;
}

/* Per-channel scratch for batch norm, carved from the plan's stat_tmp region (12 * max_c floats,
 * arena.inc): two double arrays, then five float arrays. */
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

/* Floats of a thread's tile the fused inference of block k (forward.c) needs: the expanded input
 * rows of a band (at most stride * band + 2), then, 16-float aligned, its depthwise output rows
 * (band + 1: the first row of a later band's is unused). ovf: set when a size overflows (ckd.h). */
size_t mnv2__fused_tile_floats(const plan_block *k, int *ovf);
/* Convolution of a batch without BN: out = conv(in). */
void mnv2__conv(struct mnv2_model *m, const plan_conv *c, const float *in, float *out, size_t batch);
/* The BN's affine y = scale * z + shift of conv c, from batch statistics (mean | invstd) or,
 * with stats NULL, the running statistics. */
void mnv2__bn_affine(const struct mnv2_model *m, const plan_conv *c, const float *stats, float *scale, float *shift);
/* y = act(scale * z + shift) with the BN's affine from stats (mean | invstd) or running statistics. */
void mnv2__bn_act(struct mnv2_model *m, const plan_conv *c, const float *z, float *y, size_t batch,
                  const float *stats);

#endif
