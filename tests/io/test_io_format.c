/* SPDX-License-Identifier: BSD-2-Clause */
/* Model and checkpoint files: bit-identical round trips, every corruption a clean error, the input
 * standardisation (API and NORM section), atomic saves, forward compatibility rules, evaluation and
 * bit-identical resumed training. */
#include <math.h>
#include <sys/stat.h>

#include "io_test.h"
#include "io/bytes.h"
#include "io/crc32.h"
#include "io/fileio.h"

#define H 8
#define W 8
#define C 1
#define CLASSES 3
#define MAXB 2
#define NX ((size_t)MAXB * H * W * C)

static const char *const names3[CLASSES] = {"cat", "dog", "T-shirt/top"};

static mnv2_config *tiny_config(int64_t seed, double dropout)
{
    static const int32_t rows[2][4] = {{1, 8, 1, 1}, {2, 8, 1, 2}};
    mnv2_config *cfg;
    expect_ok(mnv2_config_create(MNV2_PRESET_REDUCED, &cfg));
    expect_ok(mnv2_config_set_int(cfg, MNV2_KEY_INPUT_HEIGHT, H));
    expect_ok(mnv2_config_set_int(cfg, MNV2_KEY_INPUT_WIDTH, W));
    expect_ok(mnv2_config_set_int(cfg, MNV2_KEY_INPUT_CHANNELS, C));
    expect_ok(mnv2_config_set_blocks(cfg, &rows[0][0], 2));
    expect_ok(mnv2_config_set_int(cfg, MNV2_KEY_HEAD_CHANNELS, 16));
    expect_ok(mnv2_config_set_int(cfg, MNV2_KEY_CLASSES, CLASSES));
    expect_ok(mnv2_config_set_int(cfg, MNV2_KEY_MAX_BATCH, MAXB));
    expect_ok(mnv2_config_set_int(cfg, MNV2_KEY_SEED, seed));
    expect_ok(mnv2_config_set_float(cfg, MNV2_KEY_DROPOUT, dropout));
    return cfg;
}

static mnv2_model *tiny_model(int64_t seed, double dropout)
{
    mnv2_config *cfg = tiny_config(seed, dropout);
    mnv2_model *m;
    expect_ok(mnv2_model_create(cfg, &m));
    mnv2_config_destroy(cfg);
    return m;
}

static void fill_input(float *x, size_t n, uint32_t salt)
{
    uint64_t s = salt;
    for (size_t i = 0; i < n; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = (float)((double)(s >> 40) / (double)(1ull << 24) * 2.0 - 1.0);
    }
}

/* One training step on a synthetic batch (updates parameters, BN running stats, optimizer state). */
static void train_step(mnv2_model *m, uint32_t salt)
{
    float x[NX];
    int32_t y[MAXB] = {(int32_t)(salt % CLASSES), (int32_t)((salt + 1) % CLASSES)};
    fill_input(x, NX, salt);
    expect_ok(mnv2_forward(m, x, NX, MAXB, MNV2_MODE_TRAIN, NULL, 0));
    expect_ok(mnv2_backward(m, y, MAXB, NULL));
    expect_ok(mnv2_step(m));
}

static void infer(mnv2_model *m, float *logits)
{
    float x[NX];
    fill_input(x, NX, 77);
    expect_ok(mnv2_forward(m, x, NX, MAXB, MNV2_MODE_INFER, logits, MAXB * CLASSES));
}

/* Every tensor of a and b is bit-identical. */
static void assert_same_tensors(const mnv2_model *a, const mnv2_model *b)
{
    uint32_t na, nb;
    expect_ok(mnv2_tensor_count(a, &na));
    expect_ok(mnv2_tensor_count(b, &nb));
    assert_int_equal(na, nb);
    for (uint32_t i = 0; i < na; i++) {
        uint64_t numel;
        const char *name;
        expect_ok(mnv2_tensor_info(a, i, &name, NULL, NULL, NULL, &numel));
        float *va = malloc(numel * sizeof(float)), *vb = malloc(numel * sizeof(float));
        expect_ok(mnv2_tensor_read(a, i, MNV2_DATA_VALUE, va, numel));
        expect_ok(mnv2_tensor_read(b, i, MNV2_DATA_VALUE, vb, numel));
        if (memcmp(va, vb, numel * sizeof(float)) != 0)
            fail_msg("tensor %s differs", name);
        free(va);
        free(vb);
    }
}

static void test_model_round_trip(void **state)
{
    (void)state;
    char *dir = make_temp_dir();
    char *path = path_in(dir, "tiny.mnv2");
    mnv2_model *m = tiny_model(3, 0.0), *l = NULL;
    train_step(m, 1); /* weights and BN running statistics away from their initial values */
    float la[MAXB * CLASSES], lb[MAXB * CLASSES];
    infer(m, la);
    expect_ok(mnv2_model_save(m, names3, CLASSES, path));
    assert_int_equal(count_entries(dir), 1); /* no temporary file left */
    mnv2_file_info *info;
    expect_ok(mnv2_model_load(path, NULL, &l, &info));
    infer(l, lb);
    assert_memory_equal(la, lb, sizeof la);
    assert_same_tensors(m, l);
    const char *const *names;
    uint32_t n;
    expect_ok(mnv2_file_info_class_names(info, &names, &n));
    assert_int_equal(n, CLASSES);
    for (uint32_t i = 0; i < n; i++)
        assert_string_equal(names[i], names3[i]);
    uint64_t seed;
    expect_fail(mnv2_file_info_iter_state(info, &seed, NULL, NULL), MNV2_ERR_NOT_FOUND, NULL);
    mnv2_file_info_destroy(info);
    mnv2_model_destroy(l);
    /* Memory round trip, no names, with load-time overrides. */
    void *data;
    size_t size;
    expect_ok(mnv2_model_save_mem(m, NULL, 0, &data, &size));
    mnv2_load_options o;
    expect_ok(mnv2_load_options_default(&o));
    o.max_batch = 5;
    o.threads = 2;
    o.trainable = 0;
    expect_ok(mnv2_model_load_mem(data, size, &o, &l, &info));
    int64_t v;
    expect_ok(mnv2_model_get_int(l, MNV2_KEY_MAX_BATCH, &v));
    assert_int_equal(v, 5);
    expect_ok(mnv2_model_get_int(l, MNV2_KEY_THREADS, &v));
    assert_int_equal(v, 2);
    expect_ok(mnv2_model_get_int(l, MNV2_KEY_TRAINABLE, &v));
    assert_int_equal(v, 0);
    infer(l, lb);
    assert_memory_equal(la, lb, sizeof la);
    expect_ok(mnv2_file_info_class_names(info, &names, &n));
    assert_int_equal(n, 0);
    mnv2_file_info_destroy(info);
    mnv2_model_destroy(l);
    /* Same bytes from a file and from memory. */
    size_t fsize;
    expect_ok(mnv2_model_save(m, NULL, 0, path));
    uint8_t *fdata = read_all(path, &fsize);
    assert_int_equal(fsize, size);
    assert_memory_equal(fdata, data, size);
    /* The documented header and END section (docs/file-format.md). */
    static const uint8_t head[16] = {'M', 'N', 'V', '2', 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    static const uint8_t end[16] = {'E', 'N', 'D', ' ', 0, 0, 0, 0, 0, 0, 0, 0, 0x1F, 0x11, 0x8B, 0x42};
    assert_memory_equal(fdata, head, 16);
    assert_memory_equal(fdata + fsize - 16, end, 16);
    assert_memory_equal(fdata + 16, "CONF", 4);
    free(fdata);
    mnv2_buffer_free(data);
    /* Bad arguments. */
    expect_fail(mnv2_model_save(m, names3, 2, path), MNV2_ERR_SIZE_MISMATCH, "2 class names");
    o.struct_size = 4;
    expect_fail(mnv2_model_load(path, &o, &l, NULL), MNV2_ERR_INVALID_ARGUMENT, "struct_size");
    char *missing = path_in(dir, "missing.mnv2");
    expect_fail(mnv2_model_load(missing, NULL, &l, NULL), MNV2_ERR_IO, "missing.mnv2");
    free(missing);
    mnv2_model_destroy(m);
    free(path);
    rm_tree(dir);
}

static void test_checkpoint_round_trip(void **state)
{
    (void)state;
    mnv2_model *m = tiny_model(4, 0.25), *l;
    train_step(m, 1);
    train_step(m, 2);
    /* An iterator whose state is stored. */
    uint8_t px[4 * H * W] = {0};
    int32_t lab[4] = {0, 1, 2, 0};
    mnv2_dataset *ds;
    expect_ok(mnv2_dataset_create(4, H, W, 1, CLASSES, px, lab, &ds));
    mnv2_batch_options bo;
    expect_ok(mnv2_batch_options_default(&bo));
    bo.norm = MNV2_NORM_NONE;
    mnv2_batch_iter *it;
    expect_ok(mnv2_batch_iter_create(ds, &bo, &it));
    expect_ok(mnv2_batch_iter_set_state(it, 0xFEEDFACECAFEBEEFull, 3, 2));
    const char blob[] = "epoch 3: loss 0.5";
    void *data;
    size_t size;
    expect_ok(mnv2_checkpoint_save_mem(m, it, blob, sizeof blob, names3, CLASSES, &data, &size));
    assert_int_equal(((const uint8_t *)data)[8], 1); /* checkpoint flag */
    mnv2_file_info *info;
    expect_ok(mnv2_checkpoint_load_mem(data, size, NULL, &l, &info));
    assert_same_tensors(m, l);
    uint64_t na, nb;
    float *oa = mnv2_optimizer_state(m, &na), *ob = mnv2_optimizer_state(l, &nb);
    assert_int_equal(na, nb);
    assert_memory_equal(oa, ob, na * sizeof(float));
    int64_t va, vb;
    expect_ok(mnv2_model_get_int(m, MNV2_KEY_STEP, &va));
    expect_ok(mnv2_model_get_int(l, MNV2_KEY_STEP, &vb));
    assert_int_equal(va, 2);
    assert_int_equal(vb, 2);
    expect_ok(mnv2_model_get_int(m, MNV2_KEY_RNG_STATE, &va));
    expect_ok(mnv2_model_get_int(l, MNV2_KEY_RNG_STATE, &vb));
    assert_int_equal(va, vb);
    uint64_t seed, epoch, pos;
    expect_ok(mnv2_file_info_iter_state(info, &seed, &epoch, &pos));
    assert_true(seed == 0xFEEDFACECAFEBEEFull && epoch == 3 && pos == 2);
    const void *b;
    uint64_t bs;
    expect_ok(mnv2_file_info_blob(info, &b, &bs));
    assert_int_equal(bs, sizeof blob);
    assert_memory_equal(b, blob, sizeof blob);
    mnv2_file_info_destroy(info);
    mnv2_model_destroy(l);
    /* The model part of a checkpoint loads as a model. */
    expect_ok(mnv2_model_load_mem(data, size, NULL, &l, &info));
    assert_same_tensors(m, l);
    expect_ok(mnv2_file_info_iter_state(info, &seed, NULL, NULL));
    mnv2_file_info_destroy(info);
    mnv2_model_destroy(l);
    /* A checkpoint needs a trainable model. */
    mnv2_load_options o;
    expect_ok(mnv2_load_options_default(&o));
    o.trainable = 0;
    l = NULL;
    expect_fail(mnv2_checkpoint_load_mem(data, size, &o, &l, NULL), MNV2_ERR_INVALID_ARGUMENT, "trainable");
    mnv2_buffer_free(data);
    /* A model file is not a checkpoint. */
    expect_ok(mnv2_model_save_mem(m, NULL, 0, &data, &size));
    expect_fail(mnv2_checkpoint_load_mem(data, size, NULL, &l, NULL), MNV2_ERR_FORMAT, "not a checkpoint");
    assert_null(l);
    mnv2_buffer_free(data);
    mnv2_model_destroy(m);
    /* An inference-only model has no optimizer state to checkpoint. */
    mnv2_config *cfg = tiny_config(1, 0.0);
    expect_ok(mnv2_config_set_int(cfg, MNV2_KEY_TRAINABLE, 0));
    expect_ok(mnv2_model_create(cfg, &m));
    mnv2_config_destroy(cfg);
    expect_fail(mnv2_checkpoint_save_mem(m, NULL, NULL, 0, NULL, 0, &data, &size), MNV2_ERR_BAD_STATE,
                "inference-only");
    mnv2_model_destroy(m);
    mnv2_batch_iter_destroy(it);
    mnv2_dataset_destroy(ds);
}

/* Load an exact-size heap copy (so that ASan sees any over-read); the result must be an error
 * with a message. Returns the status. */
static int32_t load_copy(const uint8_t *data, size_t size, int checkpoint)
{
    uint8_t *copy = malloc(size ? size : 1);
    assert_non_null(copy);
    memcpy(copy, data, size);
    mnv2_model *m = NULL;
    mnv2_file_info *info = NULL;
    int32_t rc = checkpoint ? mnv2_checkpoint_load_mem(copy, size, NULL, &m, &info)
                            : mnv2_model_load_mem(copy, size, NULL, &m, &info);
    free(copy);
    if (rc == MNV2_OK) {
        mnv2_model_destroy(m);
        mnv2_file_info_destroy(info);
    } else {
        assert_null(m);
        assert_null(info);
        assert_true(mnv2_last_error()[0] != '\0');
    }
    return rc;
}

static void corrupt_all(const uint8_t *data, size_t size, int checkpoint)
{
    static const uint8_t masks[3] = {0x01, 0x80, 0xFF};
    uint8_t *buf = malloc(size);
    memcpy(buf, data, size);
    unsigned counts[16] = {0};
    for (size_t i = 0; i < size; i++) {
        for (int k = 0; k < 3; k++) {
            buf[i] ^= masks[k];
            int32_t rc = load_copy(buf, size, checkpoint);
            buf[i] ^= masks[k];
            if (rc == MNV2_OK)
                fail_msg("byte %zu ^ 0x%02x of a %zu-byte %s loaded without error", i, masks[k], size,
                         checkpoint ? "checkpoint" : "model file");
            counts[-rc & 15]++;
        }
    }
    assert_int_equal(load_copy(buf, size, checkpoint), MNV2_OK);
    for (size_t n = 0; n < size; n++)
        if (load_copy(buf, n, checkpoint) == MNV2_OK)
            fail_msg("the first %zu of %zu bytes loaded without error", n, size);
    print_message("%zu bytes x 3 flips: %u format, %u checksum, %u version errors\n", size,
                  counts[-MNV2_ERR_FORMAT], counts[-MNV2_ERR_CHECKSUM], counts[-MNV2_ERR_VERSION]);
    free(buf);
}

static size_t find_section(const uint8_t *d, size_t size, const char *tag);

static void test_corruption(void **state)
{
    (void)state;
    mnv2_model *m = tiny_model(5, 0.0);
    train_step(m, 3);
    const float mean = 0.2860f, std = 0.3530f; /* the files carry a NORM section too */
    expect_ok(mnv2_model_set_normalization(m, &mean, &std, 1));
    void *data;
    size_t size;
    expect_ok(mnv2_model_save_mem(m, names3, CLASSES, &data, &size));
    assert_true(find_section(data, size, "NORM") > 0);
    corrupt_all(data, size, 0);
    mnv2_buffer_free(data);
    const char blob[4] = "abc";
    expect_ok(mnv2_checkpoint_save_mem(m, NULL, blob, 4, names3, CLASSES, &data, &size));
    corrupt_all(data, size, 1);
    mnv2_buffer_free(data);
    mnv2_model_destroy(m);
}

/* Offset of the section with `tag`, or 0. */
static size_t find_section(const uint8_t *d, size_t size, const char *tag)
{
    for (size_t pos = 16; pos + 16 <= size;) {
        if (!memcmp(d + pos, tag, 4))
            return pos;
        pos += 16 + (size_t)mnv2__le64(d + pos + 4);
    }
    return 0;
}

/* A copy of the file with the section at `at` replaced by `tag` + payload (at == size inserts
 * before END; len 0 with payload NULL and replace = 0 duplicates nothing). */
static uint8_t *splice(const uint8_t *d, size_t size, size_t at, size_t old_total, const char *tag,
                       const uint8_t *payload, size_t len, size_t *out_size)
{
    size_t n = size - old_total + 16 + len;
    uint8_t *o = malloc(n);
    memcpy(o, d, at);
    memcpy(o + at, tag, 4);
    mnv2__put_le64(o + at + 4, len);
    memcpy(o + at + 12, payload, len);
    mnv2__put_le32(o + at + 12 + len, mnv2__crc32(0, o + at, 12 + len));
    memcpy(o + at + 16 + len, d + at + old_total, size - at - old_total);
    *out_size = n;
    return o;
}

static uint8_t *insert_before_end(const uint8_t *d, size_t size, const char *tag, const uint8_t *p, size_t len,
                                  size_t *out)
{
    return splice(d, size, size - 16, 0, tag, p, len, out);
}

/* CONF with one extra entry (key, type, value). */
static uint8_t *conf_with_entry(const uint8_t *d, size_t size, uint32_t key, uint32_t type, uint64_t value,
                                size_t *out)
{
    size_t at = find_section(d, size, "CONF");
    assert_true(at > 0);
    size_t len = (size_t)mnv2__le64(d + at + 4);
    const uint8_t *p = d + at + 12;
    uint32_t n = mnv2__le32(p);
    uint8_t *np = malloc(len + 16);
    mnv2__put_le32(np, n + 1);
    memcpy(np + 4, p + 4, 16 * (size_t)n);
    mnv2__put_le32(np + 4 + 16 * n, key);
    mnv2__put_le32(np + 8 + 16 * n, type);
    mnv2__put_le64(np + 12 + 16 * n, value);
    memcpy(np + 20 + 16 * n, p + 4 + 16 * n, len - 4 - 16 * n);
    uint8_t *o = splice(d, size, at, 16 + len, "CONF", np, len + 16, out);
    free(np);
    return o;
}

/* CONF with the value of `key` replaced. */
static uint8_t *conf_with_value(const uint8_t *d, size_t size, uint32_t key, uint64_t value, size_t *out)
{
    size_t at = find_section(d, size, "CONF");
    size_t len = (size_t)mnv2__le64(d + at + 4);
    uint8_t *np = malloc(len);
    memcpy(np, d + at + 12, len);
    uint32_t n = mnv2__le32(np);
    int found = 0;
    for (uint32_t i = 0; i < n; i++)
        if (mnv2__le32(np + 4 + 16 * i) == key) {
            mnv2__put_le64(np + 12 + 16 * i, value);
            found = 1;
        }
    assert_true(found);
    uint8_t *o = splice(d, size, at, 16 + len, "CONF", np, len, out);
    free(np);
    return o;
}

static void test_format_rules(void **state)
{
    (void)state;
    mnv2_model *m = tiny_model(6, 0.0), *l = NULL;
    void *vd;
    size_t size, n;
    expect_ok(mnv2_model_save_mem(m, names3, CLASSES, &vd, &size));
    uint8_t *d = vd, *t;
    /* Header: a newer version, unknown flags, bad magic, reserved field (not covered by a CRC,
     * so each is checked on its own). */
    t = malloc(size);
    memcpy(t, d, size);
    mnv2__put_le32(t + 4, 2);
    expect_fail(mnv2_model_load_mem(t, size, NULL, &l, NULL), MNV2_ERR_VERSION, "format version 2");
    mnv2__put_le32(t + 4, 1);
    mnv2__put_le32(t + 8, 0x10);
    expect_fail(mnv2_model_load_mem(t, size, NULL, &l, NULL), MNV2_ERR_FORMAT, "flags");
    mnv2__put_le32(t + 8, 0);
    t[0] = 'X';
    expect_fail(mnv2_model_load_mem(t, size, NULL, &l, NULL), MNV2_ERR_FORMAT, "magic");
    free(t);
    /* Unknown sections: ancillary (lowercase) ones are skipped, required ones rejected. */
    const uint8_t note[5] = "hello";
    t = insert_before_end(d, size, "note", note, 5, &n);
    expect_ok(mnv2_model_load_mem(t, n, NULL, &l, NULL));
    mnv2_model_destroy(l);
    l = NULL;
    free(t);
    t = insert_before_end(d, size, "NOTE", note, 5, &n);
    expect_fail(mnv2_model_load_mem(t, n, NULL, &l, NULL), MNV2_ERR_FORMAT, "unknown required section 'NOTE'");
    free(t);
    /* A second CLAS section. */
    size_t at = find_section(d, size, "CLAS");
    t = insert_before_end(d, size, "CLAS", d + at + 12, (size_t)mnv2__le64(d + at + 4), &n);
    expect_fail(mnv2_model_load_mem(t, n, NULL, &l, NULL), MNV2_ERR_FORMAT, "twice");
    free(t);
    /* Unknown configuration keys: optional ones are skipped, required ones need a newer library. */
    t = conf_with_entry(d, size, 999, 0x101, 7, &n);
    expect_ok(mnv2_model_load_mem(t, n, NULL, &l, NULL));
    mnv2_model_destroy(l);
    l = NULL;
    free(t);
    t = conf_with_entry(d, size, 999, 0x001, 7, &n);
    expect_fail(mnv2_model_load_mem(t, n, NULL, &l, NULL), MNV2_ERR_VERSION, "key 999");
    free(t);
    t = conf_with_entry(d, size, 998, 0x003, 7, &n);
    expect_fail(mnv2_model_load_mem(t, n, NULL, &l, NULL), MNV2_ERR_FORMAT, "unknown type");
    free(t);
    t = conf_with_entry(d, size, MNV2_KEY_CLASSES, 0x001, 3, &n);
    expect_fail(mnv2_model_load_mem(t, n, NULL, &l, NULL), MNV2_ERR_FORMAT, "twice");
    free(t);
    /* The configuration decides the sizes; tensors that do not match it are rejected. */
    t = conf_with_value(d, size, MNV2_KEY_CLASSES, 4, &n);
    expect_fail(mnv2_model_load_mem(t, n, NULL, &l, NULL), MNV2_ERR_FORMAT, "TENS");
    free(t);
    t = conf_with_value(d, size, MNV2_KEY_HEAD_CHANNELS, 24, &n);
    expect_fail(mnv2_model_load_mem(t, n, NULL, &l, NULL), MNV2_ERR_FORMAT, "TENS");
    free(t);
    /* A value the configuration rejects. */
    t = conf_with_value(d, size, MNV2_KEY_INPUT_HEIGHT, 100000, &n);
    expect_fail(mnv2_model_load_mem(t, n, NULL, &l, NULL), MNV2_ERR_FORMAT, "CONF");
    free(t);
    /* Bytes after END. */
    t = malloc(size + 1);
    memcpy(t, d, size);
    t[size] = 0;
    expect_fail(mnv2_model_load_mem(t, size + 1, NULL, &l, NULL), MNV2_ERR_FORMAT, "after the END");
    free(t);
    assert_null(l);
    mnv2_buffer_free(d);
    mnv2_model_destroy(m);
}

/* ---- input standardisation (mnv2_model_set_normalization(), section NORM) ---- */

#define NC 3 /* input channels of the standardisation tests' model */

static mnv2_model *tiny_model_rgb(int64_t seed)
{
    mnv2_config *cfg = tiny_config(seed, 0.0);
    expect_ok(mnv2_config_set_int(cfg, MNV2_KEY_INPUT_CHANNELS, NC));
    mnv2_model *m;
    expect_ok(mnv2_model_create(cfg, &m));
    mnv2_config_destroy(cfg);
    return m;
}

/* The model's standardisation is exactly n values mean / std (bit for bit). */
static void assert_norm(const mnv2_model *m, const float *mean, const float *std, uint32_t n)
{
    float gm[64], gs[64];
    uint32_t gn = 99;
    expect_ok(mnv2_model_get_normalization(m, NULL, NULL, 0, &gn));
    assert_int_equal(gn, n);
    gn = 99;
    expect_ok(mnv2_model_get_normalization(m, gm, gs, 64, &gn));
    assert_int_equal(gn, n);
    if (n) {
        assert_memory_equal(gm, mean, n * sizeof(float));
        assert_memory_equal(gs, std, n * sizeof(float));
    }
}

static void test_normalization_api(void **state)
{
    (void)state;
    static const float mean3[NC] = {0.4914f, 0.4822f, 0.4465f}, std3[NC] = {0.2470f, 0.2435f, 0.2616f};
    mnv2_model *m = tiny_model_rgb(11);
    assert_norm(m, NULL, NULL, 0); /* a new model has none */
    /* Per channel, then global. */
    expect_ok(mnv2_model_set_normalization(m, mean3, std3, NC));
    assert_norm(m, mean3, std3, NC);
    const float g_mean = 0.5f, g_std = 0.25f;
    expect_ok(mnv2_model_set_normalization(m, &g_mean, &g_std, 1));
    assert_norm(m, &g_mean, &g_std, 1);
    expect_ok(mnv2_model_set_normalization(m, mean3, std3, NC));
    /* Reading: counts only, one array only, too little room (nothing written). */
    float gm[NC] = {-1, -1, -1}, gs[NC] = {-1, -1, -1};
    uint32_t n = 99;
    expect_ok(mnv2_model_get_normalization(m, NULL, gs, NC, &n));
    assert_int_equal(n, NC);
    assert_memory_equal(gs, std3, sizeof gs);
    n = 99;
    expect_fail(mnv2_model_get_normalization(m, gm, NULL, NC - 1, &n), MNV2_ERR_SIZE_MISMATCH, "room for 2");
    expect_fail(mnv2_model_get_normalization(m, gm, gs, 0, &n), MNV2_ERR_SIZE_MISMATCH, "model has 3");
    assert_int_equal(n, 99);
    assert_true(gm[0] == -1.0f);
    expect_fail(mnv2_model_get_normalization(m, gm, gs, NC, NULL), MNV2_ERR_INVALID_ARGUMENT, "NULL n");
    expect_fail(mnv2_model_get_normalization(NULL, gm, gs, NC, &n), MNV2_ERR_INVALID_ARGUMENT, "NULL model");
    /* Misuse: the stored values stay as they were. */
    const float nan = NAN, inf = INFINITY, zero = 0.0f, neg = -1.0f, one = 1.0f;
    float bad[NC];
    expect_fail(mnv2_model_set_normalization(NULL, mean3, std3, NC), MNV2_ERR_INVALID_ARGUMENT, "model is NULL");
    expect_fail(mnv2_model_set_normalization(m, mean3, std3, 2), MNV2_ERR_SIZE_MISMATCH, "2 values");
    expect_fail(mnv2_model_set_normalization(m, mean3, std3, 4), MNV2_ERR_SIZE_MISMATCH, "3 input channels");
    expect_fail(mnv2_model_set_normalization(m, mean3, std3, 65), MNV2_ERR_SIZE_MISMATCH, NULL);
    expect_fail(mnv2_model_set_normalization(m, mean3, std3, UINT32_MAX), MNV2_ERR_SIZE_MISMATCH, NULL);
    expect_fail(mnv2_model_set_normalization(m, NULL, std3, NC), MNV2_ERR_INVALID_ARGUMENT, "NULL mean");
    expect_fail(mnv2_model_set_normalization(m, mean3, NULL, 1), MNV2_ERR_INVALID_ARGUMENT, "NULL std");
    expect_fail(mnv2_model_set_normalization(m, &nan, &one, 1), MNV2_ERR_INVALID_ARGUMENT, "mean 0");
    expect_fail(mnv2_model_set_normalization(m, &inf, &one, 1), MNV2_ERR_INVALID_ARGUMENT, "mean 0");
    expect_fail(mnv2_model_set_normalization(m, &one, &zero, 1), MNV2_ERR_INVALID_ARGUMENT, "std 0");
    expect_fail(mnv2_model_set_normalization(m, &one, &neg, 1), MNV2_ERR_INVALID_ARGUMENT, "std 0");
    expect_fail(mnv2_model_set_normalization(m, &one, &nan, 1), MNV2_ERR_INVALID_ARGUMENT, "std 0");
    expect_fail(mnv2_model_set_normalization(m, &one, &inf, 1), MNV2_ERR_INVALID_ARGUMENT, "std 0");
    memcpy(bad, std3, sizeof bad);
    bad[2] = 0.0f;
    expect_fail(mnv2_model_set_normalization(m, mean3, bad, NC), MNV2_ERR_INVALID_ARGUMENT, "std 2");
    memcpy(bad, mean3, sizeof bad);
    bad[1] = -inf;
    expect_fail(mnv2_model_set_normalization(m, bad, std3, NC), MNV2_ERR_INVALID_ARGUMENT, "mean 1");
    assert_norm(m, mean3, std3, NC);
    /* n = 0 clears; the arrays may then be NULL. */
    expect_ok(mnv2_model_set_normalization(m, NULL, NULL, 0));
    assert_norm(m, NULL, NULL, 0);
    mnv2_model_destroy(m);
    /* Metadata only: the forward pass does not change. */
    m = tiny_model(12, 0.0);
    float la[MAXB * CLASSES], lb[MAXB * CLASSES];
    infer(m, la);
    const float mean = 100.0f, std = 1e-3f;
    expect_ok(mnv2_model_set_normalization(m, &mean, &std, 1));
    infer(m, lb);
    assert_memory_equal(la, lb, sizeof la);
    mnv2_model_destroy(m);
}

/* Load `data` as a model (and as a checkpoint when `checkpoint`) and check its standardisation. */
static void check_loaded_norm(const void *data, size_t size, int checkpoint, const float *mean, const float *std,
                              uint32_t n)
{
    mnv2_model *l;
    expect_ok(mnv2_model_load_mem(data, size, NULL, &l, NULL));
    assert_norm(l, mean, std, n);
    mnv2_model_destroy(l);
    if (checkpoint) {
        expect_ok(mnv2_checkpoint_load_mem(data, size, NULL, &l, NULL));
        assert_norm(l, mean, std, n);
        mnv2_model_destroy(l);
    }
}

static void test_normalization_round_trip(void **state)
{
    (void)state;
    static const float mean3[NC] = {0.1f, -0.2f, 3.5f}, std3[NC] = {0.5f, 1e-3f, 7.25f};
    char *dir = make_temp_dir();
    char *path = path_in(dir, "norm.mnv2"), *ckpt = path_in(dir, "norm.ckpt");
    mnv2_model *m = tiny_model_rgb(13);
    void *data;
    size_t size;
    /* Without: no NORM section, loads with none. */
    expect_ok(mnv2_model_save_mem(m, NULL, 0, &data, &size));
    assert_int_equal(find_section(data, size, "NORM"), 0);
    check_loaded_norm(data, size, 0, NULL, NULL, 0);
    mnv2_buffer_free(data);
    expect_ok(mnv2_checkpoint_save_mem(m, NULL, NULL, 0, NULL, 0, &data, &size));
    assert_int_equal(find_section(data, size, "NORM"), 0);
    check_loaded_norm(data, size, 1, NULL, NULL, 0);
    mnv2_buffer_free(data);
    /* Per channel: model and checkpoint, memory and file. */
    expect_ok(mnv2_model_set_normalization(m, mean3, std3, NC));
    expect_ok(mnv2_model_save_mem(m, names3, CLASSES, &data, &size));
    /* The documented layout: after CLAS, u32 n, n f32 means, n f32 stds (little-endian). */
    const uint8_t *d = data;
    size_t at = find_section(d, size, "NORM");
    assert_true(at > find_section(d, size, "CLAS") && at < size - 16);
    assert_int_equal(mnv2__le64(d + at + 4), 4 + 8 * NC);
    assert_int_equal(mnv2__le32(d + at + 12), NC);
    float back[2 * NC];
    mnv2__get_f32s(back, d + at + 16, 2 * NC);
    assert_memory_equal(back, mean3, sizeof mean3);
    assert_memory_equal(back + NC, std3, sizeof std3);
    check_loaded_norm(data, size, 0, mean3, std3, NC);
    expect_ok(mnv2_model_save(m, names3, CLASSES, path));
    size_t fsize;
    uint8_t *fdata = read_all(path, &fsize);
    assert_int_equal(fsize, size);
    assert_memory_equal(fdata, data, size);
    free(fdata);
    mnv2_buffer_free(data);
    mnv2_model *l;
    expect_ok(mnv2_model_load(path, NULL, &l, NULL));
    assert_norm(l, mean3, std3, NC);
    /* A loaded model saves the same values again. */
    expect_ok(mnv2_model_save_mem(l, names3, CLASSES, &data, &size));
    check_loaded_norm(data, size, 0, mean3, std3, NC);
    mnv2_buffer_free(data);
    mnv2_model_destroy(l);
    expect_ok(mnv2_checkpoint_save_mem(m, NULL, "x", 1, NULL, 0, &data, &size));
    at = find_section(data, size, "NORM");
    assert_true(at > 0 && at < find_section(data, size, "OPTS"));
    check_loaded_norm(data, size, 1, mean3, std3, NC);
    mnv2_buffer_free(data);
    expect_ok(mnv2_checkpoint_save(m, NULL, NULL, 0, names3, CLASSES, ckpt));
    expect_ok(mnv2_checkpoint_load(ckpt, NULL, &l, NULL));
    assert_norm(l, mean3, std3, NC);
    mnv2_model_destroy(l);
    expect_ok(mnv2_model_load(ckpt, NULL, &l, NULL));
    assert_norm(l, mean3, std3, NC);
    mnv2_model_destroy(l);
    /* Global. */
    const float g_mean = 0.2860f, g_std = 0.3530f;
    expect_ok(mnv2_model_set_normalization(m, &g_mean, &g_std, 1));
    expect_ok(mnv2_model_save_mem(m, NULL, 0, &data, &size));
    check_loaded_norm(data, size, 0, &g_mean, &g_std, 1);
    mnv2_buffer_free(data);
    expect_ok(mnv2_checkpoint_save_mem(m, NULL, NULL, 0, NULL, 0, &data, &size));
    check_loaded_norm(data, size, 1, &g_mean, &g_std, 1);
    mnv2_buffer_free(data);
    mnv2_model_destroy(m);
    free(path);
    free(ckpt);
    rm_tree(dir);
}

/* A NORM payload: the count `n`, then `n_pairs` means and stds (n_pairs may differ from n). */
static uint8_t *norm_payload(uint32_t n, uint32_t n_pairs, float mean, float std, size_t *len)
{
    *len = 4 + 8 * (size_t)n_pairs;
    uint8_t *p = malloc(*len);
    mnv2__put_le32(p, n);
    for (uint32_t i = 0; i < n_pairs; i++) {
        uint32_t a, b;
        float m_i = mean + (float)i, s_i = std;
        memcpy(&a, &m_i, 4);
        memcpy(&b, &s_i, 4);
        mnv2__put_le32(p + 4 + 4 * i, a);
        mnv2__put_le32(p + 4 + 4 * (n_pairs + i), b);
    }
    return p;
}

/* `d` with a NORM section of the given payload before END: loading it (as a model and, for a
 * checkpoint, as a checkpoint) fails with MNV2_ERR_FORMAT and a message containing `needle`. */
static void expect_bad_norm(const uint8_t *d, size_t size, int checkpoint, const uint8_t *p, size_t len,
                            const char *needle)
{
    size_t n;
    uint8_t *t = insert_before_end(d, size, "NORM", p, len, &n);
    mnv2_model *l = NULL;
    mnv2_file_info *info = NULL;
    expect_fail(mnv2_model_load_mem(t, n, NULL, &l, &info), MNV2_ERR_FORMAT, needle);
    if (checkpoint)
        expect_fail(mnv2_checkpoint_load_mem(t, n, NULL, &l, &info), MNV2_ERR_FORMAT, needle);
    assert_null(l);
    assert_null(info);
    free(t);
}

static void test_normalization_format(void **state)
{
    (void)state;
    mnv2_model *m = tiny_model_rgb(14);
    for (int checkpoint = 0; checkpoint < 2; checkpoint++) {
        void *vd;
        size_t size, len, n;
        if (checkpoint)
            expect_ok(mnv2_checkpoint_save_mem(m, NULL, NULL, 0, names3, CLASSES, &vd, &size));
        else
            expect_ok(mnv2_model_save_mem(m, names3, CLASSES, &vd, &size));
        const uint8_t *d = vd;
        assert_int_equal(find_section(d, size, "NORM"), 0);
        /* Well-formed sections load: per channel and global. */
        uint8_t *p = norm_payload(NC, NC, 0.5f, 0.25f, &len);
        uint8_t *t = insert_before_end(d, size, "NORM", p, len, &n);
        mnv2_model *l;
        expect_ok(mnv2_model_load_mem(t, n, NULL, &l, NULL));
        const float want_m[NC] = {0.5f, 1.5f, 2.5f}, want_s[NC] = {0.25f, 0.25f, 0.25f};
        assert_norm(l, want_m, want_s, NC);
        mnv2_model_destroy(l);
        /* ... but only once. */
        size_t n2;
        uint8_t *t2 = insert_before_end(t, n, "NORM", p, len, &n2);
        l = NULL;
        expect_fail(mnv2_model_load_mem(t2, n2, NULL, &l, NULL), MNV2_ERR_FORMAT, "'NORM' appears twice");
        free(t2);
        free(t);
        free(p);
        p = norm_payload(1, 1, -3.0f, 2.0f, &len);
        t = insert_before_end(d, size, "NORM", p, len, &n);
        expect_ok(mnv2_model_load_mem(t, n, NULL, &l, NULL));
        const float g_m = -3.0f, g_s = 2.0f;
        assert_norm(l, &g_m, &g_s, 1);
        mnv2_model_destroy(l);
        free(t);
        free(p);
        /* A count that is neither 1 nor the input channels (the length matching it). */
        static const uint32_t bad_n[] = {0, 2, 4, 64, 65};
        for (size_t i = 0; i < sizeof bad_n / sizeof bad_n[0]; i++) {
            p = norm_payload(bad_n[i], bad_n[i], 0.5f, 0.25f, &len);
            expect_bad_norm(d, size, checkpoint, p, len, "NORM");
            free(p);
        }
        p = norm_payload(UINT32_MAX, 1, 0.5f, 0.25f, &len);
        expect_bad_norm(d, size, checkpoint, p, len, "NORM: 4294967295 values");
        free(p);
        /* Values: NaN or infinite means, std 0, negative, NaN or infinite. */
        const float bad_mean[] = {NAN, INFINITY, -INFINITY};
        for (size_t i = 0; i < sizeof bad_mean / sizeof bad_mean[0]; i++) {
            p = norm_payload(NC, NC, bad_mean[i], 0.25f, &len);
            expect_bad_norm(d, size, checkpoint, p, len, "NORM: mean 0 is not finite");
            free(p);
        }
        const float bad_std[] = {0.0f, -0.0f, -1.0f, NAN, INFINITY};
        for (size_t i = 0; i < sizeof bad_std / sizeof bad_std[0]; i++) {
            p = norm_payload(NC, NC, 0.5f, bad_std[i], &len);
            expect_bad_norm(d, size, checkpoint, p, len, "NORM: std 0");
            free(p);
            p = norm_payload(1, 1, 0.5f, bad_std[i], &len);
            expect_bad_norm(d, size, checkpoint, p, len, "NORM: std 0");
            free(p);
        }
        /* A bad value after good ones. */
        p = norm_payload(NC, NC, 0.5f, 0.25f, &len);
        mnv2__put_le32(p + 4 + 4 * NC + 8, 0); /* std[2] = +0 */
        expect_bad_norm(d, size, checkpoint, p, len, "NORM: std 2");
        free(p);
        /* Wrong lengths: values missing or extra, a count alone, a truncated count, nothing. */
        p = norm_payload(NC, NC, 0.5f, 0.25f, &len);
        expect_bad_norm(d, size, checkpoint, p, len - 4, "NORM: 20 bytes for 3 values, 24 expected");
        expect_bad_norm(d, size, checkpoint, p, 4, "NORM: 0 bytes for 3 values");
        expect_bad_norm(d, size, checkpoint, p, 3, "NORM: truncated count");
        expect_bad_norm(d, size, checkpoint, p, 0, "NORM: truncated count");
        free(p);
        p = norm_payload(NC, NC + 1, 0.5f, 0.25f, &len); /* 4 values of each for a count of 3 */
        expect_bad_norm(d, size, checkpoint, p, len, "NORM: 32 bytes for 3 values, 24 expected");
        free(p);
        p = norm_payload(1, NC, 0.5f, 0.25f, &len);
        expect_bad_norm(d, size, checkpoint, p, len, "NORM: 24 bytes for 1 values, 8 expected");
        free(p);
        mnv2_buffer_free(vd);
    }
    mnv2_model_destroy(m);
}

static void test_atomic_save(void **state)
{
    (void)state;
    char *dir = make_temp_dir();
    char *path = path_in(dir, "model.mnv2");
    mnv2_model *a = tiny_model(7, 0.0), *b = tiny_model(8, 0.0);
    char bad[4200];
    snprintf(bad, sizeof bad, "%s/no/such/dir/model.mnv2", dir);
    expect_fail(mnv2_model_save(a, NULL, 0, bad), MNV2_ERR_IO, "no/such/dir/model.mnv2");
    expect_ok(mnv2_model_save(a, NULL, 0, path));
    chmod(path, 0640);
    size_t sa, sb, s;
    uint8_t *da = read_all(path, &sa);
    void *vb;
    expect_ok(mnv2_model_save_mem(b, NULL, 0, &vb, &sb));
    assert_memory_not_equal(da, vb, sa < sb ? sa : sb);
    /* A failure at any point leaves the old file and no temporary file. */
    for (int f = MNV2__FAIL_AFTER_CREATE; f <= MNV2__FAIL_BEFORE_RENAME; f++) {
        expect_fail(mnv2__write_file_atomic(path, vb, sb, f), MNV2_ERR_IO, "unchanged");
        uint8_t *now = read_all(path, &s);
        assert_int_equal(s, sa);
        assert_memory_equal(now, da, sa);
        free(now);
        assert_int_equal(count_entries(dir), 1);
    }
    /* A name too long for the file system. */
    char longp[4200];
    int k = snprintf(longp, sizeof longp, "%s/", dir);
    memset(longp + k, 'a', 300);
    longp[k + 300] = '\0';
    expect_fail(mnv2_model_save(b, NULL, 0, longp), MNV2_ERR_IO, "aaaa");
    assert_int_equal(count_entries(dir), 1);
    /* A successful save replaces the file and keeps its mode. */
    expect_ok(mnv2_model_save(b, NULL, 0, path));
    uint8_t *now = read_all(path, &s);
    assert_int_equal(s, sb);
    assert_memory_equal(now, vb, sb);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640);
    assert_int_equal(count_entries(dir), 1);
    free(now);
    free(da);
    mnv2_buffer_free(vb);
    mnv2_model_destroy(a);
    mnv2_model_destroy(b);
    free(path);
    rm_tree(dir);
}

static void test_evaluate(void **state)
{
    (void)state;
    mnv2_model *m = tiny_model(9, 0.0);
    train_step(m, 4);
    enum { N = 5 };
    uint8_t px[N * H * W];
    int32_t lab[N] = {0, 1, 2, 1, 0};
    for (size_t i = 0; i < sizeof px; i++)
        px[i] = (uint8_t)(i * 13 + i / 7);
    mnv2_dataset *ds;
    expect_ok(mnv2_dataset_create(N, H, W, 1, CLASSES, px, lab, &ds));
    mnv2_batch_options o;
    expect_ok(mnv2_batch_options_default(&o));
    float mean = 0.4f, std = 0.3f;
    o.norm = MNV2_NORM_GLOBAL;
    o.mean = &mean;
    o.std = &std;
    double loss, top1, top5;
    expect_ok(mnv2_evaluate(m, ds, &o, &loss, &top1, &top5)); /* batch 32 lowered to 2: 2 + 2 + 1 */
    /* Reference: one image at a time. */
    double want_loss = 0;
    int hits = 0;
    for (uint32_t i = 0; i < N; i++) {
        float x[H * W], lg[CLASSES];
        expect_ok(mnv2_fit_image(px + i * H * W, H, W, 1, H, W, C, &mean, &std, 1, x, H * W));
        expect_ok(mnv2_forward(m, x, H * W, 1, MNV2_MODE_INFER, lg, CLASSES));
        float mx = lg[0];
        int arg = 0;
        for (int c = 1; c < CLASSES; c++)
            if (lg[c] > mx) {
                mx = lg[c];
                arg = c;
            }
        double se = 0;
        for (int c = 0; c < CLASSES; c++)
            se += exp((double)lg[c] - mx);
        want_loss += mx + log(se) - lg[lab[i]];
        hits += arg == lab[i];
    }
    assert_float_equal(loss, want_loss / N, 1e-5);
    assert_float_equal(top1, (double)hits / N, 1e-12);
    assert_float_equal(top5, 1.0, 0); /* 3 classes */
    double loss2;
    expect_ok(mnv2_evaluate(m, ds, NULL, &loss2, NULL, NULL)); /* per-channel stats of ds itself */
    mnv2_dataset_destroy(ds);
    lab[2] = 3;
    expect_ok(mnv2_dataset_create(N, H, W, 1, 4, px, lab, &ds));
    expect_fail(mnv2_evaluate(m, ds, &o, &loss, NULL, NULL), MNV2_ERR_INVALID_ARGUMENT, "label 3");
    mnv2_dataset_destroy(ds);
    mnv2_model_destroy(m);
}

/* Train 3 steps, checkpoint, 3 more; against: load the checkpoint, restore the iterator, 3 steps. */
static void train_from(mnv2_model *m, mnv2_batch_iter *it, int steps)
{
    float x[NX];
    int32_t y[MAXB];
    uint32_t b;
    for (int s = 0; s < steps;) {
        expect_ok(mnv2_batch_next(it, x, NX, y, MAXB, &b));
        if (b == 0)
            continue;
        expect_ok(mnv2_forward(m, x, (size_t)b * H * W * C, b, MNV2_MODE_TRAIN, NULL, 0));
        expect_ok(mnv2_backward(m, y, b, NULL));
        expect_ok(mnv2_step(m));
        s++;
    }
}

static void test_resume_bit_identical(void **state)
{
    (void)state;
    enum { N = 5 };
    uint8_t px[N * H * W];
    int32_t lab[N] = {0, 1, 2, 1, 0};
    for (size_t i = 0; i < sizeof px; i++)
        px[i] = (uint8_t)(i * 29 + i / 5);
    mnv2_dataset *ds;
    expect_ok(mnv2_dataset_create(N, H, W, 1, CLASSES, px, lab, &ds));
    mnv2_batch_options o;
    expect_ok(mnv2_batch_options_default(&o));
    o.batch = MAXB;
    o.flip = 1;
    o.pad_crop = 1;
    o.seed = 11;
    mnv2_batch_iter *it, *it2;
    expect_ok(mnv2_batch_iter_create(ds, &o, &it));
    expect_ok(mnv2_batch_iter_create(ds, &o, &it2));
    mnv2_model *m = tiny_model(10, 0.3), *r;
    expect_ok(mnv2_model_set_int(m, MNV2_KEY_OPTIMIZER, MNV2_OPTIMIZER_ADAMW));
    expect_ok(mnv2_model_set_float(m, MNV2_KEY_WEIGHT_DECAY, 0.01));
    train_from(m, it, 3);
    void *ck;
    size_t cks;
    expect_ok(mnv2_checkpoint_save_mem(m, it, NULL, 0, NULL, 0, &ck, &cks));
    train_from(m, it, 3);
    mnv2_file_info *info;
    expect_ok(mnv2_checkpoint_load_mem(ck, cks, NULL, &r, &info));
    uint64_t seed, epoch, pos;
    expect_ok(mnv2_file_info_iter_state(info, &seed, &epoch, &pos));
    expect_ok(mnv2_batch_iter_set_state(it2, seed, epoch, pos));
    mnv2_file_info_destroy(info);
    train_from(r, it2, 3);
    assert_same_tensors(m, r);
    uint64_t na, nb;
    float *oa = mnv2_optimizer_state(m, &na), *ob = mnv2_optimizer_state(r, &nb);
    assert_int_equal(na, nb);
    assert_memory_equal(oa, ob, na * sizeof(float));
    mnv2_buffer_free(ck);
    mnv2_model_destroy(m);
    mnv2_model_destroy(r);
    mnv2_batch_iter_destroy(it);
    mnv2_batch_iter_destroy(it2);
    mnv2_dataset_destroy(ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model_round_trip), cmocka_unit_test(test_checkpoint_round_trip),
        cmocka_unit_test(test_corruption),       cmocka_unit_test(test_format_rules),
        cmocka_unit_test(test_normalization_api), cmocka_unit_test(test_normalization_round_trip),
        cmocka_unit_test(test_normalization_format),
        cmocka_unit_test(test_atomic_save),      cmocka_unit_test(test_evaluate),
        cmocka_unit_test(test_resume_bit_identical),
    };
    return cmocka_run_group_tests_name("io format", tests, NULL, NULL);
}
