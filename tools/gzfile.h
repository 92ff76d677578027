/*
 * Reading a whole file, gzip-compressed or not, into memory with zlib (mnv2-train, idx2pgm).
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef MNV2_EXAMPLES_GZFILE_H
#define MNV2_EXAMPLES_GZFILE_H

#include <stddef.h>
#include <stdint.h>

/* Read @p path (decompressing it if it is gzip data) into a new malloc'ed buffer of at most
 * @p max bytes. 0 on success; otherwise -1 and a message in @p err. */
int ex_read_gz(const char *path, size_t max, uint8_t **data, size_t *size, char *err, size_t err_size);

#endif
