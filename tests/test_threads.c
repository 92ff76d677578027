/* SPDX-License-Identifier: BSD-2-Clause */
/* Results are bit-identical whatever the thread count (1 to 16): training steps (forward,
 * backward, Adam) and inference, at each ISA level this machine has, also where the depthwise
 * passes run several bands per image; and initialization, which runs no kernel, is bit-identical
 * at every level (docs/design.md, "Invariants"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mnv2.h"

/* 7 images of 34 x 37: the 1x1 weight gradients run over 4, 2 and 1 row chunks (plan.h). */
enum { B = 7, S = 34, CH = 3, K = 7, STEPS = 2 };

static void run(uint32_t threads, int32_t isa, float *params_out, uint64_t n_params, float *logits_out)
{
    mnv2_config *c = NULL;
    assert_int_equal(mnv2_config_create(MNV2_PRESET_REDUCED, &c), MNV2_OK);
    const int32_t rows[][4] = {{1, 16, 1, 1}, {6, 24, 2, 2}, {4, 40, 2, 2}};
    assert_int_equal(mnv2_config_set_blocks(c, &rows[0][0], 3), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_INPUT_HEIGHT, S), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_INPUT_WIDTH, S + 3), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_CLASSES, K), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_MAX_BATCH, B), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_THREADS, threads), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_ISA_MAX, isa), MNV2_OK);
    assert_int_equal(mnv2_config_set_float(c, MNV2_KEY_DROPOUT, 0.2), MNV2_OK);
    mnv2_model *m = NULL;
    assert_int_equal(mnv2_model_create(c, &m), MNV2_OK);
    mnv2_config_destroy(c);
    int64_t used = -1;
    assert_int_equal(mnv2_model_get_int(m, MNV2_KEY_ISA, &used), MNV2_OK);
    assert_true(used <= isa);
    const size_t n = (size_t)B * S * (S + 3) * CH;
    float *x = malloc(n * sizeof *x);
    uint64_t s = 9;
    for (size_t i = 0; i < n; i++) {
        s = s * 6364136223846793005u + 1442695040888963407u;
        x[i] = (float)((s >> 40) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
    }
    int32_t y[B] = {0, 3, 6, 2, 5, 1, 4};
    for (int step = 0; step < STEPS; step++) {
        float loss;
        assert_int_equal(mnv2_forward(m, x, n, B, MNV2_MODE_TRAIN, NULL, 0), MNV2_OK);
        assert_int_equal(mnv2_backward(m, y, B, &loss), MNV2_OK);
        assert_int_equal(mnv2_step(m), MNV2_OK);
    }
    assert_int_equal(mnv2_forward(m, x, n, B, MNV2_MODE_INFER, logits_out, B * K), MNV2_OK);
    uint64_t count = 0;
    const float *p = mnv2_parameters(m, &count);
    assert_int_equal(count, n_params);
    memcpy(params_out, p, count * sizeof(float));
    free(x);
    mnv2_model_destroy(m);
}

static void bit_identical_across_thread_counts(void **state)
{
    (void)state;
    mnv2_config *c = NULL;
    assert_int_equal(mnv2_config_create(MNV2_PRESET_REDUCED, &c), MNV2_OK);
    const int32_t rows[][4] = {{1, 16, 1, 1}, {6, 24, 2, 2}, {4, 40, 2, 2}};
    assert_int_equal(mnv2_config_set_blocks(c, &rows[0][0], 3), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_CLASSES, K), MNV2_OK);
    uint64_t np = 0;
    assert_int_equal(mnv2_config_stat(c, MNV2_STAT_PARAMS, 0, &np), MNV2_OK);
    mnv2_config_destroy(c);
    float *ref = malloc(np * sizeof *ref), *got = malloc(np * sizeof *got);
    float lref[B * K], lgot[B * K];
    const int32_t top = mnv2_cpu_isa();
    for (int32_t isa = MNV2_ISA_SCALAR; isa <= top; isa++) {
        if (top == MNV2_ISA_NEON && isa != MNV2_ISA_SCALAR && isa != MNV2_ISA_NEON)
            continue;
        run(1, isa, ref, np, lref);
        /* Up to 16 threads (oversubscribed on a small machine): more threads than row ranges
         * make the matrix products split over column blocks too. */
        static const uint32_t counts[] = {2, 3, 4, 8, 16};
        for (size_t ci = 0; ci < sizeof counts / sizeof counts[0]; ci++) {
            const uint32_t t = counts[ci];
            run(t, isa, got, np, lgot);
            print_message("isa %s, %u threads vs 1\n", mnv2_isa_name(isa), (unsigned)t);
            assert_memory_equal(ref, got, np * sizeof(float));
            assert_memory_equal(lref, lgot, sizeof lref);
        }
    }
    free(ref);
    free(got);
}

/* Several bands per image (80x80 input: the first block's depthwise passes run bands of 36 and 4
 * rows of its 40-row map, the plan's tile budget deciding), where the test above has one band: a
 * training step and inference at 1, 2 and 3 threads, at each level; the parameters after the step
 * and the logits compared. */
enum { BB = 2, BS = 80, BK = 5 };

static size_t run_banded(uint32_t threads, int32_t isa, float *out, size_t cap)
{
    mnv2_config *c = NULL;
    assert_int_equal(mnv2_config_create(MNV2_PRESET_REDUCED, &c), MNV2_OK);
    const int32_t rows[][4] = {{2, 8, 1, 1}, {3, 16, 2, 2}};
    assert_int_equal(mnv2_config_set_blocks(c, &rows[0][0], 2), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_INPUT_HEIGHT, BS), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_INPUT_WIDTH, BS), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_HEAD_CHANNELS, 24), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_CLASSES, BK), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_MAX_BATCH, BB), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_THREADS, threads), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_ISA_MAX, isa), MNV2_OK);
    mnv2_model *m = NULL;
    assert_int_equal(mnv2_model_create(c, &m), MNV2_OK);
    mnv2_config_destroy(c);
    const size_t n = (size_t)BB * BS * BS * CH;
    float *x = malloc(n * sizeof *x);
    assert_non_null(x);
    uint64_t s = 3;
    for (size_t i = 0; i < n; i++) {
        s = s * 6364136223846793005u + 1442695040888963407u;
        x[i] = (float)((s >> 40) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
    }
    const int32_t y[BB] = {1, 3};
    float loss;
    assert_int_equal(mnv2_forward(m, x, n, BB, MNV2_MODE_TRAIN, NULL, 0), MNV2_OK);
    assert_int_equal(mnv2_backward(m, y, BB, &loss), MNV2_OK);
    assert_int_equal(mnv2_step(m), MNV2_OK);
    uint64_t count = 0;
    const float *p = mnv2_parameters(m, &count);
    assert_true(count + BB * BK <= cap);
    memcpy(out, p, count * sizeof(float));
    assert_int_equal(mnv2_forward(m, x, n, BB, MNV2_MODE_INFER, out + count, BB * BK), MNV2_OK);
    free(x);
    mnv2_model_destroy(m);
    return count + BB * BK;
}

static void bit_identical_across_thread_counts_banded(void **state)
{
    (void)state;
    enum { CAP = 1 << 18 };
    float *ref = malloc(CAP * sizeof *ref), *got = malloc(CAP * sizeof *got);
    assert_non_null(ref);
    assert_non_null(got);
    const int32_t top = mnv2_cpu_isa();
    for (int32_t isa = MNV2_ISA_SCALAR; isa <= top; isa++) {
        if (top == MNV2_ISA_NEON && isa != MNV2_ISA_SCALAR && isa != MNV2_ISA_NEON)
            continue;
        const size_t n = run_banded(1, isa, ref, CAP);
        for (uint32_t t = 2; t <= 3; t++) {
            assert_int_equal(run_banded(t, isa, got, CAP), n);
            print_message("banded: isa %s, %u threads vs 1\n", mnv2_isa_name(isa), (unsigned)t);
            assert_memory_equal(ref, got, n * sizeof(float));
        }
    }
    free(ref);
    free(got);
}

/* Initialization computes no kernel: a new model's parameters are the same at every level. */
static void initialization_same_at_every_level(void **state)
{
    (void)state;
    const int32_t top = mnv2_cpu_isa();
    const float *ref = NULL;
    mnv2_model *first = NULL;
    uint64_t n_ref = 0;
    for (int32_t isa = MNV2_ISA_SCALAR; isa <= top; isa++) {
        if (top == MNV2_ISA_NEON && isa != MNV2_ISA_SCALAR && isa != MNV2_ISA_NEON)
            continue;
        mnv2_config *c = NULL;
        assert_int_equal(mnv2_config_create(MNV2_PRESET_REDUCED, &c), MNV2_OK);
        assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_TRAINABLE, 0), MNV2_OK);
        assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_ISA_MAX, isa), MNV2_OK);
        mnv2_model *m = NULL;
        assert_int_equal(mnv2_model_create(c, &m), MNV2_OK);
        mnv2_config_destroy(c);
        uint64_t n = 0;
        const float *p = mnv2_parameters(m, &n);
        if (!first) {
            first = m, ref = p, n_ref = n;
            continue;
        }
        print_message("isa %s vs scalar\n", mnv2_isa_name(isa));
        assert_int_equal(n, n_ref);
        assert_memory_equal(ref, p, n * sizeof(float));
        mnv2_model_destroy(m);
    }
    mnv2_model_destroy(first);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bit_identical_across_thread_counts),
        cmocka_unit_test(bit_identical_across_thread_counts_banded),
        cmocka_unit_test(initialization_same_at_every_level),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
