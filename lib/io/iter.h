/* SPDX-License-Identifier: BSD-2-Clause */
/* Internal: the random streams of the batch iterator, shared with tests and evaluation. */
#ifndef MNV2_IO_ITER_H
#define MNV2_IO_ITER_H
#include <stdint.h>

#include "mnv2_data.h"

uint64_t mnv2__mix64(uint64_t x);                    /* splitmix64 finaliser */
uint64_t mnv2__splitmix64(uint64_t *s);              /* next splitmix64 output */
uint32_t mnv2__uniform(uint64_t *s, uint32_t n);     /* uniform in 0 .. n - 1, n >= 1 (Lemire) */
/* The order of epoch `epoch`: Fisher-Yates of 0 .. n - 1 (see mnv2_data.h). */
void mnv2__shuffle(uint32_t *perm, uint32_t n, uint64_t seed, uint64_t epoch);
/* mnv2_batch_iter_create() without clearing the error; `what` names the caller in messages. */
int32_t mnv2__iter_create(const mnv2_dataset *ds, const mnv2_batch_options *o, const char *what,
                          mnv2_batch_iter **out);

#endif
