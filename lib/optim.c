/* mnv2_step: the optimizer over the contiguous parameter / gradient / state arrays, and the
 * learning-rate schedule. */
#include <math.h>
#include <string.h>

#include "internal_error.h"
#include "layers.h"

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

static void apply(mnv2_model *m, float lr)
{
    const mnv2_plan *p = m->plan;
    const mnv2_train_opts *t = &m->cfg.train;
    const size_t P = p->n_params;
    const int64_t step = t->step + 1;
    const float bc1 = (float)(1.0 - pow(t->beta1, (double)step)), bc2 = (float)(1.0 - pow(t->beta2, (double)step));
    for (uint32_t i = 0; i < p->n_tensors; i++) {
        const plan_tensor *ten = &p->tensors[i];
        if (ten->kind != MNV2_TENSOR_PARAM)
            continue;
        const float wd = (ten->decay || t->decay_all) ? (float)t->weight_decay : 0.0f;
        float *w = m->params + ten->off;
        const float *g = m->grads + ten->off;
        float *m1 = m->opt + ten->off, *m2 = m->opt + P + ten->off;
        if (t->optimizer == MNV2_OPTIMIZER_SGD)
            m->k->sgd(w, g, m1, ten->numel, lr, (float)t->momentum, (int)t->nesterov, wd);
        else
            m->k->adam(w, g, m1, m2, ten->numel, lr, (float)t->beta1, (float)t->beta2, (float)t->adam_eps, bc1, bc2,
                       wd, t->optimizer == MNV2_OPTIMIZER_ADAMW);
    }
    memset(m->grads, 0, P * sizeof(float));
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
