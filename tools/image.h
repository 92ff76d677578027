/*
 * Reading images for mnv2-infer: PGM / PPM (P2, P3, P5, P6; maxval up to 255) and, when built
 * with HAVE_PNG, PNG through libpng.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef MNV2_EXAMPLES_IMAGE_H
#define MNV2_EXAMPLES_IMAGE_H

#include <stddef.h>
#include <stdint.h>

typedef struct ex_image {
    uint32_t width, height, channels; /* channels: 1 (grey) or 3 (RGB) */
    uint8_t *pixels;                  /* HWC, malloc'ed */
} ex_image;

/* Read @p path into @p img. 0 on success; otherwise -1 and a message in @p err. */
int ex_image_read(const char *path, ex_image *img, char *err, size_t err_size);
void ex_image_free(ex_image *img);

#endif
