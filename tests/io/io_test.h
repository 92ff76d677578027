/* SPDX-License-Identifier: BSD-2-Clause */
/* Helpers shared by the io tests: temporary directories, files and error checks. */
#ifndef MNV2_IO_TEST_H
#define MNV2_IO_TEST_H
#include <dirent.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

#include "mnv2_data.h"

/* A fresh directory under $TMPDIR (or /tmp), removed by rm_tree(). */
static inline char *make_temp_dir(void)
{
    const char *base = getenv("TMPDIR");
    char *p = malloc(4096);
    assert_non_null(p);
    snprintf(p, 4096, "%s/mnv2-io-XXXXXX", base && *base ? base : "/tmp");
    assert_non_null(mkdtemp(p));
    return p;
}

/* Remove a directory with its plain files (the tests create no subdirectories inside). */
static inline void rm_tree(char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        char p[4096];
        while ((e = readdir(d)) != NULL) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            unlink(p);
        }
        closedir(d);
    }
    rmdir(dir);
    free(dir);
}

/* Number of entries in a directory, "." and ".." excluded. */
static inline int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

static inline char *path_in(const char *dir, const char *name)
{
    char *p = malloc(4096);
    assert_non_null(p);
    snprintf(p, 4096, "%s/%s", dir, name);
    return p;
}

static inline void write_file(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (size)
        assert_int_equal(fwrite(data, 1, size, f), size);
    assert_int_equal(fclose(f), 0);
}

static inline uint8_t *read_all(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)n + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *size = (size_t)n;
    return b;
}

/* The call failed with `status` and a detail message that contains `needle` (may be NULL). */
#define expect_fail(call, status, needle)                                                                   \
    do {                                                                                                    \
        int32_t rc_ = (call);                                                                               \
        if (rc_ != (status))                                                                                \
            fail_msg("%s: got %d (%s), want %d; message: %s", #call, (int)rc_, mnv2_status_string(rc_),     \
                     (int)(status), mnv2_last_error());                                                     \
        const char *m_ = mnv2_last_error();                                                                 \
        if (!m_[0])                                                                                         \
            fail_msg("%s: empty error message", #call);                                                     \
        if ((needle) && !strstr(m_, (needle) ? (needle) : ""))                                             \
            fail_msg("%s: message \"%s\" lacks \"%s\"", #call, m_, (needle) ? (needle) : "");               \
    } while (0)

#define expect_ok(call)                                                                                     \
    do {                                                                                                    \
        int32_t rc_ = (call);                                                                               \
        if (rc_ != MNV2_OK)                                                                                 \
            fail_msg("%s: got %d (%s): %s", #call, (int)rc_, mnv2_status_string(rc_), mnv2_last_error());   \
    } while (0)

#endif
