/* SPDX-License-Identifier: BSD-2-Clause */
/* Shared by the fuzz targets: the libFuzzer entry point and a helper that gives the input a path
 * (for readers that only take paths). Built with libFuzzer (clang -fsanitize=fuzzer) by
 * .ci/tsan-fuzz.sh, and with replay.c (a main() that runs the committed corpus) by meson. */
#ifndef MNV2_FUZZ_H
#define MNV2_FUZZ_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input as a file (an anonymous memory file) named by /proc/self/fd/N in path; returns the
 * descriptor to close afterwards, or -1. */
static inline int fuzz_as_file(const uint8_t *data, size_t size, char *path, size_t path_size)
{
    int fd = memfd_create("mnv2-fuzz", 0);
    if (fd < 0)
        return -1;
    size_t done = 0;
    while (done < size) {
        ssize_t w = write(fd, data + done, size - done);
        if (w <= 0) {
            close(fd);
            return -1;
        }
        done += (size_t)w;
    }
    snprintf(path, path_size, "/proc/self/fd/%d", fd);
    return fd;
}

#endif
