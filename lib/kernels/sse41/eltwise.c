/* SSE4.1 element-wise kernels: ReLU6 backward (a mask; NaN outputs mask to 0 as in scalar) and add. */
#if !defined(__SSE4_1__)
#error "this file must be compiled with -msse4.1"
#endif
#include <smmintrin.h>

#include "kernels/kernels.h"

void mnv2_relu6_bwd_sse41(float *dy, const float *y, size_t n)
{
    const __m128 zero = _mm_setzero_ps(), six = _mm_set1_ps(6.0f);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m128 y0 = _mm_loadu_ps(y + i), y1 = _mm_loadu_ps(y + i + 4);
        const __m128 k0 = _mm_and_ps(_mm_cmpgt_ps(y0, zero), _mm_cmplt_ps(y0, six));
        const __m128 k1 = _mm_and_ps(_mm_cmpgt_ps(y1, zero), _mm_cmplt_ps(y1, six));
        _mm_storeu_ps(dy + i, _mm_and_ps(k0, _mm_loadu_ps(dy + i)));
        _mm_storeu_ps(dy + i + 4, _mm_and_ps(k1, _mm_loadu_ps(dy + i + 4)));
    }
    for (; i < n; i++)
        dy[i] = (y[i] > 0.0f && y[i] < 6.0f) ? dy[i] : 0.0f;
}

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
