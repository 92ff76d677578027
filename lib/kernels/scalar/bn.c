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

void mnv2_bn_bwd_reduce_scalar(const float *dy, const float *z, size_t rows, size_t c, const float *mean, float *sdy,
                               float *sdyz)
{
    for (size_t ch = 0; ch < c; ch++)
        sdy[ch] = sdyz[ch] = 0.0f;
    for (size_t r = 0; r < rows; r++)
        for (size_t ch = 0; ch < c; ch++) {
            const float g = dy[r * c + ch];
            sdy[ch] += g;
            sdyz[ch] += g * (z[r * c + ch] - mean[ch]);
        }
}

void mnv2_bn_bwd_apply_scalar(const float *dy, const float *z, size_t rows, size_t c, const float *a, const float *b,
                              const float *k, float *dz)
{
    for (size_t r = 0; r < rows; r++)
        for (size_t ch = 0; ch < c; ch++)
            dz[r * c + ch] = a[ch] * dy[r * c + ch] + b[ch] * z[r * c + ch] + k[ch];
}
