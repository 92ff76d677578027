/* SPDX-License-Identifier: BSD-2-Clause */
/* Internal: the floating-point environment the library computes in. Results must not depend on
 * the caller's: every public call that computes switches the calling thread to the default
 * environment (round to nearest, no flush-to-zero or denormals-are-zero, exceptions masked: on
 * x86-64 MXCSR 0x1f80, on i386 fenv's default plus MXCSR, on AArch64 FPCR 0) and restores the caller's on
 * return; worker threads set it when they start (they run nothing but the library's loops). */
#ifndef MNV2_FPENV_H
#define MNV2_FPENV_H
#include <fenv.h>
#include <stdint.h>

typedef struct mnv2_fpenv {
    fenv_t env;     /* not x86-64: the caller's fenv */
    uint32_t mxcsr; /* x86 with SSE: the caller's MXCSR */
} mnv2_fpenv;

/* Save the calling thread's environment into *saved and switch to the library's. */
void mnv2__fpenv_enter(mnv2_fpenv *saved);
/* Restore what mnv2__fpenv_enter saved. */
void mnv2__fpenv_leave(const mnv2_fpenv *saved);
/* The body of a public entry point that computes: evaluates the int32_t status expr in the
 * library's environment and returns it, the caller's environment restored. */
#define MNV2__RETURN_IN_FPENV(expr)                                                                  \
    do {                                                                                           \
        mnv2_fpenv fpenv_saved_;                                                                   \
        mnv2__fpenv_enter(&fpenv_saved_);                                                          \
        const int32_t fpenv_status_ = (expr);                                                      \
        mnv2__fpenv_leave(&fpenv_saved_);                                                          \
        return fpenv_status_;                                                                      \
    } while (0)
/* Switch the calling thread to the library's environment for good (worker threads). */
void mnv2__fpenv_set_default(void);

#endif
