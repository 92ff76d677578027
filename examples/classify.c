/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * classify: the most likely class of one image, with a model file written by train_cifar or
 * mnv2-train. The library fits the image to the model's input (channels, size) and standardises
 * it as the model file says; this program only reads the image (binary PGM or PPM).
 *
 *   cc classify.c -o classify $(pkg-config --cflags --libs mnv2)
 *   ./classify MODEL.mnv2 IMAGE.ppm
 */
#include <mnv2.h>
#include <mnv2_data.h>
#include <stdio.h>
#include <stdlib.h>

static void check(int32_t st, const char *what)
{
    if (st != MNV2_OK) {
        fprintf(stderr, "classify: %s: %s (%s)\n", what, mnv2_last_error(), mnv2_status_string(st));
        exit(1);
    }
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: classify MODEL.mnv2 IMAGE.ppm|IMAGE.pgm\n");
        return 2;
    }
    /* The image: "P5" (grey) or "P6" (RGB), width, height, 255, then the pixels (HWC). */
    FILE *f = fopen(argv[2], "rb");
    char kind;
    unsigned w, h, maxval;
    if (!f || fscanf(f, "P%c %u %u %u", &kind, &w, &h, &maxval) != 4 || (kind != '5' && kind != '6') ||
        maxval != 255 || w == 0 || h == 0 || w > 16384 || h > 16384 || fgetc(f) == EOF) {
        fprintf(stderr, "classify: %s: not a binary 8-bit PGM / PPM image\n", argv[2]);
        return 1;
    }
    uint32_t c = kind == '6' ? 3 : 1;
    size_t n_pixels = (size_t)w * h * c;
    uint8_t *pixels = malloc(n_pixels);
    if (!pixels || fread(pixels, 1, n_pixels, f) != n_pixels) {
        fprintf(stderr, "classify: %s: truncated image\n", argv[2]);
        return 1;
    }
    fclose(f);

    /* The model, for inference on one image at a time, with its class names. */
    mnv2_load_options lo;
    mnv2_load_options_default(&lo);
    lo.max_batch = 1;
    lo.trainable = 0;
    mnv2_model *model;
    mnv2_file_info *info;
    check(mnv2_model_load(argv[1], &lo, &model, &info), argv[1]);
    int64_t in_h, in_w, in_c, classes;
    check(mnv2_model_get_int(model, MNV2_KEY_INPUT_HEIGHT, &in_h), "input height");
    check(mnv2_model_get_int(model, MNV2_KEY_INPUT_WIDTH, &in_w), "input width");
    check(mnv2_model_get_int(model, MNV2_KEY_INPUT_CHANNELS, &in_c), "input channels");
    check(mnv2_model_get_int(model, MNV2_KEY_CLASSES, &classes), "classes");
    float mean[64], std[64];
    uint32_t n_stats;
    check(mnv2_model_get_normalization(model, mean, std, 64, &n_stats), "standardisation");

    /* Fit the image to the input, standardise it, and run the network once. */
    size_t n_x = (size_t)(in_h * in_w * in_c);
    float *x = malloc(n_x * sizeof *x), *logits = malloc((size_t)classes * sizeof *logits);
    if (!x || !logits) {
        fprintf(stderr, "classify: out of memory\n");
        return 1;
    }
    check(mnv2_fit_image(pixels, h, w, c, (uint32_t)in_h, (uint32_t)in_w, (uint32_t)in_c, mean, std, n_stats,
                         x, n_x), argv[2]);
    check(mnv2_forward(model, x, n_x, 1, MNV2_MODE_INFER, logits, (size_t)classes), "inference");

    int64_t best = 0;
    for (int64_t k = 1; k < classes; k++)
        best = logits[k] > logits[best] ? k : best;
    const char *const *names;
    uint32_t n_names;
    check(mnv2_file_info_class_names(info, &names, &n_names), "class names");
    if (best < (int64_t)n_names)
        printf("%s: %s (class %lld)\n", argv[2], names[best], (long long)best);
    else
        printf("%s: class %lld\n", argv[2], (long long)best);

    free(pixels), free(x), free(logits);
    mnv2_file_info_destroy(info);
    mnv2_model_destroy(model);
    return 0;
}
