/* SPDX-License-Identifier: BSD-2-Clause */
/* Writing test images with libjpeg and libpng: every format variant the decoders must read.
 * Pixels follow pattern() so that tests can check what comes back. */
#ifndef MNV2_TEST_IMAGE_WRITERS_H
#define MNV2_TEST_IMAGE_WRITERS_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jpeglib.h>
#include <png.h>

/* A smooth pattern (JPEG-friendly) in 0 .. 255 for pixel (y, x), channel c, with a seed. */
static inline uint8_t pattern(uint32_t y, uint32_t x, uint32_t c, uint32_t h, uint32_t w, uint32_t seed)
{
    uint32_t v = (y * 200 / h + x * 55 / w + c * 40 + seed * 17) % 256;
    return (uint8_t)v;
}

/* JPEG of h x w x comps pixels (HWC; comps 1 grey, 3 RGB, 4 CMYK as given, with libjpeg's Adobe marker). */
static inline int write_jpeg_pixels(const char *path, uint32_t h, uint32_t w, int comps, const uint8_t *px,
                                    int progressive, int quality)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    struct jpeg_compress_struct ci;
    struct jpeg_error_mgr jerr;
    ci.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&ci);
    jpeg_stdio_dest(&ci, f);
    ci.image_width = w, ci.image_height = h, ci.input_components = comps;
    ci.in_color_space = comps == 1 ? JCS_GRAYSCALE : comps == 3 ? JCS_RGB : JCS_CMYK;
    jpeg_set_defaults(&ci);
    jpeg_set_quality(&ci, quality, TRUE);
    if (progressive)
        jpeg_simple_progression(&ci);
    jpeg_start_compress(&ci, TRUE);
    while (ci.next_scanline < h) {
        JSAMPROW r = (JSAMPROW)(px + (size_t)ci.next_scanline * w * comps);
        jpeg_write_scanlines(&ci, &r, 1);
    }
    jpeg_finish_compress(&ci);
    jpeg_destroy_compress(&ci);
    return fclose(f);
}

/* JPEG of the pattern: comps 1 (grey), 3 (RGB) or 4 (CMYK with an Adobe marker:
 * C, M, Y = the RGB pattern, K = 255: decoded as Adobe inverted CMYK, R = C * K / 255 = pattern). */
static inline int write_jpeg(const char *path, uint32_t h, uint32_t w, int comps, int progressive, uint32_t seed,
                             int quality)
{
    uint8_t *px = malloc((size_t)h * w * comps);
    if (!px)
        return -1;
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            for (int c = 0; c < comps; c++)
                px[((size_t)y * w + x) * comps + c] = comps == 4 && c == 3 ? 255 : pattern(y, x, (uint32_t)c, h, w, seed);
    int rc = write_jpeg_pixels(path, h, w, comps, px, progressive, quality);
    free(px);
    return rc;
}

/* PNG of h x w: color_type PNG_COLOR_TYPE_*, depth 1, 8 or 16 (1 only for grey; palette: 8, a
 * 256-entry grey palette), interlaced or not. Alpha is 128 everywhere. The 16-bit samples are
 * value * 257 + 3 so that scaling down is exercised. */
static inline int write_png(const char *path, uint32_t h, uint32_t w, int color_type, int depth, int interlace,
                            uint32_t seed)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png))) {
        fclose(f);
        return -1;
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, w, h, depth, color_type, interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (color_type == PNG_COLOR_TYPE_PALETTE) {
        png_color pal[256];
        for (int i = 0; i < 256; i++)
            pal[i].red = pal[i].green = pal[i].blue = (png_byte)i;
        png_set_PLTE(png, info, pal, 256);
    }
    png_write_info(png, info);
    int chans = color_type == PNG_COLOR_TYPE_GRAY || color_type == PNG_COLOR_TYPE_PALETTE ? 1
              : color_type == PNG_COLOR_TYPE_GRAY_ALPHA ? 2 : color_type == PNG_COLOR_TYPE_RGB ? 3 : 4;
    int colour = color_type & PNG_COLOR_MASK_COLOR && color_type != PNG_COLOR_TYPE_PALETTE;
    size_t bpr = ((size_t)w * chans * depth + 7) / 8;
    png_bytep *rows = malloc(h * sizeof *rows);
    for (uint32_t y = 0; y < h; y++) {
        rows[y] = calloc(1, bpr);
        for (uint32_t x = 0; x < w; x++)
            for (int c = 0; c < chans; c++) {
                int alpha = (colour && c == 3) || (!colour && c == 1);
                uint32_t v = alpha ? 128 : pattern(y, x, colour ? (uint32_t)c : 0, h, w, seed);
                if (depth == 16) {
                    uint32_t v16 = v * 257 + (v < 255 ? 3 : 0);
                    rows[y][((size_t)x * chans + c) * 2] = (png_byte)(v16 >> 8);
                    rows[y][((size_t)x * chans + c) * 2 + 1] = (png_byte)v16;
                } else if (depth == 1) {
                    if (v >= 128)
                        rows[y][x / 8] |= (png_byte)(0x80 >> (x % 8));
                } else {
                    rows[y][(size_t)x * chans + c] = (png_byte)v;
                }
            }
    }
    png_write_image(png, rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    for (uint32_t y = 0; y < h; y++)
        free(rows[y]);
    free(rows);
    return fclose(f);
}

static inline int write_bytes(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t k = fwrite(data, 1, n, f);
    return fclose(f) == 0 && k == n ? 0 : -1;
}

/* Truncate a file to @p keep bytes (a copy of its first bytes under @p dst). */
static inline int copy_truncated(const char *src, const char *dst, double fraction)
{
    FILE *f = fopen(src, "rb");
    if (!f)
        return -1;
    static uint8_t buf[1 << 22];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    return write_bytes(dst, buf, (size_t)(n * fraction));
}
#endif
