/*
 * libmnv2-image: JPEG (libjpeg-turbo) and PNG (libpng) decoding from memory into 8-bit grey / RGB.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>

#include "internal.h"

#define MAX_FILE ((size_t)1 << 30)

static int32_t check_size(uint32_t h, uint32_t w, const char *kind)
{
    if (!h || !w || h > MNV2_IMAGE_MAX_SIDE || w > MNV2_IMAGE_MAX_SIDE ||
        (uint64_t)h * w > MNV2_IMAGE_MAX_PIXELS)
        return mi_fail(MNV2_ERR_FORMAT, "%s of %ux%u pixels: out of range (sides 1 .. %u, at most %u pixels)", kind,
                       (unsigned)w, (unsigned)h, MNV2_IMAGE_MAX_SIDE, MNV2_IMAGE_MAX_PIXELS);
    return MNV2_OK;
}

/* ---- JPEG ---- */
typedef struct jerr {
    struct jpeg_error_mgr mgr;
    jmp_buf jump;
    int truncated;
    char text[JMSG_LENGTH_MAX];
} jerr;

static void j_error_exit(j_common_ptr ci)
{
    jerr *e = (jerr *)ci->err;
    ci->err->format_message(ci, e->text);
    longjmp(e->jump, 1);
}

/* Warnings pass (extraneous bytes between markers and the like), except data that ends before the
 * last block: at the end of the file or at a marker. Such a file is an error, as PIL has it for
 * the first; stopping at once also bounds the work to the data there is (libjpeg would otherwise
 * decode a huge header's every block from nothing, as grey). */
static void j_emit(j_common_ptr ci, int level)
{
    jerr *e = (jerr *)ci->err;
    if (level < 0 && (ci->err->msg_code == JWRN_JPEG_EOF || ci->err->msg_code == JWRN_HIT_MARKER)) {
        e->truncated = 1;
        ci->err->format_message(ci, e->text);
        longjmp(e->jump, 1);
    }
}

/* Bytes of DCT coefficients libjpeg keeps for a multi-scan (progressive) image: 64 coefficients of
 * 2 bytes per block of every component. Valid after jpeg_read_header (which sizes the components). */
static uint64_t jpeg_coefficient_bytes(const struct jpeg_decompress_struct *ci)
{
    if (!jpeg_has_multiple_scans((j_decompress_ptr)ci))
        return 0;
    uint64_t n = 0;
    for (int i = 0; i < ci->num_components; i++) {
        const jpeg_component_info *k = &ci->comp_info[i];
        /* libjpeg rounds each component up to whole MCUs (v_samp_factor x h_samp_factor blocks) */
        uint64_t bw = (k->width_in_blocks + k->h_samp_factor - 1) / k->h_samp_factor * k->h_samp_factor;
        uint64_t bh = (k->height_in_blocks + k->v_samp_factor - 1) / k->v_samp_factor * k->v_samp_factor;
        n += bw * bh * 64 * sizeof(JCOEF);
    }
    return n;
}

static int32_t decode_jpeg(const uint8_t *d, size_t size, uint8_t **out, uint32_t *oh, uint32_t *ow, uint32_t *oc)
{
    struct jpeg_decompress_struct ci;
    jerr e;
    memset(&e, 0, sizeof e);
    uint8_t *volatile px = NULL;
    volatile JSAMPROW row = NULL;
    ci.err = jpeg_std_error(&e.mgr);
    e.mgr.error_exit = j_error_exit;
    e.mgr.emit_message = j_emit;
    if (setjmp(e.jump)) {
        jpeg_destroy_decompress(&ci);
        free(px);
        free(row);
        return mi_fail(MNV2_ERR_FORMAT, e.truncated ? "JPEG: truncated (%s)" : "JPEG: %s", e.text);
    }
    jpeg_create_decompress(&ci);
    /* A backstop for the check below: libjpeg fails rather than take more (its message is less clear). */
    ci.mem->max_memory_to_use = MNV2_IMAGE_MAX_DECODER_MEMORY + ((size_t)1 << 24);
    jpeg_mem_src(&ci, d, (unsigned long)size);
    jpeg_read_header(&ci, TRUE);
    /* Sizes from the header, before jpeg_start_decompress allocates (a progressive file's
     * coefficients for the whole image) or decodes anything. */
    int32_t rc = check_size(ci.image_height, ci.image_width, "JPEG");
    uint64_t coefficients = rc == MNV2_OK ? jpeg_coefficient_bytes(&ci) : 0;
    if (rc == MNV2_OK && coefficients > MNV2_IMAGE_MAX_DECODER_MEMORY)
        rc = mi_fail(MNV2_ERR_FORMAT,
                     "JPEG: a progressive image of %ux%u pixels needs %llu MiB of coefficient memory, over "
                     "the decoder's limit of %u MiB",
                     (unsigned)ci.image_width, (unsigned)ci.image_height,
                     (unsigned long long)(coefficients >> 20), MNV2_IMAGE_MAX_DECODER_MEMORY >> 20);
    if (rc != MNV2_OK) {
        jpeg_destroy_decompress(&ci);
        return rc;
    }
    int cmyk = ci.jpeg_color_space == JCS_CMYK || ci.jpeg_color_space == JCS_YCCK;
    int grey = ci.jpeg_color_space == JCS_GRAYSCALE;
    ci.out_color_space = cmyk ? JCS_CMYK : grey ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_start_decompress(&ci);
    uint32_t h = ci.output_height, w = ci.output_width, c = grey ? 1 : 3; /* the header's: no scaling */
    px = malloc((size_t)h * w * c);
    if (cmyk)
        row = malloc((size_t)w * 4);
    if (!px || (cmyk && !row)) {
        jpeg_destroy_decompress(&ci);
        free(px);
        free(row);
        return mi_fail(MNV2_ERR_OUT_OF_MEMORY, "JPEG: out of memory for %ux%u pixels", (unsigned)w, (unsigned)h);
    }
    int inverted = ci.saw_Adobe_marker; /* Adobe writes CMYK inverted */
    while (ci.output_scanline < h) {
        uint8_t *dst = px + (size_t)ci.output_scanline * w * c;
        JSAMPROW r = cmyk ? row : dst;
        jpeg_read_scanlines(&ci, &r, 1);
        if (cmyk)
            for (uint32_t x = 0; x < w; x++) {
                unsigned k = row[4 * x + 3];
                for (int ch = 0; ch < 3; ch++) {
                    unsigned v = row[4 * x + ch];
                    dst[3 * x + ch] = inverted ? (uint8_t)((v * k + 127) / 255)
                                               : (uint8_t)(((255 - v) * (255 - k) + 127) / 255);
                }
            }
    }
    jpeg_finish_decompress(&ci);
    jpeg_destroy_decompress(&ci);
    free(row);
    *out = px, *oh = h, *ow = w, *oc = c;
    return MNV2_OK;
}

/* ---- PNG ---- */
typedef struct pread {
    const uint8_t *p;
    size_t left;
    char text[256];
} pread;

static void p_read(png_structp png, png_bytep dst, size_t n)
{
    pread *r = png_get_io_ptr(png);
    if (n > r->left)
        png_error(png, "truncated file");
    memcpy(dst, r->p, n);
    r->p += n, r->left -= n;
}

static void p_error(png_structp png, png_const_charp msg)
{
    pread *r = png_get_error_ptr(png);
    snprintf(r->text, sizeof r->text, "%s", msg);
    png_longjmp(png, 1);
}

static void p_warning(png_structp png, png_const_charp msg)
{
    (void)png, (void)msg;
}

static int32_t decode_png(const uint8_t *d, size_t size, uint8_t **out, uint32_t *oh, uint32_t *ow, uint32_t *oc)
{
    pread r = {d, size, ""};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &r, p_error, p_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        return mi_fail(MNV2_ERR_OUT_OF_MEMORY, "PNG: out of memory");
    }
    uint8_t *volatile px = NULL;
    png_bytep *volatile rows = NULL;
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        free(px);
        free(rows);
        return mi_fail(MNV2_ERR_FORMAT, "PNG: %s", r.text);
    }
    png_set_read_fn(png, &r, p_read);
    png_set_user_limits(png, MNV2_IMAGE_MAX_SIDE, MNV2_IMAGE_MAX_SIDE);
    png_read_info(png, info);
    uint32_t w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    int type = png_get_color_type(png, info);
    int32_t rc = check_size(h, w, "PNG");
    if (rc != MNV2_OK) {
        png_destroy_read_struct(&png, &info, NULL);
        return rc;
    }
    if (type == PNG_COLOR_TYPE_PALETTE)
        png_set_palette_to_rgb(png);
    if (type == PNG_COLOR_TYPE_GRAY && png_get_bit_depth(png, info) < 8)
        png_set_expand_gray_1_2_4_to_8(png);
    png_set_scale_16(png);
    if (type & PNG_COLOR_MASK_ALPHA)
        png_set_strip_alpha(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    uint32_t c = png_get_channels(png, info);
    if ((c != 1 && c != 3) || png_get_bit_depth(png, info) != 8) /* a palette with tRNS: strip alpha too */
        png_error(png, "unexpected pixel layout after conversion");
    px = malloc((size_t)h * w * c);
    rows = malloc(h * sizeof *rows);
    if (!px || !rows)
        png_error(png, "out of memory");
    for (uint32_t y = 0; y < h; y++)
        rows[y] = px + (size_t)y * w * c;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    png_destroy_read_struct(&png, &info, NULL);
    free(rows);
    *out = px, *oh = h, *ow = w, *oc = c;
    return MNV2_OK;
}

int32_t mnv2_image_decode(const void *data, size_t size, uint8_t **pixels, uint32_t *height, uint32_t *width,
                          uint32_t *channels)
{
    mi_clear_error();
    if (!data || !pixels || !height || !width || !channels)
        return mi_fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_image_decode: NULL argument");
    const uint8_t *d = data;
    if (size >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF)
        return decode_jpeg(d, size, pixels, height, width, channels);
    if (size >= 8 && memcmp(d, "\x89PNG\r\n\x1a\n", 8) == 0)
        return decode_png(d, size, pixels, height, width, channels);
    return mi_fail(MNV2_ERR_FORMAT, "not a JPEG or PNG file");
}

int32_t mnv2_image_read(const char *path, uint8_t **pixels, uint32_t *height, uint32_t *width, uint32_t *channels)
{
    mi_clear_error();
    if (!path || !pixels || !height || !width || !channels)
        return mi_fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_image_read: NULL argument");
    FILE *f = fopen(path, "rb");
    if (!f)
        return mi_fail(MNV2_ERR_IO, "%s: %s", path, strerror(errno));
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 1 << 16;
            uint8_t *nb = nc <= MAX_FILE + 1 ? realloc(buf, nc) : NULL;
            if (!nb) {
                free(buf);
                fclose(f);
                return mi_fail(nc > MAX_FILE + 1 ? MNV2_ERR_FORMAT : MNV2_ERR_OUT_OF_MEMORY,
                               "%s: larger than 1 GiB or out of memory", path);
            }
            buf = nb, cap = nc;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return mi_fail(MNV2_ERR_IO, "%s: read error", path);
    }
    int32_t rc = mnv2_image_decode(buf, n, pixels, height, width, channels);
    free(buf);
    if (rc != MNV2_OK) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", mnv2_image_last_error());
        return mi_fail(rc, "%s: %s", path, msg);
    }
    return MNV2_OK;
}

void mnv2_image_free(uint8_t *pixels)
{
    free(pixels);
}
