/* SPDX-License-Identifier: BSD-2-Clause */
/* The backward pass: classifier -> dropout -> pool -> head -> blocks (reverse) -> stem.
 * Activations after BN + ReLU6 are not stored; they are recomputed from the stored pre-BN
 * outputs (z) and batch statistics where a weight gradient needs them. The depthwise pre-BN
 * outputs are not stored either: each block computes its own again from the expand's. ReLU6
 * masks are never materialised: the batch-norm backward kernels derive them from z and the BN
 * affine. */
#include <string.h>

#include "batch_stats.h"
#include "layers.h"
#include "parallel.h"
#include "train_dw.h"
#include "weight_grad.h"

/* The forward's affine of c, for the ReLU6 mask (NULL, NULL without an activation). */
static void mask_affine(struct mnv2_model *m, const plan_conv *c, const float **mscale, const float **mshift)
{
    *mscale = *mshift = NULL;
    if (c->act) {
        bn_tmp t = bn_scratch(m);
        mnv2__bn_affine(m, c, arena(m, c->stats), t.f1, t.f2);
        *mscale = t.f1;
        *mshift = t.f2;
    }
}

/* Given the sums d1 = sum(d), d2 = sum(d * (z - mean)) of the gradient d w.r.t. the BN output
 * (after the ReLU6 mask), accumulates the gamma / beta gradients and writes dz, the gradient
 * w.r.t. the conv output (dz may alias dy). t.d1 and t.d2 are overwritten by the hook's sums. */
static void bn_backward_apply(struct mnv2_model *m, const plan_conv *c, const float *dy, const float *z, float *dz,
                              size_t batch, const float *mscale, const float *mshift)
{
    const size_t C = c->cout, rows = batch * c->out_h * c->out_w;
    bn_tmp t = bn_scratch(m);
    const float *mean = arena(m, c->stats), *invstd = mean + C, *gamma = m->params + c->gamma;
    float *ggamma = m->grads + c->gamma, *gbeta = m->grads + c->beta;
    for (size_t ch = 0; ch < C; ch++) {
        ggamma[ch] += (float)(t.d2[ch] * (double)invstd[ch]);
        gbeta[ch] += (float)t.d1[ch];
    }
    /* The caller's hook may replace the sums (and count) by those of a larger batch. */
    double n = (double)rows;
    mnv2__bn_hook(m, MNV2_BN_STATS_BACKWARD, c->name, (uint32_t)C, &n, t.d1, t.d2);
    for (size_t ch = 0; ch < C; ch++) {
        const double is = invstd[ch], g = gamma[ch];
        const double b = -g * is * is * is * t.d2[ch] / n;
        t.a[ch] = (float)(g * is);
        t.b[ch] = (float)b;
        t.k[ch] = (float)(-g * is * t.d1[ch] / n - b * mean[ch]);
    }
    mnv2__par_bn_bwd_apply(m, dy, z, rows, C, t.a, t.b, t.k, mscale, mshift, dz);
}

/* dy holds the gradient w.r.t. the BN (+ ReLU6 when c->act) output; the ReLU6 mask is applied
 * inside the kernels. Accumulates the gamma / beta gradients and writes dz (may alias dy). */
static void bn_backward(struct mnv2_model *m, const plan_conv *c, const float *dy, const float *z, float *dz,
                        size_t batch)
{
    const float *mscale, *mshift;
    mask_affine(m, c, &mscale, &mshift);
    bn_tmp t = bn_scratch(m);
    mnv2__bn_bwd_sums(m, z, dy, batch * c->out_h * c->out_w, c->cout, arena(m, c->stats), mscale, mshift, t.d1, t.d2);
    bn_backward_apply(m, c, dy, z, dz, batch, mscale, mshift);
}

/* Weight gradient of a conv (accumulated) and, if din, its input gradient (overwritten).
 * in is the conv's input activation, dz the gradient w.r.t. its output. The weight gradient is
 * complete before din is written, so din may alias in. */
static void conv_backward(struct mnv2_model *m, const plan_conv *c, const float *in, const float *dz, float *din,
                          size_t batch)
{
    const float *w = m->params + c->w;
    float *gw = m->grads + c->w;
    switch (c->kind) {
    case CONV_PW: {
        const size_t rows = batch * c->in_h * c->in_w;
        mnv2__wgrad_1x1(m, c->cin, c->cout, rows, in, dz, gw);
        if (din)
            mnv2__par_gemm(m, GEMM_NT, rows, c->cin, c->cout, dz, c->cout, w, c->cout, din, c->cin, 0, NULL, 0.0f, 0.0f);
        break;
    }
    case CONV_DW:
        mnv2__wgrad_dw(m, batch, in, c->in_h, c->in_w, c->cin, dz, c->out_h, c->out_w, c->stride, gw);
        if (din)
            mnv2__par_dw_bwd_data(m, batch, dz, c->out_h, c->out_w, c->cin, w, din, c->in_h, c->in_w, c->stride);
        break;
    default: /* the stem: its input is the image, which needs no gradient */
        mnv2__wgrad_stem(m, batch, in, c->in_h, c->in_w, c->cin, dz, c->out_h, c->out_w, c->cout, c->stride, gw);
        break;
    }
}

/* Block k's depthwise pre-BN output z_d (not kept by the forward) again into its scratch slot
 * (k->dw.z), bit for bit as the forward computed it, and its activation a_d = act(bn(z_d)), the
 * projection's input, into ad. x is the block input. */
static void dw_recompute(struct mnv2_model *m, const plan_block *k, const float *x, float *ad, size_t batch)
{
    const plan_conv *dc = &k->dw;
    float *zd = arena(m, dc->z);
    if (!k->has_expand) {
        mnv2__conv(m, dc, x, zd, batch);
        mnv2__bn_act(m, dc, zd, ad, batch, arena(m, dc->stats));
        return;
    }
    bn_tmp t = bn_scratch(m);
    mnv2__bn_affine(m, &k->expand, arena(m, k->expand.stats), t.a, t.b);
    mnv2__bn_affine(m, dc, arena(m, dc->stats), t.f1, t.f2);
    mnv2__dw_recompute(m, k, batch, arena(m, k->expand.z), t.a, t.b, t.f1, t.f2, zd, ad);
}

/* Block k's projection input gradient into da (the gradient w.r.t. the depthwise activation), from
 * dzp (w.r.t. the projection output), chunk by chunk with the depthwise BN's backward sums taken
 * while each chunk is in cache; then da becomes the depthwise dz in place. */
static void project_dw_backward(struct mnv2_model *m, const plan_block *k, const float *dzp, float *da, size_t batch)
{
    const plan_conv *pc = &k->project, *dc = &k->dw;
    const float *mscale, *mshift, *zd = arena(m, dc->z);
    bn_tmp t = bn_scratch(m);
    mask_affine(m, dc, &mscale, &mshift);
    mnv2__gemm_nt_bn_bwd_sums(m, pc->cout, dzp, m->params + pc->w, da, zd, batch * dc->out_h * dc->out_w, dc->cout,
                              arena(m, dc->stats), mscale, mshift, t.d1, t.d2);
    bn_backward_apply(m, dc, da, zd, da, batch, mscale, mshift);
}

/* Block k's depthwise weight and input gradients per band from dzd (the depthwise dz), the expand
 * activation recomputed in a tile and the expand BN's backward sums taken on the fly; the input
 * gradient lands in dze and becomes the expand dz in place. */
static void dw_expand_backward(struct mnv2_model *m, const plan_block *k, const float *dzd, float *dze, size_t batch)
{
    const plan_conv *ec = &k->expand;
    const float *ze = arena(m, ec->z), *mscale, *mshift;
    bn_tmp t = bn_scratch(m);
    mask_affine(m, ec, &mscale, &mshift);
    mnv2__dw_bwd_train(m, k, batch, ze, mscale, mshift, dzd, dze, m->grads + k->dw.w, t.d1, t.d2);
    bn_backward_apply(m, ec, dze, ze, dze, batch, mscale, mshift);
}

void mnv2__backward(struct mnv2_model *m, uint32_t batch)
{
    const mnv2_plan *p = m->plan;
    const mnv2_kernels *k = m->k;
    const size_t B = batch, C = p->fc_in, K = p->classes;
    const float *dlogits = arena(m, p->probs), *pooled = arena(m, p->pooled);
    float *s1 = arena(m, p->s1), *s2 = arena(m, p->s2);
    float *g = arena(m, p->g1), *gnext = arena(m, p->g2);

    /* Classifier. */
    k->gemm_tn(C, K, B, pooled, C, dlogits, K, m->grads + p->fc_w, K, 1);
    for (size_t b = 0; b < B; b++)
        k->add(m->grads + p->fc_b, dlogits + b * K, K);
    float *dpool = gnext; /* free until the first block */
    k->gemm_nt(B, C, K, dlogits, K, m->params + p->fc_w, K, dpool, C, 0);
    if (m->cfg.dropout > 0.0) {
        const float *mask = arena(m, p->mask);
        for (size_t i = 0; i < B * C; i++)
            dpool[i] *= mask[i];
    }
    /* Pool and head. */
    const plan_conv *hc = &p->head;
    const size_t hw = (size_t)hc->out_h * hc->out_w;
    for (size_t b = 0; b < B; b++)
        for (size_t i = 0; i < hw; i++)
            for (size_t ch = 0; ch < C; ch++)
                s2[(b * hw + i) * C + ch] = dpool[b * C + ch] / (float)hw;
    bn_backward(m, hc, s2, arena(m, hc->z), s2, B);
    const float *last = p->n_blocks ? arena(m, p->blocks[p->n_blocks - 1].out) : arena(m, p->x0);
    conv_backward(m, hc, last, s2, g, B);

    /* Blocks, last to first. g: gradient w.r.t. the block output. */
    for (uint32_t i = p->n_blocks; i-- > 0;) {
        const plan_block *blk = &p->blocks[i];
        const float *x = i ? arena(m, p->blocks[i - 1].out) : arena(m, p->x0);
        /* Project (no activation): its dz goes to gnext, free until this block's input gradient;
         * g stays intact for the residual. */
        bn_backward(m, &blk->project, g, arena(m, blk->project.z), gnext, B);
        dw_recompute(m, blk, x, s2, B); /* z_d into s1 (dw.z), a_d (the project's input) into s2 */
        conv_backward(m, &blk->project, s2, gnext, NULL, B);
        project_dw_backward(m, blk, gnext, s2, B); /* s2: the depthwise dz */
        if (blk->has_expand) {
            dw_expand_backward(m, blk, s2, s1, B); /* s1: the expand dz */
            conv_backward(m, &blk->expand, x, s1, gnext, B);
        } else {
            conv_backward(m, &blk->dw, x, s2, gnext, B);
        }
        if (blk->residual)
            mnv2__par_add(m, gnext, g, B * blk->out_h * blk->out_w * blk->cout);
        float *tmp = g;
        g = gnext;
        gnext = tmp;
    }
    /* Stem: g is the gradient w.r.t. its activation x0. */
    bn_backward(m, &p->stem, g, arena(m, p->stem.z), g, B);
    conv_backward(m, &p->stem, arena(m, p->input), g, NULL, B);
}
