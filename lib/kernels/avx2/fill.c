/* The avx2 level: overwrite the kernel-table entries this level speeds up. */
#if !defined(__AVX2__) || !defined(__FMA__)
#error "this file must be compiled with -mavx2 -mfma"
#endif
#include "kernels/kernels.h"

void mnv2__fill_avx2(mnv2_kernels *k)
{
    (void)k; /* entries are added here as kernels land, e.g. k->gemm_nn = mnv2_gemm_nn_avx2; */
}
