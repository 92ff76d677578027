/* SPDX-License-Identifier: BSD-2-Clause */
/* Internal: a MobileNetV2 recognised in an ONNX graph (onnx_match.c), before it becomes a
 * configuration and weights (onnx_import.c). Tensors point into the graph. */
#ifndef MNV2_ONNX_MATCH_H
#define MNV2_ONNX_MATCH_H
#include <stdint.h>

#include "onnx/onnx_graph.h"

/* One Conv with its optional bias, batch norm and ReLU6. */
typedef struct mx_unit {
    const ox_node *conv;
    uint32_t k, stride, group, cin, cout;
    const ox_tensor *w, *b;       /* b may be NULL */
    const ox_tensor *bn[4];       /* scale, bias, mean, var; all NULL without batch norm */
    float eps;
    int act;
    pb_span out;
} mx_unit;

typedef struct mx_block {
    uint32_t cin, hid, cout, stride;
    int has_expand, residual;
    mx_unit expand, dw, project;
} mx_block;

typedef struct mx_net {
    uint32_t in_c, in_h, in_w, classes;
    int nhwc;                      /* a leading Transpose from NHWC */
    uint32_t norm_n;               /* leading Sub / Div: per-channel mean and std (0: none) */
    float norm_mean[64], norm_std[64];
    mx_unit stem, head;
    mx_block *blocks;              /* n_blocks, owned (free) */
    uint32_t n_blocks;
    const ox_tensor *fc_w, *fc_b;  /* fc_b may be NULL */
    int fc_trans;                  /* fc_w is [classes][features] (Gemm transB = 1) */
} mx_net;

/* Walk the graph from its input to its output. MNV2_OK, or MNV2_ERR_UNSUPPORTED naming the first
 * node that does not fit (message set). net->blocks is freed by the caller (also on failure). */
int32_t mnv2__mx_match(ox_graph *g, const char *what, mx_net *net);
/* The constant (initializer or Constant node output) called `name`, or NULL. */
const ox_tensor *mnv2__mx_const(const ox_graph *g, pb_span name);

#endif
