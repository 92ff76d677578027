/*
 * mnv2-train's datasets.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "traindata.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gzfile.h"
#include "imagedata.h"

static int exists(const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (f)
        fclose(f);
    return f != NULL;
}

/* An IDX pair read through zlib (works for .gz and plain files alike). */
static mnv2_dataset *read_idx_gz(const char *dir, const char *images, const char *labels)
{
    char ip[4096], lp[4096], err[4600];
    snprintf(ip, sizeof ip, "%s/%s", dir, images);
    snprintf(lp, sizeof lp, "%s/%s", dir, labels);
    uint8_t *id, *ld;
    size_t is, ls;
    if (ex_read_gz(ip, (size_t)MNV2_DATASET_MAX_BYTES + 64, &id, &is, err, sizeof err) != 0 ||
        ex_read_gz(lp, (size_t)1 << 30, &ld, &ls, err, sizeof err) != 0)
        ex_die("reading the dataset: %s", err);
    mnv2_dataset *ds;
    ex_check(mnv2_dataset_read_idx_mem(id, is, ld, ls, &ds), "reading %s and %s", ip, lp);
    free(id);
    free(ld);
    return ds;
}

static mnv2_dataset *open_split(const char *dir, int split, int gz)
{
    mnv2_dataset *ds;
    if (gz)
        return split == MNV2_SPLIT_TRAIN
                   ? read_idx_gz(dir, "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz")
                   : read_idx_gz(dir, "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz");
    ex_check(mnv2_dataset_open_dir(dir, split, &ds), "reading the %s set", split == MNV2_SPLIT_TRAIN ? "training" : "test");
    return ds;
}

void train_data_open(train_data *td, const char *dir, uint32_t limit, uint32_t test_limit)
{
    memset(td, 0, sizeof *td);
    int gz = exists(dir, "train-images-idx3-ubyte.gz") && !exists(dir, "train-images-idx3-ubyte");
    td->idx = gz || exists(dir, "train-images-idx3-ubyte");
    td->train = open_split(dir, MNV2_SPLIT_TRAIN, gz);
    td->test = open_split(dir, MNV2_SPLIT_TEST, gz);
    if (limit)
        ex_check(mnv2_dataset_limit(td->train, limit), "--limit");
    if (test_limit)
        ex_check(mnv2_dataset_limit(td->test, test_limit), "--test-limit");
    uint32_t test_classes, th, tw, tc;
    ex_check(mnv2_dataset_info(td->train, &td->train_count, &td->height, &td->width, &td->channels, &td->classes),
             "training set");
    ex_check(mnv2_dataset_info(td->test, &td->test_count, &th, &tw, &tc, &test_classes), "test set");
    if (th != td->height || tw != td->width || tc != td->channels)
        ex_die("%s: the test images (%ux%ux%u) differ from the training images (%ux%ux%u)", dir, th, tw, tc,
               td->height, td->width, td->channels);
    /* A limited training set may lack the top classes; the test set then tells the count. */
    td->classes = td->classes > test_classes ? td->classes : test_classes;
    const mnv2_dataset *named = td->classes == test_classes ? td->test : td->train;
    td->names = malloc(td->classes * sizeof *td->names);
    if (!td->names)
        ex_die("out of memory");
    for (uint32_t i = 0; i < td->classes; i++)
        ex_check(mnv2_dataset_class_name(named, i, &td->names[i]), "class %u", i);
}

void train_data_norm(const train_data *td, uint32_t channels, ex_norm *norm)
{
    if (channels > EX_MAX_STATS)
        ex_die("%u input channels: at most %d are supported", channels, EX_MAX_STATS);
    int32_t mode = td->idx ? MNV2_NORM_GLOBAL : MNV2_NORM_CHANNEL;
    ex_check(mnv2_dataset_stats(td->train, mode, channels, norm->mean, norm->std), "standardisation statistics");
    norm->n = td->idx ? 1 : channels;
}

void train_data_close(train_data *td)
{
    if (td->img_train) {
        image_data_close(td);
        return;
    }
    free(td->names);
    mnv2_dataset_destroy(td->train);
    mnv2_dataset_destroy(td->test);
}
