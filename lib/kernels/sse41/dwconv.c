/* SPDX-License-Identifier: BSD-2-Clause */
/* SSE4.1 depthwise 3x3 (padding 1, stride 1 or 2), four channels per vector. Forward and input
 * gradient go one output pixel at a time over all its channels (contiguous streams); each output
 * sums its taps in (ky, kx) order from zero with mul + add, like the scalar kernel, in the full,
 * edge and channel-tail paths alike, so no result depends on the [y0, y1) split. The weight
 * gradient keeps the nine taps of a channel block in registers along a row and adds in (y, x)
 * order, like scalar. */
#if !defined(__SSE4_1__)
#error "this file must be compiled with -msse4.1"
#endif
#include <smmintrin.h>

#include "kernels/kernels.h"
#include "util.h"

enum { XB = 64 }; /* columns per chunk of precomputed tap offsets */

/* Rows of the three taps of row y (NULL outside); returns whether all three are inside. */
static int tap_rows(int bwd, const float *src, size_t y, size_t s, size_t sh, size_t rowlen, const float *row[3])
{
    int all = 1;
    for (int k = 0; k < 3; k++) {
        const ptrdiff_t i = src_pos(bwd, y, k, s, sh);
        row[k] = i < 0 ? NULL : src + (size_t)i * rowlen;
        all &= i >= 0;
    }
    return all;
}

/* Offsets (floats; -1 outside) of the three taps of columns x0 .. x0 + n - 1, and whether all
 * three are inside. */
static void tap_cols(int bwd, size_t x0, size_t n, size_t s, size_t sw, size_t c, ptrdiff_t col[][3],
                     unsigned char *full)
{
    for (size_t x = 0; x < n; x++) {
        full[x] = 1;
        for (int k = 0; k < 3; k++) {
            const ptrdiff_t i = src_pos(bwd, x0 + x, k, s, sw);
            col[x][k] = i < 0 ? -1 : i * (ptrdiff_t)c;
            full[x] &= i >= 0;
        }
    }
}

/* Rows y0..y1 of dst[y][x][c] = sum of taps over src[sh][sw][c] (forward: src = in, dst = out;
 * input gradient: src = dout, dst = din), then bias and clamp if bias. One pixel at a time, all
 * its channels: the taps inside the image as (source, weight) row pointers in (ky, kx) order. */
INLINE void dw_rows(int bwd, const float *src, size_t sh, size_t sw, size_t c, const float *wt, const float *bias,
                    float lo, float hi, float *dst, size_t dw, size_t s, size_t y0, size_t y1)
{
    const __m128 vlo = _mm_set1_ps(lo), vhi = _mm_set1_ps(hi);
    for (size_t y = y0; y < y1; y++) {
        const float *row[3];
        tap_rows(bwd, src, y, s, sh, sw * c, row);
        for (size_t x = 0; x < dw; x++) {
            const float *p[9], *q[9];
            int n = 0;
            for (int ky = 0; ky < 3; ky++)
                for (int kx = 0; kx < 3; kx++) {
                    const ptrdiff_t ix = src_pos(bwd, x, kx, s, sw);
                    if (row[ky] && ix >= 0)
                        p[n] = row[ky] + (size_t)ix * c, q[n++] = wt + (size_t)(ky * 3 + kx) * c;
                }
            float *d = dst + (y * dw + x) * c;
            size_t ch = 0;
            if (n == 9) {
                for (; ch + 4 <= c; ch += 4) {
                    __m128 v = _mm_setzero_ps();
                    for (int t = 0; t < 9; t++)
                        v = _mm_add_ps(v, _mm_mul_ps(_mm_loadu_ps(p[t] + ch), _mm_loadu_ps(q[t] + ch)));
                    if (bias)
                        v = _mm_min_ps(vhi, _mm_max_ps(vlo, _mm_add_ps(v, _mm_loadu_ps(bias + ch))));
                    _mm_storeu_ps(d + ch, v); /* max(lo, v), min(hi, .): NaN passes, as in scalar */
                }
            } else {
                for (; ch + 4 <= c; ch += 4) {
                    __m128 v = _mm_setzero_ps();
                    for (int t = 0; t < n; t++)
                        v = _mm_add_ps(v, _mm_mul_ps(_mm_loadu_ps(p[t] + ch), _mm_loadu_ps(q[t] + ch)));
                    if (bias)
                        v = _mm_min_ps(vhi, _mm_max_ps(vlo, _mm_add_ps(v, _mm_loadu_ps(bias + ch))));
                    _mm_storeu_ps(d + ch, v);
                }
            }
            for (; ch < c; ch++) {
                float v = 0.0f;
                for (int t = 0; t < n; t++)
                    v += p[t][ch] * q[t][ch];
                if (bias) {
                    v += bias[ch];
                    v = v < lo ? lo : v > hi ? hi : v;
                }
                d[ch] = v;
            }
        }
    }
}

void mnv2_dw3x3_fwd_sse41(const float *in, size_t h, size_t w, size_t c, const float *wt, float *out, size_t ho,
                          size_t wo, size_t stride, size_t y0, size_t y1)
{
    (void)ho;
    dw_rows(0, in, h, w, c, wt, NULL, 0.0f, 0.0f, out, wo, stride, y0, y1);
}

void mnv2_dw3x3_fwd_bias_act_sse41(const float *in, size_t h, size_t w, size_t c, const float *wt, const float *bias,
                                   float lo, float hi, float *out, size_t ho, size_t wo, size_t stride, size_t y0,
                                   size_t y1)
{
    (void)ho;
    dw_rows(0, in, h, w, c, wt, bias, lo, hi, out, wo, stride, y0, y1);
}

void mnv2_dw3x3_bwd_data_sse41(const float *dout, size_t ho, size_t wo, size_t c, const float *wt, float *din,
                               size_t h, size_t w, size_t stride, size_t y0, size_t y1)
{
    (void)h;
    dw_rows(1, dout, ho, wo, c, wt, NULL, 0.0f, 0.0f, din, w, stride, y0, y1);
}

/* dwt[t][c] += in[tap source][c] * dout[y][x][c] over rows y0..y1 and columns, accumulated in
 * registers per row and channel block in (y, x) order, as the scalar kernel adds them. */
void mnv2_dw3x3_bwd_filter_sse41(const float *in, size_t h, size_t w, size_t c, const float *dout, size_t ho,
                                 size_t wo, size_t stride, size_t y0, size_t y1, float *dwt)
{
    (void)ho;
    ptrdiff_t col[XB][3];
    unsigned char full[XB];
    for (size_t y = y0; y < y1; y++) {
        const float *row[3];
        const int rows_in = tap_rows(0, in, y, stride, h, w * c, row);
        for (size_t x0 = 0; x0 < wo; x0 += XB) {
            const size_t n = wo - x0 < XB ? wo - x0 : XB;
            tap_cols(0, x0, n, stride, w, c, col, full);
            const float *g = dout + (y * wo + x0) * c;
            size_t ch = 0;
            for (; ch + 4 <= c; ch += 4) {
                __m128 acc[9];
                for (int t = 0; t < 9; t++)
                    acc[t] = _mm_loadu_ps(dwt + (size_t)t * c + ch);
                const float *r[3];
                for (int k = 0; k < 3; k++)
                    r[k] = row[k] ? row[k] + ch : NULL;
                for (size_t x = 0; x < n; x++) {
                    const __m128 gv = _mm_loadu_ps(g + x * c + ch);
                    const ptrdiff_t *cx = col[x];
                    if (rows_in && full[x])
                        for (int t = 0; t < 9; t++)
                            acc[t] = _mm_add_ps(acc[t], _mm_mul_ps(_mm_loadu_ps(r[t / 3] + cx[t % 3]), gv));
                    else
                        for (int t = 0; t < 9; t++)
                            if (r[t / 3] && cx[t % 3] >= 0)
                                acc[t] = _mm_add_ps(acc[t], _mm_mul_ps(_mm_loadu_ps(r[t / 3] + cx[t % 3]), gv));
                }
                for (int t = 0; t < 9; t++)
                    _mm_storeu_ps(dwt + (size_t)t * c + ch, acc[t]);
            }
            for (; ch < c; ch++)
                for (size_t x = 0; x < n; x++)
                    for (int t = 0; t < 9; t++)
                        if (row[t / 3] && col[x][t % 3] >= 0)
                            dwt[(size_t)t * c + ch] += row[t / 3][col[x][t % 3] + (ptrdiff_t)ch] * g[x * c + ch];
        }
    }
}
