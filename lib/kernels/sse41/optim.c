/* SPDX-License-Identifier: BSD-2-Clause */
/* SSE4.1 optimizer updates: the scalar formulas four parameters at a time (sqrt and divide are
 * correctly rounded, so with mul + add the results match the scalar kernels). */
#if !defined(__SSE4_1__)
#error "this file must be compiled with -msse4.1"
#endif
#include <math.h>
#include <smmintrin.h>

#include "kernels/kernels.h"
#include "util.h"

INLINE void adam_loop(float *p, const float *g, float *m, float *v, size_t n, float lr, float beta1, float beta2,
                      float eps, float bc1, float bc2, float wd, int decoupled)
{
    const float step = lr / bc1, rbc2 = 1.0f / sqrtf(bc2);
    const __m128 vb1 = _mm_set1_ps(beta1), vb2 = _mm_set1_ps(beta2), v1b1 = _mm_set1_ps(1.0f - beta1),
                 v1b2 = _mm_set1_ps(1.0f - beta2), vwd = _mm_set1_ps(wd), vlrwd = _mm_set1_ps(lr * wd),
                 vstep = _mm_set1_ps(step), vr = _mm_set1_ps(rbc2), veps = _mm_set1_ps(eps);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        __m128 pi = _mm_loadu_ps(p + i), gi = _mm_loadu_ps(g + i);
        if (!decoupled)
            gi = _mm_add_ps(gi, _mm_mul_ps(vwd, pi));
        else
            pi = _mm_sub_ps(pi, _mm_mul_ps(vlrwd, pi));
        const __m128 mi = _mm_add_ps(_mm_mul_ps(vb1, _mm_loadu_ps(m + i)), _mm_mul_ps(v1b1, gi));
        const __m128 vi = _mm_add_ps(_mm_mul_ps(vb2, _mm_loadu_ps(v + i)), _mm_mul_ps(_mm_mul_ps(v1b2, gi), gi));
        const __m128 den = _mm_add_ps(_mm_mul_ps(_mm_sqrt_ps(vi), vr), veps);
        _mm_storeu_ps(m + i, mi), _mm_storeu_ps(v + i, vi);
        _mm_storeu_ps(p + i, _mm_sub_ps(pi, _mm_div_ps(_mm_mul_ps(vstep, mi), den)));
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

void mnv2_adam_sse41(float *p, const float *g, float *m, float *v, size_t n, float lr, float beta1, float beta2,
                     float eps, float bc1, float bc2, float wd, int decoupled)
{
    if (decoupled)
        adam_loop(p, g, m, v, n, lr, beta1, beta2, eps, bc1, bc2, wd, 1);
    else
        adam_loop(p, g, m, v, n, lr, beta1, beta2, eps, bc1, bc2, wd, 0);
}

void mnv2_sgd_sse41(float *p, const float *g, float *buf, size_t n, float lr, float mu, int nesterov, float wd)
{
    const __m128 vlr = _mm_set1_ps(lr), vmu = _mm_set1_ps(mu), vwd = _mm_set1_ps(wd);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const __m128 pi = _mm_loadu_ps(p + i), gi = _mm_add_ps(_mm_loadu_ps(g + i), _mm_mul_ps(vwd, pi));
        const __m128 bi = _mm_add_ps(_mm_mul_ps(vmu, _mm_loadu_ps(buf + i)), gi);
        const __m128 d = nesterov ? _mm_add_ps(gi, _mm_mul_ps(vmu, bi)) : bi;
        _mm_storeu_ps(buf + i, bi);
        _mm_storeu_ps(p + i, _mm_sub_ps(pi, _mm_mul_ps(vlr, d)));
    }
    for (; i < n; i++) {
        const float gi = g[i] + wd * p[i];
        buf[i] = mu * buf[i] + gi;
        p[i] -= lr * (nesterov ? gi + mu * buf[i] : buf[i]);
    }
}
