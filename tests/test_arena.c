/* SPDX-License-Identifier: BSD-2-Clause */
/* The arena's layout against its table (lib/arena.inc), white-box: over both presets, several
 * batch sizes and thread counts, trainable or not, every region lies inside the arena, 16-float
 * aligned; no two regions live in a common phase overlap, unless one is declared stored over
 * the other (and then it is: same offset, and it fits) or both over the same one. And the table
 * in docs/design.md is the one this table prints (`test_arena --print-docs-table` prints it; the
 * path of design.md is the first argument). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mnv2.h"
#include "arena.h"
#include "plan.h"

#define MAX_REGIONS 1024

typedef struct region {
    int id;
    const char *layer;
    size_t off, n;
} region;

typedef struct region_list {
    region v[MAX_REGIONS];
    size_t n;
} region_list;

static const char *docs_path;

static void collect(void *ctx, int id, const char *layer, size_t off, size_t n)
{
    region_list *l = ctx;
    assert_true(l->n < MAX_REGIONS);
    l->v[l->n++] = (region){.id = id, .layer = layer, .off = off, .n = n};
}

static const char *name(int id) { return mnv2__arena_regions[id].name; }

/* The region of the room `room` (a region laid out once). */
static const region *room_of(const region_list *l, int room)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].id == room)
            return &l->v[i];
    fail_msg("room %s not laid out", name(room));
    return NULL;
}

static void check_plan(const mnv2_plan *p, int *seen)
{
    static region_list l;
    l.n = 0;
    mnv2__arena_each(p, collect, &l);
    for (size_t i = 0; i < l.n; i++) {
        const region *r = &l.v[i];
        const mnv2_arena_region *row = &mnv2__arena_regions[r->id];
        seen[r->id] = 1;
        if (r->off % 16 || r->off + r->n > p->arena_floats)
            fail_msg("%s of %s: [%zu, +%zu) in an arena of %zu floats", name(r->id), r->layer, r->off, r->n,
                     p->arena_floats);
        if (row->shares != ARENA_NONE) {
            const region *room = room_of(&l, row->shares);
            if (r->off != room->off || r->n > room->n)
                fail_msg("%s of %s: [%zu, +%zu) is not stored over %s [%zu, +%zu)", name(r->id), r->layer, r->off,
                         r->n, name(room->id), room->off, room->n);
        }
        for (size_t j = 0; j < i; j++) {
            const region *q = &l.v[j];
            const mnv2_arena_region *qrow = &mnv2__arena_regions[q->id];
            if (!r->n || !q->n || !(row->live & qrow->live) || row->shares == q->id || qrow->shares == r->id)
                continue;
            /* Two regions stored over one room (dw_z of two blocks) hold data in windows of their own
             * layers, never at once. */
            if (row->shares != ARENA_NONE && row->shares == qrow->shares)
                continue;
            if (r->off < q->off + q->n && q->off < r->off + r->n)
                fail_msg("%s of %s [%zu, +%zu) overlaps %s of %s [%zu, +%zu)", name(r->id), r->layer, r->off, r->n,
                         name(q->id), q->layer, q->off, q->n);
        }
    }
}

static void layout_matches_table(void **state)
{
    const int32_t presets[] = {MNV2_PRESET_REDUCED, MNV2_PRESET_STANDARD};
    const int32_t batches[] = {1, 3, 32, 64};
    const int32_t threads[] = {1, 2, 3, 4};
    int seen[MNV2_ARENA_REGIONS] = {0};
    for (size_t a = 0; a < 2; a++)
        for (size_t b = 0; b < 4; b++)
            for (size_t t = 0; t < 4; t++)
                for (int trainable = 0; trainable < 2; trainable++) {
                    mnv2_config *cfg = NULL;
                    assert_int_equal(mnv2_config_create(presets[a], &cfg), MNV2_OK);
                    assert_int_equal(mnv2_config_set_int(cfg, MNV2_KEY_MAX_BATCH, batches[b]), MNV2_OK);
                    assert_int_equal(mnv2_config_set_int(cfg, MNV2_KEY_THREADS, threads[t]), MNV2_OK);
                    mnv2_plan *p = NULL;
                    assert_int_equal(mnv2__plan_create(cfg, trainable, &p), MNV2_OK);
                    check_plan(p, seen);
                    mnv2__plan_free(p);
                    mnv2_config_destroy(cfg);
                }
    for (int id = 0; id < MNV2_ARENA_REGIONS; id++)
        if (!seen[id])
            fail_msg("region %s is never laid out", name(id));
}

static const char *where_text(const mnv2_arena_region *r)
{
    switch (r->where) {
    case ARENA_CONV:
        return r->kinds == ARENA_KIND_ALL ? "per convolution"
               : r->kinds == ARENA_KIND_DW ? "per depthwise convolution"
                                           : "per stem / 1x1 convolution";
    case ARENA_STEM: return "once, after the stem";
    case ARENA_BLOCK: return "per block";
    default: return "once, after the head";
    }
}

static void print_table(FILE *f)
{
    static const char *const phases[] = {"fwd", "kept", "bwd", "infer"};
    fprintf(f, "| Region | Laid out | Size (floats) | Live | When | Stored over | Holds |\n");
    fprintf(f, "|---|---|---|---|---|---|---|\n");
    for (int id = 0; id < MNV2_ARENA_REGIONS; id++) {
        const mnv2_arena_region *r = &mnv2__arena_regions[id];
        fprintf(f, "| `%s` | %s%s | %s | ", r->name, where_text(r), r->train ? ", training" : "", r->size);
        for (int i = 0, first = 1; i < 4; i++)
            if (r->live & (1 << i)) {
                fprintf(f, "%s%s", first ? "" : ", ", phases[i]);
                first = 0;
            }
        fprintf(f, " | %s | %s%s%s | %s |\n", r->when, r->shares == ARENA_NONE ? "" : "`",
                r->shares == ARENA_NONE ? "-" : name(r->shares), r->shares == ARENA_NONE ? "" : "`", r->why);
    }
}

/* The lines of docs/design.md between the table's markers. */
static char *docs_table(const char *path)
{
    static const char begin[] = "<!-- arena table (test_arena --print-docs-table): begin -->\n";
    static const char end[] = "<!-- arena table: end -->\n";
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    char *text = calloc(1, 1 << 20);
    assert_non_null(text);
    const size_t n = fread(text, 1, (1 << 20) - 1, f);
    fclose(f);
    text[n] = 0;
    char *b = strstr(text, begin), *e = b ? strstr(b, end) : NULL;
    if (!b || !e)
        fail_msg("%s: no arena table markers", path);
    *e = 0;
    memmove(text, b + strlen(begin), strlen(b + strlen(begin)) + 1);
    return text;
}

static void docs_match_table(void **state)
{
    assert_non_null(docs_path);
    char *want = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&want, &len);
    assert_non_null(f);
    print_table(f);
    fclose(f);
    char *have = docs_table(docs_path);
    if (strcmp(have, want))
        fail_msg("the arena table in %s differs from lib/arena.inc's; replace it with the output of "
                 "test_arena --print-docs-table:\n%s",
                 docs_path, want);
    free(have);
    free(want);
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--print-docs-table")) {
        print_table(stdout);
        return 0;
    }
    docs_path = argc > 1 ? argv[1] : NULL;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(layout_matches_table),
        cmocka_unit_test(docs_match_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
