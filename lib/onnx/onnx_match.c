/* SPDX-License-Identifier: BSD-2-Clause */
/* Recognising a MobileNetV2 in an ONNX graph: a walk along the data flow from the graph input,
 * one expected operation at a time (onnx_match.h). The first node that does not fit ends the walk
 * with MNV2_ERR_UNSUPPORTED and its name. Side computations that only feed a Reshape's shape
 * (Shape, Gather, Unsqueeze, Concat, Constant) are not on the walk. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal_error.h"
#include "mnv2.h"
#include "onnx/onnx.h"
#include "onnx/onnx_match.h"

typedef struct walk {
    ox_graph *g;
    const char *what;
} walk;

#define SPAN(s) (int)((s).n > 200 ? 200 : (s).n), (const char *)(s).p

static int32_t refuse(const walk *w, const ox_node *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int32_t refuse(const walk *w, const ox_node *n, const char *fmt, ...)
{
    char why[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    if (!n)
        return mnv2__fail(MNV2_ERR_UNSUPPORTED, "%s: not a MobileNetV2 mnv2 can map: %s", w->what, why);
    return mnv2__fail(MNV2_ERR_UNSUPPORTED, "%s: cannot map node %u '%.*s' (%.*s): %s", w->what,
                      (unsigned)(n - w->g->nodes), SPAN(n->name), SPAN(n->op), why);
}

static int span_eq(pb_span a, pb_span b) { return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0); }

const ox_tensor *mnv2__mx_const(const ox_graph *g, pb_span name)
{
    /* An initializer, a Constant node's value, or either through a chain of Identity nodes
     * (torch.onnx.export shares equal constants that way); chains longer than 16 are not followed. */
    for (int hop = 0; hop < 16 && name.n; hop++) {
        for (uint32_t i = 0; i < g->n_inits; i++)
            if (span_eq(g->inits[i].name, name))
                return &g->inits[i];
        const ox_node *via = NULL;
        for (uint32_t i = 0; i < g->n_nodes && !via; i++) {
            const ox_node *n = &g->nodes[i];
            if (n->n_out != 1 || !span_eq(n->out[0], name) || n->domain.n)
                continue;
            if (mnv2__pb_eq(n->op, "Constant")) {
                for (uint32_t a = 0; a < n->n_attrs; a++)
                    if (mnv2__pb_eq(n->attrs[a].name, "value") && n->attrs[a].has_t)
                        return &n->attrs[a].t;
                return NULL;
            }
            if (mnv2__pb_eq(n->op, "Identity") && n->n_in == 1)
                via = n;
        }
        if (!via)
            return NULL;
        name = via->in[0];
    }
    return NULL;
}

/* The one node reading v (NULL when none or several). */
static ox_node *reader(const walk *w, pb_span v);

static const ox_attr *attr(const ox_node *n, const char *name)
{
    for (uint32_t a = 0; a < n->n_attrs; a++)
        if (mnv2__pb_eq(n->attrs[a].name, name))
            return &n->attrs[a];
    return NULL;
}

static int64_t attr_int(const ox_node *n, const char *name, int64_t dflt)
{
    const ox_attr *a = attr(n, name);
    return a ? a->i : dflt;
}

/* Nodes reading value v (Shape nodes excluded: they only feed a Reshape's shape). */
static uint32_t consumers(const walk *w, pb_span v, ox_node **out, uint32_t cap)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < w->g->n_nodes; i++) {
        ox_node *n = &w->g->nodes[i];
        if (mnv2__pb_eq(n->op, "Shape"))
            continue;
        int reads = 0;
        for (uint32_t j = 0; j < n->n_in && j < OX_MAX_IO; j++)
            reads |= span_eq(n->in[j], v);
        if (reads) {
            if (k < cap)
                out[k] = n;
            k++;
        }
    }
    return k;
}

static ox_node *reader(const walk *w, pb_span v)
{
    ox_node *n[2];
    return consumers(w, v, n, 2) == 1 ? n[0] : NULL;
}

/* The one node reading *v, after skipping Identity and Dropout (inference: identities).
 * On success *v stays the value that node reads. */
static int32_t next(const walk *w, pb_span *v, ox_node **out)
{
    for (uint32_t guard = 0; guard <= w->g->n_nodes; guard++) {
        ox_node *n[2];
        uint32_t k = consumers(w, *v, n, 2);
        if (k == 0)
            return refuse(w, NULL, "value '%.*s' is read by no node", SPAN(*v));
        if (k > 1)
            return refuse(w, n[1], "value '%.*s' is read by %u nodes where one is expected", SPAN(*v), (unsigned)k);
        if (n[0]->used)
            return refuse(w, n[0], "reached twice: the graph has a cycle");
        if ((mnv2__pb_eq(n[0]->op, "Identity") || mnv2__pb_eq(n[0]->op, "Dropout")) && n[0]->n_out >= 1 &&
            span_eq(n[0]->in[0], *v)) {
            n[0]->used = 1;
            *v = n[0]->out[0];
            continue;
        }
        *out = n[0];
        return MNV2_OK;
    }
    return refuse(w, NULL, "a cycle of Identity nodes");
}

static int is_op(const ox_node *n, const char *op) { return mnv2__pb_eq(n->op, op) && n->domain.n == 0; }

/* A float scalar constant (Clip bounds). */
static int scalar(const ox_graph *g, pb_span name, float *v)
{
    const ox_tensor *t = mnv2__mx_const(g, name);
    return t && t->numel == 1 && mnv2__ox_tensor_floats(t, v, 1);
}

static int32_t clip_ok(const walk *w, const ox_node *n)
{
    float lo = -1, hi = -1;
    const ox_attr *amin = attr(n, "min"), *amax = attr(n, "max");
    if (n->n_in >= 3) {
        if (!scalar(w->g, n->in[1], &lo) || !scalar(w->g, n->in[2], &hi))
            return refuse(w, n, "Clip bounds are not float constants");
    } else if (n->n_in == 1 && amin && amax) {
        lo = amin->f, hi = amax->f;
    } else {
        return refuse(w, n, "Clip without both bounds");
    }
    if (lo != 0.0f || hi != 6.0f)
        return refuse(w, n, "Clip(%g, %g) is not ReLU6", (double)lo, (double)hi);
    return MNV2_OK;
}

/* The Conv reading x (other readers, such as a residual Add, are allowed), with bias, batch
 * norm and ReLU6 after it. */
static int32_t conv_unit(const walk *w, pb_span x, mx_unit *u)
{
    ox_node *c[4], *conv = NULL;
    uint32_t k = consumers(w, x, c, 4);
    for (uint32_t i = 0; i < k && i < 4; i++) {
        if (!is_op(c[i], "Conv"))
            continue;
        if (conv)
            return refuse(w, c[i], "a second convolution reads '%.*s'", SPAN(x));
        conv = c[i];
    }
    if (conv && conv->used)
        return refuse(w, conv, "reached twice: the graph has a cycle");
    if (!conv)
        return k ? refuse(w, c[0], "expected a Conv reading '%.*s'", SPAN(x))
                 : refuse(w, NULL, "value '%.*s' is read by no node", SPAN(x));
    memset(u, 0, sizeof *u);
    u->conv = conv;
    conv->used = 1;
    if (conv->n_in < 2 || conv->n_in > 3 || conv->n_out != 1 || !span_eq(conv->in[0], x))
        return refuse(w, conv, "unexpected inputs or outputs");
    u->w = mnv2__mx_const(w->g, conv->in[1]);
    u->b = conv->n_in == 3 && conv->in[2].n ? mnv2__mx_const(w->g, conv->in[2]) : NULL;
    if (!u->w || u->w->nd != 4 || u->w->dtype != ONNX_DTYPE_FLOAT)
        return refuse(w, conv, "the weight is not a constant 4-d float tensor");
    if (conv->n_in == 3 && conv->in[2].n && (!u->b || u->b->nd != 1 || u->b->dims[0] != u->w->dims[0]))
        return refuse(w, conv, "the bias is not a constant vector of the output channels");
    const ox_attr *a;
    u->group = (uint32_t)attr_int(conv, "group", 1);
    u->k = (uint32_t)u->w->dims[2];
    if (u->w->dims[3] != u->w->dims[2] || (u->k != 1 && u->k != 3))
        return refuse(w, conv, "kernel %lldx%lld; only 1x1 and 3x3 are mapped", (long long)u->w->dims[2],
                      (long long)u->w->dims[3]);
    if ((a = attr(conv, "kernel_shape")) && (a->n_ints != 2 || a->ints[0] != u->k || a->ints[1] != u->k))
        return refuse(w, conv, "kernel_shape differs from the weight's");
    u->stride = 1;
    if ((a = attr(conv, "strides"))) {
        if (a->n_ints != 2 || a->ints[0] != a->ints[1] || (a->ints[0] != 1 && a->ints[0] != 2))
            return refuse(w, conv, "strides must be 1x1 or 2x2");
        u->stride = (uint32_t)a->ints[0];
    }
    const int64_t pad = u->k / 2;
    if ((a = attr(conv, "pads"))) {
        if (a->n_ints != 4)
            return refuse(w, conv, "pads must have 4 values");
        for (int i = 0; i < 4; i++)
            if (a->ints[i] != pad)
                return refuse(w, conv, "pads must all be %lld", (long long)pad);
    } else if (pad) {
        return refuse(w, conv, "a 3x3 convolution without padding 1");
    }
    if ((a = attr(conv, "dilations")))
        for (uint32_t i = 0; i < a->n_ints && i < OX_MAX_INTS; i++)
            if (a->ints[i] != 1)
                return refuse(w, conv, "dilation other than 1");
    if ((a = attr(conv, "auto_pad")) && a->s.n && !mnv2__pb_eq(a->s, "NOTSET"))
        return refuse(w, conv, "auto_pad %.*s", SPAN(a->s));
    if (u->group == 0 || u->w->dims[0] <= 0 || u->w->dims[0] > 65536 || u->w->dims[1] <= 0 ||
        u->w->dims[1] > 65536 || (int64_t)u->group > u->w->dims[0] || u->w->dims[0] % u->group)
        return refuse(w, conv, "channels and groups do not fit");
    u->cout = (uint32_t)u->w->dims[0];
    u->cin = (uint32_t)u->w->dims[1] * u->group;
    pb_span y = conv->out[0];
    ox_node *n;
    int32_t rc = next(w, &y, &n);
    if (rc != MNV2_OK) {
        u->out = y; /* read by several nodes (a block output): the caller looks at them */
        mnv2__clear_error();
        return MNV2_OK;
    }
    if (is_op(n, "BatchNormalization")) {
        n->used = 1;
        if (n->n_in != 5 || n->n_out < 1)
            return refuse(w, n, "expected 5 inputs");
        for (int i = 0; i < 4; i++) {
            u->bn[i] = mnv2__mx_const(w->g, n->in[i + 1]);
            if (!u->bn[i] || u->bn[i]->nd != 1 || u->bn[i]->dims[0] != (int64_t)u->cout)
                return refuse(w, n, "parameter %d is not a constant vector of %u channels", i + 1, (unsigned)u->cout);
        }
        for (uint32_t o = 1; o < n->n_out && o < OX_MAX_IO; o++) {
            ox_node *r[1];
            if (n->out[o].n && consumers(w, n->out[o], r, 1))
                return refuse(w, n, "its running statistics outputs are used");
        }
        const ox_attr *e = attr(n, "epsilon");
        u->eps = e ? e->f : 1e-5f;
        if (!(u->eps > 0.0f && u->eps < 1.0f))
            return refuse(w, n, "epsilon %g outside (0, 1)", (double)u->eps);
        y = n->out[0];
        if (next(w, &y, &n) != MNV2_OK) {
            u->out = y;
            mnv2__clear_error();
            return MNV2_OK;
        }
    }
    if (is_op(n, "Clip")) {
        if ((rc = clip_ok(w, n)) != MNV2_OK)
            return rc;
        n->used = 1;
        u->act = 1;
        y = n->out[0];
    }
    u->out = y;
    mnv2__clear_error();
    return MNV2_OK;
}

static int32_t input_side(const walk *w, mx_net *net, pb_span *x)
{
    const ox_graph *g = w->g;
    const ox_value *in = NULL;
    for (uint32_t i = 0; i < g->n_inputs && i < OX_MAX_IO; i++)
        if (!mnv2__mx_const(g, g->inputs[i].name)) {
            if (in)
                return refuse(w, NULL, "more than one graph input");
            in = &g->inputs[i];
        }
    if (!in)
        return refuse(w, NULL, "no graph input");
    if (in->nd != 4 || in->elem != ONNX_DTYPE_FLOAT)
        return refuse(w, NULL, "input '%.*s' is not a 4-d float tensor", SPAN(in->name));
    *x = in->name;
    int64_t c = in->dims[1], h = in->dims[2], wd = in->dims[3];
    ox_node *n;
    if (next(w, x, &n) != MNV2_OK)
        return refuse(w, NULL, "the input is read by no node or several");
    mnv2__clear_error();
    if (is_op(n, "Transpose")) {
        const ox_attr *p = attr(n, "perm");
        if (!p || p->n_ints != 4 || p->ints[0] != 0 || p->ints[1] != 3 || p->ints[2] != 1 || p->ints[3] != 2)
            return refuse(w, n, "only the NHWC to NCHW transpose (perm 0,3,1,2) is mapped");
        n->used = 1;
        net->nhwc = 1;
        c = in->dims[3], h = in->dims[1], wd = in->dims[2];
        *x = n->out[0];
        if (next(w, x, &n) != MNV2_OK)
            return refuse(w, n, "its output is read by no node or several");
    }
    if (c < 1 || c > 64 || h < 1 || h > 4096 || wd < 1 || wd > 4096)
        return refuse(w, NULL, "input shape needs fixed channels (1..64), height and width (1..4096)");
    net->in_c = (uint32_t)c, net->in_h = (uint32_t)h, net->in_w = (uint32_t)wd;
    if (is_op(n, "Sub")) {
        ox_node *d;
        pb_span y = n->out[0];
        const ox_tensor *m = n->n_in == 2 ? mnv2__mx_const(w->g, n->in[1]) : NULL;
        if (!m || !(m->numel == 1 || m->numel == (uint64_t)c) || !mnv2__ox_tensor_floats(m, net->norm_mean, m->numel) ||
            next(w, &y, &d) != MNV2_OK || !is_op(d, "Div"))
            return refuse(w, n, "only (input - mean) / std with constant per-channel values is mapped");
        const ox_tensor *s = d->n_in == 2 ? mnv2__mx_const(w->g, d->in[1]) : NULL;
        if (!s || s->numel != m->numel || !span_eq(d->in[0], y) || !mnv2__ox_tensor_floats(s, net->norm_std, s->numel))
            return refuse(w, d, "only (input - mean) / std with constant per-channel values is mapped");
        n->used = d->used = 1;
        net->norm_n = (uint32_t)m->numel;
        *x = d->out[0];
    }
    return MNV2_OK;
}

static int32_t blocks(const walk *w, mx_net *net, pb_span *x, uint32_t c, uint32_t *hw)
{
    uint32_t cap = 0;
    for (;;) {
        mx_unit a, d, p;
        int32_t rc = conv_unit(w, *x, &a);
        if (rc != MNV2_OK)
            return rc;
        if (a.cin != c)
            return refuse(w, a.conv, "reads %u channels, %u arrive", (unsigned)a.cin, (unsigned)c);
        mx_block b;
        memset(&b, 0, sizeof b);
        b.cin = c;
        if (a.k == 1 && a.group == 1 && a.act) {
            ox_node *r[1];
            if (consumers(w, a.out, r, 1) != 1 || !is_op(r[0], "Conv")) {
                net->head = a;
                *x = a.out;
                return MNV2_OK;
            }
            b.has_expand = 1;
            b.expand = a;
            if ((rc = conv_unit(w, a.out, &d)) != MNV2_OK)
                return rc;
        } else {
            d = a;
        }
        b.hid = d.cin;
        if (d.k == 3 && !d.act && reader(w, d.out))
            return refuse(w, reader(w, d.out), "expected ReLU6 (Clip 0, 6) after the depthwise convolution");
        if (d.k != 3 || d.group != d.cin || d.cout != d.cin || !d.act || d.cin != (b.has_expand ? a.cout : c))
            return refuse(w, d.conv, "expected a 3x3 depthwise convolution with ReLU6 over %u channels",
                          (unsigned)(b.has_expand ? a.cout : c));
        b.dw = d;
        b.stride = d.stride;
        if (b.has_expand && a.stride != 1)
            return refuse(w, a.conv, "an expansion with stride 2");
        if ((rc = conv_unit(w, d.out, &p)) != MNV2_OK)
            return rc;
        if (p.k != 1 || p.group != 1 || p.act || p.cin != b.hid)
            return refuse(w, p.conv, "expected a linear 1x1 projection of %u channels", (unsigned)b.hid);
        b.project = p;
        b.cout = p.cout;
        *x = p.out;
        ox_node *r[2];
        uint32_t k = consumers(w, p.out, r, 2);
        if (k == 1 && is_op(r[0], "Add") && r[0]->n_in == 2 &&
            ((span_eq(r[0]->in[0], p.out) && span_eq(r[0]->in[1], a.conv->in[0])) ||
             (span_eq(r[0]->in[1], p.out) && span_eq(r[0]->in[0], a.conv->in[0])))) {
            b.residual = 1;
            r[0]->used = 1;
            *x = r[0]->out[0];
        }
        if (b.residual != (b.stride == 1 && b.cin == b.cout))
            return refuse(w, b.residual ? r[0] : p.conv, "a residual connection where mnv2 %s one",
                          b.residual ? "has no" : "always has");
        if (b.stride == 2)
            *hw += 1;
        if (net->n_blocks == cap) {
            cap = cap ? 2 * cap : 32;
            if (cap > 4 * 256)
                return refuse(w, p.conv, "more than 256 blocks");
            mx_block *nb = realloc(net->blocks, cap * sizeof *nb);
            if (!nb)
                return mnv2__fail(MNV2_ERR_OUT_OF_MEMORY, "%s: out of memory", w->what);
            net->blocks = nb;
        }
        net->blocks[net->n_blocks++] = b;
        c = b.cout;
    }
}

/* Pooling, flattening and the classifier. */
static int32_t tail(const walk *w, mx_net *net, pb_span x, uint32_t c)
{
    ox_node *n;
    int32_t rc = next(w, &x, &n);
    if (rc != MNV2_OK)
        return rc;
    if (is_op(n, "ReduceMean")) {
        int64_t axes[4];
        uint32_t na = 0;
        const ox_attr *a = attr(n, "axes");
        const ox_tensor *t = n->n_in >= 2 ? mnv2__mx_const(w->g, n->in[1]) : NULL;
        if (a && a->n_ints <= 4)
            memcpy(axes, a->ints, (na = a->n_ints) * sizeof axes[0]);
        else if (t && t->numel <= 4 && mnv2__ox_tensor_ints(t, axes, 4))
            na = (uint32_t)t->numel;
        if (na != 2 || !((axes[0] == 2 || axes[0] == -2) && (axes[1] == 3 || axes[1] == -1)))
            return refuse(w, n, "only the mean over height and width (axes 2, 3) is mapped");
    } else if (!is_op(n, "GlobalAveragePool")) {
        return refuse(w, n, "expected the global average pool after the head convolution");
    }
    n->used = 1;
    x = n->out[0];
    for (uint32_t steps = 0;; steps++) {
        if (steps > w->g->n_nodes)
            return refuse(w, n, "the graph has a cycle");
        if ((rc = next(w, &x, &n)) != MNV2_OK)
            return rc;
        if (is_op(n, "Flatten")) {
            if (attr_int(n, "axis", 1) != 1)
                return refuse(w, n, "Flatten with axis other than 1");
        } else if (is_op(n, "Reshape")) {
            const ox_tensor *t = n->n_in == 2 ? mnv2__mx_const(w->g, n->in[1]) : NULL;
            int64_t s[2];
            if (t && (t->numel != 2 || !mnv2__ox_tensor_ints(t, s, 2) || !(s[1] == -1 || s[1] == (int64_t)c) ||
                      !(s[0] == -1 || s[0] == 0 || s[1] == -1)))
                return refuse(w, n, "only a reshape to [batch, %u] is mapped", (unsigned)c);
        } else if (is_op(n, "Squeeze")) {
            /* [N, C, 1, 1] -> [N, C]: any axes among 2, 3 */
        } else {
            break;
        }
        n->used = 1;
        x = n->out[0];
    }
    if (is_op(n, "Gemm")) {
        const ox_attr *al = attr(n, "alpha"), *be = attr(n, "beta");
        if (n->n_in < 2 || n->n_in > 3 || !span_eq(n->in[0], x) || attr_int(n, "transA", 0) != 0 ||
            (al && al->f != 1.0f) || (be && be->f != 1.0f))
            return refuse(w, n, "only Gemm(x, W, b) with alpha 1, beta 1 and no transA is mapped");
        net->fc_trans = attr_int(n, "transB", 0) != 0;
        net->fc_w = mnv2__mx_const(w->g, n->in[1]);
        net->fc_b = n->n_in == 3 && n->in[2].n ? mnv2__mx_const(w->g, n->in[2]) : NULL;
        if (n->n_in == 3 && n->in[2].n && !net->fc_b)
            return refuse(w, n, "the bias is not a constant");
    } else if (is_op(n, "MatMul")) {
        if (n->n_in != 2 || !span_eq(n->in[0], x))
            return refuse(w, n, "only MatMul(x, W) is mapped");
        net->fc_w = mnv2__mx_const(w->g, n->in[1]);
        net->fc_trans = 0;
        n->used = 1;
        x = n->out[0];
        ox_node *add;
        if ((rc = next(w, &x, &add)) != MNV2_OK || !is_op(add, "Add") || add->n_in != 2)
            return rc != MNV2_OK ? rc : refuse(w, add, "expected Add(MatMul, bias) after the MatMul");
        net->fc_b = mnv2__mx_const(w->g, span_eq(add->in[0], x) ? add->in[1] : add->in[0]);
        if (!net->fc_b)
            return refuse(w, add, "the bias is not a constant");
        n = add;
    } else {
        return refuse(w, n, "expected the classifier (Gemm or MatMul + Add)");
    }
    n->used = 1;
    if (!net->fc_w || net->fc_w->nd != 2 || net->fc_w->dims[net->fc_trans ? 1 : 0] != (int64_t)c ||
        net->fc_w->dims[net->fc_trans ? 0 : 1] < 1 || net->fc_w->dims[net->fc_trans ? 0 : 1] > 65536)
        return refuse(w, n, "the weight is not a constant matrix over %u features", (unsigned)c);
    net->classes = (uint32_t)net->fc_w->dims[net->fc_trans ? 0 : 1];
    if (net->fc_b && (net->fc_b->numel != net->classes))
        return refuse(w, n, "the bias does not have %u values", (unsigned)net->classes);
    x = n->out[0];
    /* Trailing identities, then the graph output. */
    for (uint32_t guard = 0; guard <= w->g->n_nodes; guard++) {
        ox_node *r[1];
        if (consumers(w, x, r, 1) == 0)
            break;
        if ((rc = next(w, &x, &n)) != MNV2_OK)
            return rc;
        return refuse(w, n, "a node after the classifier");
    }
    if (w->g->n_outputs != 1 || !span_eq(w->g->outputs[0].name, x))
        return refuse(w, NULL, "the classifier's output '%.*s' is not the graph's only output", SPAN(x));
    return MNV2_OK;
}

int32_t mnv2__mx_match(ox_graph *g, const char *what, mx_net *net)
{
    walk w = {g, what};
    memset(net, 0, sizeof *net);
    if (g->opset < 7 || g->opset > 18)
        return refuse(&w, NULL, "opset %lld; opsets 7 to 18 are read", (long long)g->opset);
    pb_span x;
    int32_t rc = input_side(&w, net, &x);
    if (rc != MNV2_OK)
        return rc;
    if ((rc = conv_unit(&w, x, &net->stem)) != MNV2_OK)
        return rc;
    const mx_unit *s = &net->stem;
    if (!s->act && reader(&w, s->out))
        return refuse(&w, reader(&w, s->out), "expected ReLU6 (Clip 0, 6) after the stem convolution");
    if (s->k != 3 || s->stride != 2 || s->group != 1 || !s->act || s->cin != net->in_c)
        return refuse(&w, s->conv, "expected the stem: 3x3 stride-2 convolution of the %u input channels with ReLU6",
                      (unsigned)net->in_c);
    uint32_t halvings = 1;
    x = s->out;
    if ((rc = blocks(&w, net, &x, s->cout, &halvings)) != MNV2_OK)
        return rc;
    if (net->n_blocks == 0)
        return refuse(&w, net->head.conv, "no inverted-residual block before the head");
    return tail(&w, net, x, net->head.cout);
}
