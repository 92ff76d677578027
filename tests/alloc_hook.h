/* SPDX-License-Identifier: BSD-2-Clause */
/* Test-only allocator hook: a test linked with -Wl,--wrap=malloc (and calloc, realloc,
 * aligned_alloc, posix_memalign, free; tests/meson.build's wrap_args) sends every allocation of
 * the static library and of the test through these functions, which count the live bytes and
 * can fail the Nth allocation. Include in one file of the test. */
#ifndef MNV2_TESTS_ALLOC_HOOK_H
#define MNV2_TESTS_ALLOC_HOOK_H
#include <errno.h>
#include <stddef.h>
#include <stdint.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t k, size_t n);
void *__real_realloc(void *p, size_t n);
void *__real_aligned_alloc(size_t a, size_t n);
int __real_posix_memalign(void **p, size_t a, size_t n);
void __real_free(void *p);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t k, size_t n);
void *__wrap_realloc(void *p, size_t n);
void *__wrap_aligned_alloc(size_t a, size_t n);
int __wrap_posix_memalign(void **p, size_t a, size_t n);
void __wrap_free(void *p);

enum { HOOK_SLOTS = 8192 };
static struct { void *p; size_t n; } hook_live[HOOK_SLOTS];
static int hook_counting;      /* count live bytes of the allocations made while set */
static uint64_t hook_bytes;    /* live bytes counted */
static long hook_fail_at;      /* > 0: the allocation with this number fails (1 = the next) */
static long hook_calls;        /* allocations since hook_fail_at was set */

static int hook_should_fail(void)
{
    return hook_fail_at > 0 && ++hook_calls == hook_fail_at;
}

static void hook_track(void *p, size_t n)
{
    if (!p || !hook_counting)
        return;
    for (int i = 0; i < HOOK_SLOTS; i++)
        if (!hook_live[i].p) {
            hook_live[i].p = p, hook_live[i].n = n;
            hook_bytes += n;
            return;
        }
}

static void hook_untrack(void *p)
{
    for (int i = 0; p && i < HOOK_SLOTS; i++)
        if (hook_live[i].p == p) {
            hook_bytes -= hook_live[i].n;
            hook_live[i].p = NULL;
            return;
        }
}

void *__wrap_malloc(size_t n)
{
    if (hook_should_fail())
        return errno = ENOMEM, NULL;
    void *p = __real_malloc(n);
    hook_track(p, n);
    return p;
}
void *__wrap_calloc(size_t k, size_t n)
{
    if (hook_should_fail())
        return errno = ENOMEM, NULL;
    void *p = __real_calloc(k, n);
    hook_track(p, k * n);
    return p;
}
void *__wrap_aligned_alloc(size_t a, size_t n)
{
    if (hook_should_fail())
        return errno = ENOMEM, NULL;
    void *p = __real_aligned_alloc(a, n);
    hook_track(p, n);
    return p;
}
int __wrap_posix_memalign(void **p, size_t a, size_t n)
{
    if (hook_should_fail())
        return ENOMEM;
    int rc = __real_posix_memalign(p, a, n);
    if (rc == 0)
        hook_track(*p, n);
    return rc;
}
void *__wrap_realloc(void *p, size_t n)
{
    if (n && hook_should_fail())
        return errno = ENOMEM, NULL;
    void *q = __real_realloc(p, n);
    if (q || !n) {
        hook_untrack(p);
        hook_track(q, n);
    }
    return q;
}
void __wrap_free(void *p)
{
    hook_untrack(p);
    __real_free(p);
}

#endif
