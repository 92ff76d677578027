/* SPDX-License-Identifier: BSD-2-Clause */
/* Fitting images to the model input: channel conversion, standardisation, padding or resizing. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal_error.h"
#include "io/dataset.h"
#include "io/fit.h"
#include "fpenv.h"

int mnv2__conv_mode(uint32_t in_c, uint32_t out_c)
{
    if (in_c == out_c)
        return MNV2__CONV_COPY;
    if (in_c == 1)
        return MNV2__CONV_REPLICATE;
    if ((in_c == 3 || in_c == 4) && out_c == 1)
        return MNV2__CONV_LUMA;
    if (in_c == 4 && out_c == 3)
        return MNV2__CONV_DROP_ALPHA;
    return -1;
}

float mnv2__luma(const uint8_t *rgb)
{
    return (0.299f * (float)rgb[0] + 0.587f * (float)rgb[1] + 0.114f * (float)rgb[2]) / 255.0f;
}

int32_t mnv2__fitter_init(mnv2_fitter *f, uint32_t in_h, uint32_t in_w, uint32_t in_c, uint32_t out_h,
                          uint32_t out_w, uint32_t out_c, const float *mean, const float *std, uint32_t n_stats,
                          const char *what)
{
    if (in_h == 0 || in_w == 0 || in_c == 0 || in_h > MNV2_DATASET_MAX_SIDE || in_w > MNV2_DATASET_MAX_SIDE ||
        in_c > MNV2_DATASET_MAX_CHANNELS || out_h == 0 || out_w == 0 || out_c == 0 ||
        out_h > MNV2_DATASET_MAX_SIDE || out_w > MNV2_DATASET_MAX_SIDE || out_c > MNV2_DATASET_MAX_CHANNELS)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "%s: image %ux%ux%u to %ux%ux%u: sizes must be 1..%u, channels 1..%u",
                          what, (unsigned)in_h, (unsigned)in_w, (unsigned)in_c, (unsigned)out_h, (unsigned)out_w,
                          (unsigned)out_c, MNV2_DATASET_MAX_SIDE, MNV2_DATASET_MAX_CHANNELS);
    int conv = mnv2__conv_mode(in_c, out_c);
    if (conv < 0)
        return mnv2__fail(MNV2_ERR_UNSUPPORTED, "%s: no conversion from %u to %u channels (same count, 1 to any, "
                          "3 or 4 to 1, 4 to 3)", what, (unsigned)in_c, (unsigned)out_c);
    if (n_stats != 0 && n_stats != 1 && n_stats != out_c)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "%s: %u mean / std values for %u output channels (0, 1 or %u)",
                          what, (unsigned)n_stats, (unsigned)out_c, (unsigned)out_c);
    if (n_stats && (!mean || !std))
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "%s: mean or std is NULL", what);
    for (uint32_t c = 0; c < n_stats; c++)
        if (!isfinite(mean[c]) || !isfinite(std[c]) || !(std[c] > 0.0f))
            return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "%s: channel %u: mean %g / std %g (finite, std > 0)", what,
                              (unsigned)c, (double)mean[c], (double)std[c]);
    memset(f, 0, sizeof *f);
    f->in_h = in_h;
    f->in_w = in_w;
    f->in_c = in_c;
    f->out_h = out_h;
    f->out_w = out_w;
    f->out_c = out_c;
    f->conv = conv;
    if (in_h == out_h && in_w == out_w)
        f->geom = MNV2__GEOM_COPY;
    else if (in_h <= out_h && in_w <= out_w)
        f->geom = MNV2__GEOM_PAD;
    else
        f->geom = MNV2__GEOM_RESIZE;
    f->top = (out_h - (in_h < out_h ? in_h : out_h)) / 2;
    f->left = (out_w - (in_w < out_w ? in_w : out_w)) / 2;
    for (uint32_t c = 0; c < out_c; c++) {
        f->mean[c] = n_stats ? mean[n_stats == 1 ? 0 : c] : 0.0f;
        f->std[c] = n_stats ? std[n_stats == 1 ? 0 : c] : 1.0f;
        for (uint32_t p = 0; p < 256; p++)
            f->lut[c][p] = ((float)p / 255.0f - f->mean[c]) / f->std[c];
    }
    return MNV2_OK;
}

/* Convert and standardise n pixels of src into dst (n * out_c floats). */
static void convert_row(const mnv2_fitter *f, const uint8_t *src, float *dst, uint32_t n)
{
    uint32_t ic = f->in_c, oc = f->out_c;
    for (uint32_t x = 0; x < n; x++, src += ic, dst += oc) {
        switch (f->conv) {
        case MNV2__CONV_LUMA:
            dst[0] = (mnv2__luma(src) - f->mean[0]) / f->std[0];
            break;
        case MNV2__CONV_REPLICATE:
            for (uint32_t c = 0; c < oc; c++)
                dst[c] = f->lut[c][src[0]];
            break;
        default: /* copy, drop alpha: the first out_c channels */
            for (uint32_t c = 0; c < oc; c++)
                dst[c] = f->lut[c][src[c]];
            break;
        }
    }
}

/* Bilinear source coordinate as PyTorch's align_corners=False: index i0, i1 and weight of i1. */
static void source_index(uint32_t dst, uint32_t in, uint32_t out, uint32_t *i0, uint32_t *i1, float *w)
{
    float s = ((float)dst + 0.5f) * ((float)in / (float)out) - 0.5f;
    if (s < 0.0f)
        s = 0.0f;
    uint32_t i = (uint32_t)s;
    if (i > in - 1)
        i = in - 1;
    *i0 = i;
    *i1 = i + (i < in - 1 ? 1 : 0);
    *w = s - (float)i;
}

static void resize(const mnv2_fitter *f, const float *src, float *out)
{
    uint32_t oc = f->out_c;
    for (uint32_t y = 0; y < f->out_h; y++) {
        uint32_t y0, y1;
        float wy;
        source_index(y, f->in_h, f->out_h, &y0, &y1, &wy);
        for (uint32_t x = 0; x < f->out_w; x++) {
            uint32_t x0, x1;
            float wx;
            source_index(x, f->in_w, f->out_w, &x0, &x1, &wx);
            const float *a = src + ((size_t)y0 * f->in_w + x0) * oc, *b = src + ((size_t)y0 * f->in_w + x1) * oc;
            const float *c = src + ((size_t)y1 * f->in_w + x0) * oc, *d = src + ((size_t)y1 * f->in_w + x1) * oc;
            float *o = out + ((size_t)y * f->out_w + x) * oc;
            for (uint32_t k = 0; k < oc; k++)
                o[k] = (1.0f - wy) * ((1.0f - wx) * a[k] + wx * b[k]) + wy * ((1.0f - wx) * c[k] + wx * d[k]);
        }
    }
}

void mnv2__fit(const mnv2_fitter *f, const uint8_t *src, float *tmp, float *out)
{
    size_t in_row = (size_t)f->in_w * f->in_c;
    if (f->geom == MNV2__GEOM_RESIZE) {
        for (uint32_t y = 0; y < f->in_h; y++)
            convert_row(f, src + y * in_row, tmp + (size_t)y * f->in_w * f->out_c, f->in_w);
        resize(f, tmp, out);
        return;
    }
    if (f->geom == MNV2__GEOM_PAD)
        memset(out, 0, (size_t)f->out_h * f->out_w * f->out_c * sizeof(float));
    for (uint32_t y = 0; y < f->in_h; y++)
        convert_row(f, src + y * in_row, out + (((size_t)y + f->top) * f->out_w + f->left) * f->out_c, f->in_w);
}

static int32_t fit_image_body(const uint8_t *pixels, uint32_t height, uint32_t width, uint32_t channels, uint32_t out_height,
                       uint32_t out_width, uint32_t out_channels, const float *mean, const float *std,
                       uint32_t n_stats, float *out, size_t n_out)
{
    mnv2__clear_error();
    if (!pixels || !out)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_fit_image: NULL argument");
    mnv2_fitter *f = malloc(sizeof *f);
    if (!f)
        return mnv2__fail(MNV2_ERR_OUT_OF_MEMORY, "mnv2_fit_image: out of memory");
    int32_t rc = mnv2__fitter_init(f, height, width, channels, out_height, out_width, out_channels, mean, std, n_stats,
                                   "mnv2_fit_image");
    float *tmp = NULL;
    if (rc == MNV2_OK && n_out != (size_t)out_height * out_width * out_channels)
        rc = mnv2__fail(MNV2_ERR_SIZE_MISMATCH, "mnv2_fit_image: n_out is %zu, %ux%ux%u needs %zu", n_out,
                        (unsigned)out_height, (unsigned)out_width, (unsigned)out_channels,
                        (size_t)out_height * out_width * out_channels);
    if (rc == MNV2_OK && f->geom == MNV2__GEOM_RESIZE &&
        !(tmp = malloc((size_t)height * width * out_channels * sizeof(float))))
        rc = mnv2__fail(MNV2_ERR_OUT_OF_MEMORY, "mnv2_fit_image: out of memory");
    if (rc == MNV2_OK)
        mnv2__fit(f, pixels, tmp, out);
    free(tmp);
    free(f);
    return rc;
}

/* Public entry points that compute: in the library's floating-point environment (fpenv.h). */

int32_t mnv2_fit_image(const uint8_t *pixels, uint32_t height, uint32_t width, uint32_t channels, uint32_t out_height,
                       uint32_t out_width, uint32_t out_channels, const float *mean, const float *std,
                       uint32_t n_stats, float *out, size_t n_out)
{
    MNV2__RETURN_IN_FPENV(fit_image_body(pixels, height, width, channels, out_height, out_width, out_channels, mean, std, n_stats, out, n_out));
}
