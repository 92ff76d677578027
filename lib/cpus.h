/* SPDX-License-Identifier: BSD-2-Clause */
/* Internal: the number of CPUs this process may run on (#MNV2_KEY_THREADS 0). */
#ifndef MNV2_CPUS_H
#define MNV2_CPUS_H
#include <stdint.h>

/* Online CPUs, lowered to the affinity mask and the cgroup CPU quota (v2 cpu.max, v1 CFS quota)
 * where readable; at least 1, at most 1024. Reads /proc and /sys on each call. */
uint32_t mnv2__usable_cpus(void);

#endif
