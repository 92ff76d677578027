/* SPDX-License-Identifier: BSD-2-Clause */
/* The model handle: creation, options, facts, tensors, and the checked entry points of training. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal_error.h"
#include "layers.h"
#include "pool.h"
#include "fpenv.h"

uint64_t mnv2__hash64(uint64_t x)
{
    /* splitmix64 finalizer */
    x += 0x9e3779b97f4a7c15u;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
    return x ^ (x >> 31);
}

/* Deterministic standard normal for (seed, tensor, index): Box-Muller on two hashed uniforms. */
static double normal01(uint64_t seed, uint64_t tensor, uint64_t i)
{
    const uint64_t h = mnv2__hash64(seed ^ mnv2__hash64(tensor * 0x100000001b3u + 1) ^ mnv2__hash64(i * 2 + 7));
    const uint64_t h2 = mnv2__hash64(h);
    const double u1 = ((double)(h >> 11) + 1.0) * 0x1.0p-53; /* (0, 1] */
    const double u2 = (double)(h2 >> 11) * 0x1.0p-53;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* Deterministic uniform in [-1, 1) for (seed, tensor, index). */
static double uniform11(uint64_t seed, uint64_t tensor, uint64_t i)
{
    const uint64_t h = mnv2__hash64(seed ^ mnv2__hash64(tensor * 0x100000001b3u + 3) ^ mnv2__hash64(i * 2 + 11));
    return (double)(h >> 11) * 0x1.0p-52 - 1.0;
}

/* Fans of a weight tensor, whatever its layout: stem [3][3][in][out], depthwise [3][3][C],
 * 1x1 convolution and classifier [in][out]. Inputs per output are counted per group (depthwise: 9). */
static void weight_fans(const plan_tensor *t, double *fan_in, double *fan_out, double *keras_in, double *keras_out)
{
    if (t->ndim == 4) {
        *fan_in = *keras_in = 9.0 * t->dims[2];
        *fan_out = *keras_out = 9.0 * t->dims[3];
    } else if (t->ndim == 3) {
        *fan_in = 9.0;
        *fan_out = 9.0 * t->dims[2];
        /* Keras' DepthwiseConv2D kernel is [3][3][C][1]: its fans are 9C in, 9 out. */
        *keras_in = 9.0 * t->dims[2];
        *keras_out = 9.0;
    } else {
        *fan_in = *keras_in = t->dims[0];
        *fan_out = *keras_out = t->dims[1];
    }
}

/* Initial values of every parameter and buffer, by the configured scheme (MNV2_INIT_*). */
static void init_weights(struct mnv2_model *m)
{
    const mnv2_plan *p = m->plan;
    const uint64_t seed = (uint64_t)m->cfg.seed;
    const int64_t scheme = m->cfg.init;
    for (uint32_t ti = 0; ti < p->n_tensors; ti++) {
        const plan_tensor *t = &p->tensors[ti];
        float *dst = (t->kind == MNV2_TENSOR_PARAM ? m->params : m->buffers) + t->off;
        const size_t len = strlen(t->name);
        const int is_classifier = !strncmp(t->name, "classifier.1.", 13);
        double fill = 0.0, std = 0.0, bound = 0.0;
        if (t->kind == MNV2_TENSOR_RUNNING_VAR) {
            fill = 1.0;
        } else if (t->kind == MNV2_TENSOR_PARAM && t->ndim == 1 && !is_classifier) {
            /* BN gamma = 1 (names end in .weight), BN beta = 0 */
            fill = len > 7 && !strcmp(t->name + len - 7, ".weight") ? 1.0 : 0.0;
        } else if (t->kind == MNV2_TENSOR_PARAM && t->ndim == 1) {
            /* classifier bias: 0, except PyTorch's nn.Linear default U(-1/sqrt(fan_in), +) */
            if (scheme == MNV2_INIT_TORCH)
                bound = 1.0 / sqrt((double)p->tensors[ti - 1].dims[0]);
        } else if (t->kind == MNV2_TENSOR_PARAM) {
            double fan_in, fan_out, k_in, k_out;
            weight_fans(t, &fan_in, &fan_out, &k_in, &k_out);
            if (scheme == MNV2_INIT_KERAS)
                bound = sqrt(6.0 / (k_in + k_out)); /* glorot_uniform */
            else if (scheme == MNV2_INIT_TORCH)
                bound = 1.0 / sqrt(fan_in); /* kaiming_uniform(a = sqrt(5)) */
            else
                std = is_classifier ? 0.01 : sqrt(2.0 / fan_out); /* torchvision: kaiming_normal fan_out */
        }
        for (size_t i = 0; i < t->numel; i++) {
            double v = fill;
            if (std > 0.0)
                v = std * normal01(seed, ti, i);
            else if (bound > 0.0)
                v = bound * uniform11(seed, ti, i);
            dst[i] = (float)v;
        }
    }
}

static int32_t check_config(const struct mnv2_config *c)
{
    /* Each image must survive the strides: a stride-2 layer on size 1 stays 1, so any size is
     * valid; just bound the total work so sizes cannot overflow. */
    const double px = (double)c->in_h * (double)c->in_w * (double)c->max_batch;
    if (px * (double)c->in_c > 1e12)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "input %lldx%lldx%lld at batch %lld is too large",
                          (long long)c->in_h, (long long)c->in_w, (long long)c->in_c, (long long)c->max_batch);
    return MNV2_OK;
}

static int32_t model_create_body(const mnv2_config *cfg, mnv2_model **out)
{
    mnv2__clear_error();
    if (!cfg || !out)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_model_create: NULL argument");
    int32_t st = check_config(cfg);
    if (st)
        return st;
    const char *isa_error = mnv2__isa_env_error();
    if (isa_error)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_model_create: %s", isa_error);
    mnv2_plan *p;
    st = mnv2__plan_create(cfg, (int)cfg->trainable, &p);
    if (st)
        return st;
    struct mnv2_model *m = calloc(1, sizeof *m);
    if (!m) {
        mnv2__plan_free(p);
        return mnv2__fail(MNV2_ERR_OUT_OF_MEMORY, "mnv2_model_create: out of memory");
    }
    m->cfg = *cfg;
    m->plan = p;
    m->k = mnv2__kernels_for((int)cfg->isa_max, &m->isa);
    m->use_packed = mnv2__gemm_packed_pays(m->isa);
    const size_t P = p->n_params;
    if (!(m->block = aligned_alloc(MNV2__ALIGN, p->block_bytes & ~(size_t)(MNV2__ALIGN - 1)))) {
        const size_t mib = p->block_bytes >> 20;
        mnv2__plan_free(p);
        free(m);
        return mnv2__fail(MNV2_ERR_OUT_OF_MEMORY, "mnv2_model_create: cannot allocate %zu MiB", mib);
    }
    /* Arena first (64-byte aligned offsets), then parameters, buffers, gradients, moments, and the
     * packed weights last: the fold writes them before inference reads them, so a model that only
     * trains, or runs at a level that does not pack, never touches their pages. */
    memset(m->block, 0, p->packed * sizeof(float));
    m->arena = m->block;
    m->params = m->arena + p->arena_floats;
    m->fold = m->params + P;
    m->buffers = m->fold + P;
    m->packed = m->arena + p->packed;
    if (cfg->trainable) {
        m->grads = m->buffers + p->n_buffers;
        m->opt = m->grads + P;
    }
    m->grads_zero = 1;
    init_weights(m);
    st = mnv2__pool_create(p->threads, &m->pool);
    if (st) {
        mnv2_model_destroy(m);
        return st;
    }
    *out = m;
    return MNV2_OK;
}

void mnv2_model_destroy(mnv2_model *m)
{
    if (!m)
        return;
    mnv2__pool_destroy(m->pool);
    free(m->block);
    mnv2__plan_free(m->plan);
    free(m);
}

int32_t mnv2_model_get_config(const mnv2_model *m, mnv2_config **out)
{
    mnv2__clear_error();
    if (!m || !out)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_model_get_config: NULL argument");
    return mnv2_config_clone(&m->cfg, out);
}

struct mnv2__thread_profile {
    int on;
    uint64_t loops;
    int64_t wall_ns;
    double idle, balance;
};

static struct mnv2__thread_profile thread_profile(const mnv2_model *m)
{
    struct mnv2__thread_profile f;
    f.on = mnv2__pool_get_profile(m->pool, &f.loops, &f.wall_ns, &f.idle, &f.balance);
    return f;
}

int32_t mnv2_model_set_int(mnv2_model *m, int32_t key, int64_t value)
{
    mnv2__clear_error();
    if (!m)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_model_set_int: model is NULL");
    if (key == MNV2_KEY_RNG_STATE) {
        m->rng_state = (uint64_t)value;
        return MNV2_OK;
    }
    if (key == MNV2_KEY_THREAD_PROFILE) {
        if (value != 0 && value != 1)
            return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "MNV2_KEY_THREAD_PROFILE must be 0 or 1");
        mnv2__pool_set_profile(m->pool, (int)value);
        return MNV2_OK;
    }
    if (key == MNV2_KEY_ISA || key == MNV2_KEY_THREAD_LOOPS || key == MNV2_KEY_THREAD_LOOP_NS)
        return mnv2__fail(MNV2_ERR_READ_ONLY, "key %d is read-only", (int)key);
    return mnv2__config_set_int(&m->cfg, key, value, 0);
}

int32_t mnv2_model_set_float(mnv2_model *m, int32_t key, double value)
{
    mnv2__clear_error();
    if (!m)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_model_set_float: model is NULL");
    if (key == MNV2_KEY_THREAD_IDLE || key == MNV2_KEY_THREAD_BALANCE)
        return mnv2__fail(MNV2_ERR_READ_ONLY, "key %d is read-only", (int)key);
    return mnv2__config_set_float(&m->cfg, key, value, 0);
}

int32_t mnv2_model_get_int(const mnv2_model *m, int32_t key, int64_t *value)
{
    mnv2__clear_error();
    if (!m || !value)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_model_get_int: NULL argument");
    if (key == MNV2_KEY_RNG_STATE) {
        *value = (int64_t)m->rng_state;
        return MNV2_OK;
    }
    if (key == MNV2_KEY_ISA) {
        *value = m->isa;
        return MNV2_OK;
    }
    if (key == MNV2_KEY_THREAD_PROFILE || key == MNV2_KEY_THREAD_LOOPS || key == MNV2_KEY_THREAD_LOOP_NS) {
        struct mnv2__thread_profile f = thread_profile(m);
        *value = key == MNV2_KEY_THREAD_PROFILE ? f.on : key == MNV2_KEY_THREAD_LOOPS ? (int64_t)f.loops : f.wall_ns;
        return MNV2_OK;
    }
    return mnv2__config_get_int(&m->cfg, key, value);
}

int32_t mnv2_model_get_float(const mnv2_model *m, int32_t key, double *value)
{
    mnv2__clear_error();
    if (!m || !value)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_model_get_float: NULL argument");
    if (key == MNV2_KEY_THREAD_IDLE || key == MNV2_KEY_THREAD_BALANCE) {
        struct mnv2__thread_profile f = thread_profile(m);
        *value = key == MNV2_KEY_THREAD_IDLE ? f.idle : f.balance;
        return MNV2_OK;
    }
    return mnv2__config_get_float(&m->cfg, key, value);
}

/* ---- facts ---- */

static int32_t plan_stat(const mnv2_plan *p, const struct mnv2_config *cfg, int32_t stat, uint32_t batch,
                         uint64_t *value)
{
    switch (stat) {
    case MNV2_STAT_PARAMS: *value = p->n_params; return MNV2_OK;
    case MNV2_STAT_BUFFERS: *value = p->n_buffers; return MNV2_OK;
    case MNV2_STAT_MACS: *value = p->macs; return MNV2_OK;
    case MNV2_STAT_TENSORS: *value = p->n_tensors; return MNV2_OK;
    case MNV2_STAT_BLOCKS: *value = p->n_blocks; return MNV2_OK;
    case MNV2_STAT_LAYERS: break; /* counted below */
    case MNV2_STAT_INFER_BYTES:
    case MNV2_STAT_TRAIN_BYTES: {
        if (batch > cfg->max_batch)
            return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "batch %u is above the maximum batch %lld", (unsigned)batch,
                              (long long)cfg->max_batch);
        struct mnv2_config c = *cfg;
        if (batch)
            c.max_batch = batch;
        mnv2_plan *q;
        int32_t st = mnv2__plan_create(&c, stat == MNV2_STAT_TRAIN_BYTES, &q);
        if (st)
            return st;
        *value = mnv2__plan_bytes(q);
        mnv2__plan_free(q);
        return MNV2_OK;
    }
    default:
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "unknown statistic %d", (int)stat);
    }
    /* Layers: stem, per block (expand?) + dw + project, head, pool, classifier. */
    uint64_t n = 1 + 3;
    for (uint32_t i = 0; i < p->n_blocks; i++)
        n += 2 + (uint64_t)p->blocks[i].has_expand;
    *value = n;
    return MNV2_OK;
}

static int32_t config_stat_body(const mnv2_config *cfg, int32_t stat, uint32_t batch, uint64_t *value)
{
    mnv2__clear_error();
    if (!cfg || !value)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_config_stat: NULL argument");
    mnv2_plan *p;
    struct mnv2_config c = *cfg;
    c.max_batch = 1; /* the facts other than memory do not depend on the batch */
    int32_t st = mnv2__plan_create(&c, 0, &p);
    if (st)
        return st;
    st = plan_stat(p, cfg, stat, batch, value);
    mnv2__plan_free(p);
    return st;
}

int32_t mnv2_model_stat(const mnv2_model *m, int32_t stat, uint32_t batch, uint64_t *value)
{
    mnv2__clear_error();
    if (!m || !value)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_model_stat: NULL argument");
    return plan_stat(m->plan, &m->cfg, stat, batch, value);
}

static void fill_layer(mnv2_layer_info *info, const plan_conv *c, uint32_t block)
{
    snprintf(info->name, sizeof info->name, "%s", c->name);
    snprintf(info->op, sizeof info->op, "%s",
             c->kind == CONV_STEM ? "conv3x3" : c->kind == CONV_DW ? "dwconv3x3" : "conv1x1");
    info->in_h = c->in_h, info->in_w = c->in_w, info->in_c = c->cin;
    info->out_h = c->out_h, info->out_w = c->out_w, info->out_c = c->cout;
    info->stride = c->stride;
    info->block = block;
    info->params = c->params;
    info->macs = c->macs;
    info->out_bytes = (uint64_t)c->out_h * c->out_w * c->cout * sizeof(float);
}

static int32_t config_layer_info_body(const mnv2_config *cfg, uint32_t index, mnv2_layer_info *info)
{
    mnv2__clear_error();
    if (!cfg || !info)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_config_layer_info: NULL argument");
    if (info->struct_size < sizeof(mnv2_layer_info))
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_config_layer_info: struct_size %u, %zu expected",
                          (unsigned)info->struct_size, sizeof(mnv2_layer_info));
    mnv2_plan *p;
    struct mnv2_config c = *cfg;
    c.max_batch = 1;
    int32_t st = mnv2__plan_create(&c, 0, &p);
    if (st)
        return st;
    mnv2_layer_info r;
    memset(&r, 0, sizeof r);
    r.struct_size = (uint32_t)sizeof r;
    uint32_t i = index;
    int found = 0;
    if (i == 0) {
        fill_layer(&r, &p->stem, 0), found = 1;
    }
    i--;
    for (uint32_t b = 0; !found && b < p->n_blocks; b++) {
        const plan_block *k = &p->blocks[b];
        const plan_conv *list[3] = {k->has_expand ? &k->expand : NULL, &k->dw, &k->project};
        for (int j = 0; j < 3 && !found; j++) {
            if (!list[j])
                continue;
            if (i == 0)
                fill_layer(&r, list[j], b + 1), found = 1;
            else
                i--;
        }
    }
    if (!found && i == 0)
        fill_layer(&r, &p->head, 0), found = 1;
    else if (!found && i == 1) {
        snprintf(r.name, sizeof r.name, "pool");
        snprintf(r.op, sizeof r.op, "avgpool");
        r.in_h = p->head.out_h, r.in_w = p->head.out_w, r.in_c = p->fc_in;
        r.out_h = r.out_w = 1, r.out_c = p->fc_in, r.stride = 1;
        r.out_bytes = (uint64_t)p->fc_in * sizeof(float);
        found = 1;
    } else if (!found && i == 2) {
        snprintf(r.name, sizeof r.name, "classifier.1");
        snprintf(r.op, sizeof r.op, "linear");
        r.in_h = r.in_w = 1, r.in_c = p->fc_in;
        r.out_h = r.out_w = 1, r.out_c = p->classes, r.stride = 1;
        r.params = (uint64_t)p->fc_in * p->classes + p->classes;
        r.macs = (uint64_t)p->fc_in * p->classes;
        r.out_bytes = (uint64_t)p->classes * sizeof(float);
        found = 1;
    }
    mnv2__plan_free(p);
    if (!found)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_config_layer_info: index %u out of range", (unsigned)index);
    memcpy(info, &r, sizeof r);
    return MNV2_OK;
}

/* ---- tensors ---- */

int32_t mnv2_tensor_count(const mnv2_model *m, uint32_t *count)
{
    mnv2__clear_error();
    if (!m || !count)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_tensor_count: NULL argument");
    *count = m->plan->n_tensors;
    return MNV2_OK;
}

int32_t mnv2_tensor_find(const mnv2_model *m, const char *name, uint32_t *index)
{
    mnv2__clear_error();
    if (!m || !name || !index)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_tensor_find: NULL argument");
    for (uint32_t i = 0; i < m->plan->n_tensors; i++)
        if (!strcmp(m->plan->tensors[i].name, name)) {
            *index = i;
            return MNV2_OK;
        }
    return mnv2__fail(MNV2_ERR_NOT_FOUND, "no tensor named '%s'", name);
}

int32_t mnv2_tensor_info(const mnv2_model *m, uint32_t index, const char **name, int32_t *kind, uint32_t *ndim,
                         uint32_t *dims, uint64_t *numel)
{
    mnv2__clear_error();
    if (!m || index >= m->plan->n_tensors)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_tensor_info: NULL model or index out of range");
    const plan_tensor *t = &m->plan->tensors[index];
    if (name)
        *name = t->name;
    if (kind)
        *kind = t->kind;
    if (ndim)
        *ndim = t->ndim;
    if (dims)
        memcpy(dims, t->dims, sizeof t->dims);
    if (numel)
        *numel = t->numel;
    return MNV2_OK;
}

static int32_t tensor_ptr(const mnv2_model *m, uint32_t index, int32_t which, uint64_t n, float **ptr, const char *fn)
{
    if (!m || index >= m->plan->n_tensors)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "%s: NULL model or index out of range", fn);
    const plan_tensor *t = &m->plan->tensors[index];
    if (which != MNV2_DATA_VALUE && which != MNV2_DATA_GRAD)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "%s: unknown data kind %d", fn, (int)which);
    if (n != t->numel)
        return mnv2__fail(MNV2_ERR_SIZE_MISMATCH, "%s: tensor '%s' has %zu values, %llu given", fn, t->name, t->numel,
                          (unsigned long long)n);
    if (which == MNV2_DATA_GRAD && (t->kind != MNV2_TENSOR_PARAM || !m->grads))
        return mnv2__fail(MNV2_ERR_BAD_STATE, "%s: tensor '%s' has no gradient", fn, t->name);
    float *base = which == MNV2_DATA_GRAD ? m->grads : t->kind == MNV2_TENSOR_PARAM ? m->params : m->buffers;
    *ptr = base + t->off;
    return MNV2_OK;
}

int32_t mnv2_tensor_read(const mnv2_model *m, uint32_t index, int32_t which, float *dst, uint64_t n)
{
    mnv2__clear_error();
    float *src = NULL;
    int32_t st = tensor_ptr(m, index, which, n, &src, "mnv2_tensor_read");
    if (st)
        return st;
    if (!dst)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_tensor_read: dst is NULL");
    memcpy(dst, src, (size_t)n * sizeof(float));
    return MNV2_OK;
}

int32_t mnv2_tensor_write(mnv2_model *m, uint32_t index, int32_t which, const float *src, uint64_t n)
{
    mnv2__clear_error();
    float *dst = NULL;
    int32_t st = tensor_ptr(m, index, which, n, &dst, "mnv2_tensor_write");
    if (st)
        return st;
    if (!src)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_tensor_write: src is NULL");
    const plan_tensor *t = &m->plan->tensors[index];
    for (size_t i = 0; i < (size_t)n; i++) {
        if (!isfinite(src[i]))
            return mnv2__fail(MNV2_ERR_NOT_FINITE, "mnv2_tensor_write: tensor '%s': %s %zu is not finite", t->name,
                              which == MNV2_DATA_GRAD ? "gradient" : "value", i);
        if (which == MNV2_DATA_VALUE && t->kind == MNV2_TENSOR_RUNNING_VAR && src[i] < 0.0f)
            return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_tensor_write: tensor '%s': variance %zu is negative (%g)",
                              t->name, i, (double)src[i]);
    }
    memcpy(dst, src, (size_t)n * sizeof(float));
    if (which == MNV2_DATA_GRAD)
        m->grads_zero = 0;
    m->fold_valid = 0;
    return MNV2_OK;
}

float *mnv2_parameters(mnv2_model *m, uint64_t *count)
{
    if (!m)
        return NULL;
    if (count)
        *count = m->plan->n_params;
    m->fold_valid = 0; /* the caller may write through the pointer */
    return m->params;
}

float *mnv2_gradients(mnv2_model *m, uint64_t *count)
{
    if (!m || !m->grads)
        return NULL;
    if (count)
        *count = m->plan->n_params;
    m->grads_zero = 0; /* the caller may write through the pointer */
    return m->grads;
}

float *mnv2_buffers(mnv2_model *m, uint64_t *count)
{
    if (!m)
        return NULL;
    if (count)
        *count = m->plan->n_buffers;
    m->fold_valid = 0;
    return m->buffers;
}

float *mnv2_optimizer_state(mnv2_model *m, uint64_t *count)
{
    if (!m || !m->opt)
        return NULL;
    if (count)
        *count = 2 * (uint64_t)m->plan->n_params;
    return m->opt;
}

/* ---- input standardisation (metadata for the caller; mnv2_forward() does not apply it) ---- */

int32_t mnv2_model_set_normalization(mnv2_model *m, const float *mean, const float *std, uint32_t n)
{
    mnv2__clear_error();
    const char *fn = "mnv2_model_set_normalization";
    if (!m)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "%s: model is NULL", fn);
    if (n != 0 && n != 1 && (int64_t)n != m->cfg.in_c)
        return mnv2__fail(MNV2_ERR_SIZE_MISMATCH, "%s: %u values for a model of %lld input channels (0, 1 or %lld)",
                          fn, (unsigned)n, (long long)m->cfg.in_c, (long long)m->cfg.in_c);
    if (n > MNV2__MAX_NORM) /* in_c is at most MNV2__MAX_NORM; kept for the array bound */
        return mnv2__fail(MNV2_ERR_SIZE_MISMATCH, "%s: %u values, at most %d", fn, (unsigned)n, MNV2__MAX_NORM);
    if (n && (!mean || !std))
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "%s: NULL %s with %u values", fn, mean ? "std" : "mean",
                          (unsigned)n);
    for (uint32_t i = 0; i < n; i++) {
        if (!isfinite(mean[i]))
            return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "%s: mean %u is not finite", fn, (unsigned)i);
        if (!isfinite(std[i]) || !(std[i] > 0.0f))
            return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "%s: std %u is %g, not a finite value > 0", fn,
                              (unsigned)i, (double)std[i]);
    }
    if (n) {
        memcpy(m->norm_mean, mean, n * sizeof(float));
        memcpy(m->norm_std, std, n * sizeof(float));
    }
    m->norm_n = n;
    return MNV2_OK;
}

int32_t mnv2_model_get_normalization(const mnv2_model *m, float *mean, float *std, uint32_t capacity, uint32_t *n)
{
    mnv2__clear_error();
    const char *fn = "mnv2_model_get_normalization";
    if (!m || !n)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "%s: NULL %s", fn, m ? "n" : "model");
    if ((mean || std) && capacity < m->norm_n)
        return mnv2__fail(MNV2_ERR_SIZE_MISMATCH, "%s: room for %u values, the model has %u", fn,
                          (unsigned)capacity, (unsigned)m->norm_n);
    if (mean && m->norm_n)
        memcpy(mean, m->norm_mean, m->norm_n * sizeof(float));
    if (std && m->norm_n)
        memcpy(std, m->norm_std, m->norm_n * sizeof(float));
    *n = m->norm_n;
    return MNV2_OK;
}

/* ---- forward / backward ---- */

int32_t mnv2_model_set_bn_stats_hook(mnv2_model *m, mnv2_bn_stats_fn fn, void *user)
{
    mnv2__clear_error();
    if (!m)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_model_set_bn_stats_hook: NULL model");
    if (!m->grads)
        return mnv2__fail(MNV2_ERR_BAD_STATE, "mnv2_model_set_bn_stats_hook: inference-only model");
    m->bn_hook = fn;
    m->bn_hook_user = fn ? user : NULL;
    return MNV2_OK;
}

static int32_t hook_failure(mnv2_model *m, const char *fn)
{
    const int32_t rc = m->hook_failed;
    m->hook_failed = 0;
    return mnv2__fail(MNV2_ERR_HOOK, "%s: the batch-statistics callback %s", fn,
                      rc == MNV2_ERR_HOOK ? "returned an invalid count or statistic" : "reported a failure");
}

/* A training forward that changes nothing when a batch statistic or a logit is not finite, or the
 * batch-statistics callback fails: the running statistics are kept in the folded-weights array
 * (invalid during training anyway) and put back, with the dropout stream position. */
static int32_t train_forward(mnv2_model *m, const float *images, size_t n_images, uint32_t batch)
{
    const size_t nb = m->plan->n_buffers, nl = (size_t)batch * m->plan->classes;
    const uint64_t rng = m->rng_state;
    memcpy(m->fold, m->buffers, nb * sizeof(float)); /* fold (n_params floats) >= n_buffers */
    m->bad_layer = NULL;
    m->hook_failed = 0;
    mnv2__forward(m, images, batch, 1);
    const float *lg = arena(m, m->plan->logits);
    int bad_logits = 0;
    for (size_t i = 0; i < nl && !m->bad_layer; i++)
        bad_logits |= !isfinite(lg[i]);
    if (!m->bad_layer && !bad_logits && !m->hook_failed)
        return MNV2_OK;
    memcpy(m->buffers, m->fold, nb * sizeof(float));
    m->rng_state = rng;
    m->fold_valid = 0;
    if (m->hook_failed)
        return hook_failure(m, "mnv2_forward");
    for (size_t i = 0; i < n_images; i++)
        if (!isfinite(images[i]))
            return mnv2__fail(MNV2_ERR_NOT_FINITE,
                              "mnv2_forward: input value %zu (image %zu) is not finite; the model is unchanged", i,
                              i / (n_images / batch));
    if (m->bad_layer)
        return mnv2__fail(MNV2_ERR_NOT_FINITE,
                          "mnv2_forward: batch statistics of '%s' are not finite (activations overflowed: weights "
                          "or inputs too large); the model is unchanged",
                          m->bad_layer);
    return mnv2__fail(MNV2_ERR_NOT_FINITE,
                      "mnv2_forward: the logits are not finite (overflow in the classifier); the model is unchanged");
}

static int32_t forward_body(mnv2_model *m, const float *images, size_t n_images, uint32_t batch, int32_t mode, float *logits,
                     size_t n_logits)
{
    mnv2__clear_error();
    if (!m || !images)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_forward: NULL %s", m ? "images" : "model");
    if (mode != MNV2_MODE_INFER && mode != MNV2_MODE_TRAIN)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_forward: unknown mode %d", (int)mode);
    if (batch == 0 || batch > m->cfg.max_batch)
        return mnv2__fail(MNV2_ERR_BATCH_SIZE, "mnv2_forward: batch %u (1..%lld allowed)", (unsigned)batch,
                          (long long)m->cfg.max_batch);
    const size_t img = (size_t)m->cfg.in_h * (size_t)m->cfg.in_w * (size_t)m->cfg.in_c;
    if (n_images != img * batch)
        return mnv2__fail(MNV2_ERR_SIZE_MISMATCH, "mnv2_forward: %zu input values, %zu expected (%u x %lldx%lldx%lld)",
                          n_images, img * batch, (unsigned)batch, (long long)m->cfg.in_h, (long long)m->cfg.in_w,
                          (long long)m->cfg.in_c);
    const size_t nl = (size_t)batch * m->plan->classes;
    if (logits ? n_logits != nl : n_logits != 0)
        return mnv2__fail(MNV2_ERR_SIZE_MISMATCH, "mnv2_forward: room for %zu logits, %zu needed", n_logits, nl);
    if (mode == MNV2_MODE_TRAIN && !m->grads)
        return mnv2__fail(MNV2_ERR_BAD_STATE, "mnv2_forward: training mode on an inference-only model");
    int32_t st;
    m->fwd_batch = 0;
    if (mode == MNV2_MODE_TRAIN) {
        st = train_forward(m, images, n_images, batch);
        if (st)
            return st;
        m->fwd_batch = batch;
    } else {
        mnv2__forward(m, images, batch, 0);
    }
    if (logits)
        memcpy(logits, arena(m, m->plan->logits), nl * sizeof(float));
    return MNV2_OK;
}

static int32_t backward_check(mnv2_model *m, const void *arg, size_t n, const char *fn)
{
    if (!m || !arg)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "%s: NULL argument", fn);
    if (!m->grads)
        return mnv2__fail(MNV2_ERR_BAD_STATE, "%s: inference-only model", fn);
    if (!m->fwd_batch)
        return mnv2__fail(MNV2_ERR_BAD_STATE, "%s: no training-mode forward since the last backward", fn);
    if (n != m->fwd_batch)
        return mnv2__fail(MNV2_ERR_SIZE_MISMATCH, "%s: %zu values for a forward batch of %u", fn, n,
                          (unsigned)m->fwd_batch);
    return MNV2_OK;
}

/* The backward pass, all or nothing: when a gradient comes out not finite, the gradients are put
 * back as they were (from the folded-weights array, invalid during training, unless they were
 * all 0) and the pending training forward is dropped. */
static int32_t run_backward(mnv2_model *m, uint32_t batch, const char *fn)
{
    const size_t P = m->plan->n_params;
    const int backup = !m->grads_zero;
    if (backup)
        memcpy(m->fold, m->grads, P * sizeof(float));
    m->hook_failed = 0;
    mnv2__backward(m, batch);
    m->fwd_batch = 0;
    if (!m->hook_failed && mnv2__all_finite(m, m->grads, P)) {
        m->have_grads = 1;
        m->grads_zero = 0;
        return MNV2_OK;
    }
    if (backup)
        memcpy(m->grads, m->fold, P * sizeof(float));
    else
        memset(m->grads, 0, P * sizeof(float));
    m->fold_valid = 0;
    if (m->hook_failed)
        return hook_failure(m, fn);
    return mnv2__fail(MNV2_ERR_NOT_FINITE,
                      "%s: a gradient overflowed (not finite); the gradients are unchanged and the training "
                      "forward must be run again",
                      fn);
}

static int32_t backward_body(mnv2_model *m, const int32_t *labels, uint32_t n_labels, float *loss)
{
    mnv2__clear_error();
    int32_t st = backward_check(m, labels, n_labels, "mnv2_backward");
    if (st)
        return st;
    const size_t B = n_labels, K = m->plan->classes;
    for (size_t b = 0; b < B; b++)
        if (labels[b] < 0 || (size_t)labels[b] >= K)
            return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_backward: label %d of image %zu is outside 0..%zu",
                              (int)labels[b], b, K - 1);
    const float *logits = arena(m, m->plan->logits);
    float *d = arena(m, m->plan->probs);
    const double eps = m->cfg.train.label_smoothing;
    double total = 0.0;
    for (size_t b = 0; b < B; b++) {
        const float *z = logits + b * K;
        float *g = d + b * K;
        double mx = z[0], sum = 0.0;
        for (size_t j = 1; j < K; j++)
            mx = z[j] > mx ? z[j] : mx;
        for (size_t j = 0; j < K; j++)
            sum += exp((double)z[j] - mx);
        const double lse = mx + log(sum);
        for (size_t j = 0; j < K; j++) {
            const double q = (j == (size_t)labels[b] ? 1.0 - eps : 0.0) + eps / (double)K;
            const double logp = (double)z[j] - lse;
            total -= q * logp;
            g[j] = (float)((exp(logp) - q) / (double)B);
        }
    }
    const double mean = total / (double)B;
    if (!isfinite(mean))
        return mnv2__fail(MNV2_ERR_NOT_FINITE, "mnv2_backward: the loss is not finite (diverged?)");
    st = run_backward(m, (uint32_t)B, "mnv2_backward");
    if (st)
        return st;
    if (loss)
        *loss = (float)mean;
    return MNV2_OK;
}

static int32_t backward_logits_body(mnv2_model *m, const float *dlogits, size_t n_dlogits)
{
    mnv2__clear_error();
    if (m && dlogits && m->grads && m->fwd_batch && n_dlogits != (size_t)m->fwd_batch * m->plan->classes)
        return mnv2__fail(MNV2_ERR_SIZE_MISMATCH, "mnv2_backward_logits: %zu values, %zu expected", n_dlogits,
                          (size_t)m->fwd_batch * m->plan->classes);
    int32_t st = backward_check(m, dlogits, m && m->fwd_batch ? m->fwd_batch : 0, "mnv2_backward_logits");
    if (st)
        return st;
    for (size_t i = 0; i < n_dlogits; i++)
        if (!isfinite(dlogits[i]))
            return mnv2__fail(MNV2_ERR_NOT_FINITE, "mnv2_backward_logits: value %zu is not finite", i);
    memcpy(arena(m, m->plan->probs), dlogits, n_dlogits * sizeof(float));
    return run_backward(m, m->fwd_batch, "mnv2_backward_logits");
}

/* Public entry points that compute: in the library's floating-point environment (fpenv.h). */

int32_t mnv2_model_create(const mnv2_config *cfg, mnv2_model **out)
{
    MNV2__RETURN_IN_FPENV(model_create_body(cfg, out));
}

int32_t mnv2_config_stat(const mnv2_config *cfg, int32_t stat, uint32_t batch, uint64_t *value)
{
    MNV2__RETURN_IN_FPENV(config_stat_body(cfg, stat, batch, value));
}

int32_t mnv2_config_layer_info(const mnv2_config *cfg, uint32_t index, mnv2_layer_info *info)
{
    MNV2__RETURN_IN_FPENV(config_layer_info_body(cfg, index, info));
}

int32_t mnv2_forward(mnv2_model *m, const float *images, size_t n_images, uint32_t batch, int32_t mode, float *logits,
                     size_t n_logits)
{
    MNV2__RETURN_IN_FPENV(forward_body(m, images, n_images, batch, mode, logits, n_logits));
}

int32_t mnv2_backward(mnv2_model *m, const int32_t *labels, uint32_t n_labels, float *loss)
{
    MNV2__RETURN_IN_FPENV(backward_body(m, labels, n_labels, loss));
}

int32_t mnv2_backward_logits(mnv2_model *m, const float *dlogits, size_t n_dlogits)
{
    MNV2__RETURN_IN_FPENV(backward_logits_body(m, dlogits, n_dlogits));
}
