/*
 * mnv2-train's own part of a checkpoint: the run's settings, the epoch in progress and the
 * finished epochs, stored as text in the checkpoint's caller blob.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef MNV2_EXAMPLES_TRAINSTATE_H
#define MNV2_EXAMPLES_TRAINSTATE_H

#include <stddef.h>
#include <stdint.h>

#include "svg.h"

typedef struct train_state {
    /* settings that must not change on resume */
    uint32_t epochs, batch, warmup, limit, test_limit, crop_pad, flip;
    uint64_t seed;
    /* the epoch in progress */
    double loss_sum, correct, seen, train_seconds, eval_seconds;
    /* finished epochs: hist[0 .. done - 1], room for `epochs` */
    uint32_t done;
    ex_epoch *hist;
} train_state;

/* Allocate the history for st->epochs epochs. */
void train_state_alloc(train_state *st);
/* Serialise into a new malloc'ed text buffer. */
char *train_state_save(const train_state *st, size_t *size);
/* Parse a blob written by train_state_save(); exits with a message naming @p path if it is not one. */
void train_state_load(train_state *st, const void *blob, uint64_t size, const char *path);
/* Write the history as CSV (epoch,train_loss,train_acc,test_loss,test_acc,lr,seconds). 0 or -1 (errno). */
int train_state_csv(const train_state *st, const char *path);

#endif
