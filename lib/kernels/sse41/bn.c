/* SPDX-License-Identifier: BSD-2-Clause */
/* SSE4.1 batch norm: per-channel sums over rows and the streaming normalise / backward-apply
 * passes (the backward ones with the ReLU6 mask fused), four channels per vector and the rest
 * one at a time. */
#if !defined(__SSE4_1__)
#error "this file must be compiled with -msse4.1"
#endif
#include <smmintrin.h>

#include "kernels/kernels.h"
#include "util.h"

/* The sums run over rows in the outer loop with the running sums in s1 / s2 (in L1): one
 * sequential stream through x, which these memory-bound passes need more than registers. */
void mnv2_bn_moments_sse41(const float *x, size_t rows, size_t c, const float *center, float *s1, float *s2)
{
    for (size_t ch = 0; ch < c; ch++)
        s1[ch] = s2[ch] = 0.0f;
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * c;
        size_t ch = 0;
        for (; ch + 4 <= c; ch += 4) {
            const __m128 d = _mm_sub_ps(_mm_loadu_ps(xr + ch), center ? _mm_loadu_ps(center + ch) : _mm_setzero_ps());
            _mm_storeu_ps(s1 + ch, _mm_add_ps(_mm_loadu_ps(s1 + ch), d));
            _mm_storeu_ps(s2 + ch, _mm_add_ps(_mm_loadu_ps(s2 + ch), _mm_mul_ps(d, d)));
        }
        for (; ch < c; ch++) {
            const float d = xr[ch] - (center ? center[ch] : 0.0f);
            s1[ch] += d, s2[ch] += d * d;
        }
    }
}

void mnv2_bn_apply_sse41(const float *x, size_t rows, size_t c, const float *scale, const float *shift, float lo,
                         float hi, float *y)
{
    const __m128 vlo = _mm_set1_ps(lo), vhi = _mm_set1_ps(hi);
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * c;
        float *yr = y + r * c;
        size_t ch = 0;
        for (; ch + 4 <= c; ch += 4) {
            const __m128 v = _mm_add_ps(_mm_mul_ps(_mm_loadu_ps(xr + ch), _mm_loadu_ps(scale + ch)),
                                        _mm_loadu_ps(shift + ch));
            _mm_storeu_ps(yr + ch, _mm_min_ps(vhi, _mm_max_ps(vlo, v))); /* NaN passes, as in scalar */
        }
        for (; ch < c; ch++) {
            float v = xr[ch] * scale[ch] + shift[ch];
            v = v < lo ? lo : v;
            yr[ch] = v > hi ? hi : v;
        }
    }
}

/* The ReLU6 mask of the backward kernels (`relu`): g = dy where 0 < z * ms + mh < 6, computed as
 * bn_apply computes x * scale + shift (a multiply, then an add). */
INLINE void bwd_reduce(const int relu, const float *dy, const float *z, size_t rows, size_t c, const float *mean,
                       const float *ms, const float *mh, float *sdy, float *sdyz)
{
    for (size_t ch = 0; ch < c; ch++)
        sdy[ch] = sdyz[ch] = 0.0f;
    for (size_t r = 0; r < rows; r++) {
        const float *gr = dy + r * c, *zr = z + r * c;
        size_t ch = 0;
        for (; ch + 4 <= c; ch += 4) {
            const __m128 zv = _mm_loadu_ps(zr + ch);
            __m128 g = _mm_loadu_ps(gr + ch);
            if (relu)
                g = relu6_gate(g, _mm_add_ps(_mm_mul_ps(zv, _mm_loadu_ps(ms + ch)), _mm_loadu_ps(mh + ch)));
            _mm_storeu_ps(sdy + ch, _mm_add_ps(_mm_loadu_ps(sdy + ch), g));
            const __m128 gz = _mm_mul_ps(g, _mm_sub_ps(zv, _mm_loadu_ps(mean + ch)));
            _mm_storeu_ps(sdyz + ch, _mm_add_ps(_mm_loadu_ps(sdyz + ch), gz));
        }
        for (; ch < c; ch++) {
            float g = gr[ch];
            if (relu) {
                const float t = zr[ch] * ms[ch] + mh[ch];
                g = t > 0.0f && t < 6.0f ? g : 0.0f;
            }
            sdy[ch] += g, sdyz[ch] += g * (zr[ch] - mean[ch]);
        }
    }
}

void mnv2_bn_bwd_reduce_sse41(const float *dy, const float *z, size_t rows, size_t c, const float *mean,
                              const float *mscale, const float *mshift, float *sdy, float *sdyz)
{
    if (mscale)
        bwd_reduce(1, dy, z, rows, c, mean, mscale, mshift, sdy, sdyz);
    else
        bwd_reduce(0, dy, z, rows, c, mean, NULL, NULL, sdy, sdyz);
}

INLINE void bwd_apply(const int relu, const float *dy, const float *z, size_t rows, size_t c, const float *a,
                      const float *b, const float *k, const float *ms, const float *mh, float *dz)
{
    for (size_t r = 0; r < rows; r++) {
        const float *gr = dy + r * c, *zr = z + r * c;
        float *dr = dz + r * c;
        size_t ch = 0;
        for (; ch + 4 <= c; ch += 4) {
            const __m128 zv = _mm_loadu_ps(zr + ch);
            __m128 g = _mm_loadu_ps(gr + ch);
            if (relu)
                g = relu6_gate(g, _mm_add_ps(_mm_mul_ps(zv, _mm_loadu_ps(ms + ch)), _mm_loadu_ps(mh + ch)));
            const __m128 v = _mm_add_ps(_mm_mul_ps(_mm_loadu_ps(a + ch), g), _mm_mul_ps(_mm_loadu_ps(b + ch), zv));
            _mm_storeu_ps(dr + ch, _mm_add_ps(v, _mm_loadu_ps(k + ch)));
        }
        for (; ch < c; ch++) {
            float g = gr[ch];
            if (relu) {
                const float t = zr[ch] * ms[ch] + mh[ch];
                g = t > 0.0f && t < 6.0f ? g : 0.0f;
            }
            dr[ch] = a[ch] * g + b[ch] * zr[ch] + k[ch];
        }
    }
}

void mnv2_bn_bwd_apply_sse41(const float *dy, const float *z, size_t rows, size_t c, const float *a, const float *b,
                             const float *k, const float *mscale, const float *mshift, float *dz)
{
    if (mscale)
        bwd_apply(1, dy, z, rows, c, a, b, k, mscale, mshift, dz);
    else
        bwd_apply(0, dy, z, rows, c, a, b, k, NULL, NULL, dz);
}
