/* SPDX-License-Identifier: BSD-2-Clause */
/* Scalar reference: element-wise kernels (residual add). */
#include "kernels/kernels.h"

void mnv2_add_scalar(float *y, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] += x[i];
}
