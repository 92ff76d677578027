/* SPDX-License-Identifier: BSD-2-Clause */
/* Internal: the thread-local detail message behind mnv2_last_error(). */
#ifndef MNV2_INTERNAL_ERROR_H
#define MNV2_INTERNAL_ERROR_H
#include <stdint.h>

/* Set the calling thread's detail message and return status (for `return mnv2__fail(...)`). */
int32_t mnv2__fail(int32_t status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Clear the detail message (called at the start of public entry points that may fail). */
void mnv2__clear_error(void);

#endif
