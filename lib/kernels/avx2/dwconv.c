/* SPDX-License-Identifier: BSD-2-Clause */
/* AVX2 + FMA: 3x3 depthwise convolution, padding 1, any stride (forward, fused inference forward
 * and both gradients). Vectors run along channels, 8 at a time with a masked tail; the nine
 * weights (or, for the weight gradient, the nine accumulators) of a channel group stay in
 * registers along a row. Every output element is an FMA chain over its valid taps in (ky, kx)
 * order (pixel order for the weight gradient), whichever row range a call covers. */
#if !defined(__AVX2__) || !defined(__FMA__)
#error "this file must be compiled with -mavx2 -mfma"
#endif
#include <immintrin.h>
#include <stdint.h>

#include "kernels/kernels.h"
#include "util.h"

/* Prefetches the cache line at p in each of n pixels (c floats apart): the input lines a channel
 * group will first read on the next row, one row ahead, so that the pixel-strided walk does not
 * wait on memory. */
static inline void prefetch_px(const float *p, size_t n, size_t c)
{
    for (size_t i = 0; i < n; i++)
        _mm_prefetch((const char *)(p + i * c), _MM_HINT_T0);
}

/* Interior columns of a row: x in [*x0, *x1) have all three taps inside [0, w) when the tap for
 * kx sits at x * s + kx - 1. */
static void interior(size_t w, size_t wo, size_t s, size_t *x0, size_t *x1)
{
    *x0 = 1;
    *x1 = w >= 2 ? (w - 2) / s + 1 : 0;
    if (*x1 > wo)
        *x1 = wo;
    if (*x1 < *x0)
        *x1 = *x0;
}

/* ---- forward ---------------------------------------------------------------------------- */

/* NX outputs of row y starting at column x, all of whose column taps are inside the image (rows
 * may not be: v[ky]). S is the stride when known at compile time, else 0 (then NX = 1). The
 * chains of the NX outputs are interleaved; each still runs over its taps in (ky, kx) order. */
ALWAYS_INLINE void fwd_block(const int S, const int NX, const int masked, const float *const r[3], const int v[3],
                             const __m256 wv[9], size_t c, size_t s, size_t x, float *o, __m256i m, const int ep,
                             __m256 vb, __m256 vlo, __m256 vhi)
{
    const size_t ss = S ? (size_t)S : s;
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
#pragma GCC unroll 3
    for (int ky = 0; ky < 3; ky++) {
        if (!v[ky])
            continue;
        const float *p = r[ky] + (x * ss - 1) * c;
#pragma GCC unroll 12
        for (int t = 0; t < 12; t++) {
            if (t >= (NX - 1) * (S ? S : 1) + 3)
                break;
            const __m256 col = ld(masked, p + (size_t)t * c, m);
#pragma GCC unroll 4
            for (int j = 0; j < NX; j++) {
                const int kx = t - j * (S ? S : 1);
                if (kx >= 0 && kx < 3)
                    acc[j] = _mm256_fmadd_ps(col, wv[ky * 3 + kx], acc[j]);
            }
        }
    }
#pragma GCC unroll 4
    for (int j = 0; j < NX; j++) {
        __m256 res = acc[j];
        if (ep)
            res = clamp(_mm256_add_ps(res, vb), vlo, vhi);
        st(masked, o + (x + (size_t)j) * c, m, res);
    }
}

/* One output row y, channels [c0, c0 + 8). */
ALWAYS_INLINE void fwd_row(const int S, const int masked, const int ep, const float *in, size_t h, size_t w, size_t c,
                           const float *wt, float *out, size_t wo, size_t s, size_t y, size_t c0, __m256i m,
                           const float *bias, float lo, float hi)
{
    const size_t ss = S ? (size_t)S : s;
    const size_t iy = y * ss; /* input row of ky = 1 */
    const int v[3] = {iy >= 1 && iy - 1 < h, iy < h, iy + 1 < h};
    const float *const r[3] = {v[0] ? in + (iy - 1) * w * c + c0 : in, v[1] ? in + iy * w * c + c0 : in,
                               v[2] ? in + (iy + 1) * w * c + c0 : in};
    __m256 wv[9];
#pragma GCC unroll 9
    for (int t = 0; t < 9; t++)
        wv[t] = ld(masked, wt + (size_t)t * c + c0, m);
    const __m256 vb = ep ? ld(masked, bias + c0, m) : _mm256_setzero_ps();
    const __m256 vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
    size_t xi0, xi1;
    interior(w, wo, ss, &xi0, &xi1);
    float *o = out + y * wo * c + c0;
    for (size_t x = 0; x < wo; x++) {
        if (x == xi0 && xi0 < xi1) {
            if (S)
                for (; x + 4 <= xi1; x += 4)
                    fwd_block(S, 4, masked, r, v, wv, c, ss, x, o, m, ep, vb, vlo, vhi);
            for (; x < xi1; x++)
                fwd_block(S, 1, masked, r, v, wv, c, ss, x, o, m, ep, vb, vlo, vhi);
            if (x == wo)
                break;
        }
        /* Edge column: check every tap. */
        const size_t ix = x * ss; /* input column of kx = 1 */
        const int hv[3] = {ix >= 1 && ix - 1 < w, ix < w, ix + 1 < w};
        __m256 acc = _mm256_setzero_ps();
#pragma GCC unroll 3
        for (int ky = 0; ky < 3; ky++)
#pragma GCC unroll 3
            for (int kx = 0; kx < 3; kx++)
                if (v[ky] && hv[kx])
                    acc = _mm256_fmadd_ps(ld(masked, r[ky] + (ix + (size_t)kx - 1) * c, m), wv[ky * 3 + kx], acc);
        if (ep)
            acc = clamp(_mm256_add_ps(acc, vb), vlo, vhi);
        st(masked, o + x * c, m, acc);
    }
}

ALWAYS_INLINE void fwd_rows(const int S, const int ep, const float *in, size_t h, size_t w, size_t c,
                            const float *wt, const float *bias, float lo, float hi, float *out, size_t wo, size_t s,
                            size_t y0, size_t y1)
{
    const __m256i mfull = _mm256_set1_epi32(-1), mt = tail_mask(c % 8);
    for (size_t y = y0; y < y1; y++) {
        size_t c0 = 0;
        for (; c0 + 8 <= c; c0 += 8) {
            if (c0 % 16 == 0 && y + 1 < y1) {
                for (size_t r = y * s + 2; r <= (y + 1) * s + 1 && r < h; r++)
                    prefetch_px(in + r * w * c + c0, w, c);
            }
            fwd_row(S, 0, ep, in, h, w, c, wt, out, wo, s, y, c0, mfull, bias, lo, hi);
        }
        if (c0 < c)
            fwd_row(S, 1, ep, in, h, w, c, wt, out, wo, s, y, c0, mt, bias, lo, hi);
    }
}

ALWAYS_INLINE void fwd(const int ep, const float *in, size_t h, size_t w, size_t c, const float *wt,
                       const float *bias, float lo, float hi, float *out, size_t wo, size_t s, size_t y0, size_t y1)
{
    if (s == 1)
        fwd_rows(1, ep, in, h, w, c, wt, bias, lo, hi, out, wo, s, y0, y1);
    else if (s == 2)
        fwd_rows(2, ep, in, h, w, c, wt, bias, lo, hi, out, wo, s, y0, y1);
    else
        fwd_rows(0, ep, in, h, w, c, wt, bias, lo, hi, out, wo, s, y0, y1);
}

void mnv2_dw3x3_fwd_avx2(const float *in, size_t h, size_t w, size_t c, const float *wt, float *out, size_t ho,
                         size_t wo, size_t stride, size_t y0, size_t y1)
{
    (void)ho;
    fwd(0, in, h, w, c, wt, NULL, 0.0f, 0.0f, out, wo, stride, y0, y1);
}

void mnv2_dw3x3_fwd_bias_act_avx2(const float *in, size_t h, size_t w, size_t c, const float *wt, const float *bias,
                                  float lo, float hi, float *out, size_t ho, size_t wo, size_t stride, size_t y0,
                                  size_t y1)
{
    (void)ho;
    fwd(1, in, h, w, c, wt, bias, lo, hi, out, wo, stride, y0, y1);
}

/* ---- input gradient --------------------------------------------------------------------- */

/* Output index reached from input index i through tap k (i + 1 - k = o * s), or -1. */
ALWAYS_INLINE ptrdiff_t src_of(const int S, size_t i, size_t k, size_t s, size_t n)
{
    const size_t ss = S ? (size_t)S : s;
    if (i + 1 < k)
        return -1;
    const size_t t = i + 1 - k;
    if (t % ss || t / ss >= n)
        return -1;
    return (ptrdiff_t)(t / ss);
}

/* Stride 1, NX inputs of row y from column x, whose three column taps all reach outputs. Input x
 * reaches output x + 1 - kx: with columns counted from x - 1, output j reads column j + 2 - kx,
 * so walking the columns downwards keeps each chain in (ky, kx) order. */
ALWAYS_INLINE void bwd_data_block1(const int NX, const int masked, const float *const r[3], const int v[3],
                                   const __m256 wv[9], size_t c, size_t x, float *d, __m256i m)
{
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
#pragma GCC unroll 3
    for (int ky = 0; ky < 3; ky++) {
        if (!v[ky])
            continue;
        const float *p = r[ky] + (x - 1) * c;
#pragma GCC unroll 6
        for (int t = NX + 1; t >= 0; t--) {
            const __m256 col = ld(masked, p + (size_t)t * c, m);
#pragma GCC unroll 4
            for (int j = 0; j < NX; j++) {
                const int kx = j + 2 - t;
                if (kx >= 0 && kx < 3)
                    acc[j] = _mm256_fmadd_ps(col, wv[ky * 3 + kx], acc[j]);
            }
        }
    }
#pragma GCC unroll 4
    for (int j = 0; j < NX; j++)
        st(masked, d + (x + (size_t)j) * c, m, acc[j]);
}

/* Stride 2, the input pair x = 2q, 2q + 1 (q + 1 < wo): 2q reaches output q through kx = 1,
 * 2q + 1 reaches q + 1 through kx = 0 and q through kx = 2. */
ALWAYS_INLINE void bwd_data_pair2(const int masked, const float *const r[3], const int v[3], const __m256 wv[9],
                                  size_t c, size_t q, float *d, __m256i m)
{
    __m256 ae = _mm256_setzero_ps(), ao = _mm256_setzero_ps();
#pragma GCC unroll 3
    for (int ky = 0; ky < 3; ky++) {
        if (!v[ky])
            continue;
        const __m256 g0 = ld(masked, r[ky] + q * c, m), g1 = ld(masked, r[ky] + (q + 1) * c, m);
        ae = _mm256_fmadd_ps(g0, wv[ky * 3 + 1], ae);
        ao = _mm256_fmadd_ps(g1, wv[ky * 3 + 0], ao);
        ao = _mm256_fmadd_ps(g0, wv[ky * 3 + 2], ao);
    }
    st(masked, d + 2 * q * c, m, ae);
    st(masked, d + (2 * q + 1) * c, m, ao);
}

/* One input row y, channels [c0, c0 + 8). */
ALWAYS_INLINE void bwd_data_row(const int S, const int masked, const float *dout, size_t ho, size_t wo, size_t c,
                                const float *wt, float *din, size_t w, size_t s, size_t y, size_t c0, __m256i m)
{
    const ptrdiff_t q[3] = {src_of(S, y, 0, s, ho), src_of(S, y, 1, s, ho), src_of(S, y, 2, s, ho)};
    const int v[3] = {q[0] >= 0, q[1] >= 0, q[2] >= 0};
    const float *const r[3] = {dout + (v[0] ? (size_t)q[0] : 0) * wo * c + c0,
                               dout + (v[1] ? (size_t)q[1] : 0) * wo * c + c0,
                               dout + (v[2] ? (size_t)q[2] : 0) * wo * c + c0};
    __m256 wv[9];
#pragma GCC unroll 9
    for (int t = 0; t < 9; t++)
        wv[t] = ld(masked, wt + (size_t)t * c + c0, m);
    float *d = din + y * w * c + c0;
    for (size_t x = 0; x < w; x++) {
        if (S == 1 && x == 1 && wo >= 2) {
            /* inputs x in [1, min(w, wo - 1)) reach outputs x + 1, x, x - 1 */
            const size_t xi1 = wo - 1 < w ? wo - 1 : w;
            for (; x + 4 <= xi1; x += 4)
                bwd_data_block1(4, masked, r, v, wv, c, x, d, m);
            for (; x < xi1; x++)
                bwd_data_block1(1, masked, r, v, wv, c, x, d, m);
            if (x == w)
                break;
        }
        if (S == 2 && x == 0) {
            /* pairs (2q, 2q + 1) with q + 1 < wo and 2q + 1 < w */
            for (; x / 2 + 1 < wo && x + 1 < w; x += 2)
                bwd_data_pair2(masked, r, v, wv, c, x / 2, d, m);
            if (x == w)
                break;
        }
        const ptrdiff_t e[3] = {src_of(S, x, 0, s, wo), src_of(S, x, 1, s, wo), src_of(S, x, 2, s, wo)};
        __m256 acc = _mm256_setzero_ps();
#pragma GCC unroll 3
        for (int ky = 0; ky < 3; ky++)
#pragma GCC unroll 3
            for (int kx = 0; kx < 3; kx++)
                if (v[ky] && e[kx] >= 0)
                    acc = _mm256_fmadd_ps(ld(masked, r[ky] + (size_t)e[kx] * c, m), wv[ky * 3 + kx], acc);
        st(masked, d + x * c, m, acc);
    }
}

ALWAYS_INLINE void bwd_data_rows(const int S, const float *dout, size_t ho, size_t wo, size_t c, const float *wt,
                                 float *din, size_t w, size_t s, size_t y0, size_t y1)
{
    const __m256i mfull = _mm256_set1_epi32(-1), mt = tail_mask(c % 8);
    for (size_t y = y0; y < y1; y++) {
        size_t c0 = 0;
        for (; c0 + 8 <= c; c0 += 8) {
            if (c0 % 16 == 0 && y + 1 < y1) {
                const ptrdiff_t q = src_of(S, y + 1, 0, s, ho); /* the row y + 1 reads first */
                if (q >= 0)
                    prefetch_px(dout + (size_t)q * wo * c + c0, wo, c);
            }
            bwd_data_row(S, 0, dout, ho, wo, c, wt, din, w, s, y, c0, mfull);
        }
        if (c0 < c)
            bwd_data_row(S, 1, dout, ho, wo, c, wt, din, w, s, y, c0, mt);
    }
}

void mnv2_dw3x3_bwd_data_avx2(const float *dout, size_t ho, size_t wo, size_t c, const float *wt, float *din,
                              size_t h, size_t w, size_t stride, size_t y0, size_t y1)
{
    (void)h;
    if (stride == 1)
        bwd_data_rows(1, dout, ho, wo, c, wt, din, w, stride, y0, y1);
    else if (stride == 2)
        bwd_data_rows(2, dout, ho, wo, c, wt, din, w, stride, y0, y1);
    else
        bwd_data_rows(0, dout, ho, wo, c, wt, din, w, stride, y0, y1);
}

/* ---- weight gradient -------------------------------------------------------------------- */

/* NX outputs of row y from column x, all column taps inside the image: each of the nine tap
 * gradients gets the NX pixels' products in x order. */
ALWAYS_INLINE void bwd_filter_block(const int S, const int NX, const int masked, const float *const r[3],
                                    const int v[3], __m256 acc[9], size_t c, size_t s, size_t x, const float *g,
                                    __m256i m)
{
    const size_t ss = S ? (size_t)S : s;
    __m256 gv[4];
#pragma GCC unroll 4
    for (int j = 0; j < NX; j++)
        gv[j] = ld(masked, g + (x + (size_t)j) * c, m);
#pragma GCC unroll 3
    for (int ky = 0; ky < 3; ky++) {
        if (!v[ky])
            continue;
        const float *p = r[ky] + (x * ss - 1) * c;
#pragma GCC unroll 12
        for (int t = 0; t < 12; t++) {
            if (t >= (NX - 1) * (S ? S : 1) + 3)
                break;
            const __m256 col = ld(masked, p + (size_t)t * c, m);
#pragma GCC unroll 4
            for (int j = 0; j < NX; j++) {
                const int kx = t - j * (S ? S : 1);
                if (kx >= 0 && kx < 3)
                    acc[ky * 3 + kx] = _mm256_fmadd_ps(col, gv[j], acc[ky * 3 + kx]);
            }
        }
    }
}

/* Output row y, channels [c0, c0 + 8): the nine tap gradients are loaded, accumulated over the
 * row in x order and stored back. */
ALWAYS_INLINE void bwd_filter_row(const int S, const int masked, const float *in, size_t h, size_t w, size_t c,
                                  const float *dout, size_t wo, size_t s, size_t y, size_t c0, __m256i m, float *dwt)
{
    const size_t ss = S ? (size_t)S : s;
    const size_t iy = y * ss;
    const int v[3] = {iy >= 1 && iy - 1 < h, iy < h, iy + 1 < h};
    if (!v[0] && !v[1] && !v[2])
        return;
    const float *const r[3] = {v[0] ? in + (iy - 1) * w * c + c0 : in, v[1] ? in + iy * w * c + c0 : in,
                               v[2] ? in + (iy + 1) * w * c + c0 : in};
    float *dw = dwt + c0;
    __m256 acc[9];
#pragma GCC unroll 9
    for (int t = 0; t < 9; t++)
        acc[t] = ld(masked, dw + (size_t)t * c, m);
    const float *g = dout + y * wo * c + c0;
    size_t xi0, xi1;
    interior(w, wo, ss, &xi0, &xi1);
    for (size_t x = 0; x < wo; x++) {
        if (x == xi0 && xi0 < xi1) {
            if (S)
                for (; x + 4 <= xi1; x += 4)
                    bwd_filter_block(S, 4, masked, r, v, acc, c, ss, x, g, m);
            for (; x < xi1; x++)
                bwd_filter_block(S, 1, masked, r, v, acc, c, ss, x, g, m);
            if (x == wo)
                break;
        }
        const size_t ix = x * ss;
        const int hv[3] = {ix >= 1 && ix - 1 < w, ix < w, ix + 1 < w};
        const __m256 gv = ld(masked, g + x * c, m);
#pragma GCC unroll 3
        for (int ky = 0; ky < 3; ky++)
#pragma GCC unroll 3
            for (int kx = 0; kx < 3; kx++)
                if (v[ky] && hv[kx])
                    acc[ky * 3 + kx] =
                        _mm256_fmadd_ps(ld(masked, r[ky] + (ix + (size_t)kx - 1) * c, m), gv, acc[ky * 3 + kx]);
    }
#pragma GCC unroll 9
    for (int t = 0; t < 9; t++)
        st(masked, dw + (size_t)t * c, m, acc[t]);
}

ALWAYS_INLINE void bwd_filter_rows(const int S, const float *in, size_t h, size_t w, size_t c, const float *dout,
                                   size_t wo, size_t s, size_t y0, size_t y1, float *dwt)
{
    const __m256i mfull = _mm256_set1_epi32(-1), mt = tail_mask(c % 8);
    for (size_t y = y0; y < y1; y++) {
        size_t c0 = 0;
        for (; c0 + 8 <= c; c0 += 8) {
            if (c0 % 16 == 0 && y + 1 < y1) {
                for (size_t r = y * s + 2; r <= (y + 1) * s + 1 && r < h; r++)
                    prefetch_px(in + r * w * c + c0, w, c);
                prefetch_px(dout + (y + 1) * wo * c + c0, wo, c);
            }
            bwd_filter_row(S, 0, in, h, w, c, dout, wo, s, y, c0, mfull, dwt);
        }
        if (c0 < c)
            bwd_filter_row(S, 1, in, h, w, c, dout, wo, s, y, c0, mt, dwt);
    }
}

void mnv2_dw3x3_bwd_filter_avx2(const float *in, size_t h, size_t w, size_t c, const float *dout, size_t ho,
                                size_t wo, size_t stride, size_t y0, size_t y1, float *dwt)
{
    (void)ho;
    if (stride == 1)
        bwd_filter_rows(1, in, h, w, c, dout, wo, stride, y0, y1, dwt);
    else if (stride == 2)
        bwd_filter_rows(2, in, h, w, c, dout, wo, stride, y0, y1, dwt);
    else
        bwd_filter_rows(0, in, h, w, c, dout, wo, stride, y0, y1, dwt);
}
