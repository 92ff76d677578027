/*
 * Helpers shared by the mnv2 tools.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include "common.h"
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *prog = "mnv2";

void ex_set_prog(const char *name)
{
    prog = name;
}

const char *ex_prog(void)
{
    return prog;
}

void ex_die(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

EX_NORETURN static void die_mnv2v(int32_t rc, const char *fmt, va_list ap)
{
    const char *detail = mnv2_last_error();
    fprintf(stderr, "%s: ", prog);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, ": %s\n", detail[0] ? detail : mnv2_status_string(rc));
    exit(1);
}

void ex_die_mnv2(int32_t rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    die_mnv2v(rc, fmt, ap);
}

void ex_check(int32_t rc, const char *fmt, ...)
{
    if (rc == MNV2_OK)
        return;
    va_list ap;
    va_start(ap, fmt);
    die_mnv2v(rc, fmt, ap);
}

int ex_opt(int argc, char **argv, int *i, const char *name, const char **value)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0)
        return 0;
    if (a[n] == '=') {
        *value = a + n + 1;
        return 1;
    }
    if (a[n] != '\0')
        return 0;
    if (*i + 1 >= argc)
        cli_usage_error("option %s needs a value", name);
    *value = argv[++*i];
    return 1;
}

uint32_t ex_parse_u32(const char *opt, const char *text, uint32_t min, uint32_t max)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || end == text || *end || text[0] == '-' || v < min || v > max)
        cli_usage_error("%s: expected an integer in %u..%u, got '%s'", opt, (unsigned)min, (unsigned)max, text);
    return (uint32_t)v;
}

double ex_parse_double(const char *opt, const char *text, double min, double max)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || *end || !isfinite(v) || v < min || v > max)
        cli_usage_error("%s: expected a number in %g..%g, got '%s'", opt, min, max, text);
    return v;
}

static mnv2_config *config_blocks(const char *spec)
{
    int32_t rows[MNV2_MAX_BLOCK_ROWS * 4];
    uint32_t n = 0;
    const char *p = spec;
    for (;;) {
        if (n == MNV2_MAX_BLOCK_ROWS)
            cli_usage_error("--preset: more than %d block rows", MNV2_MAX_BLOCK_ROWS);
        for (int k = 0; k < 4; k++) {
            char *end;
            long v = strtol(p, &end, 10);
            char sep = k < 3 ? ',' : ';';
            if (end == p || v < 0 || v > 65536 || (*end != sep && !(k == 3 && *end == '\0')))
                return NULL;
            rows[4 * n + (uint32_t)k] = (int32_t)v;
            p = *end ? end + 1 : end;
        }
        n++;
        if (!*p)
            break;
    }
    mnv2_config *cfg;
    ex_check(mnv2_config_create(MNV2_PRESET_REDUCED, &cfg), "--preset");
    ex_check(mnv2_config_set_blocks(cfg, rows, n), "--preset %s", spec);
    return cfg;
}

mnv2_config *ex_config_for(const char *spec)
{
    mnv2_config *cfg;
    if (strcmp(spec, "reduced") == 0 || strcmp(spec, "standard") == 0) {
        int32_t preset = spec[0] == 'r' ? MNV2_PRESET_REDUCED : MNV2_PRESET_STANDARD;
        ex_check(mnv2_config_create(preset, &cfg), "--preset");
        return cfg;
    }
    return strchr(spec, ',') ? config_blocks(spec) : NULL;
}

void ex_model_load(const char *path, uint32_t max_batch, int32_t threads, mnv2_model **model,
                   mnv2_file_info **info)
{
    mnv2_load_options opts;
    mnv2_load_options_default(&opts);
    opts.max_batch = max_batch;
    opts.threads = threads;
    opts.trainable = 0;
    ex_check(mnv2_model_load(path, &opts, model, info), "loading model");
}

double ex_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int ex_read_file(const char *path, size_t max, uint8_t **data, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    while (buf) {
        if (n == cap) {
            if (cap >= max) {
                free(buf);
                fclose(f);
                errno = EFBIG;
                return -1;
            }
            cap = cap > max / 2 ? max : cap * 2;
            uint8_t *grown = realloc(buf, cap);
            if (!grown)
                break;
            buf = grown;
        }
        errno = 0;
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            int bad = ferror(f) ? (errno ? errno : EIO) : 0;
            fclose(f);
            if (bad) {
                free(buf);
                errno = bad;
                return -1;
            }
            *data = buf;
            *size = n;
            return 0;
        }
    }
    free(buf);
    fclose(f);
    errno = ENOMEM;
    return -1;
}

int ex_write_atomic(const char *path, const void *data, size_t size)
{
    char *tmp = ex_concat(path, ".tmpXXXXXX");
    int fd = mkstemp(tmp), err = 0;
    if (fd < 0) {
        err = errno;
        free(tmp);
        errno = err;
        return -1;
    }
    const uint8_t *p = data;
    while (size && !err) {
        ssize_t w = write(fd, p, size);
        if (w < 0 && errno != EINTR)
            err = errno;
        else if (w > 0)
            p += w, size -= (size_t)w;
    }
    mode_t mask = umask(0);
    umask(mask);
    if (!err && fchmod(fd, 0666 & ~mask) != 0)
        err = errno;
    if (!err && fsync(fd) != 0)
        err = errno;
    if (close(fd) != 0 && !err)
        err = errno;
    if (!err && rename(tmp, path) != 0)
        err = errno;
    if (err)
        unlink(tmp);
    free(tmp);
    errno = err;
    return err ? -1 : 0;
}

char *ex_concat(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    char *s = malloc(na + nb + 1);
    if (!s)
        ex_die("out of memory");
    memcpy(s, a, na);
    memcpy(s + na, b, nb + 1);
    return s;
}
