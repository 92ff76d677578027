/* SPDX-License-Identifier: BSD-2-Clause */
/* Fuzz target: the IDX reader (from memory). The input is split into an images file and a labels
 * file at the position its first byte names (as a fraction of the size). */
#include "mnv2.h"
#include "mnv2_data.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const size_t rest = size - 1, cut = rest * data[0] / 255;
    mnv2_dataset *ds = NULL;
    if (mnv2_dataset_read_idx_mem(data + 1, cut, data + 1 + cut, rest - cut, &ds) == MNV2_OK)
        mnv2_dataset_destroy(ds);
    return 0;
}
