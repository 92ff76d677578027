/* SPDX-License-Identifier: BSD-2-Clause */
/* Batch-norm reductions over the batch (see batch_stats.h). */
#include <stdint.h>

#include "batch_stats.h"
#include "ckd.h"
#include "layers.h"
#include "pool.h"

/* Batch statistics, one pass over memory: each chunk of MNV2_REDUCE_CHUNK rows gets its sum,
 * then its moments about its own mean while it is still in cache; the chunks combine in order in
 * double (Chan et al.'s pairwise update), so the result does not depend on the thread count. */
void mnv2__stats_chunk(const mnv2_kernels *k, const float *x, size_t n, size_t c, float *slot)
{
    float *sum = slot, *mean = slot + c;
    k->bn_moments(x, n, c, NULL, sum, mean + c);
    for (size_t ch = 0; ch < c; ch++)
        mean[ch] = sum[ch] / (float)n;
    k->bn_moments(x, n, c, mean, mean + c, mean + 2 * c);
    slot[4 * c] = (float)n; /* n <= 2^24: exact */
}

size_t mnv2__bn_stats_scratch(size_t rows, size_t c, int *ovf)
{
    const size_t chunks = rows / MNV2_REDUCE_CHUNK + (rows % MNV2_REDUCE_CHUNK != 0);
    return mnv2__ckd_mulz(ovf, chunks, mnv2__ckd_addz(ovf, mnv2__ckd_mulz(ovf, 4, c), 4)); /* MNV2_STATS_SLOT(c) */
}

size_t mnv2__bn_stats_tile(size_t k, int *ovf) { return mnv2__ckd_mulz(ovf, MNV2_REDUCE_CHUNK, k); }

static size_t chunk_rows(size_t rows, size_t i)
{
    const size_t r0 = i * MNV2_REDUCE_CHUNK;
    return rows - r0 < MNV2_REDUCE_CHUNK ? rows - r0 : MNV2_REDUCE_CHUNK;
}

void mnv2__stats_combine(const float *slots, size_t chunks, size_t c, double *mean, double *var)
{
    for (size_t ch = 0; ch < c; ch++)
        mean[ch] = var[ch] = 0.0;
    double total = 0.0;
    for (size_t i = 0; i < chunks; i++) {
        const float *cm = slots + i * MNV2_STATS_SLOT(c) + c, *res = cm + c, *m2 = res + c;
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
    mnv2__stats_chunk(kr, x, n, c, j->partial + i * MNV2_STATS_SLOT(c));
}

void mnv2__bn_stats(struct mnv2_model *m, const float *x, size_t rows, size_t c, double *mean, double *var)
{
    stats_job j = {.m = m, .x = x, .rows = rows, .c = c, .partial = arena(m, m->plan->cpart)};
    const size_t chunks = (rows + MNV2_REDUCE_CHUNK - 1) / MNV2_REDUCE_CHUNK;
    mnv2__pool_run(m->pool, chunks, stats_task, &j);
    mnv2__stats_combine(j.partial, chunks, c, mean, var);
}

void mnv2__gemm_bn_stats(struct mnv2_model *m, size_t M, size_t N, size_t K, const float *a, const float *scale,
                         const float *shift, const float *b, float *out, double *mean, double *var)
{
    stats_job j = {
        .m = m, .x = out, .rows = M, .c = N, .partial = arena(m, m->plan->cpart), .a = a, .b = b, .scale = scale,
        .shift = shift, .k = K,
    };
    const size_t chunks = (M + MNV2_REDUCE_CHUNK - 1) / MNV2_REDUCE_CHUNK;
    mnv2__pool_run(m->pool, chunks, stats_task, &j);
    mnv2__stats_combine(j.partial, chunks, N, mean, var);
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
    const size_t r0 = i * MNV2_REDUCE_CHUNK, n = chunk_rows(j->rows, i);
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

void mnv2__bn_bwd_sums(struct mnv2_model *m, const float *z, const float *dy, size_t rows, size_t c,
                       const float *mean, const float *mscale, const float *mshift, double *d1, double *d2)
{
    sums_job j = {
        .m = m, .z = z, .center = mean, .mscale = mscale, .mshift = mshift, .dy = (float *)dy,
        .partial = arena(m, m->plan->cpart), .rows = rows, .c = c,
    };
    run_sums(m, &j, d1, d2);
}

void mnv2__gemm_nt_bn_bwd_sums(struct mnv2_model *m, size_t k, const float *a, const float *b, float *dy,
                               const float *z, size_t rows, size_t c, const float *mean, const float *mscale,
                               const float *mshift, double *d1, double *d2)
{
    sums_job j = {
        .m = m, .z = z, .center = mean, .mscale = mscale, .mshift = mshift, .a = a, .b = b, .dy = dy,
        .partial = arena(m, m->plan->cpart), .rows = rows, .c = c, .k = k,
    };
    run_sums(m, &j, d1, d2);
}
