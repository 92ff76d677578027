/* SPDX-License-Identifier: BSD-2-Clause */
/* Scalar reference: the three GEMM shapes of a 1x1 convolution (forward, input and weight gradient). */
#include "kernels/kernels.h"

void mnv2_gemm_nn_scalar(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *b, size_t ldb,
                         float *c, size_t ldc, int acc)
{
    for (size_t i = 0; i < m; i++) {
        float *ci = c + i * ldc;
        if (!acc)
            for (size_t j = 0; j < n; j++)
                ci[j] = 0.0f;
        for (size_t p = 0; p < k; p++) {
            const float aip = a[i * lda + p];
            const float *bp = b + p * ldb;
            for (size_t j = 0; j < n; j++)
                ci[j] += aip * bp[j];
        }
    }
}

void mnv2_gemm_nt_scalar(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *b, size_t ldb,
                         float *c, size_t ldc, int acc)
{
    /* Dot products along k, with eight partial sums (a fixed order the compiler can vectorize). */
    for (size_t i = 0; i < m; i++) {
        const float *ai = a + i * lda;
        for (size_t j = 0; j < n; j++) {
            const float *bj = b + j * ldb;
            float part[8] = {0};
            size_t p = 0;
            for (; p + 8 <= k; p += 8)
                for (size_t l = 0; l < 8; l++)
                    part[l] += ai[p + l] * bj[p + l];
            float s = ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
            for (; p < k; p++)
                s += ai[p] * bj[p];
            c[i * ldc + j] = acc ? c[i * ldc + j] + s : s;
        }
    }
}

void mnv2_gemm_tn_scalar(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *b, size_t ldb,
                         float *c, size_t ldc, int acc)
{
    if (!acc)
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < n; j++)
                c[i * ldc + j] = 0.0f;
    for (size_t p = 0; p < k; p++) {
        const float *ap = a + p * lda;
        const float *bp = b + p * ldb;
        for (size_t i = 0; i < m; i++) {
            const float api = ap[i];
            float *ci = c + i * ldc;
            for (size_t j = 0; j < n; j++)
                ci[j] += api * bp[j];
        }
    }
}

void mnv2_gemm_nn_bias_act_scalar(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *b,
                                  size_t ldb, float *c, size_t ldc, const float *bias, float lo, float hi)
{
    mnv2_gemm_nn_scalar(m, n, k, a, lda, b, ldb, c, ldc, 0);
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            const float v = c[i * ldc + j] + bias[j];
            c[i * ldc + j] = v < lo ? lo : v > hi ? hi : v;
        }
}

void mnv2_gemm_nn_bias_act_packed_scalar(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *bp,
                                         float *c, size_t ldc, const float *bias, float lo, float hi)
{
    mnv2__gemm_packed_by_panels(mnv2_gemm_nn_bias_act_scalar, m, n, k, a, lda, bp, c, ldc, bias, lo, hi);
}
