/*
 * Helpers shared by the mnv2 tools: errors, option parsing, models, files (cli.h: the CLI convention).
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef MNV2_EXAMPLES_COMMON_H
#define MNV2_EXAMPLES_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include <mnv2.h>
#include <mnv2_data.h>

#if defined(__GNUC__)
#define EX_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define EX_NORETURN __attribute__((noreturn))
#else
#define EX_PRINTF(f, a)
#define EX_NORETURN
#endif

/* ---- errors: one line "prog: message" on stderr, exit status 1 ---- */
void ex_set_prog(const char *name);
const char *ex_prog(void);
EX_NORETURN void ex_die(const char *fmt, ...) EX_PRINTF(1, 2);
/* "prog: <what>: <mnv2_last_error()>" (the status text when the library left no detail). */
EX_NORETURN void ex_die_mnv2(int32_t rc, const char *fmt, ...) EX_PRINTF(2, 3);
/* Calls ex_die_mnv2() unless rc is MNV2_OK. */
void ex_check(int32_t rc, const char *fmt, ...) EX_PRINTF(2, 3);

/* ---- command-line options: "--name VALUE" or "--name=VALUE" ---- */
/* If argv[*i] is option @p name, store its value in *value (advancing *i past a separate value)
 * and return 1; otherwise return 0. A missing value is a usage error (exit 2). */
int ex_opt(int argc, char **argv, int *i, const char *name, const char **value);
/* A value out of range or not a number is a usage error (exit 2). */
uint32_t ex_parse_u32(const char *opt, const char *text, uint32_t min, uint32_t max);
double ex_parse_double(const char *opt, const char *text, double min, double max);

/* ---- models ---- */
/* A new configuration for a --preset argument: "reduced", "standard", or a block table
 * "t,c,n,s;t,c,n,s;..." (rows of expansion, channels, repeats, stride) on the reduced preset.
 * Returns NULL when @p spec is none of these; exits on library errors. */
mnv2_config *ex_config_for(const char *spec);
/* Load a model file for inference (max batch @p max_batch, @p threads: -1 = as saved) with its class
 * names; exits on failure. Its standardisation: mnv2_model_get_normalization(). */
void ex_model_load(const char *path, uint32_t max_batch, int32_t threads, mnv2_model **model,
                   mnv2_file_info **info);

/* ---- time ---- */
double ex_now(void); /* monotonic seconds */

/* ---- files ---- */
/* Read a whole file into a new malloc'ed buffer (at most @p max bytes). 0, or -1 with errno set
 * (EFBIG when larger than max). */
int ex_read_file(const char *path, size_t max, uint8_t **data, size_t *size);
/* Write a file atomically (temporary file in the same directory, fsync, rename). 0, or -1 with errno. */
int ex_write_atomic(const char *path, const void *data, size_t size);
/* "OUT" + suffix in a new malloc'ed string. */
char *ex_concat(const char *a, const char *b);

/* ---- input standardisation (mnv2_model_set_normalization()) ----
 * n = 0: none (inputs are pixel / 255); 1: one mean / std for all channels; else one per channel. */
#define EX_MAX_STATS 64 /* the largest MNV2_KEY_INPUT_CHANNELS */
typedef struct ex_norm {
    uint32_t n;
    float mean[EX_MAX_STATS];
    float std[EX_MAX_STATS];
} ex_norm;

#endif
