/* SPDX-License-Identifier: BSD-2-Clause */
/* Fuzz target: the CIFAR-10 and CIFAR-100 readers (from memory). */
#include "mnv2.h"
#include "mnv2_data.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mnv2_dataset *ds = NULL;
    if (mnv2_dataset_read_cifar10_mem(data, size, &ds) == MNV2_OK)
        mnv2_dataset_destroy(ds);
    ds = NULL;
    if (mnv2_dataset_read_cifar100_mem(data, size, &ds) == MNV2_OK)
        mnv2_dataset_destroy(ds);
    return 0;
}
