/*
 * mnv2-train's datasets: finding the layout of a directory, reading .gz IDX files through zlib,
 * limits, class names and the standardisation statistics.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef MNV2_EXAMPLES_TRAINDATA_H
#define MNV2_EXAMPLES_TRAINDATA_H

#include <stdint.h>

#include "common.h"

typedef struct train_data {
    mnv2_dataset *train, *test;
    uint32_t train_count, test_count, classes, height, width, channels;
    int idx;            /* IDX layout: one global mean / std, as the Fashion-MNIST reference */
    const char **names; /* class names, owned by the training set */
    struct mnv2_image_folder *img_train, *img_val; /* an image folder (imagedata.c): train / test are NULL */
} train_data;

/* Open both splits of @p dir (CIFAR-10, CIFAR-100 or IDX), keeping the first @p limit training and
 * @p test_limit test images (0 = all). Exits on failure. */
void train_data_open(train_data *td, const char *dir, uint32_t limit, uint32_t test_limit);
/* The standardisation of the training images for a model with @p channels input channels:
 * global for IDX, per channel otherwise. */
void train_data_norm(const train_data *td, uint32_t channels, ex_norm *norm);
void train_data_close(train_data *td);

#endif
