/* SPDX-License-Identifier: BSD-2-Clause */
/* The batch-statistics hook (mnv2_model_set_bn_stats_hook()), through the public API only.
 * - A hook that returns the statistics unchanged changes nothing, bit for bit, and is called once
 *   per batch-norm layer and phase; inference never calls it.
 * - Synchronised batch norm without MPI: two models on two threads, each with half of a batch,
 *   whose hooks exchange their statistics (forward: moments combined by Chan's update; backward:
 *   sums added) give, after averaging their gradients, the logits, running statistics, gradients
 *   and parameters (after several SGD steps) of one model holding the whole batch. Without the
 *   hook they do not (the negative control).
 * - Failures: a hook's non-zero return or an invalid count gives MNV2_ERR_HOOK. */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mnv2.h"

enum { HALF = 3, FULL = 2 * HALF, S = 12, CH = 3, K = 5, MAXC = 256, STEPS = 4 };

static mnv2_model *make_model(uint32_t max_batch)
{
    mnv2_config *c = NULL;
    assert_int_equal(mnv2_config_create(MNV2_PRESET_REDUCED, &c), MNV2_OK);
    const int32_t rows[][4] = {{1, 8, 1, 1}, {3, 16, 2, 2}};
    assert_int_equal(mnv2_config_set_blocks(c, &rows[0][0], 2), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_INPUT_HEIGHT, S), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_INPUT_WIDTH, S), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_INPUT_CHANNELS, CH), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_HEAD_CHANNELS, 24), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_CLASSES, K), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_MAX_BATCH, max_batch), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_SEED, 7), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_OPTIMIZER, MNV2_OPTIMIZER_SGD), MNV2_OK);
    assert_int_equal(mnv2_config_set_float(c, MNV2_KEY_LR, 0.05), MNV2_OK);
    assert_int_equal(mnv2_config_set_float(c, MNV2_KEY_BN_MOMENTUM, 0.9), MNV2_OK);
    mnv2_model *m = NULL;
    assert_int_equal(mnv2_model_create(c, &m), MNV2_OK);
    mnv2_config_destroy(c);
    return m;
}

static void fill(float *x, size_t n, uint64_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 6364136223846793005u + 1442695040888963407u;
        x[i] = (float)((seed >> 40) * (1.0 / 16777216.0)) * 4.0f - 1.0f;
    }
}

#define IMG ((size_t)S * S * CH)

/* ---- an identity hook changes nothing ---- */

typedef struct counter {
    int fwd, bwd, bad_phase, bad_name;
} counter;

static int32_t identity_hook(void *user, int32_t phase, const char *layer, uint32_t channels, double *count,
                             double *s1, double *s2)
{
    counter *c = user;
    (void)s1, (void)s2;
    if (phase == MNV2_BN_STATS_FORWARD)
        c->fwd++;
    else if (phase == MNV2_BN_STATS_BACKWARD)
        c->bwd++;
    else
        c->bad_phase++;
    if (!layer || !layer[0] || channels == 0 || channels > MAXC || *count < 1)
        c->bad_name++;
    return 0;
}

static void identity_changes_nothing(void **state)
{
    (void)state;
    mnv2_model *a = make_model(FULL), *b = make_model(FULL);
    counter cnt = {0, 0, 0, 0};
    assert_int_equal(mnv2_model_set_bn_stats_hook(b, identity_hook, &cnt), MNV2_OK);
    float x[FULL * IMG], la[FULL * K], lb[FULL * K];
    int32_t y[FULL];
    for (int step = 0; step < 2; step++) {
        fill(x, FULL * IMG, 11 + (uint64_t)step);
        for (int i = 0; i < FULL; i++)
            y[i] = (i * 3 + step) % K;
        assert_int_equal(mnv2_forward(a, x, FULL * IMG, FULL, MNV2_MODE_TRAIN, la, FULL * K), MNV2_OK);
        assert_int_equal(mnv2_forward(b, x, FULL * IMG, FULL, MNV2_MODE_TRAIN, lb, FULL * K), MNV2_OK);
        assert_memory_equal(la, lb, sizeof la);
        assert_int_equal(mnv2_backward(a, y, FULL, NULL), MNV2_OK);
        assert_int_equal(mnv2_backward(b, y, FULL, NULL), MNV2_OK);
        uint64_t n, n2;
        const float *ga = mnv2_gradients(a, &n), *gb = mnv2_gradients(b, &n2);
        assert_int_equal(n, n2);
        assert_memory_equal(ga, gb, n * sizeof *ga);
        assert_int_equal(mnv2_step(a), MNV2_OK);
        assert_int_equal(mnv2_step(b), MNV2_OK);
    }
    uint64_t n, n2;
    const float *ra = mnv2_buffers(a, &n), *rb = mnv2_buffers(b, &n2);
    assert_memory_equal(ra, rb, n * sizeof *ra);
    /* stem + head + (dw, project) + 2 x (expand, dw, project) = 10 batch-norm layers */
    assert_int_equal(cnt.fwd, 2 * 10);
    assert_int_equal(cnt.bwd, 2 * 10);
    assert_int_equal(cnt.bad_phase, 0);
    assert_int_equal(cnt.bad_name, 0);
    /* Inference never calls it. */
    assert_int_equal(mnv2_forward(b, x, FULL * IMG, FULL, MNV2_MODE_INFER, lb, FULL * K), MNV2_OK);
    assert_int_equal(cnt.fwd, 2 * 10);
    mnv2_model_destroy(a);
    mnv2_model_destroy(b);
}

/* ---- two "processes" (threads) with synchronised batch norm against one with the whole batch ---- */

typedef struct exchange {
    pthread_barrier_t bar;
    double slot[2][1 + 2 * MAXC];
    float *grad[2];
    int overflow;
} exchange;

typedef struct worker {
    exchange *ex;
    int rank, sync;
    mnv2_model *m;
    const float *x; /* this worker's HALF images of every step, consecutive */
    const int32_t *y;
    float logits[STEPS][HALF * K];
} worker;

/* The hook: publish this rank's (count, s1, s2), wait for the other, combine both in rank order. */
static int32_t sync_hook(void *user, int32_t phase, const char *layer, uint32_t channels, double *count, double *s1,
                         double *s2)
{
    worker *w = user;
    exchange *ex = w->ex;
    (void)layer;
    if (channels > MAXC) {
        ex->overflow = 1;
        return -1;
    }
    double *mine = ex->slot[w->rank];
    mine[0] = *count;
    memcpy(mine + 1, s1, channels * sizeof *s1);
    memcpy(mine + 1 + channels, s2, channels * sizeof *s2);
    pthread_barrier_wait(&ex->bar);
    const double *p = ex->slot[0], *q = ex->slot[1];
    const double na = p[0], nb = q[0], n = na + nb;
    for (uint32_t c = 0; c < channels; c++) {
        if (phase == MNV2_BN_STATS_FORWARD) { /* Chan et al.: mean and biased variance of the union */
            const double ma = p[1 + c], mb = q[1 + c], d = mb - ma;
            s1[c] = ma + d * nb / n;
            s2[c] = (p[1 + channels + c] * na + q[1 + channels + c] * nb + d * d * na * nb / n) / n;
        } else { /* sums add */
            s1[c] = p[1 + c] + q[1 + c];
            s2[c] = p[1 + channels + c] + q[1 + channels + c];
        }
    }
    *count = n;
    pthread_barrier_wait(&ex->bar); /* both have read the slots before either writes again */
    return 0;
}

static void *worker_run(void *arg)
{
    worker *w = arg;
    if (w->sync && mnv2_model_set_bn_stats_hook(w->m, sync_hook, w) != MNV2_OK)
        return arg;
    for (int s = 0; s < STEPS; s++) {
        if (mnv2_forward(w->m, w->x + (size_t)s * HALF * IMG, HALF * IMG, HALF, MNV2_MODE_TRAIN, w->logits[s],
                         HALF * K) != MNV2_OK ||
            mnv2_backward(w->m, w->y + s * HALF, HALF, NULL) != MNV2_OK)
            return arg;
        /* gradient "all-reduce": average the two ranks' buffers, in rank order */
        uint64_t n;
        float *g = mnv2_gradients(w->m, &n);
        float *mine = malloc(n * sizeof *mine);
        if (!mine)
            return arg;
        memcpy(mine, g, n * sizeof *g);
        w->ex->grad[w->rank] = mine;
        pthread_barrier_wait(&w->ex->bar);
        for (uint64_t i = 0; i < n; i++)
            g[i] = (w->ex->grad[0][i] + w->ex->grad[1][i]) / 2.0f;
        pthread_barrier_wait(&w->ex->bar);
        free(mine);
        if (mnv2_step(w->m) != MNV2_OK)
            return arg;
    }
    return NULL;
}

/* |a - b| <= tol * (max |b| over the tensor) + 1e-7: float32 rounding of sums taken in another order. */
static double worst(const float *a, const float *b, size_t n)
{
    double scale = 0.0, err = 0.0;
    for (size_t i = 0; i < n; i++)
        scale = fabs(b[i]) > scale ? fabs(b[i]) : scale;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - b[i]) / (scale + 1e-7);
        err = e > err ? e : err;
    }
    return err;
}

/* Runs both workers (sync or not) and one full-batch model; returns the largest relative error over
 * logits, running statistics and parameters after STEPS steps. */
static double two_against_one(int sync)
{
    float *x = malloc((size_t)STEPS * FULL * IMG * sizeof *x), *xs[2];
    int32_t y[STEPS * FULL], ys[2][STEPS * HALF];
    assert_non_null(x);
    fill(x, (size_t)STEPS * FULL * IMG, 3);
    for (int i = 0; i < STEPS * FULL; i++)
        y[i] = (i * 7 + 1) % K;
    /* rank r holds images r * HALF .. r * HALF + HALF - 1 of every full batch */
    for (int r = 0; r < 2; r++) {
        xs[r] = malloc((size_t)STEPS * HALF * IMG * sizeof *x);
        assert_non_null(xs[r]);
        for (int s = 0; s < STEPS; s++) {
            memcpy(xs[r] + (size_t)s * HALF * IMG, x + ((size_t)s * FULL + (size_t)r * HALF) * IMG,
                   HALF * IMG * sizeof *x);
            memcpy(ys[r] + s * HALF, y + s * FULL + r * HALF, HALF * sizeof *y);
        }
    }
    exchange ex;
    memset(&ex, 0, sizeof ex);
    assert_int_equal(pthread_barrier_init(&ex.bar, NULL, 2), 0);
    worker w[2];
    pthread_t th[2];
    for (int r = 0; r < 2; r++) {
        w[r] = (worker){.ex = &ex, .rank = r, .sync = sync, .m = make_model(HALF), .x = xs[r], .y = ys[r]};
        assert_int_equal(pthread_create(&th[r], NULL, worker_run, &w[r]), 0);
    }
    void *res[2];
    for (int r = 0; r < 2; r++)
        assert_int_equal(pthread_join(th[r], &res[r]), 0);
    assert_null(res[0]);
    assert_null(res[1]);
    assert_int_equal(ex.overflow, 0);
    pthread_barrier_destroy(&ex.bar);

    mnv2_model *one = make_model(FULL);
    float lf[STEPS][FULL * K];
    for (int s = 0; s < STEPS; s++) {
        assert_int_equal(mnv2_forward(one, x + (size_t)s * FULL * IMG, FULL * IMG, FULL, MNV2_MODE_TRAIN, lf[s],
                                      FULL * K),
                         MNV2_OK);
        assert_int_equal(mnv2_backward(one, y + s * FULL, FULL, NULL), MNV2_OK);
        assert_int_equal(mnv2_step(one), MNV2_OK);
    }
    double err = 0.0, e;
    for (int s = 0; s < STEPS; s++)
        for (int r = 0; r < 2; r++)
            if ((e = worst(w[r].logits[s], lf[s] + r * HALF * K, HALF * K)) > err)
                err = e;
    uint64_t n1, n2;
    for (int r = 0; r < 2; r++) {
        const float *pa = mnv2_parameters(w[r].m, &n1), *pb = mnv2_parameters(one, &n2);
        assert_int_equal(n1, n2);
        if ((e = worst(pa, pb, n1)) > err)
            err = e;
        pa = mnv2_buffers(w[r].m, &n1), pb = mnv2_buffers(one, &n2);
        if ((e = worst(pa, pb, n1)) > err)
            err = e;
    }
    /* Parameters agree to the last bit between the two workers: they stepped identically. */
    const float *p0 = mnv2_parameters(w[0].m, &n1), *p1 = mnv2_parameters(w[1].m, &n2);
    assert_memory_equal(p0, p1, n1 * sizeof *p0);
    mnv2_model_destroy(one);
    mnv2_model_destroy(w[0].m);
    mnv2_model_destroy(w[1].m);
    free(xs[0]), free(xs[1]), free(x);
    return err;
}

static void sync_matches_full_batch(void **state)
{
    (void)state;
    const double err = two_against_one(1);
    print_message("synchronised: largest relative difference %.3g\n", err);
    assert_true(err < 2e-5);
}

static void unsynced_differs(void **state)
{
    (void)state;
    const double err = two_against_one(0);
    print_message("per-process statistics: largest relative difference %.3g\n", err);
    assert_true(err > 1e-2);
}

/* ---- failures ---- */

static int32_t failing_hook(void *user, int32_t phase, const char *layer, uint32_t channels, double *count,
                            double *s1, double *s2)
{
    int *calls = user;
    (void)phase, (void)layer, (void)channels, (void)count, (void)s1, (void)s2;
    ++*calls;
    return 3;
}

static int32_t bad_count_hook(void *user, int32_t phase, const char *layer, uint32_t channels, double *count,
                              double *s1, double *s2)
{
    (void)user, (void)layer, (void)channels, (void)s1, (void)s2;
    if (phase == MNV2_BN_STATS_BACKWARD)
        *count = NAN;
    return 0;
}

static void failures(void **state)
{
    (void)state;
    mnv2_model *m = make_model(FULL);
    float x[FULL * IMG];
    int32_t y[FULL] = {0, 1, 2, 3, 4, 0};
    fill(x, FULL * IMG, 5);
    int calls = 0;
    assert_int_equal(mnv2_model_set_bn_stats_hook(NULL, failing_hook, &calls), MNV2_ERR_INVALID_ARGUMENT);
    assert_int_equal(mnv2_model_set_bn_stats_hook(m, failing_hook, &calls), MNV2_OK);
    assert_int_equal(mnv2_forward(m, x, FULL * IMG, FULL, MNV2_MODE_TRAIN, NULL, 0), MNV2_ERR_HOOK);
    assert_int_equal(calls, 1); /* not called again in the failed pass */
    assert_true(strstr(mnv2_last_error(), "callback") != NULL);
    assert_int_equal(mnv2_backward(m, y, FULL, NULL), MNV2_ERR_BAD_STATE);
    /* Removed: training works again. */
    assert_int_equal(mnv2_model_set_bn_stats_hook(m, NULL, NULL), MNV2_OK);
    assert_int_equal(mnv2_forward(m, x, FULL * IMG, FULL, MNV2_MODE_TRAIN, NULL, 0), MNV2_OK);
    assert_int_equal(mnv2_backward(m, y, FULL, NULL), MNV2_OK);
    /* An invalid count in the backward phase. */
    assert_int_equal(mnv2_model_set_bn_stats_hook(m, bad_count_hook, NULL), MNV2_OK);
    assert_int_equal(mnv2_forward(m, x, FULL * IMG, FULL, MNV2_MODE_TRAIN, NULL, 0), MNV2_OK);
    assert_int_equal(mnv2_backward(m, y, FULL, NULL), MNV2_ERR_HOOK);
    assert_int_equal(mnv2_zero_grad(m), MNV2_OK);
    assert_string_not_equal(mnv2_status_string(MNV2_ERR_HOOK), "unknown status code");
    mnv2_model_destroy(m);
    /* Inference-only models have no training pass. */
    mnv2_config *c = NULL;
    assert_int_equal(mnv2_config_create(MNV2_PRESET_REDUCED, &c), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_TRAINABLE, 0), MNV2_OK);
    assert_int_equal(mnv2_model_create(c, &m), MNV2_OK);
    mnv2_config_destroy(c);
    assert_int_equal(mnv2_model_set_bn_stats_hook(m, failing_hook, &calls), MNV2_ERR_BAD_STATE);
    mnv2_model_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(identity_changes_nothing),
        cmocka_unit_test(sync_matches_full_batch),
        cmocka_unit_test(unsynced_differs),
        cmocka_unit_test(failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
