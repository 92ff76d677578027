/* SPDX-License-Identifier: BSD-2-Clause */
/* How work is split over the model's threads (see parallel.h): ranges, 2-D splits of matrix
 * products, (image, band) loops of the convolutions, row ranges of the element-wise passes. The
 * reductions built on these splits live in batch_stats.c, weight_grad.c and train_dw.c. */
#include <stdint.h>
#include <string.h>

#include "layers.h"
#include "parallel.h"
#include "pool.h"

size_t mnv2__ranges(const struct mnv2_model *m, size_t units, size_t cost)
{
    const size_t t = mnv2__pool_threads(m->pool);
    if (t == 1 || units * cost < 16384)
        return 1;
    size_t n = 4 * t;
    return n > units ? units : n;
}

/* Columns of C are split in blocks of MNV2_GEMM_COL_BLOCK columns. Every gemm kernel computes an
 * element of C the same way wherever it lies in a tile (edge tiles run the same arithmetic on a
 * padded copy), as it must for row ranges already; test_threads checks both splits at every
 * level. */
#define MNV2_GEMM_COL_BLOCK 32
_Static_assert(MNV2_GEMM_COL_BLOCK % MNV2_GEMM_PANEL == 0, "a column block starts a packed panel");

split2d mnv2__split_2d(const struct mnv2_model *m, size_t M, size_t N, size_t K, size_t want)
{
    split2d s = {.rows = 1, .cols = 1};
    const size_t t = mnv2__pool_threads(m->pool);
    if (t == 1 || M * N * K < 16384 || want < 2)
        return s;
    const size_t row_units = (M + 15) / 16, col_units = N / MNV2_GEMM_COL_BLOCK;
    s.rows = row_units < want ? row_units : want;
    if (s.rows < want && col_units > 1) {
        const size_t c = (want + s.rows - 1) / s.rows;
        s.cols = c < col_units ? c : col_units;
    }
    return s;
}

void mnv2__col_range(size_t N, size_t cols, size_t b, size_t *c0, size_t *c1)
{
    const size_t units = N / MNV2_GEMM_COL_BLOCK;
    *c0 = cols == 1 ? 0 : mnv2__part(units, cols, b) * MNV2_GEMM_COL_BLOCK;
    *c1 = b + 1 == cols ? N : mnv2__part(units, cols, b + 1) * MNV2_GEMM_COL_BLOCK;
}

typedef struct gemm_job {
    const struct mnv2_model *m;
    int kind, acc;
    size_t M, N, K, lda, ldb, ldc;
    split2d split;
    const float *a, *b, *bias;
    float *c;
    float lo, hi;
} gemm_job;

static void gemm_task(void *ctx, size_t i, uint32_t thread)
{
    const gemm_job *j = ctx;
    const mnv2_kernels *k = j->m->k;
    const size_t r = i / j->split.cols;
    const size_t r0 = mnv2__part(j->M, j->split.rows, r), r1 = mnv2__part(j->M, j->split.rows, r + 1);
    size_t c0, c1;
    mnv2__col_range(j->N, j->split.cols, i % j->split.cols, &c0, &c1);
    if (r1 == r0 || c1 == c0)
        return;
    const size_t m = r1 - r0, n = c1 - c0;
    float *c = j->c + r0 * j->ldc + c0;
    switch (j->kind) {
    case GEMM_NN:
        k->gemm_nn(m, n, j->K, j->a + r0 * j->lda, j->lda, j->b + c0, j->ldb, c, j->ldc, j->acc);
        break;
    case GEMM_NT: /* B is [N x K]: columns c0..c1 of C are rows c0..c1 of B */
        k->gemm_nt(m, n, j->K, j->a + r0 * j->lda, j->lda, j->b + c0 * j->ldb, j->ldb, c, j->ldc, j->acc);
        break;
    case GEMM_TN: /* A is [K x M]: the rows r0..r1 of C are the columns r0..r1 of A */
        k->gemm_tn(m, n, j->K, j->a + r0, j->lda, j->b + c0, j->ldb, c, j->ldc, j->acc);
        break;
    case GEMM_NN_BIAS_ACT:
        k->gemm_nn_bias_act(m, n, j->K, j->a + r0 * j->lda, j->lda, j->b + c0, j->ldb, c, j->ldc,
                            j->bias ? j->bias + c0 : NULL, j->lo, j->hi);
        break;
    default: /* packed: columns c0.. (a multiple of the panel width) start at b + c0 * K */
        k->gemm_nn_bias_act_packed(m, n, j->K, j->a + r0 * j->lda, j->lda, j->b + c0 * j->K, c, j->ldc,
                                   j->bias ? j->bias + c0 : NULL, j->lo, j->hi);
        break;
    }
}

void mnv2__par_gemm(struct mnv2_model *m, int kind, size_t M, size_t N, size_t K, const float *a, size_t lda,
                    const float *b, size_t ldb, float *c, size_t ldc, int acc, const float *bias, float lo, float hi)
{
    const gemm_job j = {
        .m = m, .kind = kind, .acc = acc, .M = M, .N = N, .K = K, .lda = lda, .ldb = ldb, .ldc = ldc,
        .split = mnv2__split_2d(m, M, N, K, 4 * mnv2__pool_threads(m->pool)),
        .a = a, .b = b, .bias = bias, .c = c, .lo = lo, .hi = hi,
    };
    mnv2__pool_run(m->pool, j.split.rows * j.split.cols, gemm_task, (void *)&j);
}

/* Image x row-band loops for the convolutions. */
typedef struct conv_job {
    const struct mnv2_model *m;
    int op;
    size_t batch, bands; /* bands: set by run_conv */
    size_t h, w, cin, ho, wo, cout, stride;
    size_t in_img, out_img; /* floats per image of in and out (dw_bwd_data: in is dout, out is din) */
    const float *in, *wt, *bias;
    float *out;
    float lo, hi;
} conv_job;

enum { OP_DW_FWD, OP_DW_BWD_DATA, OP_CONV_FWD };

static void conv_task(void *ctx, size_t i, uint32_t thread)
{
    const conv_job *j = ctx;
    const mnv2_kernels *k = j->m->k;
    const size_t img = i / j->bands, band = i % j->bands;
    const float *in = j->in + img * j->in_img;
    float *out = j->out + img * j->out_img;
    if (j->op == OP_DW_BWD_DATA) { /* bands over the input rows it writes */
        k->dw3x3_bwd_data(in, j->ho, j->wo, j->cin, j->wt, out, j->h, j->w, j->stride, mnv2__part(j->h, j->bands, band),
                          mnv2__part(j->h, j->bands, band + 1));
        return;
    }
    const size_t y0 = mnv2__part(j->ho, j->bands, band), y1 = mnv2__part(j->ho, j->bands, band + 1);
    if (j->op == OP_CONV_FWD)
        k->conv3x3_fwd(in, j->h, j->w, j->cin, j->wt, out, j->ho, j->wo, j->cout, j->stride, y0, y1);
    else if (j->bias)
        k->dw3x3_fwd_bias_act(in, j->h, j->w, j->cin, j->wt, j->bias, j->lo, j->hi, out, j->ho, j->wo, j->stride, y0,
                              y1);
    else
        k->dw3x3_fwd(in, j->h, j->w, j->cin, j->wt, out, j->ho, j->wo, j->stride, y0, y1);
}

static void run_conv(struct mnv2_model *m, conv_job *j, size_t rows)
{
    const size_t t = mnv2__pool_threads(m->pool);
    /* Enough bands that batch * bands covers the threads a few times over. */
    j->bands = 1;
    while (j->batch * j->bands < 4 * t && j->bands * 2 <= rows && t > 1)
        j->bands *= 2;
    mnv2__pool_run(m->pool, j->batch * j->bands, conv_task, j);
}

void mnv2__par_dw_fwd(struct mnv2_model *m, size_t batch, const float *in, size_t h, size_t w, size_t c,
                      const float *wt, const float *bias, float lo, float hi, float *out, size_t ho, size_t wo,
                      size_t stride)
{
    conv_job j = {
        .m = m, .op = OP_DW_FWD, .batch = batch, .h = h, .w = w, .cin = c, .ho = ho, .wo = wo, .cout = c,
        .stride = stride, .in_img = h * w * c, .out_img = ho * wo * c, .in = in, .wt = wt, .bias = bias, .out = out,
        .lo = lo, .hi = hi,
    };
    run_conv(m, &j, ho);
}

void mnv2__par_dw_bwd_data(struct mnv2_model *m, size_t batch, const float *dout, size_t ho, size_t wo, size_t c,
                           const float *wt, float *din, size_t h, size_t w, size_t stride)
{
    conv_job j = {
        .m = m, .op = OP_DW_BWD_DATA, .batch = batch, .h = h, .w = w, .cin = c, .ho = ho, .wo = wo, .cout = c,
        .stride = stride, .in_img = ho * wo * c, .out_img = h * w * c, .in = dout, .wt = wt, .out = din,
    };
    run_conv(m, &j, h);
}

void mnv2__par_conv3x3_fwd(struct mnv2_model *m, size_t batch, const float *in, size_t h, size_t w, size_t cin,
                           const float *wt, float *out, size_t ho, size_t wo, size_t cout, size_t stride)
{
    conv_job j = {
        .m = m, .op = OP_CONV_FWD, .batch = batch, .h = h, .w = w, .cin = cin, .ho = ho, .wo = wo, .cout = cout,
        .stride = stride, .in_img = h * w * cin, .out_img = ho * wo * cout, .in = in, .wt = wt, .out = out,
    };
    run_conv(m, &j, ho);
}

typedef struct elt_job {
    const struct mnv2_model *m;
    int op;
    size_t rows, c, n; /* n: ranges, set by run_elt */
    const float *x, *z;
    const float *scale, *shift; /* bn_apply: the affine; bn_bwd_apply: the ReLU6 mask's (or NULL) */
    const float *a, *b, *k;     /* bn_bwd_apply: dz = a * d + b * z + k (kernel_list.inc) */
    float *y;
    float lo, hi;
} elt_job;

enum { OP_BN_APPLY, OP_BN_BWD_APPLY, OP_ADD, OP_COPY };

static void elt_task(void *ctx, size_t i, uint32_t thread)
{
    const elt_job *j = ctx;
    const mnv2_kernels *k = j->m->k;
    const size_t r0 = mnv2__part(j->rows, j->n, i), r1 = mnv2__part(j->rows, j->n, i + 1), o = r0 * j->c, nr = r1 - r0;
    switch (j->op) {
    case OP_BN_APPLY: k->bn_apply(j->x + o, nr, j->c, j->scale, j->shift, j->lo, j->hi, j->y + o); break;
    case OP_BN_BWD_APPLY:
        k->bn_bwd_apply(j->x + o, j->z + o, nr, j->c, j->a, j->b, j->k, j->scale, j->shift, j->y + o);
        break;
    case OP_ADD: k->add(j->y + o, j->x + o, nr * j->c); break;
    default: memcpy(j->y + o, j->x + o, nr * j->c * sizeof(float)); break;
    }
}

static void run_elt(struct mnv2_model *m, elt_job *j)
{
    j->n = mnv2__ranges(m, j->rows, j->c);
    mnv2__pool_run(m->pool, j->n, elt_task, j);
}

void mnv2__par_bn_apply(struct mnv2_model *m, const float *x, size_t rows, size_t c, const float *scale,
                        const float *shift, float lo, float hi, float *y)
{
    elt_job j = {.m = m, .op = OP_BN_APPLY, .rows = rows, .c = c, .x = x, .scale = scale, .shift = shift, .y = y,
                 .lo = lo, .hi = hi};
    run_elt(m, &j);
}

void mnv2__par_bn_bwd_apply(struct mnv2_model *m, const float *dy, const float *z, size_t rows, size_t c,
                            const float *a, const float *b, const float *k, const float *mscale, const float *mshift,
                            float *dz)
{
    elt_job j = {.m = m, .op = OP_BN_BWD_APPLY, .rows = rows, .c = c, .x = dy, .z = z, .scale = mscale,
                 .shift = mshift, .a = a, .b = b, .k = k, .y = dz};
    run_elt(m, &j);
}

void mnv2__par_add(struct mnv2_model *m, float *y, const float *x, size_t n)
{
    elt_job j = {.m = m, .op = OP_ADD, .rows = n, .c = 1, .x = x, .y = y};
    run_elt(m, &j);
}

void mnv2__par_copy(struct mnv2_model *m, float *y, const float *x, size_t n)
{
    elt_job j = {.m = m, .op = OP_COPY, .rows = n, .c = 1, .x = x, .y = y};
    run_elt(m, &j);
}
