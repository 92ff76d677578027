/* SPDX-License-Identifier: BSD-2-Clause */
/* 4-wide full 3x3 convolution (SSE4.1, NEON; the stem, few input channels): output channels
 * across vectors, V4_CONV_NV vectors then one at a time, the rest one channel at a time. Every sum
 * is a v4_madd (f1_madd) chain in the scalar kernel's order (forward: taps, then input channels,
 * from zero; weight gradient: rows, then columns, onto dwt), so no result depends on the block
 * width or on the [y0, y1) split. */
#include "kernels/kernels.h"
#include "vec4.h"

/* o[co .. co + 4J) of one output pixel from the input pixels of its taps (src[t], NULL outside). */
INLINE void fwd_block(const int J, const float *const src[9], const float *wt, size_t cin, size_t cout, size_t co,
                      float *o)
{
    v4 acc[4];
#pragma GCC unroll 4
    for (int j = 0; j < J; j++)
        acc[j] = v4_zero();
    for (size_t t = 0; t < 9; t++) {
        if (!src[t])
            continue;
        const float *wp = wt + t * cin * cout + co;
        for (size_t ci = 0; ci < cin; ci++, wp += cout) {
            const v4 v = v4_dup(src[t][ci]);
#pragma GCC unroll 4
            for (int j = 0; j < J; j++)
                acc[j] = v4_madd(acc[j], v, v4_load(wp + 4 * j));
        }
    }
#pragma GCC unroll 4
    for (int j = 0; j < J; j++)
        v4_store(o + co + 4 * j, acc[j]);
}

void V4_FN(conv3x3_fwd)(const float *in, size_t h, size_t w, size_t cin, const float *wt, float *out, size_t ho,
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
            for (; co + 4 * V4_CONV_NV <= cout; co += 4 * V4_CONV_NV)
                fwd_block(V4_CONV_NV, src, wt, cin, cout, co, o);
            for (; co + 4 <= cout; co += 4)
                fwd_block(1, src, wt, cin, cout, co, o);
            for (; co < cout; co++) {
                float a = 0.0f;
                for (size_t t = 0; t < 9; t++)
                    for (size_t ci = 0; src[t] && ci < cin; ci++)
                        a = f1_madd(a, src[t][ci], wt[(t * cin + ci) * cout + co]);
                o[co] = a;
            }
        }
}

/* Output columns [*xa, *xb) whose tap kx lies inside [0, w). */
static void tap_span(size_t kx, size_t s, size_t w, size_t wo, size_t *xa, size_t *xb)
{
    size_t a = 0, b = wo;
    while (a < b && src_pos_fwd(a, kx, s, w) < 0)
        a++;
    while (b > a && src_pos_fwd(b - 1, kx, s, w) < 0)
        b--;
    *xa = a, *xb = b;
}

/* dwt[t][ci][co .. co + 4J) accumulates in registers over rows y0..y1 and columns, in that order.
 * Columns run over [xa, xb), where tap kx is inside: x * stride + kx - 1 does not wrap. */
#define FILTER_BLOCK(J)                                                                                                \
    for (; co + 4 * (J) <= cout; co += 4 * (J)) {                                                                      \
        v4 acc[J];                                                                                                     \
        for (int j = 0; j < (J); j++)                                                                                  \
            acc[j] = v4_load(dw + co + 4 * j);                                                                         \
        for (size_t y = y0; y < y1; y++) {                                                                             \
            const ptrdiff_t iy = src_pos_fwd(y, ky, stride, h);                                                        \
            if (iy < 0)                                                                                                \
                continue;                                                                                              \
            const float *ip = in + (size_t)iy * w * cin + ci, *g = dout + y * wo * cout + co;                         \
            for (size_t x = xa; x < xb; x++) {                                                                         \
                const v4 v = v4_dup(ip[(x * stride + kx - 1) * cin]);                                                 \
                for (int j = 0; j < (J); j++)                                                                          \
                    acc[j] = v4_madd(acc[j], v, v4_load(g + x * cout + 4 * j));                                        \
            }                                                                                                          \
        }                                                                                                              \
        for (int j = 0; j < (J); j++)                                                                                  \
            v4_store(dw + co + 4 * j, acc[j]);                                                                         \
    }

void V4_FN(conv3x3_bwd_filter)(const float *in, size_t h, size_t w, size_t cin, const float *dout, size_t ho,
                               size_t wo, size_t cout, size_t stride, size_t y0, size_t y1, float *dwt)
{
    (void)ho;
    for (size_t t = 0; t < 9; t++) {
        const size_t ky = t / 3, kx = t % 3;
        size_t xa, xb;
        tap_span(kx, stride, w, wo, &xa, &xb);
        for (size_t ci = 0; ci < cin; ci++) {
            float *dw = dwt + (t * cin + ci) * cout;
            size_t co = 0;
            FILTER_BLOCK(4)
            FILTER_BLOCK(1)
            for (; co < cout; co++) {
                float a = dw[co];
                for (size_t y = y0; y < y1; y++) {
                    const ptrdiff_t iy = src_pos_fwd(y, ky, stride, h);
                    for (size_t x = xa; iy >= 0 && x < xb; x++)
                        a = f1_madd(a, in[((size_t)iy * w + x * stride + kx - 1) * cin + ci],
                                    dout[(y * wo + x) * cout + co]);
                }
                dw[co] = a;
            }
        }
    }
}
