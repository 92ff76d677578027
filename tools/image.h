/*
 * Reading images for mnv2-infer: PGM / PPM (P2, P3, P5, P6; maxval up to 255), PNG through libpng
 * (HAVE_PNG), and JPEG / PNG through libmnv2-image (HAVE_MNV2_IMAGE).
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

/* Read @p path and prepare it as a model input of h x w x c floats (HWC) standardised with
 * @p mean / @p std (@p n_stats values, see mnv2_fit_image()). With libmnv2-image (HAVE_MNV2_IMAGE)
 * JPEG and PNG files get the evaluation transform of training on image folders (shorter side
 * resized to round(h * 256 / 224), antialiased, then the centre h x w); PGM / PPM (and PNG without
 * libmnv2-image) are fitted by mnv2_fit_image(). 0, or -1 with a message in @p err. */
int ex_image_prepare(const char *path, uint32_t h, uint32_t w, uint32_t c, const float *mean, const float *std,
                     uint32_t n_stats, float *out, char *err, size_t err_size);
/* The image files (.jpg .jpeg .jpe .png .pgm .ppm, any case) directly in @p dir, sorted, as a
 * malloc'ed array of malloc'ed paths; NULL with errno on failure. */
char **ex_list_images(const char *dir, size_t *n);

#endif
