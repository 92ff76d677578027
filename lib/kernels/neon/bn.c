/* SPDX-License-Identifier: BSD-2-Clause */
/* NEON batch norm: per-channel sums over rows and the streaming normalise / backward-apply
 * passes (the backward ones with the ReLU6 mask fused), four channels per vector (eight per step
 * where they fit) and the rest one at a time. */
#if !defined(__ARM_NEON) || !defined(__aarch64__)
#error "this file must be compiled for AArch64 (Advanced SIMD is baseline)"
#endif
#include <arm_neon.h>

#include "kernels/kernels.h"
#include "util.h"

/* The sums run over rows in the outer loop, R rows at a time, with the running sums in s1 / s2
 * (rows are contiguous: streaming reads, and the sums stay in L1). */
INLINE void moments_rows(const float *x, size_t R, size_t c, const float *center, float *s1, float *s2)
{
    size_t ch = 0;
    for (; ch + 4 <= c; ch += 4) {
        const float32x4_t m = center ? vld1q_f32(center + ch) : vdupq_n_f32(0.0f);
        float32x4_t a = vld1q_f32(s1 + ch), q = vld1q_f32(s2 + ch);
        for (size_t r = 0; r < R; r++) {
            const float32x4_t d = vsubq_f32(vld1q_f32(x + r * c + ch), m);
            a = vaddq_f32(a, d), q = vfmaq_f32(q, d, d);
        }
        vst1q_f32(s1 + ch, a), vst1q_f32(s2 + ch, q);
    }
    for (; ch < c; ch++)
        for (size_t r = 0; r < R; r++) {
            const float d = x[r * c + ch] - (center ? center[ch] : 0.0f);
            s1[ch] += d, s2[ch] += d * d;
        }
}

void mnv2_bn_moments_neon(const float *x, size_t rows, size_t c, const float *center, float *s1, float *s2)
{
    for (size_t ch = 0; ch < c; ch++)
        s1[ch] = s2[ch] = 0.0f;
    size_t r = 0;
    for (; r + 4 <= rows; r += 4)
        moments_rows(x + r * c, 4, c, center, s1, s2);
    for (; r < rows; r++)
        moments_rows(x + r * c, 1, c, center, s1, s2);
}

void mnv2_bn_apply_neon(const float *x, size_t rows, size_t c, const float *scale, const float *shift, float lo,
                        float hi, float *y)
{
    const float32x4_t vlo = vdupq_n_f32(lo), vhi = vdupq_n_f32(hi);
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * c;
        float *yr = y + r * c;
        size_t ch = 0;
        for (; ch + 8 <= c; ch += 8) {
            const float32x4_t v0 = vfmaq_f32(vld1q_f32(shift + ch), vld1q_f32(xr + ch), vld1q_f32(scale + ch));
            const float32x4_t v1 =
                vfmaq_f32(vld1q_f32(shift + ch + 4), vld1q_f32(xr + ch + 4), vld1q_f32(scale + ch + 4));
            vst1q_f32(yr + ch, vminq_f32(vhi, vmaxq_f32(vlo, v0))); /* NaN stays NaN, as in scalar */
            vst1q_f32(yr + ch + 4, vminq_f32(vhi, vmaxq_f32(vlo, v1)));
        }
        for (; ch + 4 <= c; ch += 4) {
            const float32x4_t v = vfmaq_f32(vld1q_f32(shift + ch), vld1q_f32(xr + ch), vld1q_f32(scale + ch));
            vst1q_f32(yr + ch, vminq_f32(vhi, vmaxq_f32(vlo, v)));
        }
        for (; ch < c; ch++) {
            float v = xr[ch] * scale[ch] + shift[ch];
            v = v < lo ? lo : v;
            yr[ch] = v > hi ? hi : v;
        }
    }
}

/* The ReLU6 mask of the backward kernels (`relu`): g = dy where 0 < z * ms + mh < 6, computed as
 * bn_apply computes x * scale + shift (an fma in the vectors, the same C expression in the tail). */
INLINE void reduce_rows(const int relu, const float *dy, const float *z, size_t R, size_t c, const float *mean,
                        const float *ms, const float *mh, float *sdy, float *sdyz)
{
    size_t ch = 0;
    for (; ch + 4 <= c; ch += 4) {
        const float32x4_t m = vld1q_f32(mean + ch);
        const float32x4_t sv = relu ? vld1q_f32(ms + ch) : vdupq_n_f32(0.0f);
        const float32x4_t hv = relu ? vld1q_f32(mh + ch) : vdupq_n_f32(0.0f);
        float32x4_t a = vld1q_f32(sdy + ch), q = vld1q_f32(sdyz + ch);
        for (size_t r = 0; r < R; r++) {
            const float32x4_t zv = vld1q_f32(z + r * c + ch);
            float32x4_t g = vld1q_f32(dy + r * c + ch);
            if (relu)
                g = relu6_gate(g, vfmaq_f32(hv, zv, sv));
            a = vaddq_f32(a, g), q = vfmaq_f32(q, g, vsubq_f32(zv, m));
        }
        vst1q_f32(sdy + ch, a), vst1q_f32(sdyz + ch, q);
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
    for (; r + 4 <= rows; r += 4)
        reduce_rows(relu, dy + r * c, z + r * c, 4, c, mean, ms, mh, sdy, sdyz);
    for (; r < rows; r++)
        reduce_rows(relu, dy + r * c, z + r * c, 1, c, mean, ms, mh, sdy, sdyz);
}

void mnv2_bn_bwd_reduce_neon(const float *dy, const float *z, size_t rows, size_t c, const float *mean,
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
            const float32x4_t zv = vld1q_f32(zr + ch);
            float32x4_t g = vld1q_f32(gr + ch);
            if (relu)
                g = relu6_gate(g, vfmaq_f32(vld1q_f32(mh + ch), zv, vld1q_f32(ms + ch)));
            const float32x4_t v = vfmaq_f32(vld1q_f32(k + ch), vld1q_f32(b + ch), zv);
            vst1q_f32(dr + ch, vfmaq_f32(v, vld1q_f32(a + ch), g));
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

void mnv2_bn_bwd_apply_neon(const float *dy, const float *z, size_t rows, size_t c, const float *a, const float *b,
                            const float *k, const float *mscale, const float *mshift, float *dz)
{
    if (mscale)
        bwd_apply(1, dy, z, rows, c, a, b, k, mscale, mshift, dz);
    else
        bwd_apply(0, dy, z, rows, c, a, b, k, NULL, NULL, dz);
}
