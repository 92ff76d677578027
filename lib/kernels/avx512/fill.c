/* SPDX-License-Identifier: BSD-2-Clause */
/* The avx512 level: overwrite the kernel-table entries this level speeds up (all of them). */
#if !defined(__AVX512F__) || !defined(__AVX512BW__) || !defined(__AVX512DQ__) || !defined(__AVX512VL__)
#error "this file must be compiled with -mavx512f -mavx512bw -mavx512dq -mavx512vl"
#endif
#include "kernels/kernels.h"

void mnv2__fill_avx512(mnv2_kernels *k)
{
    k->gemm_nn = mnv2_gemm_nn_avx512;
    k->gemm_nt = mnv2_gemm_nt_avx512;
    k->gemm_tn = mnv2_gemm_tn_avx512;
    k->gemm_nn_bias_act = mnv2_gemm_nn_bias_act_avx512;
    k->dw3x3_fwd = mnv2_dw3x3_fwd_avx512;
    k->dw3x3_fwd_bias_act = mnv2_dw3x3_fwd_bias_act_avx512;
    k->dw3x3_bwd_data = mnv2_dw3x3_bwd_data_avx512;
    k->dw3x3_bwd_filter = mnv2_dw3x3_bwd_filter_avx512;
    k->conv3x3_fwd = mnv2_conv3x3_fwd_avx512;
    k->conv3x3_bwd_filter = mnv2_conv3x3_bwd_filter_avx512;
    k->bn_moments = mnv2_bn_moments_avx512;
    k->bn_apply = mnv2_bn_apply_avx512;
    k->bn_bwd_reduce = mnv2_bn_bwd_reduce_avx512;
    k->bn_bwd_apply = mnv2_bn_bwd_apply_avx512;
    k->add = mnv2_add_avx512;
    k->adam = mnv2_adam_avx512;
    k->sgd = mnv2_sgd_avx512;
}
