/* A small fork-join pool: workers sleep on a condition variable between parallel loops and
 * claim items with an atomic counter; the caller claims items too. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "mnv2.h"
#include "internal_error.h"
#include "pool.h"

struct worker_arg {
    struct mnv2_pool *pool;
    uint32_t thread;
};

struct mnv2_pool {
    uint32_t threads;
    pthread_t *workers;
    struct worker_arg *args;
    pthread_mutex_t lock;
    pthread_cond_t wake, done;
    uint64_t generation;   /* bumped for each loop */
    int quit;
    uint32_t busy;         /* workers still in the current loop */
    mnv2_task_fn fn;
    void *ctx;
    size_t n;
    atomic_size_t next;
};

static void drain(mnv2_pool *p, uint32_t thread)
{
    for (;;) {
        const size_t i = atomic_fetch_add_explicit(&p->next, 1, memory_order_relaxed);
        if (i >= p->n)
            break;
        p->fn(p->ctx, i, thread);
    }
}

static void *worker(void *arg)
{
    struct worker_arg *w = arg;
    mnv2_pool *p = w->pool;
    const uint32_t thread = w->thread;
    uint64_t seen = 0;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->quit && p->generation == seen)
            pthread_cond_wait(&p->wake, &p->lock);
        if (p->quit)
            break;
        seen = p->generation;
        pthread_mutex_unlock(&p->lock);
        drain(p, thread);
        pthread_mutex_lock(&p->lock);
        if (--p->busy == 0)
            pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

int32_t mnv2__pool_create(uint32_t threads, mnv2_pool **out)
{
    mnv2_pool *p = calloc(1, sizeof *p);
    if (!p)
        return mnv2__fail(MNV2_ERR_OUT_OF_MEMORY, "out of memory creating the thread pool");
    p->threads = threads ? threads : 1;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    atomic_init(&p->next, 0);
    if (p->threads > 1) {
        p->workers = calloc(p->threads - 1, sizeof *p->workers);
        p->args = calloc(p->threads - 1, sizeof *p->args);
        if (!p->workers || !p->args) {
            p->threads = 1;
            mnv2__pool_destroy(p);
            return mnv2__fail(MNV2_ERR_OUT_OF_MEMORY, "out of memory creating the thread pool");
        }
        for (uint32_t i = 0; i + 1 < p->threads; i++) {
            p->args[i].pool = p;
            p->args[i].thread = i + 1;
            if (pthread_create(&p->workers[i], NULL, worker, &p->args[i])) {
                p->threads = i + 1; /* the ones started are joined by destroy */
                mnv2__pool_destroy(p);
                return mnv2__fail(MNV2_ERR_THREAD, "cannot start worker thread %u", (unsigned)i + 1);
            }
        }
    }
    *out = p;
    return MNV2_OK;
}

void mnv2__pool_destroy(mnv2_pool *p)
{
    if (!p)
        return;
    if (p->workers) {
        pthread_mutex_lock(&p->lock);
        p->quit = 1;
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->lock);
        for (uint32_t i = 0; i + 1 < p->threads; i++)
            pthread_join(p->workers[i], NULL);
    }
    free(p->workers);
    free(p->args);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
    free(p);
}

uint32_t mnv2__pool_threads(const mnv2_pool *p) { return p->threads; }

void mnv2__pool_run(mnv2_pool *p, size_t n, mnv2_task_fn fn, void *ctx)
{
    if (p->threads == 1 || n == 1) {
        for (size_t i = 0; i < n; i++)
            fn(ctx, i, 0);
        return;
    }
    pthread_mutex_lock(&p->lock);
    p->fn = fn;
    p->ctx = ctx;
    p->n = n;
    atomic_store_explicit(&p->next, 0, memory_order_relaxed);
    p->busy = p->threads - 1;
    p->generation++;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    drain(p, 0);
    pthread_mutex_lock(&p->lock);
    while (p->busy)
        pthread_cond_wait(&p->done, &p->lock);
    pthread_mutex_unlock(&p->lock);
}
