/* SPDX-License-Identifier: BSD-2-Clause */
/* Dataset directories: recognise CIFAR-10, CIFAR-100 or IDX by file names. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal_error.h"
#include "io/dataset.h"
#include "io/fileio.h"

#define PATH_CAP 4096
#define MAX_NAMES_FILE (1u << 20)

/* dir + "/" + name into buf; 0 when it does not fit. */
static int join(char *buf, const char *dir, const char *name)
{
    int n = snprintf(buf, PATH_CAP, "%s/%s", dir, name);
    return n > 0 && n < PATH_CAP;
}

static int exists_in(const char *dir, const char *name)
{
    char p[PATH_CAP];
    return join(p, dir, name) && mnv2__file_exists(p);
}

/* Class names from a text file, one per line (blank lines and trailing whitespace ignored);
 * there must be exactly ds->classes of them. */
static int32_t names_from_file(mnv2_dataset *ds, const char *path)
{
    uint8_t *text;
    size_t size;
    int32_t rc = mnv2__read_file(path, MAX_NAMES_FILE, &text, &size);
    if (rc != MNV2_OK)
        return rc;
    const char **names = malloc(ds->classes * sizeof *names);
    char *buf = malloc(size + 1);
    if (!names || !buf) {
        free(names);
        free(buf);
        free(text);
        return mnv2__fail(MNV2_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    }
    memcpy(buf, text, size);
    buf[size] = '\0';
    free(text);
    uint32_t n = 0;
    for (char *line = buf; line && *line && rc == MNV2_OK;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        size_t len = strlen(line);
        while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
            line[--len] = '\0';
        if (len > 255)
            rc = mnv2__fail(MNV2_ERR_FORMAT, "%s: class name %u is longer than 255 bytes", path, (unsigned)n);
        else if (len > 0 && n < ds->classes)
            names[n++] = line;
        else if (len > 0)
            rc = mnv2__fail(MNV2_ERR_FORMAT, "%s: more than %u class names", path, (unsigned)ds->classes);
        line = nl ? nl + 1 : NULL;
    }
    if (rc == MNV2_OK && n != ds->classes)
        rc = mnv2__fail(MNV2_ERR_FORMAT, "%s: %u class names for %u classes", path, (unsigned)n,
                        (unsigned)ds->classes);
    if (rc == MNV2_OK && mnv2__dataset_names(ds, names, n) != MNV2_OK)
        rc = mnv2__fail(MNV2_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    free(names);
    free(buf);
    return rc;
}

/* Read `ds`' class names from dir/name when that file exists. */
static int32_t optional_names(mnv2_dataset *ds, const char *dir, const char *name)
{
    char p[PATH_CAP];
    if (!join(p, dir, name) || !mnv2__file_exists(p))
        return MNV2_OK;
    return names_from_file(ds, p);
}

static int32_t open_cifar10(const char *dir, int32_t split, mnv2_dataset **out)
{
    char paths[5][PATH_CAP];
    const char *ptrs[5];
    uint32_t n = split == MNV2_SPLIT_TRAIN ? 5 : 1;
    for (uint32_t i = 0; i < n; i++) {
        char name[32];
        if (split == MNV2_SPLIT_TRAIN)
            snprintf(name, sizeof name, "data_batch_%u.bin", (unsigned)i + 1);
        else
            snprintf(name, sizeof name, "test_batch.bin");
        if (!join(paths[i], dir, name))
            return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "%s: path too long", dir);
        if (!mnv2__file_exists(paths[i]))
            return mnv2__fail(MNV2_ERR_IO, "%s: CIFAR-10 directory without %s", dir, name);
        ptrs[i] = paths[i];
    }
    mnv2_dataset *ds;
    int32_t rc = mnv2_dataset_read_cifar10(ptrs, n, &ds);
    if (rc != MNV2_OK)
        return rc;
    rc = optional_names(ds, dir, "batches.meta.txt");
    if (rc != MNV2_OK) {
        mnv2_dataset_destroy(ds);
        return rc;
    }
    *out = ds;
    return MNV2_OK;
}

static int32_t open_cifar100(const char *dir, int32_t split, mnv2_dataset **out)
{
    char path[PATH_CAP];
    const char *name = split == MNV2_SPLIT_TRAIN ? "train.bin" : "test.bin";
    if (!join(path, dir, name))
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "%s: path too long", dir);
    mnv2_dataset *ds;
    int32_t rc = mnv2_dataset_read_cifar100(path, &ds);
    if (rc != MNV2_OK)
        return rc;
    rc = optional_names(ds, dir, "fine_label_names.txt");
    if (rc != MNV2_OK) {
        mnv2_dataset_destroy(ds);
        return rc;
    }
    *out = ds;
    return MNV2_OK;
}

static int32_t open_idx(const char *dir, int32_t split, mnv2_dataset **out)
{
    const char *prefix = split == MNV2_SPLIT_TRAIN ? "train" : "t10k";
    char iname[64], lname[64], ipath[PATH_CAP], lpath[PATH_CAP];
    snprintf(iname, sizeof iname, "%s-images-idx3-ubyte", prefix);
    snprintf(lname, sizeof lname, "%s-labels-idx1-ubyte", prefix);
    if (!join(ipath, dir, iname) || !join(lpath, dir, lname))
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "%s: path too long", dir);
    const char *names[2] = {iname, lname}, *paths[2] = {ipath, lpath};
    for (int i = 0; i < 2; i++) {
        if (mnv2__file_exists(paths[i]))
            continue;
        char gz[PATH_CAP + 3];
        snprintf(gz, sizeof gz, "%s.gz", paths[i]);
        if (mnv2__file_exists(gz))
            return mnv2__fail(MNV2_ERR_UNSUPPORTED,
                              "%s: only %s.gz is present; the library reads uncompressed IDX files: decompress it "
                              "(gunzip -k) or decompress it in memory and use mnv2_dataset_read_idx_mem() as the "
                              "examples do", dir, names[i]);
        return mnv2__fail(MNV2_ERR_IO, "%s: IDX directory without %s", dir, names[i]);
    }
    return mnv2_dataset_read_idx(ipath, lpath, out);
}

int32_t mnv2_dataset_open_dir(const char *dir, int32_t split, mnv2_dataset **out)
{
    mnv2__clear_error();
    if (!dir || !out)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_dataset_open_dir: NULL argument");
    if (split != MNV2_SPLIT_TRAIN && split != MNV2_SPLIT_TEST)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_dataset_open_dir: unknown split %d", (int)split);
    if (strlen(dir) > PATH_CAP - 64)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_dataset_open_dir: directory name too long");
    if (exists_in(dir, "data_batch_1.bin"))
        return open_cifar10(dir, split, out);
    if (exists_in(dir, "train.bin") && (exists_in(dir, "test.bin") || exists_in(dir, "meta") ||
                                        exists_in(dir, "fine_label_names.txt")))
        return open_cifar100(dir, split, out);
    if (exists_in(dir, "train-images-idx3-ubyte") || exists_in(dir, "train-images-idx3-ubyte.gz") ||
        exists_in(dir, "t10k-images-idx3-ubyte") || exists_in(dir, "t10k-images-idx3-ubyte.gz"))
        return open_idx(dir, split, out);
    return mnv2__fail(MNV2_ERR_NOT_FOUND,
                      "%s: no dataset found (looked for CIFAR-10 data_batch_1.bin, CIFAR-100 train.bin, "
                      "IDX train-images-idx3-ubyte)", dir);
}
