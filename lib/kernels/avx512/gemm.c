/* SPDX-License-Identifier: BSD-2-Clause */
/* AVX-512 GEMMs: a 12x32 register-blocked microkernel (24 zmm accumulators, A broadcast, two zmm of
 * B per k step). B is packed per (k block, column block) into a stack buffer of 32-column panels
 * (transposed on the way for gemm_nt), except where it is read in place (gemm_tn, few rows) or
 * comes packed (gemm_nn_bias_act_packed: the same panels over all of k); A is read in place
 * ([m x k] rows for nn / nt, [k x m] rows for tn).
 * Every output element is one fma chain along k in increasing order, starting from 0 (acc = 0) or
 * from C (acc = 1), whatever tile it falls in: tiles differ only in how many rows they run and in
 * the masks of their loads and stores, so splitting m across calls gives identical bits. */
#if !defined(__AVX512F__) || !defined(__AVX512BW__) || !defined(__AVX512DQ__) || !defined(__AVX512VL__)
#error "this file must be compiled with -mavx512f -mavx512bw -mavx512dq -mavx512vl"
#endif
#include <immintrin.h>

#include "kernels/kernels.h"
#include "util.h"

#define MR 12                   /* rows of C per microkernel */
#define NR 32                   /* columns of C per microkernel (two zmm) */
_Static_assert(NR == MNV2_GEMM_PANEL, "a packed panel (kernels.h) is one microkernel wide");
#define KC 256                  /* k per packed block */
#define BP_FLOATS (KC * 96)     /* packed B block: 96 KiB of stack */

/* Where a microkernel finds A(r, p): a[r * rs + p * ps]. What it does with C at the end. */
typedef struct {
    int load;          /* start from C instead of 0 */
    const float *bias; /* when set (last k block): C = min(max(C + bias, lo), hi) */
    float lo, hi;
} epilogue;

/* C[mr x nv*16] (+)= A[mr x kc] * B[kc x nv*16]; B rows are bs floats apart (a packed panel or B
 * itself). The C (and B) columns of vector v exist where mask mv is set. pf: when set, the next
 * row block's A (same rs, rows along k), fetched into the cache as this block runs. */
static ALWAYS_INLINE void ukernel(const int mr, const int nv, size_t kc, const float *a, size_t rs, size_t ps,
                                  const float *bp, size_t bs, float *c, size_t ldc, __mmask16 m0, __mmask16 m1,
                                  const epilogue *e, const float *pf)
{
    const int full = m0 == 0xffff && (nv == 1 || m1 == 0xffff);
    __m512 c0[MR], c1[MR];
#pragma GCC unroll 16
    for (int r = 0; r < mr; r++) {
        c0[r] = c1[r] = _mm512_setzero_ps();
        if (e->load) {
            c0[r] = full ? _mm512_loadu_ps(c + r * ldc) : _mm512_maskz_loadu_ps(m0, c + r * ldc);
            if (nv == 2)
                c1[r] = full ? _mm512_loadu_ps(c + r * ldc + 16) : _mm512_maskz_loadu_ps(m1, c + r * ldc + 16);
        }
    }
    const float *a0 = a, *a3 = mr > 3 ? a + 3 * rs : a, *a6 = mr > 6 ? a + 6 * rs : a;
    const float *a9 = mr > 9 ? a + 9 * rs : a;
    for (size_t p = 0; p < kc; p++) {
        if (pf && (p & 15) == 0) {
            /* The next row block's A, a cache line of each row every 16 steps (rows along k). */
#pragma GCC unroll 16
            for (int r = 0; r < MR; r++)
                _mm_prefetch((const char *)(pf + r * rs + p), _MM_HINT_T0);
        }
        /* Masked at a tail: B read in place must stop at n (a packed panel is zero-padded). */
        const __m512 b0 = full ? _mm512_loadu_ps(bp) : _mm512_maskz_loadu_ps(m0, bp);
        const __m512 b1 = nv == 2 ? (full ? _mm512_loadu_ps(bp + 16) : _mm512_maskz_loadu_ps(m1, bp + 16)) : b0;
        bp += bs;
#pragma GCC unroll 16
        for (int r = 0; r < mr; r++) {
            /* Rows 3q + t at aq[t * rs]: four base pointers and rs cover all twelve rows. */
            const float *aq = r < 3 ? a0 : r < 6 ? a3 : r < 9 ? a6 : a9;
            const __m512 av = _mm512_set1_ps(aq[(r % 3) * rs]);
            c0[r] = _mm512_fmadd_ps(av, b0, c0[r]);
            if (nv == 2)
                c1[r] = _mm512_fmadd_ps(av, b1, c1[r]);
        }
        a0 += ps, a3 += ps, a6 += ps, a9 += ps;
    }
    if (e->bias) {
        const __m512 bias0 = _mm512_maskz_loadu_ps(m0, e->bias);
        const __m512 bias1 = nv == 2 ? _mm512_maskz_loadu_ps(m1, e->bias + 16) : bias0;
        const __m512 lo = _mm512_set1_ps(e->lo), hi = _mm512_set1_ps(e->hi);
        /* max(lo, v), min(hi, v): NaN passes through like the scalar v < lo ? lo : v. */
#pragma GCC unroll 16
        for (int r = 0; r < mr; r++) {
            c0[r] = _mm512_min_ps(hi, _mm512_max_ps(lo, _mm512_add_ps(c0[r], bias0)));
            c1[r] = _mm512_min_ps(hi, _mm512_max_ps(lo, _mm512_add_ps(c1[r], bias1)));
        }
    }
    if (full) {
        /* Plain stores where the tile is whole: masked stores that miss the cache are slow. */
#pragma GCC unroll 16
        for (int r = 0; r < mr; r++) {
            _mm512_storeu_ps(c + r * ldc, c0[r]);
            if (nv == 2)
                _mm512_storeu_ps(c + r * ldc + 16, c1[r]);
        }
        return;
    }
#pragma GCC unroll 16
    for (int r = 0; r < mr; r++) {
        _mm512_mask_storeu_ps(c + r * ldc, m0, c0[r]);
        if (nv == 2)
            _mm512_mask_storeu_ps(c + r * ldc + 16, m1, c1[r]);
    }
}

#define UK_CASE(R)                                                                                       \
    case R:                                                                                              \
        if (nv == 2)                                                                                     \
            ukernel(R, 2, kc, a, rs, ps, bp, bs, c, ldc, m0, m1, e, pf);                                 \
        else                                                                                             \
            ukernel(R, 1, kc, a, rs, ps, bp, bs, c, ldc, m0, m1, e, pf);                                 \
        break;

static void ukernel_any(size_t mr, int nv, size_t kc, const float *a, size_t rs, size_t ps, const float *bp,
                        size_t bs, float *c, size_t ldc, __mmask16 m0, __mmask16 m1, const epilogue *e,
                        const float *pf)
{
    switch (mr) {
        UK_CASE(12) UK_CASE(11) UK_CASE(10) UK_CASE(9) UK_CASE(8) UK_CASE(7)
        UK_CASE(6) UK_CASE(5) UK_CASE(4) UK_CASE(3) UK_CASE(2) UK_CASE(1)
    default: break;
    }
}

/* Pack B(p, j) for p in [0, kc), j in [0, nc) into panels of 32 columns (16 for a last panel of
 * at most 16), zero-padded: panel q starts at bp + q * kc * 32. B(p, j) = b[p * ldb + j]. */
static void pack_b_n(size_t kc, size_t nc, const float *b, size_t ldb, float *bp)
{
    for (size_t j = 0; j < nc; j += NR, bp += kc * NR) {
        const size_t nw = nc - j < NR ? nc - j : NR;
        const float *src = b + j;
        if (nw > 16) {
            const __mmask16 m1 = tail_mask(nw - 16);
            for (size_t p = 0; p < kc; p++) {
                _mm512_store_ps(bp + p * 32, _mm512_loadu_ps(src + p * ldb));
                _mm512_store_ps(bp + p * 32 + 16, _mm512_maskz_loadu_ps(m1, src + p * ldb + 16));
            }
        } else {
            const __mmask16 m0 = tail_mask(nw);
            for (size_t p = 0; p < kc; p++)
                _mm512_store_ps(bp + p * 16, _mm512_maskz_loadu_ps(m0, src + p * ldb));
        }
    }
}

/* Transpose a 16x16 block: out[i][j] = in[j][i] (rows 16 floats apart on both sides). */
static ALWAYS_INLINE void transpose16(__m512 r[16])
{
    __m512 t[16];
#pragma GCC unroll 8
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
#pragma GCC unroll 4
    for (int i = 0; i < 16; i += 4) {
        r[i] = _mm512_shuffle_ps(t[i], t[i + 2], 0x44);
        r[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], 0xee);
        r[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0x44);
        r[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0xee);
    }
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) {
        t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0x88);
        t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0xdd);
        t[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0x88);
        t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0xdd);
    }
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) {
        r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
        r[i + 4] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], 0x88);
        r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xdd);
        r[i + 12] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], 0xdd);
    }
}

/* Pack like pack_b_n with B(p, j) = b[j * ldb + p] (gemm_nt's B^T). */
static void pack_b_t(size_t kc, size_t nc, const float *b, size_t ldb, float *bp)
{
    for (size_t j = 0; j < nc; j += NR, bp += kc * NR) {
        const size_t nw = nc - j < NR ? nc - j : NR;
        const size_t pw = nw > 16 ? 32 : 16;
        for (size_t jj = 0; jj < pw; jj += 16) {
            /* 16 columns j + jj .. of the panel: rows of B beyond nc read as zero. */
            const size_t rows = nw > jj ? (nw - jj < 16 ? nw - jj : 16) : 0;
            const float *src = b + (j + jj) * ldb;
            for (size_t p = 0; p < kc; p += 16) {
                const __mmask16 mk = tail_mask(kc - p);
                __m512 r[16];
#pragma GCC unroll 16
                for (size_t i = 0; i < 16; i++)
                    r[i] = i < rows ? _mm512_maskz_loadu_ps(mk, src + i * ldb + p) : _mm512_setzero_ps();
                transpose16(r);
                const size_t np = kc - p < 16 ? kc - p : 16;
                for (size_t i = 0; i < np; i++)
                    _mm512_store_ps(bp + (p + i) * pw + jj, r[i]);
            }
        }
    }
}

enum { A_N, A_T };   /* A stored [m x k] or [k x m] */
enum { B_N, B_T, B_P }; /* B stored [k x n], [n x k], or packed once by mnv2__gemm_pack_b */

static void gemm(int at, int bt, size_t m, size_t n, size_t k, const float *a, size_t lda, const float *b,
                 size_t ldb, float *c, size_t ldc, int acc, const float *bias, float lo, float hi)
{
    _Alignas(64) float bp[BP_FLOATS];
    if (m == 0 || n == 0)
        return;
    if (k == 0) {
        /* Nothing to multiply: C = 0, C unchanged, or the epilogue of 0. */
        const __m512 lov = _mm512_set1_ps(lo), hiv = _mm512_set1_ps(hi);
        if (acc && !bias)
            return;
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < n; j += 16) {
                const __mmask16 mk = tail_mask(n - j);
                __m512 v = _mm512_setzero_ps();
                if (bias)
                    v = _mm512_min_ps(hiv, _mm512_max_ps(lov, _mm512_add_ps(v, _mm512_maskz_loadu_ps(mk, bias + j))));
                _mm512_mask_storeu_ps(c + i * ldc + j, mk, v);
            }
        return;
    }
    const size_t kc_max = k < KC ? k : KC;
    const size_t nc_max = BP_FLOATS / kc_max / NR * NR; /* as many columns as the buffer holds */
    for (size_t jc = 0; jc < n; jc += nc_max) {
        const size_t nc = n - jc < nc_max ? n - jc : nc_max;
        for (size_t pc = 0; pc < k; pc += KC) {
            const size_t kc = k - pc < KC ? k - pc : KC;
            /* B [k x n] is read in place by gemm_tn (measured faster: its k is long and its m is
             * split into small ranges, so a packed copy is little reused) and when there are at
             * most two row blocks; otherwise packed. */
            const int direct = bt == B_N && (at == A_T || m <= 2 * MR);
            if (!direct && bt == B_N)
                pack_b_n(kc, nc, b + pc * ldb + jc, ldb, bp);
            else if (!direct && bt == B_T)
                pack_b_t(kc, nc, b + jc * ldb + pc, ldb, bp);
            const epilogue e = {acc || pc > 0, pc + kc == k ? bias : NULL, lo, hi};
            /* Row blocks of nearly equal height (no short, latency-bound last block): the first
             * m % nb blocks have one row more. */
            const size_t nb = (m + MR - 1) / MR, base = m / nb, extra = m % nb;
            for (size_t bi = 0, i = 0; bi < nb; bi++) {
                const size_t mr = base + (bi < extra);
                const float *ai = at == A_N ? a + i * lda + pc : a + pc * lda + i;
                const size_t rs = at == A_N ? lda : 1, ps = at == A_N ? 1 : lda;
                for (size_t j = 0; j < nc; j += NR) {
                    const size_t nw = nc - j < NR ? nc - j : NR;
                    const int nv = nw > 16 ? 2 : 1;
                    const __mmask16 m0 = tail_mask(nw), m1 = nw > 16 ? tail_mask(nw - 16) : 0;
                    epilogue ej = e;
                    if (ej.bias)
                        ej.bias = bias + jc + j;
                    /* The first panel of a row block fetches the next row block's A (when A is [m x k]). */
                    const float *pf = at == A_N && j == 0 && kc >= 128 && i + mr + MR <= m ? ai + mr * lda
                                                                                           : NULL;
                    /* B's panel: in place, packed here (kc rows), or packed once (k rows, the
                     * same panel width; see kernels.h) */
                    const float *bj = direct ? b + pc * ldb + jc + j
                                      : bt == B_P ? b + (jc + j) * k + pc * nv * 16
                                                  : bp + j * kc;
                    const size_t bs = direct ? ldb : (size_t)nv * 16;
                    ukernel_any(mr, nv, kc, ai, rs, ps, bj, bs, c + i * ldc + jc + j, ldc, m0, m1, &ej, pf);
                }
                i += mr;
            }
        }
    }
}

void mnv2_gemm_nn_avx512(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *b, size_t ldb,
                         float *c, size_t ldc, int acc)
{
    gemm(A_N, B_N, m, n, k, a, lda, b, ldb, c, ldc, acc, NULL, 0.0f, 0.0f);
}

void mnv2_gemm_nt_avx512(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *b, size_t ldb,
                         float *c, size_t ldc, int acc)
{
    gemm(A_N, B_T, m, n, k, a, lda, b, ldb, c, ldc, acc, NULL, 0.0f, 0.0f);
}

void mnv2_gemm_tn_avx512(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *b, size_t ldb,
                         float *c, size_t ldc, int acc)
{
    gemm(A_T, B_N, m, n, k, a, lda, b, ldb, c, ldc, acc, NULL, 0.0f, 0.0f);
}

void mnv2_gemm_nn_bias_act_avx512(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *b,
                                  size_t ldb, float *c, size_t ldc, const float *bias, float lo, float hi)
{
    gemm(A_N, B_N, m, n, k, a, lda, b, ldb, c, ldc, 0, bias, lo, hi);
}

void mnv2_gemm_nn_bias_act_packed_avx512(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *bp,
                                         float *c, size_t ldc, const float *bias, float lo, float hi)
{
    gemm(A_N, B_P, m, n, k, a, lda, bp, 0, c, ldc, 0, bias, lo, hi);
}
