/* SPDX-License-Identifier: BSD-2-Clause */
/* libmnv2-image: decoding every format variant, broken files, folders, transforms, the streaming
 * loader (determinism across worker counts, resume, skip / fail on bad files, bounded memory). */
#include <dirent.h>
#include <malloc.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

#include "mnv2_image.h"
#include "writers.h"

static char root[4096];

static const char *pathf(const char *fmt, ...)
{
    static char buf[4][4096];
    static int k;
    char *b = buf[k++ % 4];
    int n = snprintf(b, 4096, "%s/", root);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b + n, (size_t)(4096 - n), fmt, ap);
    va_end(ap);
    return b;
}

static void rm_rf(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char p[4096];
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(p, &st) == 0 && S_ISDIR(st.st_mode))
            rm_rf(p);
        else
            unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

static void decode_file(const char *path, uint8_t **px, uint32_t *h, uint32_t *w, uint32_t *c)
{
    int32_t rc = mnv2_image_read(path, px, h, w, c);
    if (rc != MNV2_OK)
        fail_msg("%s: %s", path, mnv2_image_last_error());
}

/* Mean absolute difference of decoded pixels from the pattern (channel ch_of(c)). */
static double pattern_error(const uint8_t *px, uint32_t h, uint32_t w, uint32_t c, int colour, uint32_t seed)
{
    double sum = 0;
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            for (uint32_t k = 0; k < c; k++)
                sum += fabs((double)px[((size_t)y * w + x) * c + k] - pattern(y, x, colour ? k : 0, h, w, seed));
    return sum / ((double)h * w * c);
}

static void test_png_variants(void **state)
{
    (void)state;
    struct {
        int type, depth, interlace;
        uint32_t channels;
        int colour;
    } v[] = {
        {PNG_COLOR_TYPE_GRAY, 8, 0, 1, 0},       {PNG_COLOR_TYPE_GRAY, 16, 0, 1, 0},
        {PNG_COLOR_TYPE_RGB, 8, 0, 3, 1},        {PNG_COLOR_TYPE_RGB, 16, 0, 3, 1},
        {PNG_COLOR_TYPE_RGB_ALPHA, 8, 0, 3, 1},  {PNG_COLOR_TYPE_RGB_ALPHA, 16, 1, 3, 1},
        {PNG_COLOR_TYPE_GRAY_ALPHA, 8, 0, 1, 0}, {PNG_COLOR_TYPE_PALETTE, 8, 0, 3, 0},
        {PNG_COLOR_TYPE_RGB, 8, 1, 3, 1},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        const char *p = pathf("v%zu.png", i);
        assert_int_equal(write_png(p, 37, 53, v[i].type, v[i].depth, v[i].interlace, (uint32_t)i), 0);
        uint8_t *px;
        uint32_t h, w, c;
        decode_file(p, &px, &h, &w, &c);
        assert_int_equal(h, 37);
        assert_int_equal(w, 53);
        assert_int_equal(c, v[i].channels);
        /* Lossless: exact, 16-bit samples (v * 257 + 3) scaled back to v. A grey palette gives R = G = B. */
        assert_true(pattern_error(px, h, w, c, v[i].colour, (uint32_t)i) == 0);
        mnv2_image_free(px);
    }
    /* 1-bit grey: 0 or 255. */
    const char *p = pathf("bits.png");
    assert_int_equal(write_png(p, 9, 20, PNG_COLOR_TYPE_GRAY, 1, 0, 0), 0);
    uint8_t *px;
    uint32_t h, w, c;
    decode_file(p, &px, &h, &w, &c);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            assert_int_equal(px[y * w + x], pattern(y, x, 0, 9, 20, 0) >= 128 ? 255 : 0);
    mnv2_image_free(px);
}

static void test_jpeg_variants(void **state)
{
    (void)state;
    struct {
        int comps, progressive;
        uint32_t channels;
    } v[] = {{1, 0, 1}, {3, 0, 3}, {3, 1, 3}, {4, 0, 3}, {4, 1, 3}, {1, 1, 1}};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        const char *p = pathf("v%zu.jpg", i);
        assert_int_equal(write_jpeg(p, 61, 47, v[i].comps, v[i].progressive, (uint32_t)i, 95), 0);
        uint8_t *px;
        uint32_t h, w, c;
        decode_file(p, &px, &h, &w, &c);
        assert_int_equal(h, 61);
        assert_int_equal(w, 47);
        assert_int_equal(c, v[i].channels);
        /* Lossy: close to the pattern (a colour conversion bug would be off by ~100). */
        double err = pattern_error(px, h, w, c, v[i].comps != 1, (uint32_t)i);
        /* Quality 95 with 4:2:0 chroma gives ~4 on this pattern's sharp wrap-around edges; a wrong
         * colour conversion (CMYK not inverted, channels swapped) gives 50 or more. */
        if (err > 8)
            fail_msg("variant %zu: mean error %.2f", i, err);
        mnv2_image_free(px);
    }
}

static void expect_format_error(const char *path)
{
    uint8_t *px = (uint8_t *)1;
    uint32_t h = 7, w = 7, c = 7;
    int32_t rc = mnv2_image_read(path, &px, &h, &w, &c);
    if (rc != MNV2_ERR_FORMAT)
        fail_msg("%s: expected MNV2_ERR_FORMAT, got %d", path, (int)rc);
    assert_ptr_equal(px, (uint8_t *)1); /* out-parameters untouched */
    assert_int_equal(h, 7);
    assert_non_null(strstr(mnv2_image_last_error(), path));
}

/* The bytes of a file (at most 1 MiB), malloc'd. */
static uint8_t *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    uint8_t *b = malloc(1 << 20);
    assert_non_null(b);
    *n = fread(b, 1, 1 << 20, f);
    fclose(f);
    return b;
}

/* Offset of the first JPEG marker 0xFF @p code, or 0. */
static size_t find_marker(const uint8_t *b, size_t n, uint8_t code)
{
    for (size_t i = 2; i + 1 < n; i++)
        if (b[i] == 0xFF && b[i + 1] == code)
            return i;
    return 0;
}

static void expect_decode_error(const uint8_t *b, size_t n, const char *what)
{
    uint8_t *px = (uint8_t *)1;
    uint32_t h, w, c;
    int32_t rc = mnv2_image_decode(b, n, &px, &h, &w, &c);
    if (rc != MNV2_ERR_FORMAT || !strstr(mnv2_image_last_error(), what))
        fail_msg("expected MNV2_ERR_FORMAT with \"%s\", got %d: %s", what, (int)rc, mnv2_image_last_error());
    assert_ptr_equal(px, (uint8_t *)1);
}

/* A JPEG header may promise more than its data holds: sizes and memory are checked from the header,
 * before libjpeg allocates (a progressive file's coefficients for the whole image: a fuzzer's
 * 59144 x 8200 header once took 970 MB), and decoding stops where the data ends. */
static void test_jpeg_limits(void **state)
{
    (void)state;
    size_t n;
    assert_int_equal(write_jpeg(pathf("p.jpg"), 64, 64, 3, 1, 1, 90), 0);
    uint8_t *b = slurp(pathf("p.jpg"), &n);
    size_t sof = find_marker(b, n, 0xC2); /* SOF2: length, precision, height, width */
    assert_true(sof > 0);
    const struct { uint32_t h, w; const char *what; } big[] = {
        {59144, 8200, "out of range"},          /* a side over MNV2_IMAGE_MAX_SIDE */
        {32768, 32768, "out of range"},         /* 2^30 pixels */
        {16384, 16384, "coefficient memory"},   /* 4:2:0: 768 MiB of coefficients */
    };
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++) {
        b[sof + 5] = (uint8_t)(big[i].h >> 8), b[sof + 6] = (uint8_t)big[i].h;
        b[sof + 7] = (uint8_t)(big[i].w >> 8), b[sof + 8] = (uint8_t)big[i].w;
        expect_decode_error(b, n, big[i].what);
    }
    /* 8000 x 8000 (96 MiB of coefficients) is within the limits: the data ends after the first
     * blocks, and so does the decoding. */
    b[sof + 5] = 8000 >> 8, b[sof + 6] = 8000 & 255, b[sof + 7] = 8000 >> 8, b[sof + 8] = 8000 & 255;
    expect_decode_error(b, n, "truncated");
    free(b);

    /* A baseline file cut inside its compressed data and closed with an end marker (EOI): libjpeg
     * would return grey for the missing blocks; an error, as for a file cut anywhere else. */
    assert_int_equal(write_jpeg(pathf("b.jpg"), 64, 64, 3, 0, 1, 90), 0);
    b = slurp(pathf("b.jpg"), &n);
    size_t sos = find_marker(b, n, 0xDA);
    assert_true(sos > 0 && sos + 40 < n);
    size_t cut = sos + (n - sos) / 2;
    b[cut] = 0xFF, b[cut + 1] = 0xD9;
    expect_decode_error(b, cut + 2, "truncated");
    free(b);
}

static void test_broken_files(void **state)
{
    (void)state;
    assert_int_equal(write_jpeg(pathf("good.jpg"), 64, 64, 3, 0, 1, 90), 0);
    assert_int_equal(write_jpeg(pathf("goodp.jpg"), 64, 64, 3, 1, 1, 90), 0);
    assert_int_equal(write_png(pathf("good.png"), 64, 64, PNG_COLOR_TYPE_RGB, 8, 0, 1), 0);
    const double cuts[] = {0.0, 0.01, 0.3, 0.7, 0.97};
    for (size_t k = 0; k < sizeof cuts / sizeof cuts[0]; k++) {
        const char *names[] = {"good.jpg", "goodp.jpg", "good.png"};
        for (int i = 0; i < 3; i++) {
            char *dst = strdup(pathf("cut%zu_%s", k, names[i]));
            assert_int_equal(copy_truncated(pathf("%s", names[i]), dst, cuts[k]), 0);
            expect_format_error(dst);
            free(dst);
        }
    }
    assert_int_equal(write_bytes(pathf("text.jpg"), "hello, not an image\n", 20), 0);
    expect_format_error(pathf("text.jpg"));
    /* A PNG signature followed by garbage, a JPEG SOI followed by garbage. */
    uint8_t junk[300];
    for (int i = 0; i < 300; i++)
        junk[i] = (uint8_t)(i * 37 + 11);
    memcpy(junk, "\x89PNG\r\n\x1a\n", 8);
    assert_int_equal(write_bytes(pathf("junk.png"), junk, sizeof junk), 0);
    expect_format_error(pathf("junk.png"));
    memcpy(junk, "\xff\xd8\xff", 3);
    assert_int_equal(write_bytes(pathf("junk.jpg"), junk, sizeof junk), 0);
    expect_format_error(pathf("junk.jpg"));
    uint8_t *px;
    uint32_t h, w, c;
    assert_int_equal(mnv2_image_read(pathf("missing.png"), &px, &h, &w, &c), MNV2_ERR_IO);
    assert_int_equal(mnv2_image_decode(NULL, 0, &px, &h, &w, &c), MNV2_ERR_INVALID_ARGUMENT);
}

/* DIR/<class>/... with @p per_class images per class of @p side pixels (mixed formats). */
static void make_folder(const char *dir, const char *const *classes, int n_classes, int per_class, uint32_t side)
{
    mkdir(dir, 0755);
    for (int k = 0; k < n_classes; k++) {
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", dir, classes[k]);
        mkdir(p, 0755);
        for (int i = 0; i < per_class; i++) {
            snprintf(p, sizeof p, "%s/%s/img%03d.%s", dir, classes[k], i, i % 3 == 0 ? "png" : "jpg");
            uint32_t h = side + (uint32_t)(i * 7 % 13), w = side + (uint32_t)(i * 5 % 17);
            int rc = i % 3 == 0 ? write_png(p, h, w, i % 2 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB_ALPHA, 8, 0,
                                            (uint32_t)(k * 100 + i))
                                : write_jpeg(p, h, w, i % 4 == 1 ? 1 : 3, i % 2, (uint32_t)(k * 100 + i), 85);
            assert_int_equal(rc, 0);
        }
    }
}

static void test_folder(void **state)
{
    (void)state;
    char *dir = strdup(pathf("folder"));
    const char *classes[] = {"zebra", "Ant", "cat", "empty"};
    make_folder(dir, classes, 3, 4, 20);
    mkdir(pathf("folder/empty"), 0755);
    assert_int_equal(write_bytes(pathf("folder/cat/README.txt"), "notes", 5), 0);
    mkdir(pathf("folder/cat/sub"), 0755);
    assert_int_equal(write_png(pathf("folder/cat/sub/deep.PNG"), 8, 8, PNG_COLOR_TYPE_RGB, 8, 0, 0), 0);
    assert_int_equal(write_bytes(pathf("folder/stray.jpg"), "x", 1), 0); /* not in a class directory */
    mnv2_image_folder *f;
    assert_int_equal(mnv2_image_folder_open(dir, &f), MNV2_OK);
    uint32_t count, n_classes;
    assert_int_equal(mnv2_image_folder_info(f, &count, &n_classes), MNV2_OK);
    assert_int_equal(n_classes, 4);
    assert_int_equal(count, 13);
    const char *expect[] = {"Ant", "cat", "empty", "zebra"}; /* sorted by byte value */
    for (uint32_t i = 0; i < 4; i++) {
        const char *name;
        assert_int_equal(mnv2_image_folder_class_name(f, i, &name), MNV2_OK);
        assert_string_equal(name, expect[i]);
    }
    char p[4096];
    int32_t label;
    assert_int_equal(mnv2_image_folder_path(f, 4, p, sizeof p, &label), MNV2_OK);
    assert_string_equal(p, pathf("folder/cat/img000.png"));
    assert_int_equal(label, 1);
    assert_int_equal(mnv2_image_folder_path(f, 8, p, sizeof p, &label), MNV2_OK);
    assert_string_equal(p, pathf("folder/cat/sub/deep.PNG")); /* os.walk order: cat, then cat/sub */
    assert_int_equal(mnv2_image_folder_path(f, 9, p, sizeof p, &label), MNV2_OK);
    assert_int_equal(label, 3); /* zebra: "empty" keeps index 2 */
    assert_int_equal(mnv2_image_folder_path(f, 9, p, 4, &label), MNV2_ERR_SIZE_MISMATCH);
    assert_int_equal(mnv2_image_folder_path(f, 13, p, sizeof p, &label), MNV2_ERR_INVALID_ARGUMENT);
    mnv2_image_folder_destroy(f);
    /* No classes, no images, missing directory. */
    mkdir(pathf("none"), 0755);
    assert_int_equal(mnv2_image_folder_open(pathf("none"), &f), MNV2_ERR_NOT_FOUND);
    mkdir(pathf("none/a"), 0755);
    assert_int_equal(mnv2_image_folder_open(pathf("none"), &f), MNV2_ERR_NOT_FOUND);
    assert_int_equal(mnv2_image_folder_open(pathf("nowhere"), &f), MNV2_ERR_IO);
    free(dir);
}

static void test_transforms(void **state)
{
    (void)state;
    uint8_t src[30 * 40 * 3], out[30 * 40 * 3];
    for (size_t i = 0; i < sizeof src; i++)
        src[i] = (uint8_t)(i * 13 % 251);
    /* Same size: identity. */
    assert_int_equal(mnv2_image_resized_crop(src, 30, 40, 3, 0, 0, 30, 40, 30, 40, 0, 0, 30, 40, out), MNV2_OK);
    assert_memory_equal(src, out, sizeof src);
    /* A crop at scale 1 is a copy of the box; a window of it is a copy of part of it. */
    assert_int_equal(mnv2_image_resized_crop(src, 30, 40, 3, 5, 7, 10, 12, 10, 12, 2, 3, 4, 5, out), MNV2_OK);
    for (int y = 0; y < 4; y++)
        assert_memory_equal(out + y * 5 * 3, src + ((5 + 2 + y) * 40 + 7 + 3) * 3, 5 * 3);
    /* Halving a constant image stays constant; halving averages 2x2 blocks of a 2-valued stripe. */
    uint8_t flat[16 * 16], half[8 * 8];
    memset(flat, 77, sizeof flat);
    assert_int_equal(mnv2_image_resized_crop(flat, 16, 16, 1, 0, 0, 16, 16, 8, 8, 0, 0, 8, 8, half), MNV2_OK);
    for (int i = 0; i < 64; i++)
        assert_int_equal(half[i], 77);
    assert_int_equal(mnv2_image_resized_crop(src, 30, 40, 3, 25, 0, 10, 10, 5, 5, 0, 0, 5, 5, out),
                     MNV2_ERR_INVALID_ARGUMENT);
    /* Evaluation geometry as torchvision: Resize(256) of 500x375 (h x w) = 341x256, CenterCrop(224). */
    uint32_t rh, rw, top, left;
    assert_int_equal(mnv2_image_eval_geometry(500, 375, 256, 224, 224, &rh, &rw, &top, &left), MNV2_OK);
    assert_int_equal(rh, 341);
    assert_int_equal(rw, 256);
    assert_int_equal(top, 58); /* round(58.5) = 58, ties to even */
    assert_int_equal(left, 16);
    assert_int_equal(mnv2_image_eval_geometry(10, 10, 8, 9, 9, NULL, NULL, NULL, NULL), MNV2_ERR_INVALID_ARGUMENT);
    /* Crop boxes: inside the image, deterministic from the state, areas spread over 0.08 .. 1. */
    double min_frac = 1, max_frac = 0;
    for (uint64_t s0 = 0; s0 < 2000; s0++) {
        uint64_t s = s0, s2 = s0;
        uint32_t t, l, bh, bw, t2, l2, bh2, bw2;
        assert_int_equal(mnv2_image_random_crop_box(&s, 300, 400, 0.08f, 1, 0.75f, 4.0f / 3, &t, &l, &bh, &bw),
                         MNV2_OK);
        assert_int_equal(mnv2_image_random_crop_box(&s2, 300, 400, 0.08f, 1, 0.75f, 4.0f / 3, &t2, &l2, &bh2, &bw2),
                         MNV2_OK);
        assert_true(t == t2 && l == l2 && bh == bh2 && bw == bw2);
        assert_true(bh >= 1 && bw >= 1 && t + bh <= 300 && l + bw <= 400);
        double frac = (double)bh * bw / (300.0 * 400);
        min_frac = frac < min_frac ? frac : min_frac;
        max_frac = frac > max_frac ? frac : max_frac;
    }
    assert_true(min_frac < 0.1 && min_frac > 0.07);
    assert_true(max_frac > 0.9);
}

typedef struct errors {
    int n;
    char last_path[4096];
} errors;

static void on_error(void *user, const char *path, const char *message)
{
    errors *e = user;
    e->n++;
    snprintf(e->last_path, sizeof e->last_path, "%s", path);
    assert_true(strlen(message) > 0);
}

/* Every batch of one epoch (at most max_batches) into a new array; returns the images seen. */
static uint32_t run_epoch(mnv2_image_loader *l, uint32_t batch, size_t per_image, float **out, int32_t **labels,
                          uint32_t max_batches)
{
    float *x = malloc(batch * per_image * sizeof *x);
    int32_t *y = malloc(batch * sizeof *y);
    *out = NULL, *labels = NULL;
    uint32_t seen = 0;
    for (uint32_t k = 0; k < max_batches; k++) {
        uint32_t b;
        assert_int_equal(mnv2_image_loader_next(l, x, batch * per_image, y, batch, &b), MNV2_OK);
        if (b == 0)
            break;
        *out = realloc(*out, (seen + b) * per_image * sizeof **out);
        *labels = realloc(*labels, (seen + b) * sizeof **labels);
        memcpy(*out + seen * per_image, x, b * per_image * sizeof *x);
        memcpy(*labels + seen, y, b * sizeof *y);
        seen += b;
    }
    free(x), free(y);
    return seen;
}

static void test_loader(void **state)
{
    (void)state;
    const char *dir = pathf("ld");
    const char *classes[] = {"a", "b", "c"};
    make_folder(dir, classes, 3, 7, 40);
    mnv2_image_folder *f;
    assert_int_equal(mnv2_image_folder_open(dir, &f), MNV2_OK);
    mnv2_image_loader_options o;
    assert_int_equal(mnv2_image_loader_options_default(&o), MNV2_OK);
    const float mean[3] = {0.4f, 0.5f, 0.6f}, sd[3] = {0.2f, 0.25f, 0.3f};
    o.batch = 4, o.height = 24, o.width = 24, o.seed = 9, o.mean = mean, o.std = sd;
    const size_t per = 24 * 24 * 3;
    /* The same epochs with 1 and 3 workers and different ring sizes: bit-identical. */
    float *a[2], *b[2];
    int32_t *la[2], *lb[2];
    mnv2_image_loader *l1, *l3;
    o.workers = 1, o.prefetch = 2;
    assert_int_equal(mnv2_image_loader_create(f, &o, &l1), MNV2_OK);
    o.workers = 3, o.prefetch = 5;
    assert_int_equal(mnv2_image_loader_create(f, &o, &l3), MNV2_OK);
    uint64_t batches;
    assert_int_equal(mnv2_image_loader_batches(l1, &batches), MNV2_OK);
    assert_int_equal(batches, 6);
    for (int e = 0; e < 2; e++) {
        assert_int_equal(run_epoch(l1, 4, per, &a[e], &la[e], 100), 21);
        assert_int_equal(run_epoch(l3, 4, per, &b[e], &lb[e], 100), 21);
        assert_memory_equal(a[e], b[e], 21 * per * sizeof(float));
        assert_memory_equal(la[e], lb[e], 21 * sizeof(int32_t));
    }
    /* Epochs differ (new order and crops); every label appears 7 times. */
    assert_true(memcmp(a[0], a[1], 21 * per * sizeof(float)) != 0);
    int hist[3] = {0};
    for (int i = 0; i < 21; i++)
        hist[la[0][i]]++;
    assert_true(hist[0] == 7 && hist[1] == 7 && hist[2] == 7);
    /* Resume: a fresh loader set to (seed, epoch 1, position 8) gives the rest of epoch 1. */
    mnv2_image_loader *lr;
    assert_int_equal(mnv2_image_loader_create(f, &o, &lr), MNV2_OK);
    assert_int_equal(mnv2_image_loader_set_state(lr, 9, 1, 8), MNV2_OK);
    float *r;
    int32_t *lab_r;
    assert_int_equal(run_epoch(lr, 4, per, &r, &lab_r, 100), 13);
    assert_memory_equal(r, a[1] + 8 * per, 13 * per * sizeof(float));
    assert_memory_equal(lab_r, la[1] + 8, 13 * sizeof(int32_t));
    uint64_t seed, epoch, pos;
    assert_int_equal(mnv2_image_loader_get_state(lr, &seed, &epoch, &pos), MNV2_OK);
    assert_true(seed == 9 && epoch == 2 && pos == 0);
    assert_int_equal(mnv2_image_loader_set_state(lr, 9, 1, 22), MNV2_ERR_INVALID_ARGUMENT);
    free(r), free(lab_r);
    mnv2_image_loader_destroy(lr);
    /* Evaluation, no shuffle: folder order, standardised centre crops. */
    o.transform = MNV2_IMAGE_TRANSFORM_EVAL, o.shuffle = 0, o.workers = 2;
    mnv2_image_loader *le;
    assert_int_equal(mnv2_image_loader_create(f, &o, &le), MNV2_OK);
    float *ev;
    int32_t *lab_e;
    assert_int_equal(run_epoch(le, 4, per, &ev, &lab_e, 100), 21);
    for (uint32_t i = 0; i < 21; i++) {
        char p[4096];
        int32_t label;
        assert_int_equal(mnv2_image_folder_path(f, i, p, sizeof p, &label), MNV2_OK);
        assert_int_equal(lab_e[i], label);
        uint8_t *px, crop[24 * 24 * 3];
        uint32_t h, w, c, rh, rw, t, l;
        decode_file(p, &px, &h, &w, &c);
        assert_int_equal(mnv2_image_eval_geometry(h, w, 27, 24, 24, &rh, &rw, &t, &l), MNV2_OK);
        assert_int_equal(mnv2_image_resized_crop(px, h, w, c, 0, 0, h, w, rh, rw, t, l, 24, 24, crop), MNV2_OK);
        for (size_t k = 0; k < per; k++) {
            float v = crop[c == 3 ? k : k / 3] * (1.0f / 255);
            float want = (v - mean[k % 3]) / sd[k % 3];
            assert_true(ev[i * per + k] == want);
        }
        mnv2_image_free(px);
    }
    free(ev), free(lab_e);
    mnv2_image_loader_destroy(le);
    for (int e = 0; e < 2; e++)
        free(a[e]), free(b[e]), free(la[e]), free(lb[e]);
    mnv2_image_loader_destroy(l1);
    mnv2_image_loader_destroy(l3);
    mnv2_image_folder_destroy(f);
}

static void test_loader_bad_files(void **state)
{
    (void)state;
    const char *dir = pathf("bad");
    const char *classes[] = {"a", "b"};
    make_folder(dir, classes, 2, 5, 30);
    assert_int_equal(write_bytes(pathf("bad/a/broken.jpg"), "\xff\xd8\xff\xe0 not really", 15), 0);
    assert_int_equal(copy_truncated(pathf("bad/b/img001.jpg"), pathf("bad/b/trunc.jpg"), 0.5), 0);
    mnv2_image_folder *f;
    assert_int_equal(mnv2_image_folder_open(dir, &f), MNV2_OK);
    mnv2_image_loader_options o;
    mnv2_image_loader_options_default(&o);
    o.batch = 3, o.height = o.width = 16, o.shuffle = 0;
    errors e = {0};
    o.on_error_fn = on_error, o.user = &e;
    /* Fail mode: the batch holding the broken file fails, naming it; the next call fails again. */
    mnv2_image_loader *l;
    assert_int_equal(mnv2_image_loader_create(f, &o, &l), MNV2_OK);
    float x[3 * 16 * 16 * 3];
    int32_t y[3];
    uint32_t b;
    assert_int_equal(mnv2_image_loader_next(l, x, sizeof x / sizeof x[0], y, 3, &b), MNV2_ERR_FORMAT);
    assert_non_null(strstr(mnv2_image_last_error(), "broken.jpg"));
    assert_int_equal(mnv2_image_loader_next(l, x, sizeof x / sizeof x[0], y, 3, &b), MNV2_ERR_FORMAT);
    assert_int_equal(mnv2_image_loader_next(l, x, 10, y, 3, &b), MNV2_ERR_SIZE_MISMATCH);
    mnv2_image_loader_destroy(l);
    /* Skip mode: both bad files reported by path, 10 of 12 images delivered. */
    o.on_error = MNV2_IMAGE_ON_ERROR_SKIP;
    assert_int_equal(mnv2_image_loader_create(f, &o, &l), MNV2_OK);
    float *all;
    int32_t *labels;
    assert_int_equal(run_epoch(l, 3, 16 * 16 * 3, &all, &labels, 100), 10);
    assert_int_equal(e.n, 2);
    assert_string_equal(e.last_path, pathf("bad/b/trunc.jpg"));
    uint64_t failed;
    double wait;
    assert_int_equal(mnv2_image_loader_take_stats(l, &wait, &failed), MNV2_OK);
    assert_int_equal(failed, 2);
    assert_true(wait >= 0);
    free(all), free(labels);
    mnv2_image_loader_destroy(l);
    mnv2_image_folder_destroy(f);
}

/* Bytes allocated on the heap now (glibc). */
static size_t heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

/* Peak heap while streaming 2 epochs of a folder of @p n images. */
static size_t peak_streaming(const char *dir)
{
    mnv2_image_folder *f;
    assert_int_equal(mnv2_image_folder_open(dir, &f), MNV2_OK);
    mnv2_image_loader_options o;
    mnv2_image_loader_options_default(&o);
    o.batch = 8, o.height = o.width = 32, o.prefetch = 3;
    mnv2_image_loader *l;
    assert_int_equal(mnv2_image_loader_create(f, &o, &l), MNV2_OK);
    float *x = malloc(8 * 32 * 32 * 3 * sizeof *x);
    int32_t y[8];
    size_t peak = 0;
    for (int e = 0; e < 2; e++)
        for (;;) {
            uint32_t b;
            assert_int_equal(mnv2_image_loader_next(l, x, 8 * 32 * 32 * 3, y, 8, &b), MNV2_OK);
            size_t now = heap_in_use();
            peak = now > peak ? now : peak;
            if (!b)
                break;
        }
    free(x);
    mnv2_image_loader_destroy(l);
    mnv2_image_folder_destroy(f);
    return peak;
}

static void test_bounded_memory(void **state)
{
    (void)state;
    size_t before = heap_in_use();
    char *volatile probe = malloc(8 << 20);
    assert_non_null(probe);
    memset(probe, 1, 8 << 20);
    size_t with = heap_in_use();
    free((char *)probe);
    if (with - before < (8u << 20))
        skip(); /* no glibc heap statistics here (a sanitizer's allocator) */
    const char *cls[] = {"a", "b"};
    make_folder(pathf("small"), cls, 2, 20, 96);
    make_folder(pathf("large"), cls, 2, 160, 96);
    size_t base = heap_in_use();
    size_t small = peak_streaming(pathf("small")) - base, large = peak_streaming(pathf("large")) - base;
    /* 8x the images: the paths grow (~100 bytes each); pixels must not. Holding the large folder's
     * images as floats at 32x32 would take 320 * 12 KiB = 3.8 MiB more. */
    printf("peak heap: %zu bytes for 40 images, %zu for 320\n", small, large);
    assert_true(large < small + 256 * 1024);
}

int main(void)
{
    mallopt(M_ARENA_MAX, 1); /* the workers' allocations in the heap that mallinfo2() reports */
    const char *base = getenv("TMPDIR");
    snprintf(root, sizeof root, "%s/mnv2-image-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(root))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_png_variants),  cmocka_unit_test(test_jpeg_variants),
        cmocka_unit_test(test_broken_files),  cmocka_unit_test(test_jpeg_limits),
        cmocka_unit_test(test_folder),
        cmocka_unit_test(test_transforms),    cmocka_unit_test(test_loader),
        cmocka_unit_test(test_loader_bad_files), cmocka_unit_test(test_bounded_memory),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    rm_rf(root);
    return rc;
}
