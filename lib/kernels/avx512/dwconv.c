/* SPDX-License-Identifier: BSD-2-Clause */
/* AVX-512 depthwise 3x3 convolution, padding 1, stride 1 or 2: forward (+ bias and clamp), input
 * gradient and weight gradient. Channels go 16 to a zmm (masked at the tail); a channel block keeps
 * its nine taps in registers while it walks a row. Every output value depends only on its own row y
 * (the forward and input gradient) or is one fma chain over (y, x) in order starting from dwt (the
 * weight gradient), so splitting [y0, y1) across calls gives identical bits. */
#if !defined(__AVX512F__) || !defined(__AVX512BW__) || !defined(__AVX512DQ__) || !defined(__AVX512VL__)
#error "this file must be compiled with -mavx512f -mavx512bw -mavx512dq -mavx512vl"
#endif
#include <immintrin.h>
#include <stdint.h>

#include "kernels/kernels.h"
#include "util.h"

/* Channels before p's next 64-byte boundary when every pixel of the image shares p's alignment
 * (c a multiple of 16), else 0: channel blocks then start there so that whole-block loads and
 * stores stay on single cache lines. Unlike head_len (util.h), not capped at c. */
static ALWAYS_INLINE size_t pixel_head_len(const float *p, size_t c)
{
    if (c % 16)
        return 0;
    return ((64 - ((uintptr_t)p & 63)) & 63) / sizeof(float);
}

/* Prefetch the channel block's cache line in each of the n pixels (c floats apart) of the image
 * row at p: the rows the next output row will read for the first time, one row ahead, so that
 * the pixel-strided walk does not wait on memory. */
static ALWAYS_INLINE void prefetch_row(const float *p, size_t n, size_t c)
{
    for (size_t i = 0; i < n; i++)
        _mm_prefetch((const char *)(p + i * c), _MM_HINT_T0);
}

/* acc[0] + acc[1] + acc[2] over the rows in kyv (only those, so that a row-restricted pixel costs
 * no additions), in that order. */
static ALWAYS_INLINE __m512 sum3(const int kyv, const __m512 acc[3])
{
    __m512 s = _mm512_setzero_ps();
    int first = 1;
#pragma GCC unroll 3
    for (int ky = 0; ky < 3; ky++)
        if (kyv >> ky & 1) {
            s = first ? acc[ky] : _mm512_add_ps(s, acc[ky]);
            first = 0;
        }
    return s;
}

/* One output pixel of the forward pass for one channel block: the sum over the valid taps (rows in
 * kyv, columns in kxv) of rows[ky][(ix0 + kx) * c] * wv[ky][kx], in (ky, kx) order. */
static ALWAYS_INLINE __m512 fwd_px(const int full, __mmask16 m, const float *const rows[3], const int kyv,
                                   ptrdiff_t ix0, const int kxv, size_t c, const __m512 wv[9])
{
    /* One partial sum per kernel row (shorter dependency chains), added in a fixed order. */
    __m512 acc[3];
#pragma GCC unroll 3
    for (int ky = 0; ky < 3; ky++) {
        acc[ky] = _mm512_setzero_ps();
        if (!(kyv >> ky & 1))
            continue;
#pragma GCC unroll 3
        for (int kx = 0; kx < 3; kx++)
            if (kxv >> kx & 1)
                acc[ky] = _mm512_fmadd_ps(ld(full, m, rows[ky] + (ix0 + kx) * (ptrdiff_t)c), wv[ky * 3 + kx],
                                          acc[ky]);
    }
    return sum3(kyv, acc);
}

static ALWAYS_INLINE __m512 epi(const int act, __m512 v, __m512 bias, __m512 lo, __m512 hi)
{
    /* max(lo, v), min(hi, v): a NaN passes through like the scalar v < lo ? lo : v. */
    return act ? _mm512_min_ps(hi, _mm512_max_ps(lo, _mm512_add_ps(v, bias))) : v;
}

/* Forward pass of output row y for the channel block at ch. */
static ALWAYS_INLINE void fwd_row(const int full, const int act, const int kyv, __mmask16 m, const float *in,
                                  size_t h, size_t w, size_t c, const float *wt, const float *bias, float lo,
                                  float hi, float *out, size_t wo, size_t stride, size_t y, size_t ch)
{
    /* Input rows first read by output row y + 1: (y + 1) * stride + 1 and, at stride 2, the one before. */
    for (size_t r = y * stride + 2; r <= (y + 1) * stride + 1 && r < h; r++)
        prefetch_row(in + r * w * c + ch, w, c);
    const float *rows[3] = {in, in, in};
    __m512 wv[9];
#pragma GCC unroll 3
    for (int ky = 0; ky < 3; ky++) {
        if (kyv >> ky & 1)
            rows[ky] = in + ((y * stride + (size_t)ky - 1) * w) * c + ch;
#pragma GCC unroll 3
        for (int kx = 0; kx < 3; kx++)
            wv[ky * 3 + kx] = ld(full, m, wt + (size_t)(ky * 3 + kx) * c + ch);
    }
    const __m512 bv = act ? ld(full, m, bias + ch) : _mm512_setzero_ps();
    const __m512 lov = _mm512_set1_ps(lo), hiv = _mm512_set1_ps(hi);
    float *o = out + y * wo * c + ch;
    /* Interior columns [1, xb): all three taps inside (x * stride + 1 < w). */
    const size_t xb = w >= 2 ? ((w - 2) / stride + 1 < wo ? (w - 2) / stride + 1 : wo) : 0;
    size_t x = 0;
    for (; x < wo && (x == 0 || x >= xb); x++) {
        const ptrdiff_t ix0 = (ptrdiff_t)(x * stride) - 1;
        const __m512 v = fwd_px(full, m, rows, kyv, ix0, valid3(ix0, w), c, wv);
        st(full, m, o + x * c, epi(act, v, bv, lov, hiv));
    }
    if (stride == 1 && x < xb) {
        /* Stride 1: a 3x3 window of input vectors slides along the row, three loads per pixel.
         * Same sums in the same order as fwd_px. */
        __m512 win[3][3];
#pragma GCC unroll 3
        for (int ky = 0; ky < 3; ky++) {
            win[ky][0] = win[ky][1] = win[ky][2] = _mm512_setzero_ps();
            if (kyv >> ky & 1) {
                win[ky][0] = ld(full, m, rows[ky] + (x - 1) * c);
                win[ky][1] = ld(full, m, rows[ky] + x * c);
            }
        }
        for (; x < xb; x++) {
            __m512 acc[3];
#pragma GCC unroll 3
            for (int ky = 0; ky < 3; ky++) {
                acc[ky] = _mm512_setzero_ps();
                if (!(kyv >> ky & 1))
                    continue;
                win[ky][2] = ld(full, m, rows[ky] + (x + 1) * c);
#pragma GCC unroll 3
                for (int kx = 0; kx < 3; kx++)
                    acc[ky] = _mm512_fmadd_ps(win[ky][kx], wv[ky * 3 + kx], acc[ky]);
                win[ky][0] = win[ky][1], win[ky][1] = win[ky][2];
            }
            st(full, m, o + x * c, epi(act, sum3(kyv, acc), bv, lov, hiv));
        }
    }
    for (; x < xb; x++) {
        const ptrdiff_t ix0 = (ptrdiff_t)(x * stride) - 1;
        const __m512 v = fwd_px(full, m, rows, kyv, ix0, 7, c, wv);
        st(full, m, o + x * c, epi(act, v, bv, lov, hiv));
    }
    for (; x < wo; x++) {
        const ptrdiff_t ix0 = (ptrdiff_t)(x * stride) - 1;
        const __m512 v = fwd_px(full, m, rows, kyv, ix0, valid3(ix0, w), c, wv);
        st(full, m, o + x * c, epi(act, v, bv, lov, hiv));
    }
}

static ALWAYS_INLINE void fwd(const int act, const float *in, size_t h, size_t w, size_t c, const float *wt,
                              const float *bias, float lo, float hi, float *out, size_t wo, size_t stride,
                              size_t y0, size_t y1)
{
    const size_t hd = pixel_head_len(in, c) < c ? pixel_head_len(in, c) : 0;
    for (size_t y = y0; y < y1; y++) {
        const int kyv = valid3((ptrdiff_t)(y * stride) - 1, h);
        size_t ch = hd;
        if (hd)
            fwd_row(0, act, kyv, tail_mask(hd), in, h, w, c, wt, bias, lo, hi, out, wo, stride, y, 0);
        for (; ch + 16 <= c; ch += 16) {
            if (kyv == 7)
                fwd_row(1, act, 7, 0xffff, in, h, w, c, wt, bias, lo, hi, out, wo, stride, y, ch);
            else
                fwd_row(1, act, kyv, 0xffff, in, h, w, c, wt, bias, lo, hi, out, wo, stride, y, ch);
        }
        if (ch < c)
            fwd_row(0, act, kyv, tail_mask(c - ch), in, h, w, c, wt, bias, lo, hi, out, wo, stride, y, ch);
    }
}

void mnv2_dw3x3_fwd_avx512(const float *in, size_t h, size_t w, size_t c, const float *wt, float *out, size_t ho,
                           size_t wo, size_t stride, size_t y0, size_t y1)
{
    (void)ho;
    fwd(0, in, h, w, c, wt, NULL, 0.0f, 0.0f, out, wo, stride, y0, y1);
}

void mnv2_dw3x3_fwd_bias_act_avx512(const float *in, size_t h, size_t w, size_t c, const float *wt,
                                    const float *bias, float lo, float hi, float *out, size_t ho, size_t wo,
                                    size_t stride, size_t y0, size_t y1)
{
    (void)ho;
    fwd(1, in, h, w, c, wt, bias, lo, hi, out, wo, stride, y0, y1);
}

/* Taps of the input gradient at input coordinate i: tap k reads output o[k] = (i + 1 - k) / stride
 * when that division is exact and o[k] < n. Returns the valid taps as bits. */
static ALWAYS_INLINE int back3(size_t i, size_t stride, size_t n, size_t o[3])
{
    int v = 0;
    for (int k = 0; k < 3; k++) {
        const ptrdiff_t t = (ptrdiff_t)i + 1 - k;
        o[k] = 0;
        if (t >= 0 && t % (ptrdiff_t)stride == 0 && (size_t)t / stride < n)
            o[k] = (size_t)t / stride, v |= 1 << k;
    }
    return v;
}

/* One input-gradient pixel: the sum over the valid taps of rows[ky][ox[kx] * c] * wv[ky][kx]. */
static ALWAYS_INLINE __m512 bwd_px(const int full, __mmask16 m, const float *const rows[3], const int kyv,
                                   const size_t ox[3], const int kxv, size_t c, const __m512 wv[9])
{
    __m512 acc[3];
#pragma GCC unroll 3
    for (int ky = 0; ky < 3; ky++) {
        acc[ky] = _mm512_setzero_ps();
        if (!(kyv >> ky & 1))
            continue;
#pragma GCC unroll 3
        for (int kx = 0; kx < 3; kx++)
            if (kxv >> kx & 1)
                acc[ky] = _mm512_fmadd_ps(ld(full, m, rows[ky] + ox[kx] * c), wv[ky * 3 + kx], acc[ky]);
    }
    return sum3(kyv, acc);
}

static ALWAYS_INLINE void bwd_data_row(const int full, const int kyv, const size_t oy[3], __mmask16 m,
                                       const float *dout, size_t ho, size_t wo, size_t c, const float *wt, float *din,
                                       size_t w, size_t stride, size_t y, size_t ch)
{
    /* The output-gradient row that input row y + 1 reads first: (y + 2) / stride. */
    const size_t pf = (y + 2) / stride;
    if (pf != (y + 1) / stride && pf < ho)
        prefetch_row(dout + pf * wo * c + ch, wo, c);
    const float *rows[3];
    __m512 wv[9];
#pragma GCC unroll 3
    for (int ky = 0; ky < 3; ky++) {
        rows[ky] = dout + oy[ky] * wo * c + ch;
#pragma GCC unroll 3
        for (int kx = 0; kx < 3; kx++)
            wv[ky * 3 + kx] = ld(full, m, wt + (size_t)(ky * 3 + kx) * c + ch);
    }
    float *d = din + y * w * c + ch;
    size_t x = 0, ox[3];
    if (stride == 1 && w >= 3 && wo == w) {
        /* Columns [1, w - 1) have all three taps: ox = x + 1 - kx. */
        st(full, m, d, bwd_px(full, m, rows, kyv, ox, back3(0, 1, wo, ox), c, wv));
        /* A window of output-gradient vectors slides along the row (win[ky][i]: column x - 1 + i),
         * three loads per pixel; same sums in the same order as bwd_px. */
        __m512 win[3][3];
#pragma GCC unroll 3
        for (int ky = 0; ky < 3; ky++) {
            win[ky][0] = win[ky][1] = win[ky][2] = _mm512_setzero_ps();
            if (kyv >> ky & 1) {
                win[ky][0] = ld(full, m, rows[ky]);
                win[ky][1] = ld(full, m, rows[ky] + c);
            }
        }
        for (x = 1; x + 1 < w; x++) {
            __m512 acc[3];
#pragma GCC unroll 3
            for (int ky = 0; ky < 3; ky++) {
                acc[ky] = _mm512_setzero_ps();
                if (!(kyv >> ky & 1))
                    continue;
                win[ky][2] = ld(full, m, rows[ky] + (x + 1) * c);
#pragma GCC unroll 3
                for (int kx = 0; kx < 3; kx++) /* tap kx reads column x + 1 - kx */
                    acc[ky] = _mm512_fmadd_ps(win[ky][2 - kx], wv[ky * 3 + kx], acc[ky]);
                win[ky][0] = win[ky][1], win[ky][1] = win[ky][2];
            }
            st(full, m, d + x * c, sum3(kyv, acc));
        }
    } else if (stride == 2 && wo == (w + 1) / 2) {
        /* Even x: the centre tap only, ox = x / 2. Odd x: taps 0 and 2, ox = (x + 1) / 2 and
         * (x - 1) / 2, both inside while x + 1 < w. */
        for (; x + 1 < w && x / 2 + 1 < wo; x += 2) {
            ox[1] = x / 2;
            st(full, m, d + x * c, bwd_px(full, m, rows, kyv, ox, 2, c, wv));
            ox[0] = x / 2 + 1, ox[2] = x / 2;
            st(full, m, d + (x + 1) * c, bwd_px(full, m, rows, kyv, ox, 5, c, wv));
        }
    }
    for (; x < w; x++)
        st(full, m, d + x * c, bwd_px(full, m, rows, kyv, ox, back3(x, stride, wo, ox), c, wv));
}

void mnv2_dw3x3_bwd_data_avx512(const float *dout, size_t ho, size_t wo, size_t c, const float *wt, float *din,
                                size_t h, size_t w, size_t stride, size_t y0, size_t y1)
{
    (void)h;
    for (size_t y = y0; y < y1; y++) {
        size_t oy[3];
        const int kyv = back3(y, stride, ho, oy);
        size_t ch = 0;
        for (; ch + 16 <= c; ch += 16) {
            if (kyv == 7)
                bwd_data_row(1, 7, oy, 0xffff, dout, ho, wo, c, wt, din, w, stride, y, ch);
            else
                bwd_data_row(1, kyv, oy, 0xffff, dout, ho, wo, c, wt, din, w, stride, y, ch);
        }
        if (ch < c)
            bwd_data_row(0, kyv, oy, tail_mask(c - ch), dout, ho, wo, c, wt, din, w, stride, y, ch);
    }
}

/* Weight gradient, one output pixel: acc[v][tap] += in[tap] * g[v] over the valid taps. */
static ALWAYS_INLINE void filt_px(const int nv, const int full, const __mmask16 mk[2], const float *const rows[3],
                                  const int kyv, ptrdiff_t ix0, const int kxv, size_t c, const float *g,
                                  __m512 acc[2][9])
{
    __m512 gv[2];
#pragma GCC unroll 2
    for (int v = 0; v < nv; v++)
        gv[v] = ld(full, mk[v], g + 16 * v);
#pragma GCC unroll 3
    for (int ky = 0; ky < 3; ky++) {
        if (!(kyv >> ky & 1))
            continue;
#pragma GCC unroll 3
        for (int kx = 0; kx < 3; kx++) {
            if (!(kxv >> kx & 1))
                continue;
            const float *ip = rows[ky] + (ix0 + kx) * (ptrdiff_t)c;
#pragma GCC unroll 2
            for (int v = 0; v < nv; v++)
                acc[v][ky * 3 + kx] = _mm512_fmadd_ps(ld(full, mk[v], ip + 16 * v), gv[v], acc[v][ky * 3 + kx]);
        }
    }
}

/* One output row of the weight gradient for the channel blocks at ch. */
static ALWAYS_INLINE void filt_row(const int nv, const int full, const __mmask16 mk[2], const int kyv,
                                   const float *in, size_t h, size_t w, size_t c, const float *dout, size_t wo,
                                   size_t stride, size_t y, size_t ch, __m512 acc[2][9])
{
    if (ch + 32 < c) {
        /* The next channel block's lines of this output row and of the input rows it reads first. */
        for (size_t o = 32; o < 64 && ch + o < c; o += 16) {
            prefetch_row(dout + y * wo * c + ch + o, wo, c);
            for (size_t r = y * stride + 2 - stride; r <= y * stride + 1 && r < h; r++)
                prefetch_row(in + r * w * c + ch + o, w, c);
        }
    }
    const float *rows[3] = {in, in, in};
#pragma GCC unroll 3
    for (int ky = 0; ky < 3; ky++)
        if (kyv >> ky & 1)
            rows[ky] = in + (y * stride + (size_t)ky - 1) * w * c + ch;
    const float *g = dout + y * wo * c + ch;
    const size_t xb = w >= 2 ? ((w - 2) / stride + 1 < wo ? (w - 2) / stride + 1 : wo) : 0;
    size_t x = 0;
    for (; x < wo && (x == 0 || x >= xb); x++) {
        const ptrdiff_t ix0 = (ptrdiff_t)(x * stride) - 1;
        filt_px(nv, full, mk, rows, kyv, ix0, valid3(ix0, w), c, g + x * c, acc);
    }
    for (; x < xb; x++)
        filt_px(nv, full, mk, rows, kyv, (ptrdiff_t)(x * stride) - 1, 7, c, g + x * c, acc);
    for (; x < wo; x++) {
        const ptrdiff_t ix0 = (ptrdiff_t)(x * stride) - 1;
        filt_px(nv, full, mk, rows, kyv, ix0, valid3(ix0, w), c, g + x * c, acc);
    }
}

/* Weight gradient for nv channel blocks at ch: nine accumulators per block, loaded from dwt, one
 * fma per valid tap and output pixel in (y, x) order, stored back. */
static ALWAYS_INLINE void bwd_filter_blk(const int nv, const int full, __mmask16 m0, __mmask16 m1,
                                         const float *in, size_t h, size_t w, size_t c, const float *dout,
                                         size_t wo, size_t stride, size_t y0, size_t y1, float *dwt, size_t ch)
{
    __m512 acc[2][9];
    const __mmask16 mk[2] = {m0, m1};
#pragma GCC unroll 2
    for (int v = 0; v < 2; v++)
#pragma GCC unroll 9
        for (int t = 0; t < 9; t++)
            acc[v][t] = v < nv ? ld(full, mk[v], dwt + (size_t)t * c + ch + 16 * (size_t)v) : _mm512_setzero_ps();
    for (size_t y = y0; y < y1; y++) {
        const int kyv = valid3((ptrdiff_t)(y * stride) - 1, h);
        if (kyv == 7)
            filt_row(nv, full, mk, 7, in, h, w, c, dout, wo, stride, y, ch, acc);
        else
            filt_row(nv, full, mk, kyv, in, h, w, c, dout, wo, stride, y, ch, acc);
    }
#pragma GCC unroll 2
    for (int v = 0; v < nv; v++)
#pragma GCC unroll 9
        for (int t = 0; t < 9; t++)
            st(full, mk[v], dwt + (size_t)t * c + ch + 16 * (size_t)v, acc[v][t]);
}

void mnv2_dw3x3_bwd_filter_avx512(const float *in, size_t h, size_t w, size_t c, const float *dout, size_t ho,
                                  size_t wo, size_t stride, size_t y0, size_t y1, float *dwt)
{
    (void)ho;
    size_t ch = 0;
    for (; ch + 32 <= c; ch += 32)
        bwd_filter_blk(2, 1, 0xffff, 0xffff, in, h, w, c, dout, wo, stride, y0, y1, dwt, ch);
    if (c - ch > 16)
        bwd_filter_blk(2, 0, 0xffff, tail_mask(c - ch - 16), in, h, w, c, dout, wo, stride, y0, y1, dwt, ch);
    else if (ch < c)
        bwd_filter_blk(1, 0, tail_mask(c - ch), 0, in, h, w, c, dout, wo, stride, y0, y1, dwt, ch);
}
