/* SPDX-License-Identifier: BSD-2-Clause */
/* 4-wide element-wise kernels (SSE4.1, NEON): the residual add. */
#include "kernels/kernels.h"
#include "vec4.h"

void V4_FN(add)(float *y, const float *x, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        v4_store(y + i, v4_add(v4_load(y + i), v4_load(x + i)));
        v4_store(y + i + 4, v4_add(v4_load(y + i + 4), v4_load(x + i + 4)));
    }
    for (; i + 4 <= n; i += 4)
        v4_store(y + i, v4_add(v4_load(y + i), v4_load(x + i)));
    for (; i < n; i++)
        y[i] += x[i];
}
