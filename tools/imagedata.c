/*
 * mnv2-train's input pipeline: the library's batch iterator, or libmnv2-image's streaming loader
 * over an image folder (HAVE_MNV2_IMAGE).
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "imagedata.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifdef HAVE_MNV2_IMAGE
#include <mnv2_image.h>
#endif

int image_opts_parse(int argc, char **argv, int *i, image_opts *o)
{
    const char *v, *a = argv[*i];
    if (ex_opt(argc, argv, i, "--val-data", &v)) {
        o->val_data = v;
    } else if (ex_opt(argc, argv, i, "--size", &v)) {
        o->size = ex_parse_u32(a, v, 8, 4096);
    } else if (ex_opt(argc, argv, i, "--decode-threads", &v)) {
        o->workers = ex_parse_u32(a, v, 1, 256);
    } else if (ex_opt(argc, argv, i, "--bad-images", &v)) {
        if (strcmp(v, "skip") && strcmp(v, "fail"))
            ex_die("--bad-images: expected skip or fail, got '%s'", v);
        o->skip_bad = v[0] == 's';
    } else if (ex_opt(argc, argv, i, "--norm", &v)) {
        if (strcmp(v, "imagenet") && strcmp(v, "data"))
            ex_die("--norm: expected imagenet or data, got '%s'", v);
        o->norm = v[0] == 'i' ? 1 : 2;
    } else {
        return 0;
    }
    return 1;
}


static int has_subdir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *e;
    int found = 0;
    struct stat st;
    while (!found && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char *p = malloc(strlen(dir) + strlen(e->d_name) + 2);
        if (!p)
            ex_die("out of memory");
        sprintf(p, "%s/%s", dir, e->d_name);
        found = stat(p, &st) == 0 && S_ISDIR(st.st_mode);
        free(p);
    }
    closedir(d);
    return found;
}

int image_data_is_folder(const char *dir)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/train", dir);
    return has_subdir(p);
}

#ifdef HAVE_MNV2_IMAGE
static void check_img(int32_t rc, const char *what)
{
    if (rc != MNV2_OK)
        ex_die("%s: %s", what, mnv2_image_last_error());
}

void image_data_open(train_data *td, const char *dir, const image_opts *o, uint32_t limit, uint32_t test_limit)
{
    memset(td, 0, sizeof *td);
    char train[4096], val[4096];
    snprintf(train, sizeof train, "%s/train", dir);
    snprintf(val, sizeof val, "%s", o->val_data ? o->val_data : "");
    if (!o->val_data)
        snprintf(val, sizeof val, "%s/val", dir);
    check_img(mnv2_image_folder_open(train, &td->img_train), "the training folder");
    check_img(mnv2_image_folder_open(val, &td->img_val), "the validation folder (--val-data)");
    if (limit)
        check_img(mnv2_image_folder_limit(td->img_train, limit), "--limit");
    if (test_limit)
        check_img(mnv2_image_folder_limit(td->img_val, test_limit), "--test-limit");
    uint32_t vc;
    mnv2_image_folder_info(td->img_train, &td->train_count, &td->classes);
    mnv2_image_folder_info(td->img_val, &td->test_count, &vc);
    if (vc != td->classes)
        ex_die("%s has %u classes, %s %u", train, td->classes, val, vc);
    td->names = malloc(td->classes * sizeof *td->names);
    if (!td->names)
        ex_die("out of memory");
    for (uint32_t i = 0; i < td->classes; i++) {
        const char *tn, *vn;
        mnv2_image_folder_class_name(td->img_train, i, &tn);
        mnv2_image_folder_class_name(td->img_val, i, &vn);
        if (strcmp(tn, vn) != 0)
            ex_die("class %u is '%s' in %s but '%s' in %s", i, tn, train, vn, val);
        td->names[i] = tn;
    }
    td->channels = 3; /* decoded images vary in size and channels; the loader converts them */
}

void image_data_close(train_data *td)
{
    free(td->names);
    mnv2_image_folder_destroy(td->img_train);
    mnv2_image_folder_destroy(td->img_val);
}

void image_data_norm(const train_data *td, const image_opts *o, int standard, uint32_t size, uint32_t channels,
                     ex_norm *norm)
{
    static const float mean[3] = {0.485f, 0.456f, 0.406f}, sd[3] = {0.229f, 0.224f, 0.225f};
    if (channels != 1 && channels != 3)
        ex_die("image folders feed 1- or 3-channel models, not %u", channels);
    norm->n = channels;
    if (o->norm == 1 || (o->norm == 0 && standard)) {
        for (uint32_t c = 0; c < channels; c++) /* grey: the luma of ImageNet's */
            norm->mean[c] = channels == 3 ? mean[c] : 0.299f * mean[0] + 0.587f * mean[1] + 0.114f * mean[2],
            norm->std[c] = channels == 3 ? sd[c] : 0.226f;
        return;
    }
    check_img(mnv2_image_folder_stats(td->img_train, size, channels, 2000, norm->mean, norm->std),
              "standardisation statistics");
}

static void on_bad_image(void *user, const char *path, const char *message)
{
    (void)user;
    fprintf(stderr, "%s: skipped %s: %s\n", ex_prog(), path, message);
}

static mnv2_image_loader *make_loader(const mnv2_image_folder *f, const mnv2_batch_options *bo,
                                      const image_opts *o, int train)
{
    mnv2_image_loader_options lo;
    mnv2_image_loader_options_default(&lo);
    lo.batch = bo->batch, lo.height = bo->height, lo.width = bo->width, lo.channels = bo->channels;
    lo.transform = train ? MNV2_IMAGE_TRANSFORM_TRAIN : MNV2_IMAGE_TRANSFORM_EVAL;
    lo.flip = bo->flip, lo.shuffle = train, lo.drop_last = train && bo->drop_last;
    lo.workers = o->workers ? o->workers : 2;
    lo.on_error = o->skip_bad ? MNV2_IMAGE_ON_ERROR_SKIP : MNV2_IMAGE_ON_ERROR_FAIL;
    lo.on_error_fn = on_bad_image;
    lo.seed = bo->seed, lo.mean = bo->mean, lo.std = bo->std;
    mnv2_image_loader *l;
    check_img(mnv2_image_loader_create(f, &lo, &l), "creating the image loader");
    return l;
}
#else
void image_data_open(train_data *td, const char *dir, const image_opts *o, uint32_t limit, uint32_t test_limit)
{
    (void)td, (void)o, (void)limit, (void)test_limit;
    ex_die("%s is an image folder, but this mnv2-train was built without libmnv2-image (libjpeg, libpng)", dir);
}
void image_data_close(train_data *td)
{
    (void)td;
}
void image_data_norm(const train_data *td, const image_opts *o, int standard, uint32_t size, uint32_t channels,
                     ex_norm *norm)
{
    (void)td, (void)o, (void)standard, (void)size, (void)channels, (void)norm;
}
#endif

void titer_create(train_iter *t, const train_data *td, const mnv2_batch_options *bo, const image_opts *o)
{
    memset(t, 0, sizeof *t);
#ifdef HAVE_MNV2_IMAGE
    if (td->img_train) {
        t->img = make_loader(td->img_train, bo, o, 1);
        return;
    }
#endif
    (void)o;
    ex_check(mnv2_batch_iter_create(td->train, bo, &t->core), "creating the batch iterator");
}

void titer_destroy(train_iter *t)
{
#ifdef HAVE_MNV2_IMAGE
    mnv2_image_loader_destroy(t->img);
#endif
    mnv2_batch_iter_destroy(t->core);
}

uint64_t titer_batches(const train_iter *t)
{
    uint64_t n = 0;
#ifdef HAVE_MNV2_IMAGE
    if (t->img) {
        mnv2_image_loader_batches(t->img, &n);
        return n;
    }
#endif
    ex_check(mnv2_batch_iter_info(t->core, &n, NULL, NULL, NULL), "batch iterator");
    return n;
}

void titer_get_state(const train_iter *t, uint64_t *seed, uint64_t *epoch, uint64_t *position)
{
#ifdef HAVE_MNV2_IMAGE
    if (t->img) {
        mnv2_image_loader_get_state(t->img, seed, epoch, position);
        return;
    }
#endif
    ex_check(mnv2_batch_iter_get_state(t->core, seed, epoch, position), "batch iterator");
}

void titer_set_state(train_iter *t, uint64_t seed, uint64_t epoch, uint64_t position)
{
#ifdef HAVE_MNV2_IMAGE
    if (t->img) {
        check_img(mnv2_image_loader_set_state(t->img, seed, epoch, position), "resuming the image loader");
        return;
    }
#endif
    ex_check(mnv2_batch_iter_set_state(t->core, seed, epoch, position), "resuming the batch iterator");
}

void titer_next(train_iter *t, float *x, size_t n_x, int32_t *y, uint32_t batch, uint32_t *b)
{
#ifdef HAVE_MNV2_IMAGE
    if (t->img) {
        uint64_t pos = 1;
        /* A batch whose files all failed (skip mode) is empty but not the epoch's end. */
        for (*b = 0; *b == 0 && pos != 0;) {
            check_img(mnv2_image_loader_next(t->img, x, n_x, y, batch, b), "reading a batch");
            mnv2_image_loader_get_state(t->img, NULL, NULL, &pos);
        }
        return;
    }
#endif
    ex_check(mnv2_batch_next(t->core, x, n_x, y, batch, b), "reading a batch");
}

int32_t titer_checkpoint(mnv2_model *model, const train_iter *t, const void *blob, uint64_t size,
                         const char *const *names, uint32_t n_names, const char *path)
{
    if (t->core)
        return mnv2_checkpoint_save(model, t->core, blob, size, names, n_names, path);
    uint64_t seed, epoch, position;
    titer_get_state(t, &seed, &epoch, &position);
    return mnv2_checkpoint_save_state(model, seed, epoch, position, blob, size, names, n_names, path);
}

void titer_evaluate(mnv2_model *model, const train_data *td, const mnv2_batch_options *eo, const image_opts *o,
                    double *loss, double *top1)
{
#ifdef HAVE_MNV2_IMAGE
    if (td->img_val) {
        int64_t classes;
        ex_check(mnv2_model_get_int(model, MNV2_KEY_CLASSES, &classes), "evaluating");
        mnv2_image_loader *l = make_loader(td->img_val, eo, o, 0);
        size_t n_x = (size_t)eo->batch * eo->height * eo->width * eo->channels;
        float *x = malloc(n_x * sizeof *x), *logits = malloc((size_t)eo->batch * (size_t)classes * sizeof *logits);
        int32_t *y = malloc(eo->batch * sizeof *y);
        if (!x || !logits || !y)
            ex_die("out of memory");
        double sum = 0, correct = 0, seen = 0;
        for (;;) {
            uint32_t b;
            train_iter t = {NULL, l};
            titer_next(&t, x, n_x, y, eo->batch, &b);
            if (!b)
                break;
            ex_check(mnv2_forward(model, x, (size_t)b * eo->height * eo->width * eo->channels, b, MNV2_MODE_INFER,
                                  logits, (size_t)b * (size_t)classes),
                     "evaluating");
            for (uint32_t i = 0; i < b; i++) {
                const float *z = logits + (size_t)i * (size_t)classes;
                uint32_t best = 0;
                double max = z[0], s = 0;
                for (uint32_t c = 1; c < classes; c++)
                    if (z[c] > z[best])
                        best = c, max = z[c];
                for (uint32_t c = 0; c < classes; c++)
                    s += exp(z[c] - max);
                sum += log(s) + max - z[y[i]];
                correct += (int32_t)best == y[i];
            }
            seen += b;
        }
        mnv2_image_loader_destroy(l);
        free(x), free(logits), free(y);
        if (!seen)
            ex_die("evaluating: no validation image could be decoded");
        *loss = sum / seen, *top1 = correct / seen;
        return;
    }
#endif
    (void)o;
    ex_check(mnv2_evaluate(model, td->test, eo, loss, top1, NULL), "evaluating");
}
