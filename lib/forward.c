/* SPDX-License-Identifier: BSD-2-Clause */
/* The forward pass: stem -> blocks -> head -> pool -> dropout -> classifier. */
#include <math.h>

#include "batch_stats.h"
#include "ckd.h"
#include "layers.h"
#include "parallel.h"
#include "pool.h"
#include "train_dw.h"

void mnv2__conv(struct mnv2_model *m, const plan_conv *c, const float *in, float *out, size_t batch)
{
    const float *w = m->params + c->w;
    switch (c->kind) {
    case CONV_PW:
        mnv2__par_gemm(m, GEMM_NN, batch * c->in_h * c->in_w, c->cout, c->cin, in, c->cin, w, c->cout, out, c->cout, 0,
                       NULL, 0.0f, 0.0f);
        break;
    case CONV_DW:
        mnv2__par_dw_fwd(m, batch, in, c->in_h, c->in_w, c->cin, w, NULL, 0.0f, 0.0f, out, c->out_h, c->out_w,
                         c->stride);
        break;
    default:
        mnv2__par_conv3x3_fwd(m, batch, in, c->in_h, c->in_w, c->cin, w, out, c->out_h, c->out_w, c->cout, c->stride);
        break;
    }
}

void mnv2__bn_affine(const struct mnv2_model *m, const plan_conv *c, const float *stats, float *scale, float *shift)
{
    const size_t C = c->cout;
    const float *gamma = m->params + c->gamma, *beta = m->params + c->beta;
    for (size_t ch = 0; ch < C; ch++) {
        float invstd, mean;
        if (stats) {
            mean = stats[ch];
            invstd = stats[C + ch];
        } else {
            mean = m->buffers[c->rmean + ch];
            invstd = (float)(1.0 / sqrt((double)m->buffers[c->rvar + ch] + m->cfg.bn_eps));
        }
        scale[ch] = gamma[ch] * invstd;
        shift[ch] = beta[ch] - mean * scale[ch];
    }
}

void mnv2__bn_act(struct mnv2_model *m, const plan_conv *c, const float *z, float *y, size_t batch,
                  const float *stats)
{
    bn_tmp t = bn_scratch(m);
    mnv2__bn_affine(m, c, stats, t.a, t.b);
    const float lo = c->act ? 0.0f : -INFINITY, hi = c->act ? 6.0f : INFINITY;
    mnv2__par_bn_apply(m, z, batch * c->out_h * c->out_w, c->cout, t.a, t.b, lo, hi, y);
}

void mnv2__bn_hook(struct mnv2_model *m, int32_t phase, const char *layer, uint32_t channels, double *count,
                   double *s1, double *s2)
{
    if (!m->bn_hook || m->hook_failed)
        return;
    double n = *count;
    int32_t rc = m->bn_hook(m->bn_hook_user, phase, layer, channels, &n, s1, s2);
    int ok = rc == 0 && isfinite(n) && n >= 1.0;
    for (uint32_t ch = 0; ok && ch < channels; ch++)
        ok = isfinite(s1[ch]) && isfinite(s2[ch]) && (phase != MNV2_BN_STATS_FORWARD || s2[ch] >= 0.0);
    if (ok)
        *count = n;
    else
        m->hook_failed = rc ? rc : MNV2_ERR_HOOK;
}

/* Batch statistics of z (training), given its per-channel mean and biased variance (the caller's
 * hook may replace them first): mean and 1/sqrt(var + eps) into c->stats, running statistics
 * updated (running variance with the unbiased estimate, as PyTorch). Statistics that are not
 * finite (a NaN or infinite input, an overflow) leave the running statistics alone and mark the
 * forward as failed (m->bad_layer); mnv2_forward() then restores the running statistics the
 * earlier layers moved. */
static void bn_batch_stats(struct mnv2_model *m, const plan_conv *c, double *mu, double *var, size_t rows)
{
    const size_t C = c->cout;
    double n = (double)rows;
    mnv2__bn_hook(m, MNV2_BN_STATS_FORWARD, c->name, (uint32_t)C, &n, mu, var);
    float *mean = arena(m, c->stats), *invstd = mean + C;
    const double mom = m->cfg.bn_momentum, eps = m->cfg.bn_eps;
    float *rm = m->buffers + c->rmean, *rv = m->buffers + c->rvar;
    int finite = 1;
    for (size_t ch = 0; ch < C; ch++)
        finite &= isfinite(mu[ch]) && isfinite(var[ch]);
    if (!finite && !m->bad_layer)
        m->bad_layer = c->name;
    if (m->bad_layer) {
        for (size_t ch = 0; ch < C; ch++) {
            mean[ch] = (float)mu[ch];
            invstd[ch] = (float)(1.0 / sqrt(var[ch] + eps));
        }
        return;
    }
    for (size_t ch = 0; ch < C; ch++) {
        mean[ch] = (float)mu[ch];
        invstd[ch] = (float)(1.0 / sqrt(var[ch] + eps));
        const double unbiased = n > 1.0 ? var[ch] * n / (n - 1.0) : var[ch];
        rm[ch] = (float)(mom * rm[ch] + (1.0 - mom) * mu[ch]);
        rv[ch] = (float)(mom * rv[ch] + (1.0 - mom) * unbiased);
    }
}

/* Inference weights: batch norm folded into each convolution (w * scale, beta - mean * scale),
 * recomputed only after the parameters or running statistics change; the 1x1 ones are packed for
 * the product's microkernel there too (every inference call would otherwise repack them, each
 * thread on its own). */
static void fold_conv(struct mnv2_model *m, const plan_conv *c)
{
    const size_t C = c->cout, wn = c->kind == CONV_DW ? 9 * C : c->kind == CONV_PW ? (size_t)c->cin * C : 9 * (size_t)c->cin * C;
    const float *gamma = m->params + c->gamma, *beta = m->params + c->beta;
    float *scale = m->fold + c->beta; /* scratch: the folded beta slot is written last */
    for (size_t ch = 0; ch < C; ch++)
        scale[ch] = (float)(gamma[ch] / sqrt((double)m->buffers[c->rvar + ch] + m->cfg.bn_eps));
    for (size_t i = 0; i < wn; i++)
        m->fold[c->w + i] = m->params[c->w + i] * scale[i % C];
    for (size_t ch = 0; ch < C; ch++)
        m->fold[c->gamma + ch] = beta[ch] - m->buffers[c->rmean + ch] * scale[ch];
    if (c->kind == CONV_PW && m->use_packed)
        mnv2__gemm_pack_b(c->cin, C, m->fold + c->w, C, m->packed + c->pk);
}

static void fold_all(struct mnv2_model *m)
{
    const mnv2_plan *p = m->plan;
    fold_conv(m, &p->stem);
    for (uint32_t i = 0; i < p->n_blocks; i++) {
        if (p->blocks[i].has_expand)
            fold_conv(m, &p->blocks[i].expand);
        fold_conv(m, &p->blocks[i].dw);
        fold_conv(m, &p->blocks[i].project);
    }
    fold_conv(m, &p->head);
    if (m->use_packed) /* the classifier has no batch norm: its weights are packed as they are */
        mnv2__gemm_pack_b(p->fc_in, p->classes, m->params + p->fc_w, p->classes, m->packed + p->fc_pk);
    m->fold_valid = 1;
}

/* Training: the pre-BN output z of conv c at c->z and its batch statistics (c->stats, running
 * statistics updated). */
static float *conv_train(struct mnv2_model *m, const plan_conv *c, const float *in, size_t batch)
{
    float *z = arena(m, c->z);
    const size_t rows = batch * c->out_h * c->out_w;
    bn_tmp t = bn_scratch(m);
    if (c->kind == CONV_PW) {
        mnv2__gemm_bn_stats(m, rows, c->cout, c->cin, in, NULL, NULL, m->params + c->w, z, t.d1, t.d2);
    } else {
        mnv2__conv(m, c, in, z, batch);
        mnv2__bn_stats(m, z, rows, c->cout, t.d1, t.d2);
    }
    bn_batch_stats(m, c, t.d1, t.d2, rows);
    return z;
}

/* conv -> BN -> act. Training: z is stored at c->z, batch statistics used. Inference: folded
 * weights, bias and activation in the kernel's epilogue (the stem: conv, then bias and clamp). */
static void conv_bn(struct mnv2_model *m, const plan_conv *c, const float *in, float *out, size_t batch, int train)
{
    if (train) {
        float *z = conv_train(m, c, in, batch);
        mnv2__bn_act(m, c, z, out, batch, arena(m, c->stats));
        return;
    }
    const float lo = c->act ? 0.0f : -INFINITY, hi = c->act ? 6.0f : INFINITY;
    const float *w = m->fold + c->w, *bias = m->fold + c->gamma;
    switch (c->kind) {
    case CONV_PW:
        if (m->use_packed)
            mnv2__par_gemm(m, GEMM_NN_BIAS_ACT_PACKED, batch * c->in_h * c->in_w, c->cout, c->cin, in, c->cin,
                           m->packed + c->pk, 0, out, c->cout, 0, bias, lo, hi);
        else
            mnv2__par_gemm(m, GEMM_NN_BIAS_ACT, batch * c->in_h * c->in_w, c->cout, c->cin, in, c->cin, w, c->cout,
                           out, c->cout, 0, bias, lo, hi);
        break;
    case CONV_DW:
        mnv2__par_dw_fwd(m, batch, in, c->in_h, c->in_w, c->cin, w, bias, lo, hi, out, c->out_h, c->out_w, c->stride);
        break;
    default: {
        mnv2__par_conv3x3_fwd(m, batch, in, c->in_h, c->in_w, c->cin, w, out, c->out_h, c->out_w, c->cout, c->stride);
        bn_tmp t = bn_scratch(m);
        for (size_t ch = 0; ch < c->cout; ch++)
            t.a[ch] = 1.0f;
        mnv2__par_bn_apply(m, out, batch * c->out_h * c->out_w, c->cout, t.a, bias, lo, hi, out);
        break;
    }
    }
}

/* Inference of a block with an expansion, fused over bands of output rows: each task expands the
 * input rows its band needs into a per-thread tile, runs the depthwise conv on the tile and
 * projects (plus the residual) straight into the output, so the expanded tensor never leaves
 * the cache. Band geometry: block_band() (layers.h); row 0 of a later band's output tile is unused. */
typedef struct block_job {
    const struct mnv2_model *m;
    const plan_block *k;
    const float *x;
    float *out;
    size_t bands;
} block_job;

/* C[rows x cout] = act(A * W + bias) of 1x1 conv c with its folded weights, packed or not. */
static void pw_infer(const struct mnv2_model *m, const plan_conv *c, size_t rows, const float *a, float *out, float lo,
                     float hi)
{
    const float *bias = m->fold + c->gamma;
    if (m->use_packed)
        m->k->gemm_nn_bias_act_packed(rows, c->cout, c->cin, a, c->cin, m->packed + c->pk, out, c->cout, bias, lo, hi);
    else
        m->k->gemm_nn_bias_act(rows, c->cout, c->cin, a, c->cin, m->fold + c->w, c->cout, out, c->cout, bias, lo, hi);
}

static void block_task(void *ctx, size_t i, uint32_t thread)
{
    const block_job *j = ctx;
    const plan_block *k = j->k;
    const struct mnv2_model *m = j->m;
    const mnv2_kernels *kr = m->k;
    const band_geom g = block_band(k, j->bands, i);
    const size_t s = k->stride, W = k->in_w, Wo = k->out_w, hid = k->hid, oy0 = g.oy0, n = g.n, r0 = g.r0;
    float *E = thread_tile(m, thread);
    float *D = E + ((g.rows * W * hid + 15) & ~(size_t)15);
    const float *x = j->x + g.img * k->in_h * W * k->cin;
    float *out = j->out + g.img * k->out_h * Wo * k->cout;
    pw_infer(m, &k->expand, g.rows * W, x + g.origin * W * k->cin, E, 0.0f, 6.0f);
    kr->dw3x3_fwd_bias_act(E, g.rows, W, hid, m->fold + k->dw.w, m->fold + k->dw.gamma, 0.0f, 6.0f, D, n + r0, Wo, s,
                           r0, r0 + n);
    pw_infer(m, &k->project, n * Wo, D + r0 * Wo * hid, out + oy0 * Wo * k->cout, -INFINITY, INFINITY);
    if (k->residual)
        kr->add(out + oy0 * Wo * k->cout, x + oy0 * W * k->cin, n * Wo * k->cout);
}

size_t mnv2__fused_tile_floats(const plan_block *k, int *ovf)
{
    const size_t R = k->band, erow = mnv2__ckd_mulz(ovf, k->in_w, k->hid);
    const size_t e = mnv2__ckd_mulz(ovf, k->stride * R + 2, erow);
    const size_t d = mnv2__ckd_mulz(ovf, mnv2__ckd_mulz(ovf, R + 1, k->out_w), k->hid);
    return mnv2__ckd_addz(ovf, mnv2__ckd_addz(ovf, e, 15) & ~(size_t)15, mnv2__ckd_addz(ovf, d, 15) & ~(size_t)15);
}

/* Whether a block's inference runs fused: always on one thread; on more, when its bands give every
 * thread two tasks. Otherwise (small maps at small batches, where the expanded tensor fits in
 * cache anyway) it runs layer by layer, each layer split over rows across the threads. Both ways
 * compute every output value with the same kernels in the same order. */
static int fused_pays(const struct mnv2_model *m, const plan_block *k, size_t batch)
{
    const size_t threads = mnv2__pool_threads(m->pool), bands = (k->out_h + k->band - 1) / k->band;
    return threads == 1 || batch * bands >= 2 * threads;
}

static void block_infer_fused(struct mnv2_model *m, const plan_block *k, const float *x, float *out, size_t batch)
{
    block_job j = {.m = m, .k = k, .x = x, .out = out, .bands = (k->out_h + k->band - 1) / k->band};
    mnv2__pool_run(m->pool, batch * j.bands, block_task, &j);
}

/* Training forward of a block with an expansion (residual excluded). Neither the expand's nor
 * the depthwise's activation is stored: the depthwise pass normalises the expand rows it needs from
 * z into a tile and takes its own statistics band by band; the projection normalises its input
 * chunk by chunk. */
static void block_train_expanded(struct mnv2_model *m, const plan_block *k, const float *x, float *out, size_t batch)
{
    const float *ze = conv_train(m, &k->expand, x, batch);
    bn_tmp t = bn_scratch(m);
    mnv2__bn_affine(m, &k->expand, arena(m, k->expand.stats), t.a, t.b);
    mnv2__dw_train(m, k, batch, ze, t.a, t.b, arena(m, k->dw.z), t.d1, t.d2);
    bn_batch_stats(m, &k->dw, t.d1, t.d2, batch * k->dw.out_h * k->dw.out_w);
    const plan_conv *pc = &k->project;
    const size_t rows = batch * pc->out_h * pc->out_w;
    mnv2__bn_affine(m, &k->dw, arena(m, k->dw.stats), t.a, t.b);
    mnv2__gemm_bn_stats(m, rows, pc->cout, pc->cin, arena(m, k->dw.z), t.a, t.b, m->params + pc->w, arena(m, pc->z),
                        t.d1, t.d2);
    bn_batch_stats(m, pc, t.d1, t.d2, rows);
    mnv2__bn_act(m, pc, arena(m, pc->z), out, batch, arena(m, pc->stats));
}

void mnv2__forward(struct mnv2_model *m, const float *images, uint32_t batch, int train)
{
    const mnv2_plan *p = m->plan;
    const size_t B = batch;
    float *x = train ? arena(m, p->x0) : arena(m, p->g1);
    float *spare = arena(m, p->g2);
    if (!train && !m->fold_valid)
        fold_all(m);
    if (train) {
        m->fold_valid = 0; /* running statistics move */
        float *copy = arena(m, p->input);
        mnv2__par_copy(m, copy, images, B * p->stem.in_h * p->stem.in_w * p->stem.cin);
        images = copy;
    }
    conv_bn(m, &p->stem, images, x, B, train);
    for (uint32_t i = 0; i < p->n_blocks; i++) {
        const plan_block *k = &p->blocks[i];
        float *h1 = arena(m, p->s1), *h2 = arena(m, p->s2);
        float *out = train ? arena(m, k->out) : spare;
        if (!train && k->has_expand && fused_pays(m, k, B)) {
            block_infer_fused(m, k, x, out, B);
            spare = x;
            x = out;
            continue;
        }
        const float *a = x;
        if (train && k->has_expand) {
            block_train_expanded(m, k, x, out, B);
        } else {
            if (k->has_expand) {
                conv_bn(m, &k->expand, x, h1, B, train);
                a = h1;
            }
            conv_bn(m, &k->dw, a, h2, B, train);
            conv_bn(m, &k->project, h2, out, B, train);
        }
        if (k->residual)
            mnv2__par_add(m, out, x, B * k->out_h * k->out_w * k->cout);
        if (!train)
            spare = x;
        x = out;
    }
    /* Head conv, then global average pool. */
    float *h = arena(m, p->s1);
    conv_bn(m, &p->head, x, h, B, train);
    const size_t hw = (size_t)p->head.out_h * p->head.out_w, C = p->fc_in;
    float *pooled = arena(m, p->pooled);
    for (size_t b = 0; b < B; b++) {
        for (size_t ch = 0; ch < C; ch++)
            pooled[b * C + ch] = 0.0f;
        for (size_t i = 0; i < hw; i++)
            m->k->add(pooled + b * C, h + (b * hw + i) * C, C);
        for (size_t ch = 0; ch < C; ch++)
            pooled[b * C + ch] /= (float)hw;
    }
    /* Dropout (inverted): each value kept with probability 1 - p and scaled by 1 / (1 - p). */
    if (train && m->cfg.dropout > 0.0) {
        float *mask = arena(m, p->mask);
        const double keep = 1.0 - m->cfg.dropout;
        const uint64_t base = mnv2__hash64((uint64_t)m->cfg.seed ^ mnv2__hash64(m->rng_state + 0x9e3779b97f4a7c15u));
        for (size_t i = 0; i < B * C; i++) {
            const double u = (double)(mnv2__hash64(base + i) >> 11) * 0x1.0p-53;
            mask[i] = u < keep ? (float)(1.0 / keep) : 0.0f;
            pooled[i] *= mask[i];
        }
        m->rng_state++;
    }
    /* Classifier. In inference at the levels that pack, its packed weights are streamed panel by
     * panel, the columns split over the threads: at batch 1 the product reads 5 MB of weights for
     * 1.3 M multiply-adds, and B read in place (1,000 floats a row, 32 columns at a time) is a
     * strided walk the prefetchers do not follow. The bias is added by the product's epilogue, the
     * same addition as the add below, so the logits have the same bits either way. */
    float *logits = arena(m, p->logits);
    if (!train && m->use_packed) {
        mnv2__par_gemm(m, GEMM_NN_BIAS_ACT_PACKED, B, p->classes, C, pooled, C, m->packed + p->fc_pk, 0, logits,
                       p->classes, 0, m->params + p->fc_b, -INFINITY, INFINITY);
    } else {
        m->k->gemm_nn(B, p->classes, C, pooled, C, m->params + p->fc_w, p->classes, logits, p->classes, 0);
        for (size_t b = 0; b < B; b++)
            m->k->add(logits + b * p->classes, m->params + p->fc_b, p->classes);
    }
}
