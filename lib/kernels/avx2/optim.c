/* SPDX-License-Identifier: BSD-2-Clause */
/* AVX2 + FMA: optimizer updates, 8 parameters per step with a masked tail. */
#if !defined(__AVX2__) || !defined(__FMA__)
#error "this file must be compiled with -mavx2 -mfma"
#endif
#include <immintrin.h>
#include <math.h>
#include <stdint.h>

#include "kernels/kernels.h"
#include "util.h"

typedef struct {
    __m256 lrwd, wd, b1, c1, b2, c2, step, rbc2, eps;
} adam_consts;

ALWAYS_INLINE void adam_vec(const int masked, const int decoupled, const adam_consts *k, float *p, const float *g,
                            float *m, float *v, __m256i mk)
{
    __m256 pv = ld(masked, p, mk), gv = ld(masked, g, mk);
    if (decoupled)
        pv = _mm256_fnmadd_ps(k->lrwd, pv, pv);
    else
        gv = _mm256_fmadd_ps(k->wd, pv, gv);
    const __m256 mv = _mm256_fmadd_ps(k->b1, ld(masked, m, mk), _mm256_mul_ps(k->c1, gv));
    const __m256 vv = _mm256_fmadd_ps(k->b2, ld(masked, v, mk), _mm256_mul_ps(_mm256_mul_ps(k->c2, gv), gv));
    const __m256 den = _mm256_fmadd_ps(_mm256_sqrt_ps(vv), k->rbc2, k->eps);
    pv = _mm256_sub_ps(pv, _mm256_div_ps(_mm256_mul_ps(k->step, mv), den));
    st(masked, m, mk, mv);
    st(masked, v, mk, vv);
    st(masked, p, mk, pv);
}

ALWAYS_INLINE void adam_all(const int decoupled, const adam_consts *k, float *p, const float *g, float *m, float *v,
                            size_t n)
{
    const __m256i mfull = _mm256_set1_epi32(-1);
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        adam_vec(0, decoupled, k, p + i, g + i, m + i, v + i, mfull);
    if (i < n)
        adam_vec(1, decoupled, k, p + i, g + i, m + i, v + i, tail_mask(n - i));
}

void mnv2_adam_avx2(float *p, const float *g, float *m, float *v, size_t n, float lr, float beta1, float beta2,
                    float eps, float bc1, float bc2, float wd, int decoupled)
{
    const adam_consts k = {
        .lrwd = _mm256_set1_ps(lr * wd),
        .wd = _mm256_set1_ps(wd),
        .b1 = _mm256_set1_ps(beta1),
        .c1 = _mm256_set1_ps(1.0f - beta1),
        .b2 = _mm256_set1_ps(beta2),
        .c2 = _mm256_set1_ps(1.0f - beta2),
        .step = _mm256_set1_ps(lr / bc1),
        .rbc2 = _mm256_set1_ps(1.0f / sqrtf(bc2)),
        .eps = _mm256_set1_ps(eps),
    };
    if (decoupled)
        adam_all(1, &k, p, g, m, v, n);
    else
        adam_all(0, &k, p, g, m, v, n);
}

ALWAYS_INLINE void sgd_vec(const int masked, const int nesterov, __m256 lr, __m256 mu, __m256 wd, float *p,
                           const float *g, float *buf, __m256i mk)
{
    __m256 pv = ld(masked, p, mk);
    const __m256 gi = _mm256_fmadd_ps(wd, pv, ld(masked, g, mk));
    const __m256 bv = _mm256_fmadd_ps(mu, ld(masked, buf, mk), gi);
    pv = _mm256_fnmadd_ps(lr, nesterov ? _mm256_fmadd_ps(mu, bv, gi) : bv, pv);
    st(masked, buf, mk, bv);
    st(masked, p, mk, pv);
}

ALWAYS_INLINE void sgd_all(const int nesterov, float *p, const float *g, float *buf, size_t n, float lr, float mu,
                           float wd)
{
    const __m256 vlr = _mm256_set1_ps(lr), vmu = _mm256_set1_ps(mu), vwd = _mm256_set1_ps(wd);
    const __m256i mfull = _mm256_set1_epi32(-1);
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        sgd_vec(0, nesterov, vlr, vmu, vwd, p + i, g + i, buf + i, mfull);
    if (i < n)
        sgd_vec(1, nesterov, vlr, vmu, vwd, p + i, g + i, buf + i, tail_mask(n - i));
}

void mnv2_sgd_avx2(float *p, const float *g, float *buf, size_t n, float lr, float mu, int nesterov, float wd)
{
    if (nesterov)
        sgd_all(1, p, g, buf, n, lr, mu, wd);
    else
        sgd_all(0, p, g, buf, n, lr, mu, wd);
}
