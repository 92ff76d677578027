/* SPDX-License-Identifier: BSD-2-Clause */
/* The growable little-endian writer used by the file format. */
#include <stdlib.h>

#include "io/bytes.h"

uint8_t *mnv2__wr_append(mnv2_wr *w, const void *data, size_t n)
{
    if (w->failed)
        return NULL;
    if (n > w->cap - w->size) {
        size_t cap = w->cap ? w->cap : 4096;
        while (n > cap - w->size) {
            if (cap > SIZE_MAX / 2) {
                w->failed = 1;
                return NULL;
            }
            cap *= 2;
        }
        uint8_t *p = realloc(w->data, cap);
        if (!p) {
            w->failed = 1;
            return NULL;
        }
        w->data = p;
        w->cap = cap;
    }
    uint8_t *dst = w->data + w->size;
    if (data)
        memcpy(dst, data, n);
    else
        memset(dst, 0, n);
    w->size += n;
    return dst;
}

void mnv2__wr_u16(mnv2_wr *w, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    mnv2__wr_append(w, b, 2);
}

void mnv2__wr_u32(mnv2_wr *w, uint32_t v)
{
    uint8_t b[4];
    mnv2__put_le32(b, v);
    mnv2__wr_append(w, b, 4);
}

void mnv2__wr_u64(mnv2_wr *w, uint64_t v)
{
    uint8_t b[8];
    mnv2__put_le64(b, v);
    mnv2__wr_append(w, b, 8);
}

void mnv2__wr_f32s(mnv2_wr *w, const float *v, size_t n)
{
    if (n > SIZE_MAX / 4) {
        w->failed = 1;
        return;
    }
    uint8_t *p = mnv2__wr_append(w, NULL, n * 4);
    if (!p)
        return;
    for (size_t i = 0; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, &v[i], 4);
        mnv2__put_le32(p + 4 * i, bits);
    }
}

void mnv2__get_f32s(float *dst, const uint8_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t bits = mnv2__le32(src + 4 * i);
        memcpy(&dst[i], &bits, 4);
    }
}
