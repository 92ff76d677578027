/* NEON element-wise kernels: ReLU6 backward (a mask; a NaN output masks to 0 as in scalar) and add. */
#if !defined(__ARM_NEON) || !defined(__aarch64__)
#error "this file must be compiled for AArch64 (Advanced SIMD is baseline)"
#endif
#include <arm_neon.h>

#include "kernels/kernels.h"

/* dy where 0 < y < 6 (compares are false for NaN), else 0 */
static inline float32x4_t relu6_mask(float32x4_t dy, float32x4_t y, float32x4_t six)
{
    const uint32x4_t k = vandq_u32(vcgtzq_f32(y), vcltq_f32(y, six));
    return vreinterpretq_f32_u32(vandq_u32(k, vreinterpretq_u32_f32(dy)));
}

void mnv2_relu6_bwd_neon(float *dy, const float *y, size_t n)
{
    const float32x4_t six = vdupq_n_f32(6.0f);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        vst1q_f32(dy + i, relu6_mask(vld1q_f32(dy + i), vld1q_f32(y + i), six));
        vst1q_f32(dy + i + 4, relu6_mask(vld1q_f32(dy + i + 4), vld1q_f32(y + i + 4), six));
    }
    for (; i + 4 <= n; i += 4)
        vst1q_f32(dy + i, relu6_mask(vld1q_f32(dy + i), vld1q_f32(y + i), six));
    for (; i < n; i++)
        dy[i] = (y[i] > 0.0f && y[i] < 6.0f) ? dy[i] : 0.0f;
}

void mnv2_add_neon(float *y, const float *x, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        vst1q_f32(y + i, vaddq_f32(vld1q_f32(y + i), vld1q_f32(x + i)));
        vst1q_f32(y + i + 4, vaddq_f32(vld1q_f32(y + i + 4), vld1q_f32(x + i + 4)));
    }
    for (; i + 4 <= n; i += 4)
        vst1q_f32(y + i, vaddq_f32(vld1q_f32(y + i), vld1q_f32(x + i)));
    for (; i < n; i++)
        y[i] += x[i];
}
