/*
 * Reading PGM / PPM images (and PNG with HAVE_PNG) for mnv2-infer.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "image.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#ifdef HAVE_PNG
#include <png.h>
#define FORMATS "PGM / PPM or PNG"
#else
#define FORMATS "PGM / PPM"
#endif

#define MAX_FILE ((size_t)1 << 30)
#define MAX_SIDE 16384u
#define MAX_PIXELS ((uint64_t)1 << 28)

typedef struct cursor {
    const uint8_t *p, *end;
} cursor;

static int fail(char *err, size_t n, const char *fmt, ...) EX_PRINTF(3, 4);
static int fail(char *err, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, n, fmt, ap);
    va_end(ap);
    return -1;
}

static int is_space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Next unsigned decimal number, skipping whitespace and '#' comments. -1 on error. */
static int64_t next_number(cursor *c)
{
    for (;;) {
        while (c->p < c->end && is_space(*c->p))
            c->p++;
        if (c->p < c->end && *c->p == '#') {
            while (c->p < c->end && *c->p != '\n')
                c->p++;
            continue;
        }
        break;
    }
    if (c->p == c->end || *c->p < '0' || *c->p > '9')
        return -1;
    int64_t v = 0;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        v = v * 10 + (*c->p++ - '0');
        if (v > 1000000)
            return -1;
    }
    return v;
}

static int read_pnm(const uint8_t *d, size_t size, ex_image *img, char *err, size_t en)
{
    int kind = d[1] - '0'; /* 2, 3: ASCII grey / RGB; 5, 6: binary grey / RGB */
    uint32_t ch = (kind == 3 || kind == 6) ? 3 : 1;
    cursor c = {d + 2, d + size};
    int64_t w = next_number(&c), h = next_number(&c), maxval = next_number(&c);
    if (w <= 0 || h <= 0 || maxval <= 0)
        return fail(err, en, "malformed P%d header", kind);
    if (maxval > 255)
        return fail(err, en, "maxval %lld: only 8-bit images (maxval up to 255) are supported", (long long)maxval);
    if (w > MAX_SIDE || h > MAX_SIDE || (uint64_t)w * (uint64_t)h > MAX_PIXELS)
        return fail(err, en, "image of %lldx%lld pixels is too large", (long long)w, (long long)h);
    size_t n = (size_t)w * (size_t)h * ch;
    uint8_t *px = malloc(n);
    if (!px)
        return fail(err, en, "out of memory");
    if (kind >= 5) {
        if (c.p == c.end || !is_space(*c.p)) {
            free(px);
            return fail(err, en, "malformed P%d header", kind);
        }
        c.p++;
        if ((size_t)(c.end - c.p) < n) {
            free(px);
            return fail(err, en, "truncated: %zu bytes of pixels, %dx%d needs %zu", (size_t)(c.end - c.p), (int)w,
                        (int)h, n);
        }
        memcpy(px, c.p, n);
    } else {
        for (size_t i = 0; i < n; i++) {
            int64_t v = next_number(&c);
            if (v < 0 || v > maxval) {
                free(px);
                return fail(err, en, "pixel value %zu of %zu is missing or above maxval", i + 1, n);
            }
            px[i] = (uint8_t)v;
        }
    }
    if (maxval != 255)
        for (size_t i = 0; i < n; i++)
            px[i] = (uint8_t)((px[i] * 255 + maxval / 2) / maxval);
    img->width = (uint32_t)w;
    img->height = (uint32_t)h;
    img->channels = ch;
    img->pixels = px;
    return 0;
}

#ifdef HAVE_PNG
static int read_png(const uint8_t *d, size_t size, ex_image *img, char *err, size_t en)
{
    png_image pi;
    memset(&pi, 0, sizeof pi);
    pi.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&pi, d, size))
        return fail(err, en, "PNG: %s", pi.message);
    uint32_t ch = (pi.format & PNG_FORMAT_FLAG_COLOR) ? 3 : 1;
    pi.format = ch == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
    if (pi.width > MAX_SIDE || pi.height > MAX_SIDE || (uint64_t)pi.width * pi.height > MAX_PIXELS) {
        png_image_free(&pi);
        return fail(err, en, "image of %ux%u pixels is too large", (unsigned)pi.width, (unsigned)pi.height);
    }
    uint8_t *px = malloc(PNG_IMAGE_SIZE(pi));
    if (!px) {
        png_image_free(&pi);
        return fail(err, en, "out of memory");
    }
    if (!png_image_finish_read(&pi, NULL, px, 0, NULL)) {
        free(px);
        return fail(err, en, "PNG: %s", pi.message);
    }
    img->width = pi.width;
    img->height = pi.height;
    img->channels = ch;
    img->pixels = px;
    return 0;
}
#endif

int ex_image_read(const char *path, ex_image *img, char *err, size_t err_size)
{
    uint8_t *d;
    size_t size;
    if (ex_read_file(path, MAX_FILE, &d, &size) != 0)
        return fail(err, err_size, "%s", strerror(errno));
    int rc;
    if (size >= 2 && d[0] == 'P' && (d[1] == '2' || d[1] == '3' || d[1] == '5' || d[1] == '6'))
        rc = read_pnm(d, size, img, err, err_size);
    else if (size >= 8 && memcmp(d, "\x89PNG\r\n\x1a\n", 8) == 0)
#ifdef HAVE_PNG
        rc = read_png(d, size, img, err, err_size);
#else
        rc = fail(err, err_size, "PNG support is not compiled in (build with libpng)");
#endif
    else
        rc = fail(err, err_size, "not a " FORMATS " image");
    free(d);
    return rc;
}

void ex_image_free(ex_image *img)
{
    free(img->pixels);
    img->pixels = NULL;
}
