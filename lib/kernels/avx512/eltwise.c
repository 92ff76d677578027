/* AVX-512 element-wise kernels: ReLU6 backward and the residual add, 64 floats per iteration between
 * a masked head (up to the output's next 64-byte boundary) and a masked tail. */
#if !defined(__AVX512F__) || !defined(__AVX512BW__) || !defined(__AVX512DQ__) || !defined(__AVX512VL__)
#error "this file must be compiled with -mavx512f -mavx512bw -mavx512dq -mavx512vl"
#endif
#include <immintrin.h>
#include <stdint.h>

#include "kernels/kernels.h"
#include "util.h"

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
