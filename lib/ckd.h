/* SPDX-License-Identifier: BSD-2-Clause */
/* Internal: checked size arithmetic. Every size computed from a configuration (plan.c: shapes,
 * tensor sizes, arena offsets, MACs; model.c: the one allocation; mnv2_config_stat's byte counts)
 * goes through these, so a configuration whose figures do not fit size_t (32 bits on i386) or
 * uint64_t is refused instead of wrapping. Each returns 1 on overflow (*r is then unspecified)
 * and 0 with the exact result in *r. */
#ifndef MNV2_CKD_H
#define MNV2_CKD_H
#include <stddef.h>
#include <stdint.h>

static inline int mnv2__ckd_add(size_t *r, size_t a, size_t b) { return __builtin_add_overflow(a, b, r); }
static inline int mnv2__ckd_mul(size_t *r, size_t a, size_t b) { return __builtin_mul_overflow(a, b, r); }
static inline int mnv2__ckd_add64(uint64_t *r, uint64_t a, uint64_t b) { return __builtin_add_overflow(a, b, r); }
static inline int mnv2__ckd_mul64(uint64_t *r, uint64_t a, uint64_t b) { return __builtin_mul_overflow(a, b, r); }

/* A saturating form for long formulas: an overflow sets *ovf and gives the type's maximum (so a
 * later division or comparison stays defined, and every later step saturates too); a whole
 * computation is then checked once at its end. */
static inline size_t mnv2__ckd_addz(int *ovf, size_t a, size_t b)
{
    size_t r;
    if (mnv2__ckd_add(&r, a, b))
        *ovf = 1, r = SIZE_MAX;
    return r;
}
static inline size_t mnv2__ckd_mulz(int *ovf, size_t a, size_t b)
{
    size_t r;
    if (mnv2__ckd_mul(&r, a, b))
        *ovf = 1, r = SIZE_MAX;
    return r;
}
static inline uint64_t mnv2__ckd_add64z(int *ovf, uint64_t a, uint64_t b)
{
    uint64_t r;
    if (mnv2__ckd_add64(&r, a, b))
        *ovf = 1, r = UINT64_MAX;
    return r;
}
static inline uint64_t mnv2__ckd_mul64z(int *ovf, uint64_t a, uint64_t b)
{
    uint64_t r;
    if (mnv2__ckd_mul64(&r, a, b))
        *ovf = 1, r = UINT64_MAX;
    return r;
}

#endif
