/* SPDX-License-Identifier: BSD-2-Clause */
/* Fuzz target: model files (mnv2_model_load_mem). Small limits: batch 1, one thread, inference
 * only, so that a valid but huge configuration stays cheap. */
#include "mnv2.h"
#include "mnv2_data.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mnv2_load_options o;
    mnv2_load_options_default(&o);
    o.max_batch = 1, o.threads = 1, o.trainable = 0;
    mnv2_model *m = NULL;
    mnv2_file_info *info = NULL;
    if (mnv2_model_load_mem(data, size, &o, &m, &info) == MNV2_OK) {
        mnv2_model_destroy(m);
        mnv2_file_info_destroy(info);
    }
    return 0;
}
