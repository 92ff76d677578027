/* SPDX-License-Identifier: BSD-2-Clause */
/* AVX2 + FMA: full 3x3 convolution, padding 1 (the stem): forward and weight gradient.
 * Vectors run along output channels: blocks of 32 (four vectors), then single vectors, then a
 * masked tail. The forward pass computes three neighbouring pixels at once (12 accumulators),
 * each an FMA chain over (ky, kx, ci) in order; the weight gradient keeps a 3 x 32 block of
 * dwt in registers along an output row and adds the pixels in x order. */
#if !defined(__AVX2__) || !defined(__FMA__)
#error "this file must be compiled with -mavx2 -mfma"
#endif
#include <immintrin.h>
#include <stdint.h>

#include "kernels/kernels.h"
#include "util.h"

/* ---- forward ---------------------------------------------------------------------------- */

/* NP pixels from column x of output row y (input rows r[ky], valid when v[ky]), NV vectors of
 * output channels from co (the last one masked when `masked`). With `edge`, column taps are
 * checked (NP = 1). */
ALWAYS_INLINE void fwd_block(const int NP, const int NV, const int masked, const int edge, const float *const r[3],
                             const int v[3], size_t w, size_t cin, const float *wt, size_t cout, size_t s, size_t x,
                             size_t co, float *o, __m256i m)
{
    __m256 acc[3][4];
#pragma GCC unroll 3
    for (int j = 0; j < NP; j++)
#pragma GCC unroll 4
        for (int u = 0; u < NV; u++)
            acc[j][u] = _mm256_setzero_ps();
    for (size_t ky = 0; ky < 3; ky++) {
        if (!v[ky])
            continue;
        for (size_t kx = 0; kx < 3; kx++) {
            const size_t ix = x * s + kx; /* input column + 1 */
            if (edge && (ix < 1 || ix - 1 >= w))
                continue;
            const float *ip = r[ky] + (ix - 1) * cin;
            const float *wp = wt + (ky * 3 + kx) * cin * cout + co;
            for (size_t ci = 0; ci < cin; ci++, wp += cout) {
                __m256 a[3];
#pragma GCC unroll 3
                for (int j = 0; j < NP; j++)
                    a[j] = _mm256_broadcast_ss(ip + (size_t)j * s * cin + ci);
#pragma GCC unroll 4
                for (int u = 0; u < NV; u++) {
                    const __m256 wv = ld(masked && u == NV - 1, wp + 8 * u, m);
#pragma GCC unroll 3
                    for (int j = 0; j < NP; j++)
                        acc[j][u] = _mm256_fmadd_ps(a[j], wv, acc[j][u]);
                }
            }
        }
    }
#pragma GCC unroll 3
    for (int j = 0; j < NP; j++)
#pragma GCC unroll 4
        for (int u = 0; u < NV; u++)
            st(masked && u == NV - 1, o + (x + (size_t)j) * cout + co + 8 * (size_t)u, m, acc[j][u]);
}

/* All output channels of NP pixels from column x. */
ALWAYS_INLINE void fwd_pixels(const int NP, const int edge, const float *const r[3], const int v[3], size_t w,
                              size_t cin, const float *wt, size_t cout, size_t s, size_t x, float *o)
{
    const __m256i mfull = _mm256_set1_epi32(-1);
    size_t co = 0;
    for (; co + 32 <= cout; co += 32)
        fwd_block(NP, 4, 0, edge, r, v, w, cin, wt, cout, s, x, co, o, mfull);
    for (; co + 8 <= cout; co += 8)
        fwd_block(NP, 1, 0, edge, r, v, w, cin, wt, cout, s, x, co, o, mfull);
    if (co < cout)
        fwd_block(NP, 1, 1, edge, r, v, w, cin, wt, cout, s, x, co, o, tail_mask(cout - co));
}

void mnv2_conv3x3_fwd_avx2(const float *in, size_t h, size_t w, size_t cin, const float *wt, float *out, size_t ho,
                           size_t wo, size_t cout, size_t stride, size_t y0, size_t y1)
{
    (void)ho;
    const size_t s = stride;
    /* columns x in [1, xi1) have all three taps inside [0, w) */
    size_t xi1 = w >= 2 ? (w - 2) / s + 1 : 0;
    xi1 = xi1 > wo ? wo : xi1;
    for (size_t y = y0; y < y1; y++) {
        const size_t iy = y * s; /* input row of ky = 1 */
        const int v[3] = {iy >= 1 && iy - 1 < h, iy < h, iy + 1 < h};
        const float *const r[3] = {v[0] ? in + (iy - 1) * w * cin : in, v[1] ? in + iy * w * cin : in,
                                   v[2] ? in + (iy + 1) * w * cin : in};
        float *o = out + y * wo * cout;
        size_t x = 0;
        if (x < wo)
            fwd_pixels(1, 1, r, v, w, cin, wt, cout, s, x++, o);
        for (; x + 3 <= xi1; x += 3)
            fwd_pixels(3, 0, r, v, w, cin, wt, cout, s, x, o);
        for (; x < xi1; x++)
            fwd_pixels(1, 0, r, v, w, cin, wt, cout, s, x, o);
        for (; x < wo; x++)
            fwd_pixels(1, 1, r, v, w, cin, wt, cout, s, x, o);
    }
}

/* ---- weight gradient -------------------------------------------------------------------- */

/* dwt rows [ci, ci + CB) x vectors [co, co + 8 NV) of tap (., kx), accumulated over the output
 * pixels x in [xa, xb) of one row: g = dout row, ip = input row (pixel x reads column
 * x * s + kx - 1). */
ALWAYS_INLINE void bwf_block(const int CB, const int NV, const int masked, const float *ip, const float *g,
                             size_t xa, size_t xb, size_t cin, size_t cout, size_t s, size_t kx, size_t ci, size_t co,
                             float *dw, __m256i m)
{
    __m256 acc[3][4];
#pragma GCC unroll 3
    for (int i = 0; i < CB; i++)
#pragma GCC unroll 4
        for (int u = 0; u < NV; u++)
            acc[i][u] = ld(masked && u == NV - 1, dw + (ci + (size_t)i) * cout + co + 8 * (size_t)u, m);
    for (size_t x = xa; x < xb; x++) {
        const float *px = ip + (x * s + kx - 1) * cin + ci;
        const float *gx = g + x * cout + co;
        __m256 a[3];
#pragma GCC unroll 3
        for (int i = 0; i < CB; i++)
            a[i] = _mm256_broadcast_ss(px + i);
#pragma GCC unroll 4
        for (int u = 0; u < NV; u++) {
            const __m256 gv = ld(masked && u == NV - 1, gx + 8 * u, m);
#pragma GCC unroll 3
            for (int i = 0; i < CB; i++)
                acc[i][u] = _mm256_fmadd_ps(a[i], gv, acc[i][u]);
        }
    }
#pragma GCC unroll 3
    for (int i = 0; i < CB; i++)
#pragma GCC unroll 4
        for (int u = 0; u < NV; u++)
            st(masked && u == NV - 1, dw + (ci + (size_t)i) * cout + co + 8 * (size_t)u, m, acc[i][u]);
}

ALWAYS_INLINE void bwf_cols(const int NV, const int masked, const float *ip, const float *g, size_t xa, size_t xb,
                            size_t cin, size_t cout, size_t s, size_t kx, size_t co, float *dw, __m256i m)
{
    size_t ci = 0;
    for (; ci + 3 <= cin; ci += 3)
        bwf_block(3, NV, masked, ip, g, xa, xb, cin, cout, s, kx, ci, co, dw, m);
    if (cin - ci == 2)
        bwf_block(2, NV, masked, ip, g, xa, xb, cin, cout, s, kx, ci, co, dw, m);
    else if (cin - ci == 1)
        bwf_block(1, NV, masked, ip, g, xa, xb, cin, cout, s, kx, ci, co, dw, m);
}

void mnv2_conv3x3_bwd_filter_avx2(const float *in, size_t h, size_t w, size_t cin, const float *dout, size_t ho,
                                  size_t wo, size_t cout, size_t stride, size_t y0, size_t y1, float *dwt)
{
    (void)ho;
    const size_t s = stride;
    const __m256i mfull = _mm256_set1_epi32(-1);
    for (size_t y = y0; y < y1; y++) {
        const float *g = dout + y * wo * cout;
        for (size_t ky = 0; ky < 3; ky++) {
            const size_t iy1 = y * s + ky; /* input row + 1 */
            if (iy1 < 1 || iy1 - 1 >= h)
                continue;
            for (size_t kx = 0; kx < 3; kx++) {
                /* x * s + kx - 1 in [0, w) */
                const size_t xa = kx == 0 ? 1 : 0;
                size_t xb = (w + 1 - kx + s - 1) / s;
                xb = xb > wo ? wo : xb;
                if (xa >= xb)
                    continue;
                const float *ip = in + (iy1 - 1) * w * cin;
                float *dw = dwt + (ky * 3 + kx) * cin * cout;
                size_t co = 0;
                for (; co + 32 <= cout; co += 32)
                    bwf_cols(4, 0, ip, g, xa, xb, cin, cout, s, kx, co, dw, mfull);
                for (; co + 8 <= cout; co += 8)
                    bwf_cols(1, 0, ip, g, xa, xb, cin, cout, s, kx, co, dw, mfull);
                if (co < cout)
                    bwf_cols(1, 1, ip, g, xa, xb, cin, cout, s, kx, co, dw, tail_mask(cout - co));
            }
        }
    }
}
