/* SPDX-License-Identifier: BSD-2-Clause */
/* Internal: fitting uint8 HWC images to a model input (channels, standardisation, size). */
#ifndef MNV2_IO_FIT_H
#define MNV2_IO_FIT_H
#include <stdint.h>

#include "mnv2_data.h"

#define MNV2__CONV_COPY 0      /* same channel count */
#define MNV2__CONV_REPLICATE 1 /* 1 channel to n */
#define MNV2__CONV_LUMA 2      /* 3 or 4 channels to 1 */
#define MNV2__CONV_DROP_ALPHA 3 /* 4 channels to 3 */

#define MNV2__GEOM_COPY 0
#define MNV2__GEOM_PAD 1
#define MNV2__GEOM_RESIZE 2

typedef struct mnv2_fitter {
    uint32_t in_h, in_w, in_c, out_h, out_w, out_c;
    int conv, geom;
    uint32_t top, left;                           /* padding offsets */
    float mean[MNV2_DATASET_MAX_CHANNELS];         /* per output channel */
    float std[MNV2_DATASET_MAX_CHANNELS];
    float lut[MNV2_DATASET_MAX_CHANNELS][256];     /* (p / 255 - mean) / std, unless luma */
} mnv2_fitter;

/* Channel conversion for in_c -> out_c, or -1 when unsupported. */
int mnv2__conv_mode(uint32_t in_c, uint32_t out_c);

/* Luma of an RGB pixel, as a value in [0, 1] (the computation the fitter uses). */
float mnv2__luma(const uint8_t *rgb);

/* Prepare a fitter; n_stats 0 (none), 1 (global) or out_c. Validates everything; `what` names
 * the caller in messages. */
int32_t mnv2__fitter_init(mnv2_fitter *f, uint32_t in_h, uint32_t in_w, uint32_t in_c, uint32_t out_h,
                          uint32_t out_w, uint32_t out_c, const float *mean, const float *std, uint32_t n_stats,
                          const char *what);

/* Fit one image into out (out_h * out_w * out_c floats). tmp holds in_h * in_w * out_c floats and
 * is used only when resizing (may be NULL otherwise). */
void mnv2__fit(const mnv2_fitter *f, const uint8_t *src, float *tmp, float *out);

/* Mean / std of a dataset after conversion to out_c channels (stats.c). */
int32_t mnv2__dataset_stats(const mnv2_dataset *ds, int32_t norm, uint32_t out_c, float *mean, float *std);

#endif
