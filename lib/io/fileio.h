/* SPDX-License-Identifier: BSD-2-Clause */
/* Internal: whole-file reads and atomic whole-file writes. */
#ifndef MNV2_IO_FILEIO_H
#define MNV2_IO_FILEIO_H
#include <stddef.h>
#include <stdint.h>

/* Read all of the regular file `path` into a new malloc'd buffer (*data, *size; *data is non-NULL
 * even for an empty file). Files above max_size give MNV2_ERR_FORMAT ("<what> too large"). */
int32_t mnv2__read_file(const char *path, uint64_t max_size, uint8_t **data, size_t *size);

/* Size of the regular file `path` (MNV2_ERR_IO if it cannot be examined or is not a regular file). */
int32_t mnv2__file_size(const char *path, uint64_t *size);

/* 1 if `path` names an existing regular file, else 0. */
int mnv2__file_exists(const char *path);

/* Failure points for tests of mnv2__write_file_atomic(). */
#define MNV2__FAIL_NONE 0
#define MNV2__FAIL_AFTER_CREATE 1 /* temporary file created, nothing written */
#define MNV2__FAIL_AFTER_WRITE 2  /* data written and flushed, not synced */
#define MNV2__FAIL_BEFORE_RENAME 3 /* synced and closed, not renamed */

/* Write `size` bytes to `path` atomically: a temporary file "<path>.XXXXXX" in the same directory
 * (mkstemp), written, flushed, fsync'ed, renamed over `path`, then the directory fsync'ed (best
 * effort). On failure the temporary file is removed and `path` is untouched. `fail_at` injects a
 * failure (MNV2_ERR_IO) at one of the points above; 0 in the library. */
int32_t mnv2__write_file_atomic(const char *path, const void *data, size_t size, int fail_at);

#endif
