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
 * the truncation error of the central difference is O(h^2). */
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
