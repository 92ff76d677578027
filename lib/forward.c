/* The forward pass: stem -> blocks -> head -> pool -> dropout -> classifier. */
#include <math.h>
#include <string.h>

#include "layers.h"

void mnv2__conv(const struct mnv2_model *m, const plan_conv *c, const float *in, float *out, size_t batch)
{
    const mnv2_kernels *k = m->k;
    const float *w = m->params + c->w;
    const size_t in_img = (size_t)c->in_h * c->in_w * c->cin, out_img = (size_t)c->out_h * c->out_w * c->cout;
    switch (c->kind) {
    case CONV_PW:
        k->gemm_nn(batch * c->in_h * c->in_w, c->cout, c->cin, in, c->cin, w, c->cout, out, c->cout, 0);
        break;
    case CONV_DW:
        for (size_t b = 0; b < batch; b++)
            k->dw3x3_fwd(in + b * in_img, c->in_h, c->in_w, c->cin, w, out + b * out_img, c->out_h, c->out_w,
                         c->stride, 0, c->out_h);
        break;
    default:
        for (size_t b = 0; b < batch; b++)
            k->conv3x3_fwd(in + b * in_img, c->in_h, c->in_w, c->cin, w, out + b * out_img, c->out_h, c->out_w,
                           c->cout, c->stride, 0, c->out_h);
        break;
    }
}

void mnv2__bn_act(const struct mnv2_model *m, const plan_conv *c, const float *z, float *y, size_t batch,
                  const float *stats)
{
    const size_t C = c->cout;
    bn_tmp t = bn_scratch(m);
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
        t.a[ch] = gamma[ch] * invstd;
        t.b[ch] = beta[ch] - mean * t.a[ch];
    }
    const float lo = c->act ? 0.0f : -INFINITY, hi = c->act ? 6.0f : INFINITY;
    m->k->bn_apply(z, batch * c->out_h * c->out_w, C, t.a, t.b, lo, hi, y);
}

/* Batch statistics of z (training): mean and 1/sqrt(var + eps) into c->stats, running statistics
 * updated (running variance with the unbiased estimate, as PyTorch). Chunked, fixed order. */
static void bn_batch_stats(struct mnv2_model *m, const plan_conv *c, const float *z, size_t batch)
{
    const size_t C = c->cout, rows = batch * c->out_h * c->out_w;
    bn_tmp t = bn_scratch(m);
    float *mean = arena(m, c->stats), *invstd = mean + C;
    for (size_t ch = 0; ch < C; ch++)
        t.d1[ch] = t.d2[ch] = 0.0;
    for (size_t r = 0; r < rows; r += MNV2_REDUCE_CHUNK) {
        const size_t n = rows - r < MNV2_REDUCE_CHUNK ? rows - r : MNV2_REDUCE_CHUNK;
        m->k->bn_moments(z + r * C, n, C, NULL, t.f1, t.f2);
        for (size_t ch = 0; ch < C; ch++)
            t.d1[ch] += t.f1[ch];
    }
    for (size_t ch = 0; ch < C; ch++) {
        mean[ch] = (float)(t.d1[ch] / (double)rows);
        t.d1[ch] = 0.0;
    }
    for (size_t r = 0; r < rows; r += MNV2_REDUCE_CHUNK) {
        const size_t n = rows - r < MNV2_REDUCE_CHUNK ? rows - r : MNV2_REDUCE_CHUNK;
        m->k->bn_moments(z + r * C, n, C, mean, t.f1, t.f2);
        for (size_t ch = 0; ch < C; ch++) {
            t.d1[ch] += t.f1[ch];
            t.d2[ch] += t.f2[ch];
        }
    }
    const double mom = m->cfg.bn_momentum, eps = m->cfg.bn_eps;
    float *rm = m->buffers + c->rmean, *rv = m->buffers + c->rvar;
    for (size_t ch = 0; ch < C; ch++) {
        const double d = t.d1[ch] / (double)rows;
        double var = t.d2[ch] / (double)rows - d * d;
        if (var < 0.0)
            var = 0.0;
        const double mu = (double)mean[ch] + d;
        mean[ch] = (float)mu;
        invstd[ch] = (float)(1.0 / sqrt(var + eps));
        const double unbiased = rows > 1 ? var * (double)rows / (double)(rows - 1) : var;
        rm[ch] = (float)(mom * rm[ch] + (1.0 - mom) * mu);
        rv[ch] = (float)(mom * rv[ch] + (1.0 - mom) * unbiased);
    }
}

/* conv -> BN -> act. Training: z is stored at c->z, batch statistics used. Inference: z is
 * written to out and normalised in place. */
static void conv_bn(struct mnv2_model *m, const plan_conv *c, const float *in, float *out, size_t batch, int train)
{
    if (train) {
        float *z = arena(m, c->z);
        mnv2__conv(m, c, in, z, batch);
        bn_batch_stats(m, c, z, batch);
        mnv2__bn_act(m, c, z, out, batch, arena(m, c->stats));
    } else {
        mnv2__conv(m, c, in, out, batch);
        mnv2__bn_act(m, c, out, out, batch, NULL);
    }
}

void mnv2__forward(struct mnv2_model *m, const float *images, uint32_t batch, int train)
{
    const mnv2_plan *p = m->plan;
    const size_t B = batch;
    float *x = train ? arena(m, p->x0) : arena(m, p->g1);
    float *spare = arena(m, p->g2);
    if (train) {
        float *copy = arena(m, p->input);
        memcpy(copy, images, B * p->stem.in_h * p->stem.in_w * p->stem.cin * sizeof(float));
        images = copy;
    }
    conv_bn(m, &p->stem, images, x, B, train);
    for (uint32_t i = 0; i < p->n_blocks; i++) {
        const plan_block *k = &p->blocks[i];
        float *h1 = arena(m, p->s1), *h2 = arena(m, p->s2);
        float *out = train ? arena(m, k->out) : spare;
        const float *a = x;
        if (k->has_expand) {
            conv_bn(m, &k->expand, x, h1, B, train);
            a = h1;
        }
        conv_bn(m, &k->dw, a, h2, B, train);
        conv_bn(m, &k->project, h2, out, B, train);
        if (k->residual)
            m->k->add(out, x, B * k->out_h * k->out_w * k->cout);
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
    /* Classifier. */
    float *logits = arena(m, p->logits);
    m->k->gemm_nn(B, p->classes, C, pooled, C, m->params + p->fc_w, p->classes, logits, p->classes, 0);
    for (size_t b = 0; b < B; b++)
        m->k->add(logits + b * p->classes, m->params + p->fc_b, p->classes);
}
