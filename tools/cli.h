/*
 * The command-line convention shared by every mnv2 tool (docs/cli.md), in one place:
 * -h/--help and -V/--version, "--" ending the options, usage errors (exit 2), runtime errors
 * (exit 1, common.h's ex_die), and output write errors detected at exit (exit 1).
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef MNV2_TOOLS_CLI_H
#define MNV2_TOOLS_CLI_H

#include "common.h"

/* Exit statuses of every tool. */
#define CLI_EXIT_OK 0
#define CLI_EXIT_FAILURE 1 /* runtime error: "tool: message" on stderr */
#define CLI_EXIT_USAGE 2   /* usage error: "tool: message" and the usage on stderr */

/* Start a tool: its name (messages, --version) and its --help text, whose first paragraph (up to
 * the first empty line) is the usage printed after a usage error. Also makes a write error on
 * stdout (full disk, closed pipe) a runtime error: SIGPIPE is ignored and, at exit, stdout is
 * flushed and closed; a failure prints "tool: write error: ..." and the exit status becomes 1. */
void cli_begin(const char *prog, const char *help);

/* What cli_arg() found at argv[*i]. */
enum { CLI_OPTION, CLI_OPERAND, CLI_SKIP };

/* Classify argv[*i]: -h/--help prints the help on stdout and exits 0; -V/--version prints
 * "tool (mnv2 VERSION)" on stdout and exits 0; "--" returns CLI_SKIP and makes every later argument
 * an operand; "-" and arguments not starting with '-' are operands; anything else is an option for
 * the tool to match (ex_opt(), cli_flag()) or to reject with cli_unknown(). */
int cli_arg(int argc, char **argv, int *i);

/* 1 when argv[i] is exactly the flag @p name (an option without a value). */
int cli_flag(const char *arg, const char *name);

/* "tool: unknown option '...'" and the usage on stderr, exit 2. */
EX_NORETURN void cli_unknown(const char *arg);

/* "tool: message" and the usage on stderr, exit 2. */
EX_NORETURN void cli_usage_error(const char *fmt, ...) EX_PRINTF(1, 2);

/* Check stdout now (flush; a write error is fatal as at exit). For long runs that print
 * progress, so that a closed pipe stops them early. */
void cli_check_stdout(void);

#endif
