/* SPDX-License-Identifier: BSD-2-Clause */
/* What a loaded file holds besides the model: class names, iterator state, caller blob. */
#include <stdlib.h>

#include "internal_error.h"
#include "io/format.h"

void mnv2_file_info_destroy(mnv2_file_info *info)
{
    if (!info)
        return;
    free(info->names);
    free(info->blob);
    free(info);
}

int32_t mnv2_file_info_class_names(const mnv2_file_info *info, const char *const **names, uint32_t *n)
{
    mnv2__clear_error();
    if (!info || !names || !n)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_file_info_class_names: NULL argument");
    *names = (const char *const *)info->names;
    *n = info->n_names;
    return MNV2_OK;
}

int32_t mnv2_file_info_iter_state(const mnv2_file_info *info, uint64_t *seed, uint64_t *epoch, uint64_t *position)
{
    mnv2__clear_error();
    if (!info)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_file_info_iter_state: info is NULL");
    if (!info->has_train)
        return mnv2__fail(MNV2_ERR_NOT_FOUND, "mnv2_file_info_iter_state: the file is not a checkpoint");
    if (seed)
        *seed = info->seed;
    if (epoch)
        *epoch = info->epoch;
    if (position)
        *position = info->position;
    return MNV2_OK;
}

int32_t mnv2_file_info_blob(const mnv2_file_info *info, const void **data, uint64_t *size)
{
    mnv2__clear_error();
    if (!info || !data || !size)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_file_info_blob: NULL argument");
    if (!info->has_train)
        return mnv2__fail(MNV2_ERR_NOT_FOUND, "mnv2_file_info_blob: the file is not a checkpoint");
    *data = info->blob;
    *size = info->blob_size;
    return MNV2_OK;
}
