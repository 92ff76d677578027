/*
 * mnv2-bench: speed and memory figures of mnv2 on this machine, in the cases bench/torch_bench.py
 * measures for PyTorch (bench/compare.sh puts the two side by side).
 *   mnv2-bench [--threads N] (--all | --case NAME...) [--reps N] [--json]
 * Measures through the public API (mnv2.h) only; the command line follows the tools' convention (cli.h).
 * SPDX-License-Identifier: BSD-2-Clause
 */
#if !defined(_XOPEN_SOURCE)
#define _XOPEN_SOURCE 700
#endif
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "mnv2.h"

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define BENCH_X86 1
#include <immintrin.h>
#endif
#if defined(__aarch64__) && (defined(__GNUC__) || defined(__clang__))
#define BENCH_NEON 1
#include <arm_neon.h>
#endif

/* ---------------------------------------------------------------------------------------------
 * Helpers */

static int g_json;      /* --json: one JSON object on stdout, progress on stderr */
static int g_threads = 0; /* 0: all cores, as in every tool */
static int g_reps;      /* --reps: 0 = each case's default */

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void die(const char *what, int32_t st)
{
    const char *detail = mnv2_last_error();
    fprintf(stderr, "mnv2-bench: %s: %s%s%s\n", what, mnv2_status_string(st), *detail ? ": " : "", detail);
    exit(1);
}

#define CHECK(call)                  \
    do {                             \
        int32_t st_ = (call);        \
        if (st_ != MNV2_OK)          \
            die(#call, st_);         \
    } while (0)

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "mnv2-bench: out of memory (%zu bytes)\n", n);
        exit(1);
    }
    return p;
}

/* Fixed-seed random numbers (xorshift64*), so that every run sees the same inputs. */
static uint64_t g_rng = 0x9E3779B97F4A7C15ull;

static uint32_t rng_u32(void)
{
    g_rng ^= g_rng >> 12;
    g_rng ^= g_rng << 25;
    g_rng ^= g_rng >> 27;
    return (uint32_t)((g_rng * 0x2545F4914F6CDD1Dull) >> 32);
}

static void fill_uniform(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (float)((double)rng_u32() * (2.0 / 4294967296.0) - 1.0); /* [-1, 1) */
}

/* ---------------------------------------------------------------------------------------------
 * Models */

typedef struct {
    int32_t preset;
    int32_t side;    /* input height = width */
    int32_t classes;
    int32_t batch;   /* max batch */
    int32_t trainable;
} model_spec;

static mnv2_config *make_config(const model_spec *s)
{
    mnv2_config *cfg;
    CHECK(mnv2_config_create(s->preset, &cfg));
    CHECK(mnv2_config_set_int(cfg, MNV2_KEY_CLASSES, s->classes));
    CHECK(mnv2_config_set_int(cfg, MNV2_KEY_INPUT_HEIGHT, s->side));
    CHECK(mnv2_config_set_int(cfg, MNV2_KEY_INPUT_WIDTH, s->side));
    CHECK(mnv2_config_set_int(cfg, MNV2_KEY_INPUT_CHANNELS, 3));
    CHECK(mnv2_config_set_int(cfg, MNV2_KEY_MAX_BATCH, s->batch));
    CHECK(mnv2_config_set_int(cfg, MNV2_KEY_TRAINABLE, s->trainable));
    CHECK(mnv2_config_set_int(cfg, MNV2_KEY_THREADS, g_threads));
    CHECK(mnv2_config_set_int(cfg, MNV2_KEY_SEED, 1));
    return cfg;
}

static mnv2_model *make_model_threads(const model_spec *s, int threads)
{
    mnv2_config *cfg = make_config(s);
    CHECK(mnv2_config_set_int(cfg, MNV2_KEY_THREADS, threads));
    mnv2_model *m;
    CHECK(mnv2_model_create(cfg, &m));
    mnv2_config_destroy(cfg);
    return m;
}

static mnv2_model *make_model(const model_spec *s)
{
    mnv2_config *cfg = make_config(s);
    mnv2_model *m;
    CHECK(mnv2_model_create(cfg, &m));
    mnv2_config_destroy(cfg);
    return m;
}

/* Inputs and labels of one batch. */
typedef struct {
    float *images;
    size_t n_images;
    int32_t *labels;
    float *logits;
    size_t n_logits;
    uint32_t batch;
} batch_data;

static void batch_init(batch_data *b, const model_spec *s)
{
    b->batch = (uint32_t)s->batch;
    b->n_images = (size_t)s->batch * (size_t)s->side * (size_t)s->side * 3;
    b->images = xmalloc(b->n_images * sizeof(float));
    fill_uniform(b->images, b->n_images);
    b->labels = xmalloc((size_t)s->batch * sizeof(int32_t));
    for (int i = 0; i < s->batch; i++)
        b->labels[i] = (int32_t)(rng_u32() % (uint32_t)s->classes);
    b->n_logits = (size_t)s->batch * (size_t)s->classes;
    b->logits = xmalloc(b->n_logits * sizeof(float));
}

static void batch_free(batch_data *b)
{
    free(b->images);
    free(b->labels);
    free(b->logits);
}

static void infer_once(mnv2_model *m, batch_data *b)
{
    CHECK(mnv2_forward(m, b->images, b->n_images, b->batch, MNV2_MODE_INFER, b->logits, b->n_logits));
}

/* One training step: forward (train mode), cross-entropy backward, Adam step. */
static void train_once(mnv2_model *m, batch_data *b)
{
    CHECK(mnv2_forward(m, b->images, b->n_images, b->batch, MNV2_MODE_TRAIN, b->logits, b->n_logits));
    CHECK(mnv2_backward(m, b->labels, b->batch, NULL));
    CHECK(mnv2_step(m));
}

/* Median seconds of `reps` calls after `warm` unmeasured ones. */
static double time_median(mnv2_model *m, batch_data *b, int train, int warm, int reps)
{
    for (int i = 0; i < warm; i++)
        (train ? train_once : infer_once)(m, b);
    double *t = xmalloc((size_t)reps * sizeof(double));
    for (int i = 0; i < reps; i++) {
        double t0 = now_s();
        (train ? train_once : infer_once)(m, b);
        t[i] = now_s() - t0;
    }
    double med = median(t, reps);
    free(t);
    return med;
}

static const model_spec SPEC_INFER_STD = {MNV2_PRESET_STANDARD, 224, 1000, 1, 0};
static const model_spec SPEC_INFER_RED = {MNV2_PRESET_REDUCED, 32, 10, 1, 0};
static const model_spec SPEC_TRAIN_RED = {MNV2_PRESET_REDUCED, 32, 10, 32, 1};
static const model_spec SPEC_TRAIN_STD = {MNV2_PRESET_STANDARD, 224, 10, 32, 1};

/* ---------------------------------------------------------------------------------------------
 * Cases */

typedef struct {
    double value;
    double step_s;   /* training cases: median seconds per step */
    int reps;
    /* Thread figures (MNV2_KEY_THREAD_*), measured on extra calls after the timed ones; only with
     * 2 or more threads (profiled = 1). */
    int profiled;
    double balance;  /* planned largest share / mean share, time-weighted */
    double idle;     /* fraction of thread time in parallel loops spent waiting */
    double parallel; /* fraction of a call's time inside parallel loops */
} result;

static int reps_or(int dflt) { return g_reps > 0 ? g_reps : dflt; }

/* The model's thread figures over `reps` more calls (MNV2_KEY_THREAD_PROFILE). */
static void profile_threads(mnv2_model *m, batch_data *b, int train, int reps, result *r)
{
    int64_t threads;
    CHECK(mnv2_model_get_int(m, MNV2_KEY_THREADS, &threads));
    if (threads < 2)
        return;
    CHECK(mnv2_model_set_int(m, MNV2_KEY_THREAD_PROFILE, 1));
    double t0 = now_s();
    for (int i = 0; i < reps; i++)
        (train ? train_once : infer_once)(m, b);
    double wall = now_s() - t0;
    int64_t loop_ns;
    CHECK(mnv2_model_get_int(m, MNV2_KEY_THREAD_LOOP_NS, &loop_ns));
    CHECK(mnv2_model_get_float(m, MNV2_KEY_THREAD_BALANCE, &r->balance));
    CHECK(mnv2_model_get_float(m, MNV2_KEY_THREAD_IDLE, &r->idle));
    CHECK(mnv2_model_set_int(m, MNV2_KEY_THREAD_PROFILE, 0));
    r->parallel = (double)loop_ns * 1e-9 / wall;
    r->profiled = 1;
}

static result run_infer(const model_spec *s, int dflt_reps)
{
    mnv2_model *m = make_model(s);
    batch_data b;
    batch_init(&b, s);
    result r = {0, 0, reps_or(dflt_reps), 0, 0, 0, 0};
    r.value = time_median(m, &b, 0, 3, r.reps) * 1e3;
    profile_threads(m, &b, 0, r.reps, &r);
    batch_free(&b);
    mnv2_model_destroy(m);
    return r;
}

static result run_train(const model_spec *s, int warm, int dflt_reps)
{
    mnv2_model *m = make_model(s);
    batch_data b;
    batch_init(&b, s);
    result r = {0, 0, reps_or(dflt_reps), 0, 0, 0, 0};
    r.step_s = time_median(m, &b, 1, warm, r.reps);
    r.value = (double)s->batch / r.step_s;
    profile_threads(m, &b, 1, r.reps < 3 ? r.reps : 3, &r);
    batch_free(&b);
    mnv2_model_destroy(m);
    return r;
}

static result case_infer_std(void) { return run_infer(&SPEC_INFER_STD, 30); }
static result case_infer_red(void) { return run_infer(&SPEC_INFER_RED, 50); }
static result case_train_red(void) { return run_train(&SPEC_TRAIN_RED, 2, 10); }
static result case_train_std(void) { return run_train(&SPEC_TRAIN_STD, 1, 3); }

/* Speed-up of training on the --threads count over 1 thread, measured interleaved: two models
 * (1 and N threads, same weights and batch) take turns, one step each, and the figure is
 * the median of the per-pair ratios t(1) / t(N). A machine whose speed drifts over seconds (a
 * shared host) then slows both sides of a pair alike, where two separate runs can land in
 * different phases. No figure (null) when --threads resolves to 1. */
static int g_resolved_threads = 1;
static result run_speedup(const model_spec *s, int warm, int dflt_reps)
{
    result r = {0, 0, reps_or(dflt_reps), 0, 0, 0, 0};
    if (g_resolved_threads < 2) {
        r.value = -1;
        return r;
    }
    mnv2_model *one = make_model_threads(s, 1), *many = make_model_threads(s, g_threads);
    batch_data b;
    batch_init(&b, s);
    for (int i = 0; i < warm; i++) {
        train_once(one, &b);
        train_once(many, &b);
    }
    double *ratio = xmalloc((size_t)r.reps * sizeof(double)), *t1 = xmalloc((size_t)r.reps * sizeof(double));
    for (int i = 0; i < r.reps; i++) {
        double t0 = now_s();
        train_once(one, &b);
        double ta = now_s() - t0;
        t0 = now_s();
        train_once(many, &b);
        double tb = now_s() - t0;
        ratio[i] = ta / tb;
        t1[i] = tb;
    }
    r.value = median(ratio, r.reps);
    r.step_s = median(t1, r.reps);
    free(ratio);
    free(t1);
    batch_free(&b);
    mnv2_model_destroy(one);
    mnv2_model_destroy(many);
    return r;
}

/* Time from mnv2_model_create() to the first inference's logits (arena allocation, worker start,
 * first touch of every page), standard 224 batch 1 with the --threads count; the configuration is
 * made before the clock starts and the model destroyed after it stops. */
static result case_cold_start(void)
{
    result r = {0, 0, reps_or(5), 0, 0, 0, 0};
    batch_data b;
    batch_init(&b, &SPEC_INFER_STD);
    double *t = xmalloc((size_t)r.reps * sizeof(double));
    for (int i = 0; i < r.reps; i++) {
        mnv2_config *cfg = make_config(&SPEC_INFER_STD);
        mnv2_model *m;
        double t0 = now_s();
        CHECK(mnv2_model_create(cfg, &m));
        infer_once(m, &b);
        t[i] = now_s() - t0;
        mnv2_model_destroy(m);
        mnv2_config_destroy(cfg);
    }
    r.value = median(t, r.reps) * 1e3;
    free(t);
    batch_free(&b);
    return r;
}

/* Batch-1 standard 224 inference latency at 1, 2, 4, 8 and 16 threads, up to the --threads count
 * (and that count itself); each figure is printed, and the case's value is the speed-up of the
 * largest count over 1 thread. */
#define SCALING_MAX 6
static int g_scaling_n;
static int g_scaling_threads[SCALING_MAX];
static double g_scaling_ms[SCALING_MAX];
static result case_infer_scaling(void)
{
    static const int counts[] = {1, 2, 4, 8, 16};
    g_scaling_n = 0;
    for (int i = 0; i < 5 && counts[i] <= g_resolved_threads; i++)
        g_scaling_threads[g_scaling_n++] = counts[i];
    if (g_scaling_threads[g_scaling_n - 1] != g_resolved_threads)
        g_scaling_threads[g_scaling_n++] = g_resolved_threads;
    result r = {0, 0, reps_or(30), 0, 0, 0, 0};
    batch_data b;
    batch_init(&b, &SPEC_INFER_STD);
    for (int i = 0; i < g_scaling_n; i++) {
        mnv2_model *m = make_model_threads(&SPEC_INFER_STD, g_scaling_threads[i]);
        g_scaling_ms[i] = time_median(m, &b, 0, 3, r.reps) * 1e3;
        mnv2_model_destroy(m);
        if (g_json)
            fprintf(stderr, "mnv2-bench:   %2d threads %.3f ms\n", g_scaling_threads[i], g_scaling_ms[i]);
        else
            printf("  %2d threads %8.3f ms  (%.2fx of 1 thread)\n", g_scaling_threads[i], g_scaling_ms[i],
                   g_scaling_ms[0] / g_scaling_ms[i]);
    }
    r.value = g_scaling_ms[0] / g_scaling_ms[g_scaling_n - 1];
    batch_free(&b);
    return r;
}

static result case_train_red_speedup(void) { return run_speedup(&SPEC_TRAIN_RED, 2, 10); }
static result case_train_std_speedup(void) { return run_speedup(&SPEC_TRAIN_STD, 1, 5); }

/* Peak RSS of a fresh process running 5 training steps of the reduced model at batch 32: a forked
 * child (run before any other case, so that it inherits almost nothing), measured with
 * getrusage(RUSAGE_CHILDREN). */
static result case_train_red_rss(void)
{
    result r = {0, 0, 5, 0, 0, 0, 0};
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "mnv2-bench: fork: %s\n", strerror(errno));
        exit(1);
    }
    if (pid == 0) {
        mnv2_model *m = make_model(&SPEC_TRAIN_RED);
        batch_data b;
        batch_init(&b, &SPEC_TRAIN_RED);
        for (int i = 0; i < 5; i++)
            train_once(m, &b);
        batch_free(&b);
        mnv2_model_destroy(m);
        _exit(0);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            fprintf(stderr, "mnv2-bench: waitpid: %s\n", strerror(errno));
            exit(1);
        }
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "mnv2-bench: the peak-RSS child process failed\n");
        exit(1);
    }
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
#if defined(__APPLE__)
    r.value = (double)ru.ru_maxrss / (1024.0 * 1024.0); /* bytes */
#else
    r.value = (double)ru.ru_maxrss / 1024.0; /* KiB */
#endif
    return r;
}

typedef struct {
    const char *name;
    const char *unit;
    result (*run)(void);
    const char *what;
} bench_case;

/* The RSS case comes first: it forks before this process has allocated any model. */
static const bench_case CASES[] = {
    {"train_reduced32_b32_peak_rss_mib", "MiB", case_train_red_rss, "peak RSS, 5 training steps, reduced 32x32, batch 32"},
    {"infer_standard224_b1_ms", "ms", case_infer_std, "inference latency, standard 224x224, 1000 classes, batch 1"},
    {"infer_reduced32_b1_ms", "ms", case_infer_red, "inference latency, reduced 32x32, 10 classes, batch 1"},
    {"train_reduced32_b32_img_s", "img/s", case_train_red, "training (Adam), reduced 32x32, 10 classes, batch 32"},
    {"train_standard224_b32_img_s", "img/s", case_train_std, "training (Adam), standard 224x224, 10 classes, batch 32"},
    {"train_reduced32_b32_speedup", "x", case_train_red_speedup,
     "reduced training speed-up, these threads vs 1, interleaved steps (median pair ratio)"},
    {"train_standard224_b32_speedup", "x", case_train_std_speedup,
     "standard 224 training speed-up, these threads vs 1, interleaved steps (median pair ratio)"},
    {"infer_standard224_b1_scaling", "x", case_infer_scaling,
     "standard 224 batch-1 inference, speed-up of the largest thread count over 1 (1, 2, 4, 8, 16, --threads)"},
    {"cold_start_standard224_ms", "ms", case_cold_start,
     "mnv2_model_create() to the first batch-1 inference's logits, standard 224"},
};
#define N_CASES ((int)(sizeof CASES / sizeof CASES[0]))

/* ---------------------------------------------------------------------------------------------
 * One core's fp32 FMA peak: many independent FMA chains. The x86 loops are compiled for AVX2+FMA
 * and AVX-512F through function attributes (no -march flag needed) and run only when both the CPU
 * and the model's ISA level allow; otherwise a portable loop (2 flops per multiply-add). */

/* Twelve independent chains, as named variables so that every compiler keeps them in registers
 * (an array is left in memory by gcc -O2). T: vector type, FMA(a, b, c) = a * b + c. */
#define PEAK_ACC 12
#define PEAK_BODY(T, SET1, FMA, LANE0, LANES)                                                        \
    T b = SET1(0.999f), c = SET1(1e-6f);                                                           \
    T a0 = SET1(0.f), a1 = SET1(1.f), a2 = SET1(2.f), a3 = SET1(3.f), a4 = SET1(4.f), a5 = SET1(5.f); \
    T a6 = SET1(6.f), a7 = SET1(7.f), a8 = SET1(8.f), a9 = SET1(9.f), a10 = SET1(10.f), a11 = SET1(11.f); \
    double t = now_s();                                                                            \
    for (long k = 0; k < iters; k++) {                                                             \
        a0 = FMA(a0, b, c); a1 = FMA(a1, b, c); a2 = FMA(a2, b, c); a3 = FMA(a3, b, c);            \
        a4 = FMA(a4, b, c); a5 = FMA(a5, b, c); a6 = FMA(a6, b, c); a7 = FMA(a7, b, c);            \
        a8 = FMA(a8, b, c); a9 = FMA(a9, b, c); a10 = FMA(a10, b, c); a11 = FMA(a11, b, c);        \
    }                                                                                              \
    t = now_s() - t;                                                                               \
    volatile float sink = LANE0(a0) + LANE0(a1) + LANE0(a2) + LANE0(a3) + LANE0(a4) + LANE0(a5) +  \
                          LANE0(a6) + LANE0(a7) + LANE0(a8) + LANE0(a9) + LANE0(a10) + LANE0(a11); \
    (void)sink;                                                                                    \
    return (double)iters * PEAK_ACC * (LANES) * 2 / t;

#if defined(BENCH_X86)
#define FMA256(a, b, c) _mm256_fmadd_ps(a, b, c)
#define FMA512(a, b, c) _mm512_fmadd_ps(a, b, c)
#define LANE0_256(a) _mm256_cvtss_f32(a)
#define LANE0_512(a) _mm512_cvtss_f32(a)
__attribute__((target("avx2,fma"))) static double peak_avx2(long iters)
{
    PEAK_BODY(__m256, _mm256_set1_ps, FMA256, LANE0_256, 8)
}

__attribute__((target("avx512f"))) static double peak_avx512(long iters)
{
    PEAK_BODY(__m512, _mm512_set1_ps, FMA512, LANE0_512, 16)
}
#endif

#if defined(BENCH_NEON)
#define FMA_NEON(a, b, c) vfmaq_f32(c, a, b)
#define LANE0_NEON(a) vgetq_lane_f32(a, 0)
static double peak_neon(long iters)
{
    PEAK_BODY(float32x4_t, vdupq_n_f32, FMA_NEON, LANE0_NEON, 4)
}
#endif

/* Portable: GNU vector extension (4 lanes) or plain float; multiply then add, 2 flops. */
#if defined(__GNUC__) || defined(__clang__)
typedef float v4sf __attribute__((vector_size(16)));
#define PORT_LANES 4
#define PORT_SET1(x) ((v4sf){(x), (x), (x), (x)})
#define PORT_LANE0(a) ((a)[0])
#else
typedef float v4sf;
#define PORT_LANES 1
#define PORT_SET1(x) (x)
#define PORT_LANE0(a) (a)
#endif
#define PORT_MADD(a, b, c) ((a) * (b) + (c))

static double peak_portable(long iters)
{
    PEAK_BODY(v4sf, PORT_SET1, PORT_MADD, PORT_LANE0, PORT_LANES)
}

/* Best of several short runs (the machine may be busy), in GFLOP/s; *which names the loop. */
static double fma_peak(int32_t isa, const char **which)
{
    double (*fn)(long) = peak_portable;
    *which = "portable";
#if defined(BENCH_X86)
    __builtin_cpu_init();
    if (isa >= MNV2_ISA_AVX512 && isa < MNV2_ISA_NEON && __builtin_cpu_supports("avx512f")) {
        fn = peak_avx512;
        *which = "avx512";
    } else if (isa >= MNV2_ISA_AVX2 && isa < MNV2_ISA_NEON && __builtin_cpu_supports("avx2") &&
               __builtin_cpu_supports("fma")) {
        fn = peak_avx2;
        *which = "avx2";
    }
#elif defined(BENCH_NEON)
    if (isa == MNV2_ISA_NEON) {
        fn = peak_neon;
        *which = "neon";
    }
#else
    (void)isa;
#endif
    /* Calibrate to about 40 ms a run. */
    long iters = 100000;
    for (;;) {
        double t0 = now_s();
        fn(iters);
        double dt = now_s() - t0;
        if (dt > 0.01 || iters > (1L << 40))
            break;
        iters *= 4;
    }
    double t0 = now_s();
    fn(iters);
    double dt = now_s() - t0;
    if (dt > 0)
        iters = (long)((double)iters * 0.04 / dt) + 1;
    double best = 0;
    for (int r = 0; r < 7; r++) {
        double x = fn(iters);
        if (x > best)
            best = x;
    }
    return best * 1e-9;
}

/* ---------------------------------------------------------------------------------------------
 * Command line */

/* The --help text, with the list of cases. */
static char help[4096];

static void make_help(void)
{
    size_t n = 0;
    n += (size_t)snprintf(help + n, sizeof help - n,
                          "usage: mnv2-bench [options] --all\n"
                          "   or: mnv2-bench [options] --case NAME...\n"
                          "Speed and memory figures of mnv2 on this machine (medians; fixed-seed random inputs).\n"
                          "Without --all or --case, lists the cases and exits.\n"
                          "\n"
                          "Options:\n"
                          "  --all          run every case (several minutes)\n"
                          "  --case NAME    run this case (repeatable); NAME is one of:\n");
    for (int i = 0; i < N_CASES && n < sizeof help; i++)
        n += (size_t)snprintf(help + n, sizeof help - n, "                   %s\n", CASES[i].name);
    if (n < sizeof help)
        snprintf(help + n, sizeof help - n,
                 "  --threads N    worker threads of each model (MNV2_KEY_THREADS; 0 = all cores, the default)\n"
                 "  --reps N       measured repetitions of every case (default 30, 50, 10, 3, 10, 5;\n"
                 "                 the peak-RSS case always runs 5 steps)\n"
                 "  --json         print one JSON object on stdout instead of the table\n"
                 "  -h, --help     print this help and exit\n"
                 "  -V, --version  print the version and exit\n");
}

/* No case selected: the list of cases and how to run them (exit 0). */
static int list_cases(void)
{
    printf("mnv2-bench: mnv2 %s; the cases (run them with --all, or pick with --case NAME):\n",
           mnv2_version_string());
    for (int i = 0; i < N_CASES; i++)
        printf("  %-34s %-6s %s\n", CASES[i].name, CASES[i].unit, CASES[i].what);
    printf("--all takes several minutes; e.g. mnv2-bench --case infer_reduced32_b1_ms --reps 3 is quick.\n");
    return 0;
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return 0;
    *out = (int)v;
    return 1;
}

static void bad_usage(const char *fmt, const char *arg)
{
    cli_usage_error(fmt, arg);
}

/* Option value: "--opt=value" or "--opt value". */
static const char *opt_value(const char *opt, int argc, char **argv, int *i)
{
    size_t n = strlen(opt);
    const char *a = argv[*i];
    if (strncmp(a, opt, n) != 0)
        return NULL;
    if (a[n] == '=')
        return a + n + 1;
    if (a[n] != '\0')
        return NULL;
    if (*i + 1 >= argc)
        bad_usage("option %s needs a value", opt);
    return argv[++*i];
}

int main(int argc, char **argv)
{
    make_help();
    cli_begin("mnv2-bench", help);
    int selected[N_CASES] = {0};
    int any_selected = 0, all = 0;
    for (int i = 1; i < argc; i++) {
        const char *v;
        int kind = cli_arg(argc, argv, &i);
        if (kind == CLI_SKIP) {
            continue;
        } else if (kind == CLI_OPERAND) {
            bad_usage("unexpected argument '%s'", argv[i]);
        } else if (cli_flag(argv[i], "--json")) {
            g_json = 1;
        } else if (cli_flag(argv[i], "--all")) {
            all = 1;
        } else if ((v = opt_value("--threads", argc, argv, &i))) {
            if (!parse_int(v, 0, 4096, &g_threads))
                bad_usage("--threads: expected an integer 0..4096, got '%s'", v);
        } else if ((v = opt_value("--reps", argc, argv, &i))) {
            if (!parse_int(v, 1, 1000000, &g_reps))
                bad_usage("--reps: expected a positive integer, got '%s'", v);
        } else if ((v = opt_value("--case", argc, argv, &i))) {
            int found = 0;
            for (int c = 0; c < N_CASES; c++)
                if (!strcmp(v, CASES[c].name))
                    selected[c] = found = 1;
            if (!found)
                bad_usage("unknown case '%s'", v);
            any_selected = 1;
        } else {
            cli_unknown(argv[i]);
        }
    }
    if (all && any_selected)
        bad_usage("%s", "--all and --case exclude each other");
    if (!all && !any_selected)
        return list_cases();
    if (all)
        for (int c = 0; c < N_CASES; c++)
            selected[c] = 1;

    int threads = g_threads;
    if (threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (int)n : 1;
    }
    g_resolved_threads = threads;

    result res[N_CASES];
    memset(res, 0, sizeof res);
    /* The RSS case first: the child must inherit as little as possible. */
    if (selected[0])
        res[0] = CASES[0].run();

    /* The ISA the models use: that of a small inference model with these options. */
    mnv2_model *probe = make_model(&SPEC_INFER_RED);
    int64_t isa64;
    CHECK(mnv2_model_get_int(probe, MNV2_KEY_ISA, &isa64));
    mnv2_model_destroy(probe);
    int32_t isa = (int32_t)isa64;
    const char *peak_isa;
    double gflops = fma_peak(isa, &peak_isa);

    FILE *out = stdout;
    if (!g_json) {
        printf("mnv2-bench: mnv2 %s, isa %s, %d thread%s, one-core fp32 FMA peak %.1f GFLOP/s (%s loop)\n",
               mnv2_version_string(), mnv2_isa_name(isa), threads, threads == 1 ? "" : "s", gflops, peak_isa);
        if (selected[0])
            printf("%-34s %10.1f %-6s %s\n", CASES[0].name, res[0].value, CASES[0].unit, CASES[0].what);
        fflush(stdout);
    }
    for (int c = 1; c < N_CASES; c++) {
        if (!selected[c])
            continue;
        if (g_json)
            fprintf(stderr, "mnv2-bench: %s ...\n", CASES[c].name);
        res[c] = CASES[c].run();
        if (!g_json && res[c].value < 0) {
            printf("%-34s %10s %-6s %s (needs --threads of 2 or more)\n", CASES[c].name, "-", CASES[c].unit,
                   CASES[c].what);
        } else if (!g_json) {
            printf("%-34s %10.2f %-6s %s (median of %d", CASES[c].name, res[c].value, CASES[c].unit,
                   CASES[c].what, res[c].reps);
            if (res[c].step_s > 0)
                printf(", %.1f ms/step", res[c].step_s * 1e3);
            printf(")\n");
            if (res[c].profiled)
                printf("%-34s %10s %-6s threads: planned balance %.3f, idle %.1f%% of loop time, %.1f%% of the "
                       "time in parallel loops\n", "", "", "", res[c].balance, res[c].idle * 100,
                       res[c].parallel * 100);
            fflush(stdout);
        }
    }

    /* Achieved GFLOP/s of reduced training: backward ~ 2x forward, 2 flops per MAC. */
    double peak_fraction = -1, achieved = 0;
    if (selected[3]) {
        mnv2_config *cfg = make_config(&SPEC_TRAIN_RED);
        uint64_t macs;
        CHECK(mnv2_config_stat(cfg, MNV2_STAT_MACS, 0, &macs));
        mnv2_config_destroy(cfg);
        achieved = 3.0 * (double)macs * 2.0 * res[3].value * 1e-9;
        peak_fraction = achieved / (gflops * threads);
    }

    if (g_json) {
        fprintf(out, "{\"isa\": \"%s\", \"threads\": %d, \"gflops\": %.2f, \"gflops_loop\": \"%s\"", mnv2_isa_name(isa),
                threads, gflops, peak_isa);
        for (int c = 0; c < N_CASES; c++) {
            if (selected[c] && res[c].value < 0)
                fprintf(out, ", \"%s\": null", CASES[c].name);
            else if (selected[c])
                fprintf(out, ", \"%s\": %.4f", CASES[c].name, res[c].value);
            if (selected[c] && res[c].profiled)
                fprintf(out, ", \"%s_balance\": %.4f, \"%s_idle\": %.4f, \"%s_parallel\": %.4f", CASES[c].name,
                        res[c].balance, CASES[c].name, res[c].idle, CASES[c].name, res[c].parallel);
            if (selected[c] && CASES[c].run == case_infer_scaling)
                for (int i = 0; i < g_scaling_n; i++)
                    fprintf(out, ", \"infer_standard224_b1_ms_t%d\": %.4f", g_scaling_threads[i], g_scaling_ms[i]);
        }
        if (peak_fraction >= 0)
            fprintf(out, ", \"peak_fraction\": %.4f", peak_fraction);
        else
            fprintf(out, ", \"peak_fraction\": null");
        fprintf(out, "}\n");
    } else if (peak_fraction >= 0) {
        printf("%-34s %10.3f %-6s reduced training %.1f GFLOP/s (3 x forward MACs x 2) of %.1f x %d peak\n",
               "peak_fraction", peak_fraction, "", achieved, gflops, threads);
    }
    return 0;
}
