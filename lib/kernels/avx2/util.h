/* SPDX-License-Identifier: BSD-2-Clause */
/* AVX2 + FMA kernels: helpers shared by this level's files (tail masks, clamp, ReLU6 mask, masked loads / stores). */
#ifndef MNV2_KERNELS_AVX2_UTIL_H
#define MNV2_KERNELS_AVX2_UTIL_H
#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

#define ALWAYS_INLINE static inline __attribute__((always_inline))

static const int32_t mask_src[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

/* Lanes [0, n) set, n in [0, 8]. */
static inline __m256i tail_mask(size_t n)
{
    return _mm256_loadu_si256((const __m256i *)(mask_src + 8 - n));
}

/* min(max(v, lo), hi), NaN in v passing through as in the scalar reference (maxps / minps
 * return their second operand when either is NaN). */
static inline __m256 clamp(__m256 v, __m256 lo, __m256 hi)
{
    return _mm256_min_ps(hi, _mm256_max_ps(lo, v));
}

/* The fused ReLU6 mask of the batch-norm backward: g where 0 < t < 6, else 0 (ordered compares:
 * a NaN t gives 0, as in the scalar reference). */
static inline __m256 relu6_gate(__m256 g, __m256 t)
{
    const __m256 keep = _mm256_and_ps(_mm256_cmp_ps(t, _mm256_setzero_ps(), _CMP_GT_OQ),
                                      _mm256_cmp_ps(t, _mm256_set1_ps(6.0f), _CMP_LT_OQ));
    return _mm256_and_ps(g, keep);
}

ALWAYS_INLINE __m256 ld(const int masked, const float *p, __m256i m)
{
    return masked ? _mm256_maskload_ps(p, m) : _mm256_loadu_ps(p);
}

ALWAYS_INLINE void st(const int masked, float *p, __m256i m, __m256 v)
{
    if (masked)
        _mm256_maskstore_ps(p, m, v);
    else
        _mm256_storeu_ps(p, v);
}

#endif
