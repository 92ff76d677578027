/* SPDX-License-Identifier: BSD-2-Clause */
/* libFuzzer target: the ONNX importer (mnv2_model_import_onnx_mem()) on arbitrary bytes. It must
 * return a status, never crash, hang or leak; a model it accepts must run. Seed corpus:
 * corpus/onnx/ (small mnv2 exports: folded, BatchNormalization nodes with NHWC and a
 * standardisation, and a truncated one). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "mnv2.h"
#include "mnv2_data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mnv2_load_options o;
    mnv2_load_options_default(&o);
    o.max_batch = 1;
    o.threads = 1;
    o.trainable = 0;
    mnv2_model *m = NULL;
    if (mnv2_model_import_onnx_mem(data, size, &o, &m) != MNV2_OK)
        return 0;
    int64_t h = 0, w = 0, c = 0, k = 0;
    mnv2_model_get_int(m, MNV2_KEY_INPUT_HEIGHT, &h);
    mnv2_model_get_int(m, MNV2_KEY_INPUT_WIDTH, &w);
    mnv2_model_get_int(m, MNV2_KEY_INPUT_CHANNELS, &c);
    mnv2_model_get_int(m, MNV2_KEY_CLASSES, &k);
    /* Run models of a modest size only, so the fuzzer keeps its pace. */
    if (h * w * c <= 64 * 64 * 3 && k <= 4096) {
        float *x = calloc((size_t)(h * w * c), sizeof(float)), *y = malloc((size_t)k * sizeof(float));
        if (x && y && mnv2_forward(m, x, (size_t)(h * w * c), 1, MNV2_MODE_INFER, y, (size_t)k) != MNV2_OK)
            abort(); /* an accepted model must run */
        free(x);
        free(y);
    }
    mnv2_model_destroy(m);
    return 0;
}
