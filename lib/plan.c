/* SPDX-License-Identifier: BSD-2-Clause */
/* The plan: every shape, offset and count of a network, from its configuration alone. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal_error.h"
#include "model.h"
#include "plan.h"
#include "layers.h"

/* torchvision's _make_divisible(v, 8): round to the nearest multiple of 8, at least 8, and never
 * more than 10% below v. */
static uint32_t make_divisible(double v)
{
    long nv = (long)(v + 4.0) / 8 * 8;
    if (nv < 8)
        nv = 8;
    if ((double)nv < 0.9 * v)
        nv += 8;
    return (uint32_t)nv;
}

static size_t align16(size_t n) { return (n + 15) & ~(size_t)15; }

typedef struct builder {
    mnv2_plan *p;
    size_t arena;    /* training storage cursor */
    uint32_t cap_tensors;
    int32_t err;
    size_t cpart, wpart; /* largest scratch each layer asks for */
} builder;

static void add_tensor(builder *b, const char *name, int32_t kind, uint32_t ndim, const uint32_t *dims, int decay)
{
    mnv2_plan *p = b->p;
    if (p->n_tensors >= b->cap_tensors) {
        b->err = MNV2_ERR_OUT_OF_MEMORY;
        return;
    }
    plan_tensor *t = &p->tensors[p->n_tensors++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->kind = kind;
    t->ndim = ndim;
    t->numel = 1;
    for (uint32_t i = 0; i < 4; i++) {
        t->dims[i] = i < ndim ? dims[i] : 1;
        if (i < ndim)
            t->numel *= dims[i];
    }
    t->decay = decay;
    if (kind == MNV2_TENSOR_PARAM) {
        t->off = p->n_params;
        p->n_params += t->numel;
    } else {
        t->off = p->n_buffers;
        p->n_buffers += t->numel;
    }
}

/* Plan one conv + BN. wname is the weight's tensor name, bn the BN module prefix. */
static void plan_conv_layer(builder *b, plan_conv *c, int kind, int act, uint32_t in_h, uint32_t in_w, uint32_t cin,
                            uint32_t cout, uint32_t stride, const char *wname, const char *bn, const char *layer)
{
    mnv2_plan *p = b->p;
    char nm[64];
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->act = act;
    c->in_h = in_h;
    c->in_w = in_w;
    c->cin = cin;
    c->cout = cout;
    c->stride = stride;
    c->out_h = (in_h - 1) / stride + 1;
    c->out_w = (in_w - 1) / stride + 1;
    snprintf(c->name, sizeof c->name, "%s", layer);
    uint32_t dims[4];
    uint32_t nd;
    if (kind == CONV_STEM) {
        dims[0] = 3, dims[1] = 3, dims[2] = cin, dims[3] = cout, nd = 4;
        c->macs = (uint64_t)c->out_h * c->out_w * cout * cin * 9;
    } else if (kind == CONV_DW) {
        dims[0] = 3, dims[1] = 3, dims[2] = cout, nd = 3;
        c->macs = (uint64_t)c->out_h * c->out_w * cout * 9;
    } else {
        dims[0] = cin, dims[1] = cout, nd = 2;
        c->macs = (uint64_t)c->out_h * c->out_w * cout * cin;
    }
    c->w = p->n_params;
    add_tensor(b, wname, MNV2_TENSOR_PARAM, nd, dims, 1);
    c->params = p->n_params - c->w + 2 * (uint64_t)cout;
    dims[0] = cout;
    snprintf(nm, sizeof nm, "%s.weight", bn);
    c->gamma = p->n_params;
    add_tensor(b, nm, MNV2_TENSOR_PARAM, 1, dims, 0);
    snprintf(nm, sizeof nm, "%s.bias", bn);
    c->beta = p->n_params;
    add_tensor(b, nm, MNV2_TENSOR_PARAM, 1, dims, 0);
    snprintf(nm, sizeof nm, "%s.running_mean", bn);
    c->rmean = p->n_buffers;
    add_tensor(b, nm, MNV2_TENSOR_RUNNING_MEAN, 1, dims, 0);
    snprintf(nm, sizeof nm, "%s.running_var", bn);
    c->rvar = p->n_buffers;
    add_tensor(b, nm, MNV2_TENSOR_RUNNING_VAR, 1, dims, 0);
    p->macs += c->macs;
    if (cout > p->max_c)
        p->max_c = cout;
    if (cin > p->max_c)
        p->max_c = cin;
    const size_t chunks = (p->batch * c->out_h * c->out_w + MNV2_REDUCE_CHUNK - 1) / MNV2_REDUCE_CHUNK;
    if (chunks * MNV2_STATS_SLOT(cout) > b->cpart)
        b->cpart = chunks * MNV2_STATS_SLOT(cout);
    const size_t wsize = kind == CONV_STEM ? 9 * (size_t)cin * cout : kind == CONV_DW ? 9 * (size_t)cout : 0;
    if (wsize * p->batch > b->wpart)
        b->wpart = wsize * p->batch;
    const size_t wgrad = kind == CONV_PW ? (mnv2__wgrad_chunks(p->batch * in_h * in_w) - 1) * cin * cout : 0;
    if (wgrad > b->wpart)
        b->wpart = wgrad;
    if (p->trainable) {
        /* The depthwise pre-BN output is not kept: it lives in scratch (s1, set at the end) and
         * the backward computes it again from the stored expand output. */
        if (kind != CONV_DW) {
            c->z = b->arena;
            b->arena += align16(p->batch * c->out_h * c->out_w * cout);
        }
        c->stats = b->arena;
        b->arena += align16(2 * (size_t)cout);
    }
}

uint32_t mnv2__plan_threads(const struct mnv2_config *cfg)
{
    if (cfg->threads > 0)
        return (uint32_t)cfg->threads;
    const long online = sysconf(_SC_NPROCESSORS_ONLN);
    return online > 0 ? (uint32_t)online : 1;
}

/* Fused inference tiles: the expanded rows a band of output rows needs stay near this size. */
#define MNV2_TILE_BUDGET (96 * 1024) /* floats */

int32_t mnv2__plan_create(const struct mnv2_config *cfg, int trainable, mnv2_plan **out)
{
    if (cfg->n_rows == 0 || cfg->n_rows > MNV2_MAX_BLOCK_ROWS)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "block table has %u rows", (unsigned)cfg->n_rows);
    uint32_t n_blocks = 0;
    for (uint32_t r = 0; r < cfg->n_rows; r++)
        n_blocks += (uint32_t)cfg->rows[r][2];
    if (n_blocks == 0 || n_blocks > MNV2_MAX_BLOCKS)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "block table has %u blocks", (unsigned)n_blocks);
    const uint32_t cap = 5 * (3 * n_blocks + 2) + 2;
    mnv2_plan *p = calloc(1, sizeof *p);
    plan_block *blocks = calloc(n_blocks, sizeof *blocks);
    plan_tensor *tensors = calloc(cap, sizeof *tensors);
    if (!p || !blocks || !tensors) {
        free(p), free(blocks), free(tensors);
        return mnv2__fail(MNV2_ERR_OUT_OF_MEMORY, "out of memory planning the network");
    }
    p->cfg = *cfg;
    p->blocks = blocks;
    p->tensors = tensors;
    p->n_blocks = n_blocks;
    p->trainable = trainable;
    p->batch = (size_t)cfg->max_batch;
    builder b = {p, 0, cap, MNV2_OK, 0, 0};
    const double wm = cfg->width_mult;
    const size_t B = p->batch;
    char wname[64], bn[64], layer[48];

    /* Stem: features.0 */
    const uint32_t stem_c = make_divisible((double)cfg->stem_c * wm);
    plan_conv_layer(&b, &p->stem, CONV_STEM, 1, (uint32_t)cfg->in_h, (uint32_t)cfg->in_w, (uint32_t)cfg->in_c, stem_c,
                    2, "features.0.0.weight", "features.0.1", "features.0");
    if (trainable) {
        p->input = b.arena;
        b.arena += align16(B * (size_t)cfg->in_h * (size_t)cfg->in_w * (size_t)cfg->in_c);
        p->x0 = b.arena;
        b.arena += align16(B * p->stem.out_h * p->stem.out_w * stem_c);
    }
    size_t io_max = B * p->stem.out_h * p->stem.out_w * stem_c;
    size_t hid_max = io_max;

    uint32_t c = stem_c, h = p->stem.out_h, w = p->stem.out_w, bi = 0;
    size_t tile_floats = 0;
    for (uint32_t r = 0; r < cfg->n_rows; r++) {
        const int32_t *row = cfg->rows[r];
        const uint32_t t = (row[0] != 1 && cfg->expansion) ? (uint32_t)cfg->expansion : (uint32_t)row[0];
        const uint32_t cout = make_divisible((double)row[1] * wm);
        for (int32_t i = 0; i < row[2]; i++, bi++) {
            plan_block *k = &p->blocks[bi];
            const uint32_t s = i == 0 ? (uint32_t)row[3] : 1;
            const uint32_t f = bi + 1; /* features.f */
            k->cin = c, k->cout = cout, k->stride = s, k->in_h = h, k->in_w = w;
            k->hid = (uint32_t)lround((double)c * t);
            k->has_expand = t != 1;
            k->residual = s == 1 && c == cout;
            int sub = 0;
            if (k->has_expand) {
                snprintf(wname, sizeof wname, "features.%u.conv.0.0.weight", f);
                snprintf(bn, sizeof bn, "features.%u.conv.0.1", f);
                snprintf(layer, sizeof layer, "features.%u.conv.0", f);
                plan_conv_layer(&b, &k->expand, CONV_PW, 1, h, w, c, k->hid, 1, wname, bn, layer);
                sub = 1;
            }
            snprintf(wname, sizeof wname, "features.%u.conv.%d.0.weight", f, sub);
            snprintf(bn, sizeof bn, "features.%u.conv.%d.1", f, sub);
            snprintf(layer, sizeof layer, "features.%u.conv.%d", f, sub);
            plan_conv_layer(&b, &k->dw, CONV_DW, 1, h, w, k->hid, k->hid, s, wname, bn, layer);
            snprintf(wname, sizeof wname, "features.%u.conv.%d.weight", f, sub + 1);
            snprintf(bn, sizeof bn, "features.%u.conv.%d", f, sub + 2);
            snprintf(layer, sizeof layer, "features.%u.conv.%d", f, sub + 1);
            plan_conv_layer(&b, &k->project, CONV_PW, 0, k->dw.out_h, k->dw.out_w, k->hid, cout, 1, wname, bn, layer);
            k->out_h = k->dw.out_h, k->out_w = k->dw.out_w;
            if (k->has_expand) {
                /* A band of R output rows needs at most s * R + 2 expanded input rows. */
                const size_t erow = (size_t)w * k->hid;
                size_t R = erow * (2 * s + 2) > MNV2_TILE_BUDGET ? 1 : (MNV2_TILE_BUDGET / erow - 2) / s;
                if (R > k->out_h)
                    R = k->out_h;
                k->band = (uint32_t)R;
                const size_t tf = align16((s * R + 2) * erow) + align16((R + 1) * (size_t)k->out_w * k->hid);
                if (tf > tile_floats)
                    tile_floats = tf;
                /* training: the projection normalises its input in chunks of rows */
                if (trainable && MNV2_REDUCE_CHUNK * (size_t)k->hid > tile_floats)
                    tile_floats = MNV2_REDUCE_CHUNK * (size_t)k->hid;
                /* training: the depthwise statistics come per (image, band) */
                const size_t slots = B * ((k->out_h + R - 1) / R) * MNV2_STATS_SLOT(k->hid);
                if (slots > b.cpart)
                    b.cpart = slots;
                /* and its filter gradient per (image, band) in the backward */
                const size_t fslots = B * ((k->out_h + R - 1) / R) * 9 * (size_t)k->hid;
                if (fslots > b.wpart)
                    b.wpart = fslots;
            }
            if (trainable) {
                k->out = b.arena;
                b.arena += align16(B * k->out_h * k->out_w * cout);
            }
            const size_t in_hid = B * h * w * k->hid, io = B * k->out_h * k->out_w * cout;
            if (in_hid > hid_max)
                hid_max = in_hid;
            if (io > io_max)
                io_max = io;
            c = cout, h = k->out_h, w = k->out_w;
        }
    }
    /* Head: features.(n+1), 1x1 conv + BN + ReLU6 */
    const uint32_t head_c = wm > 1.0 ? make_divisible((double)cfg->head_c * wm) : (uint32_t)cfg->head_c;
    snprintf(wname, sizeof wname, "features.%u.0.weight", n_blocks + 1);
    snprintf(bn, sizeof bn, "features.%u.1", n_blocks + 1);
    snprintf(layer, sizeof layer, "features.%u", n_blocks + 1);
    plan_conv_layer(&b, &p->head, CONV_PW, 1, h, w, c, head_c, 1, wname, bn, layer);
    if (B * h * w * head_c > hid_max)
        hid_max = B * h * w * head_c;
    /* Classifier: classifier.1 (classifier.0 is dropout) */
    p->fc_in = head_c;
    p->classes = (uint32_t)cfg->classes;
    uint32_t dims[2] = {head_c, p->classes};
    p->fc_w = p->n_params;
    add_tensor(&b, "classifier.1.weight", MNV2_TENSOR_PARAM, 2, dims, 1);
    p->fc_b = p->n_params;
    add_tensor(&b, "classifier.1.bias", MNV2_TENSOR_PARAM, 1, &dims[1], 0);
    p->macs += (uint64_t)head_c * p->classes;
    if (head_c > p->max_c)
        p->max_c = head_c;
    if (p->classes > p->max_c)
        p->max_c = p->classes;
    if (B * head_c > hid_max)
        hid_max = B * head_c;
    if (B * p->classes > hid_max)
        hid_max = B * p->classes;

    if (trainable) {
        p->mask = b.arena, b.arena += align16(B * head_c);
    }
    p->pooled = b.arena, b.arena += align16(B * head_c);
    p->logits = b.arena, b.arena += align16(B * p->classes);
    p->probs = b.arena, b.arena += align16(B * p->classes);
    if (B * head_c > io_max)
        io_max = B * head_c; /* backward keeps the pooled gradient in g2 */
    hid_max = align16(hid_max), io_max = align16(io_max);
    p->s1 = b.arena, b.arena += hid_max;
    for (uint32_t i = 0; trainable && i < n_blocks; i++)
        p->blocks[i].dw.z = p->s1;
    p->s2 = b.arena, b.arena += hid_max;
    p->g1 = b.arena, b.arena += io_max;
    p->g2 = b.arena, b.arena += io_max;
    p->stat_tmp = b.arena, b.arena += align16(12 * p->max_c);
    p->cpart = b.arena, b.arena += trainable ? align16(b.cpart) : 0;
    p->wpart = b.arena, b.arena += trainable ? align16(b.wpart) : 0;
    p->threads = mnv2__plan_threads(cfg);
    p->tile_floats = tile_floats;
    p->tile = b.arena, b.arena += p->threads * tile_floats;
    p->arena_floats = b.arena;
    if (b.err) {
        mnv2__plan_free(p);
        return mnv2__fail(b.err, "out of memory planning the network");
    }
    *out = p;
    return MNV2_OK;
}

void mnv2__plan_free(mnv2_plan *p)
{
    if (!p)
        return;
    free(p->blocks);
    free(p->tensors);
    free(p);
}

uint64_t mnv2__plan_bytes(const mnv2_plan *p)
{
    /* arena, parameters, folded inference weights, buffers */
    uint64_t floats = p->arena_floats + 2 * (uint64_t)p->n_params + p->n_buffers;
    if (p->trainable)
        floats += 3 * (uint64_t)p->n_params; /* gradients, two optimizer moments */
    return floats * sizeof(float) + MNV2__ALIGN + sizeof(struct mnv2_model) + sizeof(mnv2_plan) +
           (uint64_t)p->n_blocks * sizeof(plan_block) + (uint64_t)(5 * (3 * p->n_blocks + 2) + 2) * sizeof(plan_tensor);
}
