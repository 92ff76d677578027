/* SPDX-License-Identifier: BSD-2-Clause */
/* 4-wide optimizer updates (SSE4.1, NEON): the scalar formulas four parameters at a time. Square
 * root and divide are correctly rounded and every multiply-add is a multiply, then an add (not
 * v4_madd), on both levels, so the results match the scalar kernels. */
#include <math.h>

#include "kernels/kernels.h"
#include "vec4.h"

INLINE void adam_loop(float *p, const float *g, float *m, float *v, size_t n, float lr, float beta1, float beta2,
                      float eps, float bc1, float bc2, float wd, int decoupled)
{
    const float step = lr / bc1, rbc2 = 1.0f / sqrtf(bc2);
    const v4 vb1 = v4_dup(beta1), vb2 = v4_dup(beta2), v1b1 = v4_dup(1.0f - beta1), v1b2 = v4_dup(1.0f - beta2),
             vwd = v4_dup(wd), vlrwd = v4_dup(lr * wd), vstep = v4_dup(step), vr = v4_dup(rbc2), veps = v4_dup(eps);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        v4 pi = v4_load(p + i), gi = v4_load(g + i);
        if (!decoupled)
            gi = v4_add(gi, v4_mul(vwd, pi));
        else
            pi = v4_sub(pi, v4_mul(vlrwd, pi));
        const v4 mi = v4_add(v4_mul(vb1, v4_load(m + i)), v4_mul(v1b1, gi));
        const v4 vi = v4_add(v4_mul(vb2, v4_load(v + i)), v4_mul(v4_mul(v1b2, gi), gi));
        const v4 den = v4_add(v4_mul(v4_sqrt(vi), vr), veps);
        v4_store(m + i, mi), v4_store(v + i, vi);
        v4_store(p + i, v4_sub(pi, v4_div(v4_mul(vstep, mi), den)));
    }
    for (; i < n; i++) {
        float gi = g[i];
        if (!decoupled)
            gi += wd * p[i];
        else
            p[i] -= lr * wd * p[i];
        m[i] = beta1 * m[i] + (1.0f - beta1) * gi;
        v[i] = beta2 * v[i] + (1.0f - beta2) * gi * gi;
        p[i] -= step * m[i] / (sqrtf(v[i]) * rbc2 + eps);
    }
}

void V4_FN(adam)(float *p, const float *g, float *m, float *v, size_t n, float lr, float beta1, float beta2,
                 float eps, float bc1, float bc2, float wd, int decoupled)
{
    if (decoupled)
        adam_loop(p, g, m, v, n, lr, beta1, beta2, eps, bc1, bc2, wd, 1);
    else
        adam_loop(p, g, m, v, n, lr, beta1, beta2, eps, bc1, bc2, wd, 0);
}

void V4_FN(sgd)(float *p, const float *g, float *buf, size_t n, float lr, float mu, int nesterov, float wd)
{
    const v4 vlr = v4_dup(lr), vmu = v4_dup(mu), vwd = v4_dup(wd);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const v4 pi = v4_load(p + i), gi = v4_add(v4_load(g + i), v4_mul(vwd, pi));
        const v4 bi = v4_add(v4_mul(vmu, v4_load(buf + i)), gi);
        const v4 d = nesterov ? v4_add(gi, v4_mul(vmu, bi)) : bi;
        v4_store(buf + i, bi);
        v4_store(p + i, v4_sub(pi, v4_mul(vlr, d)));
    }
    for (; i < n; i++) {
        const float gi = g[i] + wd * p[i];
        buf[i] = mu * buf[i] + gi;
        p[i] -= lr * (nesterov ? gi + mu * buf[i] : buf[i]);
    }
}
