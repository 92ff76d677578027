/* SPDX-License-Identifier: BSD-2-Clause */
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

/* Columns of C are split in blocks of MNV2_GEMM_COL_BLOCK columns. Every gemm kernel computes an
 * element of C the same way wherever it lies in a tile (edge tiles run the same arithmetic on a
 * padded copy), as it must for row ranges already; test_threads checks both splits at every
 * level. */
#define MNV2_GEMM_COL_BLOCK 32

/* A 2-D split of an M x N product into `rows` row ranges of at least 16 rows (tiles of the
 * microkernels stay whole in the middle) times `cols` column blocks: rows first, then columns
 * until there are a few items per thread. A row split alone leaves most threads idle when M is
 * small (a 7x7 map has 49 rows: 4 ranges for 16 threads). */
typedef struct split2d {
    size_t rows, cols;
} split2d;

static split2d split_2d(const struct mnv2_model *m, size_t M, size_t N, size_t K, size_t want)
{
    split2d s = {1, 1};
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

/* Columns [c0, c1) of column block b of s.cols over N. */
static void col_range(size_t N, size_t cols, size_t b, size_t *c0, size_t *c1)
{
    const size_t units = N / MNV2_GEMM_COL_BLOCK;
    *c0 = cols == 1 ? 0 : part(units, cols, b) * MNV2_GEMM_COL_BLOCK;
    *c1 = b + 1 == cols ? N : part(units, cols, b + 1) * MNV2_GEMM_COL_BLOCK;
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
    const size_t r0 = part(j->M, j->split.rows, r), r1 = part(j->M, j->split.rows, r + 1);
    size_t c0, c1;
    col_range(j->N, j->split.cols, i % j->split.cols, &c0, &c1);
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
    default:
        k->gemm_nn_bias_act(m, n, j->K, j->a + r0 * j->lda, j->lda, j->b + c0, j->ldb, c, j->ldc,
                            j->bias ? j->bias + c0 : NULL, j->lo, j->hi);
        break;
    }
}

void mnv2__par_gemm(struct mnv2_model *m, int kind, size_t M, size_t N, size_t K, const float *a, size_t lda,
                    const float *b, size_t ldb, float *c, size_t ldc, int acc, const float *bias, float lo, float hi)
{
    const gemm_job j = {
        .m = m, .kind = kind, .acc = acc, .M = M, .N = N, .K = K, .lda = lda, .ldb = ldb, .ldc = ldc,
        .split = split_2d(m, M, N, K, 4 * mnv2__pool_threads(m->pool)),
        .a = a, .b = b, .bias = bias, .c = c, .lo = lo, .hi = hi,
    };
    mnv2__pool_run(m->pool, j.split.rows * j.split.cols, gemm_task, (void *)&j);
}

/* Weight gradient of a 1x1 convolution: task (q, r, cb) sums row chunk q of the k rows into rows
 * r0..r1 and column block cb of its own output (chunk 0 straight into c, accumulating; chunk
 * q > 0 into partial q - 1), then the partials are added to c in chunk order, split over rows of
 * c. */
typedef struct wgrad_job {
    const struct mnv2_model *m;
    size_t M, N, K, chunks;
    split2d split; /* of each chunk's product */
    const float *a, *b;
    float *c, *partial;
} wgrad_job;

static void wgrad_task(void *ctx, size_t i, uint32_t thread)
{
    const wgrad_job *j = ctx;
    const size_t per_chunk = j->split.rows * j->split.cols;
    const size_t q = i / per_chunk, r = i % per_chunk / j->split.cols;
    const size_t k0 = part(j->K, j->chunks, q), k1 = part(j->K, j->chunks, q + 1);
    const size_t r0 = part(j->M, j->split.rows, r), r1 = part(j->M, j->split.rows, r + 1);
    size_t c0, c1;
    col_range(j->N, j->split.cols, i % j->split.cols, &c0, &c1);
    if (r1 == r0 || c1 == c0)
        return;
    float *c = q ? j->partial + (q - 1) * j->M * j->N : j->c;
    j->m->k->gemm_tn(r1 - r0, c1 - c0, k1 - k0, j->a + k0 * j->M + r0, j->M, j->b + k0 * j->N + c0, j->N,
                     c + r0 * j->N + c0, j->N, q == 0);
}

typedef struct wgrad_sum_job {
    const struct mnv2_model *m;
    size_t M, N, chunks, ranges;
    const float *partial;
    float *c;
} wgrad_sum_job;

static void wgrad_sum_task(void *ctx, size_t i, uint32_t thread)
{
    const wgrad_sum_job *j = ctx;
    const size_t r0 = part(j->M, j->ranges, i), r1 = part(j->M, j->ranges, i + 1);
    for (size_t q = 1; q < j->chunks; q++)
        j->m->k->add(j->c + r0 * j->N, j->partial + (q - 1) * j->M * j->N + r0 * j->N, (r1 - r0) * j->N);
}

void mnv2__par_gemm_wgrad(struct mnv2_model *m, size_t M, size_t N, size_t K, const float *a, const float *b,
                          float *c)
{
    const size_t chunks = mnv2__wgrad_chunks(K);
    /* About four items per thread in all, chunk-major (thread t starts with the chunks of the rows
     * it produced). */
    const size_t want = 4 * mnv2__pool_threads(m->pool) / chunks;
    const wgrad_job j = {
        .m = m, .M = M, .N = N, .K = K, .chunks = chunks, .split = split_2d(m, M, N, K / chunks, want),
        .a = a, .b = b, .c = c, .partial = arena(m, m->plan->wpart),
    };
    mnv2__pool_run(m->pool, chunks * j.split.rows * j.split.cols, wgrad_task, (void *)&j);
    if (chunks > 1) {
        const wgrad_sum_job s = {m, M, N, chunks, ranges(m, M, N), j.partial, c};
        mnv2__pool_run(m->pool, s.ranges, wgrad_sum_task, (void *)&s);
    }
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

/* Batch-norm backward sums per fixed chunk of MNV2_REDUCE_CHUNK rows, combined in chunk order in
 * double. With b, each chunk of dy is first produced as a[rows x k] * b^T (b stored [c x k]: the
 * input gradient of the next 1x1 convolution), so the sums read it while it is in cache. */
typedef struct sums_job {
    const struct mnv2_model *m;
    const float *z, *center, *mscale, *mshift, *a, *b;
    float *dy, *partial; /* chunk i: [s1 | s2], 2c floats */
    size_t rows, c, k;
} sums_job;

static void sums_task(void *ctx, size_t i, uint32_t thread)
{
    const sums_job *j = ctx;
    const size_t r0 = i * MNV2_REDUCE_CHUNK, n = j->rows - r0 < MNV2_REDUCE_CHUNK ? j->rows - r0 : MNV2_REDUCE_CHUNK;
    float *s1 = j->partial + i * 2 * j->c, *s2 = s1 + j->c;
    if (j->b)
        j->m->k->gemm_nt(n, j->c, j->k, j->a + r0 * j->k, j->k, j->b, j->k, j->dy + r0 * j->c, j->c, 0);
    j->m->k->bn_bwd_reduce(j->dy + r0 * j->c, j->z + r0 * j->c, n, j->c, j->center, j->mscale, j->mshift, s1, s2);
}

static void run_sums(struct mnv2_model *m, sums_job *j, double *d1, double *d2)
{
    const size_t chunks = (j->rows + MNV2_REDUCE_CHUNK - 1) / MNV2_REDUCE_CHUNK, c = j->c;
    mnv2__pool_run(m->pool, chunks, sums_task, j);
    for (size_t ch = 0; ch < c; ch++)
        d1[ch] = d2[ch] = 0.0;
    for (size_t i = 0; i < chunks; i++) {
        const float *s1 = j->partial + i * 2 * c, *s2 = s1 + c;
        for (size_t ch = 0; ch < c; ch++) {
            d1[ch] += s1[ch];
            d2[ch] += s2[ch];
        }
    }
}

void mnv2__par_bn_bwd_sums(struct mnv2_model *m, const float *z, const float *dy, size_t rows, size_t c,
                           const float *mean, const float *mscale, const float *mshift, double *d1, double *d2)
{
    sums_job j = {m, z, mean, mscale, mshift, NULL, NULL, (float *)dy, arena(m, m->plan->cpart), rows, c, 0};
    run_sums(m, &j, d1, d2);
}

void mnv2__par_gemm_nt_bn_bwd_sums(struct mnv2_model *m, size_t k, const float *a, const float *b, float *dy,
                                   const float *z, size_t rows, size_t c, const float *mean, const float *mscale,
                                   const float *mshift, double *d1, double *d2)
{
    sums_job j = {m, z, mean, mscale, mshift, a, b, dy, arena(m, m->plan->cpart), rows, c, k};
    run_sums(m, &j, d1, d2);
}

/* The (image, band) loops of a block's training depthwise passes. */
typedef struct band_job {
    const struct mnv2_model *m;
    const plan_block *k;
    const float *z, *scale, *shift, *dout, *mean; /* z: the expand's pre-BN output */
    float *out, *fpart, *spart;                   /* output; filter-gradient and sum slots */
    size_t bands;
    const float *scale2, *shift2; /* recompute: the depthwise BN's affine */
    float *out2;                  /* recompute: the depthwise activation */
} band_job;

/* The expand activation (BN + ReLU6 of z) of the input rows band g reads, in the thread's tile. */
static const float *band_input(const band_job *j, const band_geom *g, uint32_t thread)
{
    const plan_block *k = j->k;
    const size_t W = k->in_w, c = k->hid;
    float *tile = thread_tile(j->m, thread);
    j->m->k->bn_apply(j->z + (g->img * k->in_h + g->origin) * W * c, g->rows * W, c, j->scale, j->shift, 0.0f, 6.0f,
                      tile);
    return tile;
}

/* Training backward of the depthwise convolution of an expanded block, per (image, band of output
 * rows) as the forward: the expand activations the band's filter gradient needs are recomputed
 * into the thread's tile (never stored), the filter gradient of the band goes to its own slot,
 * the input gradient is written for the band's input rows [s * oy0, s * oy1) (the last band to the
 * image's end), and the expand's batch-norm backward sums over those rows are taken while they
 * are in cache. Slots and sums combine in task order: independent of the thread count. */
static void dwb_task(void *ctx, size_t i, uint32_t thread)
{
    const band_job *j = ctx;
    const plan_block *k = j->k;
    const mnv2_kernels *kr = j->m->k;
    const band_geom g = block_band(k, j->bands, i);
    const size_t s = k->stride, H = k->in_h, W = k->in_w, Wo = k->out_w, c = k->hid;
    const float *z = j->z + g.img * H * W * c, *dout = j->dout + g.img * k->out_h * Wo * c;
    const float *tile = band_input(j, &g, thread);
    float *fp = j->fpart + i * 9 * c;
    memset(fp, 0, 9 * c * sizeof(float));
    kr->dw3x3_bwd_filter(tile, g.rows, W, c, dout + (g.oy0 - g.r0) * Wo * c, g.n + g.r0, Wo, s, g.r0, g.r0 + g.n, fp);
    const size_t y0 = s * g.oy0, y1 = g.oy1 == k->out_h || s * g.oy1 > H ? H : s * g.oy1;
    float *din = j->out + g.img * H * W * c;
    kr->dw3x3_bwd_data(dout, k->out_h, Wo, c, j->m->params + k->dw.w, din, H, W, s, y0, y1);
    float *sp = j->spart + i * 2 * c;
    kr->bn_bwd_reduce(din + y0 * W * c, z + y0 * W * c, (y1 - y0) * W, c, j->mean, j->scale, j->shift, sp, sp + c);
}

/* The per-band slots of mnv2__par_dw_bwd_train() combined in band order, split over channels:
 * dwt += each band's filter gradient; d1, d2 = the sums of the bands' BN backward sums. */
typedef struct combine_job {
    const struct mnv2_model *m;
    size_t tasks, c, n;
    const float *fpart, *spart;
    float *dwt;
    double *d1, *d2;
} combine_job;

static void combine_task(void *ctx, size_t r, uint32_t thread)
{
    const combine_job *j = ctx;
    const size_t c = j->c, c0 = part(c, j->n, r), c1 = part(c, j->n, r + 1);
    for (size_t t = 0; t < 9; t++)
        for (size_t i = 0; i < j->tasks; i++)
            j->m->k->add(j->dwt + t * c + c0, j->fpart + (i * 9 + t) * c + c0, c1 - c0);
    for (size_t ch = c0; ch < c1; ch++)
        j->d1[ch] = j->d2[ch] = 0.0;
    for (size_t i = 0; i < j->tasks; i++) {
        const float *s1 = j->spart + i * 2 * c, *s2 = s1 + c;
        for (size_t ch = c0; ch < c1; ch++) {
            j->d1[ch] += s1[ch];
            j->d2[ch] += s2[ch];
        }
    }
}

void mnv2__par_dw_bwd_train(struct mnv2_model *m, const plan_block *k, size_t batch, const float *z_expand,
                            const float *scale, const float *shift, const float *dout, float *din, float *dwt,
                            double *d1, double *d2)
{
    const size_t c = k->hid;
    band_job j = {m, k, z_expand, scale, shift, dout, arena(m, k->expand.stats), din, arena(m, m->plan->wpart),
                  arena(m, m->plan->cpart), (k->out_h + k->band - 1) / k->band, NULL, NULL, NULL};
    const size_t tasks = batch * j.bands;
    mnv2__pool_run(m->pool, tasks, dwb_task, &j);
    combine_job cj = {m, tasks, c, ranges(m, c, 9 * tasks), j.fpart, j.spart, dwt, d1, d2};
    mnv2__pool_run(m->pool, cj.n, combine_task, &cj);
}

/* Batch statistics, one pass over memory: each chunk of MNV2_REDUCE_CHUNK rows gets its sum,
 * then its moments about its own mean while it is still in cache; the chunks combine in order in
 * double (Chan et al.'s pairwise update), so the result does not depend on the thread count. */

static void stats_chunk(const mnv2_kernels *k, const float *x, size_t n, size_t c, float *part)
{
    float *sum = part, *mean = part + c;
    k->bn_moments(x, n, c, NULL, sum, mean + c);
    for (size_t ch = 0; ch < c; ch++)
        mean[ch] = sum[ch] / (float)n;
    k->bn_moments(x, n, c, mean, mean + c, mean + 2 * c);
    part[4 * c] = (float)n; /* n <= 2^24: exact */
}

static size_t chunk_rows(size_t rows, size_t i)
{
    const size_t r0 = i * MNV2_REDUCE_CHUNK;
    return rows - r0 < MNV2_REDUCE_CHUNK ? rows - r0 : MNV2_REDUCE_CHUNK;
}

static void stats_combine(const float *partial, size_t chunks, size_t c, double *mean, double *var)
{
    for (size_t ch = 0; ch < c; ch++)
        mean[ch] = var[ch] = 0.0;
    double total = 0.0;
    for (size_t i = 0; i < chunks; i++) {
        const float *cm = partial + i * MNV2_STATS_SLOT(c) + c, *res = cm + c, *m2 = res + c;
        const double n = (double)m2[c], before = total;
        total += n;
        for (size_t ch = 0; ch < c; ch++) {
            const double r = res[ch], mi = (double)cm[ch] + r / n, m2i = (double)m2[ch] - r * r / n;
            const double delta = mi - mean[ch];
            mean[ch] += delta * n / total;
            var[ch] += m2i + delta * delta * before * n / total; /* M2 until the division below */
        }
    }
    for (size_t ch = 0; ch < c; ch++)
        var[ch] = var[ch] < 0.0 ? 0.0 : var[ch] / total; /* NaN stays NaN */
}

typedef struct stats_job {
    const struct mnv2_model *m;
    const float *x;
    size_t rows, c;
    float *partial;
    /* with b: chunk i is first computed as C = act(A) * B (a 1x1 convolution), where act(A) =
     * min(max(A * scale + shift, 0), 6) per column with scale, else A */
    const float *a, *b, *scale, *shift;
    size_t k;
} stats_job;

static void stats_task(void *ctx, size_t i, uint32_t thread)
{
    const stats_job *j = ctx;
    const mnv2_kernels *kr = j->m->k;
    const size_t r0 = i * MNV2_REDUCE_CHUNK, n = chunk_rows(j->rows, i), c = j->c;
    float *x = (float *)j->x + r0 * c; /* written only by the GEMM, into the caller's output */
    if (j->b) {
        const float *a = j->a + r0 * j->k;
        if (j->scale) {
            float *tile = thread_tile(j->m, thread);
            kr->bn_apply(a, n, j->k, j->scale, j->shift, 0.0f, 6.0f, tile);
            a = tile;
        }
        kr->gemm_nn(n, c, j->k, a, j->k, j->b, c, x, c, 0);
    }
    stats_chunk(kr, x, n, c, j->partial + i * MNV2_STATS_SLOT(c));
}

void mnv2__par_bn_stats(struct mnv2_model *m, const float *x, size_t rows, size_t c, double *mean, double *var)
{
    stats_job j = {m, x, rows, c, arena(m, m->plan->cpart), NULL, NULL, NULL, NULL, 0};
    const size_t chunks = (rows + MNV2_REDUCE_CHUNK - 1) / MNV2_REDUCE_CHUNK;
    mnv2__pool_run(m->pool, chunks, stats_task, &j);
    stats_combine(j.partial, chunks, c, mean, var);
}

void mnv2__par_gemm_stats(struct mnv2_model *m, size_t M, size_t N, size_t K, const float *a, const float *scale,
                          const float *shift, const float *b, float *out, double *mean, double *var)
{
    stats_job j = {m, out, M, N, arena(m, m->plan->cpart), a, b, scale, shift, K};
    const size_t chunks = (M + MNV2_REDUCE_CHUNK - 1) / MNV2_REDUCE_CHUNK;
    mnv2__pool_run(m->pool, chunks, stats_task, &j);
    stats_combine(j.partial, chunks, N, mean, var);
}

/* Training depthwise convolution of an expanded block, per (image, band of output rows) as the
 * fused inference: the input rows a band needs are normalised (BN + ReLU6 of the expand
 * convolution, from its pre-BN output) into the thread's tile, convolved into the band's output
 * rows, and those rows' statistics taken while in cache. Bands come from the plan (not the thread
 * count), so the statistics combine in the same order whatever the thread count. */
/* The depthwise output rows [oy0, oy1) of band g into j->out, from the expand activation formed in
 * the thread's tile; returns the band's first output row (g.n * out_w rows of hid channels). */
static float *band_dw(const band_job *j, const band_geom *g, uint32_t thread)
{
    const plan_block *k = j->k;
    const size_t Wo = k->out_w, c = k->hid;
    const float *tile = band_input(j, g, thread);
    float *out = j->out + g->img * k->out_h * Wo * c; /* image base; the kernel writes rows oy0..oy1 */
    j->m->k->dw3x3_fwd(tile, g->rows, k->in_w, c, j->m->params + k->dw.w, out + (g->oy0 - g->r0) * Wo * c,
                       g->n + g->r0, Wo, k->stride, g->r0, g->r0 + g->n);
    return out + g->oy0 * Wo * c;
}

static void dwt_task(void *ctx, size_t i, uint32_t thread)
{
    const band_job *j = ctx;
    const band_geom g = block_band(j->k, j->bands, i);
    const size_t c = j->k->hid;
    stats_chunk(j->m->k, band_dw(j, &g, thread), g.n * j->k->out_w, c, j->spart + i * MNV2_STATS_SLOT(c));
}

void mnv2__par_dw_train(struct mnv2_model *m, const plan_block *k, size_t batch, const float *z_expand,
                        const float *scale, const float *shift, float *out, double *mean, double *var)
{
    band_job j = {m, k, z_expand, scale, shift, NULL, NULL, out, NULL, arena(m, m->plan->cpart),
                  (k->out_h + k->band - 1) / k->band, NULL, NULL, NULL};
    mnv2__pool_run(m->pool, batch * j.bands, dwt_task, &j);
    stats_combine(j.spart, batch * j.bands, k->hid, mean, var);
}

/* The training depthwise output of an expanded block again (backward), band by band exactly as
 * dwt_task computes it, and its activation (BN + ReLU6) while the band is in cache. */
static void dwr_task(void *ctx, size_t i, uint32_t thread)
{
    const band_job *j = ctx;
    const band_geom g = block_band(j->k, j->bands, i);
    const float *z = band_dw(j, &g, thread);
    j->m->k->bn_apply(z, g.n * j->k->out_w, j->k->hid, j->scale2, j->shift2, 0.0f, 6.0f, j->out2 + (z - j->out));
}

void mnv2__par_dw_recompute(struct mnv2_model *m, const plan_block *k, size_t batch, const float *z_expand,
                            const float *scale, const float *shift, const float *dscale, const float *dshift,
                            float *zd, float *ad)
{
    band_job j = {m, k, z_expand, scale, shift, NULL, NULL, zd, NULL, NULL, (k->out_h + k->band - 1) / k->band,
                  dscale, dshift, ad};
    mnv2__pool_run(m->pool, batch * j.bands, dwr_task, &j);
}

typedef struct elt_job {
    const struct mnv2_model *m;
    int op;
    size_t rows, c, n;
    const float *x, *z, *p1, *p2, *p3, *p4, *p5;
    float *y;
    float lo, hi;
} elt_job;

enum { OP_BN_APPLY, OP_BN_BWD_APPLY, OP_ADD, OP_COPY };

static void elt_task(void *ctx, size_t i, uint32_t thread)
{
    const elt_job *j = ctx;
    const mnv2_kernels *k = j->m->k;
    const size_t r0 = part(j->rows, j->n, i), r1 = part(j->rows, j->n, i + 1), o = r0 * j->c, nr = r1 - r0;
    switch (j->op) {
    case OP_BN_APPLY: k->bn_apply(j->x + o, nr, j->c, j->p1, j->p2, j->lo, j->hi, j->y + o); break;
    case OP_BN_BWD_APPLY:
        k->bn_bwd_apply(j->x + o, j->z + o, nr, j->c, j->p1, j->p2, j->p3, j->p4, j->p5, j->y + o);
        break;
    case OP_ADD: k->add(j->y + o, j->x + o, nr * j->c); break;
    default: memcpy(j->y + o, j->x + o, nr * j->c * sizeof(float)); break;
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
    elt_job j = {m, OP_BN_APPLY, rows, c, 0, x, NULL, scale, shift, NULL, NULL, NULL, y, lo, hi};
    run_elt(m, &j);
}

void mnv2__par_bn_bwd_apply(struct mnv2_model *m, const float *dy, const float *z, size_t rows, size_t c,
                            const float *a, const float *b, const float *k, const float *mscale, const float *mshift,
                            float *dz)
{
    elt_job j = {m, OP_BN_BWD_APPLY, rows, c, 0, dy, z, a, b, k, mscale, mshift, dz, 0.0f, 0.0f};
    run_elt(m, &j);
}

void mnv2__par_add(struct mnv2_model *m, float *y, const float *x, size_t n)
{
    elt_job j = {m, OP_ADD, n, 1, 0, x, NULL, NULL, NULL, NULL, NULL, NULL, y, 0.0f, 0.0f};
    run_elt(m, &j);
}

void mnv2__par_copy(struct mnv2_model *m, float *y, const float *x, size_t n)
{
    elt_job j = {m, OP_COPY, n, 1, 0, x, NULL, NULL, NULL, NULL, NULL, NULL, y, 0.0f, 0.0f};
    run_elt(m, &j);
}
