/* SPDX-License-Identifier: BSD-2-Clause */
/* The batch iterator: deterministic per-epoch shuffles, fitting and augmentation. */
#include <stdlib.h>
#include <string.h>

#include "internal_error.h"
#include "io/dataset.h"
#include "io/fit.h"
#include "io/iter.h"
#include "fpenv.h"

#define GOLDEN 0x9E3779B97F4A7C15ull
#define MAX_PAD 64u

uint64_t mnv2__mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 27;
    x *= 0x94D049BB133111EBull;
    x ^= x >> 31;
    return x;
}

uint64_t mnv2__splitmix64(uint64_t *s)
{
    *s += GOLDEN;
    return mnv2__mix64(*s);
}

uint32_t mnv2__uniform(uint64_t *s, uint32_t n)
{
    uint64_t m = (uint64_t)(uint32_t)(mnv2__splitmix64(s) >> 32) * n;
    uint32_t lo = (uint32_t)m;
    if (lo < n) {
        uint32_t t = (0u - n) % n;
        while (lo < t) {
            m = (uint64_t)(uint32_t)(mnv2__splitmix64(s) >> 32) * n;
            lo = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

void mnv2__shuffle(uint32_t *perm, uint32_t n, uint64_t seed, uint64_t epoch)
{
    uint64_t s = mnv2__mix64(seed + GOLDEN * (epoch + 1));
    for (uint32_t i = 0; i < n; i++)
        perm[i] = i;
    for (uint32_t i = n; i-- > 1;) {
        uint32_t j = mnv2__uniform(&s, i + 1);
        uint32_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

struct mnv2_batch_iter {
    const mnv2_dataset *ds;
    uint32_t count, batch, shuffle, drop_last, flip, pad;
    uint64_t seed, epoch, position;
    uint64_t perm_epoch, perm_seed;
    int perm_valid;
    uint32_t *perm;
    float *tmp;     /* resize source, in_h * in_w * out_c */
    float *scratch; /* fitted image before augmentation, out_h * out_w * out_c */
    mnv2_fitter fit;
};

int32_t mnv2_batch_options_default(mnv2_batch_options *opts)
{
    mnv2__clear_error();
    if (!opts)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_batch_options_default: opts is NULL");
    memset(opts, 0, sizeof *opts);
    opts->struct_size = sizeof *opts;
    opts->batch = 32;
    opts->shuffle = 1;
    opts->norm = MNV2_NORM_CHANNEL;
    return MNV2_OK;
}

int32_t mnv2__iter_create(const mnv2_dataset *ds, const mnv2_batch_options *o, const char *what,
                          mnv2_batch_iter **out)
{
    if (!ds || !o || !out)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "%s: NULL argument", what);
    if (o->struct_size < sizeof *o)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "%s: options struct_size %u, at least %zu expected "
                          "(use mnv2_batch_options_default())", what, (unsigned)o->struct_size, sizeof *o);
    if (o->batch == 0 || o->pad_crop > MAX_PAD || o->shuffle > 1 || o->drop_last > 1 || o->flip > 1)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "%s: batch %u, pad_crop %u (0..%u), shuffle / drop_last / flip "
                          "%u/%u/%u (0 or 1)", what, (unsigned)o->batch, (unsigned)o->pad_crop, MAX_PAD,
                          (unsigned)o->shuffle, (unsigned)o->drop_last, (unsigned)o->flip);
    if (o->norm != MNV2_NORM_NONE && o->norm != MNV2_NORM_CHANNEL && o->norm != MNV2_NORM_GLOBAL)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "%s: unknown norm %d", what, (int)o->norm);
    if (!o->mean != !o->std)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "%s: mean and std must both be set or both be NULL", what);
    if (o->drop_last && o->batch > ds->count)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "%s: drop_last with batch %u above the %u images", what,
                          (unsigned)o->batch, (unsigned)ds->count);
    uint32_t oh = o->height ? o->height : ds->height, ow = o->width ? o->width : ds->width;
    uint32_t oc = o->channels ? o->channels : ds->channels;
    mnv2_batch_iter *it = calloc(1, sizeof *it);
    if (!it)
        return mnv2__fail(MNV2_ERR_OUT_OF_MEMORY, "%s: out of memory", what);
    int32_t rc = MNV2_OK;
    float mean[MNV2_DATASET_MAX_CHANNELS], std[MNV2_DATASET_MAX_CHANNELS];
    uint32_t n_stats = 0;
    const float *pm = o->mean, *ps = o->std;
    if (o->norm != MNV2_NORM_NONE) {
        n_stats = o->norm == MNV2_NORM_GLOBAL ? 1 : oc;
        if (!pm && oc <= MNV2_DATASET_MAX_CHANNELS) {
            rc = mnv2__dataset_stats(ds, o->norm, oc, mean, std);
            pm = mean;
            ps = std;
        }
    }
    if (rc == MNV2_OK)
        rc = mnv2__fitter_init(&it->fit, ds->height, ds->width, ds->channels, oh, ow, oc, pm, ps, n_stats, what);
    if (rc == MNV2_OK) {
        it->perm = malloc((size_t)ds->count * sizeof(uint32_t));
        it->scratch = malloc((size_t)oh * ow * oc * sizeof(float));
        if (it->fit.geom == MNV2__GEOM_RESIZE)
            it->tmp = malloc((size_t)ds->height * ds->width * oc * sizeof(float));
        if (!it->perm || !it->scratch || (it->fit.geom == MNV2__GEOM_RESIZE && !it->tmp))
            rc = mnv2__fail(MNV2_ERR_OUT_OF_MEMORY, "%s: out of memory", what);
    }
    if (rc != MNV2_OK) {
        mnv2_batch_iter_destroy(it);
        return rc;
    }
    it->ds = ds;
    it->count = ds->count;
    it->batch = o->batch;
    it->shuffle = o->shuffle;
    it->drop_last = o->drop_last;
    it->flip = o->flip;
    it->pad = o->pad_crop;
    it->seed = o->seed;
    *out = it;
    return MNV2_OK;
}

static int32_t batch_iter_create_body(const mnv2_dataset *ds, const mnv2_batch_options *opts, mnv2_batch_iter **out)
{
    mnv2__clear_error();
    return mnv2__iter_create(ds, opts, "mnv2_batch_iter_create", out);
}

void mnv2_batch_iter_destroy(mnv2_batch_iter *it)
{
    if (!it)
        return;
    free(it->perm);
    free(it->tmp);
    free(it->scratch);
    free(it);
}

/* Random crop (offsets dy, dx in 0 .. 2P of the P-padded image) then horizontal flip, from the
 * fitted image in it->scratch to out. */
static void augment(const mnv2_batch_iter *it, uint64_t pos, float *out)
{
    const mnv2_fitter *f = &it->fit;
    uint64_t k = mnv2__mix64(it->seed + GOLDEN * (it->epoch + 1));
    uint64_t s = mnv2__mix64(k ^ ((pos + 1) * 0xD1B54A32D192ED03ull));
    int64_t dy = 0, dx = 0;
    if (it->pad) {
        dy = (int64_t)mnv2__uniform(&s, 2 * it->pad + 1) - it->pad;
        dx = (int64_t)mnv2__uniform(&s, 2 * it->pad + 1) - it->pad;
    }
    int flip = it->flip && (mnv2__splitmix64(&s) >> 63);
    int64_t h = f->out_h, w = f->out_w;
    size_t c = f->out_c;
    for (int64_t y = 0; y < h; y++) {
        int64_t sy = y + dy;
        float *row = out + (size_t)y * (size_t)w * c;
        for (int64_t x = 0; x < w; x++) {
            int64_t sx = (flip ? w - 1 - x : x) + dx;
            if (sy < 0 || sy >= h || sx < 0 || sx >= w)
                memset(row + (size_t)x * c, 0, c * sizeof(float));
            else
                memcpy(row + (size_t)x * c, it->scratch + ((size_t)sy * (size_t)w + (size_t)sx) * c, c * sizeof(float));
        }
    }
}

static int32_t batch_next_body(mnv2_batch_iter *it, float *images, size_t n_images, int32_t *labels, uint32_t n_labels,
                        uint32_t *batch)
{
    mnv2__clear_error();
    if (!it || !images || !labels || !batch)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_batch_next: NULL argument");
    const mnv2_fitter *f = &it->fit;
    size_t px = (size_t)f->out_h * f->out_w * f->out_c;
    if (n_images / px < it->batch || n_labels < it->batch)
        return mnv2__fail(MNV2_ERR_SIZE_MISMATCH, "mnv2_batch_next: room for %zu floats and %u labels, a batch of %u "
                          "needs %zu and %u", n_images, (unsigned)n_labels, (unsigned)it->batch, px * it->batch,
                          (unsigned)it->batch);
    uint64_t left = it->count - it->position;
    if (left == 0 || (it->drop_last && left < it->batch)) {
        it->epoch++;
        it->position = 0;
        *batch = 0;
        return MNV2_OK;
    }
    if (it->shuffle && (!it->perm_valid || it->perm_epoch != it->epoch || it->perm_seed != it->seed)) {
        mnv2__shuffle(it->perm, it->count, it->seed, it->epoch);
        it->perm_valid = 1;
        it->perm_epoch = it->epoch;
        it->perm_seed = it->seed;
    }
    uint32_t b = left < it->batch ? (uint32_t)left : it->batch;
    const mnv2_dataset *ds = it->ds;
    size_t in_px = (size_t)ds->height * ds->width * ds->channels;
    int aug = it->flip || it->pad;
    for (uint32_t i = 0; i < b; i++) {
        uint64_t pos = it->position + i;
        uint32_t idx = it->shuffle ? it->perm[pos] : (uint32_t)pos;
        float *dst = images + i * px;
        mnv2__fit(f, ds->images + idx * in_px, it->tmp, aug ? it->scratch : dst);
        if (aug)
            augment(it, pos, dst);
        labels[i] = ds->labels[idx];
    }
    it->position += b;
    *batch = b;
    return MNV2_OK;
}

int32_t mnv2_batch_iter_get_state(const mnv2_batch_iter *it, uint64_t *seed, uint64_t *epoch, uint64_t *position)
{
    mnv2__clear_error();
    if (!it)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_batch_iter_get_state: iterator is NULL");
    if (seed)
        *seed = it->seed;
    if (epoch)
        *epoch = it->epoch;
    if (position)
        *position = it->position;
    return MNV2_OK;
}

int32_t mnv2_batch_iter_set_state(mnv2_batch_iter *it, uint64_t seed, uint64_t epoch, uint64_t position)
{
    mnv2__clear_error();
    if (!it)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_batch_iter_set_state: iterator is NULL");
    if (position > it->count)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_batch_iter_set_state: position %llu above the %u images",
                          (unsigned long long)position, (unsigned)it->count);
    it->seed = seed;
    it->epoch = epoch;
    it->position = position;
    return MNV2_OK;
}

int32_t mnv2_batch_iter_info(const mnv2_batch_iter *it, uint64_t *batches_per_epoch, uint32_t *height,
                             uint32_t *width, uint32_t *channels)
{
    mnv2__clear_error();
    if (!it)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_batch_iter_info: iterator is NULL");
    if (batches_per_epoch)
        *batches_per_epoch = it->drop_last ? it->count / it->batch : (it->count + (uint64_t)it->batch - 1) / it->batch;
    if (height)
        *height = it->fit.out_h;
    if (width)
        *width = it->fit.out_w;
    if (channels)
        *channels = it->fit.out_c;
    return MNV2_OK;
}

/* Public entry points that compute: in the library's floating-point environment (fpenv.h). */

int32_t mnv2_batch_iter_create(const mnv2_dataset *ds, const mnv2_batch_options *opts, mnv2_batch_iter **out)
{
    MNV2__RETURN_IN_FPENV(batch_iter_create_body(ds, opts, out));
}

int32_t mnv2_batch_next(mnv2_batch_iter *it, float *images, size_t n_images, int32_t *labels, uint32_t n_labels,
                        uint32_t *batch)
{
    MNV2__RETURN_IN_FPENV(batch_next_body(it, images, n_images, labels, n_labels, batch));
}
