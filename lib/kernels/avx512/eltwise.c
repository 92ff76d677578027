/* SPDX-License-Identifier: BSD-2-Clause */
/* AVX-512 element-wise kernels: the residual add, 64 floats per iteration between a masked head (up
 * to the output's next 64-byte boundary) and a masked tail. */
#if !defined(__AVX512F__) || !defined(__AVX512BW__) || !defined(__AVX512DQ__) || !defined(__AVX512VL__)
#error "this file must be compiled with -mavx512f -mavx512bw -mavx512dq -mavx512vl"
#endif
#include <immintrin.h>
#include <stdint.h>

#include "kernels/kernels.h"
#include "util.h"

static ALWAYS_INLINE void add_vec(const int full, __mmask16 m, float *y, const float *x)
{
    st(full, m, y, _mm512_add_ps(ld(full, m, y), ld(full, m, x)));
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
