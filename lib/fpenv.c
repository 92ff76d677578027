/* SPDX-License-Identifier: BSD-2-Clause */
/* The floating-point environment of every computing call (fpenv.h). */
#include <pthread.h>

#include "fpenv.h"

#if defined(__x86_64__) || defined(__i386__)
#define MNV2_MXCSR_DEFAULT 0x1f80u /* all exceptions masked, round to nearest, no FTZ / DAZ */

/* stmxcsr / ldmxcsr by hand: an i386 baseline build has no SSE intrinsics (there the
 * instructions run only when CPUID says SSE is there). */
static uint32_t get_mxcsr(void)
{
    uint32_t v;
    __asm__ volatile("stmxcsr %0" : "=m"(v));
    return v;
}

static void set_mxcsr(uint32_t v) { __asm__ volatile("ldmxcsr %0" : : "m"(v)); }
#endif

#if defined(__x86_64__)
/* Every float and double operation of the library (and of libm) on x86-64 is SSE, governed by
 * MXCSR alone: saving and setting it is all it takes (tens of nanoseconds, against about 1 us
 * for fegetenv / fesetenv, whose fnstenv / fldenv are slow). */
void mnv2__fpenv_set_default(void) { set_mxcsr(MNV2_MXCSR_DEFAULT); }

void mnv2__fpenv_enter(mnv2_fpenv *saved)
{
    saved->mxcsr = get_mxcsr();
    set_mxcsr(MNV2_MXCSR_DEFAULT);
}

void mnv2__fpenv_leave(const mnv2_fpenv *saved) { set_mxcsr(saved->mxcsr); }

#else
/* Elsewhere fenv covers the environment (i386: the x87 control word, whose rounding mode the
 * baseline code uses; AArch64: FPCR, FE_DFL_ENV being FPCR 0), plus MXCSR on i386 when the CPU
 * has SSE (the SIMD kernels use it; FTZ / DAZ are outside i386's fenv_t). */
#if defined(__i386__)
#include <cpuid.h>
static int has_sse;
static pthread_once_t sse_once = PTHREAD_ONCE_INIT;
static void detect_sse(void)
{
    unsigned a, b, c, d;
    has_sse = __get_cpuid(1, &a, &b, &c, &d) && ((d >> 25) & 1);
}
static int sse(void)
{
    pthread_once(&sse_once, detect_sse);
    return has_sse;
}
#endif

void mnv2__fpenv_set_default(void)
{
    fesetenv(FE_DFL_ENV);
#if defined(__i386__)
    if (sse())
        set_mxcsr(MNV2_MXCSR_DEFAULT);
#endif
}

void mnv2__fpenv_enter(mnv2_fpenv *saved)
{
#if defined(__i386__)
    if (sse())
        saved->mxcsr = get_mxcsr();
#endif
    fegetenv(&saved->env);
    mnv2__fpenv_set_default();
}

void mnv2__fpenv_leave(const mnv2_fpenv *saved)
{
    fesetenv(&saved->env);
#if defined(__i386__)
    if (sse())
        set_mxcsr(saved->mxcsr);
#endif
}
#endif
