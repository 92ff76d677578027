/* SPDX-License-Identifier: BSD-2-Clause */
/* Write a synthetic image folder for mnv2-train: DIR/train/<class>/ and DIR/val/<class>/ with
 * JPEG (every third image PNG) photos-like images of random sizes around SIDE, whose class is
 * the tint of a textured pattern (learnable).
 *   make_image_folder DIR CLASSES TRAIN_PER_CLASS VAL_PER_CLASS SIDE */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "writers.h"

static uint64_t state = 12345;
static uint32_t rnd(uint32_t n)
{
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(state >> 33) % n;
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: make_image_folder DIR CLASSES TRAIN_PER_CLASS VAL_PER_CLASS SIDE\n");
        return 2;
    }
    const char *dir = argv[1];
    int classes = atoi(argv[2]), counts[2] = {atoi(argv[3]), atoi(argv[4])}, side = atoi(argv[5]);
    const char *split[2] = {"train", "val"};
    char p[4096];
    mkdir(dir, 0755);
    for (int s = 0; s < 2; s++) {
        snprintf(p, sizeof p, "%s/%s", dir, split[s]);
        mkdir(p, 0755);
        for (int k = 0; k < classes; k++) {
            snprintf(p, sizeof p, "%s/%s/class%02d", dir, split[s], k);
            mkdir(p, 0755);
            for (int i = 0; i < counts[s]; i++) {
                uint32_t h = (uint32_t)side * (75 + rnd(50)) / 100, w = (uint32_t)side * (75 + rnd(50)) / 100;
                uint8_t *px = malloc((size_t)h * w * 3);
                uint32_t seed = rnd(1000);
                for (uint32_t y = 0; y < h; y++)
                    for (uint32_t x = 0; x < w; x++)
                        for (uint32_t c = 0; c < 3; c++)
                            px[((size_t)y * w + x) * 3 + c] =
                                (uint8_t)(pattern(y, x, c, h, w, seed) / 3 + ((uint32_t)k % 3 == c ? 150 : 40) +
                                          (k / 3 % 2 ? (x / 8 % 2) * 20 : 0));
                int png = i % 3 == 2;
                snprintf(p, sizeof p, "%s/%s/class%02d/img%05d.%s", dir, split[s], k, i, png ? "png" : "jpg");
                int rc;
                if (png) {
                    FILE *f = fopen(p, "wb");
                    png_structp pg = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
                    png_infop info = png_create_info_struct(pg);
                    png_init_io(pg, f);
                    png_set_IHDR(pg, info, w, h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
                    png_write_info(pg, info);
                    for (uint32_t y = 0; y < h; y++)
                        png_write_row(pg, px + (size_t)y * w * 3);
                    png_write_end(pg, NULL);
                    png_destroy_write_struct(&pg, &info);
                    rc = fclose(f);
                } else {
                    rc = write_jpeg_pixels(p, h, w, 3, px, i % 5 == 0, 90);
                }
                free(px);
                if (rc != 0) {
                    fprintf(stderr, "make_image_folder: cannot write %s\n", p);
                    return 1;
                }
            }
        }
    }
    return 0;
}
