/* SPDX-License-Identifier: BSD-2-Clause */
/* The library in a host program: the caller's floating-point environment, fork(), small thread
 * stacks, CPU affinity, extreme configurations (checked size arithmetic) and model files that
 * claim absurd runtime resources. */
#include <fenv.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "mnv2.h"
#include "mnv2_data.h"
#include "cpus.h"
#include "model.h"
#include "plan.h"
#include "io/bytes.h"
#include "io/crc32.h"
#include "io/format.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define HAVE_MXCSR 1
static int have_sse(void)
{
#if defined(__x86_64__)
    return 1;
#else
    unsigned a, b, c, d;
    return __get_cpuid(1, &a, &b, &c, &d) && ((d >> 25) & 1);
#endif
}
static uint32_t get_mxcsr(void)
{
    uint32_t v;
    __asm__ volatile("stmxcsr %0" : "=m"(v));
    return v;
}
static void set_mxcsr(uint32_t v) { __asm__ volatile("ldmxcsr %0" : : "m"(v)); }
#endif

static void expect_ok(int32_t st)
{
    if (st != MNV2_OK)
        print_error("status %d: %s\n", (int)st, mnv2_last_error());
    assert_int_equal(st, MNV2_OK);
}

static void expect_fail(int32_t st, int32_t code, const char *text)
{
    if (st != code)
        print_error("status %d, %d expected: %s\n", (int)st, (int)code, mnv2_last_error());
    assert_int_equal(st, code);
    if (text && !strstr(mnv2_last_error(), text))
        fail_msg("'%s' not in '%s'", text, mnv2_last_error());
}

/* 5 images of 33 x 35, 6 classes: several blocks, stride 1 and 2, all three 1x1 GEMM shapes. */
enum { B = 5, H = 33, W = 35, CH = 3, K = 6, STEPS = 2 };

static mnv2_config *small_config(uint32_t threads, int32_t isa)
{
    mnv2_config *c = NULL;
    expect_ok(mnv2_config_create(MNV2_PRESET_REDUCED, &c));
    const int32_t rows[][4] = {{1, 16, 1, 1}, {6, 24, 2, 2}, {4, 40, 2, 2}};
    expect_ok(mnv2_config_set_blocks(c, &rows[0][0], 3));
    expect_ok(mnv2_config_set_int(c, MNV2_KEY_INPUT_HEIGHT, H));
    expect_ok(mnv2_config_set_int(c, MNV2_KEY_INPUT_WIDTH, W));
    expect_ok(mnv2_config_set_int(c, MNV2_KEY_CLASSES, K));
    expect_ok(mnv2_config_set_int(c, MNV2_KEY_MAX_BATCH, B));
    expect_ok(mnv2_config_set_int(c, MNV2_KEY_THREADS, threads));
    expect_ok(mnv2_config_set_int(c, MNV2_KEY_ISA_MAX, isa));
    return c;
}

/* Inputs with many subnormal values (and some ordinary ones), so that flush-to-zero or
 * denormals-are-zero would change the results. */
static float *inputs(size_t *n)
{
    *n = (size_t)B * H * W * CH;
    float *x = malloc(*n * sizeof *x);
    uint64_t s = 11;
    for (size_t i = 0; i < *n; i++) {
        s = s * 6364136223846793005u + 1442695040888963407u;
        const float u = (float)((s >> 40) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
        x[i] = (i % 3) ? u * 1e-39f : u;
    }
    return x;
}

/* A caller's floating-point environment, applied after model creation or before it. */
typedef struct caller_env {
    const char *name;
    int round;      /* FE_* rounding mode */
    int ftz_daz;    /* x86: set MXCSR FTZ (bit 15) and DAZ (bit 6) */
    int before;     /* set before mnv2_model_create (else after) */
} caller_env;

static void apply_env(const caller_env *e)
{
    fesetround(e->round);
#ifdef HAVE_MXCSR
    if (e->ftz_daz && have_sse())
        set_mxcsr(get_mxcsr() | 0x8040u);
#endif
}

/* Train STEPS steps and infer; parameters and logits out. The caller's environment must be
 * unchanged by every call. */
static void train(uint32_t threads, int32_t isa, const caller_env *e, float *params, uint64_t n_params,
                  float *logits)
{
    fenv_t saved;
    fegetenv(&saved);
#ifdef HAVE_MXCSR
    const uint32_t saved_mxcsr = have_sse() ? get_mxcsr() : 0;
#endif
    if (e && e->before)
        apply_env(e);
    mnv2_config *c = small_config(threads, isa);
    expect_ok(mnv2_config_set_float(c, MNV2_KEY_DROPOUT, 0.2));
    mnv2_model *m = NULL;
    expect_ok(mnv2_model_create(c, &m));
    mnv2_config_destroy(c);
    if (e && !e->before)
        apply_env(e);
    const int round = fegetround();
#ifdef HAVE_MXCSR
    const uint32_t mxcsr = have_sse() ? get_mxcsr() : 0;
#endif
    size_t n;
    float *x = inputs(&n);
    const int32_t y[B] = {0, 3, 5, 2, 1};
    for (int step = 0; step < STEPS; step++) {
        float loss;
        expect_ok(mnv2_forward(m, x, n, B, MNV2_MODE_TRAIN, NULL, 0));
        expect_ok(mnv2_backward(m, y, B, &loss));
        expect_ok(mnv2_step(m));
        assert_int_equal(fegetround(), round);
#ifdef HAVE_MXCSR
        if (have_sse())
            assert_int_equal(get_mxcsr() & ~0x3fu, mxcsr & ~0x3fu); /* all but the exception flags */
#endif
    }
    expect_ok(mnv2_forward(m, x, n, B, MNV2_MODE_INFER, logits, B * K));
    uint64_t count = 0;
    const float *p = mnv2_parameters(m, &count);
    assert_int_equal(count, n_params);
    memcpy(params, p, count * sizeof(float));
    free(x);
    mnv2_model_destroy(m);
    fesetenv(&saved);
#ifdef HAVE_MXCSR
    if (have_sse())
        set_mxcsr(saved_mxcsr);
#endif
}

static uint64_t small_params(void)
{
    mnv2_config *c = small_config(1, -1);
    uint64_t np = 0;
    expect_ok(mnv2_config_stat(c, MNV2_STAT_PARAMS, 0, &np));
    mnv2_config_destroy(c);
    return np;
}

static void fp_environment_does_not_matter(void **state)
{
    (void)state;
    static const caller_env envs[] = {
        {"ftz+daz after create", FE_TONEAREST, 1, 0},
        {"upward, before create", FE_UPWARD, 0, 1},
        {"toward zero + ftz/daz", FE_TOWARDZERO, 1, 0},
    };
    const uint64_t np = small_params();
    float *ref = malloc(np * sizeof *ref), *got = malloc(np * sizeof *got);
    float lref[B * K], lgot[B * K];
    const int32_t top = mnv2_cpu_isa();
    const int32_t levels[] = {MNV2_ISA_SCALAR, top};
    for (int l = 0; l < 2; l++) {
        train(1, levels[l], NULL, ref, np, lref);
        for (uint32_t threads = 1; threads <= 3; threads++) {
            for (size_t e = 0; e < sizeof envs / sizeof envs[0]; e++) {
                train(threads, levels[l], &envs[e], got, np, lgot);
                if (memcmp(ref, got, np * sizeof *ref) || memcmp(lref, lgot, sizeof lref))
                    fail_msg("%s, %u threads, level %s: results differ from the default environment", envs[e].name,
                             (unsigned)threads, mnv2_isa_name(levels[l]));
            }
        }
    }
    free(ref);
    free(got);
}

/* fork(): the child uses the parent's model (its workers are started again there), gets the
 * parent's results, and destroys it; a second child only destroys it. Never a hang: the child
 * is killed by alarm() after 60 s, which fails the test. */
static void fork_child_uses_parent_model(void **state)
{
    (void)state;
    mnv2_config *c = small_config(2, -1);
    expect_ok(mnv2_config_set_int(c, MNV2_KEY_TRAINABLE, 1));
    mnv2_model *m = NULL;
    expect_ok(mnv2_model_create(c, &m));
    mnv2_config_destroy(c);
    size_t n;
    float *x = inputs(&n);
    const int32_t y[B] = {0, 3, 5, 2, 1};
    float loss, parent[B * K];
    expect_ok(mnv2_forward(m, x, n, B, MNV2_MODE_TRAIN, NULL, 0)); /* workers running */
    expect_ok(mnv2_backward(m, y, B, &loss));
    expect_ok(mnv2_step(m));
    expect_ok(mnv2_forward(m, x, n, B, MNV2_MODE_INFER, parent, B * K));
    for (int use = 1; use >= 0; use--) {
        fflush(NULL);
        const pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            alarm(60);
            int ok = 1;
            if (use) {
                float child[B * K];
                for (int r = 0; r < 2 && ok; r++) /* twice: the workers started in the child are reused */
                    ok = mnv2_forward(m, x, n, B, MNV2_MODE_INFER, child, B * K) == MNV2_OK &&
                         memcmp(child, parent, sizeof child) == 0;
                ok = ok && mnv2_forward(m, x, n, B, MNV2_MODE_TRAIN, NULL, 0) == MNV2_OK &&
                     mnv2_backward(m, y, B, &loss) == MNV2_OK && mnv2_step(m) == MNV2_OK;
            }
            mnv2_model_destroy(m);
            _exit(ok ? 0 : 1);
        }
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            fail_msg("child (%s the model): %s %d", use ? "using" : "destroying",
                     WIFSIGNALED(status) ? "killed by signal" : "exit status",
                     WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
    }
    /* The parent's model is unaffected. */
    float again[B * K];
    expect_ok(mnv2_forward(m, x, n, B, MNV2_MODE_INFER, again, B * K));
    assert_memory_equal(again, parent, sizeof again);
    free(x);
    mnv2_model_destroy(m);
}

/* A thread with the documented minimum stack can create, train and run a model at every level,
 * alone and with a worker (the kernels' stack buffers do not depend on the shapes). */
struct stack_job {
    int32_t preset, isa;
    uint32_t threads;
    int32_t status;
};

static void *stack_body(void *arg)
{
    struct stack_job *j = arg;
    mnv2_config *c = NULL;
    int32_t st = mnv2_config_create(j->preset, &c);
    if (st == MNV2_OK)
        st = mnv2_config_set_int(c, MNV2_KEY_MAX_BATCH, 2);
    if (st == MNV2_OK)
        st = mnv2_config_set_int(c, MNV2_KEY_ISA_MAX, j->isa);
    if (st == MNV2_OK)
        st = mnv2_config_set_int(c, MNV2_KEY_THREADS, j->threads);
    mnv2_model *m = NULL;
    if (st == MNV2_OK)
        st = mnv2_model_create(c, &m);
    int64_t h = 0, w = 0;
    mnv2_config_get_int(c, MNV2_KEY_INPUT_HEIGHT, &h);
    mnv2_config_get_int(c, MNV2_KEY_INPUT_WIDTH, &w);
    mnv2_config_destroy(c);
    const size_t n = 2 * (size_t)h * (size_t)w * 3;
    float *x = calloc(n, sizeof *x);
    for (size_t i = 0; x && i < n; i++)
        x[i] = (float)(i % 13) / 13.0f - 0.5f;
    const int32_t y[2] = {1, 0};
    float loss;
    if (st == MNV2_OK)
        st = mnv2_forward(m, x, n, 2, MNV2_MODE_TRAIN, NULL, 0);
    if (st == MNV2_OK)
        st = mnv2_backward(m, y, 2, &loss);
    if (st == MNV2_OK)
        st = mnv2_step(m);
    if (st == MNV2_OK)
        st = mnv2_forward(m, x, n, 2, MNV2_MODE_INFER, NULL, 0);
    free(x);
    mnv2_model_destroy(m);
    j->status = st;
    return NULL;
}

static void minimum_caller_stack(void **state)
{
    (void)state;
#if defined(__SANITIZE_ADDRESS__)
    /* AddressSanitizer's redzones grow every frame: the documented figure is for normal builds. */
    skip();
#endif
    const int32_t top = mnv2_cpu_isa();
    const int32_t levels[] = {MNV2_ISA_SCALAR, MNV2_ISA_SSE41, MNV2_ISA_AVX2, MNV2_ISA_AVX512, MNV2_ISA_NEON};
    for (size_t l = 0; l < sizeof levels / sizeof levels[0]; l++) {
        if (levels[l] > top || (levels[l] == MNV2_ISA_NEON) != (top == MNV2_ISA_NEON && levels[l] != 0))
            continue; /* not on this CPU; on AArch64 scalar and neon only */
        for (uint32_t threads = 1; threads <= 2; threads++) {
            struct stack_job j = {MNV2_PRESET_REDUCED, levels[l], threads, -100};
            pthread_attr_t attr;
            assert_int_equal(pthread_attr_init(&attr), 0);
            assert_int_equal(pthread_attr_setstacksize(&attr, MNV2_CALLER_STACK_MIN), 0);
            pthread_t t;
            assert_int_equal(pthread_create(&t, &attr, stack_body, &j), 0);
            assert_int_equal(pthread_join(t, NULL), 0);
            pthread_attr_destroy(&attr);
            if (j.status != MNV2_OK)
                fail_msg("level %s, %u threads: status %d", mnv2_isa_name(levels[l]), (unsigned)threads, (int)j.status);
        }
    }
}

/* threads = 0 is the CPUs the process may run on: one CPU in the affinity mask, one thread. */
static void threads_zero_follows_affinity(void **state)
{
    (void)state;
    cpu_set_t all, one;
    assert_int_equal(sched_getaffinity(0, sizeof all, &all), 0);
    const uint32_t usable = mnv2__usable_cpus();
    assert_true(usable >= 1);
    assert_true(usable <= (uint32_t)CPU_COUNT(&all));
    int first = 0;
    while (!CPU_ISSET(first, &all))
        first++;
    CPU_ZERO(&one);
    CPU_SET(first, &one);
    assert_int_equal(sched_setaffinity(0, sizeof one, &one), 0);
    assert_int_equal(mnv2__usable_cpus(), 1);
    mnv2_config *c = small_config(0, -1);
    mnv2_model *m = NULL;
    const int32_t st = mnv2_model_create(c, &m);
    sched_setaffinity(0, sizeof all, &all);
    expect_ok(st);
    mnv2_config_destroy(c);
    assert_int_equal(m->plan->threads, 1);
    mnv2_model_destroy(m);
}

/* Extreme configurations: every figure is either exact and sane, or the configuration is refused
 * with INVALID_ARGUMENT naming the layer whose sizes overflow (on this build's size_t). Whatever
 * mnv2_config_stat refuses, mnv2_model_create refuses the same way, before allocating. */
static void sizes_extreme_configurations(void **state)
{
    (void)state;
    const double widths[] = {0.05, 1.0, 4.0};
    const int64_t sizes[] = {1, 224, 4096};
    const int64_t batches[] = {1, 256, 65536};
    const int64_t classes[] = {1, 65536};
    const int32_t wide[][4] = {{64, 16384, 8, 1}, {64, 16384, 8, 1}};
    int refused = 0, sized = 0;
    for (int table = 0; table < 2; table++)
        for (size_t wi = 0; wi < 3; wi++)
            for (size_t si = 0; si < 3; si++)
                for (size_t bi = 0; bi < 3; bi++)
                    for (size_t ci = 0; ci < 2; ci++) {
                        mnv2_config *c = NULL;
                        expect_ok(mnv2_config_create(MNV2_PRESET_STANDARD, &c));
                        if (table)
                            expect_ok(mnv2_config_set_blocks(c, &wide[0][0], 2));
                        if (table) {
                            expect_ok(mnv2_config_set_int(c, MNV2_KEY_STEM_CHANNELS, 16384));
                            expect_ok(mnv2_config_set_int(c, MNV2_KEY_HEAD_CHANNELS, 65536));
                            expect_ok(mnv2_config_set_int(c, MNV2_KEY_INPUT_CHANNELS, 64));
                        }
                        expect_ok(mnv2_config_set_float(c, MNV2_KEY_WIDTH_MULT, widths[wi]));
                        expect_ok(mnv2_config_set_int(c, MNV2_KEY_INPUT_HEIGHT, sizes[si]));
                        expect_ok(mnv2_config_set_int(c, MNV2_KEY_INPUT_WIDTH, sizes[si]));
                        expect_ok(mnv2_config_set_int(c, MNV2_KEY_MAX_BATCH, batches[bi]));
                        expect_ok(mnv2_config_set_int(c, MNV2_KEY_CLASSES, classes[ci]));
                        uint64_t params = 0, macs = 0, ibytes = 0, tbytes = 0;
                        int32_t st = mnv2_config_stat(c, MNV2_STAT_PARAMS, 0, &params);
                        if (st == MNV2_OK)
                            st = mnv2_config_stat(c, MNV2_STAT_MACS, 0, &macs);
                        if (st == MNV2_OK)
                            st = mnv2_config_stat(c, MNV2_STAT_INFER_BYTES, 0, &ibytes);
                        if (st == MNV2_OK)
                            st = mnv2_config_stat(c, MNV2_STAT_TRAIN_BYTES, 0, &tbytes);
                        if (st != MNV2_OK) {
                            expect_fail(st, MNV2_ERR_INVALID_ARGUMENT, "overflow");
                            if (!strstr(mnv2_last_error(), "features.") && !strstr(mnv2_last_error(), "classifier") &&
                                !strstr(mnv2_last_error(), "scratch") && !strstr(mnv2_last_error(), "memory"))
                                fail_msg("no layer named: %s", mnv2_last_error());
                            mnv2_model *m = NULL;
                            st = mnv2_model_create(c, &m);
                            assert_int_equal(st, MNV2_ERR_INVALID_ARGUMENT);
                            assert_null(m);
                            refused++;
                        } else {
                            /* Exact figures: the memory holds at least the parameters (values and
                             * folded copy) and training needs more than inference. */
                            assert_true(ibytes >= 8 * params);
                            assert_true(tbytes > ibytes);
                            assert_true(tbytes >= 20 * params);
                            assert_true(macs > 0);
                            sized++;
                            if (tbytes < ((uint64_t)64 << 20)) {
                                mnv2_model *m = NULL;
                                expect_ok(mnv2_model_create(c, &m));
                                mnv2_model_destroy(m);
                            }
                        }
                        mnv2_config_destroy(c);
                    }
    assert_true(sized > 0);
    assert_true(refused > 0);
}

/* A model file patched (CONF values, CRC recomputed) to absurd runtime resources. */
static int patch_conf(uint8_t *d, size_t size, int32_t key, int64_t value)
{
    size_t pos = MNV2__HEADER_SIZE;
    while (pos + MNV2__SECTION_OVERHEAD <= size) {
        const uint64_t len = mnv2__le64(d + pos + 4);
        if (memcmp(d + pos, "CONF", 4) == 0) {
            uint8_t *p = d + pos + 12;
            const uint32_t n = mnv2__le32(p);
            for (uint32_t i = 0; i < n; i++) {
                uint8_t *e = p + 4 + 16 * (size_t)i;
                if (mnv2__le32(e) == (uint32_t)key) {
                    for (int b = 0; b < 8; b++)
                        e[8 + b] = (uint8_t)((uint64_t)value >> (8 * b));
                    const uint32_t crc = mnv2__crc32(0, d + pos, 12 + (size_t)len);
                    for (int b = 0; b < 4; b++)
                        d[pos + 12 + len + b] = (uint8_t)(crc >> (8 * b));
                    return 1;
                }
            }
            return 0;
        }
        pos += MNV2__SECTION_OVERHEAD + (size_t)len;
    }
    return 0;
}

static void sizes_file_does_not_choose_resources(void **state)
{
    (void)state;
    /* An 8x8 inference-only model: cheap to load even at the capped batch. */
    mnv2_config *c = small_config(1, -1);
    expect_ok(mnv2_config_set_int(c, MNV2_KEY_INPUT_HEIGHT, 8));
    expect_ok(mnv2_config_set_int(c, MNV2_KEY_INPUT_WIDTH, 8));
    expect_ok(mnv2_config_set_int(c, MNV2_KEY_TRAINABLE, 0));
    mnv2_model *m = NULL;
    expect_ok(mnv2_model_create(c, &m));
    mnv2_config_destroy(c);
    void *data;
    size_t size;
    expect_ok(mnv2_model_save_mem(m, NULL, 0, &data, &size));
    mnv2_model_destroy(m);
    uint8_t *d = data;
    assert_true(patch_conf(d, size, MNV2_KEY_THREADS, 300));
    assert_true(patch_conf(d, size, MNV2_KEY_MAX_BATCH, 65536));
    int64_t v;
    /* Defaults (NULL options): 1 thread, the batch capped. */
    expect_ok(mnv2_model_load_mem(d, size, NULL, &m, NULL));
    expect_ok(mnv2_model_get_int(m, MNV2_KEY_THREADS, &v));
    assert_int_equal(v, 1);
    expect_ok(mnv2_model_get_int(m, MNV2_KEY_MAX_BATCH, &v));
    assert_int_equal(v, MNV2_LOAD_BATCH_CAP);
    mnv2_model_destroy(m);
    /* "As saved": a hint, bounded by the CPUs the process may use and by batch_cap. */
    mnv2_load_options o;
    expect_ok(mnv2_load_options_default(&o));
    assert_int_equal(o.threads, 1);
    o.threads = -1;
    o.batch_cap = 9;
    expect_ok(mnv2_model_load_mem(d, size, &o, &m, NULL));
    expect_ok(mnv2_model_get_int(m, MNV2_KEY_THREADS, &v));
    assert_true(v >= 1 && v <= (int64_t)mnv2__usable_cpus());
    expect_ok(mnv2_model_get_int(m, MNV2_KEY_MAX_BATCH, &v));
    assert_int_equal(v, 9);
    mnv2_model_destroy(m);
    /* The caller's values win. */
    expect_ok(mnv2_load_options_default(&o));
    o.threads = 2;
    o.max_batch = 3;
    expect_ok(mnv2_model_load_mem(d, size, &o, &m, NULL));
    expect_ok(mnv2_model_get_int(m, MNV2_KEY_THREADS, &v));
    assert_int_equal(v, 2);
    expect_ok(mnv2_model_get_int(m, MNV2_KEY_MAX_BATCH, &v));
    assert_int_equal(v, 3);
    mnv2_model_destroy(m);
    /* An options struct of version 0.1 (20 bytes) gets the defaults of the newer fields. */
    expect_ok(mnv2_load_options_default(&o));
    o.struct_size = (uint32_t)offsetof(mnv2_load_options, batch_cap);
    o.batch_cap = 1; /* beyond its struct_size: not read */
    expect_ok(mnv2_model_load_mem(d, size, &o, &m, NULL));
    expect_ok(mnv2_model_get_int(m, MNV2_KEY_MAX_BATCH, &v));
    assert_int_equal(v, MNV2_LOAD_BATCH_CAP);
    mnv2_model_destroy(m);
    o.struct_size = 12;
    m = NULL;
    expect_fail(mnv2_model_load_mem(d, size, &o, &m, NULL), MNV2_ERR_INVALID_ARGUMENT, "struct_size");
    /* A small memory cap refuses the capped batch before allocating. */
    expect_ok(mnv2_load_options_default(&o));
    o.memory_cap = 1 << 20;
    expect_fail(mnv2_model_load_mem(d, size, &o, &m, NULL), MNV2_ERR_OUT_OF_MEMORY, "memory_cap");
    assert_null(m);
    /* 128x128 input at batch 65536, trainable: terabytes (the 4.7 TiB). Refused before
     * allocating by the default memory cap, even when the batch cap lets the file's batch through. */
    assert_true(patch_conf(d, size, MNV2_KEY_INPUT_HEIGHT, 128));
    assert_true(patch_conf(d, size, MNV2_KEY_INPUT_WIDTH, 128));
    assert_true(patch_conf(d, size, MNV2_KEY_TRAINABLE, 1));
    expect_ok(mnv2_load_options_default(&o));
    o.batch_cap = 65536;
    expect_fail(mnv2_model_load_mem(d, size, &o, &m, NULL), MNV2_ERR_OUT_OF_MEMORY, "memory_cap");
    assert_null(m);
    mnv2_buffer_free(data);
}

/* argv[1], if given: a cmocka test-name pattern to run (meson's robust_sizes runs sizes_*, cheap
 * enough for the emulated CPUs of .ci/x86-levels.sh), or, after a '!', to leave out (a cross
 * build run under qemu-user leaves out fork_*: qemu-user 7.2 aborts with an assertion when a
 * forked child starts threads). */
int main(int argc, char **argv)
{
    if (argc > 1 && argv[1][0] == '!')
        cmocka_set_skip_filter(argv[1] + 1);
    else if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fp_environment_does_not_matter),
        cmocka_unit_test(fork_child_uses_parent_model),
        cmocka_unit_test(minimum_caller_stack),
        cmocka_unit_test(threads_zero_follows_affinity),
        cmocka_unit_test(sizes_extreme_configurations),
        cmocka_unit_test(sizes_file_does_not_choose_resources),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
