/* The sse41 level: overwrite the kernel-table entries this level speeds up. */
#if !defined(__SSE4_1__)
#error "this file must be compiled with -msse4.1"
#endif
#include "kernels/kernels.h"

void mnv2__fill_sse41(mnv2_kernels *k)
{
    (void)k; /* entries are added here as kernels land, e.g. k->gemm_nn = mnv2_gemm_nn_sse41; */
}
