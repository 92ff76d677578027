/* SPDX-License-Identifier: BSD-2-Clause */
/* Internal: the model's thread pool. The caller thread takes part; a pool of 1 runs inline. */
#ifndef MNV2_POOL_H
#define MNV2_POOL_H
#include <stddef.h>
#include <stdint.h>

typedef struct mnv2_pool mnv2_pool;
/* Runs item i of a parallel loop on thread `thread` (0 .. threads - 1, for per-thread scratch);
 * which thread runs an item must not change the result. */
typedef void (*mnv2_task_fn)(void *ctx, size_t i, uint32_t thread);

/* threads: total threads including the caller (>= 1). */
int32_t mnv2__pool_create(uint32_t threads, mnv2_pool **out);
void mnv2__pool_destroy(mnv2_pool *pool);
/* Runs fn(ctx, i) for i in [0, n) across the pool and returns when all are done. */
void mnv2__pool_run(mnv2_pool *pool, size_t n, mnv2_task_fn fn, void *ctx);
uint32_t mnv2__pool_threads(const mnv2_pool *pool);
/* Profiling, for the benchmark (MNV2_KEY_THREAD_PROFILE): on = 1 starts measuring, 0 stops; both
 * reset the figures. get: loops run, wall time in them, the fraction of thread time in them not
 * spent on items (idle), and the time-weighted planned imbalance (largest share / mean share);
 * returns whether it is measuring. */
void mnv2__pool_set_profile(mnv2_pool *pool, int on);
int mnv2__pool_get_profile(const mnv2_pool *pool, uint64_t *loops, int64_t *wall_ns, double *idle,
                            double *balance);

#endif
