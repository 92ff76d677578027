/* SPDX-License-Identifier: BSD-2-Clause */
/* NEON optimizer updates: the scalar formulas four parameters at a time (AArch64 has vector
 * square root and divide, correctly rounded; mul + add, unfused, as the scalar kernels). */
#if !defined(__ARM_NEON) || !defined(__aarch64__)
#error "this file must be compiled for AArch64 (Advanced SIMD is baseline)"
#endif
#include <arm_neon.h>
#include <math.h>

#include "kernels/kernels.h"
#include "util.h"

INLINE void adam_loop(float *p, const float *g, float *m, float *v, size_t n, float lr, float beta1, float beta2,
                      float eps, float bc1, float bc2, float wd, int decoupled)
{
    const float step = lr / bc1, rbc2 = 1.0f / sqrtf(bc2);
    const float32x4_t vb1 = vdupq_n_f32(beta1), vb2 = vdupq_n_f32(beta2), v1b1 = vdupq_n_f32(1.0f - beta1),
                      v1b2 = vdupq_n_f32(1.0f - beta2), vwd = vdupq_n_f32(wd), vlrwd = vdupq_n_f32(lr * wd),
                      vstep = vdupq_n_f32(step), vr = vdupq_n_f32(rbc2), veps = vdupq_n_f32(eps);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        float32x4_t pi = vld1q_f32(p + i), gi = vld1q_f32(g + i);
        if (!decoupled)
            gi = vaddq_f32(gi, vmulq_f32(vwd, pi));
        else
            pi = vsubq_f32(pi, vmulq_f32(vlrwd, pi));
        const float32x4_t mi = vaddq_f32(vmulq_f32(vb1, vld1q_f32(m + i)), vmulq_f32(v1b1, gi));
        const float32x4_t vi = vaddq_f32(vmulq_f32(vb2, vld1q_f32(v + i)), vmulq_f32(vmulq_f32(v1b2, gi), gi));
        const float32x4_t den = vaddq_f32(vmulq_f32(vsqrtq_f32(vi), vr), veps);
        vst1q_f32(m + i, mi), vst1q_f32(v + i, vi);
        vst1q_f32(p + i, vsubq_f32(pi, vdivq_f32(vmulq_f32(vstep, mi), den)));
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

void mnv2_adam_neon(float *p, const float *g, float *m, float *v, size_t n, float lr, float beta1, float beta2,
                    float eps, float bc1, float bc2, float wd, int decoupled)
{
    if (decoupled)
        adam_loop(p, g, m, v, n, lr, beta1, beta2, eps, bc1, bc2, wd, 1);
    else
        adam_loop(p, g, m, v, n, lr, beta1, beta2, eps, bc1, bc2, wd, 0);
}

void mnv2_sgd_neon(float *p, const float *g, float *buf, size_t n, float lr, float mu, int nesterov, float wd)
{
    const float32x4_t vlr = vdupq_n_f32(lr), vmu = vdupq_n_f32(mu), vwd = vdupq_n_f32(wd);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const float32x4_t pi = vld1q_f32(p + i), gi = vaddq_f32(vld1q_f32(g + i), vmulq_f32(vwd, pi));
        const float32x4_t bi = vaddq_f32(vmulq_f32(vmu, vld1q_f32(buf + i)), gi);
        const float32x4_t d = nesterov ? vaddq_f32(gi, vmulq_f32(vmu, bi)) : bi;
        vst1q_f32(buf + i, bi);
        vst1q_f32(p + i, vsubq_f32(pi, vmulq_f32(vlr, d)));
    }
    for (; i < n; i++) {
        const float gi = g[i] + wd * p[i];
        buf[i] = mu * buf[i] + gi;
        p[i] -= lr * (nesterov ? gi + mu * buf[i] : buf[i]);
    }
}
