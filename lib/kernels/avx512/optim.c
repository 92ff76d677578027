/* SPDX-License-Identifier: BSD-2-Clause */
/* AVX-512 optimizer updates (Adam / AdamW, SGD with momentum), 16 parameters per step between a
 * masked head (up to p's next 64-byte boundary) and a masked tail; the arithmetic follows the scalar
 * reference (exact division and square root). */
#if !defined(__AVX512F__) || !defined(__AVX512BW__) || !defined(__AVX512DQ__) || !defined(__AVX512VL__)
#error "this file must be compiled with -mavx512f -mavx512bw -mavx512dq -mavx512vl"
#endif
#include <immintrin.h>
#include <math.h>
#include <stdint.h>

#include "kernels/kernels.h"
#include "util.h"

static ALWAYS_INLINE void adam_vec(const int decoupled, const int full, __mmask16 mk, float *p, const float *g,
                                   float *m, float *v, __m512 lrwd, __m512 wd, __m512 b1, __m512 nb1, __m512 b2,
                                   __m512 nb2, __m512 step, __m512 rbc2, __m512 eps)
{
    __m512 pv = ld(full, mk, p), gv = ld(full, mk, g);
    if (decoupled)
        pv = _mm512_fnmadd_ps(lrwd, pv, pv); /* p -= lr * wd * p */
    else
        gv = _mm512_fmadd_ps(wd, pv, gv);    /* g += wd * p */
    const __m512 mv = _mm512_fmadd_ps(b1, ld(full, mk, m), _mm512_mul_ps(nb1, gv));
    const __m512 vv = _mm512_fmadd_ps(b2, ld(full, mk, v), _mm512_mul_ps(_mm512_mul_ps(nb2, gv), gv));
    const __m512 den = _mm512_fmadd_ps(_mm512_sqrt_ps(vv), rbc2, eps);
    pv = _mm512_sub_ps(pv, _mm512_div_ps(_mm512_mul_ps(step, mv), den));
    st(full, mk, m, mv);
    st(full, mk, v, vv);
    st(full, mk, p, pv);
}

static ALWAYS_INLINE void adam(const int decoupled, float *p, const float *g, float *m, float *v, size_t n, float lr,
                               float beta1, float beta2, float eps, float bc1, float bc2, float wd)
{
    const __m512 lrwd = _mm512_set1_ps(lr * wd), wdv = _mm512_set1_ps(wd);
    const __m512 b1 = _mm512_set1_ps(beta1), nb1 = _mm512_set1_ps(1.0f - beta1);
    const __m512 b2 = _mm512_set1_ps(beta2), nb2 = _mm512_set1_ps(1.0f - beta2);
    const __m512 step = _mm512_set1_ps(lr / bc1), rbc2 = _mm512_set1_ps(1.0f / sqrtf(bc2));
    const __m512 epsv = _mm512_set1_ps(eps);
    size_t i = head_len(p, n);
    if (i)
        adam_vec(decoupled, 0, tail_mask(i), p, g, m, v, lrwd, wdv, b1, nb1, b2, nb2, step, rbc2, epsv);
    for (; i + 16 <= n; i += 16)
        adam_vec(decoupled, 1, 0xffff, p + i, g + i, m + i, v + i, lrwd, wdv, b1, nb1, b2, nb2, step, rbc2, epsv);
    if (i < n)
        adam_vec(decoupled, 0, tail_mask(n - i), p + i, g + i, m + i, v + i, lrwd, wdv, b1, nb1, b2, nb2, step, rbc2,
                 epsv);
}

void mnv2_adam_avx512(float *p, const float *g, float *m, float *v, size_t n, float lr, float beta1, float beta2,
                      float eps, float bc1, float bc2, float wd, int decoupled)
{
    if (decoupled)
        adam(1, p, g, m, v, n, lr, beta1, beta2, eps, bc1, bc2, wd);
    else
        adam(0, p, g, m, v, n, lr, beta1, beta2, eps, bc1, bc2, wd);
}

static ALWAYS_INLINE void sgd_vec(const int nesterov, const int full, __mmask16 mk, float *p, const float *g,
                                  float *buf, __m512 lr, __m512 mu, __m512 wd)
{
    const __m512 pv = ld(full, mk, p);
    const __m512 gv = _mm512_fmadd_ps(wd, pv, ld(full, mk, g));
    const __m512 bv = _mm512_fmadd_ps(mu, ld(full, mk, buf), gv);
    const __m512 d = nesterov ? _mm512_fmadd_ps(mu, bv, gv) : bv;
    st(full, mk, buf, bv);
    st(full, mk, p, _mm512_fnmadd_ps(lr, d, pv));
}

static ALWAYS_INLINE void sgd(const int nesterov, float *p, const float *g, float *buf, size_t n, float lr, float mu,
                              float wd)
{
    const __m512 lrv = _mm512_set1_ps(lr), muv = _mm512_set1_ps(mu), wdv = _mm512_set1_ps(wd);
    size_t i = head_len(p, n);
    if (i)
        sgd_vec(nesterov, 0, tail_mask(i), p, g, buf, lrv, muv, wdv);
    for (; i + 16 <= n; i += 16)
        sgd_vec(nesterov, 1, 0xffff, p + i, g + i, buf + i, lrv, muv, wdv);
    if (i < n)
        sgd_vec(nesterov, 0, tail_mask(n - i), p + i, g + i, buf + i, lrv, muv, wdv);
}

void mnv2_sgd_avx512(float *p, const float *g, float *buf, size_t n, float lr, float mu, int nesterov, float wd)
{
    if (nesterov)
        sgd(1, p, g, buf, n, lr, mu, wd);
    else
        sgd(0, p, g, buf, n, lr, mu, wd);
}
