/* SPDX-License-Identifier: BSD-2-Clause */
/* One SIMD level's fill function, mnv2__fill_<isa>: every kernel of kernel_list.inc set to that
 * level's version (every level speeds up all of them; one that does not gets its own fill). Built
 * once per level, with -DMNV2_FILL_ISA=<isa> (meson.build), for the baseline, not with the level's
 * flags: the table is filled before anything knows whether the CPU has that level, so this file
 * must not contain an instruction of it (the compiler could use one to store the table). It only
 * takes the addresses of the kernels, which run after detection has chosen the level. */
#include "kernels/kernels.h"

#define FILL_CAT_(a, b, c) a##b##c
#define FILL_CAT(a, b, c) FILL_CAT_(a, b, c)

void FILL_CAT(mnv2__fill_, MNV2_FILL_ISA, )(mnv2_kernels *k)
{
#define MNV2_KERNEL(name, params) k->name = FILL_CAT(mnv2_##name, _, MNV2_FILL_ISA);
#include "kernels/kernel_list.inc"
#undef MNV2_KERNEL
}
