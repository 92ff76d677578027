/* SPDX-License-Identifier: BSD-2-Clause */
/* Central finite-difference gradient checks through the public API, in training mode (batch
 * statistics, running statistics updated, dropout). Every layer type is covered by checking
 * every parameter of the tensors that belong to it in a tiny network that has each kind:
 * stem conv, 1x1 expand, depthwise stride 1 and 2, 1x1 project with and without residual,
 * batch norm, ReLU6, head conv, average pool, dropout, classifier, softmax cross-entropy.
 *
 * Step h = 3e-3; tolerance |analytic - numeric| <= 1e-4 + 5e-3 * |numeric|. The network runs
 * in float32: rounding in the loss (about 1e-6 relative after the BN reductions) gives the
 * numeric derivative an absolute error near 1e-6 * loss / h ~ 5e-4 at worst, typically far less;
 * the truncation error of the central difference is O(h^2). That tolerance lets errors of a few
 * percent through on small gradients; the tight check is the last pair of tests (below): finite
 * differences of a reference forward in double, on a network whose layers run several weight-
 * gradient chunks and depthwise bands, with a tolerance a 1% error fails. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mnv2.h"

#define B 3
#define H 6
#define W 6
#define C 2
#define K 5

typedef struct fixture {
    mnv2_model *m;
    float x[B * H * W * C];
    int32_t y[B];
    double smoothing;
} fixture;

static uint64_t rng = 12345;
static float urand(void)
{
    rng = rng * 6364136223846793005u + 1442695040888963407u;
    return (float)((rng >> 40) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
}

static mnv2_model *tiny(double dropout, double smoothing)
{
    mnv2_config *c = NULL;
    assert_int_equal(mnv2_config_create(MNV2_PRESET_REDUCED, &c), MNV2_OK);
    const int32_t rows[][4] = {{1, 8, 1, 1}, {2, 16, 1, 2}, {2, 16, 1, 1}};
    assert_int_equal(mnv2_config_set_blocks(c, &rows[0][0], 3), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_INPUT_HEIGHT, H), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_INPUT_WIDTH, W), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_INPUT_CHANNELS, C), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_STEM_CHANNELS, 8), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_HEAD_CHANNELS, 12), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_CLASSES, K), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_MAX_BATCH, B), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_SEED, 7), MNV2_OK);
    assert_int_equal(mnv2_config_set_float(c, MNV2_KEY_DROPOUT, dropout), MNV2_OK);
    assert_int_equal(mnv2_config_set_float(c, MNV2_KEY_LABEL_SMOOTHING, smoothing), MNV2_OK);
    mnv2_model *m = NULL;
    assert_int_equal(mnv2_model_create(c, &m), MNV2_OK);
    mnv2_config_destroy(c);
    /* BN gamma / beta and the classifier bias away from their initial 1 / 0, so their
     * gradients are generic; BN beta near 3 puts nearly every ReLU6 input inside (0, 6), where
     * the finite difference is valid (a kink crossed inside [-h, h] makes it meaningless). The
     * masks themselves are checked by the saturation tests below. */
    uint32_t n = 0;
    assert_int_equal(mnv2_tensor_count(m, &n), MNV2_OK);
    for (uint32_t i = 0; i < n; i++) {
        int32_t kind;
        uint32_t ndim;
        uint64_t numel;
        assert_int_equal(mnv2_tensor_info(m, i, NULL, &kind, &ndim, NULL, &numel), MNV2_OK);
        if (kind != MNV2_TENSOR_PARAM || ndim != 1)
            continue;
        float *v = malloc(numel * sizeof *v);
        assert_int_equal(mnv2_tensor_read(m, i, MNV2_DATA_VALUE, v, numel), MNV2_OK);
        for (uint64_t j = 0; j < numel; j++)
            v[j] += (v[j] == 0.0f ? 3.0f : 0.0f) + 0.3f * urand();
        assert_int_equal(mnv2_tensor_write(m, i, MNV2_DATA_VALUE, v, numel), MNV2_OK);
        free(v);
    }
    return m;
}

/* Training-mode loss in double from the float logits, with the same dropout draw every time. */
static double loss_at(fixture *f)
{
    float logits[B * K];
    assert_int_equal(mnv2_model_set_int(f->m, MNV2_KEY_RNG_STATE, 99), MNV2_OK);
    assert_int_equal(mnv2_forward(f->m, f->x, B * H * W * C, B, MNV2_MODE_TRAIN, logits, B * K), MNV2_OK);
    double total = 0.0;
    for (int b = 0; b < B; b++) {
        double mx = logits[b * K], s = 0.0;
        for (int j = 1; j < K; j++)
            mx = fmax(mx, logits[b * K + j]);
        for (int j = 0; j < K; j++)
            s += exp(logits[b * K + j] - mx);
        for (int j = 0; j < K; j++) {
            const double q = (j == f->y[b] ? 1.0 - f->smoothing : 0.0) + f->smoothing / K;
            total -= q * (logits[b * K + j] - mx - log(s));
        }
    }
    return total / B;
}

static void setup_fixture(fixture *f, double dropout, double smoothing)
{
    f->m = tiny(dropout, smoothing);
    f->smoothing = smoothing;
    for (size_t i = 0; i < sizeof f->x / sizeof f->x[0]; i++)
        f->x[i] = 2.0f * urand();
    for (int b = 0; b < B; b++)
        f->y[b] = (b * 2 + 1) % K;
}

/* Checks every value of every parameter tensor whose name contains one of `parts`.
 * Returns the number of values checked. */
static int check_tensors(fixture *f, const char *const *parts, int n_parts)
{
    float loss = 0.0f;
    assert_int_equal(mnv2_model_set_int(f->m, MNV2_KEY_RNG_STATE, 99), MNV2_OK);
    assert_int_equal(mnv2_forward(f->m, f->x, B * H * W * C, B, MNV2_MODE_TRAIN, NULL, 0), MNV2_OK);
    assert_int_equal(mnv2_backward(f->m, f->y, B, &loss), MNV2_OK);
    assert_true(fabs(loss - loss_at(f)) < 1e-5);
    uint32_t n = 0;
    assert_int_equal(mnv2_tensor_count(f->m, &n), MNV2_OK);
    int checked = 0, bad = 0;
    double worst = 0.0;
    for (uint32_t i = 0; i < n; i++) {
        const char *name;
        int32_t kind;
        uint64_t numel;
        assert_int_equal(mnv2_tensor_info(f->m, i, &name, &kind, NULL, NULL, &numel), MNV2_OK);
        int match = 0;
        for (int p = 0; p < n_parts; p++)
            match |= strstr(name, parts[p]) != NULL;
        if (kind != MNV2_TENSOR_PARAM || !match)
            continue;
        float *v = malloc(numel * sizeof *v), *g = malloc(numel * sizeof *g);
        assert_int_equal(mnv2_tensor_read(f->m, i, MNV2_DATA_VALUE, v, numel), MNV2_OK);
        assert_int_equal(mnv2_tensor_read(f->m, i, MNV2_DATA_GRAD, g, numel), MNV2_OK);
        for (uint64_t j = 0; j < numel; j++) {
            const float h = 3e-3f, v0 = v[j];
            v[j] = v0 + h;
            assert_int_equal(mnv2_tensor_write(f->m, i, MNV2_DATA_VALUE, v, numel), MNV2_OK);
            const double lp = loss_at(f);
            v[j] = v0 - h;
            assert_int_equal(mnv2_tensor_write(f->m, i, MNV2_DATA_VALUE, v, numel), MNV2_OK);
            const double lm = loss_at(f);
            v[j] = v0;
            assert_int_equal(mnv2_tensor_write(f->m, i, MNV2_DATA_VALUE, v, numel), MNV2_OK);
            const double num = (lp - lm) / (2.0 * ((double)(v0 + h) - (double)v0));
            const double err = fabs(num - g[j]), tol = 1e-4 + 5e-3 * fabs(num);
            if (err / (1e-3 + fabs(num)) > worst)
                worst = err / (1e-3 + fabs(num));
            if (err > tol) {
                bad++;
                print_message("%s[%llu]: analytic %.6g numeric %.6g\n", name, (unsigned long long)j, g[j], num);
            }
            checked++;
        }
        free(v);
        free(g);
    }
    print_message("checked %d values, worst |analytic - numeric| / (1e-3 + |numeric|) = %.3g\n", checked, worst);
    assert_int_equal(bad, 0);
    return checked;
}

#define CHECK(fn, dropout, smoothing, ...)                                      \
    static void fn(void **state)                                                \
    {                                                                           \
        (void)state;                                                            \
        fixture f;                                                              \
        setup_fixture(&f, dropout, smoothing);                                  \
        static const char *const parts[] = {__VA_ARGS__};                       \
        assert_true(check_tensors(&f, parts, sizeof parts / sizeof parts[0]) > 0); \
        mnv2_model_destroy(f.m);                                                \
    }

/* features.0: stem conv 3x3 stride 2 + BN + ReLU6 */
CHECK(stem_conv_bn_relu6, 0.0, 0.0, "features.0.")
/* features.1: t = 1 block: depthwise stride 1, project, residual */
CHECK(depthwise_s1_project_residual, 0.0, 0.0, "features.1.")
/* features.2: expand, depthwise stride 2, project (no residual) */
CHECK(expand_depthwise_s2_project, 0.0, 0.0, "features.2.")
/* features.3: expand, depthwise stride 1, project + residual */
CHECK(expand_block_with_residual, 0.0, 0.0, "features.3.")
/* features.4: head 1x1 conv + BN + ReLU6, pooled; classifier */
CHECK(head_pool_classifier, 0.0, 0.0, "features.4.", "classifier.")
/* dropout before the classifier, and label smoothing, over the whole network */
CHECK(whole_model_dropout_smoothing, 0.3, 0.1, "features.", "classifier.")

/* Saturated ReLU6 (all inputs above 6, or all below 0) passes no gradient: with the BN beta of
 * features.2's depthwise layer at +20 or -20 every parameter before it (no residual path
 * crosses that stride-2 block) must get exactly zero gradient, and the rest stay correct. */
static void saturate(double beta)
{
    fixture f;
    setup_fixture(&f, 0.0, 0.0);
    uint32_t idx;
    assert_int_equal(mnv2_tensor_find(f.m, "features.2.conv.1.1.bias", &idx), MNV2_OK);
    float v[32];
    uint64_t numel;
    assert_int_equal(mnv2_tensor_info(f.m, idx, NULL, NULL, NULL, NULL, &numel), MNV2_OK);
    assert_true(numel <= 32);
    for (uint64_t j = 0; j < numel; j++)
        v[j] = (float)beta;
    assert_int_equal(mnv2_tensor_write(f.m, idx, MNV2_DATA_VALUE, v, numel), MNV2_OK);
    static const char *const after[] = {"features.2.conv.2", "features.3.", "features.4.", "classifier."};
    assert_true(check_tensors(&f, after, 4) > 0);
    /* check_tensors left the gradients of its last backward in place */
    static const char *const before[] = {"features.0.", "features.1.", "features.2.conv.0.", "features.2.conv.1."};
    uint32_t n = 0;
    assert_int_equal(mnv2_tensor_count(f.m, &n), MNV2_OK);
    int zeros = 0;
    for (uint32_t i = 0; i < n; i++) {
        const char *name;
        int32_t kind;
        uint64_t ne;
        assert_int_equal(mnv2_tensor_info(f.m, i, &name, &kind, NULL, NULL, &ne), MNV2_OK);
        int match = 0;
        for (int p = 0; p < 4; p++)
            match |= strncmp(name, before[p], strlen(before[p])) == 0;
        if (kind != MNV2_TENSOR_PARAM || !match)
            continue;
        float *g = malloc(ne * sizeof *g);
        assert_int_equal(mnv2_tensor_read(f.m, i, MNV2_DATA_GRAD, g, ne), MNV2_OK);
        for (uint64_t j = 0; j < ne; j++) {
            /* the saturated layer's own beta still gets no gradient either: ReLU6 is flat there */
            assert_true(g[j] == 0.0f);
            zeros++;
        }
        free(g);
    }
    assert_true(zeros > 100);
    mnv2_model_destroy(f.m);
}

static void relu6_saturated_high(void **state) { (void)state; saturate(20.0); }
static void relu6_saturated_low(void **state) { (void)state; saturate(-20.0); }

/* ---- Finite differences in double on a network with several chunks and bands per layer ----
 *
 * Input 52x52, batch 4: the 1x1 convolutions see 26x26x4 = 2704 rows (4 weight-gradient row
 * chunks, MNV2_WGRAD_MAX_CHUNKS), 13x13x4 = 676 rows (2 chunks) and 7x7x4 = 196 rows (1 chunk);
 * odd map sizes (13 -> 7) give tails; the depthwise training passes split the 26- and 13-row maps
 * into several bands per image. The chunk split depends on the shapes alone, so the same paths
 * run at every thread count: the check runs at 1 and at 3 threads.
 *
 * The loss is computed again by a reference forward in double written here (from the tensors read
 * through the API; its logits are checked against the engine's first), and differentiated by
 * central differences in double: step 1e-4 * max(|w|, 0.1), truncation error ~1e-8 relative,
 * rounding ~1e-12. The engine's float32 gradient must match within
 *   |analytic - numeric| <= 1e-3 |numeric| + 1e-4 max|numeric of the tensor|,
 * so a gradient 1% off fails: scaling every BN gamma gradient by 1.01 in lib/backward.c fails
 * 11 values, dropping row chunks 2 and 3 of the 1x1 weight gradient in lib/weight_grad.c fails
 * hundreds (checked by hand; the other engine tests pass with either mutation). The floor,
 * 1e-4 of the tensor's largest derivative plus 1e-5 of the model's, is for the BN biases that
 * a following BN cancels (derivative 0 in exact arithmetic, float32 noise ~1e-8 in the engine).
 * BN gamma near 0.5 and beta near 3 keep every ReLU6 input far from its kinks. */
#define BB 4
#define HB 52
#define CB 3
#define KB 6

static const int32_t chunky_rows[][4] = {{1, 8, 1, 1}, {3, 16, 1, 1}, {2, 16, 2, 2}, {3, 24, 1, 2}}; /* multiples of 8: no rounding */
#define N_ROWS 4
#define STEM 8
#define HEAD 24

static mnv2_model *chunky(int threads)
{
    mnv2_config *c = NULL;
    assert_int_equal(mnv2_config_create(MNV2_PRESET_REDUCED, &c), MNV2_OK);
    assert_int_equal(mnv2_config_set_blocks(c, &chunky_rows[0][0], N_ROWS), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_INPUT_HEIGHT, HB), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_INPUT_WIDTH, HB), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_INPUT_CHANNELS, CB), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_STEM_CHANNELS, STEM), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_HEAD_CHANNELS, HEAD), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_CLASSES, KB), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_MAX_BATCH, BB), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_THREADS, threads), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_SEED, 3), MNV2_OK);
    mnv2_model *m = NULL;
    assert_int_equal(mnv2_model_create(c, &m), MNV2_OK);
    mnv2_config_destroy(c);
    uint32_t n = 0;
    assert_int_equal(mnv2_tensor_count(m, &n), MNV2_OK);
    for (uint32_t i = 0; i < n; i++) {
        const char *name;
        int32_t kind;
        uint32_t ndim;
        uint64_t numel;
        assert_int_equal(mnv2_tensor_info(m, i, &name, &kind, &ndim, NULL, &numel), MNV2_OK);
        if (kind != MNV2_TENSOR_PARAM || ndim != 1 || strstr(name, "classifier"))
            continue;
        const int gamma = strstr(name, ".weight") != NULL;
        float *v = malloc(numel * sizeof *v);
        for (uint64_t j = 0; j < numel; j++)
            v[j] = gamma ? 0.5f + 0.1f * urand() : 3.0f + 0.3f * urand();
        assert_int_equal(mnv2_tensor_write(m, i, MNV2_DATA_VALUE, v, numel), MNV2_OK);
        free(v);
    }
    return m;
}

/* The reference network in double: every parameter tensor by index, in the model's order. */
typedef struct ref {
    uint32_t n;
    double *t[128];
} ref;

static const double *rt(const ref *r, const mnv2_model *m, const char *name)
{
    uint32_t i;
    assert_int_equal(mnv2_tensor_find(m, name, &i), MNV2_OK);
    return r->t[i];
}

/* 3x3 convolution, pad 1: depthwise (w [3][3][c]) or full (w [3][3][cin][cout]). */
static double *ref_conv3(const double *x, int b, int h, int w, int cin, const double *wt, int cout, int s, int dw,
                         int *ho, int *wo)
{
    const int oh = (h - 1) / s + 1, ow = (w - 1) / s + 1;
    double *y = calloc((size_t)b * oh * ow * cout, sizeof *y);
    for (int n = 0; n < b; n++)
        for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++) {
                double *o = y + (((size_t)n * oh + oy) * ow + ox) * cout;
                for (int ky = 0; ky < 3; ky++)
                    for (int kx = 0; kx < 3; kx++) {
                        const int iy = oy * s + ky - 1, ix = ox * s + kx - 1;
                        if (iy < 0 || iy >= h || ix < 0 || ix >= w)
                            continue;
                        const double *in = x + (((size_t)n * h + iy) * w + ix) * cin;
                        if (dw) {
                            for (int c = 0; c < cout; c++)
                                o[c] += in[c] * wt[(ky * 3 + kx) * cout + c];
                        } else {
                            for (int ci = 0; ci < cin; ci++)
                                for (int c = 0; c < cout; c++)
                                    o[c] += in[ci] * wt[((ky * 3 + kx) * cin + ci) * cout + c];
                        }
                    }
            }
    *ho = oh, *wo = ow;
    return y;
}

static double *ref_pw(const double *x, size_t rows, int cin, const double *wt, int cout)
{
    double *y = calloc(rows * cout, sizeof *y);
    for (size_t r = 0; r < rows; r++)
        for (int ci = 0; ci < cin; ci++)
            for (int c = 0; c < cout; c++)
                y[r * cout + c] += x[r * cin + ci] * wt[ci * cout + c];
    return y;
}

/* Training batch norm (batch mean, biased variance) and ReLU6 if act, in place. */
static void ref_bn(double *x, size_t rows, int c, const double *gamma, const double *beta, double eps, int act)
{
    for (int ch = 0; ch < c; ch++) {
        double mu = 0.0, var = 0.0;
        for (size_t r = 0; r < rows; r++)
            mu += x[r * c + ch];
        mu /= (double)rows;
        for (size_t r = 0; r < rows; r++)
            var += (x[r * c + ch] - mu) * (x[r * c + ch] - mu);
        var /= (double)rows;
        const double is = 1.0 / sqrt(var + eps);
        for (size_t r = 0; r < rows; r++) {
            double v = (x[r * c + ch] - mu) * is * gamma[ch] + beta[ch];
            if (act)
                v = v < 0.0 ? 0.0 : v > 6.0 ? 6.0 : v;
            x[r * c + ch] = v;
        }
    }
}

static double ref_loss(const ref *r, const mnv2_model *m, const float *xf, const int32_t *y, double *logits_out)
{
    double eps;
    assert_int_equal(mnv2_model_get_float(m, MNV2_KEY_BN_EPS, &eps), MNV2_OK);
    eps = (double)(float)eps;
    const size_t n_in = (size_t)BB * HB * HB * CB;
    double *x = malloc(n_in * sizeof *x);
    for (size_t i = 0; i < n_in; i++)
        x[i] = xf[i];
    int h, w, c = STEM;
    double *a = ref_conv3(x, BB, HB, HB, CB, rt(r, m, "features.0.0.weight"), STEM, 2, 0, &h, &w);
    free(x);
    ref_bn(a, (size_t)BB * h * w, c, rt(r, m, "features.0.1.weight"), rt(r, m, "features.0.1.bias"), eps, 1);
    char nm[64];
    int f = 1;
    for (int row = 0; row < N_ROWS; row++)
        for (int rep = 0; rep < chunky_rows[row][2]; rep++, f++) {
            const int t = chunky_rows[row][0], cout = chunky_rows[row][1], s = rep ? 1 : chunky_rows[row][3];
            const int hid = c * t, sub0 = t != 1;
            double *e = a;
            if (t != 1) {
                snprintf(nm, sizeof nm, "features.%d.conv.0.0.weight", f);
                e = ref_pw(a, (size_t)BB * h * w, c, rt(r, m, nm), hid);
                snprintf(nm, sizeof nm, "features.%d.conv.0.1.weight", f);
                const double *g = rt(r, m, nm);
                snprintf(nm, sizeof nm, "features.%d.conv.0.1.bias", f);
                ref_bn(e, (size_t)BB * h * w, hid, g, rt(r, m, nm), eps, 1);
            }
            int ho, wo;
            snprintf(nm, sizeof nm, "features.%d.conv.%d.0.weight", f, sub0);
            double *d = ref_conv3(e, BB, h, w, hid, rt(r, m, nm), hid, s, 1, &ho, &wo);
            snprintf(nm, sizeof nm, "features.%d.conv.%d.1.weight", f, sub0);
            const double *g = rt(r, m, nm);
            snprintf(nm, sizeof nm, "features.%d.conv.%d.1.bias", f, sub0);
            ref_bn(d, (size_t)BB * ho * wo, hid, g, rt(r, m, nm), eps, 1);
            snprintf(nm, sizeof nm, "features.%d.conv.%d.weight", f, sub0 + 1);
            double *p = ref_pw(d, (size_t)BB * ho * wo, hid, rt(r, m, nm), cout);
            snprintf(nm, sizeof nm, "features.%d.conv.%d.weight", f, sub0 + 2);
            g = rt(r, m, nm);
            snprintf(nm, sizeof nm, "features.%d.conv.%d.bias", f, sub0 + 2);
            ref_bn(p, (size_t)BB * ho * wo, cout, g, rt(r, m, nm), eps, 0);
            if (s == 1 && c == cout)
                for (size_t i = 0; i < (size_t)BB * ho * wo * cout; i++)
                    p[i] += a[i];
            if (e != a)
                free(e);
            free(d);
            free(a);
            a = p, h = ho, w = wo, c = cout;
        }
    snprintf(nm, sizeof nm, "features.%d.0.weight", f);
    double *hd = ref_pw(a, (size_t)BB * h * w, c, rt(r, m, nm), HEAD);
    free(a);
    snprintf(nm, sizeof nm, "features.%d.1.weight", f);
    const double *g = rt(r, m, nm);
    snprintf(nm, sizeof nm, "features.%d.1.bias", f);
    ref_bn(hd, (size_t)BB * h * w, HEAD, g, rt(r, m, nm), eps, 1);
    const double *fw = rt(r, m, "classifier.1.weight"), *fb = rt(r, m, "classifier.1.bias");
    double total = 0.0;
    for (int b = 0; b < BB; b++) {
        double pooled[HEAD] = {0}, lg[KB];
        for (int i = 0; i < h * w; i++)
            for (int ch = 0; ch < HEAD; ch++)
                pooled[ch] += hd[((size_t)b * h * w + i) * HEAD + ch] / (h * w);
        double mx = -1e300, sum = 0.0;
        for (int k = 0; k < KB; k++) {
            lg[k] = fb[k];
            for (int ch = 0; ch < HEAD; ch++)
                lg[k] += pooled[ch] * fw[ch * KB + k];
            mx = fmax(mx, lg[k]);
            if (logits_out)
                logits_out[b * KB + k] = lg[k];
        }
        for (int k = 0; k < KB; k++)
            sum += exp(lg[k] - mx);
        total -= lg[y[b]] - mx - log(sum);
    }
    free(hd);
    return total / BB;
}

static float xb[BB * HB * HB * CB];
static const int32_t yb[BB] = {1, 4, 0, 5};

static void fd_double(int threads)
{
    for (size_t i = 0; i < sizeof xb / sizeof xb[0]; i++)
        xb[i] = 1.5f * urand();
    mnv2_model *m = chunky(threads);
    float loss, logits[BB * KB];
    assert_int_equal(mnv2_forward(m, xb, BB * HB * HB * CB, BB, MNV2_MODE_TRAIN, logits, BB * KB), MNV2_OK);
    assert_int_equal(mnv2_backward(m, yb, BB, &loss), MNV2_OK);
    ref r;
    assert_int_equal(mnv2_tensor_count(m, &r.n), MNV2_OK);
    assert_true(r.n <= 128);
    for (uint32_t i = 0; i < r.n; i++) {
        int32_t kind;
        uint64_t numel;
        assert_int_equal(mnv2_tensor_info(m, i, NULL, &kind, NULL, NULL, &numel), MNV2_OK);
        r.t[i] = NULL;
        if (kind != MNV2_TENSOR_PARAM)
            continue;
        float *v = malloc(numel * sizeof *v);
        assert_int_equal(mnv2_tensor_read(m, i, MNV2_DATA_VALUE, v, numel), MNV2_OK);
        r.t[i] = malloc(numel * sizeof(double));
        for (uint64_t j = 0; j < numel; j++)
            r.t[i][j] = v[j];
        free(v);
    }
    /* The reference computes the same network. */
    double rl[BB * KB];
    const double l0 = ref_loss(&r, m, xb, yb, rl);
    for (int i = 0; i < BB * KB; i++)
        assert_true(fabs(rl[i] - logits[i]) <= 1e-4 * (1.0 + fabs(rl[i])));
    assert_true(fabs(l0 - loss) <= 1e-5 * (1.0 + l0));
    /* Numeric derivatives first (up to 16 values spread over each tensor, every value of small
     * ones), then the comparison: the absolute floor needs the largest gradient of the model. */
    static double num[128][16];
    static uint64_t at[128][16];
    int cnt[128] = {0};
    double tmax[128] = {0}, global = 0.0;
    for (uint32_t i = 0; i < r.n; i++) {
        uint64_t numel;
        if (!r.t[i])
            continue;
        assert_int_equal(mnv2_tensor_info(m, i, NULL, NULL, NULL, NULL, &numel), MNV2_OK);
        const uint64_t step = numel > 16 ? numel / 16 : 1;
        for (uint64_t j = (numel > 16 ? (uint64_t)(urand() * 0.5 * step + 0.5 * step) : 0); j < numel && cnt[i] < 16;
             j += step) {
            const double v0 = r.t[i][j], hh = 1e-4 * fmax(fabs(v0), 0.1);
            r.t[i][j] = v0 + hh;
            const double lp = ref_loss(&r, m, xb, yb, NULL);
            r.t[i][j] = v0 - hh;
            const double lm = ref_loss(&r, m, xb, yb, NULL);
            r.t[i][j] = v0;
            num[i][cnt[i]] = (lp - lm) / (2.0 * hh);
            at[i][cnt[i]] = j;
            tmax[i] = fmax(tmax[i], fabs(num[i][cnt[i]]));
            cnt[i]++;
        }
        global = fmax(global, tmax[i]);
    }
    int checked = 0, bad = 0;
    double worst = 0.0;
    for (uint32_t i = 0; i < r.n; i++) {
        const char *name;
        uint64_t numel;
        if (!r.t[i])
            continue;
        assert_int_equal(mnv2_tensor_info(m, i, &name, NULL, NULL, NULL, &numel), MNV2_OK);
        float *g = malloc(numel * sizeof *g);
        assert_int_equal(mnv2_tensor_read(m, i, MNV2_DATA_GRAD, g, numel), MNV2_OK);
        for (int q = 0; q < cnt[i]; q++) {
            const double nu = num[i][q], an = g[at[i][q]];
            const double floor = 1e-4 * tmax[i] + 1e-5 * global, err = fabs(nu - an), tol = 1e-3 * fabs(nu) + floor;
            worst = fmax(worst, err / (fabs(nu) + floor));
            if (err > tol) {
                bad++;
                print_message("%s[%llu]: analytic %.8g numeric %.8g\n", name, (unsigned long long)at[i][q], an, nu);
            }
            checked++;
        }
        free(g);
    }
    print_message("%d threads: %d values, largest gradient %.3g, worst |analytic - numeric| / (|numeric| + floor) = "
                  "%.3g\n", threads, checked, global, worst);
    for (uint32_t i = 0; i < r.n; i++)
        free(r.t[i]);
    assert_true(checked > 300);
    assert_int_equal(bad, 0);
    mnv2_model_destroy(m);
}

static void multi_chunk_fd_double_1_thread(void **state) { (void)state; fd_double(1); }
static void multi_chunk_fd_double_3_threads(void **state) { (void)state; fd_double(3); }

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stem_conv_bn_relu6),
        cmocka_unit_test(depthwise_s1_project_residual),
        cmocka_unit_test(expand_depthwise_s2_project),
        cmocka_unit_test(expand_block_with_residual),
        cmocka_unit_test(head_pool_classifier),
        cmocka_unit_test(whole_model_dropout_smoothing),
        cmocka_unit_test(relu6_saturated_high),
        cmocka_unit_test(relu6_saturated_low),
        cmocka_unit_test(multi_chunk_fd_double_1_thread),
        cmocka_unit_test(multi_chunk_fd_double_3_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
