/* SPDX-License-Identifier: BSD-2-Clause */
/* Statistics, fitting and the batch iterator: numbers, geometry, determinism, augmentation and
 * resumable state. */
#include <math.h>

#include "io_test.h"
#include "io/iter.h"

/* n grey images of h x w: pixel value (i * 31 + y * w + x) % 251, label i % 3. */
static mnv2_dataset *grey_dataset(uint32_t n, uint32_t h, uint32_t w)
{
    uint8_t *px = malloc((size_t)n * h * w);
    int32_t *lab = malloc(n * sizeof(int32_t));
    assert_non_null(px);
    assert_non_null(lab);
    for (uint32_t i = 0; i < n; i++) {
        lab[i] = (int32_t)(i % 3);
        for (uint32_t p = 0; p < h * w; p++)
            px[(size_t)i * h * w + p] = (uint8_t)((i * 31 + p) % 251);
    }
    mnv2_dataset *ds;
    expect_ok(mnv2_dataset_create(n, h, w, 1, 3, px, lab, &ds));
    free(px);
    free(lab);
    return ds;
}

static void test_prng_reference(void **state)
{
    (void)state;
    /* Values from a Python transcription of the algorithm documented in mnv2_data.h. */
    static const uint32_t e0[10] = {1, 7, 2, 5, 6, 4, 0, 9, 8, 3}, e1[10] = {0, 8, 6, 5, 1, 3, 7, 4, 2, 9};
    static const uint32_t s0[10] = {1, 2, 5, 7, 0, 8, 4, 3, 9, 6};
    uint32_t p[10];
    mnv2__shuffle(p, 10, 42, 0);
    assert_memory_equal(p, e0, sizeof p);
    mnv2__shuffle(p, 10, 42, 1);
    assert_memory_equal(p, e1, sizeof p);
    mnv2__shuffle(p, 10, 0, 0);
    assert_memory_equal(p, s0, sizeof p);
    /* uniform() stays in range, including bounds that force rejections. */
    uint64_t s = 7;
    for (int i = 0; i < 10000; i++) {
        uint32_t n = (uint32_t)(i % 97) + 1;
        assert_true(mnv2__uniform(&s, n) < n);
        assert_true(mnv2__uniform(&s, 0xFFFFFFFFu) < 0xFFFFFFFFu);
    }
}

static void test_stats(void **state)
{
    (void)state;
    /* Two RGB pixels: (0, 51, 255) and (255, 51, 0). */
    uint8_t px[6] = {0, 51, 255, 255, 51, 0};
    int32_t lab[1] = {0};
    mnv2_dataset *ds;
    expect_ok(mnv2_dataset_create(1, 1, 2, 3, 1, px, lab, &ds));
    float mean[3], std[3];
    expect_ok(mnv2_dataset_stats(ds, MNV2_NORM_CHANNEL, 0, mean, std));
    assert_float_equal(mean[0], 0.5f, 1e-7);
    assert_float_equal(std[0], 0.5f, 1e-7);
    assert_float_equal(mean[1], 0.2f, 1e-7);
    assert_float_equal(std[1], 1.0f, 0); /* constant channel: std 0 reported as 1 */
    assert_float_equal(mean[2], 0.5f, 1e-7);
    expect_ok(mnv2_dataset_stats(ds, MNV2_NORM_GLOBAL, 3, mean, std));
    /* values 0, .2, 1, 1, .2, 0: mean .4, var = (2*.16 + 2*.04 + 2*.36) / 6 */
    for (int c = 0; c < 3; c++) {
        assert_float_equal(mean[c], 0.4f, 1e-7);
        assert_float_equal(std[c], (float)sqrt((0.32 + 0.08 + 0.72) / 6.0), 1e-6);
    }
    /* RGB to grey: luma of each pixel. */
    expect_ok(mnv2_dataset_stats(ds, MNV2_NORM_CHANNEL, 1, mean, std));
    double l0 = (0.587 * 51 + 0.114 * 255) / 255.0, l1 = (0.299 * 255 + 0.587 * 51) / 255.0;
    assert_float_equal(mean[0], (float)((l0 + l1) / 2), 1e-6);
    assert_float_equal(std[0], (float)(fabs(l0 - l1) / 2), 1e-6);
    expect_fail(mnv2_dataset_stats(ds, MNV2_NORM_NONE, 0, mean, std), MNV2_ERR_INVALID_ARGUMENT, NULL);
    expect_fail(mnv2_dataset_stats(ds, MNV2_NORM_CHANNEL, 2, mean, std), MNV2_ERR_UNSUPPORTED, "3 to 2");
    mnv2_dataset_destroy(ds);
    /* Grey replicated to 3: every channel has the grey statistics. */
    ds = grey_dataset(5, 4, 4);
    double sum = 0, ss = 0;
    for (uint32_t i = 0; i < 5; i++)
        for (uint32_t p = 0; p < 16; p++)
            sum += ((i * 31 + p) % 251) / 255.0;
    double m = sum / 80;
    for (uint32_t i = 0; i < 5; i++)
        for (uint32_t p = 0; p < 16; p++)
            ss += pow(((i * 31 + p) % 251) / 255.0 - m, 2);
    expect_ok(mnv2_dataset_stats(ds, MNV2_NORM_GLOBAL, 3, mean, std));
    for (int c = 0; c < 3; c++) {
        assert_float_equal(mean[c], (float)m, 1e-7);
        assert_float_equal(std[c], (float)sqrt(ss / 80), 1e-7);
    }
    mnv2_dataset_destroy(ds);
}

/* The Fashion-MNIST reference's order: x / 255, standardise, zero-pad 28 -> 32, replicate to 3. */
static void test_fit_pad_replicate(void **state)
{
    (void)state;
    uint8_t img[28 * 28];
    for (int i = 0; i < 28 * 28; i++)
        img[i] = (uint8_t)(i * 7);
    float mean = 0.3f, std = 0.25f;
    float *out = malloc(32 * 32 * 3 * sizeof(float));
    expect_ok(mnv2_fit_image(img, 28, 28, 1, 32, 32, 3, &mean, &std, 1, out, 32 * 32 * 3));
    for (int y = 0; y < 32; y++)
        for (int x = 0; x < 32; x++)
            for (int c = 0; c < 3; c++) {
                float v = out[(y * 32 + x) * 3 + c];
                if (y < 2 || y >= 30 || x < 2 || x >= 30)
                    assert_true(v == 0.0f);
                else
                    assert_true(v == ((float)img[(y - 2) * 28 + (x - 2)] / 255.0f - mean) / std);
            }
    /* Odd padding rounds the top / left down: 3x3 in 6x6 starts at (1, 1). */
    uint8_t small[9] = {255, 255, 255, 255, 255, 255, 255, 255, 255};
    expect_ok(mnv2_fit_image(small, 3, 3, 1, 6, 6, 1, NULL, NULL, 0, out, 36));
    for (int y = 0; y < 6; y++)
        for (int x = 0; x < 6; x++)
            assert_true(out[y * 6 + x] == ((y >= 1 && y < 4 && x >= 1 && x < 4) ? 1.0f : 0.0f));
    expect_fail(mnv2_fit_image(img, 28, 28, 1, 32, 32, 3, &mean, &std, 1, out, 100), MNV2_ERR_SIZE_MISMATCH, NULL);
    expect_fail(mnv2_fit_image(img, 28, 28, 2, 32, 32, 3, NULL, NULL, 0, out, 32 * 32 * 3), MNV2_ERR_UNSUPPORTED,
                "2 to 3");
    float bad = 0.0f;
    expect_fail(mnv2_fit_image(img, 28, 28, 1, 32, 32, 3, &mean, &bad, 1, out, 32 * 32 * 3),
                MNV2_ERR_INVALID_ARGUMENT, "std");
    free(out);
}

static void test_fit_resize_luma(void **state)
{
    (void)state;
    /* Halving with half-pixel centres averages 2x2 blocks exactly. */
    uint8_t img[4 * 4];
    for (int i = 0; i < 16; i++)
        img[i] = (uint8_t)(i * 16);
    float out[4];
    expect_ok(mnv2_fit_image(img, 4, 4, 1, 2, 2, 1, NULL, NULL, 0, out, 4));
    for (int y = 0; y < 2; y++)
        for (int x = 0; x < 2; x++) {
            int a = (2 * y) * 4 + 2 * x;
            float want = ((float)img[a] + img[a + 1] + img[a + 4] + img[a + 5]) / 4.0f / 255.0f;
            assert_float_equal(out[y * 2 + x], want, 1e-6);
        }
    /* An image smaller in one dimension but larger in the other is resized, not padded; a constant
     * stays constant. */
    uint8_t c[3 * 8];
    memset(c, 100, sizeof c);
    float big[5 * 7];
    expect_ok(mnv2_fit_image(c, 3, 8, 1, 5, 7, 1, NULL, NULL, 0, big, 35));
    for (int i = 0; i < 35; i++)
        assert_float_equal(big[i], 100.0f / 255.0f, 1e-6);
    /* RGB to grey; RGBA to RGB drops alpha. */
    uint8_t rgba[4] = {255, 0, 0, 9};
    float g, rgb[3];
    expect_ok(mnv2_fit_image(rgba, 1, 1, 3, 1, 1, 1, NULL, NULL, 0, &g, 1));
    assert_float_equal(g, 0.299f, 1e-6);
    expect_ok(mnv2_fit_image(rgba, 1, 1, 4, 1, 1, 3, NULL, NULL, 0, rgb, 3));
    assert_true(rgb[0] == 1.0f && rgb[1] == 0.0f && rgb[2] == 0.0f);
}

/* Labels of one epoch, with images checked against the dataset (no augmentation, same size). */
static void run_epoch(mnv2_batch_iter *it, const mnv2_dataset *ds, uint32_t batch, uint32_t *order, uint32_t *n_out)
{
    uint32_t n, h, w;
    expect_ok(mnv2_dataset_info(ds, &n, &h, &w, NULL, NULL));
    float *x = malloc((size_t)batch * h * w * sizeof(float));
    int32_t *y = malloc(batch * sizeof(int32_t));
    uint32_t got = 0, b;
    for (;;) {
        expect_ok(mnv2_batch_next(it, x, (size_t)batch * h * w, y, batch, &b));
        if (b == 0)
            break;
        for (uint32_t i = 0; i < b; i++) {
            /* Recover the image index from its first pixel: (idx * 31) % 251 for idx < 251. */
            uint32_t first = (uint32_t)lroundf(x[(size_t)i * h * w] * 255.0f), idx = 0;
            while ((idx * 31) % 251 != first)
                idx++;
            assert_int_equal(y[i], (int32_t)(idx % 3));
            order[got++] = idx;
        }
    }
    *n_out = got;
    free(x);
    free(y);
}

static void test_iter_order(void **state)
{
    (void)state;
    mnv2_dataset *ds = grey_dataset(23, 3, 3);
    mnv2_batch_options o;
    expect_ok(mnv2_batch_options_default(&o));
    o.batch = 5;
    o.norm = MNV2_NORM_NONE;
    o.seed = 1234;
    mnv2_batch_iter *a, *b, *c;
    expect_ok(mnv2_batch_iter_create(ds, &o, &a));
    expect_ok(mnv2_batch_iter_create(ds, &o, &b));
    o.seed = 1235;
    expect_ok(mnv2_batch_iter_create(ds, &o, &c));
    uint32_t oa[23], ob[23], oc[23], oa2[23], n;
    run_epoch(a, ds, 5, oa, &n);
    assert_int_equal(n, 23);
    run_epoch(b, ds, 5, ob, &n);
    run_epoch(c, ds, 5, oc, &n);
    assert_memory_equal(oa, ob, sizeof oa); /* same seed, same order */
    assert_memory_not_equal(oa, oc, sizeof oa);
    uint32_t seen[23] = {0};
    for (int i = 0; i < 23; i++)
        seen[oa[i]]++;
    for (int i = 0; i < 23; i++)
        assert_int_equal(seen[i], 1); /* a permutation */
    uint32_t ref[23];
    mnv2__shuffle(ref, 23, 1234, 0);
    assert_memory_equal(oa, ref, sizeof oa);
    run_epoch(a, ds, 5, oa2, &n); /* the next epoch is reshuffled */
    assert_memory_not_equal(oa, oa2, sizeof oa);
    mnv2__shuffle(ref, 23, 1234, 1);
    assert_memory_equal(oa2, ref, sizeof oa);
    uint64_t seed, epoch, pos, nb;
    expect_ok(mnv2_batch_iter_get_state(a, &seed, &epoch, &pos));
    assert_true(seed == 1234 && epoch == 2 && pos == 0);
    expect_ok(mnv2_batch_iter_info(a, &nb, NULL, NULL, NULL));
    assert_int_equal(nb, 5);
    mnv2_batch_iter_destroy(a);
    mnv2_batch_iter_destroy(b);
    mnv2_batch_iter_destroy(c);
    /* No shuffle: dataset order; drop_last: 4 full batches. */
    o.shuffle = 0;
    o.drop_last = 1;
    expect_ok(mnv2_batch_iter_create(ds, &o, &a));
    run_epoch(a, ds, 5, oa, &n);
    assert_int_equal(n, 20);
    for (uint32_t i = 0; i < 20; i++)
        assert_int_equal(oa[i], i);
    expect_ok(mnv2_batch_iter_info(a, &nb, NULL, NULL, NULL));
    assert_int_equal(nb, 4);
    float x[45];
    int32_t y[5];
    uint32_t got;
    expect_fail(mnv2_batch_next(a, x, 44, y, 5, &got), MNV2_ERR_SIZE_MISMATCH, NULL);
    expect_fail(mnv2_batch_next(a, x, 45, y, 4, &got), MNV2_ERR_SIZE_MISMATCH, NULL);
    expect_fail(mnv2_batch_iter_set_state(a, 0, 0, 24), MNV2_ERR_INVALID_ARGUMENT, NULL);
    mnv2_batch_iter_destroy(a);
    o.batch = 24;
    expect_fail(mnv2_batch_iter_create(ds, &o, &a), MNV2_ERR_INVALID_ARGUMENT, "drop_last");
    o.batch = 0;
    expect_fail(mnv2_batch_iter_create(ds, &o, &a), MNV2_ERR_INVALID_ARGUMENT, NULL);
    o.batch = 4;
    o.struct_size = 8;
    expect_fail(mnv2_batch_iter_create(ds, &o, &a), MNV2_ERR_INVALID_ARGUMENT, "struct_size");
    mnv2_dataset_destroy(ds);
}

/* Flip and crop: each output is the fitted image mirrored or not, shifted by at most P with zeros. */
static void test_iter_augment(void **state)
{
    (void)state;
    const uint32_t n = 64, h = 4, w = 5, pad = 1;
    mnv2_dataset *ds = grey_dataset(n, h, w);
    mnv2_batch_options o;
    expect_ok(mnv2_batch_options_default(&o));
    o.batch = 8;
    o.norm = MNV2_NORM_NONE;
    o.shuffle = 0;
    o.flip = 1;
    mnv2_batch_iter *it;
    expect_ok(mnv2_batch_iter_create(ds, &o, &it));
    float x[8 * 4 * 5];
    int32_t y[8];
    uint32_t b, flipped = 0;
    for (uint32_t k = 0; k < n / 8; k++) {
        expect_ok(mnv2_batch_next(it, x, sizeof x / sizeof x[0], y, 8, &b));
        assert_int_equal(b, 8);
        for (uint32_t i = 0; i < 8; i++) {
            const uint8_t *px;
            expect_ok(mnv2_dataset_image(ds, k * 8 + i, &px));
            int same = 1, mirror = 1;
            for (uint32_t yy = 0; yy < h; yy++)
                for (uint32_t xx = 0; xx < w; xx++) {
                    float v = x[i * h * w + yy * w + xx];
                    same &= v == (float)px[yy * w + xx] / 255.0f;
                    mirror &= v == (float)px[yy * w + (w - 1 - xx)] / 255.0f;
                }
            assert_true(same || mirror);
            flipped += mirror && !same;
        }
    }
    assert_true(flipped > 16 && flipped < 48); /* about half of 64 */
    mnv2_batch_iter_destroy(it);
    o.flip = 0;
    o.pad_crop = pad;
    expect_ok(mnv2_batch_iter_create(ds, &o, &it));
    uint32_t shifted = 0;
    for (uint32_t k = 0; k < n / 8; k++) {
        expect_ok(mnv2_batch_next(it, x, sizeof x / sizeof x[0], y, 8, &b));
        for (uint32_t i = 0; i < 8; i++) {
            const uint8_t *px;
            expect_ok(mnv2_dataset_image(ds, k * 8 + i, &px));
            int found = 0;
            for (int dy = -(int)pad; dy <= (int)pad && !found; dy++)
                for (int dx = -(int)pad; dx <= (int)pad && !found; dx++) {
                    int ok = 1;
                    for (int yy = 0; yy < (int)h; yy++)
                        for (int xx = 0; xx < (int)w; xx++) {
                            int sy = yy + dy, sx = xx + dx;
                            float want = sy < 0 || sy >= (int)h || sx < 0 || sx >= (int)w
                                             ? 0.0f : (float)px[sy * (int)w + sx] / 255.0f;
                            ok &= x[i * h * w + (uint32_t)yy * w + (uint32_t)xx] == want;
                        }
                    found = ok;
                    shifted += ok && (dy || dx);
                }
            assert_true(found);
        }
    }
    assert_true(shifted > 32); /* 8 of 9 offsets move the image */
    mnv2_batch_iter_destroy(it);
    mnv2_dataset_destroy(ds);
}

/* Restoring (seed, epoch, position) on a new iterator continues bit-identically. */
static void test_iter_resume(void **state)
{
    (void)state;
    mnv2_dataset *ds = grey_dataset(37, 6, 6);
    mnv2_batch_options o;
    expect_ok(mnv2_batch_options_default(&o));
    o.batch = 4;
    o.flip = 1;
    o.pad_crop = 2;
    o.height = 8;
    o.width = 8;
    o.channels = 3;
    o.norm = MNV2_NORM_GLOBAL;
    o.seed = 99;
    mnv2_batch_iter *a, *b;
    expect_ok(mnv2_batch_iter_create(ds, &o, &a));
    o.seed = 5; /* overwritten by the restored state */
    expect_ok(mnv2_batch_iter_create(ds, &o, &b));
    size_t nx = 4 * 8 * 8 * 3;
    float *xa = malloc(nx * sizeof(float)), *xb = malloc(nx * sizeof(float));
    int32_t ya[4], yb[4];
    uint32_t ba, bb;
    for (int i = 0; i < 13; i++) /* into the second epoch */
        expect_ok(mnv2_batch_next(a, xa, nx, ya, 4, &ba));
    uint64_t seed, epoch, pos;
    expect_ok(mnv2_batch_iter_get_state(a, &seed, &epoch, &pos));
    assert_true(epoch == 1 && pos == 12 * 4 - 40 && seed == 99);
    expect_ok(mnv2_batch_iter_set_state(b, seed, epoch, pos));
    for (int i = 0; i < 25; i++) {
        expect_ok(mnv2_batch_next(a, xa, nx, ya, 4, &ba));
        expect_ok(mnv2_batch_next(b, xb, nx, yb, 4, &bb));
        assert_int_equal(ba, bb);
        assert_memory_equal(xa, xb, ba * 8 * 8 * 3 * sizeof(float));
        assert_memory_equal(ya, yb, ba * sizeof(int32_t));
    }
    free(xa);
    free(xb);
    mnv2_batch_iter_destroy(a);
    mnv2_batch_iter_destroy(b);
    mnv2_dataset_destroy(ds);
}

/* Per-channel standardisation from the dataset, through the iterator. */
static void test_iter_standardise(void **state)
{
    (void)state;
    uint8_t px[2 * 1 * 1 * 3] = {0, 100, 200, 255, 100, 0};
    int32_t lab[2] = {0, 1};
    mnv2_dataset *ds;
    expect_ok(mnv2_dataset_create(2, 1, 1, 3, 2, px, lab, &ds));
    mnv2_batch_options o;
    expect_ok(mnv2_batch_options_default(&o));
    o.batch = 2;
    o.shuffle = 0;
    mnv2_batch_iter *it;
    expect_ok(mnv2_batch_iter_create(ds, &o, &it));
    float x[6];
    int32_t y[2];
    uint32_t b;
    expect_ok(mnv2_batch_next(it, x, 6, y, 2, &b));
    assert_int_equal(b, 2);
    /* Channel 0: values 0 and 1 -> -1 and 1; channel 1 constant -> 0 (std 1); channel 2 -> 1, -1. */
    float want[6] = {-1, 0, 1, 1, 0, -1};
    for (int i = 0; i < 6; i++)
        assert_float_equal(x[i], want[i], 1e-6);
    mnv2_batch_iter_destroy(it);
    float mean[3] = {0.5f, 0.5f, 0.5f}, std[3] = {0.5f, 0.5f, 0.5f};
    o.mean = mean;
    o.std = std;
    expect_ok(mnv2_batch_iter_create(ds, &o, &it));
    expect_ok(mnv2_batch_next(it, x, 6, y, 2, &b));
    assert_float_equal(x[1], (100.0f / 255.0f - 0.5f) / 0.5f, 1e-7);
    mnv2_batch_iter_destroy(it);
    o.std = NULL;
    expect_fail(mnv2_batch_iter_create(ds, &o, &it), MNV2_ERR_INVALID_ARGUMENT, "both");
    mnv2_dataset_destroy(ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prng_reference),  cmocka_unit_test(test_stats),
        cmocka_unit_test(test_fit_pad_replicate), cmocka_unit_test(test_fit_resize_luma),
        cmocka_unit_test(test_iter_order),      cmocka_unit_test(test_iter_augment),
        cmocka_unit_test(test_iter_resume),     cmocka_unit_test(test_iter_standardise),
    };
    return cmocka_run_group_tests_name("io batches", tests, NULL, NULL);
}
