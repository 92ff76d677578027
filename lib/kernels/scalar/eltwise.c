/* Scalar reference: element-wise kernels (ReLU6 backward, residual add). */
#include "kernels/kernels.h"

void mnv2_relu6_bwd_scalar(float *dy, const float *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dy[i] = (y[i] > 0.0f && y[i] < 6.0f) ? dy[i] : 0.0f;
}

void mnv2_add_scalar(float *y, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] += x[i];
}
