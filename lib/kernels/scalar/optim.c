/* SPDX-License-Identifier: BSD-2-Clause */
/* Scalar reference: optimizer updates. */
#include <math.h>

#include "kernels/kernels.h"

void mnv2_adam_scalar(float *p, const float *g, float *m, float *v, size_t n, float lr, float beta1, float beta2,
                      float eps, float bc1, float bc2, float wd, int decoupled)
{
    const float step = lr / bc1, rbc2 = 1.0f / sqrtf(bc2);
    for (size_t i = 0; i < n; i++) {
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

void mnv2_sgd_scalar(float *p, const float *g, float *buf, size_t n, float lr, float mu, int nesterov, float wd)
{
    for (size_t i = 0; i < n; i++) {
        const float gi = g[i] + wd * p[i];
        buf[i] = mu * buf[i] + gi;
        p[i] -= lr * (nesterov ? gi + mu * buf[i] : buf[i]);
    }
}
