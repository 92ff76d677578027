/*
 * libmnv2-image internals: the per-thread error message and the random streams of mnv2_data.h.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef MNV2_IMAGE_INTERNAL_H
#define MNV2_IMAGE_INTERNAL_H

#include <stdint.h>

#include "mnv2_image.h"

#if defined(__GNUC__)
#define MI_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define MI_PRINTF(f, a)
#endif

/* Set the calling thread's message and return @p rc. */
int32_t mi_fail(int32_t rc, const char *fmt, ...) MI_PRINTF(2, 3);
void mi_clear_error(void);

static inline uint64_t mi_mix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 27;
    x *= 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

static inline uint64_t mi_next(uint64_t *s)
{
    *s += 0x9E3779B97F4A7C15ull;
    return mi_mix(*s);
}

/* Lemire's multiply-shift with rejection on the top 32 bits of next(s): uniform in 0 .. n - 1. */
static inline uint32_t mi_uniform(uint64_t *s, uint32_t n)
{
    uint32_t x = (uint32_t)(mi_next(s) >> 32);
    uint64_t m = (uint64_t)x * n;
    uint32_t l = (uint32_t)m;
    if (l < n) {
        uint32_t t = (uint32_t)(-n) % n;
        while (l < t) {
            x = (uint32_t)(mi_next(s) >> 32);
            m = (uint64_t)x * n;
            l = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

/* Epoch key and per-position state, as mnv2_data.h's batch iterator. */
static inline uint64_t mi_epoch_key(uint64_t seed, uint64_t epoch)
{
    return mi_mix(seed + 0x9E3779B97F4A7C15ull * (epoch + 1));
}
static inline uint64_t mi_position_state(uint64_t key, uint64_t p)
{
    return mi_mix(key ^ ((p + 1) * 0xD1B54A32D192ED03ull));
}

/* The epoch's order into @p order (count entries): identity, or Fisher-Yates with state = key. */
void mi_epoch_order(uint32_t *order, uint32_t count, uint64_t key, int shuffle);

/* The evaluation / training transform of one decoded image into @p out (oh * ow * oc floats). */
typedef struct mi_transform {
    uint32_t oh, ow, oc, resize, flip, train;
    float scale_min, scale_max, ratio_min, ratio_max;
    float mean[3], std[3];
} mi_transform;
int32_t mi_apply(const mi_transform *t, const uint8_t *px, uint32_t h, uint32_t w, uint32_t c, uint64_t rng,
                 uint8_t *scratch, float *out);

/* Paths of a folder. */
struct mnv2_image_folder {
    char *root;        /* the directory as given */
    uint32_t classes, count;
    char **names;      /* class names */
    char *arena;       /* NUL-terminated paths relative to root */
    size_t arena_size;
    uint64_t *offset;  /* count offsets into arena */
    int32_t *label;    /* count labels */
};

#endif
