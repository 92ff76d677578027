/* SPDX-License-Identifier: BSD-2-Clause */
/* AVX-512 batch-norm kernels: moments, normalise (+ clamp), backward reduction and backward apply
 * (the last two with the ReLU6 mask fused: an fma, two compares under a mask and a zeroing move).
 * Channels go 16 to a zmm, masked at the ends of a row; the reductions sum chunks of rows in
 * registers and add them to the outputs (the caller fixes the chunks, so the internal order is free). */
#if !defined(__AVX512F__) || !defined(__AVX512BW__) || !defined(__AVX512DQ__) || !defined(__AVX512VL__)
#error "this file must be compiled with -mavx512f -mavx512bw -mavx512dq -mavx512vl"
#endif
#include <immintrin.h>
#include <stdint.h>

#include "kernels/kernels.h"
#include "util.h"

#define RB 16 /* rows per chunk of the reductions */
/* With the ReLU6 mask the loops carry about twice the instructions per load, fewer loads are in
 * flight, and data from memory came at 60% of the unmasked rate (8192 x 384, AMD EPYC); software
 * prefetches of dy and z (this far ahead in bytes in bn_bwd_apply, the next vector's lines in
 * bn_bwd_reduce) bring it back to the unmasked rate. The unmasked loops need none. */
#define PF_APPLY 1024

/* Moments (bwd = 0) or the backward reduction (bwd = 1) of the channels [ch, ch + 16) under m over
 * nr rows: s1 += sum(x - center), s2 += sum((x - center)^2), or s1 += sum(g), s2 += sum(g * (z - center))
 * with g = x, or with `relu` x under the ReLU6 mask of z * ms + mh (an fma, as in bn_apply). */
static ALWAYS_INLINE void reduce_vec(const int bwd, const int relu, const int full, __mmask16 m, const float *x,
                                     const float *z, size_t nr, size_t c, size_t ch, const float *center,
                                     const float *ms, const float *mh, float *s1, float *s2)
{
    const __m512 cv = center ? ld(full, m, center + ch) : _mm512_setzero_ps();
    const __m512 sv = relu ? ld(full, m, ms + ch) : _mm512_setzero_ps();
    const __m512 hv = relu ? ld(full, m, mh + ch) : _mm512_setzero_ps();
    __m512 a1 = ld(full, m, s1 + ch), a2 = ld(full, m, s2 + ch);
    __m512 b1 = _mm512_setzero_ps(), b2 = _mm512_setzero_ps();
    if (relu) /* the next vector's lines: see PF_APPLY */
        for (size_t i = 0; i < nr; i++)
            prefetch_ahead(x + i * c + ch, 64), prefetch_ahead(z + i * c + ch, 64);
    size_t r = 0;
    for (; r + 2 <= nr; r += 2) {
        const float *x0 = x + r * c + ch, *z0 = bwd ? z + r * c + ch : x0;
        __m512 u = ld(full, m, x0), v = ld(full, m, x0 + c);
        if (bwd && relu) {
            const __m512 zu = ld(full, m, z0), zv = ld(full, m, z0 + c);
            u = relu6_gate(u, _mm512_fmadd_ps(zu, sv, hv)), v = relu6_gate(v, _mm512_fmadd_ps(zv, sv, hv));
            const __m512 du = _mm512_sub_ps(zu, cv), dv = _mm512_sub_ps(zv, cv);
            a1 = _mm512_add_ps(a1, u), b1 = _mm512_add_ps(b1, v);
            a2 = _mm512_fmadd_ps(u, du, a2), b2 = _mm512_fmadd_ps(v, dv, b2);
        } else if (bwd) {
            const __m512 du = _mm512_sub_ps(ld(full, m, z0), cv), dv = _mm512_sub_ps(ld(full, m, z0 + c), cv);
            a1 = _mm512_add_ps(a1, u), b1 = _mm512_add_ps(b1, v);
            a2 = _mm512_fmadd_ps(u, du, a2), b2 = _mm512_fmadd_ps(v, dv, b2);
        } else {
            const __m512 du = _mm512_sub_ps(u, cv), dv = _mm512_sub_ps(v, cv);
            a1 = _mm512_add_ps(a1, du), b1 = _mm512_add_ps(b1, dv);
            a2 = _mm512_fmadd_ps(du, du, a2), b2 = _mm512_fmadd_ps(dv, dv, b2);
        }
    }
    if (r < nr) {
        const float *x0 = x + r * c + ch;
        __m512 u = ld(full, m, x0);
        const __m512 zu = bwd ? ld(full, m, z + r * c + ch) : u;
        if (bwd && relu)
            u = relu6_gate(u, _mm512_fmadd_ps(zu, sv, hv));
        const __m512 du = _mm512_sub_ps(zu, cv);
        a1 = _mm512_add_ps(a1, bwd ? u : du);
        a2 = _mm512_fmadd_ps(bwd ? u : du, du, a2);
    }
    st(full, m, s1 + ch, _mm512_add_ps(a1, b1));
    st(full, m, s2 + ch, _mm512_add_ps(a2, b2));
}

/* Rows in chunks of RB (read nearly in order), each chunk's channels vector by vector. */
static ALWAYS_INLINE void reduce(const int bwd, const int relu, const float *x, const float *z, size_t rows,
                                 size_t c, const float *center, const float *ms, const float *mh, float *s1,
                                 float *s2)
{
    for (size_t ch = 0; ch < c; ch += 16) {
        const __mmask16 m = tail_mask(c - ch);
        _mm512_mask_storeu_ps(s1 + ch, m, _mm512_setzero_ps());
        _mm512_mask_storeu_ps(s2 + ch, m, _mm512_setzero_ps());
    }
    for (size_t r0 = 0; r0 < rows; r0 += RB) {
        const size_t nr = rows - r0 < RB ? rows - r0 : RB;
        const float *xr = x + r0 * c, *zr = bwd ? z + r0 * c : NULL;
        const size_t h = head_len(xr, c);
        size_t ch = 0;
        if (h)
            reduce_vec(bwd, relu, 0, tail_mask(h), xr, zr, nr, c, 0, center, ms, mh, s1, s2), ch = h;
        for (; ch + 16 <= c; ch += 16)
            reduce_vec(bwd, relu, 1, 0xffff, xr, zr, nr, c, ch, center, ms, mh, s1, s2);
        if (ch < c)
            reduce_vec(bwd, relu, 0, tail_mask(c - ch), xr, zr, nr, c, ch, center, ms, mh, s1, s2);
    }
}

void mnv2_bn_moments_avx512(const float *x, size_t rows, size_t c, const float *center, float *s1, float *s2)
{
    reduce(0, 0, x, NULL, rows, c, center, NULL, NULL, s1, s2);
}

void mnv2_bn_bwd_reduce_avx512(const float *dy, const float *z, size_t rows, size_t c, const float *mean,
                               const float *mscale, const float *mshift, float *sdy, float *sdyz)
{
    if (mscale)
        reduce(1, 1, dy, z, rows, c, mean, mscale, mshift, sdy, sdyz);
    else
        reduce(1, 0, dy, z, rows, c, mean, NULL, NULL, sdy, sdyz);
}

/* y = min(max(x * scale + shift, lo), hi) for one vector of channels. */
static ALWAYS_INLINE void apply_vec(const int full, __mmask16 m, const float *x, const float *scale,
                                    const float *shift, __m512 lo, __m512 hi, float *y)
{
    const __m512 v = _mm512_fmadd_ps(ld(full, m, x), ld(full, m, scale), ld(full, m, shift));
    /* max(lo, v), min(hi, v): a NaN passes through like the scalar v < lo ? lo : v. */
    st(full, m, y, _mm512_min_ps(hi, _mm512_max_ps(lo, v)));
}

void mnv2_bn_apply_avx512(const float *x, size_t rows, size_t c, const float *scale, const float *shift, float lo,
                          float hi, float *y)
{
    const __m512 lov = _mm512_set1_ps(lo), hiv = _mm512_set1_ps(hi);
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * c;
        float *yr = y + r * c;
        const size_t h = head_len(yr, c);
        size_t ch = 0;
        if (h)
            apply_vec(0, tail_mask(h), xr, scale, shift, lov, hiv, yr), ch = h;
        for (; ch + 16 <= c; ch += 16)
            apply_vec(1, 0xffff, xr + ch, scale + ch, shift + ch, lov, hiv, yr + ch);
        if (ch < c)
            apply_vec(0, tail_mask(c - ch), xr + ch, scale + ch, shift + ch, lov, hiv, yr + ch);
    }
}

/* dz = a * g + b * z + k for one vector of channels; g = dy, or with `relu` dy under the ReLU6 mask
 * of z * ms + mh (an fma, as in bn_apply). */
static ALWAYS_INLINE void bwd_apply_vec(const int relu, const int full, __mmask16 m, const float *dy, const float *z,
                                        const float *a, const float *b, const float *k, const float *ms,
                                        const float *mh, float *dz)
{
    const __m512 zv = ld(full, m, z);
    __m512 g = ld(full, m, dy);
    if (relu)
        g = relu6_gate(g, _mm512_fmadd_ps(zv, ld(full, m, ms), ld(full, m, mh)));
    const __m512 t = _mm512_fmadd_ps(ld(full, m, b), zv, ld(full, m, k));
    st(full, m, dz, _mm512_fmadd_ps(ld(full, m, a), g, t));
}

static ALWAYS_INLINE void bwd_apply(const int relu, const float *dy, const float *z, size_t rows, size_t c,
                                    const float *a, const float *b, const float *k, const float *ms, const float *mh,
                                    float *dz)
{
    for (size_t r = 0; r < rows; r++) {
        const size_t o = r * c;
        const size_t h = head_len(dz + o, c);
        size_t ch = 0;
        if (h)
            bwd_apply_vec(relu, 0, tail_mask(h), dy + o, z + o, a, b, k, ms, mh, dz + o), ch = h;
        for (; ch + 16 <= c; ch += 16) {
            if (relu)
                prefetch_ahead(dy + o + ch, PF_APPLY), prefetch_ahead(z + o + ch, PF_APPLY);
            bwd_apply_vec(relu, 1, 0xffff, dy + o + ch, z + o + ch, a + ch, b + ch, k + ch, relu ? ms + ch : NULL,
                          relu ? mh + ch : NULL, dz + o + ch);
        }
        if (ch < c)
            bwd_apply_vec(relu, 0, tail_mask(c - ch), dy + o + ch, z + o + ch, a + ch, b + ch, k + ch,
                          relu ? ms + ch : NULL, relu ? mh + ch : NULL, dz + o + ch);
    }
}

void mnv2_bn_bwd_apply_avx512(const float *dy, const float *z, size_t rows, size_t c, const float *a,
                              const float *b, const float *k, const float *mscale, const float *mshift, float *dz)
{
    if (mscale)
        bwd_apply(1, dy, z, rows, c, a, b, k, mscale, mshift, dz);
    else
        bwd_apply(0, dy, z, rows, c, a, b, k, NULL, NULL, dz);
}
