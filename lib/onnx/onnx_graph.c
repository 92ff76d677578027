/* SPDX-License-Identifier: BSD-2-Clause */
/* Reading an ONNX ModelProto into plain arrays (onnx_graph.h). The schema parts read nest at
 * most 7 messages deep (model, graph, value info, type, tensor type, shape, dimension); unknown
 * fields are skipped without being parsed, so a subgraph in an attribute is never entered. */
#include <stdlib.h>
#include <string.h>

#include "internal_error.h"
#include "mnv2.h"
#include "onnx/onnx.h"
#include "onnx/onnx_graph.h"


static int32_t malformed(const char *what, const char *where)
{
    return mnv2__fail(MNV2_ERR_FORMAT, "%s: not a valid ONNX model: malformed protobuf in %s", what, where);
}

/* Repeated int64 field: packed (one length-delimited field) or one varint per field. */
static int add_ints(const pb_field *f, int64_t *dst, uint32_t cap, uint32_t *n)
{
    if (f->wire == PB_VARINT) {
        if (*n < cap)
            dst[*n] = (int64_t)f->v;
        (*n)++;
        return 1;
    }
    if (f->wire != PB_LEN)
        return 0;
    const uint8_t *p = f->s.p, *end = f->s.p + f->s.n;
    while (p < end) {
        uint64_t v;
        if (!mnv2__pb_read_varint(&p, end, &v) || *n == UINT32_MAX)
            return 0;
        if (*n < cap)
            dst[*n] = (int64_t)v;
        (*n)++;
    }
    return 1;
}

static int read_tensor(pb_rd *r, ox_tensor *t)
{
    pb_field f;
    int k;
    memset(t, 0, sizeof *t);
    while ((k = mnv2__pb_next(r, &f)) == 1) {
        switch (f.num) {
        case ONNX_TENSOR_DIMS:
            if (!add_ints(&f, t->dims, OX_MAX_DIMS, &t->nd))
                return 0;
            break;
        case ONNX_TENSOR_DATA_TYPE:
            if (f.wire != PB_VARINT)
                return 0;
            t->dtype = (int32_t)f.v;
            break;
        case ONNX_TENSOR_NAME:
            if (f.wire != PB_LEN)
                return 0;
            t->name = f.s;
            break;
        case ONNX_TENSOR_RAW_DATA:
            if (f.wire != PB_LEN)
                return 0;
            t->raw = f.s;
            break;
        case ONNX_TENSOR_FLOAT_DATA:
        case ONNX_TENSOR_INT64_DATA:
        case ONNX_TENSOR_INT32_DATA:
            if (f.wire != PB_LEN || t->packed.p)
                return 0; /* unpacked repeated values: refused as malformed for this reader */
            t->packed = f.s;
            break;
        case ONNX_TENSOR_DATA_LOCATION:
            t->external = f.v == 1;
            break;
        default:
            break;
        }
    }
    if (k < 0 || t->nd > OX_MAX_DIMS)
        return 0;
    t->numel = 1;
    for (uint32_t i = 0; i < t->nd; i++) {
        if (t->dims[i] < 0 || (t->dims[i] && t->numel > UINT64_MAX / (uint64_t)t->dims[i]))
            return 0;
        t->numel *= (uint64_t)t->dims[i];
    }
    return 1;
}

static int read_attr(const pb_rd *parent, const pb_field *pf, ox_attr *a)
{
    pb_rd r;
    pb_field f;
    int k;
    if (!mnv2__pb_sub(parent, pf, &r))
        return 0;
    memset(a, 0, sizeof *a);
    while ((k = mnv2__pb_next(&r, &f)) == 1) {
        if (f.num == ONNX_ATTR_NAME && f.wire == PB_LEN) {
            a->name = f.s;
        } else if (f.num == ONNX_ATTR_TYPE && f.wire == PB_VARINT) {
            a->type = (int32_t)f.v;
        } else if (f.num == ONNX_ATTR_F && f.wire == PB_FIXED32) {
            uint32_t u = (uint32_t)f.v;
            memcpy(&a->f, &u, 4);
        } else if (f.num == ONNX_ATTR_S && f.wire == PB_LEN) {
            a->s = f.s;
        } else if (f.num == ONNX_ATTR_I && f.wire == PB_VARINT) {
            a->i = (int64_t)f.v;
        } else if (f.num == ONNX_ATTR_INTS) {
            if (!add_ints(&f, a->ints, OX_MAX_INTS, &a->n_ints))
                return 0;
        } else if (f.num == ONNX_ATTR_T && f.wire == PB_LEN) {
            pb_rd tr;
            if (!mnv2__pb_sub(&r, &f, &tr) || !read_tensor(&tr, &a->t))
                return 0;
            a->has_t = 1;
        }
    }
    return k == 0;
}

static int read_node(const pb_rd *parent, const pb_field *pf, ox_node *n)
{
    pb_rd r;
    pb_field f;
    int k;
    if (!mnv2__pb_sub(parent, pf, &r))
        return 0;
    memset(n, 0, sizeof *n);
    while ((k = mnv2__pb_next(&r, &f)) == 1) {
        if (f.wire != PB_LEN)
            continue;
        switch (f.num) {
        case ONNX_NODE_INPUT:
            if (n->n_in < OX_MAX_IO)
                n->in[n->n_in] = f.s;
            n->n_in += n->n_in < UINT32_MAX;
            break;
        case ONNX_NODE_OUTPUT:
            if (n->n_out < OX_MAX_IO)
                n->out[n->n_out] = f.s;
            n->n_out += n->n_out < UINT32_MAX;
            break;
        case ONNX_NODE_NAME: n->name = f.s; break;
        case ONNX_NODE_OP_TYPE: n->op = f.s; break;
        case ONNX_NODE_DOMAIN: n->domain = f.s; break;
        case ONNX_NODE_ATTRIBUTE:
            if (n->n_attrs >= OX_MAX_ATTRS || !read_attr(&r, &f, &n->attrs[n->n_attrs]))
                return 0;
            n->n_attrs++;
            break;
        default: break;
        }
    }
    return k == 0;
}

/* ValueInfoProto: name and, for a float tensor type, its dims. */
static int read_value(const pb_rd *parent, const pb_field *pf, ox_value *v)
{
    pb_rd r, ty, tt, sh, dm;
    pb_field f, g, h, d, e;
    int k;
    memset(v, 0, sizeof *v);
    if (!mnv2__pb_sub(parent, pf, &r))
        return 0;
    while ((k = mnv2__pb_next(&r, &f)) == 1) {
        if (f.num == ONNX_VALUE_NAME && f.wire == PB_LEN)
            v->name = f.s;
        if (f.num != ONNX_VALUE_TYPE || !mnv2__pb_sub(&r, &f, &ty))
            continue;
        while ((k = mnv2__pb_next(&ty, &g)) == 1) {
            if (g.num != ONNX_TYPE_TENSOR || !mnv2__pb_sub(&ty, &g, &tt))
                continue;
            while ((k = mnv2__pb_next(&tt, &h)) == 1) {
                if (h.num == ONNX_TTYPE_ELEM && h.wire == PB_VARINT)
                    v->elem = (int32_t)h.v;
                if (h.num != ONNX_TTYPE_SHAPE || !mnv2__pb_sub(&tt, &h, &sh))
                    continue;
                while ((k = mnv2__pb_next(&sh, &d)) == 1) {
                    if (d.num != ONNX_SHAPE_DIM || !mnv2__pb_sub(&sh, &d, &dm))
                        continue;
                    if (v->nd >= OX_MAX_DIMS)
                        return 0;
                    int64_t val = -1;
                    while ((k = mnv2__pb_next(&dm, &e)) == 1)
                        if (e.num == ONNX_DIM_VALUE && e.wire == PB_VARINT)
                            val = (int64_t)e.v;
                    if (k < 0)
                        return 0;
                    v->dims[v->nd++] = val;
                }
                if (k < 0)
                    return 0;
            }
            if (k < 0)
                return 0;
        }
        if (k < 0)
            return 0;
    }
    return k == 0;
}

static int32_t read_graph(const pb_rd *parent, const pb_field *pf, const char *what, ox_graph *g)
{
    pb_rd r, r2;
    pb_field f;
    int k;
    if (!mnv2__pb_sub(parent, pf, &r))
        return malformed(what, "graph");
    /* Pass 1: counts, so the arrays are sized once (each entry holds at least 2 bytes). */
    uint32_t nn = 0, ni = 0;
    r2 = r;
    while ((k = mnv2__pb_next(&r2, &f)) == 1) {
        nn += f.num == ONNX_GRAPH_NODE;
        ni += f.num == ONNX_GRAPH_INITIALIZER;
    }
    if (k < 0)
        return malformed(what, "graph");
    if (nn > OX_MAX_NODES || ni > OX_MAX_INITS)
        return mnv2__fail(MNV2_ERR_UNSUPPORTED, "%s: %u nodes and %u initializers; at most %u of each are read", what,
                          (unsigned)nn, (unsigned)ni, (unsigned)OX_MAX_NODES);
    g->nodes = calloc(nn ? nn : 1, sizeof *g->nodes);
    g->inits = calloc(ni ? ni : 1, sizeof *g->inits);
    if (!g->nodes || !g->inits)
        return mnv2__fail(MNV2_ERR_OUT_OF_MEMORY, "%s: out of memory", what);
    while ((k = mnv2__pb_next(&r, &f)) == 1) {
        if (f.num == ONNX_GRAPH_NODE) {
            if (!read_node(&r, &f, &g->nodes[g->n_nodes]))
                return malformed(what, "a node");
            g->n_nodes++;
        } else if (f.num == ONNX_GRAPH_INITIALIZER) {
            pb_rd tr;
            if (!mnv2__pb_sub(&r, &f, &tr) || !read_tensor(&tr, &g->inits[g->n_inits]))
                return malformed(what, "an initializer");
            g->n_inits++;
        } else if (f.num == ONNX_GRAPH_INPUT || f.num == ONNX_GRAPH_OUTPUT) {
            ox_value v;
            if (!read_value(&r, &f, &v))
                return malformed(what, f.num == ONNX_GRAPH_INPUT ? "a graph input" : "a graph output");
            if (f.num == ONNX_GRAPH_INPUT) {
                if (g->n_inputs < OX_MAX_IO)
                    g->inputs[g->n_inputs] = v;
                g->n_inputs += g->n_inputs < UINT32_MAX;
            } else {
                if (g->n_outputs < OX_MAX_IO)
                    g->outputs[g->n_outputs] = v;
                g->n_outputs += g->n_outputs < UINT32_MAX;
            }
        }
    }
    return k < 0 ? malformed(what, "graph") : MNV2_OK;
}

int32_t mnv2__ox_graph_read(const uint8_t *data, size_t size, const char *what, ox_graph *g)
{
    memset(g, 0, sizeof *g);
    g->opset = -1;
    pb_rd r = mnv2__pb_reader(data, size);
    pb_field f;
    int k, have_graph = 0;
    while ((k = mnv2__pb_next(&r, &f)) == 1) {
        if (f.num == ONNX_MODEL_GRAPH) {
            if (have_graph)
                return mnv2__fail(MNV2_ERR_FORMAT, "%s: two graphs in the model", what);
            have_graph = 1;
            int32_t rc = read_graph(&r, &f, what, g);
            if (rc != MNV2_OK)
                return rc;
        } else if (f.num == ONNX_MODEL_OPSET_IMPORT) {
            pb_rd o;
            pb_field e;
            pb_span domain = {NULL, 0};
            int64_t version = -1;
            if (!mnv2__pb_sub(&r, &f, &o))
                return malformed(what, "opset_import");
            while ((k = mnv2__pb_next(&o, &e)) == 1) {
                if (e.num == ONNX_OPSET_DOMAIN && e.wire == PB_LEN)
                    domain = e.s;
                else if (e.num == ONNX_OPSET_VERSION && e.wire == PB_VARINT)
                    version = (int64_t)e.v;
            }
            if (k < 0)
                return malformed(what, "opset_import");
            if (domain.n == 0 || mnv2__pb_eq(domain, "ai.onnx"))
                g->opset = version;
        } else if (f.num == ONNX_MODEL_METADATA) {
            pb_rd o;
            pb_field e;
            pb_span key = {NULL, 0}, value = {NULL, 0};
            if (!mnv2__pb_sub(&r, &f, &o))
                return malformed(what, "metadata_props");
            while ((k = mnv2__pb_next(&o, &e)) == 1) {
                if (e.num == ONNX_ENTRY_KEY && e.wire == PB_LEN)
                    key = e.s;
                else if (e.num == ONNX_ENTRY_VALUE && e.wire == PB_LEN)
                    value = e.s;
            }
            if (k < 0)
                return malformed(what, "metadata_props");
            if (g->n_meta < OX_MAX_META) {
                g->meta_key[g->n_meta] = key;
                g->meta_value[g->n_meta++] = value;
            }
        }
    }
    if (k < 0)
        return malformed(what, "the model");
    if (!have_graph)
        return mnv2__fail(MNV2_ERR_FORMAT, "%s: not an ONNX model (no graph)", what);
    return MNV2_OK;
}

void mnv2__ox_graph_free(ox_graph *g)
{
    free(g->nodes);
    free(g->inits);
    g->nodes = NULL;
    g->inits = NULL;
}

int mnv2__ox_tensor_floats(const ox_tensor *t, float *dst, uint64_t n)
{
    if (t->external || t->dtype != ONNX_DTYPE_FLOAT || t->numel != n)
        return 0;
    const pb_span *s = t->raw.p ? &t->raw : &t->packed;
    if (s->n / 4 != n || s->n % 4 != 0)
        return 0;
    mnv2__get_f32s(dst, s->p, (size_t)n);
    return 1;
}

int mnv2__ox_tensor_ints(const ox_tensor *t, int64_t *dst, uint64_t cap)
{
    if (t->external || t->numel > cap || (t->dtype != ONNX_DTYPE_INT64 && t->dtype != ONNX_DTYPE_INT32))
        return 0;
    const uint64_t n = t->numel;
    const size_t w = t->dtype == ONNX_DTYPE_INT64 ? 8 : 4;
    if (t->raw.p) {
        if (t->raw.n != n * w)
            return 0;
        for (uint64_t i = 0; i < n; i++)
            dst[i] = w == 8 ? (int64_t)mnv2__le64(t->raw.p + i * 8) : (int64_t)(int32_t)mnv2__le32(t->raw.p + i * 4);
        return 1;
    }
    uint32_t got = 0;
    pb_field f = {.wire = PB_LEN, .s = t->packed};
    if (!add_ints(&f, dst, (uint32_t)cap, &got) || got != n)
        return 0;
    if (w == 4)
        for (uint64_t i = 0; i < n; i++)
            dst[i] = (int64_t)(int32_t)dst[i];
    return 1;
}
