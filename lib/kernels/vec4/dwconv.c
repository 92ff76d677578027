/* SPDX-License-Identifier: BSD-2-Clause */
/* 4-wide depthwise 3x3 (SSE4.1, NEON; padding 1, any stride): forward, fused inference forward and
 * both gradients. Every output is a v4_madd (f1_madd) chain over its taps inside the image in
 * (ky, kx) order from zero, in the full, edge and channel-tail paths alike; the weight gradient
 * adds in (y, x) order onto dwt. No result depends on the loop structure below or on the [y0, y1)
 * split. The forward and input gradient run along a row with the weights in registers where the
 * level has the registers for them (NEON), else one pixel at a time (SSE4.1); the weight gradient
 * keeps nine sums per vector of channels in registers along a row on both (V4_DW_NV vectors, then
 * one, then single channels). */
#include "kernels/kernels.h"
#include "vec4.h"

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

#if V4_DW_NV == 2
/* Forward and input gradient with NEON's 32 registers: the nine weights of two vectors stay in
 * registers along a row chunk. */

/* Columns [0, n) of one row chunk for channels ch .. ch + 4 * NV - 1 (NV = 1 or 2 vectors): the
 * nine weights in registers, each output a v4_madd chain over its valid taps. */
INLINE void dw_block(const int NV, const float *const row[3], int rows_in, const ptrdiff_t col[][3],
                     const unsigned char *full, size_t n, size_t c, size_t ch, const float *wt, const float *bias,
                     float lo, float hi, float *d)
{
    v4 w0[9], w1[9], b0 = v4_zero(), b1 = b0;
    const v4 vlo = v4_dup(lo), vhi = v4_dup(hi);
#pragma GCC unroll 9
    for (int t = 0; t < 9; t++) {
        w0[t] = v4_load(wt + (size_t)t * c + ch);
        w1[t] = NV == 2 ? v4_load(wt + (size_t)t * c + ch + 4) : w0[t];
    }
    if (bias) {
        b0 = v4_load(bias + ch);
        if (NV == 2)
            b1 = v4_load(bias + ch + 4);
    }
    const float *r[3];
    for (int k = 0; k < 3; k++)
        r[k] = row[k] ? row[k] + ch : NULL;
    for (size_t x = 0; x < n; x++, d += c) {
        v4 a0 = v4_zero(), a1 = a0;
        const ptrdiff_t *cx = col[x];
        if (rows_in && full[x]) {
#pragma GCC unroll 9
            for (int t = 0; t < 9; t++) {
                const float *p = r[t / 3] + cx[t % 3];
                a0 = v4_madd(a0, v4_load(p), w0[t]);
                if (NV == 2)
                    a1 = v4_madd(a1, v4_load(p + 4), w1[t]);
            }
        } else {
#pragma GCC unroll 9
            for (int t = 0; t < 9; t++) {
                if (!r[t / 3] || cx[t % 3] < 0)
                    continue;
                const float *p = r[t / 3] + cx[t % 3];
                a0 = v4_madd(a0, v4_load(p), w0[t]);
                if (NV == 2)
                    a1 = v4_madd(a1, v4_load(p + 4), w1[t]);
            }
        }
        if (bias) {
            a0 = v4_clamp(v4_add(a0, b0), vlo, vhi);
            if (NV == 2)
                a1 = v4_clamp(v4_add(a1, b1), vlo, vhi);
        }
        v4_store(d + ch, a0);
        if (NV == 2)
            v4_store(d + ch + 4, a1);
    }
}

/* Rows y0..y1 of dst[y][x][c] = sum of taps over src[sh][sw][c] (forward: src = in, dst = out;
 * input gradient: src = dout, dst = din), then bias and clamp if bias. */
static void dw_rows(int bwd, const float *src, size_t sh, size_t sw, size_t c, const float *wt, const float *bias,
                    float lo, float hi, float *dst, size_t dw, size_t s, size_t y0, size_t y1)
{
    ptrdiff_t col[XB][3];
    unsigned char full[XB];
    for (size_t y = y0; y < y1; y++) {
        const float *row[3];
        const int rows_in = tap_rows(bwd, src, y, s, sh, sw * c, row);
        for (size_t x0 = 0; x0 < dw; x0 += XB) {
            const size_t n = dw - x0 < XB ? dw - x0 : XB;
            tap_cols(bwd, x0, n, s, sw, c, col, full);
            float *d = dst + (y * dw + x0) * c;
            size_t ch = 0;
            for (; ch + 8 <= c; ch += 8)
                dw_block(2, row, rows_in, col, full, n, c, ch, wt, bias, lo, hi, d);
            for (; ch + 4 <= c; ch += 4)
                dw_block(1, row, rows_in, col, full, n, c, ch, wt, bias, lo, hi, d);
            for (; ch < c; ch++)
                for (size_t x = 0; x < n; x++) {
                    float v = 0.0f;
                    for (int t = 0; t < 9; t++)
                        if (row[t / 3] && col[x][t % 3] >= 0)
                            v = f1_madd(v, row[t / 3][col[x][t % 3] + (ptrdiff_t)ch], wt[(size_t)t * c + ch]);
                    if (bias) {
                        v += bias[ch];
                        v = v < lo ? lo : v > hi ? hi : v;
                    }
                    d[x * c + ch] = v;
                }
        }
    }
}

#else
/* Forward and input gradient on SSE4.1: one output pixel at a time over all its channels
 * (contiguous streams), faster there than the row blocks above (see V4_DW_NV in vec4.h). */

/* Rows y0..y1 of dst[y][x][c] = sum of taps over src[sh][sw][c] (forward: src = in, dst = out;
 * input gradient: src = dout, dst = din), then bias and clamp if bias. One pixel at a time, all
 * its channels: the taps inside the image as (source, weight) row pointers in (ky, kx) order. */
INLINE void dw_rows(int bwd, const float *src, size_t sh, size_t sw, size_t c, const float *wt, const float *bias,
                    float lo, float hi, float *dst, size_t dw, size_t s, size_t y0, size_t y1)
{
    const v4 vlo = v4_dup(lo), vhi = v4_dup(hi);
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
                    v4 v = v4_zero();
                    for (int t = 0; t < 9; t++)
                        v = v4_madd(v, v4_load(p[t] + ch), v4_load(q[t] + ch));
                    if (bias)
                        v = v4_clamp(v4_add(v, v4_load(bias + ch)), vlo, vhi);
                    v4_store(d + ch, v);
                }
            } else {
                for (; ch + 4 <= c; ch += 4) {
                    v4 v = v4_zero();
                    for (int t = 0; t < n; t++)
                        v = v4_madd(v, v4_load(p[t] + ch), v4_load(q[t] + ch));
                    if (bias)
                        v = v4_clamp(v4_add(v, v4_load(bias + ch)), vlo, vhi);
                    v4_store(d + ch, v);
                }
            }
            for (; ch < c; ch++) {
                float v = 0.0f;
                for (int t = 0; t < n; t++)
                    v = f1_madd(v, p[t][ch], q[t][ch]);
                if (bias) {
                    v += bias[ch];
                    v = v < lo ? lo : v > hi ? hi : v;
                }
                d[ch] = v;
            }
        }
    }
}
#endif

void V4_FN(dw3x3_fwd)(const float *in, size_t h, size_t w, size_t c, const float *wt, float *out, size_t ho,
                         size_t wo, size_t stride, size_t y0, size_t y1)
{
    (void)ho;
    dw_rows(0, in, h, w, c, wt, NULL, 0.0f, 0.0f, out, wo, stride, y0, y1);
}

void V4_FN(dw3x3_fwd_bias_act)(const float *in, size_t h, size_t w, size_t c, const float *wt, const float *bias,
                                  float lo, float hi, float *out, size_t ho, size_t wo, size_t stride, size_t y0,
                                  size_t y1)
{
    (void)ho;
    dw_rows(0, in, h, w, c, wt, bias, lo, hi, out, wo, stride, y0, y1);
}

void V4_FN(dw3x3_bwd_data)(const float *dout, size_t ho, size_t wo, size_t c, const float *wt, float *din,
                              size_t h, size_t w, size_t stride, size_t y0, size_t y1)
{
    (void)h;
    dw_rows(1, dout, ho, wo, c, wt, NULL, 0.0f, 0.0f, din, w, stride, y0, y1);
}

/* Weight gradient of one row chunk for channels ch .. ch + 4 * NV - 1: the nine taps' sums in
 * registers, loaded from and stored back to dwt, adding in x order. */
INLINE void dwf_block(const int NV, const float *const row[3], int rows_in, const ptrdiff_t col[][3],
                      const unsigned char *full, size_t n, size_t c, size_t ch, const float *g, float *dwt)
{
    v4 a0[9], a1[9];
#pragma GCC unroll 9
    for (int t = 0; t < 9; t++) {
        a0[t] = v4_load(dwt + (size_t)t * c + ch);
        a1[t] = NV == 2 ? v4_load(dwt + (size_t)t * c + ch + 4) : a0[t];
    }
    const float *r[3];
    for (int k = 0; k < 3; k++)
        r[k] = row[k] ? row[k] + ch : NULL;
    for (size_t x = 0; x < n; x++) {
        const v4 g0 = v4_load(g + x * c + ch), g1 = NV == 2 ? v4_load(g + x * c + ch + 4) : g0;
        const ptrdiff_t *cx = col[x];
        if (rows_in && full[x]) {
#pragma GCC unroll 9
            for (int t = 0; t < 9; t++) {
                const float *p = r[t / 3] + cx[t % 3];
                a0[t] = v4_madd(a0[t], v4_load(p), g0);
                if (NV == 2)
                    a1[t] = v4_madd(a1[t], v4_load(p + 4), g1);
            }
        } else {
#pragma GCC unroll 9
            for (int t = 0; t < 9; t++) {
                if (!r[t / 3] || cx[t % 3] < 0)
                    continue;
                const float *p = r[t / 3] + cx[t % 3];
                a0[t] = v4_madd(a0[t], v4_load(p), g0);
                if (NV == 2)
                    a1[t] = v4_madd(a1[t], v4_load(p + 4), g1);
            }
        }
    }
#pragma GCC unroll 9
    for (int t = 0; t < 9; t++) {
        v4_store(dwt + (size_t)t * c + ch, a0[t]);
        if (NV == 2)
            v4_store(dwt + (size_t)t * c + ch + 4, a1[t]);
    }
}

void V4_FN(dw3x3_bwd_filter)(const float *in, size_t h, size_t w, size_t c, const float *dout, size_t ho,
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
            for (; V4_DW_NV == 2 && ch + 8 <= c; ch += 8)
                dwf_block(2, row, rows_in, col, full, n, c, ch, g, dwt);
            for (; ch + 4 <= c; ch += 4)
                dwf_block(1, row, rows_in, col, full, n, c, ch, g, dwt);
            for (; ch < c; ch++)
                for (int t = 0; t < 9; t++) {
                    float a = dwt[(size_t)t * c + ch];
                    for (size_t x = 0; row[t / 3] && x < n; x++)
                        if (col[x][t % 3] >= 0)
                            a = f1_madd(a, row[t / 3][col[x][t % 3] + (ptrdiff_t)ch], g[x * c + ch]);
                    dwt[(size_t)t * c + ch] = a;
                }
        }
    }
}
