/* SPDX-License-Identifier: BSD-2-Clause */
/* NEON GEMMs: an 8x12 register tile (24 accumulators, fused multiply-add by lane) over packed
 * panels of A (kc x 8, rows zero-padded past m) and B (kc x 12, zero-padded past n), blocked over
 * k and n. Every element of C is (C or 0) + a_0 b_0 + a_1 b_1 + ... as an FMA chain in k order
 * whatever tile it falls in: edge tiles run the same code on a copy of the tile (missing rows and
 * columns are computed on zeros and thrown away), so no result depends on how m is split. */
/* Not in vec4/: this tile needs 32 registers and FMA by lane; SSE4.1's GEMM blocks for 16. */
#if !defined(__ARM_NEON) || !defined(__aarch64__)
#error "this file must be compiled for AArch64 (Advanced SIMD is baseline)"
#endif
#include <arm_neon.h>

#include "kernels/kernels.h"
#include "kernels/vec4/vec4.h" /* INLINE */

enum { MR = 8, NR = 12, KC = 256, NC = 96 }; /* packed B: KC * NC floats = 96 KiB; A: KC * MR = 8 KiB */

/* The tile: c[MR][NR] at stride ldc, (load ? c : 0) + sum over p < kc of ap[p][r] * bp[p][j];
 * then, if bias, min(max(v + bias[j], lo), hi) (NaN passes through, as in the scalar kernel). */
INLINE void tile(size_t kc, const float *ap, const float *bp, float *c, size_t ldc, int load, const float *bias,
                 float lo, float hi)
{
    float32x4_t c00, c01, c02, c10, c11, c12, c20, c21, c22, c30, c31, c32;
    float32x4_t c40, c41, c42, c50, c51, c52, c60, c61, c62, c70, c71, c72;
    if (load) {
#define LD(r)                                                                                                          \
    c##r##0 = vld1q_f32(c + r * ldc), c##r##1 = vld1q_f32(c + r * ldc + 4), c##r##2 = vld1q_f32(c + r * ldc + 8)
        LD(0); LD(1); LD(2); LD(3); LD(4); LD(5); LD(6); LD(7);
#undef LD
    } else {
        c00 = c01 = c02 = c10 = c11 = c12 = c20 = c21 = c22 = c30 = c31 = c32 = vdupq_n_f32(0.0f);
        c40 = c41 = c42 = c50 = c51 = c52 = c60 = c61 = c62 = c70 = c71 = c72 = vdupq_n_f32(0.0f);
    }
    for (size_t p = 0; p < kc; p++, ap += MR, bp += NR) {
        const float32x4_t a0 = vld1q_f32(ap), a1 = vld1q_f32(ap + 4);
        const float32x4_t b0 = vld1q_f32(bp), b1 = vld1q_f32(bp + 4), b2 = vld1q_f32(bp + 8);
#define ROW(r, av, l)                                                                                                  \
    c##r##0 = vfmaq_laneq_f32(c##r##0, b0, av, l);                                                                     \
    c##r##1 = vfmaq_laneq_f32(c##r##1, b1, av, l);                                                                     \
    c##r##2 = vfmaq_laneq_f32(c##r##2, b2, av, l)
        ROW(0, a0, 0); ROW(1, a0, 1); ROW(2, a0, 2); ROW(3, a0, 3);
        ROW(4, a1, 0); ROW(5, a1, 1); ROW(6, a1, 2); ROW(7, a1, 3);
#undef ROW
    }
    if (bias) {
        const float32x4_t vlo = vdupq_n_f32(lo), vhi = vdupq_n_f32(hi);
        const float32x4_t bb0 = vld1q_f32(bias), bb1 = vld1q_f32(bias + 4), bb2 = vld1q_f32(bias + 8);
        /* FMAX / FMIN return NaN when an operand is NaN: a NaN sum stays NaN, as in scalar */
#define ACT(r)                                                                                                         \
    c##r##0 = vminq_f32(vhi, vmaxq_f32(vlo, vaddq_f32(c##r##0, bb0)));                                                 \
    c##r##1 = vminq_f32(vhi, vmaxq_f32(vlo, vaddq_f32(c##r##1, bb1)));                                                 \
    c##r##2 = vminq_f32(vhi, vmaxq_f32(vlo, vaddq_f32(c##r##2, bb2)))
        ACT(0); ACT(1); ACT(2); ACT(3); ACT(4); ACT(5); ACT(6); ACT(7);
#undef ACT
    }
#define ST(r)                                                                                                          \
    vst1q_f32(c + r * ldc, c##r##0), vst1q_f32(c + r * ldc + 4, c##r##1), vst1q_f32(c + r * ldc + 8, c##r##2)
    ST(0); ST(1); ST(2); ST(3); ST(4); ST(5); ST(6); ST(7);
#undef ST
}

/* Columns of four rows r0..r3 (four consecutive elements each) stored as four rows of dst at
 * stride ld: dst[q * ld + i] = r_i[q]. */
INLINE void transpose4(float32x4_t r0, float32x4_t r1, float32x4_t r2, float32x4_t r3, float *dst, size_t ld)
{
    const float32x4x2_t t01 = vtrnq_f32(r0, r1), t23 = vtrnq_f32(r2, r3);
    vst1q_f32(dst, vcombine_f32(vget_low_f32(t01.val[0]), vget_low_f32(t23.val[0])));
    vst1q_f32(dst + ld, vcombine_f32(vget_low_f32(t01.val[1]), vget_low_f32(t23.val[1])));
    vst1q_f32(dst + 2 * ld, vcombine_f32(vget_high_f32(t01.val[0]), vget_high_f32(t23.val[0])));
    vst1q_f32(dst + 3 * ld, vcombine_f32(vget_high_f32(t01.val[1]), vget_high_f32(t23.val[1])));
}

/* Panel [kc][w] of a matrix whose element (p, j) is src[p * ld + j] (trans = 0) or src[j * ld + p]
 * (trans = 1), for columns j < nw (the rest of the w columns zero). w is a multiple of 4. */
static void pack(size_t kc, size_t nw, size_t w, const float *src, size_t ld, int trans, float *dst)
{
    if (nw == w && !trans) {
        for (size_t p = 0; p < kc; p++)
            for (size_t j = 0; j < w; j += 4)
                vst1q_f32(dst + p * w + j, vld1q_f32(src + p * ld + j));
        return;
    }
    if (nw == w) {
        size_t p = 0;
        for (; p + 4 <= kc; p += 4)
            for (size_t j = 0; j < w; j += 4) {
                const float *s = src + j * ld + p;
                transpose4(vld1q_f32(s), vld1q_f32(s + ld), vld1q_f32(s + 2 * ld), vld1q_f32(s + 3 * ld),
                           dst + p * w + j, w);
            }
        for (; p < kc; p++)
            for (size_t j = 0; j < w; j++)
                dst[p * w + j] = src[j * ld + p];
        return;
    }
    for (size_t p = 0; p < kc; p++)
        for (size_t j = 0; j < w; j++)
            dst[p * w + j] = j >= nw ? 0.0f : trans ? src[j * ld + p] : src[p * ld + j];
}

/* One tile of C: full tiles in place, edge tiles through a copy. */
INLINE void edge_or_full(size_t kc, const float *ap, const float *bp, float *c, size_t ldc, size_t mr, size_t nr,
                         int load, const float *bias, float lo, float hi)
{
    if (mr == MR && nr == NR) {
        tile(kc, ap, bp, c, ldc, load, bias, lo, hi);
        return;
    }
    float t[MR * NR] = {0}, tb[NR] = {0};
    if (load)
        for (size_t r = 0; r < mr; r++)
            for (size_t j = 0; j < nr; j++)
                t[r * NR + j] = c[r * ldc + j];
    if (bias)
        for (size_t j = 0; j < nr; j++)
            tb[j] = bias[j];
    tile(kc, ap, bp, t, NR, load, bias ? tb : NULL, lo, hi);
    for (size_t r = 0; r < mr; r++)
        for (size_t j = 0; j < nr; j++)
            c[r * ldc + j] = t[r * NR + j];
}

/* C (+)= op(A) op(B). ta: A stored [k][m] (gemm_tn); tb: B stored [n][k] (gemm_nt). With bias,
 * the activation is applied after the last k block (gemm_nn_bias_act, acc = 0). */
INLINE void gemm(int ta, int tb, size_t m, size_t n, size_t k, const float *a, size_t lda, const float *b,
                 size_t ldb, float *c, size_t ldc, int acc, const float *bias, float lo, float hi)
{
    _Alignas(16) float bpack[KC * NC];
    _Alignas(16) float apack[KC * MR];
    if (k == 0) { /* no products: C keeps (or is) its start value, then the epilogue */
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < n; j++) {
                float v = acc ? c[i * ldc + j] : 0.0f;
                if (bias) {
                    v += bias[j];
                    v = v < lo ? lo : v > hi ? hi : v;
                }
                c[i * ldc + j] = v;
            }
        return;
    }
    for (size_t jc = 0; jc < n; jc += NC) {
        const size_t nc = n - jc < NC ? n - jc : NC;
        for (size_t pc = 0; pc < k; pc += KC) {
            const size_t kc = k - pc < KC ? k - pc : KC;
            for (size_t j = 0; j < nc; j += NR) {
                const size_t nr = nc - j < NR ? nc - j : NR;
                pack(kc, nr, NR, tb ? b + (jc + j) * ldb + pc : b + pc * ldb + jc + j, ldb, tb, bpack + j * kc);
            }
            const int load = acc || pc > 0, last = pc + kc == k;
            for (size_t i = 0; i < m; i += MR) {
                const size_t mr = m - i < MR ? m - i : MR;
                pack(kc, mr, MR, ta ? a + pc * lda + i : a + i * lda + pc, lda, !ta, apack);
                for (size_t j = 0; j < nc; j += NR) {
                    const size_t nr = nc - j < NR ? nc - j : NR;
                    edge_or_full(kc, apack, bpack + j * kc, c + i * ldc + jc + j, ldc, mr, nr, load,
                                 bias && last ? bias + jc + j : NULL, lo, hi);
                }
            }
        }
    }
}

void mnv2_gemm_nn_neon(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *b, size_t ldb,
                       float *c, size_t ldc, int acc)
{
    gemm(0, 0, m, n, k, a, lda, b, ldb, c, ldc, acc, NULL, 0.0f, 0.0f);
}

void mnv2_gemm_nt_neon(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *b, size_t ldb,
                       float *c, size_t ldc, int acc)
{
    gemm(0, 1, m, n, k, a, lda, b, ldb, c, ldc, acc, NULL, 0.0f, 0.0f);
}

void mnv2_gemm_tn_neon(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *b, size_t ldb,
                       float *c, size_t ldc, int acc)
{
    gemm(1, 0, m, n, k, a, lda, b, ldb, c, ldc, acc, NULL, 0.0f, 0.0f);
}

void mnv2_gemm_nn_bias_act_neon(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *b,
                                size_t ldb, float *c, size_t ldc, const float *bias, float lo, float hi)
{
    gemm(0, 0, m, n, k, a, lda, b, ldb, c, ldc, 0, bias, lo, hi);
}

void mnv2_gemm_nn_bias_act_packed_neon(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *bp,
                                       float *c, size_t ldc, const float *bias, float lo, float hi)
{
    mnv2__gemm_packed_by_panels(mnv2_gemm_nn_bias_act_neon, m, n, k, a, lda, bp, c, ldc, bias, lo, hi);
}
