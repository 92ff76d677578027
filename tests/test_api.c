/* SPDX-License-Identifier: BSD-2-Clause */
/* Misuse of the public API: every bad call returns its documented code, sets a message, writes
 * no out-parameter and crashes nothing. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "mnv2.h"

enum { S = 8, CH = 3, K = 4, MAXB = 2, N1 = S * S * CH };

static mnv2_model *small(int trainable)
{
    mnv2_config *c = NULL;
    assert_int_equal(mnv2_config_create(MNV2_PRESET_REDUCED, &c), MNV2_OK);
    const int32_t rows[][4] = {{2, 8, 1, 1}, {2, 16, 1, 2}};
    assert_int_equal(mnv2_config_set_blocks(c, &rows[0][0], 2), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_INPUT_HEIGHT, S), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_INPUT_WIDTH, S), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_CLASSES, K), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_MAX_BATCH, MAXB), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_TRAINABLE, trainable), MNV2_OK);
    mnv2_model *m = NULL;
    assert_int_equal(mnv2_model_create(c, &m), MNV2_OK);
    mnv2_config_destroy(c);
    return m;
}

static void status_strings(void **state)
{
    (void)state;
    for (int32_t s = 0; s >= -15; s--) {
        assert_non_null(mnv2_status_string(s));
        assert_string_not_equal(mnv2_status_string(s), "unknown status code");
    }
    assert_string_equal(mnv2_status_string(-9999), "unknown status code");
    assert_string_equal(mnv2_status_string(7), "unknown status code");
    assert_int_equal(mnv2_version(), MNV2_VERSION_NUMBER);
    assert_string_equal(mnv2_version_string(), MNV2_VERSION_STRING);
    assert_string_equal(mnv2_isa_name(MNV2_ISA_SCALAR), "scalar");
    assert_string_equal(mnv2_isa_name(12345), "unknown");
    assert_true(mnv2_cpu_isa() >= MNV2_ISA_SCALAR);
}

/* Sample mean, standard deviation and largest magnitude of tensor `name` of model m. */
static void tensor_moments(const mnv2_model *m, const char *name, double *mean, double *sd, double *maxabs)
{
    uint32_t idx, ndim, dims[4];
    int32_t kind;
    uint64_t n;
    const char *nm;
    assert_int_equal(mnv2_tensor_find(m, name, &idx), MNV2_OK);
    assert_int_equal(mnv2_tensor_info(m, idx, &nm, &kind, &ndim, dims, &n), MNV2_OK);
    static float v[65536];
    assert_true(n <= 65536);
    assert_int_equal(mnv2_tensor_read(m, idx, MNV2_DATA_VALUE, v, n), MNV2_OK);
    double s = 0.0, ss = 0.0, mx = 0.0;
    for (uint64_t i = 0; i < n; i++) {
        s += v[i];
        ss += (double)v[i] * v[i];
        mx = fabs(v[i]) > mx ? fabs(v[i]) : mx;
    }
    *mean = s / (double)n;
    *sd = sqrt(ss / (double)n - *mean * *mean);
    *maxabs = mx;
}

/* MNV2_KEY_INIT: each scheme's weights have its distribution (reduced preset: block features.2
 * expands 64 -> 384 channels; the classifier maps 256 -> 10). Standard deviations within 6%
 * (at least 3456 samples each: about 5 standard errors). */
static void init_schemes(void **state)
{
    (void)state;
    const double r3 = sqrt(3.0);
    const struct {
        int32_t scheme;
        double dw_sd, pw_sd, fc_sd, bias_bound; /* uniform schemes: bound = sd * sqrt(3) */
        int uniform;
    } cases[] = {
        {MNV2_INIT_TORCHVISION, sqrt(2.0 / (9 * 384)), sqrt(2.0 / 384), 0.01, 0.0, 0},
        {MNV2_INIT_KERAS, sqrt(6.0 / (9 * 384 + 9)) / r3, sqrt(6.0 / (64 + 384)) / r3, sqrt(6.0 / 266) / r3, 0.0, 1},
        {MNV2_INIT_TORCH, 1.0 / 3.0 / r3, 1.0 / 8.0 / r3, 1.0 / 16.0 / r3, 1.0 / 16.0, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mnv2_config *c = NULL;
        assert_int_equal(mnv2_config_create(MNV2_PRESET_REDUCED, &c), MNV2_OK);
        assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_TRAINABLE, 0), MNV2_OK);
        assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_INIT, cases[i].scheme), MNV2_OK);
        mnv2_model *m = NULL;
        assert_int_equal(mnv2_model_create(c, &m), MNV2_OK);
        mnv2_config_destroy(c);
        const char *names[] = {"features.2.conv.1.0.weight", "features.2.conv.0.0.weight", "classifier.1.weight"};
        const double sds[] = {cases[i].dw_sd, cases[i].pw_sd, cases[i].fc_sd};
        for (int t = 0; t < 3; t++) {
            double mean, sd, mx;
            tensor_moments(m, names[t], &mean, &sd, &mx);
            assert_true(fabs(sd / sds[t] - 1.0) < 0.06);
            assert_true(fabs(mean) < 0.1 * sds[t]);
            if (cases[i].uniform)
                assert_true(mx <= sds[t] * r3 * (1.0 + 1e-6));
        }
        double mean, sd, mx;
        tensor_moments(m, "classifier.1.bias", &mean, &sd, &mx);
        if (cases[i].bias_bound > 0.0)
            assert_true(mx > 0.0 && mx <= cases[i].bias_bound);
        else
            assert_true(mx == 0.0);
        mnv2_model_destroy(m);
    }
    mnv2_config *c = NULL;
    assert_int_equal(mnv2_config_create(MNV2_PRESET_REDUCED, &c), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_INIT, 3), MNV2_ERR_INVALID_ARGUMENT);
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_INIT, -1), MNV2_ERR_INVALID_ARGUMENT);
    mnv2_config_destroy(c);
}

static void config_misuse(void **state)
{
    (void)state;
    mnv2_config *c = (mnv2_config *)0x1;
    assert_int_equal(mnv2_config_create(99, &c), MNV2_ERR_INVALID_ARGUMENT);
    assert_true(c == (mnv2_config *)0x1); /* untouched */
    assert_true(strlen(mnv2_last_error()) > 0);
    assert_int_equal(mnv2_config_create(MNV2_PRESET_REDUCED, NULL), MNV2_ERR_INVALID_ARGUMENT);
    assert_int_equal(mnv2_config_set_int(NULL, MNV2_KEY_CLASSES, 3), MNV2_ERR_INVALID_ARGUMENT);
    mnv2_config_destroy(NULL);
    assert_int_equal(mnv2_config_create(MNV2_PRESET_REDUCED, &c), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(c, 9999, 3), MNV2_ERR_UNKNOWN_KEY);
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_WIDTH_MULT, 1), MNV2_ERR_UNKNOWN_KEY); /* float key */
    assert_int_equal(mnv2_config_set_float(c, MNV2_KEY_CLASSES, 3.0), MNV2_ERR_UNKNOWN_KEY); /* int key */
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_CLASSES, 0), MNV2_ERR_INVALID_ARGUMENT);
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_MAX_BATCH, -1), MNV2_ERR_INVALID_ARGUMENT);
    assert_int_equal(mnv2_config_set_float(c, MNV2_KEY_DROPOUT, 1.0), MNV2_ERR_INVALID_ARGUMENT);
    assert_int_equal(mnv2_config_set_float(c, MNV2_KEY_LR, NAN), MNV2_ERR_INVALID_ARGUMENT);
    assert_int_equal(mnv2_config_set_float(c, MNV2_KEY_BN_EPS, 0.0), MNV2_ERR_INVALID_ARGUMENT);
    int64_t v = 0;
    assert_int_equal(mnv2_config_get_int(c, MNV2_KEY_CLASSES, &v), MNV2_OK);
    assert_int_equal(v, 10);
    assert_int_equal(mnv2_config_get_int(c, MNV2_KEY_CLASSES, NULL), MNV2_ERR_INVALID_ARGUMENT);
    const int32_t bad_stride[4] = {6, 16, 1, 3}, bad_t[4] = {0, 16, 1, 1};
    assert_int_equal(mnv2_config_set_blocks(c, bad_stride, 1), MNV2_ERR_INVALID_ARGUMENT);
    assert_int_equal(mnv2_config_set_blocks(c, bad_t, 1), MNV2_ERR_INVALID_ARGUMENT);
    assert_int_equal(mnv2_config_set_blocks(c, bad_t, 0), MNV2_ERR_INVALID_ARGUMENT);
    assert_int_equal(mnv2_config_set_blocks(c, NULL, 1), MNV2_ERR_INVALID_ARGUMENT);
    int32_t rows[2][4];
    uint32_t nr = 0;
    assert_int_equal(mnv2_config_get_blocks(c, &rows[0][0], 2, &nr), MNV2_ERR_SIZE_MISMATCH);
    assert_int_equal(mnv2_config_get_blocks(c, NULL, 0, &nr), MNV2_OK);
    assert_int_equal(nr, 3);
    uint64_t st = 0;
    assert_int_equal(mnv2_config_stat(c, 999, 0, &st), MNV2_ERR_INVALID_ARGUMENT);
    assert_int_equal(mnv2_config_stat(c, MNV2_STAT_TRAIN_BYTES, 33, &st), MNV2_ERR_INVALID_ARGUMENT);
    mnv2_layer_info li;
    memset(&li, 0, sizeof li);
    assert_int_equal(mnv2_config_layer_info(c, 0, &li), MNV2_ERR_INVALID_ARGUMENT); /* struct_size 0 */
    mnv2_config_destroy(c);
}

static void model_misuse(void **state)
{
    (void)state;
    mnv2_model *out = (mnv2_model *)0x1;
    assert_int_equal(mnv2_model_create(NULL, &out), MNV2_ERR_INVALID_ARGUMENT);
    assert_true(out == (mnv2_model *)0x1);
    mnv2_model_destroy(NULL);
    mnv2_model *m = small(1);
    float x[MAXB * N1] = {0}, logits[MAXB * K];
    int32_t y[MAXB] = {1, 2};
    float loss = -1.0f;
    /* NULL handles and pointers */
    assert_int_equal(mnv2_forward(NULL, x, N1, 1, MNV2_MODE_INFER, NULL, 0), MNV2_ERR_INVALID_ARGUMENT);
    assert_int_equal(mnv2_forward(m, NULL, N1, 1, MNV2_MODE_INFER, NULL, 0), MNV2_ERR_INVALID_ARGUMENT);
    assert_int_equal(mnv2_backward(NULL, y, 1, &loss), MNV2_ERR_INVALID_ARGUMENT);
    assert_int_equal(mnv2_step(NULL), MNV2_ERR_INVALID_ARGUMENT);
    assert_int_equal(mnv2_zero_grad(NULL), MNV2_ERR_INVALID_ARGUMENT);
    assert_int_equal(mnv2_model_set_int(NULL, MNV2_KEY_LR_SCHEDULE, 1), MNV2_ERR_INVALID_ARGUMENT);
    assert_null(mnv2_parameters(NULL, NULL));
    assert_null(mnv2_gradients(NULL, NULL));
    /* batch zero or above the maximum; wrong sizes; unknown mode */
    assert_int_equal(mnv2_forward(m, x, 0, 0, MNV2_MODE_INFER, NULL, 0), MNV2_ERR_BATCH_SIZE);
    assert_int_equal(mnv2_forward(m, x, 3 * N1, 3, MNV2_MODE_INFER, NULL, 0), MNV2_ERR_BATCH_SIZE);
    assert_int_equal(mnv2_forward(m, x, N1 - 1, 1, MNV2_MODE_INFER, NULL, 0), MNV2_ERR_SIZE_MISMATCH);
    assert_int_equal(mnv2_forward(m, x, N1, 1, MNV2_MODE_INFER, logits, K - 1), MNV2_ERR_SIZE_MISMATCH);
    assert_int_equal(mnv2_forward(m, x, N1, 1, MNV2_MODE_INFER, NULL, K), MNV2_ERR_SIZE_MISMATCH);
    assert_int_equal(mnv2_forward(m, x, N1, 1, 7, NULL, 0), MNV2_ERR_INVALID_ARGUMENT);
    /* backward before forward, step before backward */
    assert_int_equal(mnv2_backward(m, y, 1, &loss), MNV2_ERR_BAD_STATE);
    assert_true(loss == -1.0f);
    assert_int_equal(mnv2_step(m), MNV2_ERR_BAD_STATE);
    assert_int_equal(mnv2_step_lr(m, 0.1f), MNV2_ERR_BAD_STATE);
    /* an inference forward does not enable backward */
    assert_int_equal(mnv2_forward(m, x, N1, 1, MNV2_MODE_INFER, logits, K), MNV2_OK);
    assert_int_equal(mnv2_backward(m, y, 1, &loss), MNV2_ERR_BAD_STATE);
    /* labels: wrong count, out of range */
    assert_int_equal(mnv2_forward(m, x, 2 * N1, 2, MNV2_MODE_TRAIN, NULL, 0), MNV2_OK);
    assert_int_equal(mnv2_backward(m, y, 1, &loss), MNV2_ERR_SIZE_MISMATCH);
    int32_t bad[MAXB] = {0, K};
    assert_int_equal(mnv2_backward(m, bad, 2, &loss), MNV2_ERR_INVALID_ARGUMENT);
    bad[1] = -1;
    assert_int_equal(mnv2_backward(m, bad, 2, &loss), MNV2_ERR_INVALID_ARGUMENT);
    float dl[MAXB * K] = {0};
    dl[3] = INFINITY;
    assert_int_equal(mnv2_backward_logits(m, dl, MAXB * K), MNV2_ERR_NOT_FINITE);
    assert_int_equal(mnv2_backward_logits(m, dl, MAXB * K - 1), MNV2_ERR_SIZE_MISMATCH);
    /* the pending forward survived the rejected calls */
    assert_int_equal(mnv2_backward(m, y, 2, &loss), MNV2_OK);
    assert_true(loss > 0.0f && isfinite(loss));
    assert_int_equal(mnv2_backward(m, y, 2, &loss), MNV2_ERR_BAD_STATE); /* twice */
    assert_int_equal(mnv2_step_lr(m, -1.0f), MNV2_ERR_INVALID_ARGUMENT);
    assert_int_equal(mnv2_step_lr(m, NAN), MNV2_ERR_INVALID_ARGUMENT);
    assert_int_equal(mnv2_step(m), MNV2_OK);
    assert_int_equal(mnv2_step(m), MNV2_ERR_BAD_STATE); /* step twice */
    int64_t step = 0;
    assert_int_equal(mnv2_model_get_int(m, MNV2_KEY_STEP, &step), MNV2_OK);
    assert_int_equal(step, 1);
    /* structural keys are read-only on a model, training keys are not */
    assert_int_equal(mnv2_model_set_int(m, MNV2_KEY_CLASSES, 3), MNV2_ERR_READ_ONLY);
    assert_int_equal(mnv2_model_set_int(m, MNV2_KEY_ISA, 0), MNV2_ERR_READ_ONLY);
    assert_int_equal(mnv2_model_set_float(m, MNV2_KEY_WIDTH_MULT, 0.5), MNV2_ERR_READ_ONLY);
    assert_int_equal(mnv2_model_set_float(m, MNV2_KEY_LR, 0.01), MNV2_OK);
    assert_int_equal(mnv2_model_set_int(m, 12345, 0), MNV2_ERR_UNKNOWN_KEY);
    /* tensors */
    uint32_t n = 0, idx = 0;
    assert_int_equal(mnv2_tensor_count(m, &n), MNV2_OK);
    assert_int_equal(mnv2_tensor_info(m, n, NULL, NULL, NULL, NULL, NULL), MNV2_ERR_INVALID_ARGUMENT);
    assert_int_equal(mnv2_tensor_find(m, "no.such.tensor", &idx), MNV2_ERR_NOT_FOUND);
    assert_int_equal(mnv2_tensor_find(m, "features.0.1.running_mean", &idx), MNV2_OK);
    float buf[64];
    uint64_t ne = 0;
    assert_int_equal(mnv2_tensor_info(m, idx, NULL, NULL, NULL, NULL, &ne), MNV2_OK);
    assert_true(ne == 32);
    assert_int_equal(mnv2_tensor_read(m, idx, MNV2_DATA_GRAD, buf, ne), MNV2_ERR_BAD_STATE); /* a buffer */
    assert_int_equal(mnv2_tensor_read(m, idx, MNV2_DATA_VALUE, buf, ne - 1), MNV2_ERR_SIZE_MISMATCH);
    assert_int_equal(mnv2_tensor_read(m, idx, 5, buf, ne), MNV2_ERR_INVALID_ARGUMENT);
    assert_int_equal(mnv2_tensor_read(m, idx, MNV2_DATA_VALUE, NULL, ne), MNV2_ERR_INVALID_ARGUMENT);
    assert_int_equal(mnv2_tensor_read(m, idx, MNV2_DATA_VALUE, buf, ne), MNV2_OK);
    float lr = 0.0f;
    assert_int_equal(mnv2_schedule_lr(m, -1, &lr), MNV2_ERR_INVALID_ARGUMENT);
    mnv2_model_destroy(m);
}

static void inference_only_model(void **state)
{
    (void)state;
    mnv2_model *m = small(0);
    float x[N1] = {0}, logits[K];
    int32_t y[1] = {0};
    assert_int_equal(mnv2_forward(m, x, N1, 1, MNV2_MODE_TRAIN, NULL, 0), MNV2_ERR_BAD_STATE);
    assert_int_equal(mnv2_forward(m, x, N1, 1, MNV2_MODE_INFER, logits, K), MNV2_OK);
    assert_int_equal(mnv2_backward(m, y, 1, NULL), MNV2_ERR_BAD_STATE);
    assert_int_equal(mnv2_step(m), MNV2_ERR_BAD_STATE);
    assert_int_equal(mnv2_zero_grad(m), MNV2_ERR_BAD_STATE);
    assert_null(mnv2_gradients(m, NULL));
    assert_null(mnv2_optimizer_state(m, NULL));
    assert_non_null(mnv2_parameters(m, NULL));
    mnv2_model_destroy(m);
}

/* The schedule: linear warm-up from lr * scale, cosine decay to 0 at the total step count. */
static void schedule_values(void **state)
{
    (void)state;
    mnv2_model *m = small(1);
    assert_int_equal(mnv2_model_set_int(m, MNV2_KEY_LR_SCHEDULE, MNV2_SCHEDULE_WARMUP_COSINE), MNV2_OK);
    assert_int_equal(mnv2_model_set_int(m, MNV2_KEY_WARMUP_STEPS, 10), MNV2_OK);
    assert_int_equal(mnv2_model_set_int(m, MNV2_KEY_TOTAL_STEPS, 30), MNV2_OK);
    float lr = 0.0f;
    assert_int_equal(mnv2_schedule_lr(m, 0, &lr), MNV2_OK);
    assert_float_equal(lr, 1e-5f, 1e-9f);
    assert_int_equal(mnv2_schedule_lr(m, 5, &lr), MNV2_OK);
    assert_float_equal(lr, 1e-3f * (0.01f + 0.99f * 0.5f), 1e-8f);
    assert_int_equal(mnv2_schedule_lr(m, 10, &lr), MNV2_OK);
    assert_float_equal(lr, 1e-3f, 1e-9f);
    assert_int_equal(mnv2_schedule_lr(m, 20, &lr), MNV2_OK);
    assert_float_equal(lr, 0.5e-3f, 1e-9f);
    assert_int_equal(mnv2_schedule_lr(m, 30, &lr), MNV2_OK);
    assert_float_equal(lr, 0.0f, 1e-9f);
    mnv2_model_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(status_strings),     cmocka_unit_test(config_misuse),
        cmocka_unit_test(model_misuse),       cmocka_unit_test(inference_only_model),
        cmocka_unit_test(schedule_values),    cmocka_unit_test(init_schemes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
