/* SPDX-License-Identifier: BSD-2-Clause */
/* Internal: little- and big-endian byte access, a bounds-checked reader and a growable writer. */
#ifndef MNV2_IO_BYTES_H
#define MNV2_IO_BYTES_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint32_t mnv2__be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static inline uint16_t mnv2__le16(const uint8_t *p) { return (uint16_t)(p[0] | (uint16_t)p[1] << 8); }

static inline uint32_t mnv2__le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t mnv2__le64(const uint8_t *p)
{
    return (uint64_t)mnv2__le32(p) | (uint64_t)mnv2__le32(p + 4) << 32;
}

static inline void mnv2__put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static inline void mnv2__put_le64(uint8_t *p, uint64_t v)
{
    mnv2__put_le32(p, (uint32_t)v);
    mnv2__put_le32(p + 4, (uint32_t)(v >> 32));
}

/* Reader over a byte range: every take checks the remaining length first. The value readers
 * return 0 (and store 0) when too few bytes remain. */
typedef struct mnv2_rd {
    const uint8_t *p;
    size_t left;
} mnv2_rd;

/* Pointer to the next n bytes and advance, or NULL (nothing consumed) when fewer remain. */
static inline const uint8_t *mnv2__rd_take(mnv2_rd *r, size_t n)
{
    if (n > r->left)
        return NULL;
    const uint8_t *p = r->p;
    r->p += n;
    r->left -= n;
    return p;
}

static inline int mnv2__rd_u16(mnv2_rd *r, uint16_t *v)
{
    const uint8_t *p = mnv2__rd_take(r, 2);
    *v = 0;
    if (!p)
        return 0;
    *v = mnv2__le16(p);
    return 1;
}

static inline int mnv2__rd_u32(mnv2_rd *r, uint32_t *v)
{
    const uint8_t *p = mnv2__rd_take(r, 4);
    *v = 0;
    if (!p)
        return 0;
    *v = mnv2__le32(p);
    return 1;
}

static inline int mnv2__rd_u64(mnv2_rd *r, uint64_t *v)
{
    const uint8_t *p = mnv2__rd_take(r, 8);
    *v = 0;
    if (!p)
        return 0;
    *v = mnv2__le64(p);
    return 1;
}

/* Growable output buffer; `failed` latches the first allocation failure. */
typedef struct mnv2_wr {
    uint8_t *data;
    size_t size, cap;
    int failed;
} mnv2_wr;

/* Append n bytes (data may be NULL: zeros); returns the bytes' position in the buffer, or NULL. */
uint8_t *mnv2__wr_append(mnv2_wr *w, const void *data, size_t n);
void mnv2__wr_u16(mnv2_wr *w, uint16_t v);
void mnv2__wr_u32(mnv2_wr *w, uint32_t v);
void mnv2__wr_u64(mnv2_wr *w, uint64_t v);
/* float32 values, little-endian. */
void mnv2__wr_f32s(mnv2_wr *w, const float *v, size_t n);
/* Decode n little-endian float32 values. */
void mnv2__get_f32s(float *dst, const uint8_t *src, size_t n);

#endif
