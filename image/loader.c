/*
 * libmnv2-image: the streaming batch loader. Worker threads decode and transform images straight
 * into a ring of `prefetch` batch buffers; the caller's thread hands the batches out in order.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

#define PATH_MAX_BYTES 8192

struct mnv2_image_loader {
    const mnv2_image_folder *f;
    mnv2_image_loader_options o;
    mi_transform t;
    uint32_t count, batch, ring;
    size_t image_floats;
    float *buf;       /* ring * batch images */
    int32_t *lab;     /* ring * batch labels */
    char **err;       /* ring * batch: NULL, or the message of a failed image */
    uint32_t *done;   /* ring: images finished in each slot */
    uint32_t *order;  /* the epoch's order */
    uint64_t seed, epoch, position; /* the consumer's state */
    uint64_t key, start, end, next_job, cj; /* start: position of batch 0 since the last reset */
    uint32_t busy;
    int quit;
    int rolled; /* the workers already run the next epoch; the next call reports this one's end */
    pthread_mutex_t mu;
    pthread_cond_t work, ready;
    pthread_t *thr;
    uint32_t n_thr;
    double wait;
    uint64_t failed;
    float mean[3], std[3];
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int job_ready(const mnv2_image_loader *l)
{
    return l->next_job < l->end && (l->next_job - l->start) / l->batch < l->cj + l->ring;
}

static void *worker(void *arg)
{
    mnv2_image_loader *l = arg;
    uint8_t *scratch = malloc((size_t)l->t.oh * l->t.ow * 3);
    char *path = malloc(PATH_MAX_BYTES);
    pthread_mutex_lock(&l->mu);
    for (;;) {
        while (!l->quit && !job_ready(l))
            pthread_cond_wait(&l->work, &l->mu);
        if (l->quit)
            break;
        uint64_t p = l->next_job++, j = (p - l->start) / l->batch;
        size_t slot = (size_t)(j % l->ring) * l->batch + (size_t)((p - l->start) % l->batch);
        uint32_t index = l->order[p];
        uint64_t rng = mi_position_state(l->key, p);
        l->busy++;
        pthread_mutex_unlock(&l->mu);

        char *msg = NULL;
        uint8_t *px = NULL;
        uint32_t h, w, c;
        int32_t label = 0;
        int32_t rc = scratch && path ? MNV2_OK : mi_fail(MNV2_ERR_OUT_OF_MEMORY, "out of memory");
        if (rc == MNV2_OK)
            rc = mnv2_image_folder_path(l->f, index, path, PATH_MAX_BYTES, &label);
        if (rc == MNV2_OK)
            rc = mnv2_image_read(path, &px, &h, &w, &c);
        if (rc == MNV2_OK) {
            rc = mi_apply(&l->t, px, h, w, c, rng, scratch, l->buf + slot * l->image_floats);
            if (rc != MNV2_OK) {
                char m[1024];
                snprintf(m, sizeof m, "%s", mnv2_image_last_error());
                mi_fail(rc, "%s: %s", path, m);
            }
        }
        mnv2_image_free(px);
        if (rc != MNV2_OK) {
            size_t n = strlen(mnv2_image_last_error()) + 16;
            if ((msg = malloc(n)) != NULL)
                snprintf(msg, n, "%d\n%s", (int)rc, mnv2_image_last_error());
            else
                msg = (char *)"-3\nout of memory"; /* never freed: marked below */
        }
        pthread_mutex_lock(&l->mu);
        l->err[slot] = msg;
        l->lab[slot] = label;
        l->done[(j % l->ring)]++;
        l->busy--;
        pthread_cond_broadcast(&l->ready);
    }
    pthread_mutex_unlock(&l->mu);
    free(scratch);
    free(path);
    return NULL;
}

static void free_msg(char *m)
{
    if (m && strcmp(m, "-3\nout of memory") != 0)
        free(m);
}

/* With the lock held and no job in flight: restart the pipeline at @p epoch, @p position. */
static void reset(mnv2_image_loader *l, uint64_t epoch, uint64_t position)
{
    l->key = mi_epoch_key(l->seed, epoch);
    mi_epoch_order(l->order, l->count, l->key, (int)l->o.shuffle);
    l->start = l->next_job = position;
    uint64_t left = l->count > position ? l->count - position : 0;
    l->end = l->o.drop_last ? position + left / l->batch * l->batch : l->count;
    l->cj = 0;
    for (size_t i = 0; i < (size_t)l->ring * l->batch; i++) {
        free_msg(l->err[i]);
        l->err[i] = NULL;
    }
    memset(l->done, 0, l->ring * sizeof *l->done);
    pthread_cond_broadcast(&l->work);
}

static void drain(mnv2_image_loader *l)
{
    uint64_t end = l->end;
    l->end = l->next_job; /* no new jobs */
    while (l->busy)
        pthread_cond_wait(&l->ready, &l->mu);
    l->end = end;
}

int32_t mnv2_image_loader_options_default(mnv2_image_loader_options *o)
{
    if (!o)
        return mi_fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_image_loader_options_default: NULL");
    memset(o, 0, sizeof *o);
    o->struct_size = sizeof *o;
    o->batch = 32, o->height = 224, o->width = 224, o->channels = 3;
    o->transform = MNV2_IMAGE_TRANSFORM_TRAIN;
    o->scale_min = 0.08f, o->scale_max = 1, o->ratio_min = 3.0f / 4, o->ratio_max = 4.0f / 3;
    o->flip = 1, o->shuffle = 1, o->workers = 2, o->prefetch = 4;
    o->on_error = MNV2_IMAGE_ON_ERROR_FAIL;
    return MNV2_OK;
}

int32_t mnv2_image_loader_create(const mnv2_image_folder *f, const mnv2_image_loader_options *o,
                                 mnv2_image_loader **out)
{
    mi_clear_error();
    if (!f || !o || !out || o->struct_size < sizeof *o)
        return mi_fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_image_loader_create: NULL or struct_size too small");
    if (!o->batch || o->batch > 65536 || !o->height || o->height > 4096 || !o->width || o->width > 4096 ||
        (o->channels != 1 && o->channels != 3) || o->workers < 1 || o->workers > 256 || o->prefetch < 2 ||
        o->prefetch > 64 || (o->transform != MNV2_IMAGE_TRANSFORM_TRAIN && o->transform != MNV2_IMAGE_TRANSFORM_EVAL) ||
        (o->on_error != MNV2_IMAGE_ON_ERROR_FAIL && o->on_error != MNV2_IMAGE_ON_ERROR_SKIP))
        return mi_fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_image_loader_create: a setting is out of range");
    if (o->transform == MNV2_IMAGE_TRANSFORM_TRAIN &&
        !(o->scale_min > 0 && o->scale_min <= o->scale_max && o->scale_max <= 1 && o->ratio_min > 0 &&
          o->ratio_min <= o->ratio_max))
        return mi_fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_image_loader_create: scale or ratio range");
    if (o->drop_last && f->count < o->batch)
        return mi_fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_image_loader_create: drop_last with %u images < batch %u",
                       f->count, o->batch);
    for (uint32_t c = 0; o->std && c < o->channels; c++)
        if (!(o->std[c] > 0))
            return mi_fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_image_loader_create: std[%u] not positive", c);
    mnv2_image_loader *l = calloc(1, sizeof *l);
    if (!l)
        return mi_fail(MNV2_ERR_OUT_OF_MEMORY, "mnv2_image_loader_create: out of memory");
    l->f = f, l->o = *o, l->count = f->count, l->batch = o->batch, l->ring = o->prefetch;
    l->o.mean = l->o.std = NULL;
    mi_transform *t = &l->t;
    t->oh = o->height, t->ow = o->width, t->oc = o->channels, t->train = o->transform == MNV2_IMAGE_TRANSFORM_TRAIN;
    t->resize = o->resize ? o->resize : (uint32_t)((o->height * 256u + 112u) / 224u);
    t->resize = t->resize < o->height ? o->height : t->resize;
    t->resize = t->resize < o->width ? o->width : t->resize;
    t->flip = o->flip, t->scale_min = o->scale_min, t->scale_max = o->scale_max;
    t->ratio_min = o->ratio_min, t->ratio_max = o->ratio_max;
    for (uint32_t c = 0; c < o->channels; c++) {
        t->mean[c] = o->mean ? o->mean[c] : 0;
        t->std[c] = o->std ? o->std[c] : 1;
    }
    l->image_floats = (size_t)o->height * o->width * o->channels;
    size_t slots = (size_t)l->ring * l->batch;
    l->buf = malloc(slots * l->image_floats * sizeof *l->buf);
    l->lab = calloc(slots, sizeof *l->lab);
    l->err = calloc(slots, sizeof *l->err);
    l->done = calloc(l->ring, sizeof *l->done);
    l->order = malloc((size_t)l->count * sizeof *l->order);
    l->thr = calloc(o->workers, sizeof *l->thr);
    if (!l->buf || !l->lab || !l->err || !l->done || !l->order || !l->thr) {
        mnv2_image_loader_destroy(l);
        return mi_fail(MNV2_ERR_OUT_OF_MEMORY, "mnv2_image_loader_create: out of memory for %zu images of %ux%ux%u",
                       slots, o->height, o->width, o->channels);
    }
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->work, NULL);
    pthread_cond_init(&l->ready, NULL);
    l->seed = o->seed;
    pthread_mutex_lock(&l->mu);
    reset(l, 0, 0);
    pthread_mutex_unlock(&l->mu);
    for (uint32_t i = 0; i < o->workers; i++) {
        if (pthread_create(&l->thr[i], NULL, worker, l) != 0) {
            mnv2_image_loader_destroy(l);
            return mi_fail(MNV2_ERR_BAD_STATE, "mnv2_image_loader_create: cannot start worker thread %u", i);
        }
        l->n_thr++;
    }
    *out = l;
    return MNV2_OK;
}

void mnv2_image_loader_destroy(mnv2_image_loader *l)
{
    if (!l)
        return;
    if (l->thr && l->done) {
        pthread_mutex_lock(&l->mu);
        l->quit = 1;
        pthread_cond_broadcast(&l->work);
        pthread_mutex_unlock(&l->mu);
        for (uint32_t i = 0; i < l->n_thr; i++)
            pthread_join(l->thr[i], NULL);
        pthread_mutex_destroy(&l->mu);
        pthread_cond_destroy(&l->work);
        pthread_cond_destroy(&l->ready);
    }
    if (l->err)
        for (size_t i = 0; i < (size_t)l->ring * l->batch; i++)
            free_msg(l->err[i]);
    free(l->buf), free(l->lab), free(l->err), free(l->done), free(l->order), free(l->thr), free(l);
}

int32_t mnv2_image_loader_next(mnv2_image_loader *l, float *images, size_t n_images, int32_t *labels,
                               uint32_t n_labels, uint32_t *batch)
{
    mi_clear_error();
    if (!l || !images || !labels || !batch)
        return mi_fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_image_loader_next: NULL argument");
    if (n_images < l->batch * l->image_floats || n_labels < l->batch)
        return mi_fail(MNV2_ERR_SIZE_MISMATCH, "mnv2_image_loader_next: room for %zu floats and %u labels, a batch "
                       "needs %zu and %u", n_images, n_labels, l->batch * l->image_floats, l->batch);
    pthread_mutex_lock(&l->mu);
    if (l->rolled) { /* the last batch was delivered: report the end, the next epoch is under way */
        l->rolled = 0;
        l->epoch++, l->position = 0;
        pthread_mutex_unlock(&l->mu);
        *batch = 0;
        return MNV2_OK;
    }
    uint64_t first = l->start + l->cj * l->batch;
    if (first >= l->end) { /* the epoch is over (a state set at its end) */
        drain(l);
        l->epoch++, l->position = 0;
        reset(l, l->epoch, 0);
        pthread_mutex_unlock(&l->mu);
        *batch = 0;
        return MNV2_OK;
    }
    uint32_t n = (uint32_t)(l->end - first < l->batch ? l->end - first : l->batch);
    uint32_t s = (uint32_t)(l->cj % l->ring);
    if (l->done[s] < n) {
        double t0 = now();
        while (l->done[s] < n)
            pthread_cond_wait(&l->ready, &l->mu);
        l->wait += now() - t0;
    }
    pthread_mutex_unlock(&l->mu);
    /* The slot is complete and no worker touches it until it is released below. */
    size_t base = (size_t)s * l->batch;
    if (l->o.on_error == MNV2_IMAGE_ON_ERROR_FAIL)
        for (uint32_t i = 0; i < n; i++)
            if (l->err[base + i]) {
                const char *m = strchr(l->err[base + i], '\n');
                return mi_fail((int32_t)atoi(l->err[base + i]), "%s", m ? m + 1 : "");
            }
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; i++) {
        char *m = l->err[base + i];
        if (m) {
            l->failed++;
            if (l->o.on_error_fn) {
                const char *text = strchr(m, '\n') ? strchr(m, '\n') + 1 : m;
                char path[PATH_MAX_BYTES];
                const char *colon = strstr(text, ": ");
                size_t pn = colon ? (size_t)(colon - text) : 0;
                pn = pn < sizeof path ? pn : sizeof path - 1;
                memcpy(path, text, pn);
                path[pn] = '\0';
                l->o.on_error_fn(l->o.user, path, colon ? colon + 2 : text);
            }
            continue;
        }
        memcpy(images + (size_t)k * l->image_floats, l->buf + (base + i) * l->image_floats,
               l->image_floats * sizeof *images);
        labels[k++] = l->lab[base + i];
    }
    pthread_mutex_lock(&l->mu);
    for (uint32_t i = 0; i < n; i++) {
        free_msg(l->err[base + i]);
        l->err[base + i] = NULL;
    }
    l->done[s] = 0;
    l->cj++;
    l->position = first + n;
    if (l->position >= l->end) { /* that was the epoch's last batch: start decoding the next one now */
        drain(l);
        reset(l, l->epoch + 1, 0);
        l->rolled = 1;
    }
    pthread_cond_broadcast(&l->work);
    pthread_mutex_unlock(&l->mu);
    *batch = k;
    return MNV2_OK;
}

int32_t mnv2_image_loader_get_state(const mnv2_image_loader *l, uint64_t *seed, uint64_t *epoch, uint64_t *position)
{
    if (!l)
        return mi_fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_image_loader_get_state: NULL loader");
    if (seed)
        *seed = l->seed;
    if (epoch)
        *epoch = l->epoch;
    if (position)
        *position = l->position;
    return MNV2_OK;
}

int32_t mnv2_image_loader_set_state(mnv2_image_loader *l, uint64_t seed, uint64_t epoch, uint64_t position)
{
    mi_clear_error();
    if (!l || position > l->count)
        return mi_fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_image_loader_set_state: NULL or position above %u",
                       l ? l->count : 0);
    pthread_mutex_lock(&l->mu);
    drain(l);
    l->seed = seed, l->epoch = epoch, l->position = position, l->rolled = 0;
    reset(l, epoch, position);
    pthread_mutex_unlock(&l->mu);
    return MNV2_OK;
}

int32_t mnv2_image_loader_batches(const mnv2_image_loader *l, uint64_t *batches_per_epoch)
{
    if (!l || !batches_per_epoch)
        return mi_fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_image_loader_batches: NULL");
    *batches_per_epoch = l->o.drop_last ? l->count / l->batch : (l->count + l->batch - 1) / l->batch;
    return MNV2_OK;
}

int32_t mnv2_image_loader_take_stats(mnv2_image_loader *l, double *wait_seconds, uint64_t *failed)
{
    if (!l)
        return mi_fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_image_loader_take_stats: NULL");
    pthread_mutex_lock(&l->mu);
    if (wait_seconds)
        *wait_seconds = l->wait;
    if (failed)
        *failed = l->failed;
    l->wait = 0, l->failed = 0;
    pthread_mutex_unlock(&l->mu);
    return MNV2_OK;
}

int32_t mnv2_image_folder_stats(const mnv2_image_folder *f, uint32_t size, uint32_t channels, uint32_t max_images,
                                float *mean, float *std)
{
    mi_clear_error();
    if (!f || !mean || !std || !size || size > 4096 || (channels != 1 && channels != 3) || !max_images)
        return mi_fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_image_folder_stats: NULL or a size out of range");
    uint32_t n = max_images < f->count ? max_images : f->count;
    mi_transform t = {.oh = size, .ow = size, .oc = channels, .resize = (size * 256u + 112u) / 224u};
    t.resize = t.resize < size ? size : t.resize;
    for (int c = 0; c < 3; c++)
        t.std[c] = 1;
    float *img = malloc((size_t)size * size * channels * sizeof *img);
    uint8_t *scratch = malloc((size_t)size * size * 3);
    char *path = malloc(PATH_MAX_BYTES);
    double sum[3] = {0}, sq[3] = {0}, pixels = 0;
    int32_t rc = img && scratch && path ? MNV2_OK : mi_fail(MNV2_ERR_OUT_OF_MEMORY, "out of memory");
    for (uint32_t i = 0; rc == MNV2_OK && i < n; i++) {
        uint32_t index = (uint32_t)((uint64_t)i * f->count / n), h, w, c;
        uint8_t *px;
        if (mnv2_image_folder_path(f, index, path, PATH_MAX_BYTES, NULL) != MNV2_OK ||
            mnv2_image_read(path, &px, &h, &w, &c) != MNV2_OK)
            continue;
        int32_t r = mi_apply(&t, px, h, w, c, 0, scratch, img);
        mnv2_image_free(px);
        if (r != MNV2_OK)
            continue;
        for (size_t p = 0; p < (size_t)size * size; p++)
            for (uint32_t ch = 0; ch < channels; ch++) {
                double v = img[p * channels + ch];
                sum[ch] += v, sq[ch] += v * v;
            }
        pixels += (double)size * size;
    }
    free(img), free(scratch), free(path);
    if (rc != MNV2_OK)
        return rc;
    if (pixels == 0)
        return mi_fail(MNV2_ERR_NOT_FOUND, "%s: none of %u images could be decoded", f->root, n);
    for (uint32_t ch = 0; ch < channels; ch++) {
        double m = sum[ch] / pixels, var = sq[ch] / pixels - m * m;
        double sd = var > 0 ? sqrt(var) : 0;
        mean[ch] = (float)m;
        std[ch] = sd < 1e-6 ? 1.0f : (float)sd;
    }
    return MNV2_OK;
}
