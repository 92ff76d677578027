/* SPDX-License-Identifier: BSD-2-Clause */
/* The packed-B layout of gemm_nn_bias_act_packed (kernels.h), shared by every level: packing runs
 * once per weight change (the engine's fold), so it is plain C; only the product is per level. */
#include <string.h>

#include "kernels/kernels.h"
#include "mnv2.h"

int mnv2__gemm_packed_pays(int level) { return level == MNV2_ISA_AVX2 || level == MNV2_ISA_AVX512; }

size_t mnv2__gemm_packed_cols(size_t n)
{
    const size_t r = n % MNV2_GEMM_PANEL;
    return n - r + (r == 0 ? 0 : r > MNV2_GEMM_PANEL / 2 ? MNV2_GEMM_PANEL : MNV2_GEMM_PANEL / 2);
}

void mnv2__gemm_pack_b(size_t k, size_t n, const float *b, size_t ldb, float *bp)
{
    for (size_t j = 0; j < n; j += MNV2_GEMM_PANEL) {
        const size_t nw = n - j < MNV2_GEMM_PANEL ? n - j : MNV2_GEMM_PANEL, pw = mnv2__gemm_packed_cols(nw);
        float *panel = bp + j * k;
        for (size_t p = 0; p < k; p++) {
            memcpy(panel + p * pw, b + p * ldb + j, nw * sizeof(float));
            memset(panel + p * pw + nw, 0, (pw - nw) * sizeof(float));
        }
    }
}

/* A level without its own packed product runs its gemm_nn_bias_act panel by panel, reading each
 * panel in place (rows pw floats apart): columns are independent, so the bits are those of one
 * call on the unpacked matrix. */
void mnv2__gemm_packed_by_panels(mnv2_gemm_nn_bias_act_fn *gemm, size_t m, size_t n, size_t k, const float *a,
                                 size_t lda, const float *bp, float *c, size_t ldc, const float *bias, float lo,
                                 float hi)
{
    for (size_t j = 0; j < n; j += MNV2_GEMM_PANEL) {
        const size_t nw = n - j < MNV2_GEMM_PANEL ? n - j : MNV2_GEMM_PANEL;
        gemm(m, nw, k, a, lda, bp + j * k, mnv2__gemm_packed_cols(nw), c + j, ldc, bias + j, lo, hi);
    }
}
