/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The tools' internal library (tools/cli.c, tools/common.c) on its own: how arguments are
 * classified, how option values are taken and parsed, presets. The paths that exit (help, version,
 * usage and runtime errors, write errors) are checked through every tool by test_cli.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "cli.h"
#include "common.h"

static void test_arg_kinds(void **state)
{
    (void)state;
    char *argv[] = {"tool", "--threads", "2", "-", "file", "--", "--help", "-V", NULL};
    int argc = 8, i = 1;
    cli_begin("tool", "usage: tool\n");
    assert_int_equal(cli_arg(argc, argv, &i), CLI_OPTION); /* --threads */
    i = 3;
    assert_int_equal(cli_arg(argc, argv, &i), CLI_OPERAND); /* "-" */
    i = 4;
    assert_int_equal(cli_arg(argc, argv, &i), CLI_OPERAND); /* file */
    i = 5;
    assert_int_equal(cli_arg(argc, argv, &i), CLI_SKIP); /* "--" */
    i = 6;
    assert_int_equal(cli_arg(argc, argv, &i), CLI_OPERAND); /* --help after "--": an operand */
    i = 7;
    assert_int_equal(cli_arg(argc, argv, &i), CLI_OPERAND);
    cli_begin("tool", "usage: tool\n"); /* a new parse: options again */
    i = 1;
    assert_int_equal(cli_arg(argc, argv, &i), CLI_OPTION);
}

static void test_opt_values(void **state)
{
    (void)state;
    char *argv[] = {"tool", "--threads", "2", "--threads=3", "--threadsx", "--batch", "7", NULL};
    int argc = 7, i = 1;
    const char *v = NULL;
    assert_int_equal(ex_opt(argc, argv, &i, "--threads", &v), 1);
    assert_string_equal(v, "2");
    assert_int_equal(i, 2); /* moved past the separate value */
    i = 3;
    assert_int_equal(ex_opt(argc, argv, &i, "--threads", &v), 1);
    assert_string_equal(v, "3");
    assert_int_equal(i, 3);
    i = 4;
    assert_int_equal(ex_opt(argc, argv, &i, "--threads", &v), 0); /* a longer name is another option */
    i = 5;
    assert_int_equal(ex_opt(argc, argv, &i, "--threads", &v), 0);
    assert_int_equal(ex_opt(argc, argv, &i, "--batch", &v), 1);
    assert_string_equal(v, "7");
    assert_true(cli_flag("--json", "--json"));
    assert_false(cli_flag("--json=1", "--json"));
}

static void test_parse_numbers(void **state)
{
    (void)state;
    assert_int_equal(ex_parse_u32("--n", "0", 0, 10), 0);
    assert_int_equal(ex_parse_u32("--n", "10", 0, 10), 10);
    assert_int_equal(ex_parse_u32("--n", "4294967295", 0, UINT32_MAX), UINT32_MAX);
    assert_true(ex_parse_double("--x", "1e-3", 0, 1) == 1e-3);
    assert_true(ex_parse_double("--x", "0.5", 0, 1) == 0.5);
}

static void test_presets(void **state)
{
    (void)state;
    mnv2_config *cfg = ex_config_for("reduced");
    assert_non_null(cfg);
    int64_t h;
    assert_int_equal(mnv2_config_get_int(cfg, MNV2_KEY_INPUT_HEIGHT, &h), MNV2_OK);
    assert_int_equal(h, 32);
    mnv2_config_destroy(cfg);
    cfg = ex_config_for("standard");
    assert_non_null(cfg);
    assert_int_equal(mnv2_config_get_int(cfg, MNV2_KEY_INPUT_HEIGHT, &h), MNV2_OK);
    assert_int_equal(h, 224);
    mnv2_config_destroy(cfg);
    cfg = ex_config_for("1,16,1,1;6,24,2,2");
    assert_non_null(cfg);
    mnv2_config_destroy(cfg);
    assert_null(ex_config_for("model.mnv2")); /* not a preset: NULL, no exit */
    assert_null(ex_config_for("1,16,1")); /* a short row */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arg_kinds),
        cmocka_unit_test(test_opt_values),
        cmocka_unit_test(test_parse_numbers),
        cmocka_unit_test(test_presets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
