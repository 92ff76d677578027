/* SPDX-License-Identifier: BSD-2-Clause */
/* Internal: the plan. Shapes, parameter offsets, arena offsets, MACs and bytes of a network,
 * computed from a configuration alone. The network is stem -> inverted-residual blocks -> head
 * conv -> global average pool -> dropout -> classifier; never a general graph. */
#ifndef MNV2_PLAN_H
#define MNV2_PLAN_H
#include <stddef.h>
#include <stdint.h>

#include "config.h"

enum { CONV_STEM = 0, CONV_PW = 1, CONV_DW = 2 };

/* A convolution followed by batch norm and, if act, ReLU6. Offsets are in floats. */
typedef struct plan_conv {
    int kind, act;
    uint32_t in_h, in_w, cin, out_h, out_w, cout, stride;
    size_t w, gamma, beta;   /* offsets into the parameters (and gradients) */
    size_t rmean, rvar;      /* offsets into the buffers */
    size_t z;                /* training: arena offset of the pre-BN output (max batch; depthwise: in s1) */
    size_t stats;            /* training: arena offset of [mean | invstd], 2 * cout */
    size_t pk;               /* pointwise: offset of the folded weights packed for inference
                              * (mnv2__gemm_pack_b) in the packed region */
    uint64_t macs, params;
    char name[40];           /* torchvision prefix, e.g. "features.2.conv.1" */
} plan_conv;

typedef struct plan_block {
    uint32_t cin, cout, hid, stride, in_h, in_w, out_h, out_w;
    uint32_t band;           /* output rows per (image, band) task: fused inference tile, training depthwise passes */
    int residual, has_expand;
    plan_conv expand, dw, project;
    size_t out;              /* training: arena offset of the stored block output */
} plan_block;

typedef struct plan_tensor {
    char name[48];
    int32_t kind;            /* MNV2_TENSOR_* */
    uint32_t ndim, dims[4];
    size_t numel, off;       /* offset into params (PARAM) or buffers */
    int decay;               /* weight decay applies by default */
} plan_tensor;

typedef struct mnv2_plan {
    struct mnv2_config cfg;
    size_t batch;                     /* max batch the arena is sized for */
    uint32_t n_blocks;
    plan_conv stem, head;
    plan_block *blocks;
    uint32_t fc_in, classes;
    size_t fc_w, fc_b;
    size_t fc_pk;                     /* the classifier's weights in the packed region (floats) */
    size_t n_params, n_buffers;
    uint32_t n_tensors;
    plan_tensor *tensors;
    uint64_t macs;
    /* Arena (floats), laid out by the table in arena.inc: training storage first (only in trainable
     * models), then scratch. */
    size_t input;                     /* training: copy of the input batch (stem weight gradient) */
    size_t x0;                        /* training: stored stem activation (input of block 0) */
    size_t pooled, mask, logits, probs;
    size_t s1, s2, g1, g2;            /* scratch: two hidden-size, two block-io-size */
    size_t stat_tmp;                  /* scratch: per-channel temporaries (12 * max channels) */
    size_t cpart;                     /* scratch: per-chunk partial channel sums and statistics */
    size_t wpart;                     /* training scratch: partial weight gradients (per image / band of the
                                       * 3x3 convolutions, per row chunk of the 1x1 ones) */
    size_t tile, tile_floats;         /* inference: per-thread tiles of the fused blocks */
    uint32_t threads;                 /* worker threads (MNV2_KEY_THREADS, 0 resolved) */
    size_t arena_floats;
    size_t n_packed;                  /* floats of the weights packed for inference: pointwise
                                       * convolutions and classifier */
    size_t packed;                    /* where they start in the block (floats, 16-aligned), last */
    size_t block_bytes;               /* mnv2_model_create's one allocation: arena, parameters, folded
                                       * weights, buffers (gradients, moments), packed weights and
                                       * alignment slack */
    size_t max_c;
    int trainable;
} mnv2_plan;

/* Build a plan for cfg at max batch cfg->max_batch; trainable selects the arena layout.
 * Returns MNV2_OK or an error (message set). *out is freed with mnv2__plan_free. */
int32_t mnv2__plan_create(const struct mnv2_config *cfg, int trainable, mnv2_plan **out);
void mnv2__plan_free(mnv2_plan *p);
/* Bytes mnv2_model_create allocates for this plan (model struct, plan, buffers, arena). */
uint64_t mnv2__plan_bytes(const mnv2_plan *p);
/* The thread count a configuration asks for (0 = the CPUs the process may use, mnv2__usable_cpus). */
uint32_t mnv2__plan_threads(const struct mnv2_config *cfg);

#endif
