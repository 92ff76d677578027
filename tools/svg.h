/*
 * Training curves as a hand-written SVG file: a loss panel and an accuracy panel, train and test
 * lines per epoch, with axes, ticks, labels and a legend.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef MNV2_EXAMPLES_SVG_H
#define MNV2_EXAMPLES_SVG_H

#include <stdint.h>

typedef struct ex_epoch {
    double train_loss, train_acc; /* accuracies in percent */
    double test_loss, test_acc;
    double lr, seconds;
} ex_epoch;

/* Write the plot of @p n epochs (n >= 1) to @p path. 0, or -1 with errno set. */
int ex_svg_write(const char *path, const ex_epoch *rows, uint32_t n, const char *title);

#endif
