/* SPDX-License-Identifier: BSD-2-Clause */
/* 4-wide batch norm (SSE4.1, NEON): per-channel sums over rows and the streaming normalise /
 * backward-apply passes (the backward ones with the ReLU6 mask fused), four channels per vector
 * (eight per step where they fit) and the rest one at a time. */
#include "kernels/kernels.h"
#include "vec4.h"

/* The sums run over rows in the outer loop, R rows at a time (V4_BN_ROWS, then one), with the
 * running sums in s1 / s2 (rows are contiguous: streaming reads, and the sums stay in L1). Each
 * channel adds its rows in row order, whatever R. */
INLINE void moments_rows(const float *x, size_t R, size_t c, const float *center, float *s1, float *s2)
{
    size_t ch = 0;
    for (; ch + 4 <= c; ch += 4) {
        const v4 m = center ? v4_load(center + ch) : v4_zero();
        v4 a = v4_load(s1 + ch), q = v4_load(s2 + ch);
        for (size_t r = 0; r < R; r++) {
            const v4 d = v4_sub(v4_load(x + r * c + ch), m);
            a = v4_add(a, d), q = v4_madd(q, d, d);
        }
        v4_store(s1 + ch, a), v4_store(s2 + ch, q);
    }
    for (; ch < c; ch++)
        for (size_t r = 0; r < R; r++) {
            const float d = x[r * c + ch] - (center ? center[ch] : 0.0f);
            s1[ch] += d, s2[ch] += d * d;
        }
}

void V4_FN(bn_moments)(const float *x, size_t rows, size_t c, const float *center, float *s1, float *s2)
{
    for (size_t ch = 0; ch < c; ch++)
        s1[ch] = s2[ch] = 0.0f;
    size_t r = 0;
    for (; r + V4_BN_ROWS <= rows; r += V4_BN_ROWS)
        moments_rows(x + r * c, V4_BN_ROWS, c, center, s1, s2);
    for (; r < rows; r++)
        moments_rows(x + r * c, 1, c, center, s1, s2);
}

void V4_FN(bn_apply)(const float *x, size_t rows, size_t c, const float *scale, const float *shift, float lo,
                     float hi, float *y)
{
    const v4 vlo = v4_dup(lo), vhi = v4_dup(hi);
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * c;
        float *yr = y + r * c;
        size_t ch = 0;
        for (; V4_APPLY_NV == 2 && ch + 8 <= c; ch += 8) {
            const v4 v0 = v4_madd(v4_load(shift + ch), v4_load(xr + ch), v4_load(scale + ch));
            const v4 v1 = v4_madd(v4_load(shift + ch + 4), v4_load(xr + ch + 4), v4_load(scale + ch + 4));
            v4_store(yr + ch, v4_clamp(v0, vlo, vhi));
            v4_store(yr + ch + 4, v4_clamp(v1, vlo, vhi));
        }
        for (; ch + 4 <= c; ch += 4) {
            const v4 v = v4_madd(v4_load(shift + ch), v4_load(xr + ch), v4_load(scale + ch));
            v4_store(yr + ch, v4_clamp(v, vlo, vhi));
        }
        for (; ch < c; ch++) {
            float v = xr[ch] * scale[ch] + shift[ch];
            v = v < lo ? lo : v;
            yr[ch] = v > hi ? hi : v;
        }
    }
}

/* The ReLU6 mask of the backward kernels (`relu`): g = dy where 0 < z * ms + mh < 6, computed as
 * bn_apply computes x * scale + shift (v4_madd in the vectors, the same C expression in the tail). */
INLINE void reduce_rows(const int relu, const float *dy, const float *z, size_t R, size_t c, const float *mean,
                        const float *ms, const float *mh, float *sdy, float *sdyz)
{
    size_t ch = 0;
    for (; ch + 4 <= c; ch += 4) {
        const v4 m = v4_load(mean + ch);
        const v4 sv = relu ? v4_load(ms + ch) : v4_zero();
        const v4 hv = relu ? v4_load(mh + ch) : v4_zero();
        v4 a = v4_load(sdy + ch), q = v4_load(sdyz + ch);
        for (size_t r = 0; r < R; r++) {
            const v4 zv = v4_load(z + r * c + ch);
            v4 g = v4_load(dy + r * c + ch);
            if (relu)
                g = v4_relu6_gate(g, v4_madd(hv, zv, sv));
            a = v4_add(a, g), q = v4_madd(q, g, v4_sub(zv, m));
        }
        v4_store(sdy + ch, a), v4_store(sdyz + ch, q);
    }
    for (; ch < c; ch++)
        for (size_t r = 0; r < R; r++) {
            float g = dy[r * c + ch];
            if (relu) {
                const float t = z[r * c + ch] * ms[ch] + mh[ch];
                g = t > 0.0f && t < 6.0f ? g : 0.0f;
            }
            sdy[ch] += g, sdyz[ch] += g * (z[r * c + ch] - mean[ch]);
        }
}

INLINE void bwd_reduce(const int relu, const float *dy, const float *z, size_t rows, size_t c, const float *mean,
                       const float *ms, const float *mh, float *sdy, float *sdyz)
{
    for (size_t ch = 0; ch < c; ch++)
        sdy[ch] = sdyz[ch] = 0.0f;
    size_t r = 0;
    for (; r + V4_BN_ROWS <= rows; r += V4_BN_ROWS)
        reduce_rows(relu, dy + r * c, z + r * c, V4_BN_ROWS, c, mean, ms, mh, sdy, sdyz);
    for (; r < rows; r++)
        reduce_rows(relu, dy + r * c, z + r * c, 1, c, mean, ms, mh, sdy, sdyz);
}

void V4_FN(bn_bwd_reduce)(const float *dy, const float *z, size_t rows, size_t c, const float *mean,
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
            const v4 zv = v4_load(zr + ch);
            v4 g = v4_load(gr + ch);
            if (relu)
                g = v4_relu6_gate(g, v4_madd(v4_load(mh + ch), zv, v4_load(ms + ch)));
#if V4_FUSED /* two fused steps: a * g + (b * z + k) */
            v4_store(dr + ch, v4_madd(v4_madd(v4_load(k + ch), v4_load(b + ch), zv), v4_load(a + ch), g));
#else /* the scalar kernel's order: (a * g + b * z) + k */
            const v4 v = v4_add(v4_mul(v4_load(a + ch), g), v4_mul(v4_load(b + ch), zv));
            v4_store(dr + ch, v4_add(v, v4_load(k + ch)));
#endif
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

void V4_FN(bn_bwd_apply)(const float *dy, const float *z, size_t rows, size_t c, const float *a, const float *b,
                         const float *k, const float *mscale, const float *mshift, float *dz)
{
    if (mscale)
        bwd_apply(1, dy, z, rows, c, a, b, k, mscale, mshift, dz);
    else
        bwd_apply(0, dy, z, rows, c, a, b, k, NULL, NULL, dz);
}
