/* SPDX-License-Identifier: BSD-2-Clause */
/* Weight gradients of the convolutions (see weight_grad.h). */
#include <stdint.h>
#include <string.h>

#include "ckd.h"
#include "layers.h"
#include "parallel.h"
#include "pool.h"
#include "weight_grad.h"

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
    const size_t k0 = mnv2__part(j->K, j->chunks, q), k1 = mnv2__part(j->K, j->chunks, q + 1);
    const size_t r0 = mnv2__part(j->M, j->split.rows, r), r1 = mnv2__part(j->M, j->split.rows, r + 1);
    size_t c0, c1;
    mnv2__col_range(j->N, j->split.cols, i % j->split.cols, &c0, &c1);
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
    const size_t r0 = mnv2__part(j->M, j->ranges, i), r1 = mnv2__part(j->M, j->ranges, i + 1);
    for (size_t q = 1; q < j->chunks; q++)
        j->m->k->add(j->c + r0 * j->N, j->partial + (q - 1) * j->M * j->N + r0 * j->N, (r1 - r0) * j->N);
}

void mnv2__wgrad_1x1(struct mnv2_model *m, size_t M, size_t N, size_t K, const float *a, const float *b, float *c)
{
    const size_t chunks = mnv2__wgrad_chunks(K);
    /* About four items per thread in all, chunk-major (thread t starts with the chunks of the rows
     * it produced). */
    const size_t want = 4 * mnv2__pool_threads(m->pool) / chunks;
    const wgrad_job j = {
        .m = m, .M = M, .N = N, .K = K, .chunks = chunks, .split = mnv2__split_2d(m, M, N, K / chunks, want),
        .a = a, .b = b, .c = c, .partial = arena(m, m->plan->wpart),
    };
    mnv2__pool_run(m->pool, chunks * j.split.rows * j.split.cols, wgrad_task, (void *)&j);
    if (chunks > 1) {
        const wgrad_sum_job s = {
            .m = m, .M = M, .N = N, .chunks = chunks, .ranges = mnv2__ranges(m, M, N), .partial = j.partial, .c = c,
        };
        mnv2__pool_run(m->pool, s.ranges, wgrad_sum_task, (void *)&s);
    }
}

/* Weight gradients: image i's partial sum in scratch slot i, then added in image order. */
typedef struct filter_job {
    const struct mnv2_model *m;
    int stem;
    size_t h, w, cin, ho, wo, cout, stride;
    size_t in_img, out_img, wsize; /* floats per image of in and dout; of the weight */
    const float *in, *dout;
    float *partial; /* set by run_filter */
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

void mnv2__wgrad_dw(struct mnv2_model *m, size_t batch, const float *in, size_t h, size_t w, size_t c,
                    const float *dout, size_t ho, size_t wo, size_t stride, float *dwt)
{
    filter_job j = {
        .m = m, .stem = 0, .h = h, .w = w, .cin = c, .ho = ho, .wo = wo, .cout = c, .stride = stride,
        .in_img = h * w * c, .out_img = ho * wo * c, .wsize = 9 * c, .in = in, .dout = dout,
    };
    run_filter(m, &j, batch, dwt);
}

void mnv2__wgrad_stem(struct mnv2_model *m, size_t batch, const float *in, size_t h, size_t w, size_t cin,
                      const float *dout, size_t ho, size_t wo, size_t cout, size_t stride, float *dwt)
{
    filter_job j = {
        .m = m, .stem = 1, .h = h, .w = w, .cin = cin, .ho = ho, .wo = wo, .cout = cout, .stride = stride,
        .in_img = h * w * cin, .out_img = ho * wo * cout, .wsize = 9 * cin * cout, .in = in, .dout = dout,
    };
    run_filter(m, &j, batch, dwt);
}

size_t mnv2__wgrad_scratch(const plan_conv *c, size_t batch, int *ovf)
{
    if (c->kind == CONV_PW) {
        const size_t rows = mnv2__ckd_mulz(ovf, mnv2__ckd_mulz(ovf, batch, c->in_h), c->in_w);
        return mnv2__ckd_mulz(ovf, mnv2__ckd_mulz(ovf, mnv2__wgrad_chunks(rows) - 1, c->cin), c->cout);
    }
    const size_t wsize = c->kind == CONV_STEM ? mnv2__ckd_mulz(ovf, mnv2__ckd_mulz(ovf, 9, c->cin), c->cout)
                                              : mnv2__ckd_mulz(ovf, 9, c->cout);
    return mnv2__ckd_mulz(ovf, wsize, batch);
}
