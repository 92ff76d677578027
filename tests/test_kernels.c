/* SPDX-License-Identifier: BSD-2-Clause */
/* Every kernel of every SIMD level this machine has, against the scalar reference (in the manner
 * of dav1d's checkasm): many shapes (channel counts that are not multiples of any vector width,
 * m / n / k of 1 and tails, strides 1 and 2, odd image sizes, row sub-ranges, acc 0 and 1, leading
 * dimensions wider than the matrix, misaligned pointers), guard floats around every buffer, const
 * inputs checked unchanged, in-place calls where the contract allows them, and the determinism
 * contract (a GEMM split over m, a convolution split over its output rows, is bit-identical to one
 * call; the weight gradients, which the engine never splits into calls that add to one slot and
 * which may sum in registers before adding to dwt, are checked split within the tolerance).
 * Then every (kernel, shape) the engine really calls for the reduced and standard presets, as
 * recorded from the models themselves (see "The engine's own calls" below).
 * Entries a level leaves to the scalar kernel are reported as such and not tested.
 * docs/design.md, "Invariants", lists the numeric contracts these checks hold.
 *
 * `test_kernels --bench [name]` times every kernel (or those whose name contains `name`) at every
 * level on the layer shapes of the reduced MobileNetV2 (batch 32, 32x32 input) and prints a table
 * instead.
 *
 * Tolerances (never loosened to make a kernel pass; a kernel outside them is wrong):
 *   sums of k products (GEMMs, convolutions, weight gradients, batch-norm sums):
 *       |simd - scalar| <= TOL_SUM * sqrt(k) * (1 + |scalar|)
 *   element-wise formulas of a few roundings (bn_apply, bn_bwd_apply, adam, sgd):
 *       |simd - scalar| <= TOL_ELEM * (1 + |scalar|)
 *   exact (bit-identical, or both NaN): add, outputs whose scalar value before the
 *       clamp is below lo or above hi by more than the tolerance (they are lo or hi), NaN passed
 *       through the clamps as the scalar kernels pass it, every float outside the documented
 *       output (row padding, rows outside [y0, y1), guards), every const input, and split results.
 * The ReLU6 mask of bn_bwd_reduce / bn_bwd_apply (t = z * mscale + mshift, as the level's bn_apply
 * computes it): against scalar as above (the masked reduce like the unmasked one), on inputs that
 * keep t at least 1e-4 away from 0 and 6 (with and without an FMA t rounds alike there), plus t
 * exactly 0, 6, their neighbours, NaN and infinities; and exact against the level's own kernel
 * without the mask, given dy masked by the level's own bn_apply (clamped to [0, 6]), also on inputs
 * that put t within the rounding of 0 and 6, where an FMA and a multiply-add decide differently
 * (bit-identical, or both NaN).
 * Inputs are uniform in [-1, 1] unless stated. */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "mnv2.h"
#include "kernels/kernels.h"
#include "model.h"

#define TOL_SUM 1e-5
#define TOL_ELEM 1e-6


/* ---------------------------------------------------------------------------------------------
 * Levels and the scalar table */

typedef void (*any_fn)(void);
_Static_assert(sizeof(mnv2_kernels) == MNV2_N_KERNELS * sizeof(any_fn), "the table is an array of pointers");

enum {
#define MNV2_KERNEL(name, params) K_##name,
#include "kernels/kernel_list.inc"
#undef MNV2_KERNEL
};

/* Entry i of a table, as an untyped pointer: only to tell whether a level has its own kernel. */
static any_fn entry(const mnv2_kernels *t, int i)
{
    any_fn f;
    memcpy(&f, (const char *)t + (size_t)i * sizeof f, sizeof f);
    return f;
}

static const mnv2_kernels *scalar;
static struct level {
    int isa;
    const mnv2_kernels *t;
} levels[8];
static int n_levels;

static void find_levels(void)
{
    scalar = mnv2__kernels_for(MNV2_ISA_SCALAR, NULL);
    const int cpu = mnv2_cpu_isa();
    int want[8], n = 0;
#if defined(__x86_64__) || defined(__i386__)
    for (int l = MNV2_ISA_SCALAR + 1; l <= cpu && l <= MNV2_ISA_AVX512; l++)
        want[n++] = l;
#elif defined(__aarch64__)
    if (cpu == MNV2_ISA_NEON)
        want[n++] = MNV2_ISA_NEON;
#endif
    n_levels = 0;
    for (int i = 0; i < n; i++) {
        int used = -1;
        const mnv2_kernels *t = mnv2__kernels_for(want[i], &used);
        if (used != want[i]) /* not built (compiler or -Dsimd): its table is a lower level's */
            continue;
        levels[n_levels].isa = want[i];
        levels[n_levels++].t = t;
    }
}

/* ---------------------------------------------------------------------------------------------
 * Case bookkeeping and reports */

static struct {
    const char *kernel, *level, *origin; /* origin: the engine run whose call this case is, or NULL */
    char what[256];
    int fails, cases;
} cur;

static void failf(const char *fmt, ...)
{
    if (cur.fails++ >= 8)
        return;
    printf("  FAIL %s [%s] %s%s%s%s: ", cur.kernel, cur.level, cur.what, cur.origin ? " (engine call, " : "",
           cur.origin ? cur.origin : "", cur.origin ? ")" : "");
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
}

#define CASE(...) (cur.cases++, snprintf(cur.what, sizeof cur.what, __VA_ARGS__))

/* ---------------------------------------------------------------------------------------------
 * Guarded buffers: GUARD floats of a NaN pattern before and after, and a misalignment of 0..3
 * floats so that kernels see every alignment. Under AddressSanitizer the guards are poisoned
 * too, so that a kernel reading past a buffer (an input's end included) is reported. */

#if defined(__SANITIZE_ADDRESS__)
#define HAVE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAVE_ASAN 1
#endif
#endif
#ifdef HAVE_ASAN
#include <sanitizer/asan_interface.h>
#else
#define ASAN_POISON_MEMORY_REGION(p, n) ((void)(p), (void)(n))
#define ASAN_UNPOISON_MEMORY_REGION(p, n) ((void)(p), (void)(n))
#endif

enum { GUARD = 16 };
static const uint32_t GUARD_BITS = 0x7fa5c3e1u;  /* around every buffer */
static const uint32_t UNSET_BITS = 0x7fc0beefu;  /* outputs before the call, padding of inputs */

static float from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static uint32_t to_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

typedef struct buf {
    float *base, *p;
    size_t n, lead;
} buf;

static void guards_poison(const buf *b, int on)
{
    if (on) {
        ASAN_POISON_MEMORY_REGION(b->base, b->lead * sizeof(float));
        ASAN_POISON_MEMORY_REGION(b->p + b->n, GUARD * sizeof(float));
    } else {
        ASAN_UNPOISON_MEMORY_REGION(b->base, (b->lead + b->n + GUARD) * sizeof(float));
    }
}

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static double urand(void) /* [0, 1) */
{
    rng_state = rng_state * 6364136223846793005u + 1442695040888963407u;
    return (double)(rng_state >> 11) * (1.0 / 9007199254740992.0);
}

static float frand(float lo, float hi) { return lo + (hi - lo) * (float)urand(); }

static buf buf_alloc(size_t n, size_t lead)
{
    buf b = {NULL, NULL, n, lead};
    b.base = malloc((lead + n + GUARD) * sizeof(float));
    assert_non_null(b.base);
    b.p = b.base + lead;
    return b;
}

static buf buf_new(size_t n)
{
    static unsigned mis;
    buf b = buf_alloc(n, GUARD + (mis++ & 3));
    for (size_t i = 0; i < b.lead; i++)
        b.base[i] = from_bits(GUARD_BITS);
    for (size_t i = 0; i < GUARD; i++)
        b.p[n + i] = from_bits(GUARD_BITS);
    guards_poison(&b, 1);
    return b;
}

static buf buf_rand(size_t n, float lo, float hi)
{
    buf b = buf_new(n);
    for (size_t i = 0; i < n; i++)
        b.p[i] = frand(lo, hi);
    return b;
}

static buf buf_unset(size_t n)
{
    buf b = buf_new(n);
    for (size_t i = 0; i < n; i++)
        b.p[i] = from_bits(UNSET_BITS);
    return b;
}

/* A rows x cols matrix at stride ld (the last row ends at its last column); padding UNSET. */
static buf buf_mat(size_t rows, size_t cols, size_t ld)
{
    const size_t n = rows ? (rows - 1) * ld + cols : 0;
    buf b = buf_unset(n);
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < cols; j++)
            b.p[r * ld + j] = frand(-1.0f, 1.0f);
    return b;
}

static buf buf_clone(const buf *a) /* same content, guards and alignment */
{
    buf b = buf_alloc(a->n, a->lead);
    guards_poison(a, 0);
    memcpy(b.base, a->base, (a->lead + a->n + GUARD) * sizeof(float));
    guards_poison(a, 1);
    guards_poison(&b, 1);
    return b;
}

static void buf_free(buf *b)
{
    guards_poison(b, 0);
    free(b->base);
    b->base = b->p = NULL;
}

static int guards_ok(const buf *b, const char *name)
{
    int ok = 1;
    guards_poison(b, 0);
    for (size_t i = 0; i < b->lead && ok; i++)
        if (to_bits(b->base[i]) != GUARD_BITS) {
            failf("%s: wrote %zu floats before the buffer", name, b->lead - i);
            ok = 0;
        }
    for (size_t i = 0; i < GUARD && ok; i++)
        if (to_bits(b->p[b->n + i]) != GUARD_BITS) {
            failf("%s: wrote past the end of the buffer (at +%zu)", name, i);
            ok = 0;
        }
    guards_poison(b, 1);
    return ok;
}

static int same(float a, float b) { return to_bits(a) == to_bits(b) || (isnan(a) && isnan(b)); }

/* got against ref: the region (rows x cols at stride ld from off) within tol (0: exact), every
 * other float bit-identical, guards intact. */
static void check_region(const char *name, const buf *ref, const buf *got, size_t off, size_t rows, size_t cols,
                         size_t ld, double tol)
{
    if (!guards_ok(got, name))
        return;
    for (size_t i = 0; i < got->n; i++) {
        const float r = ref->p[i], g = got->p[i];
        const int in = i >= off && (i - off) / ld < rows && (i - off) % ld < cols;
        if (!in) {
            if (to_bits(r) != to_bits(g)) {
                failf("%s[%zu]: wrote outside the output (%g, was %g)", name, i, (double)g, (double)r);
                return;
            }
            continue;
        }
        int ok;
        if (tol == 0.0 || isnan(r) || isinf(r))
            ok = same(r, g);
        else
            ok = !isnan(g) && fabs((double)g - (double)r) <= tol * (1.0 + fabs((double)r));
        if (!ok) {
            const size_t row = (i - off) / ld, col = (i - off) % ld;
            failf("%s[%zu] (row %zu, col %zu): %.9g, scalar %.9g (diff %.3g, tol %.3g)", name, i, row, col, (double)g,
                  (double)r, fabs((double)g - (double)r), tol * (1.0 + fabs((double)r)));
            return;
        }
    }
}

static void check_all(const char *name, const buf *ref, const buf *got, double tol)
{
    check_region(name, ref, got, 0, 1, got->n, got->n ? got->n : 1, tol);
}

/* A const input must come back bit-identical, guards included. */
static void check_unchanged(const char *name, const buf *orig, const buf *after)
{
    guards_poison(orig, 0), guards_poison(after, 0);
    if (memcmp(orig->base, after->base, (orig->lead + orig->n + GUARD) * sizeof(float)))
        failf("const input %s was modified", name);
    guards_poison(orig, 1), guards_poison(after, 1);
}

/* Two results that must be bit-identical (split calls, in-place calls). */
static void check_identical(const char *what, const buf *a, const buf *b)
{
    if (!guards_ok(b, what))
        return;
    for (size_t i = 0; i < a->n; i++)
        if (to_bits(a->p[i]) != to_bits(b->p[i])) {
            failf("%s: differs at [%zu] (%.9g vs %.9g)", what, i, (double)b->p[i], (double)a->p[i]);
            return;
        }
}

/* Outputs of a clamp whose input (pre[r * ld + j], the scalar value before it) is below lo or
 * above hi with room to spare must be lo or hi exactly. */
static void check_clamped(const char *name, const float *pre, const buf *got, size_t off, size_t rows, size_t cols,
                          size_t ld, float lo, float hi, double tol)
{
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < cols; j++) {
            const double v = pre[r * ld + j], room = tol * (1.0 + fabs(v));
            const float g = got->p[off + r * ld + j];
            if ((v < lo - room && !same(g, lo)) || (v > hi + room && !same(g, hi))) {
                failf("%s (row %zu, col %zu) = %.9g, not clamped to %.9g", name, r, j, (double)g,
                      (double)(v < lo ? lo : hi));
                return;
            }
        }
}

/* ---------------------------------------------------------------------------------------------
 * GEMMs */

enum { NN, NT, TN, NN_BIAS };

static void gemm_call(const mnv2_kernels *t, int kind, size_t m, size_t n, size_t k, const float *a, size_t lda,
                      const float *b, size_t ldb, float *c, size_t ldc, int acc, const float *bias, float lo, float hi)
{
    switch (kind) {
    case NN: t->gemm_nn(m, n, k, a, lda, b, ldb, c, ldc, acc); break;
    case NT: t->gemm_nt(m, n, k, a, lda, b, ldb, c, ldc, acc); break;
    case TN: t->gemm_tn(m, n, k, a, lda, b, ldb, c, ldc, acc); break;
    default: t->gemm_nn_bias_act(m, n, k, a, lda, b, ldb, c, ldc, bias, lo, hi); break;
    }
}

static void gemm_case(const mnv2_kernels *t, int kind, size_t m, size_t n, size_t k, size_t pad, int acc,
                      float lo, float hi, int nan_bias)
{
    static const char *names[] = {"nn", "nt", "tn", "nn_bias_act"};
    if (kind == NN_BIAS)
        acc = 0;
    const int ta = kind == TN, tb = kind == NT;
    const size_t ar = ta ? k : m, ac = ta ? m : k, lda = ac + pad;
    const size_t br = tb ? n : k, bc = tb ? k : n, ldb = bc + pad, ldc = n + pad;
    CASE("gemm_%s m=%zu n=%zu k=%zu lda=%zu ldb=%zu ldc=%zu acc=%d lo=%g hi=%g%s", names[kind], m, n, k, lda, ldb,
         ldc, acc, (double)lo, (double)hi, nan_bias ? " (NaN bias)" : "");
    buf a = buf_mat(ar, ac, lda), b = buf_mat(br, bc, ldb), bias = buf_rand(n, -1.0f, 1.0f);
    if (nan_bias)
        bias.p[n - 1] = NAN;
    buf c0 = buf_mat(m, n, ldc);
    if (!acc) /* the start value must not be read */
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < n; j++)
                c0.p[i * ldc + j] = from_bits(UNSET_BITS);
    buf a0 = buf_clone(&a), b0 = buf_clone(&b), bias0 = buf_clone(&bias);
    buf cref = buf_clone(&c0), cgot = buf_clone(&c0);
    gemm_call(scalar, kind, m, n, k, a.p, lda, b.p, ldb, cref.p, ldc, acc, bias.p, lo, hi);
    gemm_call(t, kind, m, n, k, a.p, lda, b.p, ldb, cgot.p, ldc, acc, bias.p, lo, hi);
    const double tol = TOL_SUM * sqrt((double)k + (kind == NN_BIAS));
    check_region("C", &cref, &cgot, 0, m, n, ldc, tol);
    if (kind == NN_BIAS && m) {
        float *pre = malloc(m * ldc * sizeof(float));
        assert_non_null(pre);
        scalar->gemm_nn(m, n, k, a.p, lda, b.p, ldb, pre, ldc, 0);
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < n; j++)
                pre[i * ldc + j] += bias.p[j];
        check_clamped("C", pre, &cgot, 0, m, n, ldc, lo, hi, tol);
        free(pre);
    }
    check_unchanged("A", &a0, &a);
    check_unchanged("B", &b0, &b);
    if (kind == NN_BIAS)
        check_unchanged("bias", &bias0, &bias);
    /* Determinism: rows [0, s) and [s, m) in two calls give the one-call result bit for bit. */
    const size_t splits[] = {1, m / 2, m - m / 3};
    for (size_t i = 0; i < 3 && m >= 2; i++) {
        const size_t s = splits[i];
        if (s == 0 || s >= m || (i > 0 && s == splits[i - 1]))
            continue;
        buf cs = buf_clone(&c0);
        gemm_call(t, kind, s, n, k, a.p, lda, b.p, ldb, cs.p, ldc, acc, bias.p, lo, hi);
        gemm_call(t, kind, m - s, n, k, ta ? a.p + s : a.p + s * lda, lda, b.p, ldb, cs.p + s * ldc, ldc, acc, bias.p,
                  lo, hi);
        char what[64];
        snprintf(what, sizeof what, "rows split at %zu", s);
        check_identical(what, &cgot, &cs);
        buf_free(&cs);
    }
    buf *all[] = {&a, &b, &bias, &c0, &a0, &b0, &bias0, &cref, &cgot};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        buf_free(all[i]);
}

static void check_gemm(const mnv2_kernels *t, int kind)
{
    static const size_t ms[] = {1, 2, 5, 6, 7, 13, 33};
    static const size_t ns[] = {1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 64, 100};
    static const size_t ks[] = {1, 2, 7, 16, 33, 100};
    static const float clamps[][2] = {{0.0f, 6.0f}, {-INFINITY, INFINITY}, {-0.25f, 0.5f}};
    unsigned v = 0;
    for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++)
        for (size_t j = 0; j < sizeof ns / sizeof ns[0]; j++)
            for (size_t p = 0; p < sizeof ks / sizeof ks[0]; p++, v++)
                gemm_case(t, kind, ms[i], ns[j], ks[p], (v % 3) * 3, (v >> 1) & 1, clamps[v % 3][0],
                          clamps[v % 3][1], 0);
    /* Larger: several k and n blocks, many row tiles, wide strides. */
    static const size_t big[][4] = {{70, 130, 300, 5}, {100, 961, 37, 0}, {37, 200, 1100, 1}, {1, 1, 2000, 0},
                                    {250, 40, 520, 3}, {8, 1100, 16, 2}, {64, 64, 64, 0}, {29, 520, 131, 7}};
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++)
        for (int acc = 0; acc < (kind == NN_BIAS ? 1 : 2); acc++)
            gemm_case(t, kind, big[i][0], big[i][1], big[i][2], big[i][3], acc, 0.0f, 6.0f, 0);
    /* No rows (a thread's empty share): nothing written. */
    gemm_case(t, kind, 0, 9, 5, 3, 1, 0.0f, 6.0f, 0);
    if (kind == NN_BIAS) /* NaN goes through the clamp, as in the scalar kernel */
        for (size_t i = 0; i < 4; i++)
            gemm_case(t, kind, ms[i + 2], ns[i * 3 + 1], ks[i + 1], 1, 0, 0.0f, 6.0f, 1);
}

/* gemm_nn_bias_act_packed: B packed once (the layout of kernels.h, checked here too) gives the bits
 * of the same level's gemm_nn_bias_act on B unpacked (whose accuracy check_gemm checks), also on
 * the columns from a multiple of the panel width on, as the engine's column blocks call it. */
static void packed_case(const mnv2_kernels *t, size_t m, size_t n, size_t k, size_t pad, float lo, float hi,
                        int nan_bias)
{
    const size_t lda = k + pad, ldb = n + pad, ldc = n + pad, pcols = mnv2__gemm_packed_cols(n);
    CASE("gemm_nn_bias_act_packed m=%zu n=%zu k=%zu lda=%zu ldc=%zu lo=%g hi=%g%s", m, n, k, lda, ldc, (double)lo,
         (double)hi, nan_bias ? " (NaN bias)" : "");
    buf a = buf_mat(m, k, lda), b = buf_mat(k, n, ldb), bias = buf_rand(n, -1.0f, 1.0f), bp = buf_unset(k * pcols);
    if (nan_bias)
        bias.p[n - 1] = NAN;
    mnv2__gemm_pack_b(k, n, b.p, ldb, bp.p);
    for (size_t j = 0; j < pcols && !cur.fails; j++) {
        const size_t q = j / MNV2_GEMM_PANEL, nw = n - q * MNV2_GEMM_PANEL;
        const size_t pw = mnv2__gemm_packed_cols(nw < MNV2_GEMM_PANEL ? nw : MNV2_GEMM_PANEL);
        for (size_t p = 0; p < k; p++) {
            const float want = j < n ? b.p[p * ldb + j] : 0.0f;
            const float got = bp.p[q * MNV2_GEMM_PANEL * k + p * pw + j % MNV2_GEMM_PANEL];
            if (j % MNV2_GEMM_PANEL < pw && to_bits(got) != to_bits(want)) {
                failf("packed B(%zu, %zu) = %g, not %g", p, j, (double)got, (double)want);
                break;
            }
        }
    }
    buf c0 = buf_mat(m, n, ldc), a0 = buf_clone(&a), bp0 = buf_clone(&bp), bias0 = buf_clone(&bias);
    for (size_t i = 0; i < c0.n; i++) /* the start value must not be read */
        c0.p[i] = from_bits(UNSET_BITS);
    buf cref = buf_clone(&c0), cgot = buf_clone(&c0);
    t->gemm_nn_bias_act(m, n, k, a.p, lda, b.p, ldb, cref.p, ldc, bias.p, lo, hi);
    t->gemm_nn_bias_act_packed(m, n, k, a.p, lda, bp.p, cgot.p, ldc, bias.p, lo, hi);
    check_region("C (the 'scalar' value is this level's unpacked product)", &cref, &cgot, 0, m, n, ldc, 0.0);
    check_unchanged("A", &a0, &a);
    check_unchanged("packed B", &bp0, &bp);
    check_unchanged("bias", &bias0, &bias);
    for (size_t c = MNV2_GEMM_PANEL; c < n; c += 2 * MNV2_GEMM_PANEL) {
        buf vref = buf_clone(&c0), vgot = buf_clone(&c0);
        t->gemm_nn_bias_act(m, n - c, k, a.p, lda, b.p + c, ldb, vref.p + c, ldc, bias.p + c, lo, hi);
        t->gemm_nn_bias_act_packed(m, n - c, k, a.p, lda, bp.p + c * k, vgot.p + c, ldc, bias.p + c, lo, hi);
        char what[64];
        snprintf(what, sizeof what, "columns from %zu", c);
        check_identical(what, &vref, &vgot);
        buf_free(&vref), buf_free(&vgot);
    }
    buf *all[] = {&a, &b, &bias, &bp, &c0, &a0, &bp0, &bias0, &cref, &cgot};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        buf_free(all[i]);
}

static void packed_cases(const mnv2_kernels *t)
{
    static const size_t ms[] = {1, 5, 13, 24, 25, 33};
    static const size_t ns[] = {1, 15, 16, 17, 31, 32, 33, 48, 49, 64, 100};
    static const size_t ks[] = {1, 7, 33, 100, 300};
    static const float clamps[][2] = {{0.0f, 6.0f}, {-INFINITY, INFINITY}, {-0.25f, 0.5f}};
    unsigned v = 0;
    for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++)
        for (size_t j = 0; j < sizeof ns / sizeof ns[0]; j++)
            for (size_t p = 0; p < sizeof ks / sizeof ks[0]; p++, v++)
                packed_case(t, ms[i], ns[j], ks[p], (v % 3) * 3, clamps[v % 3][0], clamps[v % 3][1], 0);
    /* Several k blocks and column blocks, many row tiles. */
    static const size_t big[][4] = {{70, 130, 300, 5}, {100, 961, 37, 0}, {37, 200, 1100, 1}, {29, 520, 131, 7}};
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++)
        packed_case(t, big[i][0], big[i][1], big[i][2], big[i][3], 0.0f, 6.0f, 0);
    packed_case(t, 0, 9, 5, 3, 0.0f, 6.0f, 0);
    for (size_t i = 0; i < 3; i++)
        packed_case(t, ms[i + 1], ns[i * 3 + 1], ks[i + 1], 1, 0.0f, 6.0f, 1);
}

static void check_gemm_nn_bias_act_packed(const mnv2_kernels *t)
{
    /* The scalar level packs too (panel by panel, as sse41, avx2 and neon do): its cases are
     * counted with the first level's. */
    static int scalar_done;
    if (!scalar_done)
        packed_cases(scalar);
    scalar_done = 1;
    packed_cases(t);
}

static void check_gemm_nn(const mnv2_kernels *t) { check_gemm(t, NN); }
static void check_gemm_nt(const mnv2_kernels *t) { check_gemm(t, NT); }
static void check_gemm_tn(const mnv2_kernels *t) { check_gemm(t, TN); }
static void check_gemm_nn_bias_act(const mnv2_kernels *t) { check_gemm(t, NN_BIAS); }

/* ---------------------------------------------------------------------------------------------
 * 3x3 convolutions: depthwise (forward, fused forward, input and weight gradients) and full */

enum { DW_FWD, DW_FWD_BA, DW_BWD_DATA, DW_BWD_FILTER, CONV_FWD, CONV_BWD_FILTER };

typedef struct conv_shape {
    size_t h, w, cin, cout, s, ho, wo;
} conv_shape;

/* One call of op on rows [y0, y1) of t's kernel; io is the output (or accumulated gradient). */
static void conv_call(const mnv2_kernels *t, int op, const conv_shape *g, const float *x, const float *wt,
                      const float *bias, float lo, float hi, float *io, size_t y0, size_t y1)
{
    switch (op) {
    case DW_FWD: t->dw3x3_fwd(x, g->h, g->w, g->cin, wt, io, g->ho, g->wo, g->s, y0, y1); break;
    case DW_FWD_BA:
        t->dw3x3_fwd_bias_act(x, g->h, g->w, g->cin, wt, bias, lo, hi, io, g->ho, g->wo, g->s, y0, y1);
        break;
    case DW_BWD_DATA: t->dw3x3_bwd_data(x, g->ho, g->wo, g->cin, wt, io, g->h, g->w, g->s, y0, y1); break;
    case DW_BWD_FILTER: t->dw3x3_bwd_filter(x, g->h, g->w, g->cin, wt, g->ho, g->wo, g->s, y0, y1, io); break;
    case CONV_FWD: t->conv3x3_fwd(x, g->h, g->w, g->cin, wt, io, g->ho, g->wo, g->cout, g->s, y0, y1); break;
    default: t->conv3x3_bwd_filter(x, g->h, g->w, g->cin, wt, g->ho, g->wo, g->cout, g->s, y0, y1, io); break;
    }
}

/* Buffers: x is the first array argument (in, or dout for the input gradient), wt the second
 * (weights, or dout for the weight gradients), io the output. */
static void conv_case(const mnv2_kernels *t, int op, size_t h, size_t w, size_t cin, size_t cout, size_t s,
                      size_t y0, size_t y1, float lo, float hi)
{
    static const char *names[] = {"dw3x3_fwd", "dw3x3_fwd_bias_act", "dw3x3_bwd_data", "dw3x3_bwd_filter",
                                  "conv3x3_fwd", "conv3x3_bwd_filter"};
    const int dw = op <= DW_BWD_FILTER, filter = op == DW_BWD_FILTER || op == CONV_BWD_FILTER;
    conv_shape g = {h, w, cin, dw ? cin : cout, s, (h - 1) / s + 1, (w - 1) / s + 1};
    char extra[64] = "";
    if (op == DW_FWD_BA)
        snprintf(extra, sizeof extra, " lo=%g hi=%g", (double)lo, (double)hi);
    else if (!dw)
        snprintf(extra, sizeof extra, " cout=%zu", g.cout);
    CASE("%s h=%zu w=%zu c=%zu stride=%zu rows [%zu,%zu)%s", names[op], h, w, g.cin, s, y0, y1, extra);
    const size_t in_n = h * w * g.cin, out_n = g.ho * g.wo * g.cout, wt_n = 9 * g.cin * (dw ? 1 : g.cout);
    size_t x_n, a_n, io_n, io_row, k;
    if (op == DW_BWD_DATA)
        x_n = out_n, a_n = wt_n, io_n = in_n, io_row = w * g.cin, k = 9;
    else if (filter)
        x_n = in_n, a_n = out_n, io_n = wt_n, io_row = 0, k = (y1 - y0) * g.wo + 1;
    else
        x_n = in_n, a_n = wt_n, io_n = out_n, io_row = g.wo * g.cout, k = dw ? 9 + (op == DW_FWD_BA) : 9 * g.cin;
    buf x = buf_rand(x_n, -1.0f, 1.0f), a = buf_rand(a_n, -1.0f, 1.0f), bias = buf_rand(g.cin, -1.0f, 1.0f);
    buf io0 = filter ? buf_rand(io_n, -1.0f, 1.0f) : buf_unset(io_n);
    buf x0 = buf_clone(&x), a0 = buf_clone(&a), bias0 = buf_clone(&bias);
    buf ref = buf_clone(&io0), got = buf_clone(&io0);
    conv_call(scalar, op, &g, x.p, a.p, bias.p, lo, hi, ref.p, y0, y1);
    conv_call(t, op, &g, x.p, a.p, bias.p, lo, hi, got.p, y0, y1);
    const double tol = TOL_SUM * sqrt((double)k);
    if (filter)
        check_all("dwt", &ref, &got, tol);
    else
        check_region(op == DW_BWD_DATA ? "din" : "out", &ref, &got, y0 * io_row, y1 - y0, io_row, io_row, tol);
    if (op == DW_FWD_BA && io_n) {
        float *pre = malloc(io_n * sizeof(float));
        assert_non_null(pre);
        scalar->dw3x3_fwd(x.p, h, w, g.cin, a.p, pre, g.ho, g.wo, s, y0, y1);
        for (size_t i = y0 * io_row; i < y1 * io_row; i++)
            pre[i] += bias.p[i % g.cin];
        check_clamped("out", pre + y0 * io_row, &got, y0 * io_row, y1 - y0, io_row, io_row, lo, hi, tol);
        free(pre);
    }
    check_unchanged(op == DW_BWD_DATA ? "dout" : "in", &x0, &x);
    check_unchanged(filter ? "dout" : "wt", &a0, &a);
    if (op == DW_FWD_BA)
        check_unchanged("bias", &bias0, &bias);
    /* Determinism: rows [y0, ym) then [ym, y1) against one call. Bit for bit where rows are
     * written; the weight gradients (never split into one slot by the engine, and free to sum
     * in registers before adding to dwt) within the tolerance. */
    if (y1 - y0 >= 2) {
        const size_t ym = y0 + (y1 - y0) / 2;
        buf sp = buf_clone(&io0);
        conv_call(t, op, &g, x.p, a.p, bias.p, lo, hi, sp.p, y0, ym);
        conv_call(t, op, &g, x.p, a.p, bias.p, lo, hi, sp.p, ym, y1);
        char what[64];
        snprintf(what, sizeof what, "rows split at %zu", ym);
        if (filter)
            check_all(what, &got, &sp, tol);
        else
            check_identical(what, &got, &sp);
        buf_free(&sp);
    }
    buf *all[] = {&x, &a, &bias, &io0, &x0, &a0, &bias0, &ref, &got};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        buf_free(all[i]);
}

/* Each shape over the whole image and over sub-ranges of rows (rows of the output, or of the
 * input for the input gradient), and once over an empty range. */
static void conv_ranges(const mnv2_kernels *t, int op, size_t h, size_t w, size_t cin, size_t cout, size_t s,
                        float lo, float hi)
{
    const size_t rows = op == DW_BWD_DATA ? h : (h - 1) / s + 1;
    conv_case(t, op, h, w, cin, cout, s, 0, rows, lo, hi);
    if (rows >= 2)
        conv_case(t, op, h, w, cin, cout, s, rows / 2, rows, lo, hi);
    if (rows >= 3)
        conv_case(t, op, h, w, cin, cout, s, 1, rows - 1, lo, hi);
}

static void check_dw(const mnv2_kernels *t, int op)
{
    static const size_t hw[][2] = {{1, 1}, {2, 3}, {3, 2}, {5, 7}, {8, 8}, {16, 16}};
    static const size_t cs[] = {1, 3, 4, 7, 8, 9, 15, 16, 17, 31, 33, 64, 100};
    static const float clamps[][2] = {{0.0f, 6.0f}, {-INFINITY, INFINITY}, {-0.25f, 0.5f}};
    unsigned v = 0;
    for (size_t i = 0; i < sizeof hw / sizeof hw[0]; i++)
        for (size_t j = 0; j < sizeof cs / sizeof cs[0]; j++)
            for (size_t s = 1; s <= 2; s++, v++)
                conv_ranges(t, op, hw[i][0], hw[i][1], cs[j], 0, s, clamps[v % 3][0], clamps[v % 3][1]);
    /* Layer shapes of the model. */
    conv_ranges(t, op, 16, 16, 192, 0, 1, 0.0f, 6.0f);
    conv_ranges(t, op, 16, 16, 384, 0, 2, 0.0f, 6.0f);
    conv_ranges(t, op, 8, 8, 960, 0, 1, 0.0f, 6.0f);
    conv_ranges(t, op, 7, 7, 960, 0, 2, 0.0f, 6.0f);
    conv_case(t, op, 5, 7, 9, 0, 1, 2, 2, 0.0f, 6.0f); /* empty range: nothing written */
}

static void check_dw3x3_fwd(const mnv2_kernels *t) { check_dw(t, DW_FWD); }
static void check_dw3x3_fwd_bias_act(const mnv2_kernels *t) { check_dw(t, DW_FWD_BA); }
static void check_dw3x3_bwd_data(const mnv2_kernels *t) { check_dw(t, DW_BWD_DATA); }
static void check_dw3x3_bwd_filter(const mnv2_kernels *t) { check_dw(t, DW_BWD_FILTER); }

static void check_conv(const mnv2_kernels *t, int op)
{
    static const size_t hw[][2] = {{1, 1}, {2, 3}, {5, 7}, {8, 8}, {17, 17}};
    static const size_t cins[] = {1, 3, 4};
    static const size_t couts[] = {1, 3, 8, 16, 17, 32, 33};
    for (size_t i = 0; i < sizeof hw / sizeof hw[0]; i++)
        for (size_t a = 0; a < sizeof cins / sizeof cins[0]; a++)
            for (size_t b = 0; b < sizeof couts / sizeof couts[0]; b++)
                for (size_t s = 1; s <= 2; s++)
                    conv_ranges(t, op, hw[i][0], hw[i][1], cins[a], couts[b], s, 0.0f, 0.0f);
    conv_ranges(t, op, 32, 32, 3, 32, 2, 0.0f, 0.0f); /* the stem */
}

static void check_conv3x3_fwd(const mnv2_kernels *t) { check_conv(t, CONV_FWD); }
static void check_conv3x3_bwd_filter(const mnv2_kernels *t) { check_conv(t, CONV_BWD_FILTER); }

/* ---------------------------------------------------------------------------------------------
 * Batch norm */

static const size_t bn_rows[] = {1, 2, 7, 64, MNV2_REDUCE_CHUNK};
static const size_t bn_cs[] = {1, 3, 4, 7, 8, 9, 15, 16, 17, 31, 33, 64, 100, 384};

/* The ReLU6 mask of the backward kernels: MASK_OFF passes NULL; MASK_ON draws mscale (|s| in
 * [1, 6], either sign) and mshift (in [-3, 9]) for about a quarter of t = z * s + h below 0, half
 * in (0, 6) and a quarter above 6, redraws z where t is within 1e-4 of 0 or 6, and (c > 1) gives
 * the last channel s = 1, h = 0 and z from mask_special (t = z exactly); MASK_EDGE puts t of every
 * other row within the rounding of 0 (even channels: h = -fl(z0 * s)) or 6 (odd: h = 6 - fl(z0 * s))
 * and is only compared with the level's own kernels. */
enum { MASK_OFF, MASK_ON, MASK_EDGE };
static const char *const mask_names[] = {"", " masked", " masked at the edges"};
static const float mask_special[] = {0.0f, -0.0f, 6.0f, 5.9999995f, 6.0000005f, 1e-45f, -1e-45f, 3.0f,
                                     NAN,  INFINITY, -INFINITY, -3.0f, 1e-30f, 6.0f, 0.0f, 2.0f};
static size_t mask_seen[3]; /* MASK_ON random t: below 0, in (0, 6), above 6 */

static void mask_inputs(int mode, size_t rows, size_t c, buf *z, buf *ms, buf *mh)
{
    *ms = buf_rand(c, 1.0f, 6.0f), *mh = buf_rand(c, -3.0f, 9.0f);
    for (size_t ch = 0; ch < c; ch++) {
        const float s = ms->p[ch] = urand() < 0.5 ? -ms->p[ch] : ms->p[ch];
        if (mode == MASK_ON && c > 1 && ch == c - 1) {
            ms->p[ch] = 1.0f, mh->p[ch] = 0.0f;
            for (size_t r = 0; r < rows; r++)
                z->p[r * c + ch] = mask_special[(r + c) % (sizeof mask_special / sizeof mask_special[0])];
        } else if (mode == MASK_ON) {
            const double h = mh->p[ch];
            for (size_t r = 0; r < rows; r++) {
                float *zr = &z->p[r * c + ch];
                double tt = (double)*zr * s + h;
                while (fabs(tt) < 1e-4 || fabs(tt - 6.0) < 1e-4)
                    *zr = frand(-1.0f, 1.0f), tt = (double)*zr * s + h;
                mask_seen[tt <= 0.0 ? 0 : tt < 6.0 ? 1 : 2]++;
            }
        } else if (mode == MASK_EDGE) {
            const float z0 = frand(-1.0f, 1.0f), p = z0 * s; /* p rounded to float */
            mh->p[ch] = ch % 2 ? 6.0f - p : -p;
            for (size_t r = 0; r < rows; r += 2)
                z->p[r * c + ch] = z0;
        }
    }
}

/* The MASK_ON inputs must have covered the three parts of the ReLU6. */
static void check_mask_seen(void)
{
    const size_t n = mask_seen[0] + mask_seen[1] + mask_seen[2];
    for (int i = 0; i < 3; i++)
        if (mask_seen[i] < n / 8)
            failf("the mask inputs put only %zu of %zu values %s", mask_seen[i], n,
                  i == 0 ? "below 0" : i == 1 ? "in (0, 6)" : "above 6");
    mask_seen[0] = mask_seen[1] = mask_seen[2] = 0;
}

/* dy with 0 where the ReLU6 of the level's own bn_apply(z, ms, mh) has no gradient. */
static buf own_mask(const mnv2_kernels *t, const buf *dy, const buf *z, size_t rows, size_t c, const buf *ms,
                    const buf *mh)
{
    buf y = buf_unset(rows * c), d = buf_clone(dy);
    t->bn_apply(z->p, rows, c, ms->p, mh->p, 0.0f, 6.0f, y.p);
    for (size_t i = 0; i < rows * c; i++)
        if (!(y.p[i] > 0.0f && y.p[i] < 6.0f))
            d.p[i] = 0.0f;
    buf_free(&y);
    return d;
}

static void sums_case(const mnv2_kernels *t, int bwd, size_t rows, size_t c, int centered, int mask)
{
    CASE("%s rows=%zu c=%zu%s%s", bwd ? "bn_bwd_reduce" : "bn_moments", rows, c, centered ? " centered" : "",
         mask_names[mask]);
    buf x = buf_rand(rows * c, -1.0f, 1.0f), z = buf_rand(rows * c, -1.0f, 1.0f), m = buf_rand(c, -0.5f, 0.5f);
    buf ms, mh;
    mask_inputs(mask, rows, c, &z, &ms, &mh);
    const float *msp = mask ? ms.p : NULL, *mhp = mask ? mh.p : NULL;
    buf x0 = buf_clone(&x), z0 = buf_clone(&z), m0 = buf_clone(&m), ms0 = buf_clone(&ms), mh0 = buf_clone(&mh);
    buf r1 = buf_unset(c), r2 = buf_unset(c), g1 = buf_unset(c), g2 = buf_unset(c);
    if (bwd) {
        scalar->bn_bwd_reduce(x.p, z.p, rows, c, m.p, msp, mhp, r1.p, r2.p);
        t->bn_bwd_reduce(x.p, z.p, rows, c, m.p, msp, mhp, g1.p, g2.p);
    } else {
        scalar->bn_moments(x.p, rows, c, centered ? m.p : NULL, r1.p, r2.p);
        t->bn_moments(x.p, rows, c, centered ? m.p : NULL, g1.p, g2.p);
    }
    const double tol = TOL_SUM * sqrt((double)rows);
    if (mask != MASK_EDGE) {
        check_all(bwd ? "sdy" : "s1", &r1, &g1, tol);
        check_all(bwd ? "sdyz" : "s2", &r2, &g2, tol);
    }
    if (mask) {
        buf d = own_mask(t, &x, &z, rows, c, &ms, &mh), e1 = buf_unset(c), e2 = buf_unset(c);
        t->bn_bwd_reduce(d.p, z.p, rows, c, m.p, NULL, NULL, e1.p, e2.p);
        check_all("sdy against the unmasked kernel on dy masked by bn_apply", &e1, &g1, 0.0);
        check_all("sdyz against the unmasked kernel on dy masked by bn_apply", &e2, &g2, 0.0);
        buf_free(&d), buf_free(&e1), buf_free(&e2);
    }
    check_unchanged(bwd ? "dy" : "x", &x0, &x);
    check_unchanged("mean", &m0, &m);
    if (bwd) {
        check_unchanged("z", &z0, &z);
        check_unchanged("mscale", &ms0, &ms);
        check_unchanged("mshift", &mh0, &mh);
    }
    buf *all[] = {&x, &z, &m, &ms, &mh, &x0, &z0, &m0, &ms0, &mh0, &r1, &r2, &g1, &g2};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        buf_free(all[i]);
}

static void check_bn_moments(const mnv2_kernels *t)
{
    for (size_t i = 0; i < sizeof bn_rows / sizeof bn_rows[0]; i++)
        for (size_t j = 0; j < sizeof bn_cs / sizeof bn_cs[0]; j++)
            for (int centered = 0; centered < 2; centered++)
                sums_case(t, 0, bn_rows[i], bn_cs[j], centered, MASK_OFF);
}

static void check_bn_bwd_reduce(const mnv2_kernels *t)
{
    for (size_t i = 0; i < sizeof bn_rows / sizeof bn_rows[0]; i++)
        for (size_t j = 0; j < sizeof bn_cs / sizeof bn_cs[0]; j++)
            for (int mask = MASK_OFF; mask <= MASK_EDGE; mask++)
                sums_case(t, 1, bn_rows[i], bn_cs[j], 1, mask);
    check_mask_seen();
}

/* bn_apply (bwd = 0) or bn_bwd_apply (bwd = 1, with the mask inputs of mask_inputs), out of place
 * and in place (y == x, dz == dy). */
static void apply_case(const mnv2_kernels *t, int bwd, size_t rows, size_t c, float lo, float hi, int nan, int mask)
{
    if (bwd)
        CASE("bn_bwd_apply rows=%zu c=%zu%s%s", rows, c, mask_names[mask], nan ? " (NaN inputs)" : "");
    else
        CASE("bn_apply rows=%zu c=%zu lo=%g hi=%g%s", rows, c, (double)lo, (double)hi, nan ? " (NaN inputs)" : "");
    buf x = buf_rand(rows * c, -4.0f, 4.0f), z = buf_rand(rows * c, -1.0f, 1.0f);
    buf p1 = buf_rand(c, -2.0f, 2.0f), p2 = buf_rand(c, -1.0f, 1.0f), p3 = buf_rand(c, -1.0f, 1.0f);
    buf ms, mh;
    mask_inputs(mask, rows, c, &z, &ms, &mh);
    const float *msp = mask ? ms.p : NULL, *mhp = mask ? mh.p : NULL;
    if (nan)
        for (size_t i = 0; i < rows * c; i += 5)
            x.p[i] = NAN;
    buf x0 = buf_clone(&x), z0 = buf_clone(&z), q1 = buf_clone(&p1), q2 = buf_clone(&p2), q3 = buf_clone(&p3);
    buf ms0 = buf_clone(&ms), mh0 = buf_clone(&mh);
    buf ref = buf_unset(rows * c), got = buf_unset(rows * c), inpl = buf_clone(&x);
    if (bwd) {
        scalar->bn_bwd_apply(x.p, z.p, rows, c, p1.p, p2.p, p3.p, msp, mhp, ref.p);
        t->bn_bwd_apply(x.p, z.p, rows, c, p1.p, p2.p, p3.p, msp, mhp, got.p);
        t->bn_bwd_apply(inpl.p, z.p, rows, c, p1.p, p2.p, p3.p, msp, mhp, inpl.p);
        if (mask) {
            buf d = own_mask(t, &x, &z, rows, c, &ms, &mh), e = buf_unset(rows * c);
            t->bn_bwd_apply(d.p, z.p, rows, c, p1.p, p2.p, p3.p, NULL, NULL, e.p);
            check_all("dz against the unmasked kernel on dy masked by bn_apply", &e, &got, 0.0);
            buf_free(&d), buf_free(&e);
        }
    } else {
        scalar->bn_apply(x.p, rows, c, p1.p, p2.p, lo, hi, ref.p);
        t->bn_apply(x.p, rows, c, p1.p, p2.p, lo, hi, got.p);
        t->bn_apply(inpl.p, rows, c, p1.p, p2.p, lo, hi, inpl.p);
    }
    if (mask != MASK_EDGE)
        check_all(bwd ? "dz" : "y", &ref, &got, TOL_ELEM);
    if (!bwd && rows * c > 0) {
        float *pre = malloc(rows * c * sizeof(float));
        assert_non_null(pre);
        for (size_t i = 0; i < rows * c; i++)
            pre[i] = (float)((double)x.p[i] * p1.p[i % c] + p2.p[i % c]);
        check_clamped("y", pre, &got, 0, rows, c, c, lo, hi, TOL_ELEM);
        free(pre);
    }
    check_identical("in place", &got, &inpl);
    check_unchanged(bwd ? "dy" : "x", &x0, &x);
    check_unchanged(bwd ? "a" : "scale", &q1, &p1);
    check_unchanged(bwd ? "b" : "shift", &q2, &p2);
    if (bwd) {
        check_unchanged("z", &z0, &z);
        check_unchanged("k", &q3, &p3);
        check_unchanged("mscale", &ms0, &ms);
        check_unchanged("mshift", &mh0, &mh);
    }
    buf *all[] = {&x, &z, &p1, &p2, &p3, &ms, &mh, &x0, &z0, &q1, &q2, &q3, &ms0, &mh0, &ref, &got, &inpl};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        buf_free(all[i]);
}

static const size_t apply_rows[] = {1, 3, 16};

static void check_bn_apply(const mnv2_kernels *t)
{
    static const float clamps[][2] = {{0.0f, 6.0f}, {-INFINITY, INFINITY}, {-0.25f, 0.5f}};
    for (size_t i = 0; i < sizeof apply_rows / sizeof apply_rows[0]; i++)
        for (size_t j = 0; j < sizeof bn_cs / sizeof bn_cs[0]; j++)
            for (size_t l = 0; l < 3; l++)
                apply_case(t, 0, apply_rows[i], bn_cs[j], clamps[l][0], clamps[l][1], 0, MASK_OFF);
    for (size_t j = 0; j < 4; j++)
        apply_case(t, 0, 3, bn_cs[j * 3 + 1], 0.0f, 6.0f, 1, MASK_OFF);
}

static void check_bn_bwd_apply(const mnv2_kernels *t)
{
    for (size_t i = 0; i < sizeof apply_rows / sizeof apply_rows[0]; i++)
        for (size_t j = 0; j < sizeof bn_cs / sizeof bn_cs[0]; j++)
            for (int mask = MASK_OFF; mask <= MASK_EDGE; mask++)
                apply_case(t, 1, apply_rows[i], bn_cs[j], 0.0f, 0.0f, 0, mask);
    for (size_t j = 0; j < 4; j++)
        for (int mask = MASK_OFF; mask <= MASK_ON; mask++)
            apply_case(t, 1, 3, bn_cs[j * 3 + 1], 0.0f, 0.0f, 1, mask);
    check_mask_seen();
}

/* ---------------------------------------------------------------------------------------------
 * Element-wise kernels and optimizers */

static const size_t el_ns[] = {0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 1000, 4099};

static void add_case(const mnv2_kernels *t, size_t n)
{
    CASE("add n=%zu", n);
    buf x = buf_rand(n, -1.0f, 1.0f), y = buf_rand(n, -1.0f, 1.0f);
    buf x0 = buf_clone(&x), ref = buf_clone(&y), got = buf_clone(&y);
    scalar->add(ref.p, x.p, n);
    t->add(got.p, x.p, n);
    check_all("y", &ref, &got, 0.0);
    check_unchanged("x", &x0, &x);
    buf *all[] = {&x, &y, &x0, &ref, &got};
    for (size_t j = 0; j < 5; j++)
        buf_free(all[j]);
}

static void check_add(const mnv2_kernels *t)
{
    for (size_t i = 0; i < sizeof el_ns / sizeof el_ns[0]; i++)
        add_case(t, el_ns[i]);
}

/* mode: 0 no weight decay, 1 L2, 2 decoupled */
static void adam_case(const mnv2_kernels *t, size_t n, int mode)
{
    const float b1 = 0.9f, b2 = 0.999f, bc1 = 1.0f - powf(b1, 3.0f), bc2 = 1.0f - powf(b2, 3.0f);
    const float wd = mode ? 0.01f : 0.0f;
    CASE("adam n=%zu wd=%g decoupled=%d", n, (double)wd, mode == 2);
    buf p = buf_rand(n, -1.0f, 1.0f), g = buf_rand(n, -1.0f, 1.0f), m = buf_rand(n, -0.5f, 0.5f),
        v = buf_rand(n, 0.0f, 0.5f);
    buf g0 = buf_clone(&g), rp = buf_clone(&p), rm = buf_clone(&m), rv = buf_clone(&v);
    buf gp = buf_clone(&p), gm = buf_clone(&m), gv = buf_clone(&v);
    scalar->adam(rp.p, g.p, rm.p, rv.p, n, 1e-3f, b1, b2, 1e-7f, bc1, bc2, wd, mode == 2);
    t->adam(gp.p, g.p, gm.p, gv.p, n, 1e-3f, b1, b2, 1e-7f, bc1, bc2, wd, mode == 2);
    check_all("p", &rp, &gp, TOL_ELEM);
    check_all("m", &rm, &gm, TOL_ELEM);
    check_all("v", &rv, &gv, TOL_ELEM);
    check_unchanged("g", &g0, &g);
    buf *all[] = {&p, &g, &m, &v, &g0, &rp, &rm, &rv, &gp, &gm, &gv};
    for (size_t j = 0; j < sizeof all / sizeof all[0]; j++)
        buf_free(all[j]);
}

static void check_adam(const mnv2_kernels *t)
{
    for (size_t i = 0; i < sizeof el_ns / sizeof el_ns[0]; i++)
        for (int mode = 0; mode < 3; mode++)
            adam_case(t, el_ns[i], mode);
}

static void sgd_case(const mnv2_kernels *t, size_t n, int nesterov)
{
    CASE("sgd n=%zu nesterov=%d", n, nesterov);
    buf p = buf_rand(n, -1.0f, 1.0f), g = buf_rand(n, -1.0f, 1.0f), b = buf_rand(n, -1.0f, 1.0f);
    buf g0 = buf_clone(&g), rp = buf_clone(&p), rb = buf_clone(&b), gp = buf_clone(&p), gb = buf_clone(&b);
    scalar->sgd(rp.p, g.p, rb.p, n, 0.05f, 0.9f, nesterov, 4e-5f);
    t->sgd(gp.p, g.p, gb.p, n, 0.05f, 0.9f, nesterov, 4e-5f);
    check_all("p", &rp, &gp, TOL_ELEM);
    check_all("buf", &rb, &gb, TOL_ELEM);
    check_unchanged("g", &g0, &g);
    buf *all[] = {&p, &g, &b, &g0, &rp, &rb, &gp, &gb};
    for (size_t j = 0; j < sizeof all / sizeof all[0]; j++)
        buf_free(all[j]);
}

static void check_sgd(const mnv2_kernels *t)
{
    for (size_t i = 0; i < sizeof el_ns / sizeof el_ns[0]; i++)
        for (int nesterov = 0; nesterov < 2; nesterov++)
            sgd_case(t, el_ns[i], nesterov);
}

/* ---------------------------------------------------------------------------------------------
 * The engine's own calls. A model of each preset in engine_runs[] is created on one thread, its
 * kernel table replaced by recorders that note each call's shape and compute nothing (every shape
 * follows from the plan, never from the data: the arena starts zeroed, so the passes run on zeros
 * and succeed), and run through two training steps (forward, backward, Adam, then SGD) and an
 * inference. Every distinct (kernel, shape) is then checked against scalar at every level like the
 * shapes above.
 * On more threads the engine calls the same kernels on sub-ranges of these calls (rows, column
 * blocks, bands: the split checks above and test_threads hold those to the same bits). Dimensions
 * along which no output is a sum are cut to a few rows or values (the split checks show no output
 * depends on them): m of the matrix products, the rows of bn_apply and bn_bwd_apply, n of add,
 * adam and sgd; everything a sum runs over (k of the products, the rows of the batch-norm
 * reductions and weight gradients) is the engine's. */

/* The presets at the batches the tests and the benchmark run them: reduced (32x32) at 32, its
 * default (test_learning, --bench), and at 1; standard (224x224) at 1. Together they give the
 * 1x1 weight gradients sums over 1 (the classifier's, over the batch) to 3136 rows and the
 * batch-norm reductions 8 to 672 rows (chunks of up to 256, bands beyond). */
static const struct engine_run {
    int32_t preset;
    uint32_t batch;
    const char *name;
} engine_runs[] = {
    {MNV2_PRESET_REDUCED, 32, "reduced, batch 32"},
    {MNV2_PRESET_REDUCED, 1, "reduced, batch 1"},
    {MNV2_PRESET_STANDARD, 1, "standard, batch 1"},
};

enum { CUT_M = 16, CUT_ROWS = 17, CUT_N = 4096 };

/* A recorded call: the kernel, its sizes (products: m, n, k; convolutions: h, w, cin, cout,
 * stride, y0, y1, ho; the others: rows or n, then c), the flag that selects a path (acc, centre
 * given, ReLU6 mask given, weight decay mode, nesterov) and the clamp bounds; run is the
 * engine_runs[] entry that first made it. */
typedef struct ecall {
    int kernel, flag, run;
    size_t d[8];
    float lo, hi;
} ecall;

static ecall *ecalls;
static size_t n_ecalls, cap_ecalls;
static int rec_run;

static void rec(int kernel, int flag, float lo, float hi, size_t d0, size_t d1, size_t d2, size_t d3, size_t d4,
                size_t d5, size_t d6, size_t d7)
{
    const ecall e = {kernel, flag, rec_run, {d0, d1, d2, d3, d4, d5, d6, d7}, lo, hi};
    for (size_t i = 0; i < n_ecalls; i++) {
        const ecall *o = &ecalls[i];
        if (o->kernel == kernel && o->flag == flag && !memcmp(o->d, e.d, sizeof e.d) && same(o->lo, lo) &&
            same(o->hi, hi))
            return;
    }
    if (n_ecalls == cap_ecalls) {
        cap_ecalls = cap_ecalls ? 2 * cap_ecalls : 256;
        ecalls = realloc(ecalls, cap_ecalls * sizeof *ecalls);
        if (!ecalls)
            abort();
    }
    ecalls[n_ecalls++] = e;
}

static size_t cut(size_t v, size_t most) { return v < most ? v : most; }
/* n of the element-wise kernels: at most CUT_N, with the engine's remainder modulo 64 (the tail
 * of every vector width). */
static size_t cut_n(size_t n) { return n <= CUT_N ? n : CUT_N + n % 64; }

static void rec_gemm_nn(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *b, size_t ldb, float *c,
                        size_t ldc, int acc)
{
    rec(K_gemm_nn, acc, 0, 0, cut(m, CUT_M), n, k, 0, 0, 0, 0, 0);
}
static void rec_gemm_nt(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *b, size_t ldb, float *c,
                        size_t ldc, int acc)
{
    rec(K_gemm_nt, acc, 0, 0, cut(m, CUT_M), n, k, 0, 0, 0, 0, 0);
}
static void rec_gemm_tn(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *b, size_t ldb, float *c,
                        size_t ldc, int acc)
{
    rec(K_gemm_tn, acc, 0, 0, cut(m, CUT_M), n, k, 0, 0, 0, 0, 0);
}
static void rec_gemm_nn_bias_act(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *b,
                                 size_t ldb, float *c, size_t ldc, const float *bias, float lo, float hi)
{
    rec(K_gemm_nn_bias_act, 0, lo, hi, cut(m, CUT_M), n, k, 0, 0, 0, 0, 0);
}
static void rec_gemm_nn_bias_act_packed(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *bp,
                                        float *c, size_t ldc, const float *bias, float lo, float hi)
{
    rec(K_gemm_nn_bias_act_packed, 0, lo, hi, cut(m, CUT_M), n, k, 0, 0, 0, 0, 0);
}
/* The 3x3 convolutions: (h, w, cin, cout, stride, y0, y1, ho). */
static void rec_dw3x3_fwd(const float *in, size_t h, size_t w, size_t c, const float *wt, float *out, size_t ho,
                          size_t wo, size_t stride, size_t y0, size_t y1)
{
    rec(K_dw3x3_fwd, 0, 0, 0, h, w, c, c, stride, y0, y1, ho);
}
static void rec_dw3x3_fwd_bias_act(const float *in, size_t h, size_t w, size_t c, const float *wt, const float *bias,
                                   float lo, float hi, float *out, size_t ho, size_t wo, size_t stride, size_t y0,
                                   size_t y1)
{
    rec(K_dw3x3_fwd_bias_act, 0, lo, hi, h, w, c, c, stride, y0, y1, ho);
}
/* The input gradient of a band's input rows [y0, y1) of a whole image (the training backward) is
 * recorded on a shorter image that computes every one of those rows the same way: the rows above
 * y0 - 1 cut in multiples of the stride (y0 keeps its residue and stays off the top edge unless
 * it is on it), and unless the band ends the image, the rows below y1 + s (the output rows it
 * reads stay inside the map). So the bands in the middle of an image are one shape. */
static void rec_dw3x3_bwd_data(const float *dout, size_t ho, size_t wo, size_t c, const float *wt, float *din,
                               size_t h, size_t w, size_t stride, size_t y0, size_t y1)
{
    const size_t top = y0 > stride ? stride * ((y0 - 1) / stride) : 0;
    size_t hh = h - top;
    if (y1 < h && y1 - top + stride + 1 < hh)
        hh = y1 - top + stride + 1;
    rec(K_dw3x3_bwd_data, 0, 0, 0, hh, w, c, c, stride, y0 - top, y1 - top, (hh - 1) / stride + 1);
}
static void rec_dw3x3_bwd_filter(const float *in, size_t h, size_t w, size_t c, const float *dout, size_t ho,
                                 size_t wo, size_t stride, size_t y0, size_t y1, float *dwt)
{
    rec(K_dw3x3_bwd_filter, 0, 0, 0, h, w, c, c, stride, y0, y1, ho);
}
static void rec_conv3x3_fwd(const float *in, size_t h, size_t w, size_t cin, const float *wt, float *out, size_t ho,
                            size_t wo, size_t cout, size_t stride, size_t y0, size_t y1)
{
    rec(K_conv3x3_fwd, 0, 0, 0, h, w, cin, cout, stride, y0, y1, ho);
}
static void rec_conv3x3_bwd_filter(const float *in, size_t h, size_t w, size_t cin, const float *dout, size_t ho,
                                   size_t wo, size_t cout, size_t stride, size_t y0, size_t y1, float *dwt)
{
    rec(K_conv3x3_bwd_filter, 0, 0, 0, h, w, cin, cout, stride, y0, y1, ho);
}
static void rec_bn_moments(const float *x, size_t rows, size_t c, const float *center, float *s1, float *s2)
{
    rec(K_bn_moments, center != NULL, 0, 0, rows, c, 0, 0, 0, 0, 0, 0);
}
static void rec_bn_apply(const float *x, size_t rows, size_t c, const float *scale, const float *shift, float lo,
                         float hi, float *y)
{
    rec(K_bn_apply, 0, lo, hi, cut(rows, CUT_ROWS), c, 0, 0, 0, 0, 0, 0);
}
static void rec_bn_bwd_reduce(const float *dy, const float *z, size_t rows, size_t c, const float *mean,
                              const float *mscale, const float *mshift, float *sdy, float *sdyz)
{
    rec(K_bn_bwd_reduce, mscale != NULL, 0, 0, rows, c, 0, 0, 0, 0, 0, 0);
}
static void rec_bn_bwd_apply(const float *dy, const float *z, size_t rows, size_t c, const float *a, const float *b,
                             const float *k, const float *mscale, const float *mshift, float *dz)
{
    rec(K_bn_bwd_apply, mscale != NULL, 0, 0, cut(rows, CUT_ROWS), c, 0, 0, 0, 0, 0, 0);
}
static void rec_add(float *y, const float *x, size_t n) { rec(K_add, 0, 0, 0, cut_n(n), 0, 0, 0, 0, 0, 0, 0); }
static void rec_adam(float *p, const float *g, float *m, float *v, size_t n, float lr, float beta1, float beta2,
                     float eps, float bc1, float bc2, float wd, int decoupled)
{
    rec(K_adam, wd == 0.0f ? 0 : decoupled ? 2 : 1, 0, 0, cut_n(n), 0, 0, 0, 0, 0, 0, 0);
}
static void rec_sgd(float *p, const float *g, float *mom, size_t n, float lr, float mu, int nesterov, float wd)
{
    rec(K_sgd, nesterov, 0, 0, cut_n(n), 0, 0, 0, 0, 0, 0, 0);
}

static const mnv2_kernels recorders = {
#define MNV2_KERNEL(name, params) .name = rec_##name,
#include "kernels/kernel_list.inc"
#undef MNV2_KERNEL
};

/* One run of engine_runs[]: a training step with Adam, one with SGD, then inference. */
static void record_run(int r)
{
    const struct engine_run *e = &engine_runs[r];
    mnv2_config *cfg = NULL;
    mnv2_model *m = NULL;
    rec_run = r;
    if (mnv2_config_create(e->preset, &cfg) != MNV2_OK || mnv2_config_set_int(cfg, MNV2_KEY_THREADS, 1) != MNV2_OK ||
        mnv2_config_set_int(cfg, MNV2_KEY_MAX_BATCH, e->batch) != MNV2_OK || mnv2_model_create(cfg, &m) != MNV2_OK) {
        printf("%s: cannot create the model: %s\n", e->name, mnv2_last_error());
        abort();
    }
    int64_t h = 0, w = 0, ch = 0;
    mnv2_config_get_int(cfg, MNV2_KEY_INPUT_HEIGHT, &h);
    mnv2_config_get_int(cfg, MNV2_KEY_INPUT_WIDTH, &w);
    mnv2_config_get_int(cfg, MNV2_KEY_INPUT_CHANNELS, &ch);
    mnv2_config_destroy(cfg);
    const size_t n = (size_t)e->batch * (size_t)(h * w * ch);
    float *x = calloc(n, sizeof *x);
    int32_t *y = calloc(e->batch, sizeof *y);
    if (!x || !y)
        abort();
    m->k = &recorders;
    int ok = 1;
    for (int opt = 0; opt < 2 && ok; opt++) {
        float loss;
        ok = mnv2_model_set_int(m, MNV2_KEY_OPTIMIZER, opt ? MNV2_OPTIMIZER_SGD : MNV2_OPTIMIZER_ADAM) == MNV2_OK &&
             mnv2_forward(m, x, n, e->batch, MNV2_MODE_TRAIN, NULL, 0) == MNV2_OK &&
             mnv2_backward(m, y, e->batch, &loss) == MNV2_OK && mnv2_step(m) == MNV2_OK;
    }
    if (!ok || mnv2_forward(m, x, n, e->batch, MNV2_MODE_INFER, NULL, 0) != MNV2_OK) {
        printf("%s: a pass failed: %s\n", e->name, mnv2_last_error());
        abort();
    }
    mnv2_model_destroy(m);
    free(x);
    free(y);
}

static void record_engine(void)
{
    for (int r = 0; r < (int)(sizeof engine_runs / sizeof engine_runs[0]); r++)
        record_run(r);
}

/* Every recorded call of one kernel on level t, checked as the shapes above are. */
static void check_engine(int kernel, const mnv2_kernels *t)
{
    int masked = 0;
    for (size_t i = 0; i < n_ecalls; i++) {
        const ecall *e = &ecalls[i];
        const size_t *d = e->d;
        const int bias_act = (e->kernel == K_gemm_nn_bias_act || e->kernel == K_gemm_nn_bias_act_packed) &&
                             (kernel == K_gemm_nn_bias_act || kernel == K_gemm_nn_bias_act_packed);
        if (e->kernel != kernel && !bias_act)
            continue;
        cur.origin = engine_runs[e->run].name;
        switch (kernel) {
        case K_gemm_nn: gemm_case(t, NN, d[0], d[1], d[2], 0, e->flag, 0.0f, 0.0f, 0); break;
        case K_gemm_nt: gemm_case(t, NT, d[0], d[1], d[2], 0, e->flag, 0.0f, 0.0f, 0); break;
        case K_gemm_tn: gemm_case(t, TN, d[0], d[1], d[2], 0, e->flag, 0.0f, 0.0f, 0); break;
        case K_gemm_nn_bias_act:
        case K_gemm_nn_bias_act_packed:
            /* The engine uses one or the other by level (mnv2__gemm_packed_pays): either one's
             * shapes check the unpacked product against scalar and the packed one against it. */
            gemm_case(t, NN_BIAS, d[0], d[1], d[2], 0, 0, e->lo, e->hi, 0);
            packed_case(t, d[0], d[1], d[2], 0, e->lo, e->hi, 0);
            break;
        case K_dw3x3_fwd:
        case K_dw3x3_fwd_bias_act:
        case K_dw3x3_bwd_data:
        case K_dw3x3_bwd_filter:
        case K_conv3x3_fwd:
        case K_conv3x3_bwd_filter: {
            static const int ops[] = {[K_dw3x3_fwd] = DW_FWD,           [K_dw3x3_fwd_bias_act] = DW_FWD_BA,
                                      [K_dw3x3_bwd_data] = DW_BWD_DATA, [K_dw3x3_bwd_filter] = DW_BWD_FILTER,
                                      [K_conv3x3_fwd] = CONV_FWD,       [K_conv3x3_bwd_filter] = CONV_BWD_FILTER};
            /* conv_case sizes the output as (h - 1) / s + 1 rows: the engine's tiles hold at least
             * the rows a call writes (the input gradient writes input rows). */
            const size_t h = d[0], s = d[4], y0 = d[5], y1 = d[6], rows = kernel == K_dw3x3_bwd_data ? h : (h - 1) / s + 1;
            if (y1 > rows || (kernel == K_dw3x3_bwd_data && d[7] != (h - 1) / s + 1)) {
                CASE("engine call h=%zu w=%zu c=%zu stride=%zu rows [%zu,%zu) ho=%zu", h, d[1], d[2], s, y0, y1, d[7]);
                failf("not a geometry conv_case can reproduce");
                break;
            }
            conv_case(t, ops[kernel], h, d[1], d[2], d[3], s, y0, y1, e->lo, e->hi);
            break;
        }
        case K_bn_moments:
        case K_bn_bwd_reduce: {
            const int bwd = kernel == K_bn_bwd_reduce;
            for (int mask = MASK_OFF; mask <= (bwd && e->flag ? MASK_EDGE : MASK_OFF); mask++) {
                sums_case(t, bwd, d[0], d[1], bwd || e->flag, mask);
                /* beyond a chunk (the bands' rows), a channel count that is no vector multiple too */
                if (d[0] > MNV2_REDUCE_CHUNK)
                    sums_case(t, bwd, d[0], 17, bwd || e->flag, mask);
            }
            masked |= bwd && e->flag;
            break;
        }
        case K_bn_apply: apply_case(t, 0, d[0], d[1], e->lo, e->hi, 0, MASK_OFF); break;
        case K_bn_bwd_apply:
            for (int mask = MASK_OFF; mask <= (e->flag ? MASK_EDGE : MASK_OFF); mask++)
                apply_case(t, 1, d[0], d[1], 0.0f, 0.0f, 0, mask);
            masked |= e->flag;
            break;
        case K_add: add_case(t, d[0]); break;
        case K_adam: adam_case(t, d[0], e->flag); break;
        default: sgd_case(t, d[0], e->flag); break;
        }
    }
    cur.origin = NULL;
    if (masked)
        check_mask_seen();
}

/* ---------------------------------------------------------------------------------------------
 * One cmocka test per kernel: every level against scalar. */

static void run_levels(int kernel, void (*check)(const mnv2_kernels *))
{
    int fails = 0;
    if (!n_levels)
        print_message("  %-20s no SIMD level on this machine or build\n", mnv2__kernel_names[kernel]);
    for (int l = 0; l < n_levels; l++) {
        const char *name = mnv2_isa_name(levels[l].isa);
        if (entry(levels[l].t, kernel) == entry(scalar, kernel)) {
            print_message("  %-20s %-7s scalar fallback\n", mnv2__kernel_names[kernel], name);
            continue;
        }
        int below = 0; /* the lowest level with this very kernel */
        while (entry(levels[below].t, kernel) != entry(levels[l].t, kernel))
            below++;
        if (below < l) {
            print_message("  %-20s %-7s the %s kernel (tested above)\n", mnv2__kernel_names[kernel], name,
                          mnv2_isa_name(levels[below].isa));
            continue;
        }
        cur.kernel = mnv2__kernel_names[kernel], cur.level = name, cur.fails = cur.cases = 0;
        rng_state = 0x9e3779b97f4a7c15u + (uint64_t)kernel;
        check(levels[l].t);
        check_engine(kernel, levels[l].t);
        print_message("  %-20s %-7s %5d cases, %s\n", cur.kernel, name, cur.cases, cur.fails ? "FAILED" : "ok");
        fails += cur.fails;
    }
    assert_int_equal(fails, 0);
}

#define MNV2_KERNEL(name, params)                                                                                      \
    static void test_##name(void **state)                                                                              \
    {                                                                                                                  \
        (void)state;                                                                                                   \
        run_levels(K_##name, check_##name);                                                                            \
    }
#include "kernels/kernel_list.inc"
#undef MNV2_KERNEL

/* ---------------------------------------------------------------------------------------------
 * --bench: the reduced model's layers at batch 32 (16x16 and 8x8 feature maps) */

enum { BATCH = 32 };

typedef struct bench {
    int kernel;
    const char *label;
    size_t p[4];
} bench;

/* 1x1 convolutions: (M, N, K) = (rows, Cout, Cin) forward; gemm_nt (rows, Cin, Cout) for the
 * input gradient; gemm_tn (Cin, Cout, rows) for the weight gradient. dw: (h, c, stride). Batch
 * norm: (rows, c), and for the backward kernels a third 1 for the ReLU6 mask. */
static const bench benches[] = {
    {K_gemm_nn, "expand 32->192 16x16", {8192, 192, 32}},
    {K_gemm_nn, "expand 64->384 16x16", {8192, 384, 64}},
    {K_gemm_nn, "project 384->64 16x16", {8192, 64, 384}},
    {K_gemm_nn, "expand 96->576 8x8", {2048, 576, 96}},
    {K_gemm_nn, "project 576->96 8x8", {2048, 96, 576}},
    {K_gemm_nn, "expand 160->960 8x8", {2048, 960, 160}},
    {K_gemm_nn, "project 960->160 8x8", {2048, 160, 960}},
    {K_gemm_nn, "head 160->256 8x8", {2048, 256, 160}},
    {K_gemm_nt, "dX expand 64->384", {8192, 64, 384}},
    {K_gemm_nt, "dX project 384->64", {8192, 384, 64}},
    {K_gemm_nt, "dX expand 160->960", {2048, 160, 960}},
    {K_gemm_nt, "dX project 960->160", {2048, 960, 160}},
    {K_gemm_tn, "dW expand 64->384", {64, 384, 8192}},
    {K_gemm_tn, "dW project 384->64", {384, 64, 8192}},
    {K_gemm_tn, "dW expand 160->960", {160, 960, 2048}},
    {K_gemm_tn, "dW project 960->160", {960, 160, 2048}},
    {K_gemm_nn_bias_act, "expand 64->384 16x16", {8192, 384, 64}},
    {K_gemm_nn_bias_act, "expand 160->960 8x8", {2048, 960, 160}},
    {K_gemm_nn_bias_act_packed, "expand 64->384 16x16", {8192, 384, 64}},
    {K_gemm_nn_bias_act_packed, "expand 160->960 8x8", {2048, 960, 160}},
    {K_dw3x3_fwd, "16x16 c=192 s1", {16, 192, 1}},
    {K_dw3x3_fwd, "16x16 c=384 s1", {16, 384, 1}},
    {K_dw3x3_fwd, "16x16 c=384 s2", {16, 384, 2}},
    {K_dw3x3_fwd, "8x8 c=576 s1", {8, 576, 1}},
    {K_dw3x3_fwd, "8x8 c=960 s1", {8, 960, 1}},
    {K_dw3x3_fwd_bias_act, "16x16 c=384 s1", {16, 384, 1}},
    {K_dw3x3_fwd_bias_act, "8x8 c=960 s1", {8, 960, 1}},
    {K_dw3x3_bwd_data, "16x16 c=384 s1", {16, 384, 1}},
    {K_dw3x3_bwd_data, "16x16 c=384 s2", {16, 384, 2}},
    {K_dw3x3_bwd_data, "8x8 c=960 s1", {8, 960, 1}},
    {K_dw3x3_bwd_filter, "16x16 c=384 s1", {16, 384, 1}},
    {K_dw3x3_bwd_filter, "16x16 c=384 s2", {16, 384, 2}},
    {K_dw3x3_bwd_filter, "8x8 c=960 s1", {8, 960, 1}},
    {K_conv3x3_fwd, "stem 32x32x3->16x16x32", {32, 3, 32}},
    {K_conv3x3_bwd_filter, "stem 32x32x3->16x16x32", {32, 3, 32}},
    {K_bn_moments, "8192 x 384", {8192, 384}},
    {K_bn_moments, "2048 x 960", {2048, 960}},
    {K_bn_apply, "8192 x 384", {8192, 384}},
    {K_bn_apply, "2048 x 960", {2048, 960}},
    {K_bn_bwd_reduce, "8192 x 384", {8192, 384}},
    {K_bn_bwd_reduce, "8192 x 384 ReLU6 mask", {8192, 384, 1}},
    {K_bn_bwd_reduce, "2048 x 960", {2048, 960}},
    {K_bn_bwd_reduce, "2048 x 960 ReLU6 mask", {2048, 960, 1}},
    {K_bn_bwd_apply, "8192 x 384", {8192, 384}},
    {K_bn_bwd_apply, "8192 x 384 ReLU6 mask", {8192, 384, 1}},
    {K_bn_bwd_apply, "2048 x 960", {2048, 960}},
    {K_bn_bwd_apply, "2048 x 960 ReLU6 mask", {2048, 960, 1}},
    {K_add, "8192 x 64 (residual)", {8192 * 64}},
    {K_adam, "2M parameters", {1u << 21}},
    {K_sgd, "2M parameters", {1u << 21}},
};

enum { SCRATCH = 8u << 20 }; /* floats per scratch array: the largest operand is 8192 x 960 */
static float *sc[5];

/* Runs one bench item on table t; returns its work: flops, or bytes moved when *bytes. */
static double bench_run(const mnv2_kernels *t, const bench *b, int *bytes)
{
    const size_t *p = b->p;
    float *A = sc[0], *B = sc[1], *C = sc[2], *D = sc[3], *E = sc[4];
    *bytes = 0;
    switch (b->kernel) {
    case K_gemm_nn: t->gemm_nn(p[0], p[1], p[2], A, p[2], B, p[1], C, p[1], 0); break;
    case K_gemm_nt: t->gemm_nt(p[0], p[1], p[2], A, p[2], B, p[2], C, p[1], 0); break;
    case K_gemm_tn: t->gemm_tn(p[0], p[1], p[2], A, p[0], B, p[1], C, p[1], 1); break;
    case K_gemm_nn_bias_act: t->gemm_nn_bias_act(p[0], p[1], p[2], A, p[2], B, p[1], C, p[1], D, 0.0f, 6.0f); break;
    case K_gemm_nn_bias_act_packed: /* B's values stand for a packed matrix (the layout is all that counts) */
        t->gemm_nn_bias_act_packed(p[0], p[1], p[2], A, p[2], B, C, p[1], D, 0.0f, 6.0f);
        break;
    case K_conv3x3_fwd:
    case K_conv3x3_bwd_filter: {
        const size_t h = p[0], ho = h / 2, cin = p[1], cout = p[2];
        for (size_t i = 0; i < BATCH; i++) {
            if (b->kernel == K_conv3x3_fwd)
                t->conv3x3_fwd(A + i * h * h * cin, h, h, cin, B, C + i * ho * ho * cout, ho, ho, cout, 2, 0, ho);
            else
                t->conv3x3_bwd_filter(A + i * h * h * cin, h, h, cin, C + i * ho * ho * cout, ho, ho, cout, 2, 0, ho,
                                      D + i * 9 * cin * cout);
        }
        return 2.0 * 9 * (double)(cin * cout * ho * ho * BATCH);
    }
    case K_bn_moments:
    case K_bn_bwd_reduce:
        for (size_t r = 0; r < p[0]; r += MNV2_REDUCE_CHUNK) {
            const size_t n = p[0] - r < MNV2_REDUCE_CHUNK ? p[0] - r : MNV2_REDUCE_CHUNK;
            float *s = D + 2 * p[1] * (r / MNV2_REDUCE_CHUNK);
            if (b->kernel == K_bn_moments)
                t->bn_moments(A + r * p[1], n, p[1], E, s, s + p[1]);
            else
                t->bn_bwd_reduce(A + r * p[1], B + r * p[1], n, p[1], E, p[2] ? C : NULL, p[2] ? C + p[1] : NULL, s,
                                 s + p[1]);
        }
        *bytes = 1;
        return (b->kernel == K_bn_moments ? 4.0 : 8.0) * (double)(p[0] * p[1]);
    case K_bn_apply: t->bn_apply(A, p[0], p[1], D, E, 0.0f, 6.0f, C), *bytes = 1; return 8.0 * (double)(p[0] * p[1]);
    case K_bn_bwd_apply:
        t->bn_bwd_apply(A, B, p[0], p[1], D, E, D + p[1], p[2] ? E + p[1] : NULL, p[2] ? D + 2 * p[1] : NULL, C);
        *bytes = 1;
        return 12.0 * (double)(p[0] * p[1]);
    case K_add: t->add(C, A, p[0]), *bytes = 1; return 12.0 * (double)p[0];
    case K_adam:
        t->adam(A, B, C, D, p[0], 1e-3f, 0.9f, 0.999f, 1e-7f, 0.1f, 0.001f, 0.0f, 0), *bytes = 1;
        return 28.0 * (double)p[0];
    case K_sgd: t->sgd(A, B, C, p[0], 1e-3f, 0.9f, 0, 0.0f), *bytes = 1; return 20.0 * (double)p[0];
    default: { /* depthwise, per image */
        const size_t h = p[0], c = p[1], s = p[2], ho = (h - 1) / s + 1, img = h * h * c, oimg = ho * ho * c;
        for (size_t i = 0; i < BATCH; i++)
            switch (b->kernel) {
            case K_dw3x3_fwd: t->dw3x3_fwd(A + i * img, h, h, c, B, C + i * oimg, ho, ho, s, 0, ho); break;
            case K_dw3x3_fwd_bias_act:
                t->dw3x3_fwd_bias_act(A + i * img, h, h, c, B, D, 0.0f, 6.0f, C + i * oimg, ho, ho, s, 0, ho);
                break;
            case K_dw3x3_bwd_data: t->dw3x3_bwd_data(C + i * oimg, ho, ho, c, B, A + i * img, h, h, s, 0, h); break;
            default: t->dw3x3_bwd_filter(A + i * img, h, h, c, C + i * oimg, ho, ho, s, 0, ho, D + i * 9 * c); break;
            }
        return 2.0 * 9 * (double)(oimg * BATCH);
    }
    }
    return 2.0 * (double)p[0] * (double)p[1] * (double)p[2];
}

/* The thread's CPU time: kernels are single-threaded, and it does not count time the thread
 * waits for a core on a loaded machine. */
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median seconds of at least 3 and up to 21 runs, about half a second in all. */
static double bench_time(const mnv2_kernels *t, const bench *b, double *work, int *bytes)
{
    double ts[21];
    double t0 = now();
    *work = bench_run(t, b, bytes); /* warm-up */
    const double first = now() - t0;
    int reps = first > 0.0 ? (int)(0.5 / first) : 21;
    reps = reps < 3 ? 3 : reps > 21 ? 21 : reps;
    for (int i = 0; i < reps; i++) {
        t0 = now();
        bench_run(t, b, bytes);
        ts[i] = now() - t0;
    }
    qsort(ts, (size_t)reps, sizeof ts[0], cmp_double);
    return ts[reps / 2];
}

static int run_bench(const char *only)
{
    for (int i = 0; i < 5; i++) {
        sc[i] = malloc(SCRATCH * sizeof(float));
        if (!sc[i])
            return 1;
        for (size_t j = 0; j < SCRATCH; j++)
            sc[i][j] = frand(0.0f, 1.0f) * (i == 3 ? 1.0f : 2.0f) - (i == 3 ? 0.0f : 1.0f); /* sc[3]: v >= 0 */
    }
    struct level all[9] = {{MNV2_ISA_SCALAR, scalar}};
    memcpy(all + 1, levels, (size_t)n_levels * sizeof levels[0]);
    const int n = n_levels + 1;
    printf("mnv2 kernels on the reduced model's layers, batch %d: median thread CPU time, GFLOP/s (* GB/s)\n",
           BATCH);
    printf("%-20s %-24s", "kernel", "shape");
    for (int l = 0; l < n; l++)
        printf(" %19s", mnv2_isa_name(all[l].isa));
    printf("\n");
    for (size_t i = 0; i < sizeof benches / sizeof benches[0]; i++) {
        const bench *b = &benches[i];
        if (only && !strstr(mnv2__kernel_names[b->kernel], only))
            continue;
        printf("%-20s %-24s", mnv2__kernel_names[b->kernel], b->label);
        for (int l = 0; l < n; l++) {
            int below = 0; /* the lowest level with this very kernel */
            while (entry(all[below].t, b->kernel) != entry(all[l].t, b->kernel))
                below++;
            if (below < l) {
                char same_as[32];
                snprintf(same_as, sizeof same_as, "= %s", mnv2_isa_name(all[below].isa));
                printf(" %19s", same_as);
                continue;
            }
            double work;
            int bytes;
            const double s = bench_time(all[l].t, b, &work, &bytes);
            printf(" %8.3f ms %6.1f%s", s * 1e3, work / s * 1e-9, bytes ? "*" : " ");
        }
        printf("\n");
        fflush(stdout);
    }
    for (int i = 0; i < 5; i++)
        free(sc[i]);
    return 0;
}

int main(int argc, char **argv)
{
    find_levels();
    if (argc > 1 && !strcmp(argv[1], "--bench"))
        return run_bench(argc > 2 ? argv[2] : NULL);
    printf("kernel tests: scalar against");
    for (int l = 0; l < n_levels; l++)
        printf(" %s", mnv2_isa_name(levels[l].isa));
    printf("%s\n", n_levels ? "" : " nothing (no SIMD level)");
    if (!n_levels) {
        printf("no SIMD level on this machine or build: nothing to compare (skip)\n");
        return 77;
    }
    record_engine();
    printf("engine calls (distinct shapes of");
    for (size_t r = 0; r < sizeof engine_runs / sizeof engine_runs[0]; r++)
        printf("%s %s", r ? ";" : "", engine_runs[r].name);
    printf("):");
    for (int k = 0; k < MNV2_N_KERNELS; k++) {
        size_t n = 0;
        for (size_t i = 0; i < n_ecalls; i++)
            n += ecalls[i].kernel == k;
        printf(" %s %zu", mnv2__kernel_names[k], n);
    }
    printf("\n");
    const struct CMUnitTest tests[] = {
#define MNV2_KERNEL(name, params) cmocka_unit_test(test_##name),
#include "kernels/kernel_list.inc"
#undef MNV2_KERNEL
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
