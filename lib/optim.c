/* SPDX-License-Identifier: BSD-2-Clause */
/* mnv2_step: the optimizer over the contiguous parameter / gradient / state arrays, and the
 * learning-rate schedule. */
#include <math.h>
#include <string.h>

#include "internal_error.h"
#include "layers.h"
#include "pool.h"

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

int32_t mnv2_schedule_lr(const mnv2_model *m, int64_t step, float *lr)
{
    mnv2__clear_error();
    if (!m || !lr || step < 0)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_schedule_lr: NULL argument or negative step");
    *lr = (float)schedule(&m->cfg, step);
    return MNV2_OK;
}

/* One optimizer task per parameter tensor (each element's update is independent, so any split
 * gives the same result); its gradient is cleared in the same task. */
typedef struct step_job {
    mnv2_model *m;
    float lr, bc1, bc2;
} step_job;

static void step_task(void *ctx, size_t i, uint32_t thread)
{
    (void)thread;
    const step_job *j = ctx;
    mnv2_model *m = j->m;
    const mnv2_train_opts *t = &m->cfg.train;
    const plan_tensor *ten = &m->plan->tensors[i];
    if (ten->kind != MNV2_TENSOR_PARAM)
        return;
    const size_t P = m->plan->n_params;
    const float wd = (ten->decay || t->decay_all) ? (float)t->weight_decay : 0.0f;
    float *w = m->params + ten->off, *g = m->grads + ten->off;
    float *m1 = m->opt + ten->off, *m2 = m->opt + P + ten->off;
    if (t->optimizer == MNV2_OPTIMIZER_SGD)
        m->k->sgd(w, g, m1, ten->numel, j->lr, (float)t->momentum, (int)t->nesterov, wd);
    else
        m->k->adam(w, g, m1, m2, ten->numel, j->lr, (float)t->beta1, (float)t->beta2, (float)t->adam_eps, j->bc1,
                   j->bc2, wd, t->optimizer == MNV2_OPTIMIZER_ADAMW);
    memset(g, 0, ten->numel * sizeof(float));
}

static void apply(mnv2_model *m, float lr)
{
    const mnv2_train_opts *t = &m->cfg.train;
    const int64_t step = t->step + 1;
    step_job j = {m, lr, (float)(1.0 - pow(t->beta1, (double)step)), (float)(1.0 - pow(t->beta2, (double)step))};
    mnv2__pool_run(m->pool, m->plan->n_tensors, step_task, &j);
    m->cfg.train.step = step;
    m->have_grads = 0;
    m->fold_valid = 0;
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

int32_t mnv2_step(mnv2_model *m)
{
    mnv2__clear_error();
    int32_t st = step_check(m, "mnv2_step");
    if (st)
        return st;
    apply(m, (float)schedule(&m->cfg, m->cfg.train.step));
    return MNV2_OK;
}

int32_t mnv2_step_lr(mnv2_model *m, float lr)
{
    mnv2__clear_error();
    int32_t st = step_check(m, "mnv2_step_lr");
    if (st)
        return st;
    if (!(lr > 0.0f) || !isfinite(lr))
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_step_lr: learning rate %g must be positive and finite",
                          (double)lr);
    apply(m, lr);
    return MNV2_OK;
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
    return MNV2_OK;
}
