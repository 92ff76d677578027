/* SPDX-License-Identifier: BSD-2-Clause */
/* Internal: an ONNX model read into plain arrays (onnx_graph.c). Every name and data field is a
 * span into the caller's buffer; nothing is copied. Only what the importer needs is kept. */
#ifndef MNV2_ONNX_GRAPH_H
#define MNV2_ONNX_GRAPH_H
#include <stdint.h>

#include "onnx/pb.h"

#define OX_MAX_DIMS 8
#define OX_MAX_IO 8       /* node inputs / outputs kept (the count is kept exactly) */
#define OX_MAX_ATTRS 16
#define OX_MAX_INTS 8
#define OX_MAX_NODES 8192
#define OX_MAX_INITS 8192
#define OX_MAX_META 32

typedef struct ox_tensor {
    pb_span name;
    int64_t dims[OX_MAX_DIMS];
    uint32_t nd;
    int32_t dtype;
    uint64_t numel;
    pb_span raw;        /* raw_data */
    pb_span packed;     /* float_data / int64_data / int32_data, packed */
    int external;       /* data_location EXTERNAL: refused */
} ox_tensor;

typedef struct ox_attr {
    pb_span name;
    int32_t type;
    float f;
    int64_t i;
    pb_span s;          /* string value */
    int64_t ints[OX_MAX_INTS];
    uint32_t n_ints;    /* exact count; values past OX_MAX_INTS are not kept */
    int has_t;
    ox_tensor t;
} ox_attr;

typedef struct ox_node {
    pb_span op, name, domain;
    pb_span in[OX_MAX_IO], out[OX_MAX_IO];
    uint32_t n_in, n_out;   /* exact counts */
    ox_attr attrs[OX_MAX_ATTRS];
    uint32_t n_attrs;
    int used;               /* claimed by the importer's walk */
} ox_node;

typedef struct ox_value {
    pb_span name;
    int64_t dims[OX_MAX_DIMS]; /* -1: symbolic or absent */
    uint32_t nd;
    int32_t elem;
} ox_value;

typedef struct ox_graph {
    int64_t opset;               /* version of the default domain */
    ox_node *nodes;
    uint32_t n_nodes;
    ox_tensor *inits;
    uint32_t n_inits;
    ox_value inputs[OX_MAX_IO], outputs[OX_MAX_IO];
    uint32_t n_inputs, n_outputs;  /* exact counts (inputs include initializers listed as inputs) */
    pb_span meta_key[OX_MAX_META], meta_value[OX_MAX_META];
    uint32_t n_meta;
} ox_graph;

/* Read a ModelProto. MNV2_OK, or MNV2_ERR_FORMAT / MNV2_ERR_UNSUPPORTED / MNV2_ERR_OUT_OF_MEMORY
 * with the message set ("what: ..."). Free with mnv2__ox_graph_free() (also after a failure). */
int32_t mnv2__ox_graph_read(const uint8_t *data, size_t size, const char *what, ox_graph *g);
void mnv2__ox_graph_free(ox_graph *g);

/* Float32 tensor values into dst[n], n == numel (raw or packed data). 1 on success. */
int mnv2__ox_tensor_floats(const ox_tensor *t, float *dst, uint64_t n);
/* Integer values (int64 or int32 tensors) into dst[n], n == numel, n <= cap. 1 on success. */
int mnv2__ox_tensor_ints(const ox_tensor *t, int64_t *dst, uint64_t cap);

#endif
