/* SPDX-License-Identifier: BSD-2-Clause */
/* Writing model files and checkpoints (docs/file-format.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal_error.h"
#include "io/bytes.h"
#include "io/crc32.h"
#include "io/fileio.h"
#include "io/format.h"

#define I MNV2__TYPE_INT
#define F MNV2__TYPE_FLOAT
#define OPT MNV2__TYPE_OPTIONAL
const mnv2_conf_key mnv2__conf_keys[] = {
    {MNV2_KEY_CLASSES, I}, {MNV2_KEY_INPUT_HEIGHT, I}, {MNV2_KEY_INPUT_WIDTH, I}, {MNV2_KEY_INPUT_CHANNELS, I},
    {MNV2_KEY_STEM_CHANNELS, I}, {MNV2_KEY_HEAD_CHANNELS, I}, {MNV2_KEY_WIDTH_MULT, F}, {MNV2_KEY_EXPANSION, I},
    {MNV2_KEY_BN_MOMENTUM, F}, {MNV2_KEY_BN_EPS, F}, {MNV2_KEY_DROPOUT, F}, {MNV2_KEY_MAX_BATCH, I | OPT},
    {MNV2_KEY_SEED, I}, {MNV2_KEY_THREADS, I | OPT}, {MNV2_KEY_ISA_MAX, I | OPT}, {MNV2_KEY_TRAINABLE, I | OPT},
    {MNV2_KEY_INIT, I | OPT},    {MNV2_KEY_OPTIMIZER, I | OPT}, {MNV2_KEY_LR, F | OPT}, {MNV2_KEY_BETA1, F | OPT}, {MNV2_KEY_BETA2, F | OPT},
    {MNV2_KEY_ADAM_EPS, F | OPT}, {MNV2_KEY_WEIGHT_DECAY, F | OPT}, {MNV2_KEY_MOMENTUM, F | OPT},
    {MNV2_KEY_NESTEROV, I | OPT}, {MNV2_KEY_LR_SCHEDULE, I | OPT}, {MNV2_KEY_WARMUP_SCALE, F | OPT},
    {MNV2_KEY_WARMUP_STEPS, I | OPT}, {MNV2_KEY_TOTAL_STEPS, I | OPT}, {MNV2_KEY_LABEL_SMOOTHING, F | OPT},
    {MNV2_KEY_STEP, I | OPT}, {MNV2_KEY_DECAY_ALL, I | OPT},
};
#undef I
#undef F
#undef OPT
const uint32_t mnv2__n_conf_keys = sizeof mnv2__conf_keys / sizeof mnv2__conf_keys[0];

/* Start a section: tag and a length patched by end_section(). Returns its offset. */
static size_t begin_section(mnv2_wr *w, const char *tag)
{
    size_t at = w->size;
    mnv2__wr_append(w, tag, 4);
    mnv2__wr_u64(w, 0);
    return at;
}

static void end_section(mnv2_wr *w, size_t at)
{
    if (w->failed)
        return;
    mnv2__put_le64(w->data + at + 4, (uint64_t)(w->size - at - 12));
    mnv2__wr_u32(w, mnv2__crc32(0, w->data + at, w->size - at));
}

/* Copy the engine's message before formatting into the same thread-local buffer. */
static int32_t wrap(int32_t rc, const char *what, const char *step)
{
    char msg[256];
    snprintf(msg, sizeof msg, "%s", mnv2_last_error());
    return mnv2__fail(rc, "%s: %s: %s", what, step, msg);
}

static int32_t write_conf(const mnv2_model *model, mnv2_wr *w, const char *what)
{
    mnv2_config *cfg;
    int32_t rc = mnv2_model_get_config(model, &cfg);
    if (rc != MNV2_OK)
        return wrap(rc, what, "reading the model's configuration");
    size_t at = begin_section(w, "CONF");
    size_t count_at = w->size;
    uint32_t n = 0;
    mnv2__wr_u32(w, 0);
    for (uint32_t i = 0; i < mnv2__n_conf_keys && rc == MNV2_OK; i++) {
        const mnv2_conf_key *k = &mnv2__conf_keys[i];
        uint8_t v[8];
        if ((k->type & MNV2__TYPE_MASK) == MNV2__TYPE_INT) {
            int64_t x;
            rc = mnv2_config_get_int(cfg, k->key, &x);
            mnv2__put_le64(v, (uint64_t)x);
        } else {
            double x;
            uint64_t bits;
            rc = mnv2_config_get_float(cfg, k->key, &x);
            memcpy(&bits, &x, 8);
            mnv2__put_le64(v, bits);
        }
        if (rc == MNV2_ERR_UNKNOWN_KEY) { /* a key this engine does not have: nothing to store */
            rc = MNV2_OK;
            continue;
        }
        mnv2__wr_u32(w, (uint32_t)k->key);
        mnv2__wr_u32(w, k->type);
        mnv2__wr_append(w, v, 8);
        n++;
    }
    int32_t rows[MNV2_MAX_BLOCK_ROWS * 4];
    uint32_t n_rows = 0;
    if (rc == MNV2_OK)
        rc = mnv2_config_get_blocks(cfg, rows, MNV2_MAX_BLOCK_ROWS, &n_rows);
    mnv2_config_destroy(cfg);
    if (rc != MNV2_OK)
        return wrap(rc, what, "reading the model's configuration");
    if (!w->failed)
        mnv2__put_le32(w->data + count_at, n);
    mnv2__wr_u32(w, n_rows);
    for (uint32_t i = 0; i < 4 * n_rows; i++)
        mnv2__wr_u32(w, (uint32_t)rows[i]);
    end_section(w, at);
    return MNV2_OK;
}

static int32_t write_tensors(const mnv2_model *model, mnv2_wr *w, const char *what)
{
    uint32_t count;
    int32_t rc = mnv2_tensor_count(model, &count);
    if (rc != MNV2_OK)
        return wrap(rc, what, "counting tensors");
    size_t at = begin_section(w, "TENS");
    mnv2__wr_u32(w, count);
    float *buf = NULL;
    uint64_t cap = 0;
    for (uint32_t i = 0; i < count && rc == MNV2_OK && !w->failed; i++) {
        const char *name;
        int32_t kind;
        uint32_t ndim, dims[4];
        uint64_t numel;
        rc = mnv2_tensor_info(model, i, &name, &kind, &ndim, dims, &numel);
        if (rc != MNV2_OK)
            break;
        size_t len = strlen(name);
        if (len > MNV2__MAX_NAME || ndim > 4) {
            rc = mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "%s: tensor %u has a name of %zu bytes or %u dims", what,
                            (unsigned)i, len, (unsigned)ndim);
            break;
        }
        if (numel > cap) {
            float *p = numel <= SIZE_MAX / sizeof(float) ? realloc(buf, (size_t)numel * sizeof(float)) : NULL;
            if (!p) {
                rc = mnv2__fail(MNV2_ERR_OUT_OF_MEMORY, "%s: out of memory", what);
                break;
            }
            buf = p;
            cap = numel;
        }
        rc = mnv2_tensor_read(model, i, MNV2_DATA_VALUE, buf, numel);
        if (rc != MNV2_OK)
            break;
        mnv2__wr_u16(w, (uint16_t)len);
        mnv2__wr_append(w, name, len);
        mnv2__wr_u32(w, (uint32_t)kind);
        mnv2__wr_u32(w, ndim);
        for (uint32_t d = 0; d < ndim; d++)
            mnv2__wr_u32(w, dims[d]);
        mnv2__wr_u64(w, numel);
        mnv2__wr_f32s(w, buf, (size_t)numel);
    }
    free(buf);
    if (rc != MNV2_OK)
        return rc == MNV2_ERR_OUT_OF_MEMORY || rc == MNV2_ERR_INVALID_ARGUMENT ? rc : wrap(rc, what, "reading tensors");
    end_section(w, at);
    return MNV2_OK;
}

static int32_t write_classes(mnv2_wr *w, const char *const *names, uint32_t n, int64_t classes, const char *what)
{
    if (n != 0 && (int64_t)n != classes)
        return mnv2__fail(MNV2_ERR_SIZE_MISMATCH, "%s: %u class names for a model of %lld classes", what,
                          (unsigned)n, (long long)classes);
    if (n && !names)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "%s: class_names is NULL", what);
    for (uint32_t i = 0; i < n; i++)
        if (!names[i] || strlen(names[i]) > MNV2__MAX_NAME)
            return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "%s: class name %u is NULL or longer than %u bytes", what,
                              (unsigned)i, MNV2__MAX_NAME);
    size_t at = begin_section(w, "CLAS");
    mnv2__wr_u32(w, n);
    for (uint32_t i = 0; i < n; i++) {
        size_t len = strlen(names[i]);
        mnv2__wr_u16(w, (uint16_t)len);
        mnv2__wr_append(w, names[i], len);
    }
    end_section(w, at);
    return MNV2_OK;
}

/* NORM: the input standardisation, only when the model has one. */
static int32_t write_norm(const mnv2_model *model, mnv2_wr *w, const char *what)
{
    float mean[MNV2__MAX_NORM], std[MNV2__MAX_NORM];
    uint32_t n;
    int32_t rc = mnv2_model_get_normalization(model, mean, std, MNV2__MAX_NORM, &n);
    if (rc != MNV2_OK)
        return wrap(rc, what, "reading the input standardisation");
    if (n == 0)
        return MNV2_OK;
    size_t at = begin_section(w, "NORM");
    mnv2__wr_u32(w, n);
    mnv2__wr_f32s(w, mean, n);
    mnv2__wr_f32s(w, std, n);
    end_section(w, at);
    return MNV2_OK;
}

static int32_t write_checkpoint(mnv2_model *model, const mnv2_batch_iter *iter, const void *blob,
                                uint64_t blob_size, mnv2_wr *w, const char *what)
{
    uint64_t n = 0;
    float *opt = mnv2_optimizer_state(model, &n);
    if (!opt)
        return mnv2__fail(MNV2_ERR_BAD_STATE, "%s: the model is inference-only: no optimizer state to checkpoint",
                          what);
    int64_t step, rng;
    int32_t rc = mnv2_model_get_int(model, MNV2_KEY_STEP, &step);
    if (rc == MNV2_OK)
        rc = mnv2_model_get_int(model, MNV2_KEY_RNG_STATE, &rng);
    if (rc != MNV2_OK)
        return wrap(rc, what, "reading the step and random state");
    uint64_t seed = 0, epoch = 0, pos = 0;
    if (iter && (rc = mnv2_batch_iter_get_state(iter, &seed, &epoch, &pos)) != MNV2_OK)
        return rc;
    size_t at = begin_section(w, "OPTS");
    mnv2__wr_u64(w, (uint64_t)step);
    mnv2__wr_u64(w, (uint64_t)rng);
    mnv2__wr_u64(w, n);
    mnv2__wr_f32s(w, opt, (size_t)n);
    end_section(w, at);
    at = begin_section(w, "TRST");
    mnv2__wr_u64(w, seed);
    mnv2__wr_u64(w, epoch);
    mnv2__wr_u64(w, pos);
    mnv2__wr_u64(w, blob_size);
    mnv2__wr_append(w, blob, (size_t)blob_size);
    end_section(w, at);
    return MNV2_OK;
}

/* The whole file in memory. */
static int32_t build(mnv2_model *model, int checkpoint, const mnv2_batch_iter *iter, const void *blob,
                     uint64_t blob_size, const char *const *names, uint32_t n_names, const char *what, mnv2_wr *w)
{
    if (!model)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "%s: model is NULL", what);
    if (blob_size && !blob)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "%s: blob is NULL with blob_size %llu", what,
                          (unsigned long long)blob_size);
    if (blob_size > SIZE_MAX / 2)
        return mnv2__fail(MNV2_ERR_OUT_OF_MEMORY, "%s: blob of %llu bytes", what, (unsigned long long)blob_size);
    int64_t classes;
    int32_t rc = mnv2_model_get_int(model, MNV2_KEY_CLASSES, &classes);
    if (rc != MNV2_OK)
        return wrap(rc, what, "reading the class count");
    uint8_t head[MNV2__HEADER_SIZE] = {0};
    memcpy(head, MNV2__MAGIC, 4);
    mnv2__put_le32(head + 4, MNV2_FILE_VERSION);
    mnv2__put_le32(head + 8, checkpoint ? MNV2__FLAG_CHECKPOINT : 0);
    mnv2__wr_append(w, head, sizeof head);
    if ((rc = write_conf(model, w, what)) != MNV2_OK || (rc = write_tensors(model, w, what)) != MNV2_OK ||
        (rc = write_classes(w, names, n_names, classes, what)) != MNV2_OK ||
        (rc = write_norm(model, w, what)) != MNV2_OK)
        return rc;
    if (checkpoint && (rc = write_checkpoint(model, iter, blob, blob_size, w, what)) != MNV2_OK)
        return rc;
    end_section(w, begin_section(w, "END "));
    if (w->failed)
        return mnv2__fail(MNV2_ERR_OUT_OF_MEMORY, "%s: out of memory building the file", what);
    return MNV2_OK;
}

static int32_t save_path(mnv2_model *model, int checkpoint, const mnv2_batch_iter *iter, const void *blob,
                         uint64_t blob_size, const char *const *names, uint32_t n_names, const char *path)
{
    mnv2__clear_error();
    if (!path)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "%s: path is NULL", checkpoint ? "mnv2_checkpoint_save" :
                          "mnv2_model_save");
    mnv2_wr w = {0};
    int32_t rc = build(model, checkpoint, iter, blob, blob_size, names, n_names, path, &w);
    if (rc == MNV2_OK)
        rc = mnv2__write_file_atomic(path, w.data, w.size, MNV2__FAIL_NONE);
    free(w.data);
    return rc;
}

static int32_t save_mem(mnv2_model *model, int checkpoint, const mnv2_batch_iter *iter, const void *blob,
                        uint64_t blob_size, const char *const *names, uint32_t n_names, void **data, size_t *size)
{
    mnv2__clear_error();
    const char *what = checkpoint ? "mnv2_checkpoint_save_mem" : "mnv2_model_save_mem";
    if (!data || !size)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "%s: NULL data or size", what);
    mnv2_wr w = {0};
    int32_t rc = build(model, checkpoint, iter, blob, blob_size, names, n_names, what, &w);
    if (rc != MNV2_OK) {
        free(w.data);
        return rc;
    }
    *data = w.data;
    *size = w.size;
    return MNV2_OK;
}

int32_t mnv2_model_save(const mnv2_model *model, const char *const *class_names, uint32_t n_names, const char *path)
{
    /* The model is only read: build() writes no OPTS for a model file. */
    return save_path((mnv2_model *)model, 0, NULL, NULL, 0, class_names, n_names, path);
}

int32_t mnv2_model_save_mem(const mnv2_model *model, const char *const *class_names, uint32_t n_names, void **data,
                            size_t *size)
{
    return save_mem((mnv2_model *)model, 0, NULL, NULL, 0, class_names, n_names, data, size);
}

int32_t mnv2_checkpoint_save(mnv2_model *model, const mnv2_batch_iter *iter, const void *blob, uint64_t blob_size,
                             const char *const *class_names, uint32_t n_names, const char *path)
{
    return save_path(model, 1, iter, blob, blob_size, class_names, n_names, path);
}

int32_t mnv2_checkpoint_save_mem(mnv2_model *model, const mnv2_batch_iter *iter, const void *blob,
                                 uint64_t blob_size, const char *const *class_names, uint32_t n_names, void **data,
                                 size_t *size)
{
    return save_mem(model, 1, iter, blob, blob_size, class_names, n_names, data, size);
}

void mnv2_buffer_free(void *data) { free(data); }
