/* SPDX-License-Identifier: BSD-2-Clause */
/* SSE4.1 element-wise kernels: the residual add. */
#if !defined(__SSE4_1__)
#error "this file must be compiled with -msse4.1"
#endif
#include <smmintrin.h>

#include "kernels/kernels.h"

void mnv2_add_sse41(float *y, const float *x, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        _mm_storeu_ps(y + i, _mm_add_ps(_mm_loadu_ps(y + i), _mm_loadu_ps(x + i)));
        _mm_storeu_ps(y + i + 4, _mm_add_ps(_mm_loadu_ps(y + i + 4), _mm_loadu_ps(x + i + 4)));
    }
    for (; i < n; i++)
        y[i] += x[i];
}
