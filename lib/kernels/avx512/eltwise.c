/* AVX-512 element-wise kernels: ReLU6 backward and the residual add, 64 floats per iteration between
 * a masked head (up to the output's next 64-byte boundary) and a masked tail. */
#if !defined(__AVX512F__) || !defined(__AVX512BW__) || !defined(__AVX512DQ__) || !defined(__AVX512VL__)
#error "this file must be compiled with -mavx512f -mavx512bw -mavx512dq -mavx512vl"
#endif
#include <immintrin.h>
#include <stdint.h>

#include "kernels/kernels.h"

#define ALWAYS_INLINE inline __attribute__((always_inline))

static ALWAYS_INLINE __mmask16 tail_mask(size_t n)
{
    return n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1u);
}

/* Elements before p's next 64-byte boundary (at most n): a masked head first keeps the stores and
 * (for buffers aligned alike) the loads of the main loop on whole cache lines. */
static ALWAYS_INLINE size_t head_len(const float *p, size_t n)
{
    const size_t h = ((64 - ((uintptr_t)p & 63)) & 63) / sizeof(float);
    return h < n ? h : n;
}

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

/* dy where 0 < y < 6 (ordered compares: a NaN y gives 0, as in the scalar), else 0. */
static ALWAYS_INLINE void relu6_bwd_vec(const int full, __mmask16 m, float *dy, const float *y, __m512 six)
{
    const __m512 yv = ld(full, m, y);
    const __mmask16 keep = _mm512_mask_cmp_ps_mask(_mm512_cmp_ps_mask(yv, _mm512_setzero_ps(), _CMP_GT_OQ), yv,
                                                   six, _CMP_LT_OQ);
    st(full, m, dy, _mm512_maskz_mov_ps(keep, ld(full, m, dy)));
}

static ALWAYS_INLINE void add_vec(const int full, __mmask16 m, float *y, const float *x)
{
    st(full, m, y, _mm512_add_ps(ld(full, m, y), ld(full, m, x)));
}

void mnv2_relu6_bwd_avx512(float *dy, const float *y, size_t n)
{
    const __m512 six = _mm512_set1_ps(6.0f);
    size_t i = head_len(dy, n);
    if (i)
        relu6_bwd_vec(0, tail_mask(i), dy, y, six);
    for (; i + 64 <= n; i += 64)
        for (int v = 0; v < 4; v++)
            relu6_bwd_vec(1, 0xffff, dy + i + 16 * v, y + i + 16 * v, six);
    for (; i < n; i += 16)
        relu6_bwd_vec(0, tail_mask(n - i), dy + i, y + i, six);
}

void mnv2_add_avx512(float *y, const float *x, size_t n)
{
    size_t i = head_len(y, n);
    if (i)
        add_vec(0, tail_mask(i), y, x);
    for (; i + 64 <= n; i += 64)
        for (int v = 0; v < 4; v++)
            add_vec(1, 0xffff, y + i + 16 * v, x + i + 16 * v);
    for (; i < n; i += 16)
        add_vec(0, tail_mask(n - i), y + i, x + i);
}
