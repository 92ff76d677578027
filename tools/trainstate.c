/*
 * mnv2-train's checkpoint blob and CSV file.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "trainstate.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define MAGIC "mnv2-train-state 1\n"

void train_state_alloc(train_state *st)
{
    st->hist = calloc(st->epochs, sizeof *st->hist);
    if (!st->hist)
        ex_die("out of memory");
}

char *train_state_save(const train_state *st, size_t *size)
{
    size_t cap = 256 + 160 * (size_t)st->done;
    char *s = malloc(cap);
    if (!s)
        ex_die("out of memory");
    size_t n = (size_t)snprintf(s, cap, MAGIC "settings %u %u %u %u %u %u %u %llu\npartial %.17g %.17g %.17g %.17g %.17g\n",
                                st->epochs, st->batch, st->warmup, st->limit, st->test_limit, st->crop_pad, st->flip,
                                (unsigned long long)st->seed, st->loss_sum, st->correct, st->seen,
                                st->train_seconds, st->eval_seconds);
    for (uint32_t i = 0; i < st->done && n < cap; i++) {
        const ex_epoch *e = &st->hist[i];
        n += (size_t)snprintf(s + n, cap - n, "epoch %.17g %.17g %.17g %.17g %.17g %.17g\n", e->train_loss,
                              e->train_acc, e->test_loss, e->test_acc, e->lr, e->seconds);
    }
    if (n >= cap)
        ex_die("internal error: training state larger than its buffer");
    *size = n;
    return s;
}

void train_state_load(train_state *st, const void *blob, uint64_t size, const char *path)
{
    if (size < strlen(MAGIC) || size > ((uint64_t)1 << 24) || memcmp(blob, MAGIC, strlen(MAGIC)) != 0)
        ex_die("%s: not a checkpoint written by mnv2-train", path);
    char *text = malloc((size_t)size + 1);
    if (!text)
        ex_die("out of memory");
    memcpy(text, blob, (size_t)size);
    text[size] = '\0';
    unsigned long long seed;
    int used = 0;
    char *p = text + strlen(MAGIC);
    if (sscanf(p, "settings %u %u %u %u %u %u %u %llu\npartial %lf %lf %lf %lf %lf\n%n", &st->epochs, &st->batch,
               &st->warmup, &st->limit, &st->test_limit, &st->crop_pad, &st->flip, &seed, &st->loss_sum,
               &st->correct, &st->seen, &st->train_seconds, &st->eval_seconds, &used) != 13 ||
        !used || st->epochs == 0 || st->epochs > 1000000)
        ex_die("%s: malformed mnv2-train state in the checkpoint", path);
    st->seed = seed;
    train_state_alloc(st);
    p += used;
    for (st->done = 0; *p; st->done++) {
        ex_epoch *e = &st->hist[st->done];
        used = 0;
        if (st->done == st->epochs ||
            sscanf(p, "epoch %lf %lf %lf %lf %lf %lf\n%n", &e->train_loss, &e->train_acc, &e->test_loss,
                   &e->test_acc, &e->lr, &e->seconds, &used) != 6 || !used)
            ex_die("%s: malformed epoch history in the checkpoint", path);
        p += used;
    }
    free(text);
}

int train_state_csv(const train_state *st, const char *path)
{
    size_t cap = 64 + 200 * (size_t)st->done, n;
    char *s = malloc(cap);
    if (!s) {
        errno = ENOMEM;
        return -1;
    }
    n = (size_t)snprintf(s, cap, "epoch,train_loss,train_acc,test_loss,test_acc,lr,seconds\n");
    for (uint32_t i = 0; i < st->done; i++) {
        const ex_epoch *e = &st->hist[i];
        n += (size_t)snprintf(s + n, cap - n, "%u,%.6f,%.4f,%.6f,%.4f,%.6g,%.1f\n", i + 1, e->train_loss,
                              e->train_acc, e->test_loss, e->test_acc, e->lr, e->seconds);
    }
    int rc = ex_write_atomic(path, s, n);
    free(s);
    return rc;
}
