/* SPDX-License-Identifier: BSD-2-Clause */
/* Scalar reference: full 3x3 convolution, padding 1 (the stem): forward and weight gradient. */
#include "kernels/kernels.h"

void mnv2_conv3x3_fwd_scalar(const float *in, size_t h, size_t w, size_t cin, const float *wt, float *out,
                             size_t ho, size_t wo, size_t cout, size_t stride, size_t y0, size_t y1)
{
    (void)ho;
    for (size_t y = y0; y < y1; y++)
        for (size_t x = 0; x < wo; x++) {
            float *o = out + (y * wo + x) * cout;
            for (size_t co = 0; co < cout; co++)
                o[co] = 0.0f;
            for (size_t ky = 0; ky < 3; ky++) {
                const ptrdiff_t iy = (ptrdiff_t)(y * stride + ky) - 1;
                if (iy < 0 || iy >= (ptrdiff_t)h)
                    continue;
                for (size_t kx = 0; kx < 3; kx++) {
                    const ptrdiff_t ix = (ptrdiff_t)(x * stride + kx) - 1;
                    if (ix < 0 || ix >= (ptrdiff_t)w)
                        continue;
                    const float *ip = in + ((size_t)iy * w + (size_t)ix) * cin;
                    const float *wp = wt + (ky * 3 + kx) * cin * cout;
                    for (size_t ci = 0; ci < cin; ci++)
                        for (size_t co = 0; co < cout; co++)
                            o[co] += ip[ci] * wp[ci * cout + co];
                }
            }
        }
}

void mnv2_conv3x3_bwd_filter_scalar(const float *in, size_t h, size_t w, size_t cin, const float *dout, size_t ho,
                                    size_t wo, size_t cout, size_t stride, size_t y0, size_t y1, float *dwt)
{
    (void)ho;
    for (size_t y = y0; y < y1; y++)
        for (size_t x = 0; x < wo; x++) {
            const float *g = dout + (y * wo + x) * cout;
            for (size_t ky = 0; ky < 3; ky++) {
                const ptrdiff_t iy = (ptrdiff_t)(y * stride + ky) - 1;
                if (iy < 0 || iy >= (ptrdiff_t)h)
                    continue;
                for (size_t kx = 0; kx < 3; kx++) {
                    const ptrdiff_t ix = (ptrdiff_t)(x * stride + kx) - 1;
                    if (ix < 0 || ix >= (ptrdiff_t)w)
                        continue;
                    const float *ip = in + ((size_t)iy * w + (size_t)ix) * cin;
                    float *dw = dwt + (ky * 3 + kx) * cin * cout;
                    for (size_t ci = 0; ci < cin; ci++)
                        for (size_t co = 0; co < cout; co++)
                            dw[ci * cout + co] += ip[ci] * g[co];
                }
            }
        }
}
