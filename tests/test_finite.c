/* SPDX-License-Identifier: BSD-2-Clause */
/* Non-finite numbers never enter a model: a training forward, a backward and a step that would
 * produce NaN or infinity fail with MNV2_ERR_NOT_FINITE and leave every parameter, running
 * statistic, gradient, optimizer value and the step counter exactly as they were; tensor writes
 * and loads refuse non-finite values. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "mnv2.h"
#include "mnv2_data.h"
#include "fuzz/fixcrc.h"

enum { S = 12, CH = 3, K = 5, B = 3, N1 = S * S * CH };

static mnv2_model *small(int32_t optimizer)
{
    mnv2_config *c = NULL;
    assert_int_equal(mnv2_config_create(MNV2_PRESET_REDUCED, &c), MNV2_OK);
    const int32_t rows[][4] = {{2, 8, 1, 1}, {3, 16, 2, 2}};
    assert_int_equal(mnv2_config_set_blocks(c, &rows[0][0], 2), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_INPUT_HEIGHT, S), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_INPUT_WIDTH, S), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_CLASSES, K), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_MAX_BATCH, B), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_THREADS, 2), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_OPTIMIZER, optimizer), MNV2_OK);
    assert_int_equal(mnv2_config_set_float(c, MNV2_KEY_DROPOUT, 0.2), MNV2_OK);
    mnv2_model *m = NULL;
    assert_int_equal(mnv2_model_create(c, &m), MNV2_OK);
    mnv2_config_destroy(c);
    return m;
}

static void fill(float *x, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        x[i] = (float)((seed >> 9) & 0xffff) / 32768.0f - 1.0f;
    }
}

/* Everything a failed call must leave alone, copied. */
typedef struct snap {
    float *p, *g, *b, *o;
    uint64_t np, nb;
    int64_t step, rng;
} snap;

static snap take(mnv2_model *m)
{
    snap s;
    float *p = mnv2_parameters(m, &s.np);
    float *b = mnv2_buffers(m, &s.nb);
    float *g = mnv2_gradients(m, NULL), *o = mnv2_optimizer_state(m, NULL);
    s.p = malloc(s.np * 4), s.g = malloc(s.np * 4), s.b = malloc(s.nb * 4), s.o = malloc(2 * s.np * 4);
    memcpy(s.p, p, s.np * 4), memcpy(s.g, g, s.np * 4), memcpy(s.b, b, s.nb * 4), memcpy(s.o, o, 2 * s.np * 4);
    assert_int_equal(mnv2_model_get_int(m, MNV2_KEY_STEP, &s.step), MNV2_OK);
    assert_int_equal(mnv2_model_get_int(m, MNV2_KEY_RNG_STATE, &s.rng), MNV2_OK);
    return s;
}

static void same(mnv2_model *m, snap *s)
{
    snap t = take(m);
    assert_memory_equal(s->p, t.p, s->np * 4);
    assert_memory_equal(s->g, t.g, s->np * 4);
    assert_memory_equal(s->b, t.b, s->nb * 4);
    assert_memory_equal(s->o, t.o, 2 * s->np * 4);
    assert_int_equal(s->step, t.step);
    assert_int_equal(s->rng, t.rng);
    free(t.p), free(t.g), free(t.b), free(t.o);
    free(s->p), free(s->g), free(s->b), free(s->o);
}

static void train_step(mnv2_model *m, unsigned seed)
{
    float x[B * N1];
    int32_t y[B] = {0, 1, 2};
    fill(x, B * N1, seed);
    assert_int_equal(mnv2_forward(m, x, B * N1, B, MNV2_MODE_TRAIN, NULL, 0), MNV2_OK);
    assert_int_equal(mnv2_backward(m, y, B, NULL), MNV2_OK);
    assert_int_equal(mnv2_step(m), MNV2_OK);
}

/* A NaN or infinite pixel: NOT_FINITE, running statistics and dropout stream untouched; the
 * next good batch trains as if the bad one never came. */
static void forward_nonfinite_input(void **state)
{
    (void)state;
    const float bad[] = {NAN, INFINITY, -INFINITY};
    for (int v = 0; v < 3; v++) {
        mnv2_model *m = small(MNV2_OPTIMIZER_ADAM), *ref = small(MNV2_OPTIMIZER_ADAM);
        train_step(m, 1);
        train_step(ref, 1);
        float x[B * N1], lg[B * K];
        fill(x, B * N1, 7);
        x[N1 + 17] = bad[v];
        snap s = take(m);
        assert_int_equal(mnv2_forward(m, x, B * N1, B, MNV2_MODE_TRAIN, lg, B * K), MNV2_ERR_NOT_FINITE);
        assert_non_null(strstr(mnv2_last_error(), "image 1"));
        same(m, &s);
        int32_t y[B] = {0, 1, 2};
        assert_int_equal(mnv2_backward(m, y, B, NULL), MNV2_ERR_BAD_STATE);
        /* The same good step on both: bit-identical parameters and statistics. */
        train_step(m, 3);
        train_step(ref, 3);
        uint64_t n, nb;
        float *p = mnv2_parameters(m, &n), *q = mnv2_parameters(ref, NULL);
        assert_memory_equal(p, q, n * 4);
        p = mnv2_buffers(m, &nb), q = mnv2_buffers(ref, NULL);
        assert_memory_equal(p, q, nb * 4);
        /* An inference forward still gives finite logits. */
        fill(x, B * N1, 9);
        assert_int_equal(mnv2_forward(m, x, B * N1, B, MNV2_MODE_INFER, lg, B * K), MNV2_OK);
        for (int i = 0; i < B * K; i++)
            assert_true(isfinite(lg[i]));
        mnv2_model_destroy(m);
        mnv2_model_destroy(ref);
    }
}

/* Huge but finite inputs overflow the activations inside the network: the forward names the layer. */
static void forward_overflow(void **state)
{
    (void)state;
    mnv2_model *m = small(MNV2_OPTIMIZER_ADAM);
    train_step(m, 1);
    float x[B * N1];
    fill(x, B * N1, 7);
    for (int i = 0; i < B * N1; i++)
        x[i] *= 3e38f;
    snap s = take(m);
    assert_int_equal(mnv2_forward(m, x, B * N1, B, MNV2_MODE_TRAIN, NULL, 0), MNV2_ERR_NOT_FINITE);
    assert_non_null(strstr(mnv2_last_error(), "features.0"));
    same(m, &s);
    mnv2_model_destroy(m);
}

/* Finite but enormous dlogits: the gradients overflow; backward refuses and keeps the gradients
 * accumulated so far (here: from an earlier backward). */
static void backward_overflow(void **state)
{
    (void)state;
    mnv2_model *m = small(MNV2_OPTIMIZER_ADAM);
    train_step(m, 1);
    float x[B * N1], d[B * K];
    int32_t y[B] = {2, 1, 0};
    fill(x, B * N1, 5);
    assert_int_equal(mnv2_forward(m, x, B * N1, B, MNV2_MODE_TRAIN, NULL, 0), MNV2_OK);
    assert_int_equal(mnv2_backward(m, y, B, NULL), MNV2_OK); /* gradients to keep */
    assert_int_equal(mnv2_forward(m, x, B * N1, B, MNV2_MODE_TRAIN, NULL, 0), MNV2_OK);
    for (int i = 0; i < B * K; i++)
        d[i] = (i % 2 ? 3e38f : -3e38f);
    snap s = take(m);
    assert_int_equal(mnv2_backward_logits(m, d, B * K), MNV2_ERR_NOT_FINITE);
    same(m, &s);
    /* From zero gradients too. */
    assert_int_equal(mnv2_zero_grad(m), MNV2_OK);
    assert_int_equal(mnv2_forward(m, x, B * N1, B, MNV2_MODE_TRAIN, NULL, 0), MNV2_OK);
    s = take(m);
    assert_int_equal(mnv2_backward_logits(m, d, B * K), MNV2_ERR_NOT_FINITE);
    same(m, &s);
    mnv2_model_destroy(m);
}

/* A gradient written by the caller (through the pointer, as an allreduce would) that is
 * infinite, or so large that Adam's second moment overflows: the step refuses and changes nothing. */
static void step_refuses(void **state)
{
    (void)state;
    const int32_t opts[] = {MNV2_OPTIMIZER_ADAM, MNV2_OPTIMIZER_ADAMW, MNV2_OPTIMIZER_SGD};
    const float bad[] = {INFINITY, NAN, 3e38f};
    for (int o = 0; o < 3; o++) {
        for (int v = 0; v < 3; v++) {
            if (opts[o] == MNV2_OPTIMIZER_SGD && v == 2)
                continue; /* SGD at lr 1e-3 keeps 3e38 finite: tested below with a large rate */
            mnv2_model *m = small(opts[o]);
            train_step(m, 1);
            float x[B * N1];
            int32_t y[B] = {0, 1, 2};
            fill(x, B * N1, 4);
            assert_int_equal(mnv2_forward(m, x, B * N1, B, MNV2_MODE_TRAIN, NULL, 0), MNV2_OK);
            assert_int_equal(mnv2_backward(m, y, B, NULL), MNV2_OK);
            uint64_t n;
            float *g = mnv2_gradients(m, &n);
            g[n / 2] = bad[v];
            snap s = take(m);
            assert_int_equal(mnv2_step(m), MNV2_ERR_NOT_FINITE);
            same(m, &s);
            s = take(m);
            assert_int_equal(mnv2_step_lr(m, 0.5f), MNV2_ERR_NOT_FINITE);
            same(m, &s);
            /* After clearing the gradients training goes on. */
            assert_int_equal(mnv2_zero_grad(m), MNV2_OK);
            train_step(m, 2);
            mnv2_model_destroy(m);
        }
    }
    /* SGD: a finite gradient with a learning rate that overflows the weights. */
    mnv2_model *m = small(MNV2_OPTIMIZER_SGD);
    float x[B * N1];
    int32_t y[B] = {0, 1, 2};
    fill(x, B * N1, 4);
    assert_int_equal(mnv2_forward(m, x, B * N1, B, MNV2_MODE_TRAIN, NULL, 0), MNV2_OK);
    assert_int_equal(mnv2_backward(m, y, B, NULL), MNV2_OK);
    uint64_t n;
    mnv2_gradients(m, &n)[n - 1] = 1e30f;
    snap s = take(m);
    assert_int_equal(mnv2_step_lr(m, 1e30f), MNV2_ERR_NOT_FINITE);
    assert_non_null(strstr(mnv2_last_error(), "overflow"));
    same(m, &s);
    mnv2_model_destroy(m);
}

static void write_rejects(void **state)
{
    (void)state;
    mnv2_model *m = small(MNV2_OPTIMIZER_ADAM);
    uint32_t count;
    assert_int_equal(mnv2_tensor_count(m, &count), MNV2_OK);
    int var_seen = 0;
    for (uint32_t i = 0; i < count; i++) {
        int32_t kind;
        uint64_t n;
        assert_int_equal(mnv2_tensor_info(m, i, NULL, &kind, NULL, NULL, &n), MNV2_OK);
        float *v = calloc(n, 4), *before = calloc(n, 4);
        assert_int_equal(mnv2_tensor_read(m, i, MNV2_DATA_VALUE, before, n), MNV2_OK);
        memcpy(v, before, n * 4);
        v[n - 1] = NAN;
        assert_int_equal(mnv2_tensor_write(m, i, MNV2_DATA_VALUE, v, n), MNV2_ERR_NOT_FINITE);
        v[n - 1] = -INFINITY;
        assert_int_equal(mnv2_tensor_write(m, i, MNV2_DATA_VALUE, v, n), MNV2_ERR_NOT_FINITE);
        if (kind == MNV2_TENSOR_PARAM) {
            assert_int_equal(mnv2_tensor_write(m, i, MNV2_DATA_GRAD, v, n), MNV2_ERR_NOT_FINITE);
        } else if (kind == MNV2_TENSOR_RUNNING_VAR) {
            var_seen = 1;
            v[n - 1] = -1e-3f;
            assert_int_equal(mnv2_tensor_write(m, i, MNV2_DATA_VALUE, v, n), MNV2_ERR_INVALID_ARGUMENT);
            v[n - 1] = 0.0f; /* zero variance is valid */
            assert_int_equal(mnv2_tensor_write(m, i, MNV2_DATA_VALUE, v, n), MNV2_OK);
            v[n - 1] = before[n - 1];
        }
        assert_int_equal(mnv2_tensor_read(m, i, MNV2_DATA_VALUE, v, n), MNV2_OK);
        if (kind != MNV2_TENSOR_RUNNING_VAR)
            assert_memory_equal(v, before, n * 4);
        free(v);
        free(before);
    }
    assert_true(var_seen);
    mnv2_model_destroy(m);
}

/* Replace the 4 bytes of float `from` in a file image by those of `to` (once; asserts there is
 * exactly one), then make the CRCs valid again. */
static void patch(uint8_t *d, size_t n, float from, float to)
{
    uint8_t a[4], b[4];
    memcpy(a, &from, 4), memcpy(b, &to, 4);
    size_t at = n;
    for (size_t i = 0; i + 4 <= n; i++)
        if (memcmp(d + i, a, 4) == 0) {
            assert_true(at == n);
            at = i;
        }
    assert_true(at < n);
    memcpy(d + at, b, 4);
    mnv2_test_fix_crcs(d, n);
}

/* A file holding a NaN weight, an infinite running mean, a negative running variance or a NaN
 * optimizer value (CRCs valid) does not load; a model holding one does not save. */
static void load_save_reject(void **state)
{
    (void)state;
    mnv2_model *m = small(MNV2_OPTIMIZER_ADAM);
    train_step(m, 1);
    const float mark = 1234.5678f;
    struct { const char *tensor; float bad; int32_t rc; } cases[] = {
        {"features.1.conv.0.0.weight", NAN, MNV2_ERR_NOT_FINITE},
        {"features.0.1.running_mean", INFINITY, MNV2_ERR_NOT_FINITE},
        {"features.0.1.running_var", -1.0f, MNV2_ERR_FORMAT},
        {NULL, NAN, MNV2_ERR_NOT_FINITE}, /* the optimizer state */
    };
    for (int c = 0; c < 4; c++) {
        float *slot, keep;
        if (cases[c].tensor) {
            uint32_t idx;
            assert_int_equal(mnv2_tensor_find(m, cases[c].tensor, &idx), MNV2_OK);
            float *base = strstr(cases[c].tensor, "running") ? mnv2_buffers(m, NULL) : mnv2_parameters(m, NULL);
            uint64_t off = 0;
            for (uint32_t i = 0; i < idx; i++) { /* offset: sum of earlier tensors of the same array */
                int32_t kind, k2;
                uint64_t n;
                assert_int_equal(mnv2_tensor_info(m, i, NULL, &kind, NULL, NULL, &n), MNV2_OK);
                assert_int_equal(mnv2_tensor_info(m, idx, NULL, &k2, NULL, NULL, NULL), MNV2_OK);
                if ((kind == MNV2_TENSOR_PARAM) == (k2 == MNV2_TENSOR_PARAM))
                    off += n;
            }
            slot = base + off;
        } else {
            slot = mnv2_optimizer_state(m, NULL) + 5;
        }
        keep = *slot;
        *slot = mark;
        mnv2_parameters(m, NULL);
        void *data = NULL;
        size_t size = 0;
        assert_int_equal(mnv2_checkpoint_save_mem(m, NULL, NULL, 0, NULL, 0, &data, &size), MNV2_OK);
        patch(data, size, mark, cases[c].bad);
        mnv2_model *l = NULL;
        assert_int_equal(mnv2_checkpoint_load_mem(data, size, NULL, &l, NULL), cases[c].rc);
        assert_null(l);
        assert_non_null(strstr(mnv2_last_error(), cases[c].rc == MNV2_ERR_NOT_FINITE ? "not finite" : "negative"));
        mnv2_buffer_free(data);
        /* The model itself holding the value: saving refuses, in memory and to a file. */
        if (cases[c].rc == MNV2_ERR_NOT_FINITE) {
            *slot = cases[c].bad;
            data = NULL;
            assert_int_equal(mnv2_checkpoint_save_mem(m, NULL, NULL, 0, NULL, 0, &data, &size), MNV2_ERR_NOT_FINITE);
            assert_null(data);
            if (cases[c].tensor)
                assert_int_equal(mnv2_model_save_mem(m, NULL, 0, &data, &size), MNV2_ERR_NOT_FINITE);
            assert_int_equal(mnv2_checkpoint_save(m, NULL, NULL, 0, NULL, 0, "test_finite_never.mnv2"),
                             MNV2_ERR_NOT_FINITE);
            assert_int_equal(access("test_finite_never.mnv2", F_OK), -1);
        }
        *slot = keep;
        mnv2_parameters(m, NULL);
    }
    mnv2_model_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(forward_nonfinite_input), cmocka_unit_test(forward_overflow),
        cmocka_unit_test(backward_overflow),       cmocka_unit_test(step_refuses),
        cmocka_unit_test(write_rejects),           cmocka_unit_test(load_save_reject),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
