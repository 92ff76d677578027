/* SPDX-License-Identifier: BSD-2-Clause */
/* A small fork-join pool. The items of a loop are split into one contiguous range per thread,
 * in order (thread t gets the t-th share of [0, n)); a thread first works through its own range,
 * then helps with the others' (claiming their items with the same atomic counters). Since the
 * passes of a model split their data the same way (rows, images and chunks in order), a thread
 * mostly touches the data it produced in the previous pass, which is still in its own core's
 * caches: reading lines another core wrote is several times slower on machines whose cores share
 * no fast cache. Which thread runs an item never changes a result, so the stealing only balances
 * the load.
 * Between loops a worker spins for up to a millisecond (a model runs a few hundred loops per
 * training step, with serial work between some of them, and waking a sleeping thread costs tens
 * of microseconds in a virtual machine, milliseconds when the host has parked the idle vCPU), then
 * sleeps on a condition variable; the caller likewise spins, then sleeps, waiting for the last
 * worker. Every sleep re-checks its condition under the lock, so no wake-up is lost. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "mnv2.h"
#include "internal_error.h"
#include "pool.h"

/* How long a thread spins before it sleeps. Measured on the 2-core development VM: 44 us of
 * spinning (the first version) left the second thread arriving late at the first loops after
 * each serial stretch, and standard 224 training ran 1.7x as fast on 2 threads as on 1; with 1 ms,
 * 1.8x. The clock is read once per MNV2_POOL_SPIN_BATCH pauses. */
#define MNV2_POOL_SPIN_NS 1000000
#define MNV2_POOL_SPIN_BATCH 64

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* Spins until done(arg) holds (returns 1) or MNV2_POOL_SPIN_NS have passed (returns 0). */
static int spin_until(int (*done)(const mnv2_pool *, uint64_t), const mnv2_pool *p, uint64_t arg)
{
    const int64_t end = now_ns() + MNV2_POOL_SPIN_NS;
    for (;;) {
        for (int i = 0; i < MNV2_POOL_SPIN_BATCH; i++) {
            if (done(p, arg))
                return 1;
            cpu_relax();
        }
        if (now_ns() >= end)
            return done(p, arg);
    }
}

/* One thread's share of the current loop, on its own cache line. */
struct share {
    _Alignas(64) atomic_size_t next;
    size_t end;
};

struct worker_arg {
    struct mnv2_pool *pool;
    uint32_t thread;
};

/* Profile counters of one thread (written by that thread only), on its own cache line. */
struct busy {
    _Alignas(64) int64_t ns;
};

/* Pool profile (mnv2__pool_set_profile): read and written by the caller of mnv2__pool_run only. */
struct profile {
    int on;
    uint64_t loops;
    int64_t wall_ns;       /* time inside parallel loops, caller's clock */
    double busy_ns;        /* thread time spent running items, all threads */
    double balance_ns;     /* sum over loops of wall time x planned imbalance */
};

struct mnv2_pool {
    uint32_t threads;
    pthread_t *workers;
    struct worker_arg *args;
    pthread_mutex_t lock;
    pthread_cond_t wake, done;
    atomic_uint_fast64_t generation; /* bumped (under lock) for each loop */
    atomic_uint busy;                /* workers still in the current loop */
    uint32_t sleepers;               /* workers waiting on wake (under lock) */
    int caller_sleeping;             /* caller waiting on done (under lock) */
    int quit;                        /* under lock */
    mnv2_task_fn fn;
    void *ctx;
    struct share *share; /* threads entries */
    struct busy *busy_ns; /* threads entries; written while profiling */
    struct profile prof;
};

/* Own share first, then the others' in turn. While profiling, the time spent in items is added
 * to the thread's busy counter (the flag is set by the caller before the loop is published). */
static void drain(mnv2_pool *p, uint32_t thread)
{
    const uint32_t t = p->threads;
    const int64_t start = p->prof.on ? now_ns() : 0;
    for (uint32_t k = 0; k < t; k++) {
        struct share *s = &p->share[(thread + k) % t];
        for (;;) {
            const size_t i = atomic_fetch_add_explicit(&s->next, 1, memory_order_relaxed);
            if (i >= s->end)
                break;
            p->fn(p->ctx, i, thread);
        }
    }
    if (p->prof.on)
        p->busy_ns[thread].ns += now_ns() - start;
}

static int new_loop(const mnv2_pool *p, uint64_t seen)
{
    return atomic_load_explicit(&p->generation, memory_order_acquire) != seen;
}

static int all_done(const mnv2_pool *p, uint64_t unused)
{
    (void)unused;
    return atomic_load_explicit(&p->busy, memory_order_acquire) == 0;
}

/* Waits until the generation differs from seen (returns 1) or the pool quits (returns 0). */
static int wait_for_loop(mnv2_pool *p, uint64_t seen)
{
    if (spin_until(new_loop, p, seen))
        return 1;
    pthread_mutex_lock(&p->lock);
    p->sleepers++;
    while (!p->quit && atomic_load_explicit(&p->generation, memory_order_acquire) == seen)
        pthread_cond_wait(&p->wake, &p->lock);
    p->sleepers--;
    const int quit = p->quit;
    pthread_mutex_unlock(&p->lock);
    return !quit;
}

static void *worker(void *arg)
{
    struct worker_arg *w = arg;
    mnv2_pool *p = w->pool;
    const uint32_t thread = w->thread;
    uint64_t seen = 0;
    while (wait_for_loop(p, seen)) {
        seen = atomic_load_explicit(&p->generation, memory_order_acquire);
        drain(p, thread);
        if (atomic_fetch_sub_explicit(&p->busy, 1, memory_order_acq_rel) == 1) {
            pthread_mutex_lock(&p->lock);
            if (p->caller_sleeping)
                pthread_cond_signal(&p->done);
            pthread_mutex_unlock(&p->lock);
        }
    }
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
    p->share = aligned_alloc(64, p->threads * sizeof *p->share);
    p->busy_ns = aligned_alloc(64, p->threads * sizeof *p->busy_ns);
    if (!p->share || !p->busy_ns) {
        mnv2__pool_destroy(p);
        return mnv2__fail(MNV2_ERR_OUT_OF_MEMORY, "out of memory creating the thread pool");
    }
    for (uint32_t t = 0; t < p->threads; t++) {
        atomic_init(&p->share[t].next, 0);
        p->share[t].end = 0;
        p->busy_ns[t].ns = 0;
    }
    atomic_init(&p->generation, 0);
    atomic_init(&p->busy, 0);
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
    free(p->share);
    free(p->busy_ns);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
    free(p);
}

uint32_t mnv2__pool_threads(const mnv2_pool *p) { return p->threads; }

void mnv2__pool_set_profile(mnv2_pool *p, int on)
{
    p->prof = (struct profile){.on = on};
    for (uint32_t t = 0; t < p->threads; t++)
        p->busy_ns[t].ns = 0;
}

int mnv2__pool_get_profile(const mnv2_pool *p, uint64_t *loops, int64_t *wall_ns, double *idle, double *balance)
{
    const struct profile *f = &p->prof;
    *loops = f->loops;
    *wall_ns = f->wall_ns;
    *idle = f->wall_ns > 0 ? 1.0 - f->busy_ns / ((double)f->wall_ns * p->threads) : 0.0;
    *balance = f->wall_ns > 0 ? f->balance_ns / (double)f->wall_ns : 1.0;
    return f->on;
}

/* Adds a finished loop of n items that took wall_ns to the profile. The planned imbalance is the
 * largest share over the mean share, threads * ceil(n / threads) / n (a loop of fewer items than
 * threads leaves threads - n of them idle). */
static void profile_loop(mnv2_pool *p, size_t n, int64_t wall_ns)
{
    const size_t t = p->threads;
    double busy = 0;
    for (uint32_t i = 0; i < p->threads; i++) {
        busy += (double)p->busy_ns[i].ns;
        p->busy_ns[i].ns = 0;
    }
    p->prof.loops++;
    p->prof.wall_ns += wall_ns;
    p->prof.busy_ns += busy;
    p->prof.balance_ns += (double)wall_ns * (double)(t * ((n + t - 1) / t)) / (double)n;
}

static void run_loop(mnv2_pool *p, size_t n, mnv2_task_fn fn, void *ctx);

void mnv2__pool_run(mnv2_pool *p, size_t n, mnv2_task_fn fn, void *ctx)
{
    if (!p->prof.on) {
        run_loop(p, n, fn, ctx);
        return;
    }
    if (n == 0)
        return;
    const int64_t start = now_ns();
    run_loop(p, n, fn, ctx);
    profile_loop(p, n, now_ns() - start);
}

static void run_loop(mnv2_pool *p, size_t n, mnv2_task_fn fn, void *ctx)
{
    if (p->threads == 1 || n == 1) {
        const int64_t start = p->prof.on ? now_ns() : 0;
        for (size_t i = 0; i < n; i++)
            fn(ctx, i, 0);
        if (p->prof.on)
            p->busy_ns[0].ns += now_ns() - start;
        return;
    }
    pthread_mutex_lock(&p->lock);
    p->fn = fn;
    p->ctx = ctx;
    for (uint32_t t = 0; t < p->threads; t++) {
        atomic_store_explicit(&p->share[t].next, n * t / p->threads, memory_order_relaxed);
        p->share[t].end = n * (t + 1) / p->threads;
    }
    atomic_store_explicit(&p->busy, p->threads - 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&p->generation, 1, memory_order_release);
    if (p->sleepers)
        pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    drain(p, 0);
    if (spin_until(all_done, p, 0))
        return;
    pthread_mutex_lock(&p->lock);
    p->caller_sleeping = 1;
    while (atomic_load_explicit(&p->busy, memory_order_acquire) != 0)
        pthread_cond_wait(&p->done, &p->lock);
    p->caller_sleeping = 0;
    pthread_mutex_unlock(&p->lock);
}
