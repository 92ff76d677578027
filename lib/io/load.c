/* SPDX-License-Identifier: BSD-2-Clause */
/* Reading model files and checkpoints (docs/file-format.md). Every length the file claims is
 * bounded by the bytes actually present before it is used; sizes come from the model. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal_error.h"
#include "io/bytes.h"
#include "io/crc32.h"
#include "io/fileio.h"
#include "io/format.h"

enum { S_CONF, S_TENS, S_CLAS, S_NORM, S_OPTS, S_TRST, S_COUNT };
static const char section_tags[S_COUNT][5] = {"CONF", "TENS", "CLAS", "NORM", "OPTS", "TRST"};

typedef struct section {
    const uint8_t *p;
    size_t len;
    int present;
} section;

/* A tag for messages: printable as is, else hex. */
static const char *tag_text(const uint8_t *t, char buf[12])
{
    int printable = 1;
    for (int i = 0; i < 4; i++)
        printable &= t[i] >= 0x20 && t[i] < 0x7f;
    if (printable)
        snprintf(buf, 12, "'%c%c%c%c'", t[0], t[1], t[2], t[3]);
    else
        snprintf(buf, 12, "0x%02x%02x%02x%02x", t[0], t[1], t[2], t[3]);
    return buf;
}

static int32_t wrap(int32_t rc, const char *what, const char *step)
{
    char msg[256];
    snprintf(msg, sizeof msg, "%s", mnv2_last_error());
    return mnv2__fail(rc, "%s: %s: %s", what, step, msg);
}

/* Header and section walk: bounds, CRCs, duplicates, the END section. */
static int32_t scan(const uint8_t *d, size_t size, const char *what, uint32_t *flags, section *s)
{
    if (size < 4 || memcmp(d, MNV2__MAGIC, 4) != 0)
        return mnv2__fail(MNV2_ERR_FORMAT, "%s: not an mnv2 model file (no \"MNV2\" magic)", what);
    if (size < MNV2__HEADER_SIZE)
        return mnv2__fail(MNV2_ERR_FORMAT, "%s: truncated: %zu bytes, the header needs %u", what, size,
                          MNV2__HEADER_SIZE);
    uint32_t version = mnv2__le32(d + 4);
    if (version > MNV2_FILE_VERSION)
        return mnv2__fail(MNV2_ERR_VERSION, "%s: format version %u; this library reads versions 1..%u", what,
                          (unsigned)version, MNV2_FILE_VERSION);
    if (version == 0)
        return mnv2__fail(MNV2_ERR_FORMAT, "%s: format version 0 is not valid", what);
    *flags = mnv2__le32(d + 8);
    if (*flags & ~MNV2__KNOWN_FLAGS)
        return mnv2__fail(MNV2_ERR_FORMAT, "%s: unknown header flags 0x%08x", what, (unsigned)*flags);
    if (mnv2__le32(d + 12) != 0)
        return mnv2__fail(MNV2_ERR_FORMAT, "%s: reserved header field is not 0", what);
    memset(s, 0, S_COUNT * sizeof *s);
    size_t pos = MNV2__HEADER_SIZE;
    for (;;) {
        size_t left = size - pos;
        char tb[12];
        if (left < MNV2__SECTION_OVERHEAD)
            return mnv2__fail(MNV2_ERR_FORMAT, "%s: truncated: %s at offset %zu (no END section)", what,
                              left ? "partial section header" : "end of data", pos);
        const uint8_t *tag = d + pos;
        uint64_t len = mnv2__le64(d + pos + 4);
        if (len > left - MNV2__SECTION_OVERHEAD)
            return mnv2__fail(MNV2_ERR_FORMAT, "%s: truncated: section %s at offset %zu claims %llu bytes, %zu remain",
                              what, tag_text(tag, tb), pos, (unsigned long long)len, left - MNV2__SECTION_OVERHEAD);
        uint32_t stored = mnv2__le32(d + pos + 12 + len), crc = mnv2__crc32(0, d + pos, 12 + (size_t)len);
        if (stored != crc)
            return mnv2__fail(MNV2_ERR_CHECKSUM, "%s: section %s at offset %zu: CRC mismatch (stored %08x, computed %08x)",
                              what, tag_text(tag, tb), pos, (unsigned)stored, (unsigned)crc);
        if (memcmp(tag, "END ", 4) == 0) {
            if (len != 0)
                return mnv2__fail(MNV2_ERR_FORMAT, "%s: END section with %llu bytes of payload", what,
                                  (unsigned long long)len);
            if (left != MNV2__SECTION_OVERHEAD)
                return mnv2__fail(MNV2_ERR_FORMAT, "%s: %zu bytes after the END section", what,
                                  left - MNV2__SECTION_OVERHEAD);
            return MNV2_OK;
        }
        int known = 0;
        for (int i = 0; i < S_COUNT; i++) {
            if (memcmp(tag, section_tags[i], 4) != 0)
                continue;
            if (s[i].present)
                return mnv2__fail(MNV2_ERR_FORMAT, "%s: section %s appears twice", what, tag_text(tag, tb));
            s[i].p = d + pos + 12;
            s[i].len = (size_t)len;
            s[i].present = known = 1;
        }
        if (!known && !(tag[0] >= 'a' && tag[0] <= 'z'))
            return mnv2__fail(MNV2_ERR_FORMAT, "%s: unknown required section %s at offset %zu", what,
                              tag_text(tag, tb), pos);
        pos += MNV2__SECTION_OVERHEAD + (size_t)len;
    }
}

static int32_t apply_override(mnv2_config *cfg, int32_t key, int64_t v, const char *what)
{
    int32_t rc = mnv2_config_set_int(cfg, key, v);
    return rc == MNV2_OK ? rc : wrap(rc, what, "load option");
}

/* CONF: key / type / value entries, then the block table. */
static int32_t parse_conf(const section *s, const char *what, const mnv2_load_options *o, mnv2_config **out)
{
    mnv2_rd r = {s->p, s->len};
    uint32_t n;
    if (!mnv2__rd_u32(&r, &n) || n > MNV2__MAX_CONF_ENTRIES || (size_t)n * 16 > r.left)
        return mnv2__fail(MNV2_ERR_FORMAT, "%s: CONF: malformed entry count", what);
    mnv2_config *cfg;
    int32_t rc = mnv2_config_create(MNV2_PRESET_REDUCED, &cfg);
    if (rc != MNV2_OK)
        return wrap(rc, what, "CONF");
    uint32_t seen[MNV2__MAX_CONF_ENTRIES];
    for (uint32_t i = 0; i < n && rc == MNV2_OK; i++) {
        uint32_t key, type;
        uint64_t v;
        mnv2__rd_u32(&r, &key);
        mnv2__rd_u32(&r, &type);
        mnv2__rd_u64(&r, &v);
        for (uint32_t j = 0; j < i; j++)
            if (seen[j] == key)
                rc = mnv2__fail(MNV2_ERR_FORMAT, "%s: CONF: key %u appears twice", what, (unsigned)key);
        seen[i] = key;
        if (rc != MNV2_OK)
            break;
        uint32_t t = type & MNV2__TYPE_MASK;
        if ((type & ~(MNV2__TYPE_MASK | MNV2__TYPE_OPTIONAL)) || (t != MNV2__TYPE_INT && t != MNV2__TYPE_FLOAT)) {
            rc = mnv2__fail(MNV2_ERR_FORMAT, "%s: CONF: key %u has unknown type 0x%x", what, (unsigned)key,
                            (unsigned)type);
            break;
        }
        if (key > INT32_MAX) {
            rc = MNV2_ERR_UNKNOWN_KEY;
        } else if (t == MNV2__TYPE_INT) {
            rc = mnv2_config_set_int(cfg, (int32_t)key, (int64_t)v);
        } else {
            double x;
            memcpy(&x, &v, 8);
            rc = mnv2_config_set_float(cfg, (int32_t)key, x);
        }
        if (rc == MNV2_ERR_UNKNOWN_KEY && (type & MNV2__TYPE_OPTIONAL))
            rc = MNV2_OK;
        else if (rc == MNV2_ERR_UNKNOWN_KEY)
            rc = mnv2__fail(MNV2_ERR_VERSION, "%s: CONF: required key %u is unknown to this library version", what,
                            (unsigned)key);
        else if (rc != MNV2_OK)
            rc = wrap(MNV2_ERR_FORMAT, what, "CONF: value rejected");
    }
    uint32_t n_rows = 0;
    if (rc == MNV2_OK && (!mnv2__rd_u32(&r, &n_rows) || n_rows == 0 || n_rows > MNV2_MAX_BLOCK_ROWS ||
                          r.left != (size_t)n_rows * 16))
        rc = mnv2__fail(MNV2_ERR_FORMAT, "%s: CONF: malformed block table (%u rows, %zu bytes left)", what,
                        (unsigned)n_rows, r.left);
    if (rc == MNV2_OK) {
        int32_t rows[MNV2_MAX_BLOCK_ROWS * 4];
        for (uint32_t i = 0; i < 4 * n_rows; i++) {
            uint32_t v;
            mnv2__rd_u32(&r, &v);
            rows[i] = (int32_t)v;
        }
        if (mnv2_config_set_blocks(cfg, rows, n_rows) != MNV2_OK)
            rc = wrap(MNV2_ERR_FORMAT, what, "CONF: block table rejected");
    }
    if (rc == MNV2_OK && o) {
        if (o->max_batch)
            rc = apply_override(cfg, MNV2_KEY_MAX_BATCH, o->max_batch, what);
        if (rc == MNV2_OK && o->threads != -1)
            rc = apply_override(cfg, MNV2_KEY_THREADS, o->threads, what);
        if (rc == MNV2_OK && o->trainable != -1)
            rc = apply_override(cfg, MNV2_KEY_TRAINABLE, o->trainable, what);
        if (rc == MNV2_OK && o->isa_max != -2)
            rc = apply_override(cfg, MNV2_KEY_ISA_MAX, o->isa_max, what);
    }
    if (rc != MNV2_OK) {
        mnv2_config_destroy(cfg);
        return rc;
    }
    *out = cfg;
    return MNV2_OK;
}

/* TENS: every tensor must match the model built from CONF. */
static int32_t parse_tens(mnv2_model *m, const section *s, const char *what)
{
    mnv2_rd r = {s->p, s->len};
    uint32_t count, have;
    int32_t rc = mnv2_tensor_count(m, &have);
    if (rc != MNV2_OK)
        return wrap(rc, what, "TENS");
    if (!mnv2__rd_u32(&r, &count) || count != have)
        return mnv2__fail(MNV2_ERR_FORMAT, "%s: TENS: %u tensors stored, the configuration has %u", what,
                          (unsigned)count, (unsigned)have);
    float *buf = NULL;
    uint64_t cap = 0;
    for (uint32_t i = 0; i < count && rc == MNV2_OK; i++) {
        const char *name;
        int32_t kind;
        uint32_t ndim, dims[4], fkind, fndim, fdim;
        uint64_t numel, fnumel;
        uint16_t len;
        rc = mnv2_tensor_info(m, i, &name, &kind, &ndim, dims, &numel);
        if (rc != MNV2_OK) {
            rc = wrap(rc, what, "TENS");
            break;
        }
        const uint8_t *fname = NULL;
        int ok = mnv2__rd_u16(&r, &len) && (fname = mnv2__rd_take(&r, len)) != NULL;
        if (!ok || len != strlen(name) || memcmp(fname, name, len) != 0) {
            rc = mnv2__fail(MNV2_ERR_FORMAT, "%s: TENS: tensor %u is '%.*s' in the file, '%s' in the model", what,
                            (unsigned)i, ok ? (int)len : 0, ok ? (const char *)fname : "", name);
            break;
        }
        ok = mnv2__rd_u32(&r, &fkind) && mnv2__rd_u32(&r, &fndim) && fkind == (uint32_t)kind && fndim == ndim;
        for (uint32_t d = 0; ok && d < ndim; d++)
            ok = mnv2__rd_u32(&r, &fdim) && fdim == dims[d];
        ok = ok && mnv2__rd_u64(&r, &fnumel) && fnumel == numel;
        if (!ok) {
            rc = mnv2__fail(MNV2_ERR_FORMAT, "%s: TENS: tensor '%s': kind, shape or size differs from the model", what,
                            name);
            break;
        }
        const uint8_t *vals = numel <= r.left / 4 ? mnv2__rd_take(&r, (size_t)numel * 4) : NULL;
        if (!vals) {
            rc = mnv2__fail(MNV2_ERR_FORMAT, "%s: TENS: tensor '%s': truncated values", what, name);
            break;
        }
        if (numel > cap) {
            float *p = realloc(buf, (size_t)numel * sizeof(float));
            if (!p) {
                rc = mnv2__fail(MNV2_ERR_OUT_OF_MEMORY, "%s: out of memory", what);
                break;
            }
            buf = p;
            cap = numel;
        }
        mnv2__get_f32s(buf, vals, (size_t)numel);
        if ((rc = mnv2_tensor_write(m, i, MNV2_DATA_VALUE, buf, numel)) != MNV2_OK)
            rc = wrap(rc, what, "TENS");
    }
    free(buf);
    if (rc == MNV2_OK && r.left != 0)
        rc = mnv2__fail(MNV2_ERR_FORMAT, "%s: TENS: %zu bytes after the last tensor", what, r.left);
    return rc;
}

/* CLAS: 0 or `classes` names. Stored into info when it is not NULL. */
static int32_t parse_clas(const section *s, int64_t classes, const char *what, mnv2_file_info *info)
{
    mnv2_rd r = {s->p, s->len};
    uint32_t n;
    if (!mnv2__rd_u32(&r, &n) || (n != 0 && (int64_t)n != classes) || n > r.left / 2)
        return mnv2__fail(MNV2_ERR_FORMAT, "%s: CLAS: %u class names for %lld classes", what, (unsigned)n,
                          (long long)classes);
    mnv2_rd r2 = r;
    size_t chars = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint16_t len;
        const uint8_t *p = NULL;
        if (!mnv2__rd_u16(&r, &len) || !(p = mnv2__rd_take(&r, len)) || memchr(p, 0, len))
            return mnv2__fail(MNV2_ERR_FORMAT, "%s: CLAS: name %u is %s", what, (unsigned)i,
                              p ? "not text (contains a NUL byte)" : "truncated");
        chars += (size_t)len + 1;
    }
    if (r.left != 0)
        return mnv2__fail(MNV2_ERR_FORMAT, "%s: CLAS: %zu bytes after the last name", what, r.left);
    if (!info || n == 0)
        return MNV2_OK;
    char **block = malloc(n * sizeof(char *) + chars);
    if (!block)
        return mnv2__fail(MNV2_ERR_OUT_OF_MEMORY, "%s: out of memory", what);
    char *dst = (char *)(block + n);
    for (uint32_t i = 0; i < n; i++) {
        uint16_t len;
        mnv2__rd_u16(&r2, &len);
        block[i] = dst;
        memcpy(dst, mnv2__rd_take(&r2, len), len);
        dst[len] = '\0';
        dst += len + 1;
    }
    info->names = block;
    info->n_names = n;
    return MNV2_OK;
}

/* NORM: the input standardisation, 1 or `channels` (mean, std) pairs. */
static int32_t parse_norm(mnv2_model *m, const section *s, int64_t channels, const char *what)
{
    mnv2_rd r = {s->p, s->len};
    uint32_t n;
    if (!mnv2__rd_u32(&r, &n))
        return mnv2__fail(MNV2_ERR_FORMAT, "%s: NORM: truncated count", what);
    if (n == 0 || n > MNV2__MAX_NORM || (n != 1 && (int64_t)n != channels))
        return mnv2__fail(MNV2_ERR_FORMAT, "%s: NORM: %u values for a model of %lld input channels (1 or %lld)",
                          what, (unsigned)n, (long long)channels, (long long)channels);
    if (r.left != (size_t)n * 8)
        return mnv2__fail(MNV2_ERR_FORMAT, "%s: NORM: %zu bytes for %u values, %zu expected", what, r.left,
                          (unsigned)n, (size_t)n * 8);
    float mean[MNV2__MAX_NORM], std[MNV2__MAX_NORM];
    mnv2__get_f32s(mean, r.p, n);
    mnv2__get_f32s(std, r.p + 4 * (size_t)n, n);
    for (uint32_t i = 0; i < n; i++) {
        if (!isfinite(mean[i]))
            return mnv2__fail(MNV2_ERR_FORMAT, "%s: NORM: mean %u is not finite", what, (unsigned)i);
        if (!isfinite(std[i]) || !(std[i] > 0.0f))
            return mnv2__fail(MNV2_ERR_FORMAT, "%s: NORM: std %u is %g, not a finite value > 0", what, (unsigned)i,
                              (double)std[i]);
    }
    int32_t rc = mnv2_model_set_normalization(m, mean, std, n);
    return rc == MNV2_OK ? rc : wrap(MNV2_ERR_FORMAT, what, "NORM: values rejected");
}

/* OPTS: step, dropout stream state and the optimizer state of the model. */
static int32_t parse_opts(mnv2_model *m, const section *s, const char *what)
{
    mnv2_rd r = {s->p, s->len};
    uint64_t step, rng, n, have = 0;
    float *opt = mnv2_optimizer_state(m, &have);
    if (!mnv2__rd_u64(&r, &step) || !mnv2__rd_u64(&r, &rng) || !mnv2__rd_u64(&r, &n) || step > INT64_MAX)
        return mnv2__fail(MNV2_ERR_FORMAT, "%s: OPTS: truncated or malformed", what);
    if (!opt || n != have || r.left / 4 != n || r.left % 4 != 0)
        return mnv2__fail(MNV2_ERR_FORMAT, "%s: OPTS: %llu optimizer values stored in %zu bytes, the model has %llu",
                          what, (unsigned long long)n, r.left, (unsigned long long)have);
    mnv2__get_f32s(opt, r.p, (size_t)n);
    int32_t rc = mnv2_model_set_int(m, MNV2_KEY_STEP, (int64_t)step);
    if (rc == MNV2_OK)
        rc = mnv2_model_set_int(m, MNV2_KEY_RNG_STATE, (int64_t)rng);
    return rc == MNV2_OK ? rc : wrap(MNV2_ERR_FORMAT, what, "OPTS: step or random state rejected");
}

/* TRST: batch iterator state and the caller's blob. */
static int32_t parse_trst(const section *s, const char *what, mnv2_file_info *info)
{
    mnv2_rd r = {s->p, s->len};
    uint64_t seed, epoch, pos, n;
    if (!mnv2__rd_u64(&r, &seed) || !mnv2__rd_u64(&r, &epoch) || !mnv2__rd_u64(&r, &pos) ||
        !mnv2__rd_u64(&r, &n) || n != r.left)
        return mnv2__fail(MNV2_ERR_FORMAT, "%s: TRST: truncated or malformed", what);
    if (!info)
        return MNV2_OK;
    if (n && !(info->blob = malloc((size_t)n)))
        return mnv2__fail(MNV2_ERR_OUT_OF_MEMORY, "%s: out of memory", what);
    if (n)
        memcpy(info->blob, r.p, (size_t)n);
    info->has_train = 1;
    info->seed = seed;
    info->epoch = epoch;
    info->position = pos;
    info->blob_size = n;
    return MNV2_OK;
}

static int32_t load(const uint8_t *d, size_t size, const char *what, const mnv2_load_options *o, int checkpoint,
                    mnv2_model **model, mnv2_file_info **info)
{
    if (o && o->struct_size < sizeof *o)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "%s: load options struct_size %u, at least %zu expected", what,
                          (unsigned)o->struct_size, sizeof *o);
    if (checkpoint && o && o->trainable == 0)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "%s: a checkpoint needs a trainable model (trainable 0 given)",
                          what);
    uint32_t flags = 0;
    section s[S_COUNT];
    int32_t rc = scan(d, size, what, &flags, s);
    if (rc != MNV2_OK)
        return rc;
    int is_ckpt = (flags & MNV2__FLAG_CHECKPOINT) != 0;
    if (checkpoint && !is_ckpt)
        return mnv2__fail(MNV2_ERR_FORMAT, "%s: a model file, not a checkpoint (no optimizer state)", what);
    for (int i = 0; i < S_COUNT; i++) {
        int need = i == S_CONF || i == S_TENS || (is_ckpt && (i == S_OPTS || i == S_TRST));
        int allowed = need || i == S_CLAS || i == S_NORM;
        if (need && !s[i].present)
            return mnv2__fail(MNV2_ERR_FORMAT, "%s: no %s section", what, section_tags[i]);
        if (!allowed && s[i].present)
            return mnv2__fail(MNV2_ERR_FORMAT, "%s: %s section in a file not flagged as a checkpoint", what,
                              section_tags[i]);
    }
    mnv2_config *cfg;
    if ((rc = parse_conf(&s[S_CONF], what, o, &cfg)) != MNV2_OK)
        return rc;
    mnv2_model *m = NULL;
    rc = mnv2_model_create(cfg, &m);
    mnv2_config_destroy(cfg);
    if (rc != MNV2_OK)
        return wrap(rc == MNV2_ERR_INVALID_ARGUMENT ? MNV2_ERR_FORMAT : rc, what, "creating the stored model");
    mnv2_file_info *fi = NULL;
    int64_t classes = 0;
    if (info && !(fi = calloc(1, sizeof *fi)))
        rc = mnv2__fail(MNV2_ERR_OUT_OF_MEMORY, "%s: out of memory", what);
    if (rc == MNV2_OK && (rc = mnv2_model_get_int(m, MNV2_KEY_CLASSES, &classes)) != MNV2_OK)
        rc = wrap(rc, what, "reading the class count");
    if (rc == MNV2_OK)
        rc = parse_tens(m, &s[S_TENS], what);
    if (rc == MNV2_OK && s[S_CLAS].present)
        rc = parse_clas(&s[S_CLAS], classes, what, fi);
    if (rc == MNV2_OK && s[S_NORM].present) {
        int64_t channels = 0;
        if ((rc = mnv2_model_get_int(m, MNV2_KEY_INPUT_CHANNELS, &channels)) != MNV2_OK)
            rc = wrap(rc, what, "reading the input channels");
        else
            rc = parse_norm(m, &s[S_NORM], channels, what);
    }
    if (rc == MNV2_OK && s[S_TRST].present)
        rc = parse_trst(&s[S_TRST], what, fi);
    if (rc == MNV2_OK && checkpoint)
        rc = parse_opts(m, &s[S_OPTS], what);
    if (rc != MNV2_OK) {
        mnv2_model_destroy(m);
        mnv2_file_info_destroy(fi);
        return rc;
    }
    *model = m;
    if (info)
        *info = fi;
    return MNV2_OK;
}

static int32_t load_path(const char *path, const mnv2_load_options *o, int checkpoint, mnv2_model **model,
                         mnv2_file_info **info)
{
    mnv2__clear_error();
    if (!path || !model)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "%s: NULL path or model",
                          checkpoint ? "mnv2_checkpoint_load" : "mnv2_model_load");
    uint8_t *d;
    size_t size;
    int32_t rc = mnv2__read_file(path, UINT64_MAX, &d, &size);
    if (rc != MNV2_OK)
        return rc;
    rc = load(d, size, path, o, checkpoint, model, info);
    free(d);
    return rc;
}

static int32_t load_mem(const void *data, size_t size, const mnv2_load_options *o, int checkpoint,
                        mnv2_model **model, mnv2_file_info **info)
{
    mnv2__clear_error();
    const char *what = checkpoint ? "checkpoint buffer" : "model buffer";
    if (!data || !model)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "%s: NULL data or model", what);
    return load(data, size, what, o, checkpoint, model, info);
}

int32_t mnv2_load_options_default(mnv2_load_options *opts)
{
    mnv2__clear_error();
    if (!opts)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_load_options_default: opts is NULL");
    memset(opts, 0, sizeof *opts);
    opts->struct_size = sizeof *opts;
    opts->max_batch = 0;
    opts->threads = -1;
    opts->trainable = -1;
    opts->isa_max = -2;
    return MNV2_OK;
}

int32_t mnv2_model_load(const char *path, const mnv2_load_options *opts, mnv2_model **model, mnv2_file_info **info)
{
    return load_path(path, opts, 0, model, info);
}

int32_t mnv2_model_load_mem(const void *data, size_t size, const mnv2_load_options *opts, mnv2_model **model,
                            mnv2_file_info **info)
{
    return load_mem(data, size, opts, 0, model, info);
}

int32_t mnv2_checkpoint_load(const char *path, const mnv2_load_options *opts, mnv2_model **model,
                             mnv2_file_info **info)
{
    return load_path(path, opts, 1, model, info);
}

int32_t mnv2_checkpoint_load_mem(const void *data, size_t size, const mnv2_load_options *opts, mnv2_model **model,
                                 mnv2_file_info **info)
{
    return load_mem(data, size, opts, 1, model, info);
}
