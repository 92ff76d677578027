/* SPDX-License-Identifier: BSD-2-Clause */
/* CIFAR-10 and CIFAR-100 binary readers: label byte(s) then 32x32 R, G, B planes per record. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal_error.h"
#include "io/dataset.h"
#include "io/fileio.h"

#define SIDE 32u
#define PLANE (SIDE * SIDE)
#define PIXELS (3u * PLANE)
#define CHUNK 256u /* records read at a time from a file */

/* One layout: CIFAR-10 has 1 label byte, CIFAR-100 2 (coarse, fine; the fine one is used). */
typedef struct cifar_kind {
    const char *name;
    uint32_t label_bytes, classes, coarse_classes;
    const char *const *names;
} cifar_kind;

static const cifar_kind cifar10 = {
    .name = "CIFAR-10", .label_bytes = 1, .classes = 10, .coarse_classes = 0, .names = mnv2__cifar10_names,
};
static const cifar_kind cifar100 = {
    .name = "CIFAR-100", .label_bytes = 2, .classes = 100, .coarse_classes = 20, .names = mnv2__cifar100_names,
};

/* Number of records in `size` bytes, or an error naming `what`. */
static int32_t record_count(const cifar_kind *k, uint64_t size, const char *what, uint32_t *count)
{
    uint64_t rec = k->label_bytes + PIXELS;
    if (size == 0)
        return mnv2__fail(MNV2_ERR_FORMAT, "%s: empty %s file", what, k->name);
    if (size % rec != 0)
        return mnv2__fail(MNV2_ERR_FORMAT,
                          "%s: truncated %s file: %llu bytes is not a whole number of %llu-byte records "
                          "(%llu records and %llu bytes)",
                          what, k->name, (unsigned long long)size, (unsigned long long)rec,
                          (unsigned long long)(size / rec), (unsigned long long)(size % rec));
    if (size / rec > MNV2_DATASET_MAX_BYTES / PIXELS)
        return mnv2__fail(MNV2_ERR_FORMAT, "%s: %llu records, above the %u allowed", what,
                          (unsigned long long)(size / rec), (unsigned)(MNV2_DATASET_MAX_BYTES / PIXELS));
    *count = (uint32_t)(size / rec);
    return MNV2_OK;
}

/* Decode n records into images / labels starting at record `first` of the dataset. */
static int32_t decode(const cifar_kind *k, const uint8_t *src, uint32_t n, mnv2_dataset *ds, uint32_t first,
                      uint64_t file_first, const char *what)
{
    for (uint32_t r = 0; r < n; r++) {
        const uint8_t *rec = src + (size_t)r * (k->label_bytes + PIXELS);
        uint32_t label = rec[k->label_bytes - 1];
        if (label >= k->classes || (k->coarse_classes && rec[0] >= k->coarse_classes))
            return mnv2__fail(MNV2_ERR_FORMAT, "%s: record %llu has %slabel %u (expected 0..%u)", what,
                              (unsigned long long)(file_first + r), label >= k->classes ? "" : "coarse ",
                              label >= k->classes ? label : rec[0],
                              (label >= k->classes ? k->classes : k->coarse_classes) - 1);
        const uint8_t *planes = rec + k->label_bytes;
        uint8_t *dst = ds->images + (size_t)(first + r) * PIXELS;
        for (uint32_t p = 0; p < PLANE; p++) {
            dst[3 * p] = planes[p];
            dst[3 * p + 1] = planes[PLANE + p];
            dst[3 * p + 2] = planes[2 * PLANE + p];
        }
        ds->labels[first + r] = (int32_t)label;
    }
    return MNV2_OK;
}

static int32_t read_mem(const cifar_kind *k, const void *data, size_t size, mnv2_dataset **out)
{
    char what[32];
    snprintf(what, sizeof what, "%s buffer", k->name);
    if (!data || !out)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "%s: NULL argument", what);
    uint32_t count = 0;
    int32_t rc = record_count(k, size, what, &count);
    mnv2_dataset *ds = NULL;
    if (rc == MNV2_OK)
        rc = mnv2__dataset_alloc(count, SIDE, SIDE, 3, k->classes, what, &ds);
    if (rc == MNV2_OK)
        rc = decode(k, data, count, ds, 0, 0, what);
    if (rc == MNV2_OK && mnv2__dataset_names(ds, k->names, k->classes) != MNV2_OK)
        rc = mnv2__fail(MNV2_ERR_OUT_OF_MEMORY, "%s: out of memory", what);
    if (rc != MNV2_OK) {
        mnv2_dataset_destroy(ds);
        return rc;
    }
    *out = ds;
    return MNV2_OK;
}

/* Stream one file's records into the dataset at record `first`. */
static int32_t read_one(const cifar_kind *k, const char *path, uint32_t count, mnv2_dataset *ds, uint32_t first,
                        uint8_t *buf)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return mnv2__fail(MNV2_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t rec = k->label_bytes + PIXELS;
    int32_t rc = MNV2_OK;
    for (uint32_t done = 0; done < count && rc == MNV2_OK;) {
        uint32_t n = count - done < CHUNK ? count - done : CHUNK;
        size_t got = fread(buf, rec, n, f);
        if (got != n)
            rc = mnv2__fail(MNV2_ERR_IO, "%s: read %u of %u records", path, (unsigned)(done + got), (unsigned)count);
        else
            rc = decode(k, buf, n, ds, first + done, done, path);
        done += n;
    }
    fclose(f);
    return rc;
}

static int32_t read_files(const cifar_kind *k, const char *const *paths, uint32_t n_paths, mnv2_dataset **out)
{
    if (!paths || !out || n_paths == 0 || n_paths > 64)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "%s reader: NULL argument or %u files (1..64)", k->name,
                          (unsigned)n_paths);
    uint32_t counts[64];
    uint64_t total = 0;
    for (uint32_t i = 0; i < n_paths; i++) {
        if (!paths[i])
            return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "%s reader: path %u is NULL", k->name, (unsigned)i);
        uint64_t size;
        int32_t rc = mnv2__file_size(paths[i], &size);
        if (rc == MNV2_OK)
            rc = record_count(k, size, paths[i], &counts[i]);
        if (rc != MNV2_OK)
            return rc;
        total += counts[i];
    }
    if (total > MNV2_DATASET_MAX_BYTES / PIXELS)
        return mnv2__fail(MNV2_ERR_FORMAT, "%s: %llu records in %u files, above the %u allowed", paths[0],
                          (unsigned long long)total, (unsigned)n_paths, (unsigned)(MNV2_DATASET_MAX_BYTES / PIXELS));
    mnv2_dataset *ds = NULL;
    int32_t rc = mnv2__dataset_alloc((uint32_t)total, SIDE, SIDE, 3, k->classes, paths[0], &ds);
    if (rc != MNV2_OK)
        return rc;
    uint8_t *buf = malloc((size_t)CHUNK * (k->label_bytes + PIXELS));
    if (!buf)
        rc = mnv2__fail(MNV2_ERR_OUT_OF_MEMORY, "%s: out of memory", paths[0]);
    uint32_t first = 0;
    for (uint32_t i = 0; i < n_paths && rc == MNV2_OK; i++) {
        rc = read_one(k, paths[i], counts[i], ds, first, buf);
        first += counts[i];
    }
    free(buf);
    if (rc == MNV2_OK && mnv2__dataset_names(ds, k->names, k->classes) != MNV2_OK)
        rc = mnv2__fail(MNV2_ERR_OUT_OF_MEMORY, "%s: out of memory", paths[0]);
    if (rc != MNV2_OK) {
        mnv2_dataset_destroy(ds);
        return rc;
    }
    *out = ds;
    return MNV2_OK;
}

int32_t mnv2_dataset_read_cifar10(const char *const *paths, uint32_t n_paths, mnv2_dataset **out)
{
    mnv2__clear_error();
    return read_files(&cifar10, paths, n_paths, out);
}

int32_t mnv2_dataset_read_cifar10_mem(const void *data, size_t size, mnv2_dataset **out)
{
    mnv2__clear_error();
    return read_mem(&cifar10, data, size, out);
}

int32_t mnv2_dataset_read_cifar100(const char *path, mnv2_dataset **out)
{
    mnv2__clear_error();
    return read_files(&cifar100, &path, 1, out);
}

int32_t mnv2_dataset_read_cifar100_mem(const void *data, size_t size, mnv2_dataset **out)
{
    mnv2__clear_error();
    return read_mem(&cifar100, data, size, out);
}
