/* SPDX-License-Identifier: BSD-2-Clause */
/* ONNX export of the inference network (opset 13): stem, inverted-residual blocks, head,
 * global average pool, classifier; batch norm folded into the convolutions or kept as
 * BatchNormalization nodes; NCHW or NHWC input; the recorded standardisation optionally first. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal_error.h"
#include "io/fileio.h"
#include "mnv2_data.h"
#include "model.h"
#include "onnx/onnx.h"
#include "onnx/pb.h"
#include "plan.h"

#define KNOWN_FLAGS (MNV2_ONNX_BN_NODES | MNV2_ONNX_NHWC | MNV2_ONNX_STANDARDIZE)

typedef struct exporter {
    const struct mnv2_model *m;
    mnv2_wr *w;
    uint32_t flags;
    uint32_t next;  /* counter for value names */
    float *tmp;     /* conversion scratch, large enough for any weight tensor */
} exporter;

static void attr_int(mnv2_wr *w, const char *name, int64_t v)
{
    size_t a = mnv2__pb_begin(w);
    mnv2__pb_str(w, ONNX_ATTR_NAME, name);
    mnv2__pb_int(w, ONNX_ATTR_TYPE, ONNX_ATTR_TYPE_INT);
    mnv2__pb_int(w, ONNX_ATTR_I, v);
    mnv2__pb_end(w, ONNX_NODE_ATTRIBUTE, a);
}

static void attr_float(mnv2_wr *w, const char *name, float v)
{
    size_t a = mnv2__pb_begin(w);
    mnv2__pb_str(w, ONNX_ATTR_NAME, name);
    mnv2__pb_int(w, ONNX_ATTR_TYPE, ONNX_ATTR_TYPE_FLOAT);
    mnv2__pb_float(w, ONNX_ATTR_F, v);
    mnv2__pb_end(w, ONNX_NODE_ATTRIBUTE, a);
}

static void attr_ints(mnv2_wr *w, const char *name, const int64_t *v, size_t n)
{
    size_t a = mnv2__pb_begin(w);
    mnv2__pb_str(w, ONNX_ATTR_NAME, name);
    mnv2__pb_int(w, ONNX_ATTR_TYPE, ONNX_ATTR_TYPE_INTS);
    mnv2__pb_packed_i64(w, ONNX_ATTR_INTS, v, n);
    mnv2__pb_end(w, ONNX_NODE_ATTRIBUTE, a);
}

/* Start a node; the caller adds attributes and ends it with mnv2__pb_end(w, ONNX_GRAPH_NODE, mark). */
static size_t node(exporter *e, const char *op, const char *name, const char *const *in, int n_in, const char *out)
{
    size_t mark = mnv2__pb_begin(e->w);
    for (int i = 0; i < n_in; i++)
        mnv2__pb_str(e->w, ONNX_NODE_INPUT, in[i]);
    mnv2__pb_str(e->w, ONNX_NODE_OUTPUT, out);
    mnv2__pb_str(e->w, ONNX_NODE_NAME, name);
    mnv2__pb_str(e->w, ONNX_NODE_OP_TYPE, op);
    return mark;
}

static void initializer(exporter *e, const char *name, const int64_t *dims, int nd, const float *v, size_t n)
{
    mnv2_wr *w = e->w;
    size_t t = mnv2__pb_begin(w);
    for (int i = 0; i < nd; i++)
        mnv2__pb_int(w, ONNX_TENSOR_DIMS, dims[i]);
    mnv2__pb_int(w, ONNX_TENSOR_DATA_TYPE, ONNX_DTYPE_FLOAT);
    mnv2__pb_str(w, ONNX_TENSOR_NAME, name);
    size_t raw = mnv2__pb_begin(w);
    mnv2__wr_f32s(w, v, n);
    mnv2__pb_end(w, ONNX_TENSOR_RAW_DATA, raw);
    mnv2__pb_end(w, ONNX_GRAPH_INITIALIZER, t);
}

static void fresh(exporter *e, char *buf, size_t cap) { snprintf(buf, cap, "v%u", (unsigned)e->next++); }

/* Value info of a float tensor [batch, d1, d2, ...] (field = graph input or output). */
static void value_info(mnv2_wr *w, uint32_t field, const char *name, const int64_t *dims, int nd)
{
    size_t vi = mnv2__pb_begin(w);
    mnv2__pb_str(w, ONNX_VALUE_NAME, name);
    size_t ty = mnv2__pb_begin(w);
    size_t tt = mnv2__pb_begin(w);
    mnv2__pb_int(w, ONNX_TTYPE_ELEM, ONNX_DTYPE_FLOAT);
    size_t sh = mnv2__pb_begin(w);
    size_t d = mnv2__pb_begin(w);
    mnv2__pb_str(w, ONNX_DIM_PARAM, "batch");
    mnv2__pb_end(w, ONNX_SHAPE_DIM, d);
    for (int i = 0; i < nd; i++) {
        d = mnv2__pb_begin(w);
        mnv2__pb_int(w, ONNX_DIM_VALUE, dims[i]);
        mnv2__pb_end(w, ONNX_SHAPE_DIM, d);
    }
    mnv2__pb_end(w, ONNX_TTYPE_SHAPE, sh);
    mnv2__pb_end(w, ONNX_TYPE_TENSOR, tt);
    mnv2__pb_end(w, ONNX_VALUE_TYPE, ty);
    mnv2__pb_end(w, field, vi);
}

/* One convolution with its batch norm (folded or a node) and ReLU6 (Clip). `x` is the input value
 * name; the output's name is written to `out`. */
static void conv_unit(exporter *e, const plan_conv *c, const char *x, char *out, size_t cap)
{
    const struct mnv2_model *m = e->m;
    const size_t C = c->cout, Ci = c->kind == CONV_DW ? 1 : c->cin, K = c->kind == CONV_PW ? 1 : 3;
    const float *w = m->params + c->w, *gamma = m->params + c->gamma, *beta = m->params + c->beta;
    const float *rmean = m->buffers + c->rmean, *rvar = m->buffers + c->rvar;
    const int fold = !(e->flags & MNV2_ONNX_BN_NODES);
    float *dst = e->tmp, *bias = e->tmp + C * Ci * K * K;
    for (size_t co = 0; co < C; co++) {
        const float scale = fold ? (float)(gamma[co] / sqrt((double)rvar[co] + m->cfg.bn_eps)) : 1.0f;
        if (fold)
            bias[co] = beta[co] - rmean[co] * scale;
        for (size_t ci = 0; ci < Ci; ci++)
            for (size_t k = 0; k < K * K; k++) {
                size_t src;
                if (c->kind == CONV_STEM)
                    src = (k * c->cin + ci) * C + co;
                else if (c->kind == CONV_DW)
                    src = k * C + co;
                else
                    src = ci * C + co;
                dst[(co * Ci + ci) * K * K + k] = w[src] * scale;
            }
    }
    char wn[64], bn[64], z[32];
    const int64_t wd[4] = {(int64_t)C, (int64_t)Ci, (int64_t)K, (int64_t)K}, vd[1] = {(int64_t)C};
    snprintf(wn, sizeof wn, "%s.weight", c->name);
    initializer(e, wn, wd, 4, dst, C * Ci * K * K);
    const char *in[5] = {x, wn, bn};
    if (fold) {
        snprintf(bn, sizeof bn, "%s.bias", c->name);
        initializer(e, bn, vd, 1, bias, C);
    }
    fresh(e, z, sizeof z);
    size_t n = node(e, "Conv", c->name, in, fold ? 3 : 2, z);
    const int64_t ks[2] = {(int64_t)K, (int64_t)K}, st[2] = {c->stride, c->stride};
    const int64_t pads[4] = {(int64_t)K / 2, (int64_t)K / 2, (int64_t)K / 2, (int64_t)K / 2};
    attr_ints(e->w, "kernel_shape", ks, 2);
    attr_ints(e->w, "strides", st, 2);
    attr_ints(e->w, "pads", pads, 4);
    attr_int(e->w, "group", c->kind == CONV_DW ? (int64_t)C : 1);
    mnv2__pb_end(e->w, ONNX_GRAPH_NODE, n);
    if (!fold) {
        char names[4][64], y[32], nn[64];
        const char *suffix[4] = {"weight", "bias", "running_mean", "running_var"};
        const float *vals[4] = {gamma, beta, rmean, rvar};
        for (int i = 0; i < 4; i++) {
            snprintf(names[i], sizeof names[i], "%s.bn.%s", c->name, suffix[i]);
            initializer(e, names[i], vd, 1, vals[i], C);
        }
        const char *bin[5] = {z, names[0], names[1], names[2], names[3]};
        fresh(e, y, sizeof y);
        snprintf(nn, sizeof nn, "%s.bn", c->name);
        n = node(e, "BatchNormalization", nn, bin, 5, y);
        attr_float(e->w, "epsilon", (float)m->cfg.bn_eps);
        mnv2__pb_end(e->w, ONNX_GRAPH_NODE, n);
        memcpy(z, y, sizeof z);
    }
    if (c->act) {
        char y[32], nn[64];
        const char *cin[3] = {z, "relu6.min", "relu6.max"};
        fresh(e, y, sizeof y);
        snprintf(nn, sizeof nn, "%s.relu6", c->name);
        n = node(e, "Clip", nn, cin, 3, y);
        mnv2__pb_end(e->w, ONNX_GRAPH_NODE, n);
        memcpy(z, y, sizeof z);
    }
    snprintf(out, cap, "%s", z);
}

static void metadata(mnv2_wr *w, const char *key, const char *value)
{
    size_t mark = mnv2__pb_begin(w);
    mnv2__pb_str(w, ONNX_ENTRY_KEY, key);
    mnv2__pb_str(w, ONNX_ENTRY_VALUE, value);
    mnv2__pb_end(w, ONNX_MODEL_METADATA, mark);
}

/* The configuration as metadata, so that mnv2_model_import_onnx() restores the width multiplier
 * and block table as given (the graph alone gives the channels after rounding). */
static void write_metadata(exporter *e)
{
    const struct mnv2_config *c = &e->m->cfg;
    char buf[MNV2_MAX_BLOCK_ROWS * 48 + 64];
    snprintf(buf, sizeof buf, "%.17g", c->width_mult);
    metadata(e->w, "mnv2.width_mult", buf);
    snprintf(buf, sizeof buf, "%lld", (long long)c->stem_c);
    metadata(e->w, "mnv2.stem_channels", buf);
    snprintf(buf, sizeof buf, "%lld", (long long)c->head_c);
    metadata(e->w, "mnv2.head_channels", buf);
    snprintf(buf, sizeof buf, "%lld", (long long)c->expansion);
    metadata(e->w, "mnv2.expansion", buf);
    snprintf(buf, sizeof buf, "%.17g", c->bn_eps);
    metadata(e->w, "mnv2.bn_eps", buf);
    snprintf(buf, sizeof buf, "%.17g", c->dropout);
    metadata(e->w, "mnv2.dropout", buf);
    size_t len = 0;
    buf[0] = '\0';
    for (uint32_t r = 0; r < c->n_rows; r++)
        len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%d,%d,%d,%d", r ? ";" : "", (int)c->rows[r][0],
                                (int)c->rows[r][1], (int)c->rows[r][2], (int)c->rows[r][3]);
    metadata(e->w, "mnv2.blocks", buf);
    if (e->m->norm_n && !(e->flags & MNV2_ONNX_STANDARDIZE)) {
        for (int k = 0; k < 2; k++) {
            const float *v = k ? e->m->norm_std : e->m->norm_mean;
            len = 0;
            for (uint32_t i = 0; i < e->m->norm_n; i++)
                len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%.9g", i ? "," : "", (double)v[i]);
            metadata(e->w, k ? "mnv2.norm_std" : "mnv2.norm_mean", buf);
        }
    }
}

static void write_graph(exporter *e)
{
    const struct mnv2_model *m = e->m;
    const mnv2_plan *p = m->plan;
    mnv2_wr *w = e->w;
    const int64_t C = m->cfg.in_c, H = m->cfg.in_h, W = m->cfg.in_w;
    char x[32] = "input", y[32];
    mnv2__pb_str(w, ONNX_GRAPH_NAME, "mnv2");
    const float clip[2] = {0.0f, 6.0f};
    initializer(e, "relu6.min", NULL, 0, &clip[0], 1);
    initializer(e, "relu6.max", NULL, 0, &clip[1], 1);
    if (e->flags & MNV2_ONNX_NHWC) {
        const int64_t dims[3] = {H, W, C}, perm[4] = {0, 3, 1, 2};
        const char *in[1] = {x};
        value_info(w, ONNX_GRAPH_INPUT, "input", dims, 3);
        fresh(e, y, sizeof y);
        size_t n = node(e, "Transpose", "input.nchw", in, 1, y);
        attr_ints(w, "perm", perm, 4);
        mnv2__pb_end(w, ONNX_GRAPH_NODE, n);
        memcpy(x, y, sizeof x);
    } else {
        const int64_t dims[3] = {C, H, W};
        value_info(w, ONNX_GRAPH_INPUT, "input", dims, 3);
    }
    if (e->flags & MNV2_ONNX_STANDARDIZE) {
        float mean[MNV2__MAX_NORM], std[MNV2__MAX_NORM];
        for (int64_t c = 0; c < C; c++) {
            mean[c] = m->norm_mean[m->norm_n == 1 ? 0 : c];
            std[c] = m->norm_std[m->norm_n == 1 ? 0 : c];
        }
        const int64_t dims[4] = {1, C, 1, 1};
        initializer(e, "norm.mean", dims, 4, mean, (size_t)C);
        initializer(e, "norm.std", dims, 4, std, (size_t)C);
        const char *in1[2] = {x, "norm.mean"};
        fresh(e, y, sizeof y);
        mnv2__pb_end(w, ONNX_GRAPH_NODE, node(e, "Sub", "norm.sub", in1, 2, y));
        const char *in2[2] = {y, "norm.std"};
        fresh(e, x, sizeof x);
        mnv2__pb_end(w, ONNX_GRAPH_NODE, node(e, "Div", "norm.div", in2, 2, x));
    }
    conv_unit(e, &p->stem, x, y, sizeof y);
    memcpy(x, y, sizeof x);
    for (uint32_t i = 0; i < p->n_blocks; i++) {
        const plan_block *k = &p->blocks[i];
        char a[32], b[32];
        const char *cur = x;
        if (k->has_expand) {
            conv_unit(e, &k->expand, cur, a, sizeof a);
            cur = a;
        }
        conv_unit(e, &k->dw, cur, b, sizeof b);
        conv_unit(e, &k->project, b, a, sizeof a);
        if (k->residual) {
            char nn[48];
            const char *in[2] = {a, x};
            fresh(e, y, sizeof y);
            snprintf(nn, sizeof nn, "features.%u.add", (unsigned)i + 1);
            mnv2__pb_end(w, ONNX_GRAPH_NODE, node(e, "Add", nn, in, 2, y));
            memcpy(x, y, sizeof x);
        } else {
            memcpy(x, a, sizeof x);
        }
    }
    conv_unit(e, &p->head, x, y, sizeof y);
    const char *in[1] = {y};
    fresh(e, x, sizeof x);
    mnv2__pb_end(w, ONNX_GRAPH_NODE, node(e, "GlobalAveragePool", "pool", in, 1, x));
    in[0] = x;
    fresh(e, y, sizeof y);
    size_t n = node(e, "Flatten", "flatten", in, 1, y);
    attr_int(w, "axis", 1);
    mnv2__pb_end(w, ONNX_GRAPH_NODE, n);
    /* Classifier in torchvision's layout [classes][features], Gemm with transB. */
    const size_t K = p->fc_in, N = p->classes;
    for (size_t i = 0; i < K; i++)
        for (size_t j = 0; j < N; j++)
            e->tmp[j * K + i] = m->params[p->fc_w + i * N + j];
    const int64_t wd[2] = {(int64_t)N, (int64_t)K}, bd[1] = {(int64_t)N};
    initializer(e, "classifier.1.weight", wd, 2, e->tmp, K * N);
    initializer(e, "classifier.1.bias", bd, 1, m->params + p->fc_b, N);
    const char *gin[3] = {y, "classifier.1.weight", "classifier.1.bias"};
    n = node(e, "Gemm", "classifier.1", gin, 3, "logits");
    attr_int(w, "transB", 1);
    mnv2__pb_end(w, ONNX_GRAPH_NODE, n);
    const int64_t od[1] = {(int64_t)N};
    value_info(w, ONNX_GRAPH_OUTPUT, "logits", od, 1);
}

static int32_t export_mem(const mnv2_model *model, uint32_t flags, mnv2_wr *w)
{
    if (!model)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "ONNX export: NULL model");
    if (flags & ~(uint32_t)KNOWN_FLAGS)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "ONNX export: unknown flags 0x%x", (unsigned)(flags & ~KNOWN_FLAGS));
    if ((flags & MNV2_ONNX_STANDARDIZE) && model->norm_n == 0)
        return mnv2__fail(MNV2_ERR_BAD_STATE,
                          "ONNX export: MNV2_ONNX_STANDARDIZE asked, but the model records no standardisation "
                          "(mnv2_model_set_normalization())");
    /* Scratch: the largest weight tensor plus a bias vector. */
    size_t cap = (size_t)model->plan->fc_in * model->plan->classes;
    for (uint32_t i = 0; i < model->plan->n_tensors; i++)
        if (model->plan->tensors[i].numel > cap)
            cap = model->plan->tensors[i].numel;
    exporter e = {.m = model, .w = w, .flags = flags, .tmp = malloc((cap + model->plan->max_c) * sizeof(float))};
    if (!e.tmp)
        return mnv2__fail(MNV2_ERR_OUT_OF_MEMORY, "ONNX export: out of memory");
    mnv2__pb_int(w, ONNX_MODEL_IR_VERSION, MNV2__ONNX_IR_VERSION);
    mnv2__pb_str(w, ONNX_MODEL_PRODUCER_NAME, "mnv2");
    mnv2__pb_str(w, ONNX_MODEL_PRODUCER_VERSION, mnv2_version_string());
    size_t g = mnv2__pb_begin(w);
    write_graph(&e);
    mnv2__pb_end(w, ONNX_MODEL_GRAPH, g);
    size_t o = mnv2__pb_begin(w);
    mnv2__pb_str(w, ONNX_OPSET_DOMAIN, "");
    mnv2__pb_int(w, ONNX_OPSET_VERSION, MNV2__ONNX_OPSET);
    mnv2__pb_end(w, ONNX_MODEL_OPSET_IMPORT, o);
    write_metadata(&e);
    free(e.tmp);
    if (w->failed)
        return mnv2__fail(MNV2_ERR_OUT_OF_MEMORY, "ONNX export: out of memory");
    return MNV2_OK;
}

int32_t mnv2_model_export_onnx_mem(const mnv2_model *model, uint32_t flags, void **data, size_t *size)
{
    mnv2__clear_error();
    if (!data || !size)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "ONNX export: NULL data or size");
    mnv2_wr w = {0};
    int32_t rc = export_mem(model, flags, &w);
    if (rc != MNV2_OK) {
        free(w.data);
        return rc;
    }
    *data = w.data;
    *size = w.size;
    return MNV2_OK;
}

int32_t mnv2_model_export_onnx(const mnv2_model *model, uint32_t flags, const char *path)
{
    mnv2__clear_error();
    if (!path)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "ONNX export: NULL path");
    mnv2_wr w = {0};
    int32_t rc = export_mem(model, flags, &w);
    if (rc == MNV2_OK)
        rc = mnv2__write_file_atomic(path, w.data, w.size, MNV2__FAIL_NONE);
    free(w.data);
    return rc;
}
