/*
 * mnv2-train's data-parallel layer over MPI. Under `mpirun -np N` (N > 1) every process trains
 * the same model on its share of each global batch: --batch is the global batch, split evenly
 * (rank r takes images r * B / N .. (r + 1) * B / N - 1 of it, B = --batch), gradients are averaged
 * across processes before every step, and batch-norm statistics are the process's own or, with
 * --sync-bn, those of the whole global batch. Rank 0 evaluates, logs and writes files.
 * Built without MPI (or run without a launcher) every function behaves as for one process.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef MNV2_TOOLS_TRAIN_MPI_H
#define MNV2_TOOLS_TRAIN_MPI_H

#include <stddef.h>
#include <stdint.h>

#include <mnv2.h>
#include <mnv2_data.h>

/* Start MPI when the program was started by an MPI launcher (and the tool was built with MPI);
 * other ranks than 0 then write nothing to stdout. Call first. */
void tm_init(int *argc, char ***argv);
uint32_t tm_rank(void);
uint32_t tm_size(void);
/* 1 when the tool was built with MPI. */
int tm_built(void);
/* Seconds any process may wait in a collective before every process is stopped (0 = never). */
void tm_set_timeout(double seconds);
/* Threads per process for --threads 0: the online CPUs shared by the processes of this machine. */
int32_t tm_threads(int32_t threads);
/* Exit with a message unless every process holds the same @p n values (settings, dataset sizes). */
void tm_check_same(const char *what, const uint64_t *values, size_t n);
/* Before training: check that every process holds the same parameters; with @p sync_bn register
 * the hook that synchronises batch-norm statistics. */
void tm_attach(mnv2_model *model, int sync_bn);
/* The next share of a global batch of @p global_batch images out of @p count: the iterator stays at
 * the global position between calls (so a checkpoint records it, and a resume with another N
 * continues from it); *batch = 0 at the end of the epoch (the iterator moves to the next one).
 * One process: mnv2_batch_next(). */
int32_t tm_batch_next(mnv2_batch_iter *it, uint32_t global_batch, uint32_t count, float *images, size_t n_images,
                      int32_t *labels, uint32_t n_labels, uint32_t *batch);
/* Average the gradients over the processes (one deterministic all-reduce of the contiguous
 * buffer) and agree on stopping: returns non-zero on every process when @p stop is non-zero on
 * any. One process: returns @p stop. */
int tm_average_gradients(mnv2_model *model, int stop);
/* Sum @p n values over the processes, in rank order (the same bits on every run). */
void tm_sum(double *values, size_t n);
/* Rank 0: one line on the time spent exchanging gradients (and batch-norm statistics). */
void tm_report(double train_seconds, uint64_t steps);
/* Leave MPI cleanly (after rank 0 wrote its files). */
void tm_finalize(void);

#endif
