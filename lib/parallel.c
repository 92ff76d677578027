/* The kernels run across the model's threads (see parallel.h). */
#include <stdint.h>
#include <string.h>

#include "layers.h"
#include "parallel.h"
#include "pool.h"

/* Ranges: item i of n covers [total * i / n, total * (i + 1) / n). */
static size_t part(size_t total, size_t n, size_t i) { return total * i / n; }

/* How many ranges for `units` of work (each ~`cost`): a few per thread, none tiny. */
static size_t ranges(const struct mnv2_model *m, size_t units, size_t cost)
{
    const size_t t = mnv2__pool_threads(m->pool);
    if (t == 1 || units * cost < 16384)
        return 1;
    size_t n = 4 * t;
    return n > units ? units : n;
}

typedef struct gemm_job {
    const struct mnv2_model *m;
    int kind, acc;
    size_t M, N, K, lda, ldb, ldc, n;
    const float *a, *b, *bias;
    float *c;
    float lo, hi;
} gemm_job;

static void gemm_task(void *ctx, size_t i, uint32_t thread)
{
    const gemm_job *j = ctx;
    const mnv2_kernels *k = j->m->k;
    const size_t r0 = part(j->M, j->n, i), r1 = part(j->M, j->n, i + 1);
    if (r1 == r0)
        return;
    switch (j->kind) {
    case GEMM_NN:
        k->gemm_nn(r1 - r0, j->N, j->K, j->a + r0 * j->lda, j->lda, j->b, j->ldb, j->c + r0 * j->ldc, j->ldc, j->acc);
        break;
    case GEMM_NT:
        k->gemm_nt(r1 - r0, j->N, j->K, j->a + r0 * j->lda, j->lda, j->b, j->ldb, j->c + r0 * j->ldc, j->ldc, j->acc);
        break;
    case GEMM_TN: /* A is [K x M]: the rows r0..r1 of C are the columns r0..r1 of A */
        k->gemm_tn(r1 - r0, j->N, j->K, j->a + r0, j->lda, j->b, j->ldb, j->c + r0 * j->ldc, j->ldc, j->acc);
        break;
    default:
        k->gemm_nn_bias_act(r1 - r0, j->N, j->K, j->a + r0 * j->lda, j->lda, j->b, j->ldb, j->c + r0 * j->ldc, j->ldc,
                            j->bias, j->lo, j->hi);
        break;
    }
}

void mnv2__par_gemm(struct mnv2_model *m, int kind, size_t M, size_t N, size_t K, const float *a, size_t lda,
                    const float *b, size_t ldb, float *c, size_t ldc, int acc, const float *bias, float lo, float hi)
{
    gemm_job j = {m, kind, acc, M, N, K, lda, ldb, ldc, 0, a, b, bias, c, lo, hi};
    /* Row ranges of at least 16 rows (tiles of the microkernels stay whole in the middle). */
    j.n = ranges(m, (M + 15) / 16, N * K * 16);
    mnv2__pool_run(m->pool, j.n, gemm_task, &j);
}

/* Image x row-band loops for the convolutions. */
typedef struct conv_job {
    const struct mnv2_model *m;
    int op;
    size_t batch, bands, h, w, cin, ho, wo, cout, stride, in_img, out_img;
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
        k->dw3x3_bwd_data(in, j->ho, j->wo, j->cin, j->wt, out, j->h, j->w, j->stride, part(j->h, j->bands, band),
                          part(j->h, j->bands, band + 1));
        return;
    }
    const size_t y0 = part(j->ho, j->bands, band), y1 = part(j->ho, j->bands, band + 1);
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
    conv_job j = {m, OP_DW_FWD, batch, 1, h, w, c, ho, wo, c, stride, h * w * c, ho * wo * c, in, wt, bias, out, lo, hi};
    run_conv(m, &j, ho);
}

void mnv2__par_dw_bwd_data(struct mnv2_model *m, size_t batch, const float *dout, size_t ho, size_t wo, size_t c,
                           const float *wt, float *din, size_t h, size_t w, size_t stride)
{
    conv_job j = {m, OP_DW_BWD_DATA, batch, 1, h, w, c, ho, wo, c, stride, ho * wo * c, h * w * c, dout, wt, NULL, din,
                  0.0f, 0.0f};
    run_conv(m, &j, h);
}

void mnv2__par_conv3x3_fwd(struct mnv2_model *m, size_t batch, const float *in, size_t h, size_t w, size_t cin,
                           const float *wt, float *out, size_t ho, size_t wo, size_t cout, size_t stride)
{
    conv_job j = {m, OP_CONV_FWD, batch, 1, h, w, cin, ho, wo, cout, stride, h * w * cin, ho * wo * cout, in, wt, NULL,
                  out, 0.0f, 0.0f};
    run_conv(m, &j, ho);
}

/* Weight gradients: image i's partial sum in scratch slot i, then added in image order. */
typedef struct filter_job {
    const struct mnv2_model *m;
    int stem;
    size_t h, w, cin, ho, wo, cout, stride, in_img, out_img, wsize;
    const float *in, *dout;
    float *partial;
} filter_job;

static void filter_task(void *ctx, size_t i, uint32_t thread)
{
    const filter_job *j = ctx;
    float *p = j->partial + i * j->wsize;
    memset(p, 0, j->wsize * sizeof(float));
    if (j->stem)
        j->m->k->conv3x3_bwd_filter(j->in + i * j->in_img, j->h, j->w, j->cin, j->dout + i * j->out_img, j->ho, j->wo,
                                    j->cout, j->stride, 0, j->ho, p);
    else
        j->m->k->dw3x3_bwd_filter(j->in + i * j->in_img, j->h, j->w, j->cin, j->dout + i * j->out_img, j->ho, j->wo,
                                  j->stride, 0, j->ho, p);
}

static void run_filter(struct mnv2_model *m, filter_job *j, size_t batch, float *dwt)
{
    j->partial = arena(m, m->plan->wpart);
    mnv2__pool_run(m->pool, batch, filter_task, j);
    for (size_t i = 0; i < batch; i++)
        m->k->add(dwt, j->partial + i * j->wsize, j->wsize);
}

void mnv2__par_dw_bwd_filter(struct mnv2_model *m, size_t batch, const float *in, size_t h, size_t w, size_t c,
                             const float *dout, size_t ho, size_t wo, size_t stride, float *dwt)
{
    filter_job j = {m, 0, h, w, c, ho, wo, c, stride, h * w * c, ho * wo * c, 9 * c, in, dout, NULL};
    run_filter(m, &j, batch, dwt);
}

void mnv2__par_conv3x3_bwd_filter(struct mnv2_model *m, size_t batch, const float *in, size_t h, size_t w,
                                  size_t cin, const float *dout, size_t ho, size_t wo, size_t cout, size_t stride,
                                  float *dwt)
{
    filter_job j = {m, 1, h, w, cin, ho, wo, cout, stride, h * w * cin, ho * wo * cout, 9 * cin * cout, in, dout, NULL};
    run_filter(m, &j, batch, dwt);
}

typedef struct sums_job {
    const struct mnv2_model *m;
    const float *x, *dy, *center;
    size_t rows, c;
    float *partial; /* chunk i: [s1 | s2], 2c floats */
} sums_job;

static void sums_task(void *ctx, size_t i, uint32_t thread)
{
    const sums_job *j = ctx;
    const size_t r0 = i * MNV2_REDUCE_CHUNK, n = j->rows - r0 < MNV2_REDUCE_CHUNK ? j->rows - r0 : MNV2_REDUCE_CHUNK;
    float *s1 = j->partial + i * 2 * j->c, *s2 = s1 + j->c;
    if (j->dy)
        j->m->k->bn_bwd_reduce(j->dy + r0 * j->c, j->x + r0 * j->c, n, j->c, j->center, s1, s2);
    else
        j->m->k->bn_moments(j->x + r0 * j->c, n, j->c, j->center, s1, s2);
}

void mnv2__par_channel_sums(struct mnv2_model *m, const float *x, const float *dy, size_t rows, size_t c,
                            const float *center, double *d1, double *d2)
{
    sums_job j = {m, x, dy, center, rows, c, arena(m, m->plan->cpart)};
    const size_t chunks = (rows + MNV2_REDUCE_CHUNK - 1) / MNV2_REDUCE_CHUNK;
    mnv2__pool_run(m->pool, chunks, sums_task, &j);
    for (size_t ch = 0; ch < c; ch++)
        d1[ch] = d2[ch] = 0.0;
    for (size_t i = 0; i < chunks; i++) {
        const float *s1 = j.partial + i * 2 * c, *s2 = s1 + c;
        for (size_t ch = 0; ch < c; ch++) {
            d1[ch] += s1[ch];
            d2[ch] += s2[ch];
        }
    }
}

typedef struct elt_job {
    const struct mnv2_model *m;
    int op;
    size_t rows, c, n;
    const float *x, *z, *p1, *p2, *p3;
    float *y;
    float lo, hi;
} elt_job;

enum { OP_BN_APPLY, OP_BN_BWD_APPLY, OP_RELU6_BWD, OP_ADD };

static void elt_task(void *ctx, size_t i, uint32_t thread)
{
    const elt_job *j = ctx;
    const mnv2_kernels *k = j->m->k;
    const size_t r0 = part(j->rows, j->n, i), r1 = part(j->rows, j->n, i + 1), o = r0 * j->c, nr = r1 - r0;
    switch (j->op) {
    case OP_BN_APPLY: k->bn_apply(j->x + o, nr, j->c, j->p1, j->p2, j->lo, j->hi, j->y + o); break;
    case OP_BN_BWD_APPLY: k->bn_bwd_apply(j->x + o, j->z + o, nr, j->c, j->p1, j->p2, j->p3, j->y + o); break;
    case OP_RELU6_BWD: k->relu6_bwd(j->y + o, j->x + o, nr * j->c); break;
    default: k->add(j->y + o, j->x + o, nr * j->c); break;
    }
}

static void run_elt(struct mnv2_model *m, elt_job *j)
{
    j->n = ranges(m, j->rows, j->c);
    mnv2__pool_run(m->pool, j->n, elt_task, j);
}

void mnv2__par_bn_apply(struct mnv2_model *m, const float *x, size_t rows, size_t c, const float *scale,
                        const float *shift, float lo, float hi, float *y)
{
    elt_job j = {m, OP_BN_APPLY, rows, c, 0, x, NULL, scale, shift, NULL, y, lo, hi};
    run_elt(m, &j);
}

void mnv2__par_bn_bwd_apply(struct mnv2_model *m, const float *dy, const float *z, size_t rows, size_t c,
                            const float *a, const float *b, const float *k, float *dz)
{
    elt_job j = {m, OP_BN_BWD_APPLY, rows, c, 0, dy, z, a, b, k, dz, 0.0f, 0.0f};
    run_elt(m, &j);
}

void mnv2__par_relu6_bwd(struct mnv2_model *m, float *dy, const float *y, size_t n)
{
    elt_job j = {m, OP_RELU6_BWD, n, 1, 0, y, NULL, NULL, NULL, NULL, dy, 0.0f, 0.0f};
    run_elt(m, &j);
}

void mnv2__par_add(struct mnv2_model *m, float *y, const float *x, size_t n)
{
    elt_job j = {m, OP_ADD, n, 1, 0, x, NULL, NULL, NULL, NULL, y, 0.0f, 0.0f};
    run_elt(m, &j);
}
