/*
 * Model files with the training standardisation: mnv2's file plus an optional "norm" section
 * (see common.h). Sections are tag[4], u64 length, payload, u32 CRC-32 of tag + length + payload.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "common.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define HEADER_SIZE 16u
#define SECTION_OVERHEAD 16u
#define MAX_MODEL_FILE ((size_t)1 << 34)

static uint32_t crc32_ieee(uint32_t crc, const uint8_t *p, size_t n)
{
    crc = ~crc;
    while (n--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static uint32_t float_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float bits_float(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* The "norm" section, written at @p p (room for SECTION_OVERHEAD + 4 + 8 n bytes). */
static size_t put_norm(uint8_t *p, const ex_norm *norm)
{
    uint32_t len = 4 + 8 * norm->n;
    memcpy(p, "norm", 4);
    put32(p + 4, len);
    put32(p + 8, 0);
    put32(p + 12, norm->n);
    for (uint32_t i = 0; i < norm->n; i++) {
        put32(p + 16 + 4 * i, float_bits(norm->mean[i]));
        put32(p + 16 + 4 * (norm->n + i), float_bits(norm->std[i]));
    }
    put32(p + 12 + len, crc32_ieee(0, p, 12 + (size_t)len));
    return SECTION_OVERHEAD + len;
}

void ex_model_save(const mnv2_model *model, const char *const *names, uint32_t n_names, const ex_norm *norm,
                   const char *path)
{
    void *data;
    size_t size;
    ex_check(mnv2_model_save_mem(model, names, n_names, &data, &size), "saving model %s", path);
    uint8_t *d = data;
    if (size < HEADER_SIZE + SECTION_OVERHEAD || memcmp(d + size - SECTION_OVERHEAD, "END ", 4) != 0)
        ex_die("saving model %s: unexpected file layout from mnv2_model_save_mem()", path);
    size_t extra = norm->n ? SECTION_OVERHEAD + 4 + 8 * (size_t)norm->n : 0;
    uint8_t *out = malloc(size + extra);
    if (!out)
        ex_die("saving model %s: out of memory", path);
    size_t body = size - SECTION_OVERHEAD;
    memcpy(out, d, body);
    if (norm->n)
        put_norm(out + body, norm);
    memcpy(out + body + extra, d + body, SECTION_OVERHEAD);
    mnv2_buffer_free(data);
    if (ex_write_atomic(path, out, size + extra) != 0)
        ex_die("writing model %s: %s", path, strerror(errno));
    free(out);
}

/* Find and decode the "norm" section of a file the library has already accepted. */
static void find_norm(const uint8_t *d, size_t size, ex_norm *norm)
{
    norm->n = 0;
    size_t pos = HEADER_SIZE;
    while (size >= pos + SECTION_OVERHEAD) {
        uint64_t len = get64(d + pos + 4);
        if (len > size - pos - SECTION_OVERHEAD)
            return;
        if (memcmp(d + pos, "norm", 4) == 0) {
            const uint8_t *p = d + pos + 12;
            if (len < 4 || get32(p + len) != crc32_ieee(0, d + pos, 12 + (size_t)len))
                return;
            uint32_t n = get32(p);
            if (n == 0 || n > EX_MAX_STATS || len != 4 + 8 * (uint64_t)n)
                return;
            for (uint32_t i = 0; i < n; i++) {
                norm->mean[i] = bits_float(get32(p + 4 + 4 * i));
                norm->std[i] = bits_float(get32(p + 4 + 4 * (n + i)));
                if (!(norm->std[i] > 0.0f) || norm->mean[i] != norm->mean[i])
                    return;
            }
            norm->n = n;
            return;
        }
        pos += SECTION_OVERHEAD + (size_t)len;
    }
}

void ex_model_load(const char *path, uint32_t max_batch, int32_t threads, mnv2_model **model,
                   mnv2_file_info **info, ex_norm *norm)
{
    mnv2_load_options opts;
    mnv2_load_options_default(&opts);
    opts.max_batch = max_batch;
    opts.threads = threads;
    opts.trainable = 0;
    ex_check(mnv2_model_load(path, &opts, model, info), "loading model");
    uint8_t *d;
    size_t size;
    if (ex_read_file(path, MAX_MODEL_FILE, &d, &size) != 0)
        ex_die("%s: %s", path, strerror(errno));
    find_norm(d, size, norm);
    free(d);
}
