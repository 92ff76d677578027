/* SPDX-License-Identifier: BSD-2-Clause */
/* Internal: the model handle. */
#ifndef MNV2_MODEL_H
#define MNV2_MODEL_H
#include <stdint.h>

#include "mnv2.h"
#include "config.h"
#include "kernels/kernels.h"

#define MNV2__ALIGN 64
#define MNV2__MAX_NORM 64 /* most standardisation values: the largest MNV2_KEY_INPUT_CHANNELS */

struct mnv2_plan;
struct mnv2_pool;

struct mnv2_model {
    struct mnv2_config cfg;          /* structural keys as created; training keys as currently set */
    struct mnv2_plan *plan;
    const mnv2_kernels *k;           /* shared, read-only */
    int isa;
    struct mnv2_pool *pool;          /* worker threads, owned */
    void *block;                     /* the one allocation behind the float arrays below */
    float *params, *grads, *opt, *buffers, *arena;
    float *fold;                     /* inference: BN folded into conv weights (same offsets as params) */
    float *packed;                   /* inference: the pointwise ones of fold, packed (plan_conv.pk), */
    int use_packed;                  /* where the level reads them in place (mnv2__gemm_packed_pays) */
    int fold_valid;                  /* fold matches params and buffers */
    uint64_t rng_state;              /* dropout stream position (counter) */
    /* Input standardisation (mnv2_model_set_normalization()): metadata, not applied by forward. */
    uint32_t norm_n;                 /* 0, 1 or cfg.in_c */
    float norm_mean[MNV2__MAX_NORM], norm_std[MNV2__MAX_NORM];
    /* State machine for misuse checks. */
    uint32_t fwd_batch;              /* batch of the last training forward; 0 = none pending */
    int have_grads;                  /* a backward ran since the last step */
    /* Batch-statistics callback (mnv2_model_set_bn_stats_hook()); NULL = none. */
    mnv2_bn_stats_fn bn_hook;
    void *bn_hook_user;
    int32_t hook_failed;             /* the callback failed during the current pass */
    int grads_zero;                  /* every gradient is 0 (no backup needed before a backward) */
    const char *bad_layer;           /* training forward: first layer whose batch statistics are not finite */
};

/* Layer passes (forward.c, backward.c). Arguments are validated by the caller. */
void mnv2__forward(struct mnv2_model *m, const float *images, uint32_t batch, int train);
void mnv2__backward(struct mnv2_model *m, uint32_t batch); /* dlogits in arena at plan->probs */
/* Whether every value of a[0..n) is finite, checked in parallel on the model's threads. */
int mnv2__all_finite(struct mnv2_model *m, const float *a, size_t n);

/* Counter-based random numbers: the same (seed, stream, index) gives the same value on every
 * platform and thread count. */
uint64_t mnv2__hash64(uint64_t x);

/* Calls the batch-statistics callback, if any and if it has not failed in this pass, with the
 * statistics of conv c (forward.c); *count, s1, s2 are replaced by what it returns. */
void mnv2__bn_hook(struct mnv2_model *m, int32_t phase, const char *layer, uint32_t channels, double *count,
                   double *s1, double *s2);

#endif
