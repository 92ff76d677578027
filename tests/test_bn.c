/* SPDX-License-Identifier: BSD-2-Clause */
/* Batch-norm semantics against their definitions (white-box: reads the plan and the arena).
 * Training: normalise with the batch mean and biased variance; running statistics move by the
 * Keras momentum m (running = m * running + (1 - m) * batch) using the unbiased variance, as
 * PyTorch does. Inference: normalise with the running statistics. And the depthwise pre-BN
 * output the backward recomputes for the BN backward is the forward's, bit for bit. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mnv2.h"
#include "model.h"
#include "plan.h"

enum { B = 4, S = 8, CH = 3, K = 6 };

static mnv2_model *sized_model(double momentum, int32_t size)
{
    mnv2_config *c = NULL;
    assert_int_equal(mnv2_config_create(MNV2_PRESET_REDUCED, &c), MNV2_OK);
    const int32_t rows[][4] = {{2, 8, 1, 1}, {3, 16, 2, 2}};
    assert_int_equal(mnv2_config_set_blocks(c, &rows[0][0], 2), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_INPUT_HEIGHT, size), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_INPUT_WIDTH, size), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_INPUT_CHANNELS, CH), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_HEAD_CHANNELS, 24), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_CLASSES, K), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_MAX_BATCH, B), MNV2_OK);
    assert_int_equal(mnv2_config_set_float(c, MNV2_KEY_BN_MOMENTUM, momentum), MNV2_OK);
    mnv2_model *m = NULL;
    assert_int_equal(mnv2_model_create(c, &m), MNV2_OK);
    mnv2_config_destroy(c);
    return m;
}

static mnv2_model *small_model(double momentum) { return sized_model(momentum, S); }

static void fill(float *x, size_t n, uint64_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 6364136223846793005u + 1442695040888963407u;
        x[i] = (float)((seed >> 40) * (1.0 / 16777216.0)) * 4.0f - 1.0f;
    }
}

/* Training forward on B images of size x size (values offset + [-1, 1)): the stem's batch
 * statistics, running statistics and activations against a double-precision reference. */
static void check_training_statistics(int32_t size, float offset)
{
    const double mom = 0.9;
    mnv2_model *m = sized_model(mom, size);
    const size_t n = (size_t)B * size * size * CH;
    float *x = malloc(n * sizeof *x);
    assert_non_null(x);
    fill(x, n, 1);
    for (size_t i = 0; i < n; i++)
        x[i] += offset;
    /* non-trivial running statistics before the update */
    const plan_conv *c = &m->plan->stem;
    for (uint32_t ch = 0; ch < c->cout; ch++) {
        m->buffers[c->rmean + ch] = 0.5f + 0.1f * (float)ch;
        m->buffers[c->rvar + ch] = 2.0f - 0.05f * (float)ch;
        m->params[c->gamma + ch] = 1.0f + 0.1f * (float)ch;
        m->params[c->beta + ch] = 0.2f * (float)ch - 1.0f;
    }
    float rm0[64], rv0[64];
    memcpy(rm0, m->buffers + c->rmean, c->cout * sizeof(float));
    memcpy(rv0, m->buffers + c->rvar, c->cout * sizeof(float));
    assert_int_equal(mnv2_forward(m, x, n, B, MNV2_MODE_TRAIN, NULL, 0), MNV2_OK);
    const size_t rows = (size_t)B * c->out_h * c->out_w;
    const float *z = m->arena + c->z, *act = m->arena + m->plan->x0;
    for (uint32_t ch = 0; ch < c->cout; ch++) {
        double s = 0.0, ss = 0.0;
        for (size_t r = 0; r < rows; r++)
            s += z[r * c->cout + ch];
        const double mean = s / (double)rows;
        for (size_t r = 0; r < rows; r++)
            ss += (z[r * c->cout + ch] - mean) * (z[r * c->cout + ch] - mean);
        const double var = ss / (double)rows, unbiased = ss / (double)(rows - 1);
        const double want_rm = mom * rm0[ch] + (1.0 - mom) * mean;
        assert_true(fabs(m->buffers[c->rmean + ch] - want_rm) < 1e-5 * (1 + fabs(want_rm)));
        assert_true(fabs(m->buffers[c->rvar + ch] - (mom * rv0[ch] + (1.0 - mom) * unbiased)) < 1e-5 * (1 + unbiased));
        const double inv = 1.0 / sqrt(var + 1e-3);
        for (size_t r = 0; r < rows; r++) {
            double want = (z[r * c->cout + ch] - mean) * inv * m->params[c->gamma + ch] + m->params[c->beta + ch];
            want = want < 0.0 ? 0.0 : want > 6.0 ? 6.0 : want;
            assert_true(fabs(act[r * c->cout + ch] - want) < 1e-4);
        }
    }
    free(x);
    mnv2_model_destroy(m);
}

static void training_statistics(void **state)
{
    (void)state;
    check_training_statistics(S, 0.0f);
}

/* Several reduction chunks (30x30 input: 900 stem rows per batch of 4, the last chunk partial)
 * and a mean 100x the standard deviation, where a one-pass sum of squares would lose the variance. */
static void training_statistics_offset_chunks(void **state)
{
    (void)state;
    check_training_statistics(30, 100.0f);
}

/* With momentum 0 the running statistics become the batch's (variance unbiased); scaled back to
 * the biased variance, an inference forward on the same batch must reproduce the training logits. */
static void inference_uses_running_statistics(void **state)
{
    (void)state;
    mnv2_model *m = small_model(0.0);
    float x[B * S * S * CH], lt[B * K], li[B * K];
    fill(x, sizeof x / sizeof x[0], 2);
    assert_int_equal(mnv2_forward(m, x, sizeof x / sizeof x[0], B, MNV2_MODE_TRAIN, lt, B * K), MNV2_OK);
    const mnv2_plan *p = m->plan;
    const plan_conv *convs[3 * 8 + 2];
    int n = 0;
    convs[n++] = &p->stem;
    for (uint32_t i = 0; i < p->n_blocks; i++) {
        if (p->blocks[i].has_expand)
            convs[n++] = &p->blocks[i].expand;
        convs[n++] = &p->blocks[i].dw;
        convs[n++] = &p->blocks[i].project;
    }
    convs[n++] = &p->head;
    for (int i = 0; i < n; i++) {
        const double rows = (double)B * convs[i]->out_h * convs[i]->out_w;
        for (uint32_t ch = 0; ch < convs[i]->cout; ch++)
            m->buffers[convs[i]->rvar + ch] *= (float)((rows - 1.0) / rows);
    }
    assert_int_equal(mnv2_forward(m, x, sizeof x / sizeof x[0], B, MNV2_MODE_INFER, li, B * K), MNV2_OK);
    double worst = 0.0;
    for (int i = 0; i < B * K; i++) { /* not fmax(): gcc 12 for AArch64 ICEs vectorizing that loop */
        const double d = fabs(lt[i] - li[i]) / (1e-3 + fabs(lt[i]));
        worst = d > worst ? d : worst;
    }
    print_message("worst relative logit difference %.3g\n", worst);
    assert_true(worst < 1e-3);
    /* and a changed running mean changes the inference output (written through the public
     * pointer, which tells the model its folded inference weights are stale) */
    mnv2_buffers(m, NULL)[p->head.rmean] += 1.0f;
    assert_int_equal(mnv2_forward(m, x, sizeof x / sizeof x[0], B, MNV2_MODE_INFER, li, B * K), MNV2_OK);
    worst = 0.0;
    for (int i = 0; i < B * K; i++) {
        const double d = fabs(lt[i] - li[i]);
        worst = d > worst ? d : worst;
    }
    assert_true(worst > 1e-4);
    mnv2_model_destroy(m);
}

static void torch_momentum_convention(void **state)
{
    (void)state;
    mnv2_config *c = NULL;
    assert_int_equal(mnv2_config_create(MNV2_PRESET_REDUCED, &c), MNV2_OK);
    double v = 0.0;
    assert_int_equal(mnv2_config_get_float(c, MNV2_KEY_BN_MOMENTUM, &v), MNV2_OK);
    assert_true(v == 0.99);
    assert_int_equal(mnv2_config_get_float(c, MNV2_KEY_BN_EPS, &v), MNV2_OK);
    assert_true(v == 1e-3);
    assert_int_equal(mnv2_config_set_float(c, MNV2_KEY_BN_MOMENTUM_TORCH, 0.1), MNV2_OK);
    assert_int_equal(mnv2_config_get_float(c, MNV2_KEY_BN_MOMENTUM, &v), MNV2_OK);
    assert_true(fabs(v - 0.9) < 1e-12);
    mnv2_config_destroy(c);
}

/* The backward computes each depthwise convolution's pre-BN output again (it is not stored) and
 * must get the forward's bits (docs/design.md, "Invariants"): every dw3x3_fwd call of the
 * backward has the shape and the output (a hash of its bits) of one call of the training forward.
 * At 96x96 the first block's depthwise runs over two bands per image. */
enum { MAX_DW_CALLS = 256 };
typedef struct dw_call {
    size_t d[6]; /* h, w, c, stride, y0, y1 */
    uint64_t hash;
} dw_call;
static dw_call dw_calls[2][MAX_DW_CALLS];
static size_t n_dw_calls[2];
static int dw_phase;
static const mnv2_kernels *real_kernels;

static void logged_dw3x3_fwd(const float *in, size_t h, size_t w, size_t c, const float *wt, float *out, size_t ho,
                             size_t wo, size_t stride, size_t y0, size_t y1)
{
    real_kernels->dw3x3_fwd(in, h, w, c, wt, out, ho, wo, stride, y0, y1);
    uint64_t hash = 1469598103934665603u;
    const unsigned char *p = (const unsigned char *)(out + y0 * wo * c);
    for (size_t i = 0; i < (y1 - y0) * wo * c * sizeof(float); i++)
        hash = (hash ^ p[i]) * 1099511628211u;
    assert_true(n_dw_calls[dw_phase] < MAX_DW_CALLS);
    dw_call *l = &dw_calls[dw_phase][n_dw_calls[dw_phase]++];
    const size_t d[6] = {h, w, c, stride, y0, y1};
    memcpy(l->d, d, sizeof d);
    l->hash = hash;
}

static int cmp_dw_call(const void *a, const void *b) { return memcmp(a, b, sizeof(dw_call)); }

static void depthwise_recompute_bit_identical(void **state)
{
    (void)state;
    enum { SIZE = 96, NB = 2 };
    mnv2_model *m = sized_model(0.9, SIZE);
    mnv2_kernels logged = *m->k;
    logged.dw3x3_fwd = logged_dw3x3_fwd;
    real_kernels = m->k;
    m->k = &logged;
    const size_t n = (size_t)NB * SIZE * SIZE * CH;
    float *x = malloc(n * sizeof *x);
    assert_non_null(x);
    fill(x, n, 5);
    const int32_t y[NB] = {1, 4};
    float loss;
    memset(dw_calls, 0, sizeof dw_calls); /* the padding of each entry, which the sort compares */
    n_dw_calls[0] = n_dw_calls[1] = 0;
    dw_phase = 0;
    assert_int_equal(mnv2_forward(m, x, n, NB, MNV2_MODE_TRAIN, NULL, 0), MNV2_OK);
    dw_phase = 1;
    assert_int_equal(mnv2_backward(m, y, NB, &loss), MNV2_OK);
    size_t later_bands = 0;
    for (size_t i = 0; i < n_dw_calls[0]; i++)
        later_bands += dw_calls[0][i].d[4] > 0;
    print_message("%zu depthwise calls in the forward (%zu of later bands), %zu in the backward\n", n_dw_calls[0],
                  later_bands, n_dw_calls[1]);
    assert_true(later_bands > 0);
    assert_int_equal(n_dw_calls[0], n_dw_calls[1]);
    qsort(dw_calls[0], n_dw_calls[0], sizeof(dw_call), cmp_dw_call);
    qsort(dw_calls[1], n_dw_calls[1], sizeof(dw_call), cmp_dw_call);
    assert_memory_equal(dw_calls[0], dw_calls[1], n_dw_calls[0] * sizeof(dw_call));
    m->k = real_kernels;
    free(x);
    mnv2_model_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(training_statistics),
        cmocka_unit_test(training_statistics_offset_chunks),
        cmocka_unit_test(inference_uses_running_statistics),
        cmocka_unit_test(torch_momentum_convention),
        cmocka_unit_test(depthwise_recompute_bit_identical),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
