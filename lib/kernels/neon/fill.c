/* SPDX-License-Identifier: BSD-2-Clause */
/* The neon level: overwrite the kernel-table entries this level speeds up (all of them). */
#if !defined(__ARM_NEON) || !defined(__aarch64__)
#error "this file must be compiled for AArch64 (Advanced SIMD is baseline)"
#endif
#include "kernels/kernels.h"

void mnv2__fill_neon(mnv2_kernels *k)
{
    k->gemm_nn = mnv2_gemm_nn_neon;
    k->gemm_nt = mnv2_gemm_nt_neon;
    k->gemm_tn = mnv2_gemm_tn_neon;
    k->gemm_nn_bias_act = mnv2_gemm_nn_bias_act_neon;
    k->dw3x3_fwd = mnv2_dw3x3_fwd_neon;
    k->dw3x3_fwd_bias_act = mnv2_dw3x3_fwd_bias_act_neon;
    k->dw3x3_bwd_data = mnv2_dw3x3_bwd_data_neon;
    k->dw3x3_bwd_filter = mnv2_dw3x3_bwd_filter_neon;
    k->conv3x3_fwd = mnv2_conv3x3_fwd_neon;
    k->conv3x3_bwd_filter = mnv2_conv3x3_bwd_filter_neon;
    k->bn_moments = mnv2_bn_moments_neon;
    k->bn_apply = mnv2_bn_apply_neon;
    k->bn_bwd_reduce = mnv2_bn_bwd_reduce_neon;
    k->bn_bwd_apply = mnv2_bn_bwd_apply_neon;
    k->add = mnv2_add_neon;
    k->adam = mnv2_adam_neon;
    k->sgd = mnv2_sgd_neon;
}
