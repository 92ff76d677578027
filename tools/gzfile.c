/*
 * Reading a whole file, gzip-compressed or not, into memory with zlib.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "gzfile.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

int ex_read_gz(const char *path, size_t max, uint8_t **data, size_t *size, char *err, size_t err_size)
{
    errno = 0;
    gzFile f = gzopen(path, "rb");
    if (!f) {
        snprintf(err, err_size, "%s: %s", path, errno ? strerror(errno) : "cannot open");
        return -1;
    }
    size_t cap = 1 << 20, n = 0;
    uint8_t *buf = malloc(cap);
    const char *why = NULL;
    while (buf && !why) {
        if (n == cap) {
            if (cap >= max) {
                why = "larger than the limit";
                break;
            }
            cap = cap > max / 2 ? max : cap * 2;
            uint8_t *grown = realloc(buf, cap);
            if (!grown) {
                why = "out of memory";
                break;
            }
            buf = grown;
        }
        size_t want = cap - n < INT_MAX ? cap - n : INT_MAX;
        int got = gzread(f, buf + n, (unsigned)want);
        if (got < 0) {
            int zerr;
            why = gzerror(f, &zerr);
        } else if (got == 0) {
            break;
        } else {
            n += (size_t)got;
        }
    }
    if (!buf && !why)
        why = "out of memory";
    if (why) {
        snprintf(err, err_size, "%s: %s", path, why);
        gzclose(f);
        free(buf);
        return -1;
    }
    int rc = gzclose(f);
    if (rc != Z_OK) {
        snprintf(err, err_size, "%s: %s", path, rc == Z_BUF_ERROR ? "truncated gzip data" : "read error");
        free(buf);
        return -1;
    }
    *data = buf;
    *size = n;
    return 0;
}
