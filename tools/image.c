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

#include <dirent.h>
#include <strings.h>
#include <sys/stat.h>
#ifdef HAVE_MNV2_IMAGE
#include <mnv2_image.h>
#endif

#ifdef HAVE_MNV2_IMAGE
#include <png.h>
#define FORMATS "PGM / PPM, PNG or JPEG"
#elif defined(HAVE_PNG)
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

#ifdef HAVE_MNV2_IMAGE
/* JPEG / PNG: the evaluation transform (as libmnv2-image's loader), then mnv2_fit_image() for
 * the channels and the standardisation (the sizes then match: no resizing there). */
static int prepare_photo(const char *path, uint32_t h, uint32_t w, uint32_t c, const float *mean, const float *std,
                         uint32_t n_stats, float *out, char *err, size_t en)
{
    uint8_t *px, *crop = NULL;
    uint32_t ih, iw, ic, rh, rw, top, left;
    uint32_t resize = (h * 256u + 112u) / 224u;
    resize = resize < h ? h : resize;
    resize = resize < w ? w : resize;
    if (mnv2_image_read(path, &px, &ih, &iw, &ic) != MNV2_OK) {
        const char *m = mnv2_image_last_error(); /* "PATH: what": the caller names the file */
        size_t n = strlen(path);
        return fail(err, en, "%s", strncmp(m, path, n) == 0 && m[n] == ':' ? m + n + 2 : m);
    }
    int rc = -1;
    if (mnv2_image_eval_geometry(ih, iw, resize, h, w, &rh, &rw, &top, &left) != MNV2_OK)
        fail(err, en, "%s", mnv2_image_last_error());
    else if (!(crop = malloc((size_t)h * w * ic)))
        fail(err, en, "out of memory");
    else if (mnv2_image_resized_crop(px, ih, iw, ic, 0, 0, ih, iw, rh, rw, top, left, h, w, crop) != MNV2_OK)
        fail(err, en, "%s", mnv2_image_last_error());
    else if (mnv2_fit_image(crop, h, w, ic, h, w, c, mean, std, n_stats, out, (size_t)h * w * c) != MNV2_OK)
        fail(err, en, "%s", mnv2_last_error());
    else
        rc = 0;
    free(crop);
    mnv2_image_free(px);
    return rc;
}
#endif

int ex_image_prepare(const char *path, uint32_t h, uint32_t w, uint32_t c, const float *mean, const float *std,
                     uint32_t n_stats, float *out, char *err, size_t err_size)
{
#ifdef HAVE_MNV2_IMAGE
    FILE *f = fopen(path, "rb");
    uint8_t sig[8] = {0};
    size_t got = f ? fread(sig, 1, sizeof sig, f) : 0;
    if (f)
        fclose(f);
    if ((got >= 3 && sig[0] == 0xFF && sig[1] == 0xD8 && sig[2] == 0xFF) ||
        (got == 8 && memcmp(sig, "\x89PNG\r\n\x1a\n", 8) == 0))
        return prepare_photo(path, h, w, c, mean, std, n_stats, out, err, err_size);
#endif
    ex_image img;
    if (ex_image_read(path, &img, err, err_size) != 0)
        return -1;
    int32_t rc = mnv2_fit_image(img.pixels, img.height, img.width, img.channels, h, w, c, mean, std, n_stats, out,
                                (size_t)h * w * c);
    ex_image_free(&img);
    return rc == MNV2_OK ? 0 : fail(err, err_size, "%s", mnv2_last_error());
}

static int is_image_name(const char *name)
{
    static const char *const ext[] = {".jpg", ".jpeg", ".jpe", ".png", ".pgm", ".ppm"};
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof ext / sizeof ext[0]; i++)
        if (strcasecmp(dot, ext[i]) == 0)
            return 1;
    return 0;
}

static int cmp_path(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char **ex_list_images(const char *dir, size_t *n)
{
    DIR *d = opendir(dir);
    if (!d)
        return NULL;
    char **list = NULL;
    size_t cap = 0;
    *n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || !is_image_name(e->d_name))
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            char **nl = realloc(list, cap * sizeof *list);
            if (!nl)
                ex_die("out of memory");
            list = nl;
        }
        list[(*n)++] = ex_concat(dir, "");
        char *p = malloc(strlen(dir) + strlen(e->d_name) + 2);
        if (!p)
            ex_die("out of memory");
        sprintf(p, "%s/%s", dir, e->d_name);
        free(list[*n - 1]);
        list[*n - 1] = p;
    }
    closedir(d);
    if (*n > 1)
        qsort(list, *n, sizeof *list, cmp_path);
    return list ? list : calloc(1, sizeof *list);
}
