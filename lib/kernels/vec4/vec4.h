/* SPDX-License-Identifier: BSD-2-Clause */
/* The 4-wide vector layer: the SSE4.1 and NEON kernels in lib/kernels/vec4/ are one source, built
 * once per level with its flags and -DMNV2_VEC4_SSE41 or -DMNV2_VEC4_NEON (meson.build). Each
 * operation is the instruction (or pair) that level's kernels used before they were merged, so each
 * level computes what it did, bit for bit. The one difference that changes results: v4_madd and
 * f1_madd are a multiply, then an add, on SSE4.1 (no FMA at that level, and the scalar kernels do
 * the same), and one fused multiply-add on NEON (V4_FUSED says which). */
#ifndef MNV2_KERNELS_VEC4_H
#define MNV2_KERNELS_VEC4_H
#include <stddef.h>

#define INLINE static inline __attribute__((always_inline))

#if defined(MNV2_VEC4_SSE41)
#if !defined(__SSE4_1__)
#error "this file must be compiled with -msse4.1"
#endif
#include <smmintrin.h>

#define V4_FUSED 0
#define V4_FN(name) mnv2_##name##_sse41
/* Output channels per block of the full 3x3 convolution's forward (vectors of 4): 16 registers. */
#define V4_CONV_NV 2
/* Channel vectors per block of the depthwise kernels: nine weights (or sums) per vector stay in
 * registers, which 16 registers hold for one vector, not two. With one, the row blocks of the
 * forward ran slower here than streaming pixels (test_kernels --bench, most at stride 2), so
 * dwconv.c's forward streams pixels on this level. */
#define V4_DW_NV 1
/* Rows per block of the batch-norm sums (bn.c): one (each row's sums go through memory). */
#define V4_BN_ROWS 1
/* Channel vectors per step of bn_apply: one (two measured 0.4% slower over a training step in
 * perf's profile of mnv2-bench, 3.8-3.9% of the samples against 3.3-3.6%). */
#define V4_APPLY_NV 1

typedef __m128 v4;
INLINE v4 v4_load(const float *p) { return _mm_loadu_ps(p); }
INLINE void v4_store(float *p, v4 a) { _mm_storeu_ps(p, a); }
INLINE v4 v4_zero(void) { return _mm_setzero_ps(); }
INLINE v4 v4_dup(float x) { return _mm_set1_ps(x); }
INLINE v4 v4_add(v4 a, v4 b) { return _mm_add_ps(a, b); }
INLINE v4 v4_sub(v4 a, v4 b) { return _mm_sub_ps(a, b); }
INLINE v4 v4_mul(v4 a, v4 b) { return _mm_mul_ps(a, b); }
INLINE v4 v4_div(v4 a, v4 b) { return _mm_div_ps(a, b); }
INLINE v4 v4_sqrt(v4 a) { return _mm_sqrt_ps(a); }
/* acc + a * b, rounded twice */
INLINE v4 v4_madd(v4 acc, v4 a, v4 b) { return _mm_add_ps(acc, _mm_mul_ps(a, b)); }
INLINE float f1_madd(float acc, float a, float b) { return acc + a * b; }
/* min(hi, max(lo, v)): MAXPS / MINPS return their second operand when either is NaN, so a NaN v
 * stays NaN, as in the scalar kernels. */
INLINE v4 v4_clamp(v4 v, v4 lo, v4 hi) { return _mm_min_ps(hi, _mm_max_ps(lo, v)); }
/* g where 0 < t < 6, else 0 (ordered compares: a NaN t gives 0, as in the scalar reference). */
INLINE v4 v4_relu6_gate(v4 g, v4 t)
{
    return _mm_and_ps(g, _mm_and_ps(_mm_cmpgt_ps(t, _mm_setzero_ps()), _mm_cmplt_ps(t, _mm_set1_ps(6.0f))));
}

#elif defined(MNV2_VEC4_NEON)
#if !defined(__ARM_NEON) || !defined(__aarch64__)
#error "this file must be compiled for AArch64 (Advanced SIMD is baseline)"
#endif
#include <arm_neon.h>
#include <math.h>

#define V4_FUSED 1
#define V4_FN(name) mnv2_##name##_neon
#define V4_CONV_NV 4 /* 32 registers */
#define V4_DW_NV 2
#define V4_BN_ROWS 4 /* the sums stay in registers over four rows */
#define V4_APPLY_NV 2

typedef float32x4_t v4;
INLINE v4 v4_load(const float *p) { return vld1q_f32(p); }
INLINE void v4_store(float *p, v4 a) { vst1q_f32(p, a); }
INLINE v4 v4_zero(void) { return vdupq_n_f32(0.0f); }
INLINE v4 v4_dup(float x) { return vdupq_n_f32(x); }
INLINE v4 v4_add(v4 a, v4 b) { return vaddq_f32(a, b); }
INLINE v4 v4_sub(v4 a, v4 b) { return vsubq_f32(a, b); }
INLINE v4 v4_mul(v4 a, v4 b) { return vmulq_f32(a, b); }
INLINE v4 v4_div(v4 a, v4 b) { return vdivq_f32(a, b); }
INLINE v4 v4_sqrt(v4 a) { return vsqrtq_f32(a); }
/* acc + a * b, rounded once */
INLINE v4 v4_madd(v4 acc, v4 a, v4 b) { return vfmaq_f32(acc, a, b); }
INLINE float f1_madd(float acc, float a, float b) { return fmaf(a, b, acc); }
/* FMAX / FMIN return NaN when an operand is NaN: a NaN v stays NaN, as in the scalar kernels. */
INLINE v4 v4_clamp(v4 v, v4 lo, v4 hi) { return vminq_f32(hi, vmaxq_f32(lo, v)); }
/* g where 0 < t < 6, else 0 (compares are false for NaN: a NaN t gives 0, as in scalar). */
INLINE v4 v4_relu6_gate(v4 g, v4 t)
{
    const uint32x4_t k = vandq_u32(vcgtzq_f32(t), vcltq_f32(t, vdupq_n_f32(6.0f)));
    return vreinterpretq_f32_u32(vandq_u32(k, vreinterpretq_u32_f32(g)));
}

#else
#error "define MNV2_VEC4_SSE41 or MNV2_VEC4_NEON (lib/kernels/meson.build does)"
#endif

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
