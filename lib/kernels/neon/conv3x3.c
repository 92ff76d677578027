/* SPDX-License-Identifier: BSD-2-Clause */
/* NEON full 3x3 convolution (the stem, few input channels): output channels across vectors,
 * sixteen then four at a time, the rest one at a time; every sum an FMA chain in the scalar
 * kernel's order (forward: taps, then input channels, from zero; weight gradient: rows, then
 * columns, onto dwt), so no result depends on the [y0, y1) split. */
#if !defined(__ARM_NEON) || !defined(__aarch64__)
#error "this file must be compiled for AArch64 (Advanced SIMD is baseline)"
#endif
#include <arm_neon.h>
#include <math.h>

#include "kernels/kernels.h"
#include "util.h"

void mnv2_conv3x3_fwd_neon(const float *in, size_t h, size_t w, size_t cin, const float *wt, float *out, size_t ho,
                           size_t wo, size_t cout, size_t stride, size_t y0, size_t y1)
{
    (void)ho;
    for (size_t y = y0; y < y1; y++)
        for (size_t x = 0; x < wo; x++) {
            const float *src[9]; /* input pixel of each tap, NULL outside */
            for (size_t t = 0; t < 9; t++) {
                const ptrdiff_t iy = src_pos_fwd(y, t / 3, stride, h), ix = src_pos_fwd(x, t % 3, stride, w);
                src[t] = iy < 0 || ix < 0 ? NULL : in + ((size_t)iy * w + (size_t)ix) * cin;
            }
            float *o = out + (y * wo + x) * cout;
            size_t co = 0;
            for (; co + 16 <= cout; co += 16) {
                float32x4_t a0 = vdupq_n_f32(0.0f), a1 = a0, a2 = a0, a3 = a0;
                for (size_t t = 0; t < 9; t++) {
                    if (!src[t])
                        continue;
                    const float *wp = wt + t * cin * cout + co;
                    for (size_t ci = 0; ci < cin; ci++, wp += cout) {
                        const float32x4_t v = vld1q_dup_f32(src[t] + ci);
                        a0 = vfmaq_f32(a0, v, vld1q_f32(wp));
                        a1 = vfmaq_f32(a1, v, vld1q_f32(wp + 4));
                        a2 = vfmaq_f32(a2, v, vld1q_f32(wp + 8));
                        a3 = vfmaq_f32(a3, v, vld1q_f32(wp + 12));
                    }
                }
                vst1q_f32(o + co, a0), vst1q_f32(o + co + 4, a1);
                vst1q_f32(o + co + 8, a2), vst1q_f32(o + co + 12, a3);
            }
            for (; co + 4 <= cout; co += 4) {
                float32x4_t a0 = vdupq_n_f32(0.0f);
                for (size_t t = 0; t < 9; t++)
                    for (size_t ci = 0; src[t] && ci < cin; ci++)
                        a0 = vfmaq_f32(a0, vld1q_dup_f32(src[t] + ci), vld1q_f32(wt + (t * cin + ci) * cout + co));
                vst1q_f32(o + co, a0);
            }
            for (; co < cout; co++) {
                float a = 0.0f;
                for (size_t t = 0; t < 9; t++)
                    for (size_t ci = 0; src[t] && ci < cin; ci++)
                        a = fmaf(src[t][ci], wt[(t * cin + ci) * cout + co], a);
                o[co] = a;
            }
        }
}

/* dwt[t][ci][co] accumulates in registers over rows y0..y1 and columns, in that order. */
void mnv2_conv3x3_bwd_filter_neon(const float *in, size_t h, size_t w, size_t cin, const float *dout, size_t ho,
                                  size_t wo, size_t cout, size_t stride, size_t y0, size_t y1, float *dwt)
{
    (void)ho;
    for (size_t t = 0; t < 9; t++)
        for (size_t ci = 0; ci < cin; ci++) {
            float *dw = dwt + (t * cin + ci) * cout;
            size_t co = 0;
            for (; co + 16 <= cout; co += 16) {
                float32x4_t a0 = vld1q_f32(dw + co), a1 = vld1q_f32(dw + co + 4);
                float32x4_t a2 = vld1q_f32(dw + co + 8), a3 = vld1q_f32(dw + co + 12);
                for (size_t y = y0; y < y1; y++) {
                    const ptrdiff_t iy = src_pos_fwd(y, t / 3, stride, h);
                    for (size_t x = 0; iy >= 0 && x < wo; x++) {
                        const ptrdiff_t ix = src_pos_fwd(x, t % 3, stride, w);
                        if (ix < 0)
                            continue;
                        const float32x4_t v = vld1q_dup_f32(in + ((size_t)iy * w + (size_t)ix) * cin + ci);
                        const float *g = dout + (y * wo + x) * cout + co;
                        a0 = vfmaq_f32(a0, v, vld1q_f32(g));
                        a1 = vfmaq_f32(a1, v, vld1q_f32(g + 4));
                        a2 = vfmaq_f32(a2, v, vld1q_f32(g + 8));
                        a3 = vfmaq_f32(a3, v, vld1q_f32(g + 12));
                    }
                }
                vst1q_f32(dw + co, a0), vst1q_f32(dw + co + 4, a1);
                vst1q_f32(dw + co + 8, a2), vst1q_f32(dw + co + 12, a3);
            }
            for (; co + 4 <= cout; co += 4) {
                float32x4_t a0 = vld1q_f32(dw + co);
                for (size_t y = y0; y < y1; y++) {
                    const ptrdiff_t iy = src_pos_fwd(y, t / 3, stride, h);
                    for (size_t x = 0; iy >= 0 && x < wo; x++) {
                        const ptrdiff_t ix = src_pos_fwd(x, t % 3, stride, w);
                        if (ix >= 0)
                            a0 = vfmaq_f32(a0, vld1q_dup_f32(in + ((size_t)iy * w + (size_t)ix) * cin + ci),
                                           vld1q_f32(dout + (y * wo + x) * cout + co));
                    }
                }
                vst1q_f32(dw + co, a0);
            }
            for (; co < cout; co++) {
                float a = dw[co];
                for (size_t y = y0; y < y1; y++) {
                    const ptrdiff_t iy = src_pos_fwd(y, t / 3, stride, h);
                    for (size_t x = 0; iy >= 0 && x < wo; x++) {
                        const ptrdiff_t ix = src_pos_fwd(x, t % 3, stride, w);
                        if (ix >= 0)
                            a = fmaf(in[((size_t)iy * w + (size_t)ix) * cin + ci], dout[(y * wo + x) * cout + co], a);
                    }
                }
                dw[co] = a;
            }
        }
}
