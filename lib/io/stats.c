/* SPDX-License-Identifier: BSD-2-Clause */
/* Dataset statistics for standardisation: exact per-channel histograms, or two passes for luma. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal_error.h"
#include "io/dataset.h"
#include "io/fit.h"
#include "fpenv.h"

#define MIN_STD 1e-6

/* Mean and population std from a histogram of byte values (scaled by 1 / 255). */
static void hist_stats(const uint64_t *hist, double *mean, double *std)
{
    double n = 0.0, sum = 0.0, ss = 0.0;
    for (int v = 0; v < 256; v++) {
        n += (double)hist[v];
        sum += (double)hist[v] * ((double)v / 255.0);
    }
    *mean = sum / n;
    for (int v = 0; v < 256; v++) {
        double d = (double)v / 255.0 - *mean;
        ss += (double)hist[v] * d * d;
    }
    *std = sqrt(ss / n);
}

static void luma_stats(const mnv2_dataset *ds, double *mean, double *std)
{
    size_t n = (size_t)ds->count * ds->height * ds->width;
    double sum = 0.0, ss = 0.0;
    for (size_t i = 0; i < n; i++)
        sum += mnv2__luma(ds->images + i * ds->channels);
    *mean = sum / (double)n;
    for (size_t i = 0; i < n; i++) {
        double d = mnv2__luma(ds->images + i * ds->channels) - *mean;
        ss += d * d;
    }
    *std = sqrt(ss / (double)n);
}

int32_t mnv2__dataset_stats(const mnv2_dataset *ds, int32_t norm, uint32_t out_c, float *mean, float *std)
{
    int conv = mnv2__conv_mode(ds->channels, out_c);
    if (conv < 0)
        return mnv2__fail(MNV2_ERR_UNSUPPORTED, "dataset statistics: no conversion from %u to %u channels",
                          (unsigned)ds->channels, (unsigned)out_c);
    double m[MNV2_DATASET_MAX_CHANNELS], s[MNV2_DATASET_MAX_CHANNELS];
    if (conv == MNV2__CONV_LUMA) {
        luma_stats(ds, &m[0], &s[0]);
    } else {
        uint32_t used = conv == MNV2__CONV_REPLICATE ? 1 : out_c; /* source channels that matter */
        uint64_t (*hist)[256] = calloc(used + 1, sizeof *hist);
        if (!hist)
            return mnv2__fail(MNV2_ERR_OUT_OF_MEMORY, "dataset statistics: out of memory");
        size_t n = (size_t)ds->count * ds->height * ds->width;
        for (size_t i = 0; i < n; i++) {
            const uint8_t *px = ds->images + i * ds->channels;
            for (uint32_t c = 0; c < used; c++)
                hist[c][px[c]]++;
        }
        if (norm == MNV2_NORM_GLOBAL) {
            for (uint32_t c = 0; c < used; c++)
                for (int v = 0; v < 256; v++)
                    hist[used][v] += hist[c][v];
            hist_stats(hist[used], &m[0], &s[0]);
        } else {
            for (uint32_t c = 0; c < used; c++)
                hist_stats(hist[c], &m[c], &s[c]);
        }
        free(hist);
        if (conv == MNV2__CONV_REPLICATE || norm == MNV2_NORM_GLOBAL)
            used = 1;
        for (uint32_t c = used; c < out_c; c++) {
            m[c] = m[0];
            s[c] = s[0];
        }
    }
    for (uint32_t c = 0; c < out_c; c++) {
        double sc = s[conv == MNV2__CONV_LUMA ? 0 : c], mc = m[conv == MNV2__CONV_LUMA ? 0 : c];
        mean[c] = (float)mc;
        std[c] = sc < MIN_STD ? 1.0f : (float)sc;
    }
    return MNV2_OK;
}

static int32_t dataset_stats_body(const mnv2_dataset *ds, int32_t norm, uint32_t channels, float *mean, float *std)
{
    mnv2__clear_error();
    if (!ds || !mean || !std)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_dataset_stats: NULL argument");
    if (norm != MNV2_NORM_CHANNEL && norm != MNV2_NORM_GLOBAL)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_dataset_stats: norm %d is not MNV2_NORM_CHANNEL or "
                          "MNV2_NORM_GLOBAL", (int)norm);
    if (channels > MNV2_DATASET_MAX_CHANNELS)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_dataset_stats: %u channels", (unsigned)channels);
    return mnv2__dataset_stats(ds, norm, channels ? channels : ds->channels, mean, std);
}

/* Public entry points that compute: in the library's floating-point environment (fpenv.h). */

int32_t mnv2_dataset_stats(const mnv2_dataset *ds, int32_t norm, uint32_t channels, float *mean, float *std)
{
    MNV2__RETURN_IN_FPENV(dataset_stats_body(ds, norm, channels, mean, std));
}
