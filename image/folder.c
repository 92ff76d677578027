/*
 * libmnv2-image: scanning an image folder (torchvision's ImageFolder layout and order).
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "internal.h"

typedef struct strlist {
    char **s;
    size_t n, cap;
} strlist;

static int push(strlist *l, const char *s)
{
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 16;
        char **ns = realloc(l->s, nc * sizeof *ns);
        if (!ns)
            return -1;
        l->s = ns, l->cap = nc;
    }
    if (!(l->s[l->n] = strdup(s)))
        return -1;
    l->n++;
    return 0;
}

static void clear(strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->s[i]);
    free(l->s);
    memset(l, 0, sizeof *l);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *join(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    char *s = malloc(na + nb + 2);
    if (s) {
        memcpy(s, a, na);
        s[na] = '/';
        memcpy(s + na + 1, b, nb + 1);
    }
    return s;
}

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_image_name(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (!strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg") || !strcasecmp(dot, ".jpe") ||
                   !strcasecmp(dot, ".png"));
}

/* Entries of @p dir (not . and ..): sub-directories into @p dirs, image files into @p files. */
static int32_t list_dir(const char *dir, strlist *dirs, strlist *files)
{
    DIR *d = opendir(dir);
    if (!d)
        return mi_fail(MNV2_ERR_IO, "%s: %s", dir, strerror(errno));
    struct dirent *e;
    int32_t rc = MNV2_OK;
    while (rc == MNV2_OK && (e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char *p = join(dir, e->d_name);
        if (!p) {
            rc = mi_fail(MNV2_ERR_OUT_OF_MEMORY, "%s: out of memory", dir);
            break;
        }
        if (is_dir(p)) {
            if (dirs && push(dirs, e->d_name))
                rc = mi_fail(MNV2_ERR_OUT_OF_MEMORY, "%s: out of memory", dir);
        } else if (files && is_image_name(e->d_name) && push(files, e->d_name)) {
            rc = mi_fail(MNV2_ERR_OUT_OF_MEMORY, "%s: out of memory", dir);
        }
        free(p);
    }
    closedir(d);
    if (dirs && dirs->n > 1)
        qsort(dirs->s, dirs->n, sizeof *dirs->s, cmp_str);
    if (files && files->n > 1)
        qsort(files->s, files->n, sizeof *files->s, cmp_str);
    return rc;
}

static int32_t add_path(mnv2_image_folder *f, size_t *cap, size_t *arena_cap, const char *rel, int32_t label)
{
    if (f->count == UINT32_MAX - 1)
        return mi_fail(MNV2_ERR_FORMAT, "%s: more than %u images", f->root, UINT32_MAX - 1);
    if (f->count == *cap) {
        size_t nc = *cap ? *cap * 2 : 1024;
        uint64_t *no = realloc(f->offset, nc * sizeof *no);
        if (no)
            f->offset = no;
        int32_t *nl = no ? realloc(f->label, nc * sizeof *nl) : NULL;
        if (!nl)
            return mi_fail(MNV2_ERR_OUT_OF_MEMORY, "%s: out of memory", f->root);
        f->label = nl, *cap = nc;
    }
    size_t n = strlen(rel) + 1;
    if (f->arena_size + n > *arena_cap) {
        size_t nc = *arena_cap ? *arena_cap * 2 : 65536;
        while (nc < f->arena_size + n)
            nc *= 2;
        char *na = realloc(f->arena, nc);
        if (!na)
            return mi_fail(MNV2_ERR_OUT_OF_MEMORY, "%s: out of memory", f->root);
        f->arena = na, *arena_cap = nc;
    }
    memcpy(f->arena + f->arena_size, rel, n);
    f->offset[f->count] = f->arena_size;
    f->label[f->count++] = label;
    f->arena_size += n;
    return MNV2_OK;
}

/* Every image under class directory @p cls (relative to the root), as sorted(os.walk(...)). */
static int32_t scan_class(mnv2_image_folder *f, const char *cls, int32_t label, size_t *cap, size_t *arena_cap)
{
    strlist todo = {0}, done = {0};
    int32_t rc = push(&todo, cls) ? mi_fail(MNV2_ERR_OUT_OF_MEMORY, "out of memory") : MNV2_OK;
    /* Collect every directory (relative paths), then visit them in sorted order. */
    while (rc == MNV2_OK && todo.n) {
        char *rel = todo.s[--todo.n];
        strlist sub = {0};
        char *abs = join(f->root, rel);
        rc = abs ? list_dir(abs, &sub, NULL) : mi_fail(MNV2_ERR_OUT_OF_MEMORY, "out of memory");
        for (size_t i = 0; rc == MNV2_OK && i < sub.n; i++) {
            char *p = join(rel, sub.s[i]);
            if (!p || push(&todo, p))
                rc = mi_fail(MNV2_ERR_OUT_OF_MEMORY, "out of memory");
            free(p);
        }
        if (rc == MNV2_OK && push(&done, rel))
            rc = mi_fail(MNV2_ERR_OUT_OF_MEMORY, "out of memory");
        free(abs), free(rel);
        clear(&sub);
        if (done.n > 100000)
            rc = mi_fail(MNV2_ERR_FORMAT, "%s/%s: more than 100000 directories (a link loop?)", f->root, cls);
    }
    if (done.n > 1)
        qsort(done.s, done.n, sizeof *done.s, cmp_str);
    for (size_t i = 0; rc == MNV2_OK && i < done.n; i++) {
        strlist files = {0};
        char *abs = join(f->root, done.s[i]);
        rc = abs ? list_dir(abs, NULL, &files) : mi_fail(MNV2_ERR_OUT_OF_MEMORY, "out of memory");
        for (size_t k = 0; rc == MNV2_OK && k < files.n; k++) {
            char *p = join(done.s[i], files.s[k]);
            rc = p ? add_path(f, cap, arena_cap, p, label) : mi_fail(MNV2_ERR_OUT_OF_MEMORY, "out of memory");
            free(p);
        }
        free(abs);
        clear(&files);
    }
    clear(&todo), clear(&done);
    return rc;
}

int32_t mnv2_image_folder_open(const char *dir, mnv2_image_folder **out)
{
    mi_clear_error();
    if (!dir || !out)
        return mi_fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_image_folder_open: NULL argument");
    mnv2_image_folder *f = calloc(1, sizeof *f);
    strlist classes = {0};
    if (!f || !(f->root = strdup(dir))) {
        free(f);
        return mi_fail(MNV2_ERR_OUT_OF_MEMORY, "%s: out of memory", dir);
    }
    int32_t rc = list_dir(dir, &classes, NULL);
    if (rc == MNV2_OK && classes.n == 0)
        rc = mi_fail(MNV2_ERR_NOT_FOUND, "%s: no class sub-directory (expected DIR/<class>/<image>)", dir);
    if (rc == MNV2_OK && classes.n > MNV2_DATASET_MAX_CLASSES)
        rc = mi_fail(MNV2_ERR_FORMAT, "%s: %zu classes, at most %u", dir, classes.n, MNV2_DATASET_MAX_CLASSES);
    size_t cap = 0, arena_cap = 0;
    for (size_t i = 0; rc == MNV2_OK && i < classes.n; i++)
        rc = scan_class(f, classes.s[i], (int32_t)i, &cap, &arena_cap);
    if (rc == MNV2_OK && f->count == 0)
        rc = mi_fail(MNV2_ERR_NOT_FOUND, "%s: no .jpg, .jpeg or .png file in any of its %zu class directories", dir,
                     classes.n);
    if (rc != MNV2_OK) {
        clear(&classes);
        mnv2_image_folder_destroy(f);
        return rc;
    }
    f->classes = (uint32_t)classes.n;
    f->names = classes.s; /* ownership moves to the folder */
    *out = f;
    return MNV2_OK;
}

void mnv2_image_folder_destroy(mnv2_image_folder *f)
{
    if (!f)
        return;
    for (uint32_t i = 0; i < f->classes; i++)
        free(f->names[i]);
    free(f->names), free(f->root), free(f->arena), free(f->offset), free(f->label), free(f);
}

int32_t mnv2_image_folder_info(const mnv2_image_folder *f, uint32_t *count, uint32_t *classes)
{
    if (!f)
        return mi_fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_image_folder_info: NULL folder");
    if (count)
        *count = f->count;
    if (classes)
        *classes = f->classes;
    return MNV2_OK;
}

int32_t mnv2_image_folder_class_name(const mnv2_image_folder *f, uint32_t cls, const char **name)
{
    if (!f || !name || cls >= f->classes)
        return mi_fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_image_folder_class_name: NULL or class out of range");
    *name = f->names[cls];
    return MNV2_OK;
}

int32_t mnv2_image_folder_path(const mnv2_image_folder *f, uint32_t index, char *buf, size_t size, int32_t *label)
{
    if (!f || !buf || index >= f->count)
        return mi_fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_image_folder_path: NULL or index out of range");
    int n = snprintf(buf, size, "%s/%s", f->root, f->arena + f->offset[index]);
    if (n < 0 || (size_t)n >= size)
        return mi_fail(MNV2_ERR_SIZE_MISMATCH, "mnv2_image_folder_path: buffer of %zu bytes too small", size);
    if (label)
        *label = f->label[index];
    return MNV2_OK;
}

int32_t mnv2_image_folder_limit(mnv2_image_folder *f, uint32_t n)
{
    if (!f || !n)
        return mi_fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_image_folder_limit: NULL folder or n 0");
    if (n >= f->count)
        return MNV2_OK;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t k = (uint32_t)((uint64_t)i * f->count / n);
        f->offset[i] = f->offset[k], f->label[i] = f->label[k];
    }
    f->count = n;
    return MNV2_OK;
}
