/* SPDX-License-Identifier: BSD-2-Clause */
/* The plan: every shape, offset and count of a network, from its configuration alone. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "batch_stats.h"
#include "ckd.h"
#include "cpus.h"
#include "internal_error.h"
#include "kernels/kernels.h"
#include "model.h"
#include "plan.h"
#include "layers.h"
#include "train_dw.h"
#include "weight_grad.h"

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

typedef struct builder {
    mnv2_plan *p;
    size_t arena;    /* arena cursor */
    uint32_t cap_tensors;
    int32_t err;
    size_t cpart, wpart;     /* largest scratch each layer asks for */
    size_t tile_floats;      /* largest per-thread tile a block asks for */
    size_t io_max, hid_max;  /* largest block input / output and hidden tensors at max batch */
    int ovf;             /* a size overflowed (ckd.h): the plan is refused */
    const char *layer;   /* the layer being planned, for the overflow message */
    char ovf_layer[48];  /* where the first overflow happened */
} builder;

/* Checked size arithmetic (ckd.h); the first overflow records the layer being planned. */
static void overflowed(builder *b)
{
    if (!b->ovf)
        snprintf(b->ovf_layer, sizeof b->ovf_layer, "%s", b->layer);
    b->ovf = 1;
}
static size_t mul(builder *b, size_t x, size_t y)
{
    size_t r;
    if (mnv2__ckd_mul(&r, x, y))
        overflowed(b), r = SIZE_MAX;
    return r;
}
static size_t mul3(builder *b, size_t x, size_t y, size_t z) { return mul(b, mul(b, x, y), z); }
static size_t mul4(builder *b, size_t w, size_t x, size_t y, size_t z) { return mul(b, mul3(b, w, x, y), z); }
static size_t add(builder *b, size_t x, size_t y)
{
    size_t r;
    if (mnv2__ckd_add(&r, x, y))
        overflowed(b), r = SIZE_MAX;
    return r;
}
static uint64_t mul64(builder *b, uint64_t x, uint64_t y)
{
    uint64_t r;
    if (mnv2__ckd_mul64(&r, x, y))
        overflowed(b), r = UINT64_MAX;
    return r;
}
static uint64_t add64(builder *b, uint64_t x, uint64_t y)
{
    uint64_t r;
    if (mnv2__ckd_add64(&r, x, y))
        overflowed(b), r = UINT64_MAX;
    return r;
}
static size_t max_sz(size_t x, size_t y) { return x > y ? x : y; }

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
            t->numel = mul(b, t->numel, dims[i]);
    }
    t->decay = decay;
    if (kind == MNV2_TENSOR_PARAM) {
        t->off = p->n_params;
        p->n_params = add(b, p->n_params, t->numel);
    } else {
        t->off = p->n_buffers;
        p->n_buffers = add(b, p->n_buffers, t->numel);
    }
}

/* A conv + BN's shapes and multiply-accumulates. */
static void conv_shape(builder *b, plan_conv *c, int kind, int act, uint32_t in_h, uint32_t in_w, uint32_t cin,
                       uint32_t cout, uint32_t stride, const char *layer)
{
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
    b->layer = c->name;
    const uint64_t pixels = (uint64_t)c->out_h * c->out_w;
    if (kind == CONV_STEM)
        c->macs = mul64(b, mul64(b, pixels, (uint64_t)cout * cin), 9);
    else if (kind == CONV_DW)
        c->macs = mul64(b, pixels, (uint64_t)cout * 9);
    else
        c->macs = mul64(b, pixels, (uint64_t)cout * cin);
    b->p->macs = add64(b, b->p->macs, c->macs);
}

/* Room in the packed region for a [rows x cols] weight matrix in mnv2__gemm_pack_b's layout,
 * 16-aligned as the region itself; returns its offset (floats). */
static size_t reserve_packed(builder *b, size_t rows, size_t cols)
{
    mnv2_plan *p = b->p;
    const size_t at = p->n_packed;
    p->n_packed = add(b, at, add(b, mul(b, rows, mnv2__gemm_packed_cols(cols)), 15)) & ~(size_t)15;
    return at;
}

/* A conv + BN's tensors: the weight (named wname), then the BN's (module prefix bn). */
static void conv_tensors(builder *b, plan_conv *c, const char *wname, const char *bn)
{
    mnv2_plan *p = b->p;
    const uint32_t cin = c->cin, cout = c->cout;
    char nm[64];
    uint32_t dims[4];
    uint32_t nd;
    if (c->kind == CONV_STEM)
        dims[0] = 3, dims[1] = 3, dims[2] = cin, dims[3] = cout, nd = 4;
    else if (c->kind == CONV_DW)
        dims[0] = 3, dims[1] = 3, dims[2] = cout, nd = 3;
    else
        dims[0] = cin, dims[1] = cout, nd = 2;
    if (c->kind == CONV_PW)
        c->pk = reserve_packed(b, cin, cout);
    c->w = p->n_params;
    add_tensor(b, wname, MNV2_TENSOR_PARAM, nd, dims, 1);
    c->params = (uint64_t)p->n_params - c->w + 2 * (uint64_t)cout;
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
    if (cout > p->max_c)
        p->max_c = cout;
    if (cin > p->max_c)
        p->max_c = cin;
}

/* The scratch a conv's training passes ask for, by the rules of their files: batch-norm chunk
 * slots (batch_stats.c) and weight-gradient partials (weight_grad.c). */
static void conv_scratch(builder *b, const plan_conv *c)
{
    const size_t B = b->p->batch;
    int ovf = 0;
    b->cpart = max_sz(b->cpart, mnv2__bn_stats_scratch(mul3(b, B, c->out_h, c->out_w), c->cout, &ovf));
    b->wpart = max_sz(b->wpart, mnv2__wgrad_scratch(c, B, &ovf));
    if (ovf)
        overflowed(b);
}

/* The arena regions of `where` (arena.inc) for layer obj, at the cursor; ARENA_TAIL: their floats
 * in tail. */
static void place(builder *b, int where, void *obj, const size_t *tail)
{
    int ovf = 0;
    mnv2__arena_place(b->p, where, obj, tail, &b->arena, &ovf);
    if (ovf)
        overflowed(b);
}

/* Plan one conv + BN. wname is the weight's tensor name, bn the BN module prefix. */
static void plan_conv_layer(builder *b, plan_conv *c, int kind, int act, uint32_t in_h, uint32_t in_w, uint32_t cin,
                            uint32_t cout, uint32_t stride, const char *wname, const char *bn, const char *layer)
{
    conv_shape(b, c, kind, act, in_h, in_w, cin, cout, stride, layer);
    conv_tensors(b, c, wname, bn);
    conv_scratch(b, c);
    place(b, ARENA_CONV, c, NULL);
}

uint32_t mnv2__plan_threads(const struct mnv2_config *cfg)
{
    if (cfg->threads > 0)
        return (uint32_t)cfg->threads;
    return mnv2__usable_cpus();
}

/* The plan and its arrays, for a block table already checked. */
static int32_t plan_alloc(const struct mnv2_config *cfg, int trainable, mnv2_plan **out, uint32_t *cap)
{
    if (cfg->n_rows == 0 || cfg->n_rows > MNV2_MAX_BLOCK_ROWS)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "block table has %u rows", (unsigned)cfg->n_rows);
    uint32_t n_blocks = 0;
    for (uint32_t r = 0; r < cfg->n_rows; r++)
        n_blocks += (uint32_t)cfg->rows[r][2];
    if (n_blocks == 0 || n_blocks > MNV2_MAX_BLOCKS)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "block table has %u blocks", (unsigned)n_blocks);
    *cap = 5 * (3 * n_blocks + 2) + 2;
    mnv2_plan *p = calloc(1, sizeof *p);
    plan_block *blocks = calloc(n_blocks, sizeof *blocks);
    plan_tensor *tensors = calloc(*cap, sizeof *tensors);
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
    p->threads = mnv2__plan_threads(cfg);
    *out = p;
    return MNV2_OK;
}

/* Stem: features.0, and the training copies of the input batch and of the stem's activation. */
static void plan_stem(builder *b)
{
    mnv2_plan *p = b->p;
    const struct mnv2_config *cfg = &p->cfg;
    const uint32_t stem_c = make_divisible((double)cfg->stem_c * cfg->width_mult);
    plan_conv_layer(b, &p->stem, CONV_STEM, 1, (uint32_t)cfg->in_h, (uint32_t)cfg->in_w, (uint32_t)cfg->in_c, stem_c,
                    2, "features.0.0.weight", "features.0.1", "features.0");
    b->layer = "features.0";
    place(b, ARENA_STEM, p, NULL);
    b->io_max = b->hid_max = mul4(b, p->batch, p->stem.out_h, p->stem.out_w, stem_c);
}

/* Fused inference tiles: the expanded rows a band of output rows needs stay near this size. */
#define MNV2_TILE_BUDGET (96 * 1024) /* floats */

/* Block k's band of output rows (fused inference, training depthwise passes) and the tile and
 * scratch its passes ask for, by the rules of their files. */
static void plan_band(builder *b, plan_block *k)
{
    const size_t s = k->stride;
    b->layer = k->expand.name;
    /* A band of R output rows needs at most s * R + 2 expanded input rows. */
    const size_t erow = mul(b, k->in_w, k->hid);
    size_t R = mul(b, erow, 2 * s + 2) > MNV2_TILE_BUDGET ? 1 : (MNV2_TILE_BUDGET / erow - 2) / s;
    if (R > k->out_h)
        R = k->out_h;
    k->band = (uint32_t)R;
    int ovf = 0;
    b->tile_floats = max_sz(b->tile_floats, mnv2__fused_tile_floats(k, &ovf));
    if (b->p->trainable) {
        /* the projection normalises its input in chunks of rows */
        b->tile_floats = max_sz(b->tile_floats, mnv2__bn_stats_tile(k->hid, &ovf));
        size_t cpart, wpart;
        mnv2__dw_train_scratch(k, b->p->batch, &cpart, &wpart, &ovf);
        b->cpart = max_sz(b->cpart, cpart);
        b->wpart = max_sz(b->wpart, wpart);
    }
    if (ovf)
        overflowed(b);
}

/* Block bi (features.bi + 1): expand (if t != 1), depthwise, project; its output's training
 * storage. */
static void plan_inverted_residual(builder *b, uint32_t bi, uint32_t cin, uint32_t h, uint32_t w, uint32_t t,
                                   uint32_t cout, uint32_t s)
{
    plan_block *k = &b->p->blocks[bi];
    const uint32_t f = bi + 1; /* features.f */
    char wname[64], bn[64], layer[48];
    k->cin = cin, k->cout = cout, k->stride = s, k->in_h = h, k->in_w = w;
    k->hid = (uint32_t)lround((double)cin * t);
    k->has_expand = t != 1;
    k->residual = s == 1 && cin == cout;
    int sub = 0;
    if (k->has_expand) {
        snprintf(wname, sizeof wname, "features.%u.conv.0.0.weight", f);
        snprintf(bn, sizeof bn, "features.%u.conv.0.1", f);
        snprintf(layer, sizeof layer, "features.%u.conv.0", f);
        plan_conv_layer(b, &k->expand, CONV_PW, 1, h, w, cin, k->hid, 1, wname, bn, layer);
        sub = 1;
    }
    snprintf(wname, sizeof wname, "features.%u.conv.%d.0.weight", f, sub);
    snprintf(bn, sizeof bn, "features.%u.conv.%d.1", f, sub);
    snprintf(layer, sizeof layer, "features.%u.conv.%d", f, sub);
    plan_conv_layer(b, &k->dw, CONV_DW, 1, h, w, k->hid, k->hid, s, wname, bn, layer);
    snprintf(wname, sizeof wname, "features.%u.conv.%d.weight", f, sub + 1);
    snprintf(bn, sizeof bn, "features.%u.conv.%d", f, sub + 2);
    snprintf(layer, sizeof layer, "features.%u.conv.%d", f, sub + 1);
    plan_conv_layer(b, &k->project, CONV_PW, 0, k->dw.out_h, k->dw.out_w, k->hid, cout, 1, wname, bn, layer);
    k->out_h = k->dw.out_h, k->out_w = k->dw.out_w;
    b->layer = k->project.name;
    if (k->has_expand)
        plan_band(b, k);
    place(b, ARENA_BLOCK, k, NULL);
    const size_t B = b->p->batch;
    b->hid_max = max_sz(b->hid_max, mul4(b, B, h, w, k->hid));
    b->io_max = max_sz(b->io_max, mul4(b, B, k->out_h, k->out_w, cout));
}

/* The block table, row by row (t, c, n, s): n blocks, the first with stride s. */
static void plan_blocks(builder *b)
{
    const mnv2_plan *p = b->p;
    const struct mnv2_config *cfg = &p->cfg;
    uint32_t c = p->stem.cout, h = p->stem.out_h, w = p->stem.out_w, bi = 0;
    for (uint32_t r = 0; r < cfg->n_rows; r++) {
        const int32_t *row = cfg->rows[r];
        const uint32_t t = (row[0] != 1 && cfg->expansion) ? (uint32_t)cfg->expansion : (uint32_t)row[0];
        const uint32_t cout = make_divisible((double)row[1] * cfg->width_mult);
        for (int32_t i = 0; i < row[2]; i++, bi++) {
            plan_inverted_residual(b, bi, c, h, w, t, cout, i == 0 ? (uint32_t)row[3] : 1);
            c = cout, h = p->blocks[bi].out_h, w = p->blocks[bi].out_w;
        }
    }
}

/* Head: features.(n+1), 1x1 conv + BN + ReLU6; classifier: classifier.1 (classifier.0 is
 * dropout). */
static void plan_head(builder *b)
{
    mnv2_plan *p = b->p;
    const struct mnv2_config *cfg = &p->cfg;
    const double wm = cfg->width_mult;
    const plan_conv *last = p->n_blocks ? &p->blocks[p->n_blocks - 1].project : &p->stem;
    const uint32_t c = last->cout, h = last->out_h, w = last->out_w;
    const uint32_t head_c = wm > 1.0 ? make_divisible((double)cfg->head_c * wm) : (uint32_t)cfg->head_c;
    char wname[64], bn[64], layer[48];
    snprintf(wname, sizeof wname, "features.%u.0.weight", p->n_blocks + 1);
    snprintf(bn, sizeof bn, "features.%u.1", p->n_blocks + 1);
    snprintf(layer, sizeof layer, "features.%u", p->n_blocks + 1);
    plan_conv_layer(b, &p->head, CONV_PW, 1, h, w, c, head_c, 1, wname, bn, layer);
    b->hid_max = max_sz(b->hid_max, mul4(b, p->batch, h, w, head_c));
    p->fc_in = head_c;
    p->classes = (uint32_t)cfg->classes;
    b->layer = "classifier.1";
    uint32_t dims[2] = {head_c, p->classes};
    p->fc_w = p->n_params;
    add_tensor(b, "classifier.1.weight", MNV2_TENSOR_PARAM, 2, dims, 1);
    p->fc_pk = reserve_packed(b, head_c, p->classes);
    p->fc_b = p->n_params;
    add_tensor(b, "classifier.1.bias", MNV2_TENSOR_PARAM, 1, &dims[1], 0);
    p->macs = add64(b, p->macs, (uint64_t)head_c * p->classes);
    if (head_c > p->max_c)
        p->max_c = head_c;
    if (p->classes > p->max_c)
        p->max_c = p->classes;
    b->hid_max = max_sz(b->hid_max, max_sz(mul(b, p->batch, head_c), mul(b, p->batch, p->classes)));
}

/* The arena after the training storage: the classifier's activations and the scratch every
 * layer reuses (the ARENA_TAIL regions of arena.inc, their sizes from what the layers asked for);
 * then the regions stored over others (the depthwise pre-BN outputs, over s1) get their offsets. */
static void plan_arena(builder *b)
{
    mnv2_plan *p = b->p;
    size_t n[MNV2_ARENA_REGIONS] = {0};
    const size_t b_head = mul(b, p->batch, p->fc_in), b_classes = mul(b, p->batch, p->classes);
    b->layer = "scratch";
    n[ARENA_mask] = n[ARENA_pooled] = b_head;
    n[ARENA_logits] = n[ARENA_probs] = b_classes;
    n[ARENA_s1] = n[ARENA_s2] = b->hid_max;
    n[ARENA_g1] = n[ARENA_g2] = max_sz(b->io_max, b_head); /* backward keeps the pooled gradient in g2 */
    n[ARENA_stat_tmp] = mul(b, 12, p->max_c);
    n[ARENA_cpart] = p->trainable ? b->cpart : 0;
    n[ARENA_wpart] = p->trainable ? b->wpart : 0;
    p->tile_floats = b->tile_floats;
    n[ARENA_tile] = mul(b, p->threads, b->tile_floats);
    place(b, ARENA_TAIL, p, n);
    mnv2__arena_share(p);
    p->arena_floats = b->arena;
}

/* What mnv2_model_create allocates (mnv2__plan_bytes) must fit a size_t as well. */
static void plan_totals(builder *b)
{
    mnv2_plan *p = b->p;
    b->layer = "the model's memory";
    size_t floats = add(b, add(b, p->arena_floats, mul(b, 2, p->n_params)), p->n_buffers);
    if (p->trainable)
        floats = add(b, floats, mul(b, 3, p->n_params)); /* gradients, two optimizer moments */
    p->packed = add(b, floats, 15) & ~(size_t)15;
    floats = add(b, p->packed, p->n_packed);
    p->block_bytes = add(b, mul(b, floats, sizeof(float)), MNV2__ALIGN);
}

int32_t mnv2__plan_create(const struct mnv2_config *cfg, int trainable, mnv2_plan **out)
{
    mnv2_plan *p = NULL;
    uint32_t cap = 0;
    int32_t st = plan_alloc(cfg, trainable, &p, &cap);
    if (st != MNV2_OK)
        return st;
    builder b = {.p = p, .cap_tensors = cap, .err = MNV2_OK, .layer = "input"};
    plan_stem(&b);
    plan_blocks(&b);
    plan_head(&b);
    plan_arena(&b);
    plan_totals(&b);
    if (b.err) {
        mnv2__plan_free(p);
        return mnv2__fail(b.err, "out of memory planning the network");
    }
    if (b.ovf) {
        mnv2__plan_free(p);
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT,
                          "configuration too large: the sizes of %s overflow %u-bit arithmetic (input %lldx%lldx%lld, "
                          "batch %zu, width %g, %u classes)",
                          b.ovf_layer, (unsigned)(sizeof(size_t) * 8), (long long)cfg->in_h, (long long)cfg->in_w,
                          (long long)cfg->in_c, (size_t)cfg->max_batch, cfg->width_mult, (unsigned)cfg->classes);
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
    /* the one block (checked in mnv2__plan_create) and the small structures */
    return (uint64_t)p->block_bytes + sizeof(struct mnv2_model) + sizeof(mnv2_plan) +
           (uint64_t)p->n_blocks * sizeof(plan_block) + (uint64_t)(5 * (3 * p->n_blocks + 2) + 2) * sizeof(plan_tensor);
}
