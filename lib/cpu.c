/* SPDX-License-Identifier: BSD-2-Clause */
/* CPU detection (once per process) and the kernel table for each ISA level. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "mnv2.h"
#include "kernels/kernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define MNV2_X86 1
#endif
#if defined(__aarch64__)
#include <sys/auxv.h>
#define MNV2_ARM64 1
#ifndef HWCAP_ASIMD
#define HWCAP_ASIMD (1 << 1)
#endif
#endif

const char *const mnv2__kernel_names[MNV2_N_KERNELS] = {
#define MNV2_KERNEL(name, params) #name,
#include "kernels/kernel_list.inc"
#undef MNV2_KERNEL
};

static pthread_once_t detect_once = PTHREAD_ONCE_INIT;
static int detected_level = MNV2_ISA_SCALAR;

#ifdef MNV2_X86
static uint64_t xgetbv0(void)
{
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

static int x86_level(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return MNV2_ISA_SCALAR;
    const int sse41 = (c >> 19) & 1, fma = (c >> 12) & 1, osxsave = (c >> 27) & 1, avx = (c >> 28) & 1;
    if (!sse41)
        return MNV2_ISA_SCALAR;
    if (!(osxsave && avx && fma))
        return MNV2_ISA_SSE41;
    const uint64_t xcr0 = xgetbv0();
    if ((xcr0 & 0x6) != 0x6) /* XMM and YMM state saved by the OS */
        return MNV2_ISA_SSE41;
    if (__get_cpuid_max(0, NULL) < 7)
        return MNV2_ISA_SSE41;
    __cpuid_count(7, 0, a, b, c, d);
    const int avx2 = (b >> 5) & 1;
    if (!avx2)
        return MNV2_ISA_SSE41;
    const int avx512f = (b >> 16) & 1, avx512dq = (b >> 17) & 1, avx512bw = (b >> 30) & 1, avx512vl = (b >> 31) & 1;
    if (avx512f && avx512dq && avx512bw && avx512vl && (xcr0 & 0xe6) == 0xe6) /* opmask, ZMM state */
        return MNV2_ISA_AVX512;
    return MNV2_ISA_AVX2;
}
#endif

/* Level named by MNV2_ISA, or -1 when unset or unknown. */
static int env_level(void)
{
    const char *e = getenv("MNV2_ISA");
    static const struct { const char *name; int level; } names[] = {
        {"scalar", MNV2_ISA_SCALAR}, {"sse41", MNV2_ISA_SSE41}, {"avx2", MNV2_ISA_AVX2},
        {"avx512", MNV2_ISA_AVX512}, {"neon", MNV2_ISA_NEON},
    };
    if (!e)
        return -1;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(e, names[i].name))
            return names[i].level;
    return -1;
}

static void detect(void)
{
    int level = MNV2_ISA_SCALAR;
#if defined(MNV2_X86)
    level = x86_level();
#elif defined(MNV2_ARM64)
    /* Advanced SIMD is baseline on AArch64; the kernel still says so in AT_HWCAP (no optional
     * extension is used yet). */
    level = (getauxval(AT_HWCAP) & HWCAP_ASIMD) ? MNV2_ISA_NEON : MNV2_ISA_SCALAR;
#endif
    const int env = env_level();
    /* The variable can only lower the level; a level of the other architecture means scalar. */
    if (env >= 0 && env < level)
        level = (level == MNV2_ISA_NEON && env != MNV2_ISA_SCALAR) ? MNV2_ISA_SCALAR : env;
    detected_level = level;
}

int32_t mnv2_cpu_isa(void)
{
    pthread_once(&detect_once, detect);
    return detected_level;
}

const char *mnv2_isa_name(int32_t isa)
{
    switch (isa) {
    case MNV2_ISA_SCALAR: return "scalar";
    case MNV2_ISA_SSE41: return "sse41";
    case MNV2_ISA_AVX2: return "avx2";
    case MNV2_ISA_AVX512: return "avx512";
    case MNV2_ISA_NEON: return "neon";
    default: return "unknown";
    }
}

/* One table per level, filled once: scalar first, then each level overwrites what it speeds up. */
static mnv2_kernels tables[MNV2_ISA_NEON + 1];
static int table_level[MNV2_ISA_NEON + 1];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void fill_scalar(mnv2_kernels *k)
{
#define MNV2_KERNEL(name, params) k->name = mnv2_##name##_scalar;
#include "kernels/kernel_list.inc"
#undef MNV2_KERNEL
}

/* Level l's table: scalar, then each level up to l that this build has, in order. */
static void build_tables(void)
{
    for (int l = 0; l <= MNV2_ISA_NEON; l++) {
        fill_scalar(&tables[l]);
        table_level[l] = MNV2_ISA_SCALAR;
#if defined(MNV2_HAVE_SSE41)
        if (l >= MNV2_ISA_SSE41 && l <= MNV2_ISA_AVX512)
            mnv2__fill_sse41(&tables[l]), table_level[l] = MNV2_ISA_SSE41;
#endif
#if defined(MNV2_HAVE_AVX2)
        if (l >= MNV2_ISA_AVX2 && l <= MNV2_ISA_AVX512)
            mnv2__fill_avx2(&tables[l]), table_level[l] = MNV2_ISA_AVX2;
#endif
#if defined(MNV2_HAVE_AVX512)
        if (l == MNV2_ISA_AVX512)
            mnv2__fill_avx512(&tables[l]), table_level[l] = MNV2_ISA_AVX512;
#endif
#if defined(MNV2_HAVE_NEON)
        if (l == MNV2_ISA_NEON)
            mnv2__fill_neon(&tables[l]), table_level[l] = MNV2_ISA_NEON;
#endif
    }
}

const mnv2_kernels *mnv2__kernels_for(int level, int *level_used)
{
    pthread_once(&tables_once, build_tables);
    const int cpu = mnv2_cpu_isa();
    if (level < 0 || level > cpu)
        level = cpu;
    /* On AArch64 the levels are scalar and NEON: an x86 level there means scalar. */
    if (cpu == MNV2_ISA_NEON && level != MNV2_ISA_NEON)
        level = MNV2_ISA_SCALAR;
    if (level_used)
        *level_used = table_level[level];
    return &tables[level];
}
