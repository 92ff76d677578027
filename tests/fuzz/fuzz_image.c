/* SPDX-License-Identifier: BSD-2-Clause */
/* Fuzz target: the tools' image reader (tools/image.c): PGM / PPM, and PNG when built with libpng. */
#include "image.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64], err[256];
    int fd = fuzz_as_file(data, size, path, sizeof path);
    if (fd < 0)
        return 0;
    ex_image img;
    if (ex_image_read(path, &img, err, sizeof err) == 0)
        ex_image_free(&img);
    close(fd);
    return 0;
}
