/* SPDX-License-Identifier: BSD-2-Clause */
/* AVX-512 full 3x3 convolution, padding 1 (the stem): forward and weight gradient. Output channels
 * go 32 to a register pair (masked at the tail). The forward pass keeps six pixels x two zmm of
 * outputs in registers and sums taps in the scalar (ky, kx, ci) order; the weight gradient keeps up
 * to 12 weight rows x two zmm in registers, loaded from dwt, as one fma chain over (y, x) in order.
 * Neither depends on how [y0, y1) is split across calls. */
#if !defined(__AVX512F__) || !defined(__AVX512BW__) || !defined(__AVX512DQ__) || !defined(__AVX512VL__)
#error "this file must be compiled with -mavx512f -mavx512bw -mavx512dq -mavx512vl"
#endif
#include <immintrin.h>

#include "kernels/kernels.h"
#include "util.h"

#define XB 6  /* pixels per forward tile */
#define RB 12 /* weight rows per weight-gradient tile */

/* xb output pixels x, x+1, ... of row y (first pixel's input column ix0 = x * stride - 1), output
 * channels [co, co + 16 * nv) under masks m0, m1; kxv: the column taps valid for all xb pixels. */
static ALWAYS_INLINE void fwd_tile(const int xb, const int nv, const int kxv, int kyv, const float *in, size_t w,
                                   size_t cin, const float *wt, size_t cout, size_t co, __mmask16 m0,
                                   __mmask16 m1, ptrdiff_t iy0, ptrdiff_t ix0, size_t stride, float *o)
{
    __m512 acc[XB][2];
#pragma GCC unroll 8
    for (int p = 0; p < xb; p++)
        acc[p][0] = acc[p][1] = _mm512_setzero_ps();
    for (int ky = 0; ky < 3; ky++) {
        if (!(kyv >> ky & 1))
            continue;
        const float *row = in + (size_t)(iy0 + ky) * w * cin;
#pragma GCC unroll 3
        for (int kx = 0; kx < 3; kx++) {
            if (!(kxv >> kx & 1))
                continue;
            const float *ip = row + (size_t)(ix0 + kx) * cin;
            const float *wp = wt + (size_t)(ky * 3 + kx) * cin * cout + co;
            for (size_t ci = 0; ci < cin; ci++, ip++, wp += cout) {
                const __m512 w0 = _mm512_maskz_loadu_ps(m0, wp);
                const __m512 w1 = nv == 2 ? _mm512_maskz_loadu_ps(m1, wp + 16) : w0;
#pragma GCC unroll 8
                for (int p = 0; p < xb; p++) {
                    const __m512 a = _mm512_set1_ps(ip[(size_t)p * stride * cin]);
                    acc[p][0] = _mm512_fmadd_ps(a, w0, acc[p][0]);
                    if (nv == 2)
                        acc[p][1] = _mm512_fmadd_ps(a, w1, acc[p][1]);
                }
            }
        }
    }
    const int full = m0 == 0xffff && (nv == 1 || m1 == 0xffff);
#pragma GCC unroll 8
    for (int p = 0; p < xb; p++) {
        st(full, m0, o + (size_t)p * cout, acc[p][0]);
        if (nv == 2)
            st(full, m1, o + (size_t)p * cout + 16, acc[p][1]);
    }
}

static ALWAYS_INLINE void fwd_row(const int nv, int kyv, const float *in, size_t w, size_t cin, const float *wt,
                                  size_t cout, size_t co, __mmask16 m0, __mmask16 m1, size_t y, size_t wo,
                                  size_t stride, float *out)
{
    const ptrdiff_t iy0 = (ptrdiff_t)(y * stride) - 1;
    float *o = out + y * wo * cout + co;
    /* Interior columns [1, xe): all three taps inside (x * stride + 1 < w). */
    const size_t xe = w >= 2 ? ((w - 2) / stride + 1 < wo ? (w - 2) / stride + 1 : wo) : 0;
    size_t x = 0;
    for (; x < wo && (x == 0 || x >= xe); x++) {
        const ptrdiff_t ix0 = (ptrdiff_t)(x * stride) - 1;
        fwd_tile(1, nv, valid3(ix0, w), kyv, in, w, cin, wt, cout, co, m0, m1, iy0, ix0, stride, o + x * cout);
    }
    for (; x + XB <= xe; x += XB)
        fwd_tile(XB, nv, 7, kyv, in, w, cin, wt, cout, co, m0, m1, iy0, (ptrdiff_t)(x * stride) - 1, stride,
                 o + x * cout);
    for (; x < xe; x++)
        fwd_tile(1, nv, 7, kyv, in, w, cin, wt, cout, co, m0, m1, iy0, (ptrdiff_t)(x * stride) - 1, stride,
                 o + x * cout);
    for (; x < wo; x++) {
        const ptrdiff_t ix0 = (ptrdiff_t)(x * stride) - 1;
        fwd_tile(1, nv, valid3(ix0, w), kyv, in, w, cin, wt, cout, co, m0, m1, iy0, ix0, stride, o + x * cout);
    }
}

void mnv2_conv3x3_fwd_avx512(const float *in, size_t h, size_t w, size_t cin, const float *wt, float *out,
                             size_t ho, size_t wo, size_t cout, size_t stride, size_t y0, size_t y1)
{
    (void)ho;
    for (size_t y = y0; y < y1; y++) {
        const int kyv = valid3((ptrdiff_t)(y * stride) - 1, h);
        size_t co = 0;
        for (; co + 16 < cout; co += 32)
            fwd_row(2, kyv, in, w, cin, wt, cout, co, 0xffff, tail_mask(cout - co - 16), y, wo, stride, out);
        if (co < cout)
            fwd_row(1, kyv, in, w, cin, wt, cout, co, tail_mask(cout - co), 0, y, wo, stride, out);
    }
}

/* Weight gradient, one output pixel: rows r < nr of the tile (weight rows r0 + r of kernel row ky,
 * input element row[base + r0 + r]) that lie in [rlo, rhi) get acc[r] += row[base + r0 + r] * g. */
static ALWAYS_INLINE void filt_px(const int nv, const int edge, size_t nr, size_t r0, size_t rlo, size_t rhi,
                                  const float *row, ptrdiff_t base, const float *g, __mmask16 m0, __mmask16 m1,
                                  __m512 acc[RB][2])
{
    const __m512 g0 = _mm512_maskz_loadu_ps(m0, g);
    const __m512 g1 = nv == 2 ? _mm512_maskz_loadu_ps(m1, g + 16) : g0;
#pragma GCC unroll 12
    for (size_t r = 0; r < RB; r++) {
        if (r >= nr || (edge && (r0 + r < rlo || r0 + r >= rhi)))
            continue;
        const __m512 a = _mm512_set1_ps(row[base + (ptrdiff_t)(r0 + r)]);
        acc[r][0] = _mm512_fmadd_ps(a, g0, acc[r][0]);
        if (nv == 2)
            acc[r][1] = _mm512_fmadd_ps(a, g1, acc[r][1]);
    }
}

/* Rows r0 .. r0 + nr of kernel row ky (the weights dwt[ky][kx][ci] with kx * cin + ci = r0 + r),
 * output channels [co, co + 16 * nv). */
static ALWAYS_INLINE void filt_tile(const int nv, size_t ky, size_t r0, size_t nr, const float *in, size_t h,
                                    size_t w, size_t cin, const float *dout, size_t wo, size_t cout, size_t co,
                                    __mmask16 m0, __mmask16 m1, size_t stride, size_t y0, size_t y1, float *dwt)
{
    __m512 acc[RB][2];
    float *d = dwt + (ky * 3 * cin + r0) * cout + co;
#pragma GCC unroll 12
    for (size_t r = 0; r < RB; r++) {
        acc[r][0] = acc[r][1] = _mm512_setzero_ps();
        if (r < nr) {
            acc[r][0] = _mm512_maskz_loadu_ps(m0, d + r * cout);
            if (nv == 2)
                acc[r][1] = _mm512_maskz_loadu_ps(m1, d + r * cout + 16);
        }
    }
    const size_t xe = w >= 2 ? ((w - 2) / stride + 1 < wo ? (w - 2) / stride + 1 : wo) : 0;
    for (size_t y = y0; y < y1; y++) {
        const ptrdiff_t iy = (ptrdiff_t)(y * stride + ky) - 1;
        if (iy < 0 || iy >= (ptrdiff_t)h)
            continue;
        /* Input element of weight row r (kx = r / cin) at output column x: row[x * stride * cin + r - cin]. */
        const float *row = in + (size_t)iy * w * cin;
        const float *g = dout + y * wo * cout + co;
        for (size_t x = 0; x < wo; x++) {
            if (x >= 1 && x < xe) {
                filt_px(nv, 0, nr, r0, 0, 0, row, (ptrdiff_t)((x * stride - 1) * cin), g + x * cout, m0, m1, acc);
            } else {
                /* Column taps outside the image: kx = 0 at x = 0, kx = 2 at the right edge. */
                const size_t rlo = x * stride == 0 ? cin : 0, rhi = x * stride + 1 >= w ? 2 * cin : 3 * cin;
                filt_px(nv, 1, nr, r0, rlo, rhi, row, ((ptrdiff_t)(x * stride) - 1) * (ptrdiff_t)cin,
                        g + x * cout, m0, m1, acc);
            }
        }
    }
    const int full = m0 == 0xffff && (nv == 1 || m1 == 0xffff);
#pragma GCC unroll 12
    for (size_t r = 0; r < RB; r++)
        if (r < nr) {
            st(full, m0, d + r * cout, acc[r][0]);
            if (nv == 2)
                st(full, m1, d + r * cout + 16, acc[r][1]);
        }
}

void mnv2_conv3x3_bwd_filter_avx512(const float *in, size_t h, size_t w, size_t cin, const float *dout, size_t ho,
                                    size_t wo, size_t cout, size_t stride, size_t y0, size_t y1, float *dwt)
{
    (void)ho;
    for (size_t ky = 0; ky < 3; ky++)
        for (size_t r0 = 0; r0 < 3 * cin; r0 += RB) {
            const size_t nr = 3 * cin - r0 < RB ? 3 * cin - r0 : RB;
            size_t co = 0;
            for (; co + 16 < cout; co += 32)
                filt_tile(2, ky, r0, nr, in, h, w, cin, dout, wo, cout, co, 0xffff, tail_mask(cout - co - 16),
                          stride, y0, y1, dwt);
            if (co < cout)
                filt_tile(1, ky, r0, nr, in, h, w, cin, dout, wo, cout, co, tail_mask(cout - co), 0, stride, y0,
                          y1, dwt);
        }
}
