/*
 * idx2pgm: write one image of an IDX image file (MNIST, Fashion-MNIST; .gz or not) as PGM / PPM.
 *   idx2pgm IMAGES[.gz] INDEX OUT.pgm [LABELS[.gz]]
 * With a label file, prints the image's label.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common.h"
#include "gzfile.h"

#define MAX_IDX ((size_t)1 << 31)

static const char help[] =
    "usage: idx2pgm [options] [--] IMAGES INDEX OUT [LABELS]\n"
    "Write one image of an IDX image file (MNIST, Fashion-MNIST; .gz or not) as PGM / PPM.\n"
    "\n"
    "Arguments:\n"
    "  IMAGES         an IDX unsigned-byte image file (idx3 or idx4), gzip-compressed or not\n"
    "  INDEX          which image, from 0\n"
    "  OUT            the PGM (one channel) or PPM (three channels) file to write\n"
    "  LABELS         the matching IDX label file: its label of the image is printed\n"
    "\n"
    "Options:\n"
    "  -h, --help     print this help and exit\n"
    "  -V, --version  print the version and exit\n"
    "\n"
    "One line on stdout names the image written (and its label).\n";

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint8_t *load(const char *path, size_t *size)
{
    uint8_t *d;
    char err[512];
    if (ex_read_gz(path, MAX_IDX, &d, size, err, sizeof err) != 0)
        ex_die("%s", err);
    return d;
}

int main(int argc, char **argv)
{
    cli_begin("idx2pgm", help);
    char **args = calloc((size_t)argc + 1, sizeof *args); /* argv[0], then the operands */
    int n_args = 0;
    if (!args)
        ex_die("out of memory");
    args[0] = argv[0];
    for (int i = 1; i < argc; i++) {
        int kind = cli_arg(argc, argv, &i);
        if (kind == CLI_OPERAND)
            args[1 + n_args++] = argv[i];
        else if (kind == CLI_OPTION)
            cli_unknown(argv[i]);
    }
    if (n_args != 3 && n_args != 4)
        cli_usage_error("expected IMAGES INDEX OUT [LABELS], got %d argument%s", n_args, n_args == 1 ? "" : "s");
    argc = n_args + 1; /* argv[1..] below: the operands */
    argv = args;
    size_t size;
    uint8_t *d = load(argv[1], &size);
    uint32_t magic = size >= 4 ? be32(d) : 0;
    uint32_t ndim = magic == 0x803 ? 3 : magic == 0x804 ? 4 : 0;
    if (!ndim || size < 4 + 4 * (size_t)ndim)
        ex_die("%s: not an IDX unsigned-byte image file", argv[1]);
    uint64_t count = be32(d + 4), h = be32(d + 8), w = be32(d + 12), c = ndim == 4 ? be32(d + 16) : 1;
    size_t body = size - 4 - 4 * (size_t)ndim;
    if ((c != 1 && c != 3) || h == 0 || w == 0 || h > 65536 || w > 65536 || count == 0 ||
        count > body / (h * w * c) || count * h * w * c != body)
        ex_die("%s: malformed IDX image file (%llu images of %llux%llux%llu in %zu bytes)", argv[1],
               (unsigned long long)count, (unsigned long long)h, (unsigned long long)w, (unsigned long long)c,
               body);
    uint32_t index = ex_parse_u32("INDEX", argv[2], 0, (uint32_t)(count - 1));
    size_t n = (size_t)(h * w * c);
    const uint8_t *px = d + 4 + 4 * ndim + (size_t)index * n;

    FILE *f = fopen(argv[3], "wb");
    if (!f)
        ex_die("%s: %s", argv[3], strerror(errno));
    fprintf(f, "P%c\n%u %u\n255\n", c == 3 ? '6' : '5', (unsigned)w, (unsigned)h);
    size_t written = fwrite(px, 1, n, f);
    if (fclose(f) != 0 || written != n)
        ex_die("%s: %s", argv[3], strerror(errno));
    free(d);

    printf("%s: image %u of %s", argv[3], (unsigned)index, argv[1]);
    if (argc == 5) {
        uint8_t *l = load(argv[4], &size);
        if (size < 8 || be32(l) != 0x801 || be32(l + 4) != count || size != 8 + count)
            ex_die("%s: not an IDX label file for %llu images", argv[4], (unsigned long long)count);
        printf(", label %u", (unsigned)l[8 + index]);
        free(l);
    }
    printf("\n");
    free(args);
    return 0;
}
