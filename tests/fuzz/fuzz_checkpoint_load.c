/* SPDX-License-Identifier: BSD-2-Clause */
/* Fuzz target: checkpoints (mnv2_checkpoint_load_mem). With FUZZ_FIX_CRCS (target
 * fuzz_checkpoint_fixcrc) every section's CRC is made valid first, so mutations reach the
 * section parsers instead of failing the checksum. */
#include <string.h>

#include "mnv2.h"
#include "mnv2_data.h"
#include "fuzz.h"
#ifdef FUZZ_FIX_CRCS
#include "fixcrc.h"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *in = data;
#ifdef FUZZ_FIX_CRCS
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    mnv2_test_fix_crcs(copy, size);
    in = copy;
#endif
    mnv2_load_options o;
    mnv2_load_options_default(&o);
    o.max_batch = 1, o.threads = 1;
    mnv2_model *m = NULL;
    mnv2_file_info *info = NULL;
    if (mnv2_checkpoint_load_mem(in, size, &o, &m, &info) == MNV2_OK) {
        mnv2_model_destroy(m);
        mnv2_file_info_destroy(info);
    }
#ifdef FUZZ_FIX_CRCS
    free(copy);
#endif
    return 0;
}
