/*
 * mnv2-train's data-parallel layer over MPI (see train_mpi.h).
 *
 * Determinism: MPI_Allreduce may add the processes' values in an order that depends on the
 * algorithm Open MPI or MPICH picks (message size, process count, tuning), so it is not used for
 * anything that feeds the model. The gradient "all-reduce" is a reduce-scatter done by hand
 * (MPI_Alltoall moves chunk j of every process to process j, which adds them in rank order) and an
 * MPI_Allgather of the sums: both only move data, so the result has the same bits on every run at
 * a given N, and the bandwidth is that of a ring all-reduce (2 (N - 1) / N of the buffer per
 * process). Batch-norm statistics (small) are gathered whole and combined in rank order.
 *
 * Faults: MPI errors return (MPI_ERRORS_RETURN) and stop every process through MPI_Abort with the
 * error's text; any other fatal error (exit() without MPI_Finalize, e.g. a dataset that cannot be
 * read) reaches MPI_Abort through an atexit handler, so the other processes do not wait for ever.
 * A watchdog thread aborts when a process waits in a collective longer than --mpi-timeout.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include "train_mpi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

static uint32_t rank_, size_ = 1;

uint32_t tm_rank(void) { return rank_; }
uint32_t tm_size(void) { return size_; }

#ifdef MNV2_HAVE_MPI
#include <mpi.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

static int active, thread_multiple;
static double timeout_s = 600.0, exchange_s;
static uint64_t exchanges;
static uint32_t local_size = 1;
static float *send_buf, *recv_buf; /* gradient exchange, padded to size_ * chunk */
static double *stat_buf;           /* batch-norm statistics of every process */
static size_t stat_cap;
/* Watchdog: the monotonic time (ns) by which the current collective must finish; 0 = none. */
static _Atomic int64_t deadline_ns;
static const char *_Atomic waiting_in;

int tm_built(void) { return 1; }

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

EX_NORETURN static void abort_all(const char *fmt, const char *what, int code)
{
    char text[MPI_MAX_ERROR_STRING] = "";
    int len = 0;
    if (code != MPI_SUCCESS)
        MPI_Error_string(code, text, &len);
    fprintf(stderr, "%s: rank %u of %u: ", ex_prog(), (unsigned)rank_, (unsigned)size_);
    fprintf(stderr, fmt, what, text);
    fputs(": stopping every process\n", stderr);
    fflush(stderr);
    active = 0; /* the atexit handler must not abort a second time */
    MPI_Abort(MPI_COMM_WORLD, 1);
    _exit(1);
}

/* Every MPI call goes through here: its error stops the job with the call's name and MPI's text. */
static void check(int code, const char *what)
{
    if (code != MPI_SUCCESS)
        abort_all("MPI error in %s: %s", what, code);
}

static void enter(const char *what)
{
    waiting_in = what;
    if (timeout_s > 0)
        atomic_store(&deadline_ns, now_ns() + (int64_t)(timeout_s * 1e9));
}

static void leave(void) { atomic_store(&deadline_ns, 0); }

static void *watchdog(void *arg)
{
    (void)arg;
    for (;;) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
        int64_t d = atomic_load(&deadline_ns);
        if (d && now_ns() > d) {
            fprintf(stderr,
                    "%s: rank %u of %u: no progress for %.0f s in %s (another process is stuck or gone; "
                    "--mpi-timeout): stopping every process\n",
                    ex_prog(), (unsigned)rank_, (unsigned)size_, timeout_s, waiting_in ? waiting_in : "a collective");
            fflush(stderr);
            if (thread_multiple)
                MPI_Abort(MPI_COMM_WORLD, 1);
            _exit(1); /* the launcher stops the others when a process exits with an error */
        }
    }
    return NULL;
}

/* exit() before MPI_Finalize (a fatal error anywhere in the tool): take every process down. */
static void at_exit(void)
{
    if (active) {
        active = 0;
        fprintf(stderr, "%s: rank %u of %u failed: stopping every process\n", ex_prog(), (unsigned)rank_,
                (unsigned)size_);
        fflush(stderr);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
}

/* Started by mpirun / mpiexec (Open MPI, MPICH's hydra, PMIx launchers)? */
static int launched(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        if (getenv(vars[i]))
            return 1;
    return 0;
}

void tm_init(int *argc, char ***argv)
{
    if (!launched())
        return;
    int provided = 0, r, n;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_MULTIPLE, &provided) != MPI_SUCCESS)
        ex_die("MPI_Init_thread failed");
    thread_multiple = provided >= MPI_THREAD_MULTIPLE;
    active = 1;
    atexit(at_exit);
    check(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
    check(MPI_Comm_rank(MPI_COMM_WORLD, &r), "MPI_Comm_rank");
    check(MPI_Comm_size(MPI_COMM_WORLD, &n), "MPI_Comm_size");
    rank_ = (uint32_t)r, size_ = (uint32_t)n;
    MPI_Comm local;
    check(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, r, MPI_INFO_NULL, &local), "MPI_Comm_split_type");
    check(MPI_Comm_size(local, &n), "MPI_Comm_size");
    local_size = (uint32_t)n;
    MPI_Comm_free(&local);
    if (rank_ != 0 && !freopen("/dev/null", "w", stdout))
        ex_die("rank %u: cannot silence stdout", (unsigned)rank_);
    pthread_t t;
    if (pthread_create(&t, NULL, watchdog, NULL) != 0)
        ex_die("cannot start the MPI watchdog thread");
    pthread_detach(t);
}

void tm_set_timeout(double seconds) { timeout_s = seconds; }

int32_t tm_threads(int32_t threads)
{
    if (threads != 0 || local_size <= 1)
        return threads;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    long per = cpus > 0 ? cpus / (long)local_size : 1;
    return per > 0 ? (int32_t)per : 1;
}

void tm_check_same(const char *what, const uint64_t *values, size_t n)
{
    if (size_ == 1)
        return;
    uint64_t *all = malloc(n * size_ * sizeof *all);
    if (!all)
        ex_die("out of memory");
    enter(what);
    check(MPI_Allgather(values, (int)n, MPI_UINT64_T, all, (int)n, MPI_UINT64_T, MPI_COMM_WORLD), "MPI_Allgather");
    leave();
    for (uint32_t r = 1; r < size_; r++)
        if (memcmp(all, all + r * n, n * sizeof *all) != 0)
            ex_die("rank %u and rank 0 differ in %s", (unsigned)r, what);
    free(all);
}

/* Gather (count, s1[c], s2[c]) of every process and combine in rank order: forward moments with
 * Chan et al.'s pairwise update, backward sums by addition. */
static int32_t sync_bn_hook(void *user, int32_t phase, const char *layer, uint32_t channels, double *count,
                            double *s1, double *s2)
{
    (void)user, (void)layer;
    const size_t slot = 1 + 2 * (size_t)channels;
    if (stat_cap < 2 * slot * size_) {
        free(stat_buf);
        stat_cap = 2 * slot * size_;
        stat_buf = malloc(stat_cap * sizeof *stat_buf);
        if (!stat_buf)
            ex_die("out of memory");
    }
    double *mine = stat_buf + slot * size_, *all = stat_buf;
    mine[0] = *count;
    memcpy(mine + 1, s1, channels * sizeof *s1);
    memcpy(mine + 1 + channels, s2, channels * sizeof *s2);
    const double t0 = MPI_Wtime();
    enter("the batch-norm statistics exchange");
    check(MPI_Allgather(mine, (int)slot, MPI_DOUBLE, all, (int)slot, MPI_DOUBLE, MPI_COMM_WORLD), "MPI_Allgather");
    leave();
    exchange_s += MPI_Wtime() - t0;
    double n = all[0];
    memcpy(s1, all + 1, channels * sizeof *s1);
    memcpy(s2, all + 1 + channels, channels * sizeof *s2);
    for (uint32_t r = 1; r < size_; r++) {
        const double *p = all + r * slot, nb = p[0], nt = n + nb;
        for (uint32_t c = 0; c < channels; c++) {
            if (phase == MNV2_BN_STATS_FORWARD) {
                const double d = p[1 + c] - s1[c];
                s1[c] += d * nb / nt;
                s2[c] = (s2[c] * n + p[1 + channels + c] * nb + d * d * n * nb / nt) / nt;
            } else {
                s1[c] += p[1 + c];
                s2[c] += p[1 + channels + c];
            }
        }
        n = nt;
    }
    *count = n;
    return 0;
}

void tm_attach(mnv2_model *model, int sync_bn)
{
    if (size_ == 1)
        return;
    uint64_t n, h = 1469598103934665603u;
    const unsigned char *p = (const unsigned char *)mnv2_parameters(model, &n);
    for (size_t i = 0; i < n * sizeof(float); i++)
        h = (h ^ p[i]) * 1099511628211u;
    uint64_t facts[2] = {n, h};
    tm_check_same("the model's parameters (created or resumed differently?)", facts, 2);
    if (sync_bn)
        ex_check(mnv2_model_set_bn_stats_hook(model, sync_bn_hook, NULL), "--sync-bn");
}

int32_t tm_batch_next(mnv2_batch_iter *it, uint32_t global_batch, uint32_t count, float *images, size_t n_images,
                      int32_t *labels, uint32_t n_labels, uint32_t *batch)
{
    if (size_ == 1)
        return mnv2_batch_next(it, images, n_images, labels, n_labels, batch);
    uint64_t seed, epoch, pos;
    int32_t rc = mnv2_batch_iter_get_state(it, &seed, &epoch, &pos);
    if (rc)
        return rc;
    if (count - pos < global_batch) {
        *batch = 0;
        return mnv2_batch_iter_set_state(it, seed, epoch + 1, 0);
    }
    const uint32_t share = global_batch / size_;
    if ((rc = mnv2_batch_iter_set_state(it, seed, epoch, pos + (uint64_t)rank_ * share)) != 0 ||
        (rc = mnv2_batch_next(it, images, n_images, labels, n_labels, batch)) != 0)
        return rc;
    if (*batch != share)
        ex_die("rank %u: read %u images of its share of %u", (unsigned)rank_, (unsigned)*batch, (unsigned)share);
    return mnv2_batch_iter_set_state(it, seed, epoch, pos + global_batch);
}

int tm_average_gradients(mnv2_model *model, int stop)
{
    if (size_ == 1)
        return stop;
    uint64_t n;
    float *g = mnv2_gradients(model, &n);
    const size_t chunk = ((size_t)n + 1 + size_ - 1) / size_, total = chunk * size_;
    if (!send_buf) {
        send_buf = calloc(total, sizeof *send_buf);
        recv_buf = calloc(total, sizeof *recv_buf);
        if (!send_buf || !recv_buf)
            ex_die("out of memory");
    }
    memcpy(send_buf, g, (size_t)n * sizeof *g);
    send_buf[n] = stop ? 1.0f : 0.0f; /* the stop vote travels with the gradients */
    const double t0 = MPI_Wtime();
    enter("the gradient exchange");
    check(MPI_Alltoall(send_buf, (int)chunk, MPI_FLOAT, recv_buf, (int)chunk, MPI_FLOAT, MPI_COMM_WORLD),
          "MPI_Alltoall");
    for (uint32_t r = 1; r < size_; r++) /* this process's chunk: added in rank order */
        for (size_t i = 0; i < chunk; i++)
            recv_buf[i] += recv_buf[r * chunk + i];
    check(MPI_Allgather(recv_buf, (int)chunk, MPI_FLOAT, send_buf, (int)chunk, MPI_FLOAT, MPI_COMM_WORLD),
          "MPI_Allgather");
    leave();
    exchange_s += MPI_Wtime() - t0;
    exchanges++;
    const float div = (float)size_;
    for (uint64_t i = 0; i < n; i++)
        g[i] = send_buf[i] / div;
    return send_buf[n] > 0.0f;
}

void tm_sum(double *values, size_t n)
{
    if (size_ == 1)
        return;
    double *all = malloc(n * size_ * sizeof *all);
    if (!all)
        ex_die("out of memory");
    enter("the epoch's statistics exchange (waiting for rank 0's evaluation and checkpoint?)");
    check(MPI_Allgather(values, (int)n, MPI_DOUBLE, all, (int)n, MPI_DOUBLE, MPI_COMM_WORLD), "MPI_Allgather");
    leave();
    for (size_t i = 0; i < n; i++) {
        values[i] = all[i];
        for (uint32_t r = 1; r < size_; r++)
            values[i] += all[r * n + i];
    }
    free(all);
}

void tm_report(double train_seconds, uint64_t steps)
{
    if (size_ == 1 || rank_ != 0 || !steps || train_seconds <= 0)
        return;
    printf("mpi: %u processes; gradient and batch-norm exchange %.2f ms per step of %.2f ms (%.1f%%)\n",
           (unsigned)size_, 1e3 * exchange_s / (double)steps, 1e3 * train_seconds / (double)steps,
           100.0 * exchange_s / train_seconds);
}

void tm_finalize(void)
{
    if (!active)
        return;
    enter("MPI_Finalize");
    check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier");
    leave();
    active = 0;
    MPI_Finalize();
    free(send_buf), free(recv_buf), free(stat_buf);
}

#else /* built without MPI: one process */

int tm_built(void) { return 0; }
void tm_init(int *argc, char ***argv) { (void)argc, (void)argv; }
void tm_set_timeout(double seconds) { (void)seconds; }
int32_t tm_threads(int32_t threads) { return threads; }
void tm_check_same(const char *what, const uint64_t *values, size_t n) { (void)what, (void)values, (void)n; }
void tm_attach(mnv2_model *model, int sync_bn) { (void)model, (void)sync_bn; }
int32_t tm_batch_next(mnv2_batch_iter *it, uint32_t global_batch, uint32_t count, float *images, size_t n_images,
                      int32_t *labels, uint32_t n_labels, uint32_t *batch)
{
    (void)global_batch, (void)count;
    return mnv2_batch_next(it, images, n_images, labels, n_labels, batch);
}
int tm_average_gradients(mnv2_model *model, int stop) { (void)model; return stop; }
void tm_sum(double *values, size_t n) { (void)values, (void)n; }
void tm_report(double train_seconds, uint64_t steps) { (void)train_seconds, (void)steps; }
void tm_finalize(void) {}

#endif
