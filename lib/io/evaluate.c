/* SPDX-License-Identifier: BSD-2-Clause */
/* Evaluation of a model on a dataset: mean cross-entropy, top-1 and top-5 accuracy. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal_error.h"
#include "io/dataset.h"
#include "io/iter.h"
#include "fpenv.h"

/* Loss and the label's rank (classes above it; equal logits of lower classes count as above). */
static int score(const float *logits, uint32_t classes, int32_t label, double *loss, uint32_t *rank)
{
    float mx = logits[0];
    for (uint32_t j = 0; j < classes; j++) {
        if (!isfinite(logits[j]))
            return 0;
        if (logits[j] > mx)
            mx = logits[j];
    }
    double sum = 0.0;
    uint32_t r = 0;
    float ly = logits[label];
    for (uint32_t j = 0; j < classes; j++) {
        sum += exp((double)logits[j] - (double)mx);
        if (logits[j] > ly || (logits[j] == ly && j < (uint32_t)label))
            r++;
    }
    *loss = (double)mx + log(sum) - (double)ly;
    *rank = r;
    return 1;
}

static int32_t model_int(mnv2_model *m, int32_t key, int64_t *v)
{
    int32_t rc = mnv2_model_get_int(m, key, v);
    return rc == MNV2_OK ? rc : mnv2__fail(rc, "mnv2_evaluate: cannot read model key %d", (int)key);
}

static int32_t evaluate_body(mnv2_model *model, const mnv2_dataset *ds, const mnv2_batch_options *opts, double *loss,
                      double *top1, double *top5)
{
    mnv2__clear_error();
    if (!model || !ds)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_evaluate: NULL model or dataset");
    int64_t h, w, c, classes, max_batch;
    int32_t rc;
    if ((rc = model_int(model, MNV2_KEY_INPUT_HEIGHT, &h)) || (rc = model_int(model, MNV2_KEY_INPUT_WIDTH, &w)) ||
        (rc = model_int(model, MNV2_KEY_INPUT_CHANNELS, &c)) || (rc = model_int(model, MNV2_KEY_CLASSES, &classes)) ||
        (rc = model_int(model, MNV2_KEY_MAX_BATCH, &max_batch)))
        return rc;
    for (uint32_t i = 0; i < ds->count; i++)
        if (ds->labels[i] >= classes)
            return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_evaluate: label %d of image %u is not below the "
                              "model's %lld classes", (int)ds->labels[i], (unsigned)i, (long long)classes);
    mnv2_batch_options o;
    if (opts && opts->struct_size < sizeof o)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_evaluate: options struct_size %u, at least %zu expected",
                          (unsigned)opts->struct_size, sizeof o);
    if (opts) {
        o = *opts;
    } else {
        memset(&o, 0, sizeof o);
        o.struct_size = sizeof o;
        o.batch = 0;
        o.norm = MNV2_NORM_CHANNEL;
    }
    if (o.batch == 0 || o.batch > max_batch)
        o.batch = (uint32_t)max_batch;
    o.height = (uint32_t)h;
    o.width = (uint32_t)w;
    o.channels = (uint32_t)c;
    o.shuffle = o.drop_last = o.flip = o.pad_crop = 0;
    mnv2_batch_iter *it;
    rc = mnv2__iter_create(ds, &o, "mnv2_evaluate", &it);
    if (rc != MNV2_OK)
        return rc;
    size_t n_img = (size_t)o.batch * (size_t)(h * w * c), n_log = (size_t)o.batch * (size_t)classes;
    float *x = malloc(n_img * sizeof(float)), *logits = malloc(n_log * sizeof(float));
    int32_t *labels = malloc(o.batch * sizeof(int32_t));
    double sum_loss = 0.0;
    uint64_t hit1 = 0, hit5 = 0, seen = 0;
    if (!x || !logits || !labels)
        rc = mnv2__fail(MNV2_ERR_OUT_OF_MEMORY, "mnv2_evaluate: out of memory");
    while (rc == MNV2_OK) {
        uint32_t b;
        rc = mnv2_batch_next(it, x, n_img, labels, o.batch, &b);
        if (rc != MNV2_OK || b == 0)
            break;
        rc = mnv2_forward(model, x, (size_t)b * (size_t)(h * w * c), b, MNV2_MODE_INFER, logits,
                          (size_t)b * (size_t)classes);
        for (uint32_t i = 0; i < b && rc == MNV2_OK; i++) {
            double l = 0.0;
            uint32_t rank = 0;
            if (!score(logits + (size_t)i * (size_t)classes, (uint32_t)classes, labels[i], &l, &rank))
                rc = mnv2__fail(MNV2_ERR_NOT_FINITE, "mnv2_evaluate: logits of image %llu are not finite",
                                (unsigned long long)(seen + i));
            sum_loss += l;
            hit1 += rank < 1;
            hit5 += rank < 5;
        }
        seen += b;
    }
    mnv2_batch_iter_destroy(it);
    free(x);
    free(logits);
    free(labels);
    if (rc != MNV2_OK)
        return rc;
    if (loss)
        *loss = sum_loss / (double)seen;
    if (top1)
        *top1 = (double)hit1 / (double)seen;
    if (top5)
        *top5 = (double)hit5 / (double)seen;
    return MNV2_OK;
}

/* Public entry points that compute: in the library's floating-point environment (fpenv.h). */

int32_t mnv2_evaluate(mnv2_model *model, const mnv2_dataset *ds, const mnv2_batch_options *opts, double *loss,
                      double *top1, double *top5)
{
    MNV2__RETURN_IN_FPENV(evaluate_body(model, ds, opts, loss, top1, top5));
}
