/*
 * The command-line convention of the mnv2 tools (docs/cli.md).
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include "cli.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *help_text = "";
static int operands_only;

static void print_usage(FILE *f)
{
    const char *end = strstr(help_text, "\n\n");
    size_t n = end ? (size_t)(end - help_text) + 1 : strlen(help_text);
    fwrite(help_text, 1, n, f);
    fprintf(f, "Try '%s --help' for more information.\n", ex_prog());
}

static void stdout_failed(int err)
{
    fprintf(stderr, "%s: write error: %s\n", ex_prog(), err ? strerror(err) : "unknown error");
    _exit(CLI_EXIT_FAILURE); /* from an atexit handler: exit() again would be undefined */
}

static void close_stdout(void)
{
    errno = 0;
    int bad = fflush(stdout) != 0 || ferror(stdout);
    int err = errno;
    if (fclose(stdout) != 0 && !bad) {
        bad = 1;
        err = errno;
    }
    if (bad)
        stdout_failed(err ? err : EIO);
}

void cli_check_stdout(void)
{
    errno = 0;
    if (fflush(stdout) != 0 || ferror(stdout))
        stdout_failed(errno ? errno : EIO);
}

void cli_begin(const char *prog, const char *help)
{
    ex_set_prog(prog);
    help_text = help;
    operands_only = 0;
    signal(SIGPIPE, SIG_IGN); /* a closed pipe becomes EPIPE, reported by close_stdout() */
    static int registered;
    if (!registered && atexit(close_stdout) == 0)
        registered = 1;
}

int cli_arg(int argc, char **argv, int *i)
{
    (void)argc;
    const char *a = argv[*i];
    if (operands_only || a[0] != '-' || a[1] == '\0')
        return CLI_OPERAND;
    if (strcmp(a, "--") == 0) {
        operands_only = 1;
        return CLI_SKIP;
    }
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
        fputs(help_text, stdout);
        exit(CLI_EXIT_OK);
    }
    if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
        printf("%s (mnv2 %s)\n", ex_prog(), mnv2_version_string());
        exit(CLI_EXIT_OK);
    }
    return CLI_OPTION;
}

int cli_flag(const char *arg, const char *name)
{
    return strcmp(arg, name) == 0;
}

void cli_usage_error(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", ex_prog());
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    print_usage(stderr);
    exit(CLI_EXIT_USAGE);
}

void cli_unknown(const char *arg)
{
    cli_usage_error("unknown option '%s'", arg);
}
