/* The avx512 level: overwrite the kernel-table entries this level speeds up. */
#if !defined(__AVX512F__) || !defined(__AVX512BW__) || !defined(__AVX512DQ__) || !defined(__AVX512VL__)
#error "this file must be compiled with -mavx512f -mavx512bw -mavx512dq -mavx512vl"
#endif
#include "kernels/kernels.h"

void mnv2__fill_avx512(mnv2_kernels *k)
{
    (void)k; /* entries are added here as kernels land, e.g. k->gemm_nn = mnv2_gemm_nn_avx512; */
}
