/* SPDX-License-Identifier: BSD-2-Clause */
/* Scalar reference: 3x3 depthwise convolution, padding 1, stride 1 or 2 (forward and both gradients). */
#include "kernels/kernels.h"

void mnv2_dw3x3_fwd_scalar(const float *in, size_t h, size_t w, size_t c, const float *wt, float *out, size_t ho,
                           size_t wo, size_t stride, size_t y0, size_t y1)
{
    (void)ho;
    for (size_t y = y0; y < y1; y++)
        for (size_t x = 0; x < wo; x++) {
            float *o = out + (y * wo + x) * c;
            for (size_t ch = 0; ch < c; ch++)
                o[ch] = 0.0f;
            for (size_t ky = 0; ky < 3; ky++) {
                const ptrdiff_t iy = (ptrdiff_t)(y * stride + ky) - 1;
                if (iy < 0 || iy >= (ptrdiff_t)h)
                    continue;
                for (size_t kx = 0; kx < 3; kx++) {
                    const ptrdiff_t ix = (ptrdiff_t)(x * stride + kx) - 1;
                    if (ix < 0 || ix >= (ptrdiff_t)w)
                        continue;
                    const float *ip = in + ((size_t)iy * w + (size_t)ix) * c;
                    const float *wp = wt + (ky * 3 + kx) * c;
                    for (size_t ch = 0; ch < c; ch++)
                        o[ch] += ip[ch] * wp[ch];
                }
            }
        }
}

void mnv2_dw3x3_bwd_data_scalar(const float *dout, size_t ho, size_t wo, size_t c, const float *wt, float *din,
                                size_t h, size_t w, size_t stride, size_t y0, size_t y1)
{
    (void)h;
    /* Input pixel (y, x) feeds output (oy, ox) through tap (ky, kx) when oy*s + ky - 1 = y. */
    for (size_t y = y0; y < y1; y++)
        for (size_t x = 0; x < w; x++) {
            float *d = din + (y * w + x) * c;
            for (size_t ch = 0; ch < c; ch++)
                d[ch] = 0.0f;
            for (size_t ky = 0; ky < 3; ky++) {
                const ptrdiff_t ny = (ptrdiff_t)y + 1 - (ptrdiff_t)ky;
                if (ny < 0 || ny % (ptrdiff_t)stride)
                    continue;
                const size_t oy = (size_t)ny / stride;
                if (oy >= ho)
                    continue;
                for (size_t kx = 0; kx < 3; kx++) {
                    const ptrdiff_t nx = (ptrdiff_t)x + 1 - (ptrdiff_t)kx;
                    if (nx < 0 || nx % (ptrdiff_t)stride)
                        continue;
                    const size_t ox = (size_t)nx / stride;
                    if (ox >= wo)
                        continue;
                    const float *g = dout + (oy * wo + ox) * c;
                    const float *wp = wt + (ky * 3 + kx) * c;
                    for (size_t ch = 0; ch < c; ch++)
                        d[ch] += g[ch] * wp[ch];
                }
            }
        }
}

void mnv2_dw3x3_bwd_filter_scalar(const float *in, size_t h, size_t w, size_t c, const float *dout, size_t ho,
                                  size_t wo, size_t stride, size_t y0, size_t y1, float *dwt)
{
    (void)ho;
    for (size_t y = y0; y < y1; y++)
        for (size_t x = 0; x < wo; x++) {
            const float *g = dout + (y * wo + x) * c;
            for (size_t ky = 0; ky < 3; ky++) {
                const ptrdiff_t iy = (ptrdiff_t)(y * stride + ky) - 1;
                if (iy < 0 || iy >= (ptrdiff_t)h)
                    continue;
                for (size_t kx = 0; kx < 3; kx++) {
                    const ptrdiff_t ix = (ptrdiff_t)(x * stride + kx) - 1;
                    if (ix < 0 || ix >= (ptrdiff_t)w)
                        continue;
                    const float *ip = in + ((size_t)iy * w + (size_t)ix) * c;
                    float *dw = dwt + (ky * 3 + kx) * c;
                    for (size_t ch = 0; ch < c; ch++)
                        dw[ch] += ip[ch] * g[ch];
                }
            }
        }
}

void mnv2_dw3x3_fwd_bias_act_scalar(const float *in, size_t h, size_t w, size_t c, const float *wt, const float *bias,
                                    float lo, float hi, float *out, size_t ho, size_t wo, size_t stride, size_t y0,
                                    size_t y1)
{
    mnv2_dw3x3_fwd_scalar(in, h, w, c, wt, out, ho, wo, stride, y0, y1);
    for (size_t y = y0; y < y1; y++)
        for (size_t i = 0; i < wo * c; i++) {
            float *o = out + y * wo * c + i;
            const float v = *o + bias[i % c];
            *o = v < lo ? lo : v > hi ? hi : v;
        }
}
