/* SPDX-License-Identifier: BSD-2-Clause */
/* Whole-file reads and atomic whole-file writes (POSIX). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mnv2.h"
#include "internal_error.h"
#include "io/fileio.h"

int32_t mnv2__file_size(const char *path, uint64_t *size)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return mnv2__fail(MNV2_ERR_IO, "%s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return mnv2__fail(MNV2_ERR_IO, "%s: not a regular file", path);
    *size = (uint64_t)st.st_size;
    return MNV2_OK;
}

int mnv2__file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int32_t mnv2__read_file(const char *path, uint64_t max_size, uint8_t **data, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return mnv2__fail(MNV2_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return mnv2__fail(MNV2_ERR_IO, "%s: not a regular file", path);
    }
    uint64_t n = (uint64_t)st.st_size;
    if (n > max_size || n > (uint64_t)SIZE_MAX - 1) {
        fclose(f);
        return mnv2__fail(MNV2_ERR_FORMAT, "%s: file of %llu bytes is larger than the %llu allowed", path,
                          (unsigned long long)n, (unsigned long long)max_size);
    }
    uint8_t *buf = malloc(n ? (size_t)n : 1);
    if (!buf) {
        fclose(f);
        return mnv2__fail(MNV2_ERR_OUT_OF_MEMORY, "%s: cannot allocate %llu bytes", path, (unsigned long long)n);
    }
    size_t got = fread(buf, 1, (size_t)n, f);
    int err = ferror(f), extra = fgetc(f) != EOF;
    fclose(f);
    if (got != n || err || extra) {
        free(buf);
        return mnv2__fail(MNV2_ERR_IO, "%s: read %zu of %llu bytes%s", path, got, (unsigned long long)n,
                          extra ? " (the file grew while reading)" : "");
    }
    *data = buf;
    *size = (size_t)n;
    return MNV2_OK;
}

/* Directory part of path ("." when none), fsync'ed so that the rename is durable. Best effort:
 * some file systems refuse fsync on directories. */
#define TMP_TAG ".mnv2-tmp-" /* temporaries are "<path>.mnv2-tmp-XXXXXX" */

/* Directory part of path ("." when none), malloc'd; NULL when out of memory. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    char *dir = malloc((size_t)(slash - path) + 1);
    if (dir) {
        memcpy(dir, path, (size_t)(slash - path));
        dir[slash - path] = '\0';
    }
    return dir;
}

/* fsync the directory of path so that the rename is durable. Best effort: some file systems
 * refuse fsync on directories. */
static void sync_dir(const char *path)
{
    char *dir = dir_of(path);
    if (!dir)
        return;
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    free(dir);
}

/* Remove the temporaries an earlier save of path left when it was killed: regular files of the
 * same directory named "<name of path>.mnv2-tmp-" and six letters or digits, as mkstemp makes
 * them. Best effort. (A save running at the same moment on the same path in another process
 * may lose its temporary and fail with MNV2_ERR_IO; it never damages path.) */
static void remove_stale(const char *path)
{
    const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
    const size_t blen = strlen(base), tlen = strlen(TMP_TAG);
    char *dir = dir_of(path);
    DIR *d = dir ? opendir(dir) : NULL;
    if (!d) {
        free(dir);
        return;
    }
    int dfd = dirfd(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *n = e->d_name;
        if (strlen(n) != blen + tlen + 6 || memcmp(n, base, blen) != 0 || memcmp(n + blen, TMP_TAG, tlen) != 0)
            continue;
        int ok = 1;
        for (size_t i = blen + tlen; i < blen + tlen + 6; i++)
            ok &= (n[i] >= '0' && n[i] <= '9') || (n[i] >= 'a' && n[i] <= 'z') || (n[i] >= 'A' && n[i] <= 'Z');
        struct stat st;
        if (ok && fstatat(dfd, n, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
            (void)unlinkat(dfd, n, 0);
    }
    closedir(d);
    free(dir);
}

/* An unnamed file in path's directory (O_TMPFILE), or -1 where the kernel or file system has none. */
static int open_unnamed(const char *path)
{
#ifdef O_TMPFILE
    char *dir = dir_of(path);
    if (!dir)
        return -1;
    int fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
    free(dir);
    return fd;
#else
    (void)path;
    return -1;
#endif
}

/* Write all of data to fd. 0 or an errno value. */
static int write_all(int fd, const void *data, size_t size)
{
    const uint8_t *p = data;
    while (size) {
        ssize_t w = write(fd, p, size);
        if (w < 0 && errno != EINTR)
            return errno;
        if (w > 0)
            p += w, size -= (size_t)w;
    }
    return 0;
}

/* Give the unnamed file fd the name tmp (a fresh "<path>.mnv2-tmp-XXXXXX", len = strlen(path)),
 * through /proc. 0 or an errno value. The name exists only between this call and the rename
 * that follows it. */
static int name_unnamed(int fd, char *tmp, size_t len)
{
    static const char letters[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = ((uint64_t)getpid() << 32) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ (uintptr_t)tmp;
    char *suffix = tmp + len + strlen(TMP_TAG);
    for (int attempt = 0; attempt < 100; attempt++) {
        for (int i = 0; i < 6; i++) {
            x = x * 6364136223846793005u + 1442695040888963407u;
            suffix[i] = letters[(x >> 33) % 62];
        }
        if (linkat(AT_FDCWD, proc, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW) == 0)
            return 0;
        if (errno != EEXIST)
            return errno;
    }
    return EEXIST;
}

int32_t mnv2__write_file_atomic(const char *path, const void *data, size_t size, int fail_at)
{
    const size_t len = strlen(path);
    char *tmp = malloc(len + strlen(TMP_TAG) + 7);
    if (!tmp)
        return mnv2__fail(MNV2_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    remove_stale(path);
    memcpy(tmp, path, len);
    memcpy(tmp + len, TMP_TAG "XXXXXX", strlen(TMP_TAG) + 7);
    /* Preferred: an unnamed file (nothing to leave behind if the process dies while writing),
     * named only once complete and synced. Otherwise a named temporary from mkstemp. */
    int fd = open_unnamed(path), named = 0;
    if (fd < 0) {
        fd = mkstemp(tmp);
        named = 1;
    }
    if (fd < 0) {
        int32_t rc = mnv2__fail(MNV2_ERR_IO, "%s: cannot create a temporary file: %s", path, strerror(errno));
        free(tmp);
        return rc;
    }
    /* Keep the mode of the file being replaced, else 0644. */
    struct stat st;
    (void)fchmod(fd, stat(path, &st) == 0 ? (st.st_mode & 07777) : 0644);
    const char *what = NULL;
    int err = 0;
    if (fail_at == MNV2__FAIL_AFTER_CREATE) {
        what = "injected failure after creating the temporary file";
        goto fail;
    }
    if ((err = write_all(fd, data, size)) != 0) {
        what = "cannot write the temporary file";
        goto fail;
    }
    if (fail_at == MNV2__FAIL_AFTER_WRITE) {
        what = "injected failure after writing";
        goto fail;
    }
    if (fsync(fd) != 0) {
        err = errno;
        what = "cannot sync the temporary file";
        goto fail;
    }
    if (fail_at == MNV2__FAIL_BEFORE_RENAME) {
        what = "injected failure before renaming";
        goto fail;
    }
    if (named && close(fd) != 0) {
        err = errno;
        fd = -1;
        what = "cannot close the temporary file";
        goto fail;
    }
    if (named)
        fd = -1;
    else if ((err = name_unnamed(fd, tmp, len)) != 0) {
        what = "cannot name the temporary file";
        goto fail;
    }
    named = 1;
    if (rename(tmp, path) != 0) { /* an unnamed file's name exists from linkat() to here only */
        err = errno;
        what = "cannot rename the temporary file over it";
        goto fail;
    }
    if (fd >= 0)
        (void)close(fd); /* the data is synced and in place */
    free(tmp);
    sync_dir(path);
    return MNV2_OK;
fail:
    if (fd >= 0)
        close(fd);
    if (named)
        remove(tmp);
    free(tmp);
    return mnv2__fail(MNV2_ERR_IO, "%s: %s%s%s (the file is unchanged)", path, what, err ? ": " : "",
                      err ? strerror(err) : "");
}
