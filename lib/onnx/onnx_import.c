/* SPDX-License-Identifier: BSD-2-Clause */
/* ONNX import: the recognised network (onnx_match.c) becomes a configuration, checked against
 * mnv2's own plan of it, and a model whose tensors are filled from the graph's constants. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "internal_error.h"
#include "io/fileio.h"
#include "mnv2_data.h"
#include "model.h"
#include "onnx/onnx_match.h"
#include "plan.h"

/* Metadata value of `key` as text (NUL-terminated in buf), or NULL. */
static const char *meta(const ox_graph *g, const char *key, char *buf, size_t cap)
{
    for (uint32_t i = 0; i < g->n_meta; i++)
        if (mnv2__pb_eq(g->meta_key[i], key) && g->meta_value[i].n < cap) {
            if (g->meta_value[i].n)
                memcpy(buf, g->meta_value[i].p, g->meta_value[i].n);
            buf[g->meta_value[i].n] = '\0';
            return buf;
        }
    return NULL;
}

/* Does cfg plan exactly the network found? */
static int plan_matches(const struct mnv2_config *cfg, const mx_net *n)
{
    mnv2_plan *p;
    if (mnv2__plan_create(cfg, 0, &p) != MNV2_OK) {
        mnv2__clear_error();
        return 0;
    }
    int ok = p->stem.cout == n->stem.cout && p->n_blocks == n->n_blocks && p->head.cout == n->head.cout &&
             p->classes == n->classes;
    for (uint32_t i = 0; ok && i < p->n_blocks; i++) {
        const plan_block *a = &p->blocks[i];
        const mx_block *b = &n->blocks[i];
        ok = a->cin == b->cin && a->hid == b->hid && a->cout == b->cout && a->stride == b->stride &&
             a->has_expand == b->has_expand && a->residual == b->residual;
    }
    mnv2__plan_free(p);
    return ok;
}

/* Candidate 1: the configuration mnv2's exporter stored as metadata. */
static int from_metadata(const ox_graph *g, struct mnv2_config *c)
{
    char buf[4096], *end;
    const char *v;
    if (!(v = meta(g, "mnv2.width_mult", buf, sizeof buf)) || mnv2_config_set_float(c, MNV2_KEY_WIDTH_MULT, strtod(v, &end)))
        return 0;
    static const char *const keys[3] = {"mnv2.stem_channels", "mnv2.head_channels", "mnv2.expansion"};
    static const int32_t ids[3] = {MNV2_KEY_STEM_CHANNELS, MNV2_KEY_HEAD_CHANNELS, MNV2_KEY_EXPANSION};
    for (int i = 0; i < 3; i++)
        if (!(v = meta(g, keys[i], buf, sizeof buf)) || mnv2_config_set_int(c, ids[i], strtoll(v, &end, 10)))
            return 0;
    if ((v = meta(g, "mnv2.dropout", buf, sizeof buf)) && mnv2_config_set_float(c, MNV2_KEY_DROPOUT, strtod(v, &end)))
        return 0;
    if (!(v = meta(g, "mnv2.blocks", buf, sizeof buf)))
        return 0;
    int32_t rows[MNV2_MAX_BLOCK_ROWS * 4];
    uint32_t n = 0;
    const char *p = v;
    while (*p && n < MNV2_MAX_BLOCK_ROWS * 4) {
        long x = strtol(p, &end, 10);
        if (end == p || x < -1000000 || x > 1000000)
            return 0;
        rows[n++] = (int32_t)x;
        p = *end ? end + 1 : end;
    }
    return n % 4 == 0 && mnv2_config_set_blocks(c, rows, n / 4) == MNV2_OK;
}

/* Candidate 2: torchvision's table at one of its usual width multipliers. */
static const double tv_widths[] = {1.0, 0.75, 0.5, 0.35, 1.3, 1.4, 0.25, 1.5, 2.0};

/* Candidate 3: width 1 with the channels as found, the table read off the blocks. */
static int derived(const mx_net *n, struct mnv2_config *c)
{
    int32_t rows[MNV2_MAX_BLOCK_ROWS][4];
    uint32_t nr = 0;
    for (uint32_t i = 0; i < n->n_blocks; i++) {
        const mx_block *b = &n->blocks[i];
        const int32_t t = b->has_expand ? (int32_t)(b->hid / b->cin) : 1;
        if (t < 1 || (uint32_t)t * b->cin != b->hid || (b->has_expand && t == 1))
            return 0;
        if (nr && b->stride == 1 && rows[nr - 1][0] == t && rows[nr - 1][1] == (int32_t)b->cout) {
            rows[nr - 1][2]++;
            continue;
        }
        if (nr == MNV2_MAX_BLOCK_ROWS)
            return 0;
        rows[nr][0] = t, rows[nr][1] = (int32_t)b->cout, rows[nr][2] = 1, rows[nr][3] = (int32_t)b->stride;
        nr++;
    }
    return mnv2_config_set_float(c, MNV2_KEY_WIDTH_MULT, 1.0) == MNV2_OK &&
           mnv2_config_set_int(c, MNV2_KEY_STEM_CHANNELS, n->stem.cout) == MNV2_OK &&
           mnv2_config_set_int(c, MNV2_KEY_HEAD_CHANNELS, n->head.cout) == MNV2_OK &&
           mnv2_config_set_blocks(c, &rows[0][0], nr) == MNV2_OK;
}

static int32_t make_config(const ox_graph *g, const mx_net *n, double eps, const char *what, mnv2_config **out)
{
    mnv2_config *c = NULL;
    const int n_tv = (int)(sizeof tv_widths / sizeof tv_widths[0]);
    for (int cand = 0; cand < n_tv + 2; cand++) {
        mnv2_config_destroy(c);
        if (mnv2_config_create(MNV2_PRESET_STANDARD, &c) != MNV2_OK)
            return mnv2__fail(MNV2_ERR_OUT_OF_MEMORY, "%s: out of memory", what);
        if (mnv2_config_set_int(c, MNV2_KEY_CLASSES, n->classes) || mnv2_config_set_int(c, MNV2_KEY_INPUT_HEIGHT, n->in_h) ||
            mnv2_config_set_int(c, MNV2_KEY_INPUT_WIDTH, n->in_w) ||
            mnv2_config_set_int(c, MNV2_KEY_INPUT_CHANNELS, n->in_c) || mnv2_config_set_float(c, MNV2_KEY_BN_EPS, eps))
            break;
        int ok;
        if (cand == 0)
            ok = from_metadata(g, c);
        else if (cand <= n_tv)
            ok = mnv2_config_set_float(c, MNV2_KEY_WIDTH_MULT, tv_widths[cand - 1]) == MNV2_OK;
        else
            ok = derived(n, c);
        if (ok && plan_matches(c, n)) {
            mnv2__clear_error();
            *out = c;
            return MNV2_OK;
        }
    }
    mnv2_config_destroy(c);
    return mnv2__fail(MNV2_ERR_UNSUPPORTED,
                      "%s: the graph's channel counts (stem %u, head %u, %u blocks) are not a configuration mnv2 "
                      "can express (channels are rounded to multiples of 8)",
                      what, (unsigned)n->stem.cout, (unsigned)n->head.cout, (unsigned)n->n_blocks);
}

typedef struct filler {
    struct mnv2_model *m;
    const char *what;
    double eps;         /* the configuration's batch-norm epsilon */
    float *tmp;         /* scratch, the largest constant read */
} filler;

/* A constant's float values, all finite, into f->tmp. */
static int32_t floats(filler *f, const ox_tensor *t, uint64_t n, const ox_node *node)
{
    if (!mnv2__ox_tensor_floats(t, f->tmp, n))
        return mnv2__fail(MNV2_ERR_FORMAT, "%s: node '%.*s': constant '%.*s' is not %llu float32 values stored in the file",
                          f->what, (int)node->name.n, (const char *)node->name.p, (int)t->name.n,
                          (const char *)t->name.p, (unsigned long long)n);
    for (uint64_t i = 0; i < n; i++)
        if (!isfinite(f->tmp[i]))
            return mnv2__fail(MNV2_ERR_FORMAT, "%s: node '%.*s': constant '%.*s' holds a NaN or infinity", f->what,
                              (int)node->name.n, (const char *)node->name.p, (int)t->name.n, (const char *)t->name.p);
    return MNV2_OK;
}

/* One convolution: weights into mnv2's layout, bias and batch norm into gamma, beta, mean, var. */
static int32_t fill_unit(filler *f, const plan_conv *c, const mx_unit *u)
{
    struct mnv2_model *m = f->m;
    const size_t C = c->cout, Ci = c->kind == CONV_DW ? 1 : c->cin, K = u->k;
    int32_t rc = floats(f, u->w, C * Ci * K * K, u->conv);
    if (rc != MNV2_OK)
        return rc;
    float *w = m->params + c->w;
    for (size_t co = 0; co < C; co++)
        for (size_t ci = 0; ci < Ci; ci++)
            for (size_t k = 0; k < K * K; k++) {
                const float v = f->tmp[(co * Ci + ci) * K * K + k];
                if (c->kind == CONV_STEM)
                    w[(k * c->cin + ci) * C + co] = v;
                else if (c->kind == CONV_DW)
                    w[k * C + co] = v;
                else
                    w[ci * C + co] = v;
            }
    float *gamma = m->params + c->gamma, *beta = m->params + c->beta;
    float *mean = m->buffers + c->rmean, *var = m->buffers + c->rvar;
    for (size_t ch = 0; ch < C; ch++)
        gamma[ch] = 1.0f, beta[ch] = 0.0f, mean[ch] = 0.0f, var[ch] = (float)(1.0 - f->eps);
    if (u->bn[0]) {
        float *dst[4] = {gamma, beta, mean, var};
        for (int i = 0; i < 4; i++) {
            if ((rc = floats(f, u->bn[i], C, u->conv)) != MNV2_OK)
                return rc;
            memcpy(dst[i], f->tmp, C * sizeof(float));
        }
        for (size_t ch = 0; ch < C; ch++) {
            /* the node's epsilon moved into the variance: var + eps_node = var' + eps */
            const double v = (double)var[ch] + (double)u->eps - (double)f->eps;
            if (!(v + f->eps > 0.0))
                return mnv2__fail(MNV2_ERR_FORMAT, "%s: node '%.*s': batch-norm variance %g is not above -epsilon",
                                  f->what, (int)u->conv->name.n, (const char *)u->conv->name.p, (double)var[ch]);
            var[ch] = (float)v;
        }
    }
    if (u->b) {
        if ((rc = floats(f, u->b, C, u->conv)) != MNV2_OK)
            return rc;
        /* conv + b, then BN: the bias shifts the mean (without BN, mean 0 - b: beta + b) */
        for (size_t ch = 0; ch < C; ch++)
            mean[ch] -= f->tmp[ch];
        if (!u->bn[0])
            for (size_t ch = 0; ch < C; ch++)
                mean[ch] = 0.0f, beta[ch] = f->tmp[ch];
    }
    return MNV2_OK;
}

static int32_t fill(filler *f, const mx_net *n)
{
    const mnv2_plan *p = f->m->plan;
    int32_t rc = fill_unit(f, &p->stem, &n->stem);
    for (uint32_t i = 0; rc == MNV2_OK && i < p->n_blocks; i++) {
        if (p->blocks[i].has_expand)
            rc = fill_unit(f, &p->blocks[i].expand, &n->blocks[i].expand);
        if (rc == MNV2_OK)
            rc = fill_unit(f, &p->blocks[i].dw, &n->blocks[i].dw);
        if (rc == MNV2_OK)
            rc = fill_unit(f, &p->blocks[i].project, &n->blocks[i].project);
    }
    if (rc == MNV2_OK)
        rc = fill_unit(f, &p->head, &n->head);
    const size_t K = p->fc_in, N = p->classes;
    if (rc != MNV2_OK || (rc = floats(f, n->fc_w, K * N, n->head.conv)) != MNV2_OK)
        return rc;
    float *w = f->m->params + p->fc_w;
    for (size_t i = 0; i < K; i++)
        for (size_t j = 0; j < N; j++)
            w[i * N + j] = n->fc_trans ? f->tmp[j * K + i] : f->tmp[i * N + j];
    memset(f->m->params + p->fc_b, 0, N * sizeof(float));
    if (n->fc_b) {
        if ((rc = floats(f, n->fc_b, N, n->head.conv)) != MNV2_OK)
            return rc;
        memcpy(f->m->params + p->fc_b, f->tmp, N * sizeof(float));
    }
    f->m->fold_valid = 0;
    return MNV2_OK;
}

static float first_eps_node(const mx_net *n);

/* The configuration's epsilon: the first batch norm's (torchvision: 1e-5), else 1e-5; mnv2's own
 * exports store the exact double in the metadata (the node attribute is a float). */
static double first_eps(const ox_graph *g, const mx_net *n)
{
    char buf[64];
    const char *v = meta(g, "mnv2.bn_eps", buf, sizeof buf);
    const float e = first_eps_node(n);
    if (v) {
        const double d = strtod(v, NULL);
        if (d > 0.0 && d < 1.0 && (float)d == e)
            return d;
    }
    return e;
}

static float first_eps_node(const mx_net *n)
{
    const mx_unit *u[3] = {&n->stem, &n->head, NULL};
    for (int i = 0; i < 2; i++)
        if (u[i]->bn[0])
            return u[i]->eps;
    for (uint32_t i = 0; i < n->n_blocks; i++)
        if (n->blocks[i].dw.bn[0])
            return n->blocks[i].dw.eps;
    return 1e-5f;
}

static int32_t apply_options(mnv2_config *c, const mnv2_load_options *o, const char *what)
{
    int32_t rc = MNV2_OK;
    if (o && o->max_batch)
        rc = mnv2_config_set_int(c, MNV2_KEY_MAX_BATCH, o->max_batch);
    if (rc == MNV2_OK && o && o->threads != -1)
        rc = mnv2_config_set_int(c, MNV2_KEY_THREADS, o->threads);
    if (rc == MNV2_OK && o && o->trainable != -1)
        rc = mnv2_config_set_int(c, MNV2_KEY_TRAINABLE, o->trainable);
    if (rc == MNV2_OK && o && o->isa_max != -2)
        rc = mnv2_config_set_int(c, MNV2_KEY_ISA_MAX, o->isa_max);
    if (rc != MNV2_OK) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s", mnv2_last_error());
        return mnv2__fail(rc, "%s: load option: %s", what, msg);
    }
    return MNV2_OK;
}

/* Values of a metadata list "a,b,c" (the standardisation), n of them at most. */
static uint32_t meta_floats(const ox_graph *g, const char *key, float *v, uint32_t cap)
{
    char buf[4096], *end;
    const char *p = meta(g, key, buf, sizeof buf);
    uint32_t n = 0;
    while (p && *p && n < cap) {
        v[n++] = strtof(p, &end);
        if (end == p)
            return 0;
        p = *end ? end + 1 : end;
    }
    return n;
}

static int32_t import(const uint8_t *d, size_t size, const mnv2_load_options *o, const char *what, mnv2_model **out)
{
    if (o && o->struct_size < sizeof *o)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "%s: load options struct_size %u, at least %zu expected", what,
                          (unsigned)o->struct_size, sizeof *o);
    ox_graph g;
    mx_net n;
    memset(&n, 0, sizeof n);
    mnv2_config *cfg = NULL;
    mnv2_model *m = NULL;
    filler f = {.what = what};
    int32_t rc = mnv2__ox_graph_read(d, size, what, &g);
    if (rc == MNV2_OK)
        rc = mnv2__mx_match(&g, what, &n);
    if (rc == MNV2_OK)
        rc = make_config(&g, &n, f.eps = first_eps(&g, &n), what, &cfg);
    if (rc == MNV2_OK)
        rc = apply_options(cfg, o, what);
    if (rc == MNV2_OK && (rc = mnv2_model_create(cfg, &m)) != MNV2_OK) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s", mnv2_last_error());
        rc = mnv2__fail(rc, "%s: creating the model: %s", what, msg);
    }
    if (rc == MNV2_OK) {
        size_t cap = 0;
        for (uint32_t i = 0; i < m->plan->n_tensors; i++)
            if (m->plan->tensors[i].numel > cap)
                cap = m->plan->tensors[i].numel;
        if ((size_t)m->plan->fc_in * m->plan->classes > cap)
            cap = (size_t)m->plan->fc_in * m->plan->classes;
        f.m = m;
        if (!(f.tmp = malloc(cap * sizeof(float))))
            rc = mnv2__fail(MNV2_ERR_OUT_OF_MEMORY, "%s: out of memory", what);
    }
    if (rc == MNV2_OK)
        rc = fill(&f, &n);
    if (rc == MNV2_OK) {
        float mean[64], std[64];
        uint32_t nm = n.norm_n, ns = n.norm_n;
        if (nm) {
            memcpy(mean, n.norm_mean, nm * sizeof(float));
            memcpy(std, n.norm_std, ns * sizeof(float));
        } else {
            nm = meta_floats(&g, "mnv2.norm_mean", mean, 64);
            ns = meta_floats(&g, "mnv2.norm_std", std, 64);
        }
        if (nm && (nm != ns || mnv2_model_set_normalization(m, mean, std, nm) != MNV2_OK))
            rc = mnv2__fail(MNV2_ERR_UNSUPPORTED, "%s: the input standardisation (%u means, %u stds) does not fit the model",
                            what, (unsigned)nm, (unsigned)ns);
    }
    free(f.tmp);
    free(n.blocks);
    mnv2__ox_graph_free(&g);
    mnv2_config_destroy(cfg);
    if (rc != MNV2_OK) {
        mnv2_model_destroy(m);
        return rc;
    }
    *out = m;
    return MNV2_OK;
}

int32_t mnv2_model_import_onnx_mem(const void *data, size_t size, const mnv2_load_options *opts, mnv2_model **model)
{
    mnv2__clear_error();
    if (!data || !model)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "ONNX import: NULL data or model");
    return import(data, size, opts, "ONNX buffer", model);
}

int32_t mnv2_model_import_onnx(const char *path, const mnv2_load_options *opts, mnv2_model **model)
{
    mnv2__clear_error();
    if (!path || !model)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "ONNX import: NULL path or model");
    uint8_t *d;
    size_t size;
    int32_t rc = mnv2__read_file(path, (uint64_t)1 << 32, &d, &size);
    if (rc != MNV2_OK)
        return rc;
    rc = import(d, size, opts, path, model);
    free(d);
    return rc;
}
