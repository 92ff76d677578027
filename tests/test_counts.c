/* SPDX-License-Identifier: BSD-2-Clause */
/* Parameter and MAC counts of the presets against torchvision / the reference scripts, and the
 * pre-flight memory report against what create allocates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mnv2.h"

static uint64_t stat_of(int32_t preset, int64_t classes, int32_t stat)
{
    mnv2_config *c = NULL;
    assert_int_equal(mnv2_config_create(preset, &c), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_CLASSES, classes), MNV2_OK);
    uint64_t v = 0;
    assert_int_equal(mnv2_config_stat(c, stat, 0, &v), MNV2_OK);
    mnv2_config_destroy(c);
    return v;
}

static void standard_1000(void **state)
{
    (void)state;
    assert_int_equal(stat_of(MNV2_PRESET_STANDARD, 1000, MNV2_STAT_PARAMS), 3504872);
    /* torchvision at 224x224: 300,774,272 MACs (conv + linear), the 300.8 M quoted everywhere */
    uint64_t macs = stat_of(MNV2_PRESET_STANDARD, 1000, MNV2_STAT_MACS);
    assert_true(macs >= 300750000 && macs < 300850000);
    assert_int_equal(stat_of(MNV2_PRESET_STANDARD, 1000, MNV2_STAT_BLOCKS), 17);
}

static void standard_10(void **state)
{
    (void)state;
    assert_int_equal(stat_of(MNV2_PRESET_STANDARD, 10, MNV2_STAT_PARAMS), 2236682);
}

static void reduced_10(void **state)
{
    (void)state;
    assert_int_equal(stat_of(MNV2_PRESET_REDUCED, 10, MNV2_STAT_PARAMS), 1327274);
    uint64_t macs = stat_of(MNV2_PRESET_REDUCED, 10, MNV2_STAT_MACS);
    assert_true(macs >= 122250000 && macs < 122350000);
    assert_int_equal(stat_of(MNV2_PRESET_REDUCED, 10, MNV2_STAT_BLOCKS), 10);
}

/* The paper's Table 2 lists 18 blocks (level 3 with an extra identity, level 4 with 3 identities):
 * expressible as a custom table. */
static void paper_table_18_blocks(void **state)
{
    (void)state;
    mnv2_config *c = NULL;
    assert_int_equal(mnv2_config_create(MNV2_PRESET_STANDARD, &c), MNV2_OK);
    const int32_t rows[][4] = {{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 4, 2}, {6, 64, 4, 2},
                               {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
    assert_int_equal(mnv2_config_set_blocks(c, &rows[0][0], 7), MNV2_OK);
    uint64_t blocks = 0;
    assert_int_equal(mnv2_config_stat(c, MNV2_STAT_BLOCKS, 0, &blocks), MNV2_OK);
    assert_int_equal(blocks, 18);
    mnv2_config_destroy(c);
}

static void memory_report_matches_create(void **state)
{
    (void)state;
    mnv2_config *c = NULL;
    assert_int_equal(mnv2_config_create(MNV2_PRESET_REDUCED, &c), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_MAX_BATCH, 4), MNV2_OK);
    uint64_t train = 0, infer = 0, train2 = 0;
    assert_int_equal(mnv2_config_stat(c, MNV2_STAT_TRAIN_BYTES, 0, &train), MNV2_OK);
    assert_int_equal(mnv2_config_stat(c, MNV2_STAT_INFER_BYTES, 0, &infer), MNV2_OK);
    assert_int_equal(mnv2_config_stat(c, MNV2_STAT_TRAIN_BYTES, 2, &train2), MNV2_OK);
    assert_true(infer < train);
    assert_true(train2 < train);
    /* the model reports the same figure as the config did before it existed */
    mnv2_model *m = NULL;
    assert_int_equal(mnv2_model_create(c, &m), MNV2_OK);
    uint64_t from_model = 0;
    assert_int_equal(mnv2_model_stat(m, MNV2_STAT_TRAIN_BYTES, 0, &from_model), MNV2_OK);
    assert_int_equal(from_model, train);
    uint64_t params = 0;
    assert_int_equal(mnv2_model_stat(m, MNV2_STAT_PARAMS, 0, &params), MNV2_OK);
    /* parameters, gradients and two moments alone take 16 bytes per parameter */
    assert_true(train > 16 * params);
    mnv2_model_destroy(m);
    mnv2_config_destroy(c);
}

static void layer_report_sums_to_totals(void **state)
{
    (void)state;
    for (int32_t preset = MNV2_PRESET_STANDARD; preset <= MNV2_PRESET_REDUCED; preset++) {
        mnv2_config *c = NULL;
        assert_int_equal(mnv2_config_create(preset, &c), MNV2_OK);
        uint64_t n = 0, params = 0, macs = 0, sp = 0, sm = 0;
        assert_int_equal(mnv2_config_stat(c, MNV2_STAT_LAYERS, 0, &n), MNV2_OK);
        assert_int_equal(mnv2_config_stat(c, MNV2_STAT_PARAMS, 0, &params), MNV2_OK);
        assert_int_equal(mnv2_config_stat(c, MNV2_STAT_MACS, 0, &macs), MNV2_OK);
        for (uint32_t i = 0; i < n; i++) {
            mnv2_layer_info li = {.struct_size = sizeof li};
            assert_int_equal(mnv2_config_layer_info(c, i, &li), MNV2_OK);
            sp += li.params;
            sm += li.macs;
        }
        mnv2_layer_info li = {.struct_size = sizeof li};
        assert_int_equal(mnv2_config_layer_info(c, (uint32_t)n, &li), MNV2_ERR_INVALID_ARGUMENT);
        assert_int_equal(sp, params);
        assert_int_equal(sm, macs);
        mnv2_config_destroy(c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(standard_1000),
        cmocka_unit_test(standard_10),
        cmocka_unit_test(reduced_10),
        cmocka_unit_test(paper_table_18_blocks),
        cmocka_unit_test(memory_report_matches_create),
        cmocka_unit_test(layer_report_sums_to_totals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
