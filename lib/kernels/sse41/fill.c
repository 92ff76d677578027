/* SPDX-License-Identifier: BSD-2-Clause */
/* The sse41 level: overwrite the kernel-table entries this level speeds up (all of them). */
#if !defined(__SSE4_1__)
#error "this file must be compiled with -msse4.1"
#endif
#include "kernels/kernels.h"

void mnv2__fill_sse41(mnv2_kernels *k)
{
    k->gemm_nn = mnv2_gemm_nn_sse41;
    k->gemm_nt = mnv2_gemm_nt_sse41;
    k->gemm_tn = mnv2_gemm_tn_sse41;
    k->gemm_nn_bias_act = mnv2_gemm_nn_bias_act_sse41;
    k->dw3x3_fwd = mnv2_dw3x3_fwd_sse41;
    k->dw3x3_fwd_bias_act = mnv2_dw3x3_fwd_bias_act_sse41;
    k->dw3x3_bwd_data = mnv2_dw3x3_bwd_data_sse41;
    k->dw3x3_bwd_filter = mnv2_dw3x3_bwd_filter_sse41;
    k->conv3x3_fwd = mnv2_conv3x3_fwd_sse41;
    k->conv3x3_bwd_filter = mnv2_conv3x3_bwd_filter_sse41;
    k->bn_moments = mnv2_bn_moments_sse41;
    k->bn_apply = mnv2_bn_apply_sse41;
    k->bn_bwd_reduce = mnv2_bn_bwd_reduce_sse41;
    k->bn_bwd_apply = mnv2_bn_bwd_apply_sse41;
    k->add = mnv2_add_sse41;
    k->adam = mnv2_adam_sse41;
    k->sgd = mnv2_sgd_sse41;
}
