/* SPDX-License-Identifier: BSD-2-Clause */
/* The avx2 level: overwrite the kernel-table entries this level speeds up. */
#if !defined(__AVX2__) || !defined(__FMA__)
#error "this file must be compiled with -mavx2 -mfma"
#endif
#include "kernels/kernels.h"

void mnv2__fill_avx2(mnv2_kernels *k)
{
    k->gemm_nn = mnv2_gemm_nn_avx2;
    k->gemm_nt = mnv2_gemm_nt_avx2;
    k->gemm_tn = mnv2_gemm_tn_avx2;
    k->gemm_nn_bias_act = mnv2_gemm_nn_bias_act_avx2;
    k->dw3x3_fwd = mnv2_dw3x3_fwd_avx2;
    k->dw3x3_fwd_bias_act = mnv2_dw3x3_fwd_bias_act_avx2;
    k->dw3x3_bwd_data = mnv2_dw3x3_bwd_data_avx2;
    k->dw3x3_bwd_filter = mnv2_dw3x3_bwd_filter_avx2;
    k->conv3x3_fwd = mnv2_conv3x3_fwd_avx2;
    k->conv3x3_bwd_filter = mnv2_conv3x3_bwd_filter_avx2;
    k->bn_moments = mnv2_bn_moments_avx2;
    k->bn_apply = mnv2_bn_apply_avx2;
    k->bn_bwd_reduce = mnv2_bn_bwd_reduce_avx2;
    k->bn_bwd_apply = mnv2_bn_bwd_apply_avx2;
    k->add = mnv2_add_avx2;
    k->adam = mnv2_adam_avx2;
    k->sgd = mnv2_sgd_avx2;
}
