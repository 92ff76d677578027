/* SPDX-License-Identifier: BSD-2-Clause */
/* Model configuration: presets and pinned option keys. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "internal_error.h"

static const int32_t standard_rows[][4] = {
    {1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2}, {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1},
};
static const int32_t reduced_rows[][4] = {{6, 64, 4, 1}, {6, 96, 3, 2}, {6, 160, 3, 1}};

static void set_defaults(struct mnv2_config *c, int32_t preset)
{
    memset(c, 0, sizeof *c);
    c->in_c = 3;
    c->stem_c = 32;
    c->width_mult = 1.0;
    c->bn_momentum = 0.99;
    c->bn_eps = 1e-3;
    c->max_batch = 32;
    c->threads = 1;
    c->isa_max = -1;
    c->trainable = 1;
    if (preset == MNV2_PRESET_STANDARD) {
        c->classes = 1000;
        c->in_h = c->in_w = 224;
        c->head_c = 1280;
        c->dropout = 0.2;
        c->n_rows = sizeof standard_rows / sizeof standard_rows[0];
        memcpy(c->rows, standard_rows, sizeof standard_rows);
    } else {
        c->classes = 10;
        c->in_h = c->in_w = 32;
        c->head_c = 256;
        c->dropout = 0.0;
        c->n_rows = sizeof reduced_rows / sizeof reduced_rows[0];
        memcpy(c->rows, reduced_rows, sizeof reduced_rows);
    }
    c->train.optimizer = MNV2_OPTIMIZER_ADAM;
    c->train.schedule = MNV2_SCHEDULE_CONSTANT;
    c->train.lr = 1e-3;
    c->train.beta1 = 0.9;
    c->train.beta2 = 0.999;
    c->train.adam_eps = 1e-7;
    c->train.momentum = 0.9;
    c->train.warmup_scale = 0.01;
}

int32_t mnv2_config_create(int32_t preset, mnv2_config **out)
{
    mnv2__clear_error();
    if (!out)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_config_create: out is NULL");
    if (preset != MNV2_PRESET_STANDARD && preset != MNV2_PRESET_REDUCED)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_config_create: unknown preset %d", (int)preset);
    struct mnv2_config *c = malloc(sizeof *c);
    if (!c)
        return mnv2__fail(MNV2_ERR_OUT_OF_MEMORY, "mnv2_config_create: out of memory");
    set_defaults(c, preset);
    *out = c;
    return MNV2_OK;
}

int32_t mnv2_config_clone(const mnv2_config *cfg, mnv2_config **out)
{
    mnv2__clear_error();
    if (!cfg || !out)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_config_clone: NULL argument");
    struct mnv2_config *c = malloc(sizeof *c);
    if (!c)
        return mnv2__fail(MNV2_ERR_OUT_OF_MEMORY, "mnv2_config_clone: out of memory");
    *c = *cfg;
    *out = c;
    return MNV2_OK;
}

void mnv2_config_destroy(mnv2_config *cfg) { free(cfg); }

/* One row per integer key: where it lives, its range, and whether it is structural. */
typedef struct int_key {
    int32_t key;
    size_t off;
    int in_train; /* offset is into mnv2_train_opts */
    int64_t lo, hi;
    const char *name;
} int_key;

#define CK(k, f, lo, hi) {k, offsetof(struct mnv2_config, f), 0, lo, hi, #k}
#define TK(k, f, lo, hi) {k, offsetof(mnv2_train_opts, f), 1, lo, hi, #k}
static const int_key int_keys[] = {
    CK(MNV2_KEY_CLASSES, classes, 1, 65536),
    CK(MNV2_KEY_INPUT_HEIGHT, in_h, 1, 4096),
    CK(MNV2_KEY_INPUT_WIDTH, in_w, 1, 4096),
    CK(MNV2_KEY_INPUT_CHANNELS, in_c, 1, 64),
    CK(MNV2_KEY_STEM_CHANNELS, stem_c, 1, 16384),
    CK(MNV2_KEY_HEAD_CHANNELS, head_c, 1, 65536),
    CK(MNV2_KEY_EXPANSION, expansion, 0, 64),
    CK(MNV2_KEY_MAX_BATCH, max_batch, 1, 65536),
    CK(MNV2_KEY_SEED, seed, INT64_MIN, INT64_MAX),
    CK(MNV2_KEY_THREADS, threads, 0, 1024),
    CK(MNV2_KEY_ISA_MAX, isa_max, -1, MNV2_ISA_NEON),
    CK(MNV2_KEY_TRAINABLE, trainable, 0, 1),
    CK(MNV2_KEY_INIT, init, MNV2_INIT_TORCHVISION, MNV2_INIT_TORCH),
    TK(MNV2_KEY_OPTIMIZER, optimizer, MNV2_OPTIMIZER_ADAM, MNV2_OPTIMIZER_SGD),
    TK(MNV2_KEY_NESTEROV, nesterov, 0, 1),
    TK(MNV2_KEY_LR_SCHEDULE, schedule, MNV2_SCHEDULE_CONSTANT, MNV2_SCHEDULE_WARMUP_COSINE),
    TK(MNV2_KEY_WARMUP_STEPS, warmup_steps, 0, INT64_MAX),
    TK(MNV2_KEY_TOTAL_STEPS, total_steps, 0, INT64_MAX),
    TK(MNV2_KEY_STEP, step, 0, INT64_MAX),
    TK(MNV2_KEY_DECAY_ALL, decay_all, 0, 1),
};

typedef struct float_key {
    int32_t key;
    size_t off;
    int in_train;
    double lo, hi;
    int hi_open; /* value must be < hi rather than <= hi */
    int lo_open; /* value must be > lo */
} float_key;

#define CF(k, f, lo, hi, lo_open, hi_open) {k, offsetof(struct mnv2_config, f), 0, lo, hi, hi_open, lo_open}
#define TF(k, f, lo, hi, lo_open, hi_open) {k, offsetof(mnv2_train_opts, f), 1, lo, hi, hi_open, lo_open}
static const float_key float_keys[] = {
    CF(MNV2_KEY_WIDTH_MULT, width_mult, 0.05, 4.0, 0, 0),
    CF(MNV2_KEY_BN_MOMENTUM, bn_momentum, 0.0, 1.0, 0, 0),
    CF(MNV2_KEY_BN_EPS, bn_eps, 0.0, 1.0, 1, 0),
    CF(MNV2_KEY_DROPOUT, dropout, 0.0, 1.0, 0, 1),
    TF(MNV2_KEY_LR, lr, 0.0, 1e3, 0, 0),
    TF(MNV2_KEY_BETA1, beta1, 0.0, 1.0, 0, 1),
    TF(MNV2_KEY_BETA2, beta2, 0.0, 1.0, 0, 1),
    TF(MNV2_KEY_ADAM_EPS, adam_eps, 0.0, 1.0, 1, 0),
    TF(MNV2_KEY_WEIGHT_DECAY, weight_decay, 0.0, 1e3, 0, 0),
    TF(MNV2_KEY_MOMENTUM, momentum, 0.0, 1.0, 0, 1),
    TF(MNV2_KEY_WARMUP_SCALE, warmup_scale, 0.0, 1.0, 0, 0),
    TF(MNV2_KEY_LABEL_SMOOTHING, label_smoothing, 0.0, 1.0, 0, 1),
};

static void *field(const struct mnv2_config *cfg, size_t off, int in_train)
{
    const char *base = in_train ? (const char *)&cfg->train : (const char *)cfg;
    return (void *)(base + off);
}

static const int_key *find_int(int32_t key)
{
    for (size_t i = 0; i < sizeof int_keys / sizeof int_keys[0]; i++)
        if (int_keys[i].key == key)
            return &int_keys[i];
    return NULL;
}

static const float_key *find_float(int32_t key)
{
    for (size_t i = 0; i < sizeof float_keys / sizeof float_keys[0]; i++)
        if (float_keys[i].key == key)
            return &float_keys[i];
    return NULL;
}

int32_t mnv2__config_set_int(struct mnv2_config *cfg, int32_t key, int64_t v, int structural_ok)
{
    const int_key *k = find_int(key);
    if (!k)
        return mnv2__fail(MNV2_ERR_UNKNOWN_KEY, "no integer option with key %d", (int)key);
    if (!k->in_train && !structural_ok)
        return mnv2__fail(MNV2_ERR_READ_ONLY, "%s is fixed once the model is created", k->name);
    if (v < k->lo || v > k->hi)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "%s: %lld is outside %lld..%lld", k->name, (long long)v,
                          (long long)k->lo, (long long)k->hi);
    *(int64_t *)field(cfg, k->off, k->in_train) = v;
    return MNV2_OK;
}

int32_t mnv2__config_set_float(struct mnv2_config *cfg, int32_t key, double v, int structural_ok)
{
    if (key == MNV2_KEY_BN_MOMENTUM_TORCH) {
        if (!(v >= 0.0 && v <= 1.0))
            return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "MNV2_KEY_BN_MOMENTUM_TORCH: %g is outside 0..1", v);
        return mnv2__config_set_float(cfg, MNV2_KEY_BN_MOMENTUM, 1.0 - v, structural_ok);
    }
    const float_key *k = find_float(key);
    if (!k)
        return mnv2__fail(MNV2_ERR_UNKNOWN_KEY, "no float option with key %d", (int)key);
    if (!k->in_train && !structural_ok)
        return mnv2__fail(MNV2_ERR_READ_ONLY, "option %d is fixed once the model is created", (int)key);
    int ok = isfinite(v) && (k->lo_open ? v > k->lo : v >= k->lo) && (k->hi_open ? v < k->hi : v <= k->hi);
    if (!ok)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "option %d: %g is outside %s%g..%g%s", (int)key, v,
                          k->lo_open ? "(" : "[", k->lo, k->hi, k->hi_open ? ")" : "]");
    *(double *)field(cfg, k->off, k->in_train) = v;
    return MNV2_OK;
}

int32_t mnv2__config_get_int(const struct mnv2_config *cfg, int32_t key, int64_t *v)
{
    const int_key *k = find_int(key);
    if (!k)
        return mnv2__fail(MNV2_ERR_UNKNOWN_KEY, "no integer option with key %d", (int)key);
    *v = *(const int64_t *)field(cfg, k->off, k->in_train);
    return MNV2_OK;
}

int32_t mnv2__config_get_float(const struct mnv2_config *cfg, int32_t key, double *v)
{
    const float_key *k = find_float(key);
    if (!k)
        return mnv2__fail(MNV2_ERR_UNKNOWN_KEY, "no float option with key %d", (int)key);
    *v = *(const double *)field(cfg, k->off, k->in_train);
    return MNV2_OK;
}

int32_t mnv2_config_set_int(mnv2_config *cfg, int32_t key, int64_t value)
{
    mnv2__clear_error();
    if (!cfg)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_config_set_int: cfg is NULL");
    return mnv2__config_set_int(cfg, key, value, 1);
}

int32_t mnv2_config_set_float(mnv2_config *cfg, int32_t key, double value)
{
    mnv2__clear_error();
    if (!cfg)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_config_set_float: cfg is NULL");
    return mnv2__config_set_float(cfg, key, value, 1);
}

int32_t mnv2_config_get_int(const mnv2_config *cfg, int32_t key, int64_t *value)
{
    mnv2__clear_error();
    if (!cfg || !value)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_config_get_int: NULL argument");
    return mnv2__config_get_int(cfg, key, value);
}

int32_t mnv2_config_get_float(const mnv2_config *cfg, int32_t key, double *value)
{
    mnv2__clear_error();
    if (!cfg || !value)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_config_get_float: NULL argument");
    return mnv2__config_get_float(cfg, key, value);
}

int32_t mnv2_config_set_blocks(mnv2_config *cfg, const int32_t *rows, uint32_t n_rows)
{
    mnv2__clear_error();
    if (!cfg || !rows)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_config_set_blocks: NULL argument");
    if (n_rows == 0 || n_rows > MNV2_MAX_BLOCK_ROWS)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_config_set_blocks: %u rows (1..%d allowed)",
                          (unsigned)n_rows, MNV2_MAX_BLOCK_ROWS);
    int64_t blocks = 0;
    for (uint32_t i = 0; i < n_rows; i++) {
        const int32_t *r = rows + 4 * (size_t)i;
        if (r[0] < 1 || r[0] > 64 || r[1] < 1 || r[1] > 16384 || r[2] < 1 || r[2] > MNV2_MAX_BLOCKS ||
            (r[3] != 1 && r[3] != 2))
            return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT,
                              "mnv2_config_set_blocks: row %u (t=%d c=%d n=%d s=%d) out of range", (unsigned)i,
                              (int)r[0], (int)r[1], (int)r[2], (int)r[3]);
        blocks += r[2];
    }
    if (blocks > MNV2_MAX_BLOCKS)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_config_set_blocks: %lld blocks (at most %d)",
                          (long long)blocks, MNV2_MAX_BLOCKS);
    memcpy(cfg->rows, rows, (size_t)n_rows * 4 * sizeof(int32_t));
    cfg->n_rows = n_rows;
    return MNV2_OK;
}

int32_t mnv2_config_get_blocks(const mnv2_config *cfg, int32_t *rows, uint32_t max_rows, uint32_t *n_rows)
{
    mnv2__clear_error();
    if (!cfg || !n_rows)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_config_get_blocks: NULL argument");
    if (rows) {
        if (max_rows < cfg->n_rows)
            return mnv2__fail(MNV2_ERR_SIZE_MISMATCH, "mnv2_config_get_blocks: room for %u rows, %u needed",
                              (unsigned)max_rows, (unsigned)cfg->n_rows);
        memcpy(rows, cfg->rows, (size_t)cfg->n_rows * 4 * sizeof(int32_t));
    }
    *n_rows = cfg->n_rows;
    return MNV2_OK;
}
