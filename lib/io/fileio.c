/* SPDX-License-Identifier: BSD-2-Clause */
/* Whole-file reads and atomic whole-file writes (POSIX). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
static void sync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = NULL;
    if (!slash)
        dir = strdup(".");
    else if (slash == path)
        dir = strdup("/");
    else if ((dir = malloc((size_t)(slash - path) + 1)) != NULL) {
        memcpy(dir, path, (size_t)(slash - path));
        dir[slash - path] = '\0';
    }
    if (!dir)
        return;
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    free(dir);
}

int32_t mnv2__write_file_atomic(const char *path, const void *data, size_t size, int fail_at)
{
    size_t len = strlen(path);
    char *tmp = malloc(len + 8);
    if (!tmp)
        return mnv2__fail(MNV2_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    memcpy(tmp, path, len);
    memcpy(tmp + len, ".XXXXXX", 8);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int32_t rc = mnv2__fail(MNV2_ERR_IO, "%s: cannot create a temporary file: %s", path, strerror(errno));
        free(tmp);
        return rc;
    }
    /* mkstemp makes the file 0600: keep the mode of the file being replaced, else 0644. */
    struct stat st;
    (void)fchmod(fd, stat(path, &st) == 0 ? (st.st_mode & 07777) : 0644);
    const char *what = NULL;
    int err = 0;
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        err = errno;
        close(fd);
        what = "cannot open the temporary file";
        goto fail;
    }
    if (fail_at == MNV2__FAIL_AFTER_CREATE) {
        fclose(f);
        what = "injected failure after creating the temporary file";
        goto fail;
    }
    if ((size && fwrite(data, 1, size, f) != size) || fflush(f) != 0) {
        err = errno;
        fclose(f);
        what = "cannot write the temporary file";
        goto fail;
    }
    if (fail_at == MNV2__FAIL_AFTER_WRITE) {
        fclose(f);
        what = "injected failure after writing";
        goto fail;
    }
    if (fsync(fileno(f)) != 0) {
        err = errno;
        fclose(f);
        what = "cannot sync the temporary file";
        goto fail;
    }
    if (fclose(f) != 0) {
        err = errno;
        what = "cannot close the temporary file";
        goto fail;
    }
    if (fail_at == MNV2__FAIL_BEFORE_RENAME) {
        what = "injected failure before renaming";
        goto fail;
    }
    if (rename(tmp, path) != 0) {
        err = errno;
        what = "cannot rename the temporary file over it";
        goto fail;
    }
    free(tmp);
    sync_dir(path);
    return MNV2_OK;
fail:
    remove(tmp);
    free(tmp);
    return mnv2__fail(MNV2_ERR_IO, "%s: %s%s%s (the file is unchanged)", path, what, err ? ": " : "",
                      err ? strerror(err) : "");
}
