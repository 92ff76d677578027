/* SPDX-License-Identifier: BSD-2-Clause */
/* The dataset handle: creation, accessors, class names, subsets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal_error.h"
#include "io/dataset.h"

#define MAX_NAME 255u

int32_t mnv2__dataset_alloc(uint32_t count, uint32_t height, uint32_t width, uint32_t channels, uint32_t classes,
                            const char *what, mnv2_dataset **out)
{
    if (count == 0)
        return mnv2__fail(MNV2_ERR_FORMAT, "%s: no images", what);
    if (height == 0 || height > MNV2_DATASET_MAX_SIDE || width == 0 || width > MNV2_DATASET_MAX_SIDE)
        return mnv2__fail(MNV2_ERR_FORMAT, "%s: image size %ux%u outside 1..%u", what, (unsigned)height,
                          (unsigned)width, MNV2_DATASET_MAX_SIDE);
    if (channels == 0 || channels > MNV2_DATASET_MAX_CHANNELS)
        return mnv2__fail(MNV2_ERR_FORMAT, "%s: %u channels (1..%u allowed)", what, (unsigned)channels,
                          MNV2_DATASET_MAX_CHANNELS);
    if (classes == 0 || classes > MNV2_DATASET_MAX_CLASSES)
        return mnv2__fail(MNV2_ERR_FORMAT, "%s: %u classes (1..%u allowed)", what, (unsigned)classes,
                          MNV2_DATASET_MAX_CLASSES);
    uint64_t bytes = (uint64_t)count * height * width * channels; /* < 2^32 * 2^30: no overflow */
    if (bytes > MNV2_DATASET_MAX_BYTES)
        return mnv2__fail(MNV2_ERR_FORMAT, "%s: %u images of %ux%ux%u are %llu bytes, above the %llu allowed", what,
                          (unsigned)count, (unsigned)height, (unsigned)width, (unsigned)channels,
                          (unsigned long long)bytes, (unsigned long long)MNV2_DATASET_MAX_BYTES);
    mnv2_dataset *ds = calloc(1, sizeof *ds);
    if (!ds)
        return mnv2__fail(MNV2_ERR_OUT_OF_MEMORY, "%s: out of memory", what);
    ds->count = count;
    ds->height = height;
    ds->width = width;
    ds->channels = channels;
    ds->classes = classes;
    ds->images = malloc((size_t)bytes);
    ds->labels = malloc((size_t)count * sizeof(int32_t));
    int32_t rc = ds->images && ds->labels ? mnv2__dataset_names(ds, NULL, classes) : MNV2_ERR_OUT_OF_MEMORY;
    if (rc != MNV2_OK) {
        mnv2_dataset_destroy(ds);
        return mnv2__fail(MNV2_ERR_OUT_OF_MEMORY, "%s: cannot allocate %llu bytes of images", what,
                          (unsigned long long)bytes);
    }
    *out = ds;
    return MNV2_OK;
}

/* names NULL: "0", "1", ... One allocation: the pointer array, then the strings. */
int32_t mnv2__dataset_names(mnv2_dataset *ds, const char *const *names, uint32_t n)
{
    size_t chars = 0;
    for (uint32_t i = 0; i < n; i++)
        chars += (names ? strlen(names[i]) : 10) + 1;
    char **block = malloc(n * sizeof(char *) + chars);
    if (!block)
        return MNV2_ERR_OUT_OF_MEMORY;
    char *s = (char *)(block + n);
    for (uint32_t i = 0; i < n; i++) {
        block[i] = s;
        if (names) {
            size_t len = strlen(names[i]);
            memcpy(s, names[i], len + 1);
            s += len + 1;
        } else {
            s += snprintf(s, 11, "%u", (unsigned)i) + 1;
        }
    }
    free(ds->names);
    ds->names = block;
    return MNV2_OK;
}

int32_t mnv2_dataset_create(uint32_t count, uint32_t height, uint32_t width, uint32_t channels, uint32_t classes,
                            const uint8_t *images, const int32_t *labels, mnv2_dataset **out)
{
    mnv2__clear_error();
    if (!images || !labels || !out)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_dataset_create: NULL argument");
    mnv2_dataset *ds;
    int32_t rc = mnv2__dataset_alloc(count, height, width, channels, classes, "mnv2_dataset_create", &ds);
    if (rc != MNV2_OK)
        return rc == MNV2_ERR_FORMAT ? MNV2_ERR_INVALID_ARGUMENT : rc;
    for (uint32_t i = 0; i < count; i++) {
        if (labels[i] < 0 || (uint32_t)labels[i] >= classes) {
            mnv2_dataset_destroy(ds);
            return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_dataset_create: label %d of image %u outside 0..%u",
                              (int)labels[i], (unsigned)i, (unsigned)classes - 1);
        }
    }
    memcpy(ds->images, images, (size_t)count * height * width * channels);
    memcpy(ds->labels, labels, (size_t)count * sizeof(int32_t));
    *out = ds;
    return MNV2_OK;
}

void mnv2_dataset_destroy(mnv2_dataset *ds)
{
    if (!ds)
        return;
    free(ds->images);
    free(ds->labels);
    free(ds->names);
    free(ds);
}

int32_t mnv2_dataset_info(const mnv2_dataset *ds, uint32_t *count, uint32_t *height, uint32_t *width,
                          uint32_t *channels, uint32_t *classes)
{
    mnv2__clear_error();
    if (!ds)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_dataset_info: dataset is NULL");
    if (count)
        *count = ds->count;
    if (height)
        *height = ds->height;
    if (width)
        *width = ds->width;
    if (channels)
        *channels = ds->channels;
    if (classes)
        *classes = ds->classes;
    return MNV2_OK;
}

int32_t mnv2_dataset_image(const mnv2_dataset *ds, uint32_t index, const uint8_t **pixels)
{
    mnv2__clear_error();
    if (!ds || !pixels)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_dataset_image: NULL argument");
    if (index >= ds->count)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_dataset_image: index %u, %u images", (unsigned)index,
                          (unsigned)ds->count);
    *pixels = ds->images + (size_t)index * ds->height * ds->width * ds->channels;
    return MNV2_OK;
}

int32_t mnv2_dataset_label(const mnv2_dataset *ds, uint32_t index, int32_t *label)
{
    mnv2__clear_error();
    if (!ds || !label)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_dataset_label: NULL argument");
    if (index >= ds->count)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_dataset_label: index %u, %u images", (unsigned)index,
                          (unsigned)ds->count);
    *label = ds->labels[index];
    return MNV2_OK;
}

int32_t mnv2_dataset_class_name(const mnv2_dataset *ds, uint32_t cls, const char **name)
{
    mnv2__clear_error();
    if (!ds || !name)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_dataset_class_name: NULL argument");
    if (cls >= ds->classes)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_dataset_class_name: class %u, %u classes",
                          (unsigned)cls, (unsigned)ds->classes);
    *name = ds->names[cls];
    return MNV2_OK;
}

int32_t mnv2_dataset_set_class_names(mnv2_dataset *ds, const char *const *names, uint32_t n)
{
    mnv2__clear_error();
    if (!ds || !names)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_dataset_set_class_names: NULL argument");
    if (n != ds->classes)
        return mnv2__fail(MNV2_ERR_SIZE_MISMATCH, "mnv2_dataset_set_class_names: %u names for %u classes",
                          (unsigned)n, (unsigned)ds->classes);
    for (uint32_t i = 0; i < n; i++)
        if (!names[i] || strlen(names[i]) > MAX_NAME)
            return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_dataset_set_class_names: name %u is %s", (unsigned)i,
                              names[i] ? "longer than 255 bytes" : "NULL");
    if (mnv2__dataset_names(ds, names, n) != MNV2_OK)
        return mnv2__fail(MNV2_ERR_OUT_OF_MEMORY, "mnv2_dataset_set_class_names: out of memory");
    return MNV2_OK;
}

int32_t mnv2_dataset_subset(const mnv2_dataset *ds, const uint32_t *indices, uint32_t n, mnv2_dataset **out)
{
    mnv2__clear_error();
    if (!ds || !indices || !out || n == 0)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_dataset_subset: NULL argument or n 0");
    for (uint32_t i = 0; i < n; i++)
        if (indices[i] >= ds->count)
            return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_dataset_subset: indices[%u] = %u, %u images",
                              (unsigned)i, (unsigned)indices[i], (unsigned)ds->count);
    mnv2_dataset *sub;
    int32_t rc = mnv2__dataset_alloc(n, ds->height, ds->width, ds->channels, ds->classes, "mnv2_dataset_subset", &sub);
    if (rc != MNV2_OK)
        return rc == MNV2_ERR_FORMAT ? MNV2_ERR_INVALID_ARGUMENT : rc;
    if (mnv2__dataset_names(sub, (const char *const *)ds->names, ds->classes) != MNV2_OK) {
        mnv2_dataset_destroy(sub);
        return mnv2__fail(MNV2_ERR_OUT_OF_MEMORY, "mnv2_dataset_subset: out of memory");
    }
    size_t px = (size_t)ds->height * ds->width * ds->channels;
    for (uint32_t i = 0; i < n; i++) {
        memcpy(sub->images + i * px, ds->images + indices[i] * px, px);
        sub->labels[i] = ds->labels[indices[i]];
    }
    *out = sub;
    return MNV2_OK;
}

int32_t mnv2_dataset_limit(mnv2_dataset *ds, uint32_t n)
{
    mnv2__clear_error();
    if (!ds || n == 0)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_dataset_limit: NULL dataset or n 0");
    if (n < ds->count)
        ds->count = n;
    return MNV2_OK;
}
