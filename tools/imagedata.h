/*
 * mnv2-train's input pipeline over either kind of dataset: the library's in-memory datasets with
 * its batch iterator, or (with libmnv2-image, HAVE_MNV2_IMAGE) an image folder DIR/train,
 * DIR/val streamed by libmnv2-image's loader. train.c calls these instead of the iterator directly.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef MNV2_TOOLS_IMAGEDATA_H
#define MNV2_TOOLS_IMAGEDATA_H

#include <stdint.h>

#include "common.h"
#include "traindata.h"

/* Settings of image folders (command-line options of mnv2-train). */
/* The image options' lines of mnv2-train's --help. */
#define IMAGE_OPTS_HELP                                                                              \
    "  --size N            model input height and width (default: the preset's)\n"                    \
    "  --val-data DIR      image folders: the validation folder (DIR/val)\n"                         \
    "  --decode-threads N  image folders: threads decoding images (2)\n"                             \
    "  --bad-images M      image folders: a file that fails to decode: fail (default) or skip\n"     \
    "                      (reported)\n"                                                             \
    "  --norm N            image folders: imagenet (default with --preset standard) or data\n"       \
    "                      (computed from up to 2000 training images; default otherwise)\n"

typedef struct image_opts {
    const char *val_data; /* --val-data DIR (default DIR/val) */
    uint32_t size;        /* --size N: model input height and width (0 = the preset's) */
    uint32_t workers;     /* --decode-threads N (2) */
    int skip_bad;         /* --bad-images skip|fail */
    int norm;             /* --norm: 0 auto, 1 imagenet, 2 data */
} image_opts;

/* If argv[*i] is one of the options above, parse it (advancing *i) and return 1. */
int image_opts_parse(int argc, char **argv, int *i, image_opts *o);
/* The usage lines of those options. */

/* Whether @p dir holds an image folder (DIR/train with class sub-directories). */
int image_data_is_folder(const char *dir);
/* Open DIR/train and the validation folder into @p td (td->img); exits on failure. */
void image_data_open(train_data *td, const char *dir, const image_opts *o, uint32_t limit, uint32_t test_limit);
void image_data_close(train_data *td);
/* Standardisation: ImageNet's (standard preset, or --norm imagenet) or computed from up to 2000
 * training images at the model's size. */
void image_data_norm(const train_data *td, const image_opts *o, int standard, uint32_t size, uint32_t channels,
                     ex_norm *norm);

/* The training batches: the library's iterator or the image loader. */
typedef struct train_iter {
    mnv2_batch_iter *core;
    struct mnv2_image_loader *img;
} train_iter;

void titer_create(train_iter *t, const train_data *td, const mnv2_batch_options *bo, const image_opts *o);
void titer_destroy(train_iter *t);
uint64_t titer_batches(const train_iter *t);
void titer_get_state(const train_iter *t, uint64_t *seed, uint64_t *epoch, uint64_t *position);
void titer_set_state(train_iter *t, uint64_t seed, uint64_t epoch, uint64_t position);
/* The next batch (*b = 0 at the end of the epoch); exits on failure. */
void titer_next(train_iter *t, float *x, size_t n_x, int32_t *y, uint32_t batch, uint32_t *b);
/* A checkpoint with the iterator's state. */
int32_t titer_checkpoint(mnv2_model *model, const train_iter *t, const void *blob, uint64_t size,
                         const char *const *names, uint32_t n_names, const char *path);
/* Loss and top-1 accuracy on the test / validation set, as mnv2_evaluate(). */
void titer_evaluate(mnv2_model *model, const train_data *td, const mnv2_batch_options *eo, const image_opts *o,
                    double *loss, double *top1);

#endif
