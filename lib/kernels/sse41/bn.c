/* SSE4.1 batch norm: per-channel sums over rows and the streaming normalise / backward-apply
 * passes, four channels per vector and the rest one at a time. */
#if !defined(__SSE4_1__)
#error "this file must be compiled with -msse4.1"
#endif
#include <smmintrin.h>

#include "kernels/kernels.h"

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

void mnv2_bn_bwd_reduce_sse41(const float *dy, const float *z, size_t rows, size_t c, const float *mean, float *sdy,
                              float *sdyz)
{
    for (size_t ch = 0; ch < c; ch++)
        sdy[ch] = sdyz[ch] = 0.0f;
    for (size_t r = 0; r < rows; r++) {
        const float *gr = dy + r * c, *zr = z + r * c;
        size_t ch = 0;
        for (; ch + 4 <= c; ch += 4) {
            const __m128 g = _mm_loadu_ps(gr + ch);
            _mm_storeu_ps(sdy + ch, _mm_add_ps(_mm_loadu_ps(sdy + ch), g));
            const __m128 gz = _mm_mul_ps(g, _mm_sub_ps(_mm_loadu_ps(zr + ch), _mm_loadu_ps(mean + ch)));
            _mm_storeu_ps(sdyz + ch, _mm_add_ps(_mm_loadu_ps(sdyz + ch), gz));
        }
        for (; ch < c; ch++) {
            const float g = gr[ch];
            sdy[ch] += g, sdyz[ch] += g * (zr[ch] - mean[ch]);
        }
    }
}

void mnv2_bn_bwd_apply_sse41(const float *dy, const float *z, size_t rows, size_t c, const float *a, const float *b,
                             const float *k, float *dz)
{
    for (size_t r = 0; r < rows; r++) {
        const float *gr = dy + r * c, *zr = z + r * c;
        float *dr = dz + r * c;
        size_t ch = 0;
        for (; ch + 4 <= c; ch += 4) {
            const __m128 v = _mm_add_ps(_mm_mul_ps(_mm_loadu_ps(a + ch), _mm_loadu_ps(gr + ch)),
                                        _mm_mul_ps(_mm_loadu_ps(b + ch), _mm_loadu_ps(zr + ch)));
            _mm_storeu_ps(dr + ch, _mm_add_ps(v, _mm_loadu_ps(k + ch)));
        }
        for (; ch < c; ch++)
            dr[ch] = a[ch] * gr[ch] + b[ch] * zr[ch] + k[ch];
    }
}
