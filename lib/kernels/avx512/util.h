/* SPDX-License-Identifier: BSD-2-Clause */
/* AVX-512 kernels: helpers shared by this level's files (masks, masked loads / stores, ReLU6 mask, prefetch,
 * heads, tap checks). */
#ifndef MNV2_KERNELS_AVX512_UTIL_H
#define MNV2_KERNELS_AVX512_UTIL_H
#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

#define ALWAYS_INLINE inline __attribute__((always_inline))

static ALWAYS_INLINE __mmask16 tail_mask(size_t n)
{
    return n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1u);
}

/* A load that the compiler can fold into an fma when the block is full. */
static ALWAYS_INLINE __m512 ld(const int full, __mmask16 m, const float *p)
{
    return full ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps(m, p);
}

/* Plain stores for whole vectors: masked stores that miss the cache are slow. */
static ALWAYS_INLINE void st(const int full, __mmask16 m, float *p, __m512 v)
{
    if (full)
        _mm512_storeu_ps(p, v);
    else
        _mm512_mask_storeu_ps(p, m, v);
}

/* The fused ReLU6 mask of the batch-norm backward: g where 0 < t < 6, else 0 (ordered compares:
 * a NaN t gives 0, as in the scalar reference). */
static ALWAYS_INLINE __m512 relu6_gate(__m512 g, __m512 t)
{
    const __mmask16 pos = _mm512_cmp_ps_mask(t, _mm512_setzero_ps(), _CMP_GT_OQ);
    return _mm512_maskz_mov_ps(_mm512_mask_cmp_ps_mask(pos, t, _mm512_set1_ps(6.0f), _CMP_LT_OQ), g);
}

/* Prefetch (to L1) the line `bytes` past p, which may lie beyond p's buffer (no pointer is formed
 * there). */
static ALWAYS_INLINE void prefetch_ahead(const float *p, size_t bytes)
{
    _mm_prefetch((const char *)((uintptr_t)p + bytes), _MM_HINT_T0);
}

/* Elements before p's next 64-byte boundary (at most n), done first under a mask so that the main
 * loop's stores (and the loads of buffers aligned alike) stay on whole cache lines (a zmm access
 * across two cache lines costs a lot in a memory-bound loop). */
static ALWAYS_INLINE size_t head_len(const float *p, size_t n)
{
    const size_t h = ((64 - ((uintptr_t)p & 63)) & 63) / sizeof(float);
    return h < n ? h : n;
}

/* Taps of a 3x3 window that fall inside the image: bit k set when coordinate i0 + k is in [0, n). */
static ALWAYS_INLINE int valid3(ptrdiff_t i0, size_t n)
{
    int v = 0;
#pragma GCC unroll 3
    for (int k = 0; k < 3; k++)
        if (i0 + k >= 0 && i0 + k < (ptrdiff_t)n)
            v |= 1 << k;
    return v;
}

#endif
