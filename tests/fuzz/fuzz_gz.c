/* SPDX-License-Identifier: BSD-2-Clause */
/* Fuzz target: the tools' gzip reader (tools/gzfile.c), with a 1 MiB output limit. */
#include "gzfile.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64], err[256];
    int fd = fuzz_as_file(data, size, path, sizeof path);
    if (fd < 0)
        return 0;
    uint8_t *out = NULL;
    size_t n = 0;
    if (ex_read_gz(path, 1 << 20, &out, &n, err, sizeof err) == 0)
        free(out);
    close(fd);
    return 0;
}
