/* SPDX-License-Identifier: BSD-2-Clause */
/* Internal: the configuration object behind mnv2_config. */
#ifndef MNV2_CONFIG_H
#define MNV2_CONFIG_H
#include <stdint.h>
#include "mnv2.h"

/* Training options: settable on the config and on a created model. */
typedef struct mnv2_train_opts {
    int64_t optimizer, nesterov, schedule, warmup_steps, total_steps, step, decay_all;
    double lr, beta1, beta2, adam_eps, weight_decay, momentum, warmup_scale, label_smoothing;
} mnv2_train_opts;

struct mnv2_config {
    int64_t classes, in_h, in_w, in_c, stem_c, head_c, expansion, max_batch, seed, threads, isa_max, trainable, init;
    double width_mult, bn_momentum, bn_eps, dropout;
    uint32_t n_rows;
    int32_t rows[MNV2_MAX_BLOCK_ROWS][4];
    mnv2_train_opts train;
};

/* Key access shared by the config and the model setters. `structural_ok` = 0 makes structural
 * keys read-only (MNV2_ERR_READ_ONLY). */
int32_t mnv2__config_set_int(struct mnv2_config *cfg, int32_t key, int64_t v, int structural_ok);
int32_t mnv2__config_set_float(struct mnv2_config *cfg, int32_t key, double v, int structural_ok);
int32_t mnv2__config_get_int(const struct mnv2_config *cfg, int32_t key, int64_t *v);
int32_t mnv2__config_get_float(const struct mnv2_config *cfg, int32_t key, double *v);

#endif
