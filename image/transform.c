/*
 * libmnv2-image: antialiased bilinear resampling of a crop box (torchvision's antialias=True /
 * PIL's BILINEAR), RandomResizedCrop's box, the evaluation geometry, and the per-image transform.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Taps of output pixels win0 .. win0 + n - 1 of a resize of in_size input pixels to out_size:
 * first[i], count[i] and weights w[i * taps ..], taps = the widest support. */
typedef struct taps {
    uint32_t *first, *count, taps;
    float *w;
} taps;

static uint32_t max_taps(uint32_t in_size, uint32_t out_size)
{
    double scale = (double)in_size / out_size, support = scale >= 1 ? scale : 1;
    return (uint32_t)ceil(support) * 2 + 1;
}

static int make_taps(taps *t, uint32_t in_size, uint32_t out_size, uint32_t win0, uint32_t n)
{
    double scale = (double)in_size / out_size, support = scale >= 1 ? scale : 1.0;
    double inv = scale >= 1 ? 1.0 / scale : 1.0;
    t->taps = max_taps(in_size, out_size);
    t->first = malloc(n * sizeof *t->first);
    t->count = malloc(n * sizeof *t->count);
    t->w = malloc((size_t)n * t->taps * sizeof *t->w);
    if (!t->first || !t->count || !t->w)
        return -1;
    for (uint32_t i = 0; i < n; i++) {
        double center = scale * (win0 + i + 0.5);
        int64_t lo = (int64_t)(center - support + 0.5), hi = (int64_t)(center + support + 0.5);
        lo = lo < 0 ? 0 : lo;
        hi = hi > (int64_t)in_size ? (int64_t)in_size : hi;
        uint32_t cnt = (uint32_t)(hi - lo);
        cnt = cnt > t->taps ? t->taps : cnt;
        double ws[512], total = 0;
        double *wv = cnt <= 512 ? ws : malloc(cnt * sizeof *wv);
        if (!wv)
            return -1;
        for (uint32_t j = 0; j < cnt; j++) {
            double x = fabs((j + lo - center + 0.5) * inv);
            wv[j] = x < 1 ? 1 - x : 0;
            total += wv[j];
        }
        for (uint32_t j = 0; j < cnt; j++)
            t->w[(size_t)i * t->taps + j] = (float)(total > 0 ? wv[j] / total : 0);
        if (wv != ws)
            free(wv);
        t->first[i] = (uint32_t)lo, t->count[i] = cnt;
    }
    return 0;
}

static void free_taps(taps *t)
{
    free(t->first), free(t->count), free(t->w);
}

int32_t mnv2_image_resized_crop(const uint8_t *pixels, uint32_t height, uint32_t width, uint32_t channels,
                                uint32_t top, uint32_t left, uint32_t box_h, uint32_t box_w, uint32_t out_h,
                                uint32_t out_w, uint32_t win_top, uint32_t win_left, uint32_t win_h, uint32_t win_w,
                                uint8_t *out)
{
    if (!pixels || !out || !height || !width || !channels || !box_h || !box_w || !out_h || !out_w || !win_h ||
        !win_w || channels > 4)
        return mi_fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_image_resized_crop: NULL pointer or zero size");
    if ((uint64_t)top + box_h > height || (uint64_t)left + box_w > width || (uint64_t)win_top + win_h > out_h ||
        (uint64_t)win_left + win_w > out_w)
        return mi_fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_image_resized_crop: box or window outside its image");
    taps th = {0}, tv = {0};
    float *tmp = NULL;
    int32_t rc = MNV2_OK;
    if (make_taps(&th, box_w, out_w, win_left, win_w) || make_taps(&tv, box_h, out_h, win_top, win_h)) {
        rc = mi_fail(MNV2_ERR_OUT_OF_MEMORY, "mnv2_image_resized_crop: out of memory");
        goto done;
    }
    /* Box rows the vertical pass reads: r0 .. r1 - 1 (relative to the box). */
    uint32_t r0 = tv.first[0], r1 = tv.first[win_h - 1] + tv.count[win_h - 1];
    for (uint32_t i = 0; i < win_h; i++)
        r0 = tv.first[i] < r0 ? tv.first[i] : r0;
    tmp = malloc((size_t)(r1 - r0) * win_w * channels * sizeof *tmp);
    if (!tmp) {
        rc = mi_fail(MNV2_ERR_OUT_OF_MEMORY, "mnv2_image_resized_crop: out of memory");
        goto done;
    }
    /* Horizontal pass, then vertical (as torch and PIL), in float; round half to even at the end. */
    for (uint32_t y = r0; y < r1; y++) {
        const uint8_t *src = pixels + ((size_t)(top + y) * width + left) * channels;
        float *dst = tmp + (size_t)(y - r0) * win_w * channels;
        for (uint32_t x = 0; x < win_w; x++) {
            const float *w = th.w + (size_t)x * th.taps;
            const uint8_t *s = src + (size_t)th.first[x] * channels;
            float acc[4] = {0, 0, 0, 0};
            for (uint32_t j = 0; j < th.count[x]; j++)
                for (uint32_t c = 0; c < channels; c++)
                    acc[c] += w[j] * s[(size_t)j * channels + c];
            for (uint32_t c = 0; c < channels; c++)
                dst[(size_t)x * channels + c] = acc[c];
        }
    }
    for (uint32_t y = 0; y < win_h; y++) {
        const float *w = tv.w + (size_t)y * tv.taps;
        uint8_t *dst = out + (size_t)y * win_w * channels;
        const float *base = tmp + (size_t)(tv.first[y] - r0) * win_w * channels;
        for (uint32_t i = 0; i < win_w * channels; i++) {
            float acc = 0;
            for (uint32_t j = 0; j < tv.count[y]; j++)
                acc += w[j] * base[(size_t)j * win_w * channels + i];
            float r = nearbyintf(acc);
            dst[i] = (uint8_t)(r < 0 ? 0 : r > 255 ? 255 : r);
        }
    }
done:
    free(tmp);
    free_taps(&th), free_taps(&tv);
    return rc;
}

static double uniform01(uint64_t *s)
{
    return (double)(mi_next(s) >> 11) * (1.0 / 9007199254740992.0);
}

int32_t mnv2_image_random_crop_box(uint64_t *rng, uint32_t height, uint32_t width, float scale_min, float scale_max,
                                   float ratio_min, float ratio_max, uint32_t *top, uint32_t *left, uint32_t *box_h,
                                   uint32_t *box_w)
{
    if (!rng || !top || !left || !box_h || !box_w || !height || !width)
        return mi_fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_image_random_crop_box: NULL pointer or zero size");
    if (!(scale_min > 0 && scale_min <= scale_max && scale_max <= 1 && ratio_min > 0 && ratio_min <= ratio_max))
        return mi_fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_image_random_crop_box: scale %g .. %g or ratio %g .. %g",
                       scale_min, scale_max, ratio_min, ratio_max);
    double area = (double)height * width, lr0 = log(ratio_min), lr1 = log(ratio_max);
    for (int attempt = 0; attempt < 10; attempt++) {
        double target = area * (scale_min + (scale_max - (double)scale_min) * uniform01(rng));
        double aspect = exp(lr0 + (lr1 - lr0) * uniform01(rng));
        double w = nearbyint(sqrt(target * aspect)), h = nearbyint(sqrt(target / aspect));
        if (w > 0 && w <= width && h > 0 && h <= height) {
            *box_h = (uint32_t)h, *box_w = (uint32_t)w;
            *top = mi_uniform(rng, height - (uint32_t)h + 1);
            *left = mi_uniform(rng, width - (uint32_t)w + 1);
            return MNV2_OK;
        }
    }
    double in_ratio = (double)width / height, w = width, h = height;
    if (in_ratio < ratio_min)
        h = nearbyint(w / ratio_min);
    else if (in_ratio > ratio_max)
        w = nearbyint(h * ratio_max);
    *box_h = (uint32_t)h, *box_w = (uint32_t)w;
    *top = (height - *box_h) / 2, *left = (width - *box_w) / 2;
    return MNV2_OK;
}

int32_t mnv2_image_eval_geometry(uint32_t height, uint32_t width, uint32_t resize, uint32_t out_h, uint32_t out_w,
                                 uint32_t *resized_h, uint32_t *resized_w, uint32_t *win_top, uint32_t *win_left)
{
    if (!height || !width || !resize || !out_h || !out_w)
        return mi_fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_image_eval_geometry: zero size");
    uint32_t sh = height <= width ? height : width, lg = height <= width ? width : height;
    double nl = floor((double)resize * lg / sh);
    if (nl > 1e6)
        return mi_fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_image_eval_geometry: %ux%u resized to %u: too long", height,
                       width, resize);
    uint32_t rh = height <= width ? resize : (uint32_t)nl, rw = height <= width ? (uint32_t)nl : resize;
    if (out_h > rh || out_w > rw)
        return mi_fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_image_eval_geometry: crop %ux%u larger than %ux%u", out_h,
                       out_w, rh, rw);
    if (resized_h)
        *resized_h = rh;
    if (resized_w)
        *resized_w = rw;
    if (win_top)
        *win_top = (uint32_t)nearbyint((rh - out_h) / 2.0);
    if (win_left)
        *win_left = (uint32_t)nearbyint((rw - out_w) / 2.0);
    return MNV2_OK;
}

void mi_epoch_order(uint32_t *order, uint32_t count, uint64_t key, int shuffle)
{
    for (uint32_t i = 0; i < count; i++)
        order[i] = i;
    if (!shuffle)
        return;
    uint64_t s = key;
    for (uint32_t i = count - 1; i > 0; i--) {
        uint32_t j = mi_uniform(&s, i + 1), t = order[i];
        order[i] = order[j], order[j] = t;
    }
}

int32_t mi_apply(const mi_transform *t, const uint8_t *px, uint32_t h, uint32_t w, uint32_t c, uint64_t rng,
                 uint8_t *scratch, float *out)
{
    int flip = 0;
    int32_t rc;
    if (t->train) {
        uint32_t top, left, bh, bw;
        rc = mnv2_image_random_crop_box(&rng, h, w, t->scale_min, t->scale_max, t->ratio_min, t->ratio_max, &top,
                                        &left, &bh, &bw);
        if (rc == MNV2_OK)
            rc = mnv2_image_resized_crop(px, h, w, c, top, left, bh, bw, t->oh, t->ow, 0, 0, t->oh, t->ow, scratch);
        flip = t->flip && (mi_next(&rng) >> 63);
    } else {
        uint32_t rh, rw, wt, wl;
        rc = mnv2_image_eval_geometry(h, w, t->resize, t->oh, t->ow, &rh, &rw, &wt, &wl);
        if (rc == MNV2_OK)
            rc = mnv2_image_resized_crop(px, h, w, c, 0, 0, h, w, rh, rw, wt, wl, t->oh, t->ow, scratch);
    }
    if (rc != MNV2_OK)
        return rc;
    const float k = 1.0f / 255;
    for (uint32_t y = 0; y < t->oh; y++)
        for (uint32_t x = 0; x < t->ow; x++) {
            const uint8_t *s = scratch + ((size_t)y * t->ow + (flip ? t->ow - 1 - x : x)) * c;
            float *d = out + ((size_t)y * t->ow + x) * t->oc;
            for (uint32_t o = 0; o < t->oc; o++) {
                float v;
                if (c == t->oc)
                    v = s[o] * k;
                else if (c == 1)
                    v = s[0] * k;
                else
                    v = 0.299f * (s[0] * k) + 0.587f * (s[1] * k) + 0.114f * (s[2] * k);
                d[o] = (v - t->mean[o]) / t->std[o];
            }
        }
    return MNV2_OK;
}
