/*
 * mnv2-infer: classify images with a trained model.
 *   mnv2-infer --model FILE [--top K] [--batch N] [--labels FILE] [--bench N] [--threads N] IMAGE|DIR...
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "common.h"
#include "image.h"

#if defined(HAVE_MNV2_IMAGE)
#define FORMATS "PGM / PPM / PNG / JPEG; photos are resized and centre-cropped"
#elif defined(HAVE_PNG)
#define FORMATS "PGM / PPM / PNG"
#else
#define FORMATS "PGM / PPM; this build reads no PNG"
#endif

static const char help[] =
    "usage: mnv2-infer --model FILE [options] [--] IMAGE|DIR...\n"
    "Print the most likely classes of each image (" FORMATS "; a directory: every image in it).\n"
    "A file that cannot be read is reported and skipped; the exit status is then 1.\n"
    "\n"
    "Options:\n"
    "  --model FILE   a model file written by mnv2-train\n"
    "  --top K        how many classes to print (5)\n"
    "  --batch N      images per forward pass (16)\n"
    "  --labels FILE  class names, one per line (default: the model's; for a 1000-class\n"
    "                 model without names, the installed ImageNet-1k names)\n"
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

/* Class names, one per line, from @p path (exactly @p classes lines); NULL if unreadable. */
static char **read_labels(const char *path, uint32_t classes)
{
    uint8_t *d;
    size_t size;
    if (ex_read_file(path, (size_t)1 << 26, &d, &size) != 0)
        return NULL;
    char **names = calloc(classes, sizeof *names);
    char *text = realloc(d, size + 1), *p = text;
    if (!names || !text)
        ex_die("out of memory");
    text[size] = '\0';
    uint32_t n = 0;
    while (*p && n < classes) {
        char *end = strchr(p, '\n');
        if (end)
            *end = '\0';
        names[n++] = p;
        p = end ? end + 1 : p + strlen(p);
    }
    if (n != classes || *p)
        ex_die("%s: expected %u class names, one per line", path, classes);
    return names;
}

/* Print the top classes of one image. */
static void print_top(const char *file, const float *logits, uint32_t classes, double *prob, uint32_t top,
                      const char *const *names, uint32_t n_names)
{
    softmax(logits, classes, prob);
    printf("%s:", file);
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
}

int main(int argc, char **argv)
{
    cli_begin("mnv2-infer", help);
    const char *path = NULL, *labels = NULL, *v;
    uint32_t top = 5, runs = 0, threads = 0, batch = 16;
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
        } else if (ex_opt(argc, argv, &i, "--batch", &v)) {
            batch = ex_parse_u32("--batch", v, 1, 4096);
        } else if (ex_opt(argc, argv, &i, "--labels", &v)) {
            labels = v;
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

    int failed = 0; /* some file or directory could not be classified: exit status 1 */
    /* Directories expand to the images in them. */
    size_t n_files = 0, cap = 0;
    char **files = NULL;
    for (int k = 0; k < n_images; k++) {
        size_t n = 1;
        char **list = NULL;
        struct stat sb;
        if (stat(images[k], &sb) == 0 && S_ISDIR(sb.st_mode)) {
            if (!(list = ex_list_images(images[k], &n)))
                ex_die("%s: %s", images[k], strerror(errno));
            if (!n) {
                fprintf(stderr, "%s: %s: no image in this directory\n", ex_prog(), images[k]);
                failed = 1;
            }
        }
        if (n_files + n > cap) {
            cap = (n_files + n) * 2;
            if (!(files = realloc(files, cap * sizeof *files)))
                ex_die("out of memory");
        }
        for (size_t j = 0; j < n; j++)
            files[n_files++] = list ? list[j] : ex_concat(images[k], "");
        free(list);
    }
    batch = runs ? 1 : batch;

    mnv2_model *model;
    mnv2_file_info *info;
    ex_model_load(path, batch, (int32_t)threads, &model, &info);
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
    char **label_names = NULL;
    if (labels && !(label_names = read_labels(labels, (uint32_t)classes)))
        ex_die("--labels %s: %s", labels, strerror(errno));
#ifdef MNV2_DATADIR
    if (!labels && !n_names && classes == 1000) {
        const char *dir = getenv("MNV2_DATADIR"); /* the installed data directory, for uninstalled runs */
        char *file = ex_concat(dir && *dir ? dir : MNV2_DATADIR, "/imagenet_classes.txt");
        label_names = read_labels(file, 1000);
        free(file);
    }
#endif
    if (label_names)
        names = (const char *const *)label_names, n_names = (uint32_t)classes;
    if (!norm.n)
        fprintf(stderr, "%s: warning: %s stores no standardisation; using pixel / 255\n", ex_prog(), path);

    size_t n_x = (size_t)(h * w * c);
    float *x = malloc(batch * n_x * sizeof *x), *logits = malloc(batch * (size_t)classes * sizeof *logits);
    double *prob = malloc((size_t)classes * sizeof *prob);
    size_t *slot = malloc(batch * sizeof *slot);
    if (!x || !logits || !prob || !slot)
        ex_die("out of memory");
    top = top < classes ? top : (uint32_t)classes;
    for (size_t k = 0; k < n_files;) {
        /* Prepare up to `batch` readable images, reporting the others, then one forward pass. */
        uint32_t b = 0;
        for (; k < n_files && b < batch; k++) {
            char err[1024];
            if (ex_image_prepare(files[k], (uint32_t)h, (uint32_t)w, (uint32_t)c, norm.mean, norm.std, norm.n,
                                 x + b * n_x, err, sizeof err) != 0) {
                fprintf(stderr, "%s: %s: %s\n", ex_prog(), files[k], err);
                failed = 1;
                continue;
            }
            slot[b++] = k;
        }
        if (!b)
            break;
        ex_check(mnv2_forward(model, x, b * n_x, b, MNV2_MODE_INFER, logits, b * (size_t)classes), "inference");
        for (uint32_t i = 0; i < b; i++)
            print_top(files[slot[i]], logits + i * (size_t)classes, (uint32_t)classes, prob, top, names, n_names);
        if (runs)
            printf("%s: median latency %.3f ms over %u runs\n", files[slot[0]],
                   bench(model, x, n_x, logits, (uint32_t)classes, runs), runs);
        fflush(stdout);
    }
    for (size_t k = 0; k < n_files; k++)
        free(files[k]);
    free(files), free(slot), free(label_names ? label_names[0] : NULL), free(label_names);
    free(x), free(logits), free(prob), free(images);
    mnv2_file_info_destroy(info);
    mnv2_model_destroy(model);
    return failed;
}
