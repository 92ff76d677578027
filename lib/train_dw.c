/* SPDX-License-Identifier: BSD-2-Clause */
/* The training passes of a block's depthwise convolution (see train_dw.h). */
#include <stdint.h>
#include <string.h>

#include "batch_stats.h"
#include "ckd.h"
#include "layers.h"
#include "parallel.h"
#include "pool.h"
#include "train_dw.h"

/* The (image, band) loops of a block's training depthwise passes. */
typedef struct band_job {
    const struct mnv2_model *m;
    const plan_block *k;
    size_t bands;
    const float *z;             /* the expand's pre-BN output */
    const float *scale, *shift; /* the expand BN's affine */
    float *out;                 /* forward, recompute: the depthwise pre-BN output; backward: din */
    const float *dscale, *dshift; /* recompute: the depthwise BN's affine */
    float *ad;                    /* recompute: the depthwise activation */
    const float *dout, *mean;     /* backward: the depthwise dz; the expand BN's batch mean */
    float *fpart, *spart;         /* per-band slots: filter gradients (backward); statistics or sums */
} band_job;

static size_t block_bands(const plan_block *k) { return (k->out_h + k->band - 1) / k->band; }

void mnv2__dw_train_scratch(const plan_block *k, size_t batch, size_t *cpart, size_t *wpart, int *ovf)
{
    const size_t tasks = mnv2__ckd_mulz(ovf, batch, block_bands(k)), c = k->hid;
    *cpart = mnv2__ckd_mulz(ovf, tasks, mnv2__ckd_addz(ovf, mnv2__ckd_mulz(ovf, 4, c), 4)); /* MNV2_STATS_SLOT(c) */
    *wpart = mnv2__ckd_mulz(ovf, mnv2__ckd_mulz(ovf, tasks, 9), c);
}

/* The expand activation (BN + ReLU6 of z) of the input rows band g reads, in the thread's tile. */
static const float *band_input(const band_job *j, const band_geom *g, uint32_t thread)
{
    const plan_block *k = j->k;
    const size_t W = k->in_w, c = k->hid;
    float *tile = thread_tile(j->m, thread);
    j->m->k->bn_apply(j->z + (g->img * k->in_h + g->origin) * W * c, g->rows * W, c, j->scale, j->shift, 0.0f, 6.0f,
                      tile);
    return tile;
}

/* Training depthwise convolution of an expanded block, per (image, band of output rows) as the
 * fused inference: the input rows a band needs are normalised (BN + ReLU6 of the expand
 * convolution, from its pre-BN output) into the thread's tile, convolved into the band's output
 * rows, and those rows' statistics taken while in cache. Bands come from the plan (not the thread
 * count), so the statistics combine in the same order whatever the thread count. */
/* The depthwise output rows [oy0, oy1) of band g into j->out, from the expand activation formed in
 * the thread's tile; returns the band's first output row (g.n * out_w rows of hid channels). */
static float *band_dw(const band_job *j, const band_geom *g, uint32_t thread)
{
    const plan_block *k = j->k;
    const size_t Wo = k->out_w, c = k->hid;
    const float *tile = band_input(j, g, thread);
    float *out = j->out + g->img * k->out_h * Wo * c; /* image base; the kernel writes rows oy0..oy1 */
    j->m->k->dw3x3_fwd(tile, g->rows, k->in_w, c, j->m->params + k->dw.w, out + (g->oy0 - g->r0) * Wo * c,
                       g->n + g->r0, Wo, k->stride, g->r0, g->r0 + g->n);
    return out + g->oy0 * Wo * c;
}

static void dwt_task(void *ctx, size_t i, uint32_t thread)
{
    const band_job *j = ctx;
    const band_geom g = block_band(j->k, j->bands, i);
    const size_t c = j->k->hid;
    mnv2__stats_chunk(j->m->k, band_dw(j, &g, thread), g.n * j->k->out_w, c, j->spart + i * MNV2_STATS_SLOT(c));
}

void mnv2__dw_train(struct mnv2_model *m, const plan_block *k, size_t batch, const float *z_expand,
                    const float *scale, const float *shift, float *out, double *mean, double *var)
{
    band_job j = {
        .m = m, .k = k, .bands = block_bands(k), .z = z_expand, .scale = scale, .shift = shift, .out = out,
        .spart = arena(m, m->plan->cpart),
    };
    mnv2__pool_run(m->pool, batch * j.bands, dwt_task, &j);
    mnv2__stats_combine(j.spart, batch * j.bands, k->hid, mean, var);
}

/* The training depthwise output of an expanded block again (backward), band by band exactly as
 * dwt_task computes it, and its activation (BN + ReLU6) while the band is in cache. */
static void dwr_task(void *ctx, size_t i, uint32_t thread)
{
    const band_job *j = ctx;
    const band_geom g = block_band(j->k, j->bands, i);
    const float *z = band_dw(j, &g, thread);
    j->m->k->bn_apply(z, g.n * j->k->out_w, j->k->hid, j->dscale, j->dshift, 0.0f, 6.0f, j->ad + (z - j->out));
}

void mnv2__dw_recompute(struct mnv2_model *m, const plan_block *k, size_t batch, const float *z_expand,
                        const float *scale, const float *shift, const float *dscale, const float *dshift, float *zd,
                        float *ad)
{
    band_job j = {
        .m = m, .k = k, .bands = block_bands(k), .z = z_expand, .scale = scale, .shift = shift, .out = zd,
        .dscale = dscale, .dshift = dshift, .ad = ad,
    };
    mnv2__pool_run(m->pool, batch * j.bands, dwr_task, &j);
}

/* Training backward of the depthwise convolution of an expanded block, per (image, band of output
 * rows) as the forward: the expand activations the band's filter gradient needs are recomputed
 * into the thread's tile (never stored), the filter gradient of the band goes to its own slot,
 * the input gradient is written for the band's input rows [s * oy0, s * oy1) (the last band to the
 * image's end), and the expand's batch-norm backward sums over those rows are taken while they
 * are in cache. Slots and sums combine in task order: independent of the thread count. */
static void dwb_task(void *ctx, size_t i, uint32_t thread)
{
    const band_job *j = ctx;
    const plan_block *k = j->k;
    const mnv2_kernels *kr = j->m->k;
    const band_geom g = block_band(k, j->bands, i);
    const size_t s = k->stride, H = k->in_h, W = k->in_w, Wo = k->out_w, c = k->hid;
    const float *z = j->z + g.img * H * W * c, *dout = j->dout + g.img * k->out_h * Wo * c;
    const float *tile = band_input(j, &g, thread);
    float *fp = j->fpart + i * 9 * c;
    memset(fp, 0, 9 * c * sizeof(float));
    kr->dw3x3_bwd_filter(tile, g.rows, W, c, dout + (g.oy0 - g.r0) * Wo * c, g.n + g.r0, Wo, s, g.r0, g.r0 + g.n, fp);
    const size_t y0 = s * g.oy0, y1 = g.oy1 == k->out_h || s * g.oy1 > H ? H : s * g.oy1;
    float *din = j->out + g.img * H * W * c;
    kr->dw3x3_bwd_data(dout, k->out_h, Wo, c, j->m->params + k->dw.w, din, H, W, s, y0, y1);
    float *sp = j->spart + i * 2 * c;
    kr->bn_bwd_reduce(din + y0 * W * c, z + y0 * W * c, (y1 - y0) * W, c, j->mean, j->scale, j->shift, sp, sp + c);
}

/* The per-band slots of mnv2__dw_bwd_train() combined in band order, split over channels:
 * dwt += each band's filter gradient; d1, d2 = the sums of the bands' BN backward sums. */
typedef struct combine_job {
    const struct mnv2_model *m;
    size_t tasks, c, n;
    const float *fpart, *spart;
    float *dwt;
    double *d1, *d2;
} combine_job;

static void combine_task(void *ctx, size_t r, uint32_t thread)
{
    const combine_job *j = ctx;
    const size_t c = j->c, c0 = mnv2__part(c, j->n, r), c1 = mnv2__part(c, j->n, r + 1);
    for (size_t t = 0; t < 9; t++)
        for (size_t i = 0; i < j->tasks; i++)
            j->m->k->add(j->dwt + t * c + c0, j->fpart + (i * 9 + t) * c + c0, c1 - c0);
    for (size_t ch = c0; ch < c1; ch++)
        j->d1[ch] = j->d2[ch] = 0.0;
    for (size_t i = 0; i < j->tasks; i++) {
        const float *s1 = j->spart + i * 2 * c, *s2 = s1 + c;
        for (size_t ch = c0; ch < c1; ch++) {
            j->d1[ch] += s1[ch];
            j->d2[ch] += s2[ch];
        }
    }
}

void mnv2__dw_bwd_train(struct mnv2_model *m, const plan_block *k, size_t batch, const float *z_expand,
                        const float *scale, const float *shift, const float *dout, float *din, float *dwt, double *d1,
                        double *d2)
{
    const size_t c = k->hid;
    band_job j = {
        .m = m, .k = k, .bands = block_bands(k), .z = z_expand, .scale = scale, .shift = shift, .out = din,
        .dout = dout, .mean = arena(m, k->expand.stats), .fpart = arena(m, m->plan->wpart),
        .spart = arena(m, m->plan->cpart),
    };
    const size_t tasks = batch * j.bands;
    mnv2__pool_run(m->pool, tasks, dwb_task, &j);
    combine_job cj = {
        .m = m, .tasks = tasks, .c = c, .n = mnv2__ranges(m, c, 9 * tasks), .fpart = j.fpart, .spart = j.spart,
        .dwt = dwt, .d1 = d1, .d2 = d2,
    };
    mnv2__pool_run(m->pool, cj.n, combine_task, &cj);
}
