/* SPDX-License-Identifier: BSD-2-Clause */
/* AVX2 + FMA: batch-norm statistics, normalisation (+ clamp) and backward (with the ReLU6 mask
 * fused: one fma, two compares and two ands per vector). Vectors run along channels. The
 * reductions keep up to 32 channels' sums in registers while walking the rows when rows are
 * narrow, and walk wide rows in order with the sums in the outputs. */
#if !defined(__AVX2__) || !defined(__FMA__)
#error "this file must be compiled with -mavx2 -mfma"
#endif
#include <immintrin.h>
#include <stdint.h>

#include "kernels/kernels.h"
#include "util.h"

#define WIDE_C 64 /* more channels than this: reduce_wide */

/* The two per-channel reductions over NV vectors of channels from ch (last one masked when
 * `masked`): moments (t = NULL: sums of d = x - center and d^2) or the backward pair (sums of
 * g and g * (z - mean); x = dy, t = z, center = mean; g = dy, or with `relu` the ReLU6 mask of
 * z * ms + mh applied to dy). RS row sets of accumulators (rows r, r + RS, ...) shorten the
 * dependency chains when NV is small; they are added at the end. */
ALWAYS_INLINE void reduce_block(const int NV, const int RS, const int masked, const int relu, const float *x,
                                const float *t, size_t rows, size_t c, const float *center, const float *ms,
                                const float *mh, float *r1, float *r2, size_t ch, __m256i m)
{
    __m256 a1[2][4], a2[2][4], cv[4], sv[4], hv[4];
#pragma GCC unroll 4
    for (int u = 0; u < NV; u++) {
        const int mu = masked && u == NV - 1;
        a1[0][u] = a2[0][u] = a1[1][u] = a2[1][u] = _mm256_setzero_ps();
        cv[u] = center ? ld(mu, center + ch + 8 * (size_t)u, m) : _mm256_setzero_ps();
        sv[u] = relu ? ld(mu, ms + ch + 8 * (size_t)u, m) : _mm256_setzero_ps();
        hv[u] = relu ? ld(mu, mh + ch + 8 * (size_t)u, m) : _mm256_setzero_ps();
    }
    size_t r = 0;
#define STEP(set, row)                                                                                                \
    do {                                                                                                              \
        const float *xr = x + (row) * c + ch, *tr = t ? t + (row) * c + ch : NULL;                                    \
        for (int u = 0; u < NV; u++) {                                                                                \
            const int mu = masked && u == NV - 1;                                                                     \
            const __m256 xv = ld(mu, xr + 8 * u, m);                                                                  \
            if (t && relu) {                                                                                          \
                const __m256 zv = ld(mu, tr + 8 * u, m);                                                              \
                const __m256 g = relu6_gate(xv, _mm256_fmadd_ps(zv, sv[u], hv[u]));                                   \
                a1[set][u] = _mm256_add_ps(a1[set][u], g);                                                            \
                a2[set][u] = _mm256_fmadd_ps(g, _mm256_sub_ps(zv, cv[u]), a2[set][u]);                                \
            } else if (t) {                                                                                           \
                a1[set][u] = _mm256_add_ps(a1[set][u], xv);                                                           \
                a2[set][u] = _mm256_fmadd_ps(xv, _mm256_sub_ps(ld(mu, tr + 8 * u, m), cv[u]), a2[set][u]);            \
            } else {                                                                                                  \
                const __m256 d = _mm256_sub_ps(xv, cv[u]);                                                            \
                a1[set][u] = _mm256_add_ps(a1[set][u], d);                                                            \
                a2[set][u] = _mm256_fmadd_ps(d, d, a2[set][u]);                                                       \
            }                                                                                                         \
        }                                                                                                             \
    } while (0)
    if (RS == 2)
        for (; r + 2 <= rows; r += 2) {
            STEP(0, r);
            STEP(1, r + 1);
        }
    for (; r < rows; r++)
        STEP(0, r);
#undef STEP
#pragma GCC unroll 4
    for (int u = 0; u < NV; u++) {
        const int mu = masked && u == NV - 1;
        st(mu, r1 + ch + 8 * (size_t)u, m, RS == 2 ? _mm256_add_ps(a1[0][u], a1[1][u]) : a1[0][u]);
        st(mu, r2 + ch + 8 * (size_t)u, m, RS == 2 ? _mm256_add_ps(a2[0][u], a2[1][u]) : a2[0][u]);
    }
}

/* Wide rows: the rows are walked in order (one sequential stream) and the sums live in r1 and r2,
 * which take four rows per visit. */
ALWAYS_INLINE void reduce_vec(const int masked, const int relu, const float *x, const float *t, size_t nr, size_t c,
                              const float *center, const float *ms, const float *mh, float *r1, float *r2, size_t ch,
                              __m256i m)
{
    const __m256 cv = center ? ld(masked, center + ch, m) : _mm256_setzero_ps();
    const __m256 sv = relu ? ld(masked, ms + ch, m) : _mm256_setzero_ps();
    const __m256 hv = relu ? ld(masked, mh + ch, m) : _mm256_setzero_ps();
    __m256 a1 = ld(masked, r1 + ch, m), a2 = ld(masked, r2 + ch, m);
    for (size_t i = 0; i < nr; i++) {
        const __m256 xv = ld(masked, x + i * c + ch, m);
        if (t && relu) {
            const __m256 zv = ld(masked, t + i * c + ch, m);
            const __m256 g = relu6_gate(xv, _mm256_fmadd_ps(zv, sv, hv));
            a1 = _mm256_add_ps(a1, g);
            a2 = _mm256_fmadd_ps(g, _mm256_sub_ps(zv, cv), a2);
        } else if (t) {
            a1 = _mm256_add_ps(a1, xv);
            a2 = _mm256_fmadd_ps(xv, _mm256_sub_ps(ld(masked, t + i * c + ch, m), cv), a2);
        } else {
            const __m256 d = _mm256_sub_ps(xv, cv);
            a1 = _mm256_add_ps(a1, d);
            a2 = _mm256_fmadd_ps(d, d, a2);
        }
    }
    st(masked, r1 + ch, m, a1);
    st(masked, r2 + ch, m, a2);
}

ALWAYS_INLINE void reduce_wide(const int relu, const float *x, const float *t, size_t rows, size_t c,
                               const float *center, const float *ms, const float *mh, float *r1, float *r2)
{
    const __m256i mfull = _mm256_set1_epi32(-1), mt = tail_mask(c % 8);
    size_t ch = 0;
    for (; ch + 8 <= c; ch += 8)
        _mm256_storeu_ps(r1 + ch, _mm256_setzero_ps()), _mm256_storeu_ps(r2 + ch, _mm256_setzero_ps());
    if (ch < c)
        _mm256_maskstore_ps(r1 + ch, mt, _mm256_setzero_ps()), _mm256_maskstore_ps(r2 + ch, mt, _mm256_setzero_ps());
    for (size_t r = 0; r < rows; r += 4) {
        const size_t nr = rows - r < 4 ? rows - r : 4;
        const float *xr = x + r * c, *tr = t ? t + r * c : NULL;
        for (ch = 0; ch + 8 <= c; ch += 8)
            reduce_vec(0, relu, xr, tr, nr, c, center, ms, mh, r1, r2, ch, mfull);
        if (ch < c)
            reduce_vec(1, relu, xr, tr, nr, c, center, ms, mh, r1, r2, ch, mt);
    }
}

/* relu (with bwd): the ReLU6 mask of z * ms + mh on dy. */
ALWAYS_INLINE void reduce(const int bwd, const int relu, const float *x, const float *t, size_t rows, size_t c,
                          const float *center, const float *ms, const float *mh, float *r1, float *r2)
{
    const __m256i mfull = _mm256_set1_epi32(-1), mt = c % 8 ? tail_mask(c % 8) : mfull;
    const float *tt = bwd ? t : NULL;
    if (c > WIDE_C) {
        reduce_wide(relu, x, tt, rows, c, center, ms, mh, r1, r2);
        return;
    }
    size_t ch = 0;
    for (; ch + 32 <= c; ch += 32)
        reduce_block(4, 1, 0, relu, x, tt, rows, c, center, ms, mh, r1, r2, ch, mfull);
    /* the last 1..31 channels in one pass */
    const int masked = c % 8 != 0;
    switch ((c - ch + 7) / 8) {
    case 1:
        if (masked)
            reduce_block(1, 2, 1, relu, x, tt, rows, c, center, ms, mh, r1, r2, ch, mt);
        else
            reduce_block(1, 2, 0, relu, x, tt, rows, c, center, ms, mh, r1, r2, ch, mt);
        break;
    case 2:
        if (masked)
            reduce_block(2, 2, 1, relu, x, tt, rows, c, center, ms, mh, r1, r2, ch, mt);
        else
            reduce_block(2, 2, 0, relu, x, tt, rows, c, center, ms, mh, r1, r2, ch, mt);
        break;
    case 3:
        if (masked)
            reduce_block(3, 1, 1, relu, x, tt, rows, c, center, ms, mh, r1, r2, ch, mt);
        else
            reduce_block(3, 1, 0, relu, x, tt, rows, c, center, ms, mh, r1, r2, ch, mt);
        break;
    case 4:
        reduce_block(4, 1, 1, relu, x, tt, rows, c, center, ms, mh, r1, r2, ch, mt);
        break;
    default:
        break;
    }
}

void mnv2_bn_moments_avx2(const float *x, size_t rows, size_t c, const float *center, float *s1, float *s2)
{
    reduce(0, 0, x, NULL, rows, c, center, NULL, NULL, s1, s2);
}

void mnv2_bn_bwd_reduce_avx2(const float *dy, const float *z, size_t rows, size_t c, const float *mean,
                             const float *mscale, const float *mshift, float *sdy, float *sdyz)
{
    if (mscale)
        reduce(1, 1, dy, z, rows, c, mean, mscale, mshift, sdy, sdyz);
    else
        reduce(1, 0, dy, z, rows, c, mean, NULL, NULL, sdy, sdyz);
}

/* y = min(max(x * scale + shift, lo), hi) on one row, channels from ch. */
ALWAYS_INLINE void apply_vec(const int masked, const float *x, const float *scale, const float *shift, __m256 lo,
                             __m256 hi, float *y, size_t ch, __m256i m)
{
    const __m256 v = _mm256_fmadd_ps(ld(masked, x + ch, m), ld(masked, scale + ch, m), ld(masked, shift + ch, m));
    st(masked, y + ch, m, clamp(v, lo, hi));
}

void mnv2_bn_apply_avx2(const float *x, size_t rows, size_t c, const float *scale, const float *shift, float lo,
                        float hi, float *y)
{
    const __m256 vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
    const __m256i mfull = _mm256_set1_epi32(-1), mt = tail_mask(c % 8);
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * c;
        float *yr = y + r * c;
        size_t ch = 0;
        for (; ch + 8 <= c; ch += 8)
            apply_vec(0, xr, scale, shift, vlo, vhi, yr, ch, mfull);
        if (ch < c)
            apply_vec(1, xr, scale, shift, vlo, vhi, yr, ch, mt);
    }
}

/* dz = a * g + b * z + k on one row, channels from ch; g = dy, or with `relu` dy under the ReLU6
 * mask of z * ms + mh (an fma, as in bn_apply). */
ALWAYS_INLINE void bwd_apply_vec(const int masked, const int relu, const float *dy, const float *z, const float *a,
                                 const float *b, const float *k, const float *ms, const float *mh, float *dz, size_t ch,
                                 __m256i m)
{
    const __m256 zv = ld(masked, z + ch, m);
    __m256 g = ld(masked, dy + ch, m);
    if (relu)
        g = relu6_gate(g, _mm256_fmadd_ps(zv, ld(masked, ms + ch, m), ld(masked, mh + ch, m)));
    const __m256 bz = _mm256_fmadd_ps(ld(masked, b + ch, m), zv, ld(masked, k + ch, m));
    st(masked, dz + ch, m, _mm256_fmadd_ps(ld(masked, a + ch, m), g, bz));
}

ALWAYS_INLINE void bwd_apply(const int relu, const float *dy, const float *z, size_t rows, size_t c, const float *a,
                             const float *b, const float *k, const float *ms, const float *mh, float *dz)
{
    const __m256i mfull = _mm256_set1_epi32(-1), mt = tail_mask(c % 8);
    for (size_t r = 0; r < rows; r++) {
        size_t ch = 0;
        for (; ch + 8 <= c; ch += 8)
            bwd_apply_vec(0, relu, dy + r * c, z + r * c, a, b, k, ms, mh, dz + r * c, ch, mfull);
        if (ch < c)
            bwd_apply_vec(1, relu, dy + r * c, z + r * c, a, b, k, ms, mh, dz + r * c, ch, mt);
    }
}

void mnv2_bn_bwd_apply_avx2(const float *dy, const float *z, size_t rows, size_t c, const float *a, const float *b,
                            const float *k, const float *mscale, const float *mshift, float *dz)
{
    if (mscale)
        bwd_apply(1, dy, z, rows, c, a, b, k, mscale, mshift, dz);
    else
        bwd_apply(0, dy, z, rows, c, a, b, k, NULL, NULL, dz);
}
