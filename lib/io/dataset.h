/* SPDX-License-Identifier: BSD-2-Clause */
/* Internal: the dataset handle and helpers shared by the readers. */
#ifndef MNV2_IO_DATASET_H
#define MNV2_IO_DATASET_H
#include <stdint.h>

#include "mnv2_data.h"

struct mnv2_dataset {
    uint32_t count, height, width, channels, classes;
    uint8_t *images; /* count * height * width * channels, HWC per image */
    int32_t *labels; /* count */
    char **names;    /* classes pointers into the same allocation */
};

/* Allocate a dataset of the given shape after checking it against the MNV2_DATASET_MAX_* caps;
 * `what` names the source in messages. Images and labels are uninitialised, names are "0", "1", ... */
int32_t mnv2__dataset_alloc(uint32_t count, uint32_t height, uint32_t width, uint32_t channels, uint32_t classes,
                            const char *what, mnv2_dataset **out);
/* Replace the class names (n == classes, already validated or trusted). */
int32_t mnv2__dataset_names(mnv2_dataset *ds, const char *const *names, uint32_t n);

/* Built-in class names (names.c). */
extern const char *const mnv2__cifar10_names[10];
extern const char *const mnv2__cifar100_names[100];
extern const char *const mnv2__fashion_names[10];

#endif
