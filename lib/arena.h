/* SPDX-License-Identifier: BSD-2-Clause */
/* Internal: the arena's layout, one table (arena.inc) of its regions: where each is laid out, its
 * size rule, when it holds data and which region it is stored over. The planner lays the arena out
 * by it; tests/test_arena.c checks the layout against it and docs/design.md against the table. */
#ifndef MNV2_ARENA_H
#define MNV2_ARENA_H
#include <stddef.h>

struct mnv2_plan;

/* Where a region is laid out. */
enum { ARENA_CONV, ARENA_STEM, ARENA_BLOCK, ARENA_TAIL };
/* Which convolutions an ARENA_CONV region belongs to: 1 << CONV_* (plan.h). */
enum { ARENA_KIND_STEM = 1, ARENA_KIND_PW = 2, ARENA_KIND_DW = 4, ARENA_KIND_ALL = 7 };
/* When a region holds data. */
enum {
    ARENA_LIVE_FWD = 1,   /* during a training forward */
    ARENA_LIVE_KEPT = 2,  /* from a training forward until its backward */
    ARENA_LIVE_BWD = 4,   /* during the backward */
    ARENA_LIVE_INFER = 8, /* during an inference forward */
};

enum {
#define ARENA_REGION(id, ...) ARENA_##id,
#include "arena.inc"
#undef ARENA_REGION
    MNV2_ARENA_REGIONS,
    ARENA_NONE = -1
};

typedef struct mnv2_arena_region {
    const char *name;
    int where, kinds, train, live, shares;
    size_t field; /* offsetof its offset in its type (plan_conv, plan_block or mnv2_plan) */
    const char *size, *when, *why;
} mnv2_arena_region;

extern const mnv2_arena_region mnv2__arena_regions[MNV2_ARENA_REGIONS];

/* Floats of region id for layer obj (its plan_conv for ARENA_CONV, plan_block for ARENA_BLOCK),
 * from the layer's shape; not for ARENA_TAIL regions, whose sizes the planner gathers from what
 * the layers ask for. ovf: set when a size overflows (ckd.h). */
size_t mnv2__arena_floats(const struct mnv2_plan *p, int id, const void *obj, int *ovf);
/* Lays out at *cursor, in table order and 16-float aligned, the regions of `where` for layer obj
 * (ARENA_TAIL: p, with their floats in tail[id]) and writes their offsets; a region stored over
 * another is skipped (mnv2__arena_share). */
void mnv2__arena_place(struct mnv2_plan *p, int where, void *obj, const size_t *tail, size_t *cursor, int *ovf);
/* Gives each region stored over another its room's offset (after the tail is laid out). */
void mnv2__arena_share(struct mnv2_plan *p);
/* Every region of plan p, in layout order: fn(ctx, id, layer, offset, floats); an ARENA_TAIL
 * region's floats are its extent (up to the next region or the arena's end). */
typedef void (*mnv2_arena_fn)(void *ctx, int id, const char *layer, size_t off, size_t floats);
void mnv2__arena_each(const struct mnv2_plan *p, mnv2_arena_fn fn, void *ctx);

#endif
