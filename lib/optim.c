/* SPDX-License-Identifier: BSD-2-Clause */
/* mnv2_step: the optimizer over the contiguous parameter / gradient / state arrays, and the
 * learning-rate schedule. */
#include <math.h>
#include <stdatomic.h>
#include <string.h>

#include "internal_error.h"
#include "layers.h"
#include "pool.h"
#include "fpenv.h"

static double schedule(const struct mnv2_config *c, int64_t step)
{
    const mnv2_train_opts *t = &c->train;
    if (t->schedule != MNV2_SCHEDULE_WARMUP_COSINE)
        return t->lr;
    if (step < t->warmup_steps)
        return t->lr * (t->warmup_scale + (1.0 - t->warmup_scale) * (double)step / (double)t->warmup_steps);
    if (t->total_steps <= 0)
        return t->lr;
    const int64_t span = t->total_steps - t->warmup_steps > 1 ? t->total_steps - t->warmup_steps : 1;
    double progress = (double)(step - t->warmup_steps) / (double)span;
    if (progress > 1.0)
        progress = 1.0;
    return t->lr * 0.5 * (1.0 + cos(3.14159265358979323846 * progress));
}

static int32_t schedule_lr_body(const mnv2_model *m, int64_t step, float *lr)
{
    mnv2__clear_error();
    if (!m || !lr || step < 0)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_schedule_lr: NULL argument or negative step");
    *lr = (float)schedule(&m->cfg, step);
    return MNV2_OK;
}

/* ---- finiteness checks ---- */

#define CHECK_CHUNK 16384 /* floats per task of mnv2__all_finite() */

typedef struct finite_job {
    const float *a;
    size_t n;
    atomic_int bad;
} finite_job;

static int chunk_finite(const float *a, size_t n)
{
    /* A float is NaN or infinite exactly when its exponent bits are all set; the OR of the tests
     * vectorises without a branch. */
    uint32_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, a + i, sizeof u);
        bad |= (u & 0x7f800000u) == 0x7f800000u;
    }
    return !bad;
}

static void finite_task(void *ctx, size_t i, uint32_t thread)
{
    (void)thread;
    finite_job *j = ctx;
    const size_t lo = i * CHECK_CHUNK, n = j->n - lo < CHECK_CHUNK ? j->n - lo : CHECK_CHUNK;
    if (!chunk_finite(j->a + lo, n))
        atomic_store_explicit(&j->bad, 1, memory_order_relaxed);
}

int mnv2__all_finite(mnv2_model *m, const float *a, size_t n)
{
    finite_job j = {.a = a, .n = n};
    mnv2__pool_run(m->pool, (n + CHECK_CHUNK - 1) / CHECK_CHUNK, finite_task, &j);
    return !atomic_load(&j.bad);
}

/* One optimizer task per parameter tensor (each element's update is independent, so any split
 * gives the same result); its gradient is cleared in the same task. */
typedef struct step_job {
    mnv2_model *m;
    float lr, bc1, bc2;
    atomic_int bad;
    atomic_uint bad_tensor;
} step_job;

/* The update of n values of one tensor in place (gradient g read only). */
static void update(const step_job *j, const plan_tensor *ten, float *w, const float *g, float *m1, float *m2, size_t n)
{
    const mnv2_model *m = j->m;
    const mnv2_train_opts *t = &m->cfg.train;
    const float wd = (ten->decay || t->decay_all) ? (float)t->weight_decay : 0.0f;
    if (t->optimizer == MNV2_OPTIMIZER_SGD)
        m->k->sgd(w, g, m1, n, j->lr, (float)t->momentum, (int)t->nesterov, wd);
    else
        m->k->adam(w, g, m1, m2, n, j->lr, (float)t->beta1, (float)t->beta2, (float)t->adam_eps, j->bc1, j->bc2, wd,
                   t->optimizer == MNV2_OPTIMIZER_ADAMW);
}

/* The dry run: the same kernel on copies of the tensor's values, chunk by chunk on the stack, and
 * a check that every value it would write is finite. The chunks are multiples of every kernel's
 * vector width and the kernels are elementwise, so each value is computed exactly as the real
 * update will compute it. */
#define DRY_CHUNK 512
static void check_task(void *ctx, size_t i, uint32_t thread)
{
    (void)thread;
    step_job *j = ctx;
    const mnv2_model *m = j->m;
    const plan_tensor *ten = &m->plan->tensors[i];
    if (ten->kind != MNV2_TENSOR_PARAM)
        return;
    const size_t P = m->plan->n_params;
    const int adam = m->cfg.train.optimizer != MNV2_OPTIMIZER_SGD;
    float w[DRY_CHUNK], m1[DRY_CHUNK], m2[DRY_CHUNK];
    for (size_t lo = 0; lo < ten->numel; lo += DRY_CHUNK) {
        const size_t n = ten->numel - lo < DRY_CHUNK ? ten->numel - lo : DRY_CHUNK, off = ten->off + lo;
        memcpy(w, m->params + off, n * sizeof(float));
        memcpy(m1, m->opt + off, n * sizeof(float));
        if (adam)
            memcpy(m2, m->opt + P + off, n * sizeof(float));
        update(j, ten, w, m->grads + off, m1, m2, n);
        if (!chunk_finite(w, n) || !chunk_finite(m1, n) || (adam && !chunk_finite(m2, n))) {
            atomic_store_explicit(&j->bad_tensor, (unsigned)i, memory_order_relaxed);
            atomic_store_explicit(&j->bad, 1, memory_order_relaxed);
            return;
        }
    }
}

static void step_task(void *ctx, size_t i, uint32_t thread)
{
    (void)thread;
    const step_job *j = ctx;
    mnv2_model *m = j->m;
    const plan_tensor *ten = &m->plan->tensors[i];
    if (ten->kind != MNV2_TENSOR_PARAM)
        return;
    const size_t P = m->plan->n_params;
    float *g = m->grads + ten->off;
    update(j, ten, m->params + ten->off, g, m->opt + ten->off, m->opt + P + ten->off, ten->numel);
    memset(g, 0, ten->numel * sizeof(float));
}

/* All or nothing: the dry run first; the update only when every value it writes is finite. */
static int32_t apply(mnv2_model *m, float lr, const char *fn)
{
    const mnv2_train_opts *t = &m->cfg.train;
    const int64_t step = t->step + 1;
    step_job j = {
        .m = m, .lr = lr, .bc1 = (float)(1.0 - pow(t->beta1, (double)step)),
        .bc2 = (float)(1.0 - pow(t->beta2, (double)step)),
    };
    mnv2__pool_run(m->pool, m->plan->n_tensors, check_task, &j);
    if (atomic_load(&j.bad)) {
        const plan_tensor *ten = &m->plan->tensors[atomic_load(&j.bad_tensor)];
        const float *g = m->grads + ten->off;
        return mnv2__fail(MNV2_ERR_NOT_FINITE,
                          "%s: the update of '%s' would not be finite (%s); nothing was changed", fn, ten->name,
                          chunk_finite(g, ten->numel) ? "an overflow: gradient, learning rate or weights too large"
                                                      : "its gradient holds NaN or infinity");
    }
    mnv2__pool_run(m->pool, m->plan->n_tensors, step_task, &j);
    m->cfg.train.step = step;
    m->have_grads = 0;
    m->grads_zero = 1;
    m->fold_valid = 0;
    return MNV2_OK;
}

static int32_t step_check(mnv2_model *m, const char *fn)
{
    if (!m)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "%s: model is NULL", fn);
    if (!m->grads)
        return mnv2__fail(MNV2_ERR_BAD_STATE, "%s: inference-only model", fn);
    if (!m->have_grads)
        return mnv2__fail(MNV2_ERR_BAD_STATE, "%s: no backward since the last step", fn);
    return MNV2_OK;
}

static int32_t step_body(mnv2_model *m)
{
    mnv2__clear_error();
    int32_t st = step_check(m, "mnv2_step");
    if (st)
        return st;
    return apply(m, (float)schedule(&m->cfg, m->cfg.train.step), "mnv2_step");
}

static int32_t step_lr_body(mnv2_model *m, float lr)
{
    mnv2__clear_error();
    int32_t st = step_check(m, "mnv2_step_lr");
    if (st)
        return st;
    if (!(lr > 0.0f) || !isfinite(lr))
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_step_lr: learning rate %g must be positive and finite",
                          (double)lr);
    return apply(m, lr, "mnv2_step_lr");
}

int32_t mnv2_zero_grad(mnv2_model *m)
{
    mnv2__clear_error();
    if (!m)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_zero_grad: model is NULL");
    if (!m->grads)
        return mnv2__fail(MNV2_ERR_BAD_STATE, "mnv2_zero_grad: inference-only model");
    memset(m->grads, 0, m->plan->n_params * sizeof(float));
    m->have_grads = 0;
    m->grads_zero = 1;
    return MNV2_OK;
}

/* Public entry points that compute: in the library's floating-point environment (fpenv.h). */

int32_t mnv2_schedule_lr(const mnv2_model *m, int64_t step, float *lr)
{
    MNV2__RETURN_IN_FPENV(schedule_lr_body(m, step, lr));
}

int32_t mnv2_step(mnv2_model *m)
{
    MNV2__RETURN_IN_FPENV(step_body(m));
}

int32_t mnv2_step_lr(mnv2_model *m, float lr)
{
    MNV2__RETURN_IN_FPENV(step_lr_body(m, lr));
}
