/*
 * mnv2-infer: classify images with a trained model.
 *   mnv2-infer --model FILE [--top K] [--bench N] [--threads N] IMAGE...
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common.h"
#include "image.h"

#ifdef HAVE_PNG
#define FORMATS "PGM / PPM / PNG"
#else
#define FORMATS "PGM / PPM; this build reads no PNG"
#endif

static const char help[] =
    "usage: mnv2-infer --model FILE [options] [--] IMAGE...\n"
    "Print the most likely classes of each image (" FORMATS ").\n"
    "\n"
    "Options:\n"
    "  --model FILE   a model file written by mnv2-train\n"
    "  --top K        how many classes to print (5)\n"
    "  --bench N      run N inferences of each image and print the median latency\n"
    "  --threads N    worker threads (0 = all cores, the default)\n"
    "  -h, --help     print this help and exit\n"
    "  -V, --version  print the version and exit\n"
    "\n"
    "Each image is resized and standardised as the model file says, then one line per image\n"
    "gives its top classes with their probabilities.\n";

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Softmax of @p n logits into @p prob. */
static void softmax(const float *logits, uint32_t n, double *prob)
{
    double max = logits[0], sum = 0;
    for (uint32_t i = 1; i < n; i++)
        max = logits[i] > max ? logits[i] : max;
    for (uint32_t i = 0; i < n; i++)
        sum += prob[i] = exp(logits[i] - max);
    for (uint32_t i = 0; i < n; i++)
        prob[i] /= sum;
}

static double bench(mnv2_model *model, const float *x, size_t n_x, float *logits, uint32_t classes, uint32_t runs)
{
    double *ms = malloc(runs * sizeof *ms);
    if (!ms)
        ex_die("out of memory");
    for (uint32_t r = 0; r < runs; r++) {
        double t0 = ex_now();
        ex_check(mnv2_forward(model, x, n_x, 1, MNV2_MODE_INFER, logits, classes), "inference");
        ms[r] = 1e3 * (ex_now() - t0);
    }
    qsort(ms, runs, sizeof *ms, cmp_double);
    double median = runs % 2 ? ms[runs / 2] : 0.5 * (ms[runs / 2 - 1] + ms[runs / 2]);
    free(ms);
    return median;
}

int main(int argc, char **argv)
{
    cli_begin("mnv2-infer", help);
    const char *path = NULL, *v;
    uint32_t top = 5, runs = 0, threads = 0;
    char **images = calloc((size_t)argc, sizeof *images);
    int n_images = 0;
    for (int i = 1; i < argc; i++) {
        int kind = cli_arg(argc, argv, &i);
        if (kind == CLI_SKIP) {
            continue;
        } else if (kind == CLI_OPERAND) {
            images[n_images++] = argv[i];
        } else if (ex_opt(argc, argv, &i, "--model", &v)) {
            path = v;
        } else if (ex_opt(argc, argv, &i, "--top", &v)) {
            top = ex_parse_u32("--top", v, 1, 65536);
        } else if (ex_opt(argc, argv, &i, "--bench", &v)) {
            runs = ex_parse_u32("--bench", v, 1, 1000000);
        } else if (ex_opt(argc, argv, &i, "--threads", &v)) {
            threads = ex_parse_u32("--threads", v, 0, 4096);
        } else {
            cli_unknown(argv[i]);
        }
    }
    if (!path)
        cli_usage_error("no model given: use --model FILE");
    if (!n_images)
        cli_usage_error("no image given");

    mnv2_model *model;
    mnv2_file_info *info;
    ex_model_load(path, 1, (int32_t)threads, &model, &info);
    ex_norm norm;
    ex_check(mnv2_model_get_normalization(model, norm.mean, norm.std, EX_MAX_STATS, &norm.n), "%s", path);
    int64_t h, w, c, classes;
    ex_check(mnv2_model_get_int(model, MNV2_KEY_INPUT_HEIGHT, &h), "%s", path);
    ex_check(mnv2_model_get_int(model, MNV2_KEY_INPUT_WIDTH, &w), "%s", path);
    ex_check(mnv2_model_get_int(model, MNV2_KEY_INPUT_CHANNELS, &c), "%s", path);
    ex_check(mnv2_model_get_int(model, MNV2_KEY_CLASSES, &classes), "%s", path);
    const char *const *names;
    uint32_t n_names;
    ex_check(mnv2_file_info_class_names(info, &names, &n_names), "%s", path);
    if (!norm.n)
        fprintf(stderr, "%s: warning: %s stores no standardisation; using pixel / 255\n", ex_prog(), path);

    size_t n_x = (size_t)(h * w * c);
    float *x = malloc(n_x * sizeof *x), *logits = malloc((size_t)classes * sizeof *logits);
    double *prob = malloc((size_t)classes * sizeof *prob);
    if (!x || !logits || !prob)
        ex_die("out of memory");
    top = top < classes ? top : (uint32_t)classes;
    for (int k = 0; k < n_images; k++) {
        ex_image img;
        char err[256];
        if (ex_image_read(images[k], &img, err, sizeof err) != 0)
            ex_die("%s: %s", images[k], err);
        ex_check(mnv2_fit_image(img.pixels, img.height, img.width, img.channels, (uint32_t)h, (uint32_t)w,
                                (uint32_t)c, norm.mean, norm.std, norm.n, x, n_x),
                 "%s", images[k]);
        ex_image_free(&img);
        ex_check(mnv2_forward(model, x, n_x, 1, MNV2_MODE_INFER, logits, (size_t)classes), "%s", images[k]);
        softmax(logits, (uint32_t)classes, prob);
        printf("%s:", images[k]);
        for (uint32_t r = 0; r < top; r++) { /* selection of the r-th largest; ties to the lower class */
            uint32_t best = 0;
            while (prob[best] < 0)
                best++;
            for (uint32_t i = best + 1; i < classes; i++)
                best = prob[i] > prob[best] ? i : best;
            if (best < n_names)
                printf("%s %u. %s %.1f%%", r ? " " : "", r + 1, names[best], 100 * prob[best]);
            else
                printf("%s %u. class %u %.1f%%", r ? " " : "", r + 1, best, 100 * prob[best]);
            prob[best] = -1;
        }
        printf("\n");
        if (runs)
            printf("%s: median latency %.3f ms over %u runs\n", images[k],
                   bench(model, x, n_x, logits, (uint32_t)classes, runs), runs);
    }
    free(x), free(logits), free(prob), free(images);
    mnv2_file_info_destroy(info);
    mnv2_model_destroy(model);
    return 0;
}
