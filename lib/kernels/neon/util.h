/* SPDX-License-Identifier: BSD-2-Clause */
/* NEON kernels: helpers shared by this level's files (inlining macro, ReLU6 mask, 3x3 tap positions). */
#ifndef MNV2_KERNELS_NEON_UTIL_H
#define MNV2_KERNELS_NEON_UTIL_H
#include <arm_neon.h>
#include <stddef.h>

#define INLINE static inline __attribute__((always_inline))

/* The fused ReLU6 mask of the batch-norm backward: g where 0 < t < 6, else 0 (compares are false
 * for NaN: a NaN t gives 0, as in the scalar reference). */
static inline float32x4_t relu6_gate(float32x4_t g, float32x4_t t)
{
    const uint32x4_t k = vandq_u32(vcgtzq_f32(t), vcltq_f32(t, vdupq_n_f32(6.0f)));
    return vreinterpretq_f32_u32(vandq_u32(k, vreinterpretq_u32_f32(g)));
}

/* Input position of tap k for output position o (o * s + k - 1), or -1 outside [0, n): the
 * forward case of src_pos, kept apart (size_t tap) for the full 3x3 convolution. */
static inline ptrdiff_t src_pos_fwd(size_t o, size_t k, size_t s, size_t n)
{
    const ptrdiff_t i = (ptrdiff_t)(o * s + k) - 1;
    return i >= 0 && i < (ptrdiff_t)n ? i : -1;
}

/* Source position feeding tap k of output position o: o * s + k - 1 (forward), or (o + 1 - k) / s
 * when that divides (input gradient); -1 when outside [0, n). */
static inline ptrdiff_t src_pos(int bwd, size_t o, int k, size_t s, size_t n)
{
    ptrdiff_t i;
    if (!bwd)
        i = (ptrdiff_t)(o * s + (size_t)k) - 1;
    else {
        const ptrdiff_t t = (ptrdiff_t)o + 1 - k;
        i = t < 0 || t % (ptrdiff_t)s ? -1 : t / (ptrdiff_t)s;
    }
    return i >= 0 && i < (ptrdiff_t)n ? i : -1;
}

#endif
