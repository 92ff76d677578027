/* SPDX-License-Identifier: BSD-2-Clause */
/* AVX2 + FMA: the three GEMM shapes of a 1x1 convolution and the fused inference GEMM.
 *
 * One driver for all four: blocks of kc x nc of B are packed into a stack buffer as 16-column
 * panels [p][16] (zero-padded at the right edge; B^T is packed with 8x8 transposes for gemm_nt),
 * then a 6x16 register-blocked microkernel (12 accumulators, broadcast A, two vector loads of B)
 * runs over 6-row tiles of C, A read in place (rows for nn / nt, columns for tn) with the next
 * tile's rows prefetched. With few rows, a [k x n] B is read in place instead of packed; B packed
 * once by the caller (gemm_nn_bias_act_packed) is read in place as well, 16 columns of its panels
 * at a time.
 * Every element of C is computed the same way whatever tile or call it falls in: its k-block sum
 * is an FMA chain in k order starting from zero, added to C (or to the previous k-blocks' partial
 * sum) at the end of the block. Block boundaries depend only on k, so splitting m across calls
 * gives bit-identical results; row tails reuse the last valid row's pointer and store only valid
 * rows, column tails use masked loads and stores of C. */
#if !defined(__AVX2__) || !defined(__FMA__)
#error "this file must be compiled with -mavx2 -mfma"
#endif
#include <immintrin.h>
#include <stdint.h>

#include "kernels/kernels.h"
#include "util.h"

#define MR 6
#define NR 16
_Static_assert(MNV2_GEMM_PANEL % NR == 0, "a packed panel (kernels.h) is whole microkernel widths");
#define KC_MAX 256
#define PACK_FLOATS (24 * 1024) /* 96 KiB of packed B */
#define DIRECT_M 48 /* fewer rows than this: B is read in place when its layout allows */

enum { A_ROWS, A_COLS };  /* A stored [m x k] (nn, nt) or [k x m] (tn) */
enum { B_KN, B_NK, B_PK }; /* B stored [k x n] (nn, tn), [n x k] (nt), or packed once (kernels.h) */

/* C tile (mr rows, nv vectors, the last one masked when `masked`) gets acc added, then optionally
 * bias and the clamp. ar[i] points at row i of the A tile, element p at ar[i][p * cs]; row p of
 * the B panel is at bp + p * bs. */
ALWAYS_INLINE void ukr(const int nv, const int masked, const size_t cs, size_t mr, size_t kc,
                       const float *const ar[MR], const float *bp, size_t bs, float *c, size_t ldc, int load_c,
                       __m256i mask, const float *bias, float lo, float hi)
{
    __m256 acc[MR][2];
#pragma GCC unroll 6
    for (int i = 0; i < MR; i++) {
        if ((size_t)i < mr) {
            _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);
            if (!masked)
                _mm_prefetch((const char *)(c + i * ldc + 8 * nv - 1), _MM_HINT_T0);
        }
        acc[i][0] = _mm256_setzero_ps();
        acc[i][1] = _mm256_setzero_ps();
    }
    const float *a0 = ar[0], *a1 = ar[1], *a2 = ar[2], *a3 = ar[3], *a4 = ar[4], *a5 = ar[5];
    for (size_t p = 0, off = 0; p < kc; p++, off += cs) {
        const __m256 b0 = _mm256_loadu_ps(bp);
        const __m256 b1 = nv > 1 ? _mm256_loadu_ps(bp + 8) : b0;
        bp += bs;
        __m256 x;
#define ROW(i)                                                                                                        \
    x = _mm256_broadcast_ss(a##i + off);                                                                              \
    acc[i][0] = _mm256_fmadd_ps(x, b0, acc[i][0]);                                                                    \
    if (nv > 1)                                                                                                       \
        acc[i][1] = _mm256_fmadd_ps(x, b1, acc[i][1]);
        ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5)
#undef ROW
    }
    __m256 bv[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
    if (bias) {
        for (int v = 0; v < nv; v++)
            bv[v] = masked && v == nv - 1 ? _mm256_maskload_ps(bias + 8 * v, mask) : _mm256_loadu_ps(bias + 8 * v);
    }
    const __m256 vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
#pragma GCC unroll 6
    for (int i = 0; i < MR; i++) {
        if ((size_t)i >= mr)
            break;
        float *ci = c + i * ldc;
#pragma GCC unroll 2
        for (int v = 0; v < nv; v++) {
            const int mv = masked && v == nv - 1;
            __m256 r = acc[i][v];
            if (load_c)
                r = _mm256_add_ps(mv ? _mm256_maskload_ps(ci + 8 * v, mask) : _mm256_loadu_ps(ci + 8 * v), r);
            if (bias)
                r = clamp(_mm256_add_ps(r, bv[v]), vlo, vhi);
            if (mv)
                _mm256_maskstore_ps(ci + 8 * v, mask, r);
            else
                _mm256_storeu_ps(ci + 8 * v, r);
        }
    }
}

/* Runs the microkernel over one panel of width w (1..16). */
ALWAYS_INLINE void ukr_any(const size_t cs, size_t w, size_t mr, size_t kc, const float *const ar[MR],
                           const float *bp, size_t bs, float *c, size_t ldc, int load_c, const float *bias, float lo,
                           float hi)
{
    if (w == NR)
        ukr(2, 0, cs, mr, kc, ar, bp, bs, c, ldc, load_c, _mm256_setzero_si256(), bias, lo, hi);
    else if (w > 8)
        ukr(2, 1, cs, mr, kc, ar, bp, bs, c, ldc, load_c, tail_mask(w - 8), bias, lo, hi);
    else
        ukr(1, 1, cs, mr, kc, ar, bp, bs, c, ldc, load_c, tail_mask(w), bias, lo, hi);
}

/* Packs B[p0 .. p0+kc) x [j0 .. j0+nc) into 16-column panels [p][16], zero beyond n. */
static void pack_b_kn(const float *b, size_t ldb, size_t p0, size_t kc, size_t j0, size_t nc, float *pk)
{
    for (size_t jr = 0; jr < nc; jr += NR) {
        const size_t w = nc - jr < NR ? nc - jr : NR;
        const float *src = b + p0 * ldb + j0 + jr;
        float *dst = pk + jr * kc;
        if (w == NR) {
            for (size_t p = 0; p < kc; p++) {
                _mm256_store_ps(dst + p * NR, _mm256_loadu_ps(src + p * ldb));
                _mm256_store_ps(dst + p * NR + 8, _mm256_loadu_ps(src + p * ldb + 8));
            }
        } else {
            const __m256i m0 = tail_mask(w < 8 ? w : 8), m1 = tail_mask(w > 8 ? w - 8 : 0);
            for (size_t p = 0; p < kc; p++) {
                _mm256_store_ps(dst + p * NR, _mm256_maskload_ps(src + p * ldb, m0));
                _mm256_store_ps(dst + p * NR + 8, _mm256_maskload_ps(src + p * ldb + 8, m1));
            }
        }
    }
}

/* 8x8 transpose of the rows r[0..7]. */
static inline void transpose8(__m256 r[8])
{
    const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    r[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
    r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
    r[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
    r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
    r[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
    r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
    r[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
    r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

/* Packs B^T for B stored [n x k]: panel element [p][j] = B[j0 + jr + j][p0 + p], zero beyond n. */
static void pack_b_nk(const float *b, size_t ldb, size_t p0, size_t kc, size_t j0, size_t nc, float *pk)
{
    for (size_t jr = 0; jr < nc; jr += NR) {
        const size_t w = nc - jr < NR ? nc - jr : NR;
        const float *src = b + (j0 + jr) * ldb + p0;
        float *dst = pk + jr * kc;
        for (size_t jh = 0; jh < NR; jh += 8) {
            const size_t wh = w > jh ? (w - jh < 8 ? w - jh : 8) : 0;
            size_t p = 0;
            if (wh == 8) {
                for (; p + 8 <= kc; p += 8) {
                    __m256 r[8];
                    for (int j = 0; j < 8; j++)
                        r[j] = _mm256_loadu_ps(src + (jh + (size_t)j) * ldb + p);
                    transpose8(r);
                    for (int q = 0; q < 8; q++)
                        _mm256_store_ps(dst + (p + (size_t)q) * NR + jh, r[q]);
                }
            }
            for (; p < kc; p++)
                for (size_t j = 0; j < 8; j++)
                    dst[p * NR + jh + j] = j < wh ? src[(jh + j) * ldb + p] : 0.0f;
        }
    }
}

ALWAYS_INLINE void gemm_driver(const int al, const int bl, size_t m, size_t n, size_t k, const float *a, size_t lda,
                               const float *b, size_t ldb, float *c, size_t ldc, int acc, const float *bias, float lo,
                               float hi)
{
    _Alignas(64) float pk[PACK_FLOATS];
    if (!m || !n)
        return;
    /* Few rows: B [k x n] is read in place rather than packed (only a ragged last panel is), when
     * its rows are whole cache lines apart and that stride is not a multiple of 256 bytes (which
     * would crowd the panel into a few L1 sets). */
    const int direct = bl == B_KN && m < DIRECT_M && ldb % 16 == 0 && (ldb / 16) % 4 != 0;
    const size_t kb = k ? (k + KC_MAX - 1) / KC_MAX : 1;
    size_t kcb = (k + kb - 1) / kb;
    size_t nc = PACK_FLOATS / (kcb ? kcb : 1) / NR * NR;
    if (nc > (n + NR - 1) / NR * NR)
        nc = (n + NR - 1) / NR * NR;
    for (size_t j0 = 0; j0 < n; j0 += nc) {
        const size_t ncb = n - j0 < nc ? n - j0 : nc;
        for (size_t p0 = 0, bi = 0; bi < kb; bi++, p0 += kcb) {
            const size_t kc = k - p0 < kcb ? k - p0 : kcb;
            const int load_c = acc || bi > 0;
            const float *bb = bi == kb - 1 ? bias : NULL;
            if (direct) {
                if (ncb % NR)
                    pack_b_kn(b, ldb, p0, kc, j0 + ncb / NR * NR, ncb % NR, pk);
            } else if (bl == B_KN) {
                pack_b_kn(b, ldb, p0, kc, j0, ncb, pk);
            } else if (bl == B_NK) {
                pack_b_nk(b, ldb, p0, kc, j0, ncb, pk);
            }
            for (size_t i0 = 0; i0 < m; i0 += MR) {
                const size_t mr = m - i0 < MR ? m - i0 : MR;
                const float *ar[MR];
                if (al == A_ROWS) {
                    for (size_t i = 0; i < MR; i++)
                        ar[i] = a + (i0 + (i < mr ? i : mr - 1)) * lda + p0;
                } else {
                    for (size_t i = 0; i < MR; i++)
                        ar[i] = a + p0 * lda + i0 + (i < mr ? i : mr - 1);
                }
                if (al == A_ROWS && i0 + MR < m && kc) {
                    /* the next tile's rows of A, which its first panel would otherwise wait for */
                    const size_t mn = m - i0 - MR < MR ? m - i0 - MR : MR;
                    for (size_t i = 0; i < mn; i++) {
                        const float *an = a + (i0 + MR + i) * lda + p0;
                        for (size_t q = 0; q < kc; q += 16)
                            _mm_prefetch((const char *)(an + q), _MM_HINT_T0);
                        _mm_prefetch((const char *)(an + kc - 1), _MM_HINT_T0);
                    }
                }
                float *ci = c + i0 * ldc + j0;
                for (size_t jr = 0; jr < ncb; jr += NR) {
                    const size_t w = ncb - jr < NR ? ncb - jr : NR;
                    const float *bj = bb ? bb + j0 + jr : NULL;
                    const float *bp = pk + jr * kc;
                    size_t bs = NR;
                    if (direct && w == NR) {
                        bp = b + p0 * ldb + j0 + jr, bs = ldb;
                    } else if (direct) {
                        bp = pk;
                    } else if (bl == B_PK) { /* 16 columns of a 32-column panel, rows bs apart */
                        const size_t j = j0 + jr, q = j / MNV2_GEMM_PANEL;
                        const size_t left = n - q * MNV2_GEMM_PANEL;
                        bs = mnv2__gemm_packed_cols(left < MNV2_GEMM_PANEL ? left : MNV2_GEMM_PANEL);
                        bp = b + q * MNV2_GEMM_PANEL * k + p0 * bs + j % MNV2_GEMM_PANEL;
                    }
                    if (al == A_ROWS)
                        ukr_any(1, w, mr, kc, ar, bp, bs, ci + jr, ldc, load_c, bj, lo, hi);
                    else
                        ukr_any(lda, w, mr, kc, ar, bp, bs, ci + jr, ldc, load_c, bj, lo, hi);
                }
            }
        }
    }
}

void mnv2_gemm_nn_avx2(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *b, size_t ldb, float *c,
                       size_t ldc, int acc)
{
    gemm_driver(A_ROWS, B_KN, m, n, k, a, lda, b, ldb, c, ldc, acc, NULL, 0.0f, 0.0f);
}

void mnv2_gemm_nt_avx2(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *b, size_t ldb, float *c,
                       size_t ldc, int acc)
{
    gemm_driver(A_ROWS, B_NK, m, n, k, a, lda, b, ldb, c, ldc, acc, NULL, 0.0f, 0.0f);
}

void mnv2_gemm_tn_avx2(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *b, size_t ldb, float *c,
                       size_t ldc, int acc)
{
    gemm_driver(A_COLS, B_KN, m, n, k, a, lda, b, ldb, c, ldc, acc, NULL, 0.0f, 0.0f);
}

void mnv2_gemm_nn_bias_act_avx2(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *b, size_t ldb,
                                float *c, size_t ldc, const float *bias, float lo, float hi)
{
    gemm_driver(A_ROWS, B_KN, m, n, k, a, lda, b, ldb, c, ldc, 0, bias, lo, hi);
}

void mnv2_gemm_nn_bias_act_packed_avx2(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *bp,
                                       float *c, size_t ldc, const float *bias, float lo, float hi)
{
    gemm_driver(A_ROWS, B_PK, m, n, k, a, lda, bp, 0, c, ldc, 0, bias, lo, hi);
}
