/* SPDX-License-Identifier: BSD-2-Clause */
/* The arena's layout from its table (see arena.h, arena.inc). */
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "ckd.h"
#include "plan.h"

const mnv2_arena_region mnv2__arena_regions[MNV2_ARENA_REGIONS] = {
#define ARENA_REGION(id, where_, kinds_, train_, live_, type, field_, shares_, size_, when_, why_)                    \
    [ARENA_##id] = {.name = #id, .where = where_, .kinds = kinds_, .train = train_, .live = live_,                    \
                    .shares = shares_, .field = offsetof(type, field_), .size = size_, .when = when_, .why = why_},
#include "arena.inc"
#undef ARENA_REGION
};

/* Where region id's offset is kept in obj (writable: the planner's own plan while it lays out). */
static size_t *field_of(int id, const void *obj)
{
    return (size_t *)(void *)((char *)(uintptr_t)obj + mnv2__arena_regions[id].field);
}

/* Whether region id exists for layer obj of plan p. */
static int present(const mnv2_plan *p, int id, const void *obj)
{
    const mnv2_arena_region *r = &mnv2__arena_regions[id];
    if (r->train && !p->trainable)
        return 0;
    return r->where != ARENA_CONV || (r->kinds & (1 << ((const plan_conv *)obj)->kind));
}

/* batch x h x w x c at the plan's max batch. */
static size_t batch_map(const mnv2_plan *p, size_t h, size_t w, size_t c, int *ovf)
{
    return mnv2__ckd_mulz(ovf, mnv2__ckd_mulz(ovf, mnv2__ckd_mulz(ovf, p->batch, h), w), c);
}

size_t mnv2__arena_floats(const mnv2_plan *p, int id, const void *obj, int *ovf)
{
    const plan_conv *c = obj;
    const plan_block *k = obj;
    switch (id) {
    case ARENA_conv_z:
    case ARENA_dw_z: return batch_map(p, c->out_h, c->out_w, c->cout, ovf);
    case ARENA_conv_stats: return mnv2__ckd_mulz(ovf, 2, c->cout);
    case ARENA_input: return batch_map(p, (size_t)p->cfg.in_h, (size_t)p->cfg.in_w, (size_t)p->cfg.in_c, ovf);
    case ARENA_x0: return batch_map(p, p->stem.out_h, p->stem.out_w, p->stem.cout, ovf);
    case ARENA_block_out: return batch_map(p, k->out_h, k->out_w, k->cout, ovf);
    default: return 0; /* ARENA_TAIL: the planner's */
    }
}

void mnv2__arena_place(mnv2_plan *p, int where, void *obj, const size_t *tail, size_t *cursor, int *ovf)
{
    for (int id = 0; id < MNV2_ARENA_REGIONS; id++) {
        const mnv2_arena_region *r = &mnv2__arena_regions[id];
        if (r->where != where || r->shares != ARENA_NONE || !present(p, id, obj))
            continue;
        const size_t n = where == ARENA_TAIL ? tail[id] : mnv2__arena_floats(p, id, obj, ovf);
        *field_of(id, obj) = *cursor;
        *cursor = mnv2__ckd_addz(ovf, *cursor, mnv2__ckd_addz(ovf, n, 15) & ~(size_t)15);
    }
}

/* Calls visit(ctx, id, layer, obj) for every region of p, in layout order. */
typedef void (*visit_fn)(void *ctx, int id, const char *layer, const void *obj);

static void visit_where(const mnv2_plan *p, int where, const char *layer, const void *obj, visit_fn visit, void *ctx)
{
    for (int id = 0; id < MNV2_ARENA_REGIONS; id++)
        if (mnv2__arena_regions[id].where == where && present(p, id, obj))
            visit(ctx, id, layer, obj);
}

static void walk(const mnv2_plan *p, visit_fn visit, void *ctx)
{
    visit_where(p, ARENA_CONV, p->stem.name, &p->stem, visit, ctx);
    visit_where(p, ARENA_STEM, p->stem.name, p, visit, ctx);
    for (uint32_t i = 0; i < p->n_blocks; i++) {
        const plan_block *k = &p->blocks[i];
        if (k->has_expand)
            visit_where(p, ARENA_CONV, k->expand.name, &k->expand, visit, ctx);
        visit_where(p, ARENA_CONV, k->dw.name, &k->dw, visit, ctx);
        visit_where(p, ARENA_CONV, k->project.name, &k->project, visit, ctx);
        visit_where(p, ARENA_BLOCK, k->project.name, k, visit, ctx);
    }
    visit_where(p, ARENA_CONV, p->head.name, &p->head, visit, ctx);
    visit_where(p, ARENA_TAIL, "", p, visit, ctx);
}

static void share_one(void *ctx, int id, const char *layer, const void *obj)
{
    const mnv2_plan *p = ctx;
    const int room = mnv2__arena_regions[id].shares;
    if (room != ARENA_NONE)
        *field_of(id, obj) = *field_of(room, p); /* rooms are ARENA_STEM / ARENA_TAIL regions */
}

void mnv2__arena_share(mnv2_plan *p) { walk(p, share_one, p); }

typedef struct each_ctx {
    const mnv2_plan *p;
    mnv2_arena_fn fn;
    void *ctx;
} each_ctx;

static void each_one(void *ctx, int id, const char *layer, const void *obj)
{
    const each_ctx *e = ctx;
    const size_t off = *field_of(id, obj);
    size_t n;
    if (mnv2__arena_regions[id].where == ARENA_TAIL) {
        n = e->p->arena_floats - off;
        for (int next = id + 1; next < MNV2_ARENA_REGIONS; next++)
            if (mnv2__arena_regions[next].where == ARENA_TAIL && present(e->p, next, obj)) {
                n = *field_of(next, obj) - off;
                break;
            }
    } else {
        int ovf = 0;
        n = mnv2__arena_floats(e->p, id, obj, &ovf);
    }
    e->fn(e->ctx, id, layer, off, n);
}

void mnv2__arena_each(const mnv2_plan *p, mnv2_arena_fn fn, void *ctx)
{
    const each_ctx e = {.p = p, .fn = fn, .ctx = ctx};
    walk(p, each_one, (void *)&e);
}
