/* SPDX-License-Identifier: BSD-2-Clause */
/* The ONNX reader's bounds (lib/onnx/pb_read.c, onnx_graph.c) and the export / import round trip
 * through memory: truncated varints and messages, lengths past the end, groups and bad field
 * numbers, nesting past the depth limit, a deeply nested subgraph (skipped, never entered), every
 * prefix of an export, random byte flips, and the API's argument checks. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "mnv2.h"
#include "mnv2_data.h"
#include "onnx/onnx.h"
#include "onnx/pb.h"

static int next_of(const uint8_t *p, size_t n, pb_field *f)
{
    pb_rd r = mnv2__pb_reader(p, n);
    return mnv2__pb_next(&r, f);
}

static void test_varints(void **state)
{
    (void)state;
    pb_field f;
    const uint8_t ok[] = {0x08, 0x96, 0x01};                 /* field 1 varint 150 */
    assert_int_equal(next_of(ok, sizeof ok, &f), 1);
    assert_int_equal(f.num, 1);
    assert_int_equal(f.v, 150);
    assert_int_equal(next_of(ok, 2, &f), -1);               /* truncated value */
    const uint8_t trunc_key[] = {0x88};
    assert_int_equal(next_of(trunc_key, 1, &f), -1);        /* truncated key */
    uint8_t max[11] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    assert_int_equal(next_of(max, 11, &f), 1);               /* ten bytes: UINT64_MAX */
    assert_true(f.v == UINT64_MAX);
    max[10] = 0x02;                                          /* bit 64 set: too large */
    assert_int_equal(next_of(max, 11, &f), -1);
    uint8_t eleven[12] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x81, 0x00};
    assert_int_equal(next_of(eleven, 12, &f), -1);           /* more than ten bytes */
    const uint8_t field0[] = {0x00, 0x01};
    assert_int_equal(next_of(field0, 2, &f), -1);            /* field number 0 */
    for (uint8_t wt = 3; wt < 8; wt++) {
        if (wt == 5)
            continue;
        const uint8_t g[] = {(uint8_t)(0x08 | wt), 0, 0, 0, 0, 0, 0, 0, 0};
        assert_int_equal(next_of(g, sizeof g, &f), -1);      /* groups and reserved wire types */
    }
    const uint8_t fixed[] = {0x0d, 1, 2, 3};                 /* fixed32 one byte short */
    assert_int_equal(next_of(fixed, sizeof fixed, &f), -1);
    assert_int_equal(next_of(ok, 0, &f), 0);                 /* empty message: end */
}

static void test_lengths(void **state)
{
    (void)state;
    pb_field f;
    const uint8_t exact[] = {0x0a, 0x03, 'a', 'b', 'c'};
    assert_int_equal(next_of(exact, sizeof exact, &f), 1);
    assert_int_equal(f.s.n, 3);
    assert_true(mnv2__pb_eq(f.s, "abc"));
    assert_int_equal(next_of(exact, sizeof exact - 1, &f), -1);  /* one byte past the end */
    /* A length of 2^63 and one of UINT64_MAX: refused before any pointer arithmetic. */
    const uint8_t huge[] = {0x0a, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 'x'};
    assert_int_equal(next_of(huge, sizeof huge, &f), -1);
    const uint8_t huge2[] = {0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 'x'};
    assert_int_equal(next_of(huge2, sizeof huge2, &f), -1);
}

static void test_depth(void **state)
{
    (void)state;
    /* PB_MAX_DEPTH + 4 messages nested in field 1: pb_sub() stops at the limit. */
    mnv2_wr w = {0};
    size_t marks[PB_MAX_DEPTH + 4];
    for (int i = 0; i < PB_MAX_DEPTH + 4; i++)
        marks[i] = mnv2__pb_begin(&w);
    mnv2__pb_int(&w, 2, 7);
    for (int i = PB_MAX_DEPTH + 3; i >= 0; i--)
        mnv2__pb_end(&w, 1, marks[i]);
    assert_false(w.failed);
    pb_rd r = mnv2__pb_reader(w.data, w.size), c;
    pb_field f;
    int depth = 0;
    while (mnv2__pb_next(&r, &f) == 1 && f.num == 1) {
        if (!mnv2__pb_sub(&r, &f, &c))
            break;
        r = c;
        depth++;
    }
    assert_int_equal(depth, PB_MAX_DEPTH);
    free(w.data);
}

/* A model with a node whose attribute holds a subgraph nested 20000 messages deep: the reader skips
 * it as bytes (no recursion), and the import fails cleanly on the graph's content. */
static void test_deep_subgraph(void **state)
{
    (void)state;
    mnv2_wr w = {0};
    size_t g = mnv2__pb_begin(&w);
    size_t node = mnv2__pb_begin(&w);
    mnv2__pb_str(&w, ONNX_NODE_OP_TYPE, "If");
    size_t a = mnv2__pb_begin(&w);
    mnv2__pb_str(&w, ONNX_ATTR_NAME, "then_branch");
    enum { DEEP = 20000 }; /* the writer moves each body up once per level: quadratic, kept small for qemu */
    size_t *marks = malloc(DEEP * sizeof *marks);
    assert_non_null(marks);
    for (int i = 0; i < DEEP; i++)
        marks[i] = mnv2__pb_begin(&w);
    for (int i = DEEP - 1; i >= 0; i--)
        mnv2__pb_end(&w, i ? ONNX_GRAPH_NODE : 6 /* AttributeProto.g */, marks[i]);
    free(marks);
    mnv2__pb_end(&w, ONNX_NODE_ATTRIBUTE, a);
    mnv2__pb_end(&w, ONNX_GRAPH_NODE, node);
    mnv2__pb_end(&w, ONNX_MODEL_GRAPH, g);
    size_t o = mnv2__pb_begin(&w);
    mnv2__pb_int(&w, ONNX_OPSET_VERSION, 13);
    mnv2__pb_end(&w, ONNX_MODEL_OPSET_IMPORT, o);
    assert_false(w.failed);
    mnv2_model *m = NULL;
    int32_t rc = mnv2_model_import_onnx_mem(w.data, w.size, NULL, &m);
    assert_int_equal(rc, MNV2_ERR_UNSUPPORTED);
    assert_null(m);
    assert_non_null(strstr(mnv2_last_error(), "input"));
    free(w.data);
}

/* A small network: 16x16 input, two blocks, 5 classes, BN statistics away from 0 / 1. */
static mnv2_model *small_model(void)
{
    mnv2_config *cfg;
    mnv2_model *m;
    const int32_t rows[8] = {1, 16, 1, 1, 6, 24, 2, 2};
    assert_int_equal(mnv2_config_create(MNV2_PRESET_REDUCED, &cfg), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(cfg, MNV2_KEY_INPUT_HEIGHT, 16), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(cfg, MNV2_KEY_INPUT_WIDTH, 16), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(cfg, MNV2_KEY_CLASSES, 5), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(cfg, MNV2_KEY_HEAD_CHANNELS, 64), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(cfg, MNV2_KEY_MAX_BATCH, 2), MNV2_OK);
    assert_int_equal(mnv2_config_set_blocks(cfg, rows, 2), MNV2_OK);
    assert_int_equal(mnv2_model_create(cfg, &m), MNV2_OK);
    mnv2_config_destroy(cfg);
    uint64_t n;
    float *b = mnv2_buffers(m, &n);
    for (uint64_t i = 0; i < n; i++)
        b[i] = 0.5f + 0.25f * (float)(i % 7);
    float *p = mnv2_parameters(m, &n);
    for (uint64_t i = 0; i < n; i++)
        p[i] += 0.01f * (float)((i * 2654435761u) % 13) - 0.06f;
    mnv2_parameters(m, &n);
    return m;
}

static void logits_of(mnv2_model *m, float *out)
{
    float x[2 * 16 * 16 * 3];
    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++)
        x[i] = (float)((i * 7919) % 101) / 50.0f - 1.0f;
    assert_int_equal(mnv2_forward(m, x, sizeof x / sizeof x[0], 2, MNV2_MODE_INFER, out, 10), MNV2_OK);
}

static void test_round_trip(void **state)
{
    (void)state;
    mnv2_model *m = small_model();
    float ref[10], got[10];
    logits_of(m, ref);
    const uint32_t flags[3] = {0, MNV2_ONNX_BN_NODES, MNV2_ONNX_BN_NODES | MNV2_ONNX_NHWC};
    for (int k = 0; k < 3; k++) {
        void *d;
        size_t size;
        mnv2_model *m2 = NULL;
        assert_int_equal(mnv2_model_export_onnx_mem(m, flags[k], &d, &size), MNV2_OK);
        assert_int_equal(mnv2_model_import_onnx_mem(d, size, NULL, &m2), MNV2_OK);
        logits_of(m2, got);
        float top = 0.0f, err = 0.0f;
        for (int i = 0; i < 10; i++) {
            top = fmaxf(top, fabsf(ref[i]));
            err = fmaxf(err, fabsf(got[i] - ref[i]));
        }
        assert_true(err <= 1e-5f * top);
        if (flags[k] & MNV2_ONNX_BN_NODES) { /* unfolded: every tensor comes back bit for bit */
            uint64_t n1, n2;
            const float *p1 = mnv2_parameters(m, &n1), *p2 = mnv2_parameters(m2, &n2);
            assert_true(n1 == n2 && memcmp(p1, p2, n1 * sizeof(float)) == 0);
            p1 = mnv2_buffers(m, &n1), p2 = mnv2_buffers(m2, &n2);
            assert_true(n1 == n2 && memcmp(p1, p2, n1 * sizeof(float)) == 0);
        }
        int32_t rows[16];
        uint32_t nr;
        mnv2_config *c2;
        assert_int_equal(mnv2_model_get_config(m2, &c2), MNV2_OK);
        assert_int_equal(mnv2_config_get_blocks(c2, rows, 4, &nr), MNV2_OK);
        assert_int_equal(nr, 2);
        assert_int_equal(rows[5], 24);
        mnv2_config_destroy(c2);
        mnv2_model_destroy(m2);
        mnv2_buffer_free(d);
    }
    mnv2_model_destroy(m);
}

/* Every prefix of an export fails cleanly (FORMAT or UNSUPPORTED); random byte flips never crash. */
static void test_damage(void **state)
{
    (void)state;
    mnv2_model *m = small_model();
    void *d;
    size_t size;
    assert_int_equal(mnv2_model_export_onnx_mem(m, MNV2_ONNX_BN_NODES, &d, &size), MNV2_OK);
    mnv2_model_destroy(m);
    mnv2_load_options o;
    mnv2_load_options_default(&o);
    o.trainable = 0;
    o.max_batch = 1;
    for (size_t n = 0; n < size; n += n < 512 ? 1 : 61) {
        mnv2_model *m2 = NULL;
        int32_t rc = mnv2_model_import_onnx_mem(d, n, &o, &m2);
        assert_true(rc == MNV2_ERR_FORMAT || rc == MNV2_ERR_UNSUPPORTED);
        assert_null(m2);
        assert_true(strlen(mnv2_last_error()) > 0);
    }
    uint8_t *copy = malloc(size);
    assert_non_null(copy);
    uint64_t s = 12345;
    for (int t = 0; t < 300; t++) {
        memcpy(copy, d, size);
        for (int k = 0; k < 4; k++) {
            s = s * 6364136223846793005u + 1442695040888963407u;
            copy[(s >> 17) % size] ^= (uint8_t)(1u << ((s >> 7) & 7));
        }
        mnv2_model *m2 = NULL;
        int32_t rc = mnv2_model_import_onnx_mem(copy, size, &o, &m2);
        assert_true(rc == MNV2_OK || rc == MNV2_ERR_FORMAT || rc == MNV2_ERR_UNSUPPORTED);
        mnv2_model_destroy(m2);
    }
    free(copy);
    mnv2_buffer_free(d);
}

static void test_arguments(void **state)
{
    (void)state;
    mnv2_model *m = small_model(), *m2 = NULL;
    void *d = NULL;
    size_t size = 0;
    assert_int_equal(mnv2_model_export_onnx_mem(NULL, 0, &d, &size), MNV2_ERR_INVALID_ARGUMENT);
    assert_int_equal(mnv2_model_export_onnx_mem(m, 0, NULL, &size), MNV2_ERR_INVALID_ARGUMENT);
    assert_int_equal(mnv2_model_export_onnx_mem(m, 8, &d, &size), MNV2_ERR_INVALID_ARGUMENT);
    assert_int_equal(mnv2_model_export_onnx_mem(m, MNV2_ONNX_STANDARDIZE, &d, &size), MNV2_ERR_BAD_STATE);
    assert_null(d);
    assert_int_equal(mnv2_model_export_onnx(m, 0, NULL), MNV2_ERR_INVALID_ARGUMENT);
    assert_int_equal(mnv2_model_export_onnx(m, 0, "/nonexistent-dir/x.onnx"), MNV2_ERR_IO);
    assert_int_equal(mnv2_model_import_onnx_mem(NULL, 0, NULL, &m2), MNV2_ERR_INVALID_ARGUMENT);
    assert_int_equal(mnv2_model_import_onnx_mem("hello", 5, NULL, &m2), MNV2_ERR_FORMAT);
    assert_int_equal(mnv2_model_import_onnx_mem("", 0, NULL, &m2), MNV2_ERR_FORMAT);
    assert_int_equal(mnv2_model_import_onnx(NULL, NULL, &m2), MNV2_ERR_INVALID_ARGUMENT);
    assert_int_equal(mnv2_model_import_onnx("/nonexistent-dir/x.onnx", NULL, &m2), MNV2_ERR_IO);
    assert_null(m2);
    mnv2_load_options o;
    mnv2_load_options_default(&o);
    o.struct_size = 4;
    assert_int_equal(mnv2_model_export_onnx_mem(m, 0, &d, &size), MNV2_OK);
    assert_int_equal(mnv2_model_import_onnx_mem(d, size, &o, &m2), MNV2_ERR_INVALID_ARGUMENT);
    mnv2_buffer_free(d);
    mnv2_model_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_varints),    cmocka_unit_test(test_lengths),     cmocka_unit_test(test_depth),
        cmocka_unit_test(test_deep_subgraph), cmocka_unit_test(test_round_trip), cmocka_unit_test(test_damage),
        cmocka_unit_test(test_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
