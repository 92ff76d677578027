/* SPDX-License-Identifier: BSD-2-Clause */
/* SSE4.1 GEMMs: a 6x8 register tile (12 accumulators, mul + add: no FMA at this level) over
 * packed panels of B (kc x 8, zero-padded past n), blocked over k and n. Every element of C is
 * (C or 0) + a_0 b_0 + a_1 b_1 + ... in k order whatever tile it falls in: edge tiles run the
 * same code on a copy of the tile, and missing rows of A repeat row 0 (results discarded). */
/* Not in vec4/: this tile fits SSE's 16 registers; NEON's GEMM blocks for 32, by lane. */
#if !defined(__SSE4_1__)
#error "this file must be compiled with -msse4.1"
#endif
#include <smmintrin.h>

#include "kernels/kernels.h"
#include "kernels/vec4/vec4.h" /* INLINE */

enum { MR = 6, NR = 8, KC = 256, NC = 96 }; /* packed B block: KC * NC floats = 96 KiB of stack */

/* The tile: c[MR][NR] at stride ldc, (load ? c : 0) + sum over p < kc of a_r[p * aps] * bp[p][j];
 * then, if bias, min(max(v + bias[j], lo), hi) (NaN passes through, as in the scalar kernel). */
INLINE void tile(size_t kc, const float *const ar[MR], size_t aps, const float *bp, float *c, size_t ldc, int load,
                 const float *bias, float lo, float hi)
{
    __m128 c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
    if (load) {
#define LD(r) c##r##0 = _mm_loadu_ps(c + r * ldc), c##r##1 = _mm_loadu_ps(c + r * ldc + 4)
        LD(0); LD(1); LD(2); LD(3); LD(4); LD(5);
#undef LD
    } else {
        c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = _mm_setzero_ps();
    }
    const float *a0 = ar[0], *a1 = ar[1], *a2 = ar[2], *a3 = ar[3], *a4 = ar[4], *a5 = ar[5];
    for (size_t p = 0, q = 0; p < kc; p++, q += aps, bp += NR) {
        const __m128 b0 = _mm_load_ps(bp), b1 = _mm_load_ps(bp + 4);
        __m128 t;
#define ROW(r)                                                                                                         \
    t = _mm_set1_ps(a##r[q]);                                                                                          \
    c##r##0 = _mm_add_ps(c##r##0, _mm_mul_ps(t, b0));                                                                  \
    c##r##1 = _mm_add_ps(c##r##1, _mm_mul_ps(t, b1))
        ROW(0); ROW(1); ROW(2); ROW(3); ROW(4); ROW(5);
#undef ROW
    }
    if (bias) {
        const __m128 vlo = _mm_set1_ps(lo), vhi = _mm_set1_ps(hi);
        const __m128 bb0 = _mm_loadu_ps(bias), bb1 = _mm_loadu_ps(bias + 4);
        /* max(lo, v) keeps v unless lo > v; min(hi, .) keeps it unless hi < it: NaN survives */
#define ACT(r)                                                                                                         \
    c##r##0 = _mm_min_ps(vhi, _mm_max_ps(vlo, _mm_add_ps(c##r##0, bb0)));                                             \
    c##r##1 = _mm_min_ps(vhi, _mm_max_ps(vlo, _mm_add_ps(c##r##1, bb1)))
        ACT(0); ACT(1); ACT(2); ACT(3); ACT(4); ACT(5);
#undef ACT
    }
#define ST(r) _mm_storeu_ps(c + r * ldc, c##r##0), _mm_storeu_ps(c + r * ldc + 4, c##r##1)
    ST(0); ST(1); ST(2); ST(3); ST(4); ST(5);
#undef ST
}

/* B block rows [0, kc) x columns [0, nc) into panels of NR columns: dst[panel][p][NR]. B's element
 * (p, j) is b[p * ldb + j], or b[j * ldb + p] when transposed (gemm_nt). */
static void pack_b(size_t kc, size_t nc, const float *b, size_t ldb, int trans, float *dst)
{
    for (size_t j0 = 0; j0 < nc; j0 += NR, dst += kc * NR) {
        const size_t nr = nc - j0 < NR ? nc - j0 : NR;
        if (!trans && nr == NR) {
            for (size_t p = 0; p < kc; p++) {
                _mm_store_ps(dst + p * NR, _mm_loadu_ps(b + p * ldb + j0));
                _mm_store_ps(dst + p * NR + 4, _mm_loadu_ps(b + p * ldb + j0 + 4));
            }
            continue;
        }
        for (size_t p = 0; p < kc; p++)
            for (size_t j = 0; j < NR; j++)
                dst[p * NR + j] = j >= nr ? 0.0f : trans ? b[(j0 + j) * ldb + p] : b[p * ldb + j0 + j];
    }
}

/* One tile of C: full tiles in place, edge tiles through a copy (missing rows and columns are
 * computed on zeros and thrown away). */
INLINE void edge_or_full(size_t kc, const float *const ar[MR], size_t aps, const float *bp, float *c, size_t ldc,
                         size_t mr, size_t nr, int load, const float *bias, float lo, float hi)
{
    if (mr == MR && nr == NR) {
        tile(kc, ar, aps, bp, c, ldc, load, bias, lo, hi);
        return;
    }
    float t[MR * NR] = {0}, tb[NR] = {0};
    for (size_t r = 0; r < mr; r++)
        for (size_t j = 0; j < nr; j++)
            t[r * NR + j] = load ? c[r * ldc + j] : 0.0f;
    if (bias)
        for (size_t j = 0; j < nr; j++)
            tb[j] = bias[j];
    tile(kc, ar, aps, bp, t, NR, load, bias ? tb : NULL, lo, hi);
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
            pack_b(kc, nc, tb ? b + jc * ldb + pc : b + pc * ldb + jc, ldb, tb, bpack);
            const int load = acc || pc > 0, last = pc + kc == k;
            for (size_t i = 0; i < m; i += MR) {
                const size_t mr = m - i < MR ? m - i : MR;
                const float *ar[MR];
                for (size_t r = 0; r < MR; r++) {
                    const size_t row = i + (r < mr ? r : 0);
                    ar[r] = ta ? a + pc * lda + row : a + row * lda + pc;
                }
                for (size_t j = 0; j < nc; j += NR) {
                    const size_t nr = nc - j < NR ? nc - j : NR;
                    float *ct = c + i * ldc + jc + j;
                    const float *bj = bpack + j * kc;
                    const float *bias_j = bias && last ? bias + jc + j : NULL;
                    if (ta)
                        edge_or_full(kc, ar, lda, bj, ct, ldc, mr, nr, load, bias_j, lo, hi);
                    else
                        edge_or_full(kc, ar, 1, bj, ct, ldc, mr, nr, load, bias_j, lo, hi);
                }
            }
        }
    }
}

void mnv2_gemm_nn_sse41(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *b, size_t ldb,
                        float *c, size_t ldc, int acc)
{
    gemm(0, 0, m, n, k, a, lda, b, ldb, c, ldc, acc, NULL, 0.0f, 0.0f);
}

void mnv2_gemm_nt_sse41(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *b, size_t ldb,
                        float *c, size_t ldc, int acc)
{
    gemm(0, 1, m, n, k, a, lda, b, ldb, c, ldc, acc, NULL, 0.0f, 0.0f);
}

void mnv2_gemm_tn_sse41(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *b, size_t ldb,
                        float *c, size_t ldc, int acc)
{
    gemm(1, 0, m, n, k, a, lda, b, ldb, c, ldc, acc, NULL, 0.0f, 0.0f);
}

void mnv2_gemm_nn_bias_act_sse41(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *b,
                                 size_t ldb, float *c, size_t ldc, const float *bias, float lo, float hi)
{
    gemm(0, 0, m, n, k, a, lda, b, ldb, c, ldc, 0, bias, lo, hi);
}

void mnv2_gemm_nn_bias_act_packed_sse41(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *bp,
                                        float *c, size_t ldc, const float *bias, float lo, float hi)
{
    mnv2__gemm_packed_by_panels(mnv2_gemm_nn_bias_act_sse41, m, n, k, a, lda, bp, c, ldc, bias, lo, hi);
}
