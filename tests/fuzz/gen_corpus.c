/* SPDX-License-Identifier: BSD-2-Clause */
/* Writes the seed corpus of the fuzz targets (tests/fuzz/corpus/<target>/): small valid inputs of
 * every reader, and a few near misses. Run by hand after a format change:
 *   build/tests/fuzz/gen_corpus tests/fuzz/corpus */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>
#ifdef HAVE_PNG
#include <png.h>
#endif

#include "mnv2.h"
#include "mnv2_data.h"

static const char *root;

static void put(const char *target, const char *name, const void *data, size_t size)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", root, target);
    mkdir(root, 0755);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/%s/%s", root, target, name);
    FILE *f = fopen(p, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", p);
        exit(1);
    }
}

static mnv2_model *tiny(void)
{
    mnv2_config *c = NULL;
    const int32_t rows[][4] = {{1, 8, 1, 1}, {2, 8, 1, 2}};
    mnv2_model *m = NULL;
    if (mnv2_config_create(MNV2_PRESET_REDUCED, &c) || mnv2_config_set_blocks(c, &rows[0][0], 2) ||
        mnv2_config_set_int(c, MNV2_KEY_INPUT_HEIGHT, 4) || mnv2_config_set_int(c, MNV2_KEY_INPUT_WIDTH, 4) ||
        mnv2_config_set_int(c, MNV2_KEY_INPUT_CHANNELS, 1) || mnv2_config_set_int(c, MNV2_KEY_STEM_CHANNELS, 8) ||
        mnv2_config_set_int(c, MNV2_KEY_HEAD_CHANNELS, 8) || mnv2_config_set_int(c, MNV2_KEY_CLASSES, 2) ||
        mnv2_config_set_int(c, MNV2_KEY_MAX_BATCH, 1) || mnv2_model_create(c, &m)) {
        fprintf(stderr, "cannot create the model: %s\n", mnv2_last_error());
        exit(1);
    }
    mnv2_config_destroy(c);
    return m;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen_corpus DIR\n");
        return 2;
    }
    root = argv[1];
    /* Model files and checkpoints: with and without class names and standardisation. */
    mnv2_model *m = tiny();
    void *d;
    size_t n;
    const char *names[] = {"cat", "dog"};
    mnv2_model_save_mem(m, NULL, 0, &d, &n);
    put("model_load", "plain.mnv2", d, n);
    mnv2_buffer_free(d);
    const float mean = 0.5f, sd = 0.25f;
    mnv2_model_set_normalization(m, &mean, &sd, 1);
    mnv2_model_save_mem(m, names, 2, &d, &n);
    put("model_load", "names_norm.mnv2", d, n);
    mnv2_buffer_free(d);
    const char blob[] = "epoch log";
    for (int fix = 0; fix < 2; fix++) {
        const char *t = fix ? "checkpoint_fixcrc" : "checkpoint_load";
        mnv2_checkpoint_save_mem(m, NULL, NULL, 0, NULL, 0, &d, &n);
        put(t, "plain.ckpt", d, n);
        mnv2_buffer_free(d);
        mnv2_checkpoint_save_mem(m, NULL, blob, sizeof blob, names, 2, &d, &n);
        put(t, "blob_names.ckpt", d, n);
        mnv2_buffer_free(d);
    }
    mnv2_model_destroy(m);
    /* CIFAR-10 (label + 3072 pixels) and CIFAR-100 (coarse + fine label + 3072 pixels). */
    static uint8_t rec[3 * 3074];
    for (size_t i = 0; i < sizeof rec; i++)
        rec[i] = (uint8_t)(i * 37);
    rec[0] = 3, rec[3073] = 7;
    put("cifar", "cifar10_2.bin", rec, 2 * 3073);
    rec[0] = 1, rec[1] = 42;
    put("cifar", "cifar100_1.bin", rec, 3074);
    put("cifar", "partial.bin", rec, 100);
    /* IDX: first byte = where the images end, then images (3 of 4x5) and labels (3). */
    uint8_t idx[1 + 16 + 60 + 8 + 3] = {0};
    const uint8_t img_hdr[16] = {0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5};
    const uint8_t lab_hdr[8] = {0, 0, 8, 1, 0, 0, 0, 3};
    memcpy(idx + 1, img_hdr, 16);
    for (int i = 0; i < 60; i++)
        idx[17 + i] = (uint8_t)(i * 11);
    memcpy(idx + 77, lab_hdr, 8);
    idx[85] = 1, idx[86] = 0, idx[87] = 9;
    idx[0] = (uint8_t)(76 * 255 / 87 + 1); /* the cut at 76 bytes of the 87 after it */
    put("idx", "three.idx", idx, sizeof idx);
    /* gzip: a small IDX file, compressed. */
    uint8_t gz[256];
    z_stream z;
    memset(&z, 0, sizeof z);
    deflateInit2(&z, 9, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY);
    z.next_in = idx + 1, z.avail_in = 76, z.next_out = gz, z.avail_out = sizeof gz;
    deflate(&z, Z_FINISH);
    put("gz", "images.idx.gz", gz, sizeof gz - z.avail_out);
    deflateEnd(&z);
    /* Images: PGM and PPM (binary and text), and PNG when libpng is there. */
    const char pgm[] = "P5\n# c\n3 2\n255\n\x01\x02\x03\x04\x05\x06";
    put("image", "grey.pgm", pgm, sizeof pgm - 1);
    const char ppm[] = "P3\n2 1\n15\n1 2 3 4 5 6\n";
    put("image", "rgb.ppm", ppm, sizeof ppm - 1);
    const char p6[] = "P6 1 1 255 abc";
    put("image", "one.ppm", p6, sizeof p6 - 1);
#ifdef HAVE_PNG
    png_image pi;
    memset(&pi, 0, sizeof pi);
    pi.version = PNG_IMAGE_VERSION, pi.width = 3, pi.height = 2, pi.format = PNG_FORMAT_RGB;
    uint8_t px[18], png[1024];
    for (int i = 0; i < 18; i++)
        px[i] = (uint8_t)(i * 13);
    png_alloc_size_t pn = sizeof png;
    if (png_image_write_to_memory(&pi, png, &pn, 0, px, 0, NULL))
        put("image", "rgb.png", png, (size_t)pn);
#endif
    return 0;
}
