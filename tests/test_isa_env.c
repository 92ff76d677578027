/* SPDX-License-Identifier: BSD-2-Clause */
/* MNV2_ISA set to a value that is not a level of this CPU's architecture (the test's environment
 * sets it: an unknown name, or a level of the other architecture) is reported, not ignored:
 * mnv2_model_create() fails with INVALID_ARGUMENT and says why; mnv2_cpu_isa() keeps the CPU's
 * level. Run by meson with MNV2_ISA set; argv[1] is text the error must contain. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mnv2.h"

static const char *expected;

static void invalid_level_is_an_error(void **state)
{
    (void)state;
    const char *e = getenv("MNV2_ISA");
    assert_non_null(e);
    mnv2_config *c = NULL;
    assert_int_equal(mnv2_config_create(MNV2_PRESET_REDUCED, &c), MNV2_OK);
    mnv2_model *m = NULL;
    assert_int_equal(mnv2_model_create(c, &m), MNV2_ERR_INVALID_ARGUMENT);
    assert_null(m);
    const char *msg = mnv2_last_error();
    if (!strstr(msg, "MNV2_ISA") || !strstr(msg, e) || !strstr(msg, expected))
        fail_msg("message '%s' should name MNV2_ISA, '%s' and '%s'", msg, e, expected);
    /* The level in use is the CPU's: the same as without the variable (a valid level). */
    const int32_t isa = mnv2_cpu_isa();
    assert_true(isa == MNV2_ISA_SCALAR || isa == MNV2_ISA_SSE41 || isa == MNV2_ISA_AVX2 || isa == MNV2_ISA_AVX512 ||
                isa == MNV2_ISA_NEON);
    /* Loading goes through mnv2_model_create: the same error. */
    mnv2_config_destroy(c);
}

int main(int argc, char **argv)
{
    expected = argc > 1 ? argv[1] : "";
    const struct CMUnitTest tests[] = {cmocka_unit_test(invalid_level_is_an_error)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
