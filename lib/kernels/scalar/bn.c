/* SPDX-License-Identifier: BSD-2-Clause */
/* Scalar reference: batch-norm statistics, normalisation (+ ReLU6 clamp) and backward. */
#include "kernels/kernels.h"

void mnv2_bn_moments_scalar(const float *x, size_t rows, size_t c, const float *center, float *s1, float *s2)
{
    for (size_t ch = 0; ch < c; ch++)
        s1[ch] = s2[ch] = 0.0f;
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * c;
        for (size_t ch = 0; ch < c; ch++) {
            const float d = xr[ch] - (center ? center[ch] : 0.0f);
            s1[ch] += d;
            s2[ch] += d * d;
        }
    }
}

void mnv2_bn_apply_scalar(const float *x, size_t rows, size_t c, const float *scale, const float *shift, float lo,
                          float hi, float *y)
{
    for (size_t r = 0; r < rows; r++)
        for (size_t ch = 0; ch < c; ch++) {
            float v = x[r * c + ch] * scale[ch] + shift[ch];
            v = v < lo ? lo : v;
            y[r * c + ch] = v > hi ? hi : v;
        }
}

/* dy, or 0 where the ReLU6 after z * mscale + mshift has no gradient (see kernel_list.inc). */
static inline float masked(float dy, float z, const float *mscale, const float *mshift, size_t ch)
{
    if (!mscale)
        return dy;
    const float t = z * mscale[ch] + mshift[ch];
    return t > 0.0f && t < 6.0f ? dy : 0.0f;
}

void mnv2_bn_bwd_reduce_scalar(const float *dy, const float *z, size_t rows, size_t c, const float *mean,
                               const float *mscale, const float *mshift, float *restrict sdy, float *restrict sdyz)
{
    for (size_t ch = 0; ch < c; ch++)
        sdy[ch] = sdyz[ch] = 0.0f;
    for (size_t r = 0; r < rows; r++)
        for (size_t ch = 0; ch < c; ch++) {
            const float zv = z[r * c + ch], g = masked(dy[r * c + ch], zv, mscale, mshift, ch);
            sdy[ch] += g;
            sdyz[ch] += g * (zv - mean[ch]);
        }
}

void mnv2_bn_bwd_apply_scalar(const float *dy, const float *z, size_t rows, size_t c, const float *a, const float *b,
                              const float *k, const float *mscale, const float *mshift, float *dz)
{
    for (size_t r = 0; r < rows; r++)
        for (size_t ch = 0; ch < c; ch++) {
            const float zv = z[r * c + ch], g = masked(dy[r * c + ch], zv, mscale, mshift, ch);
            dz[r * c + ch] = a[ch] * g + b[ch] * zv + k[ch];
        }
}
