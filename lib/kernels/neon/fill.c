/* The neon level: overwrite the kernel-table entries this level speeds up. */
#if !defined(__ARM_NEON)
#error "this file must be compiled with (AArch64 baseline)"
#endif
#include "kernels/kernels.h"

void mnv2__fill_neon(mnv2_kernels *k)
{
    (void)k; /* entries are added here as kernels land, e.g. k->gemm_nn = mnv2_gemm_nn_neon; */
}
