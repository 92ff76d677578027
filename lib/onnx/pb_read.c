/* SPDX-License-Identifier: BSD-2-Clause */
/* Protobuf wire format, reading side. Bounded: a length is compared with the bytes left before
 * anything is taken, varints stop at ten bytes, and nested readers carry a depth that
 * mnv2__pb_sub() refuses past PB_MAX_DEPTH. Nothing here allocates or recurses. */
#include <string.h>

#include "onnx/pb.h"

pb_rd mnv2__pb_reader(const void *p, size_t n)
{
    pb_rd r = {.p = (const uint8_t *)p, .left = n, .depth = 0};
    return r;
}

int mnv2__pb_read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    uint64_t x = 0;
    const uint8_t *q = *p;
    for (unsigned i = 0; i < 10; i++) {
        if (q >= end)
            return 0;
        const uint8_t b = *q++;
        if (i == 9 && b > 1)
            return 0; /* more than 64 bits */
        x |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *p = q;
            *v = x;
            return 1;
        }
    }
    return 0;
}

int mnv2__pb_next(pb_rd *r, pb_field *f)
{
    if (r->left == 0)
        return 0;
    const uint8_t *p = r->p, *end = r->p + r->left;
    uint64_t key;
    if (!mnv2__pb_read_varint(&p, end, &key))
        return -1;
    if (key >> 3 == 0 || key >> 3 > 0x1fffffff)
        return -1;
    f->num = (uint32_t)(key >> 3);
    f->wire = (uint32_t)(key & 7);
    f->v = 0;
    f->s.p = NULL;
    f->s.n = 0;
    switch (f->wire) {
    case PB_VARINT:
        if (!mnv2__pb_read_varint(&p, end, &f->v))
            return -1;
        break;
    case PB_FIXED64:
        if ((size_t)(end - p) < 8)
            return -1;
        f->v = mnv2__le64(p);
        p += 8;
        break;
    case PB_FIXED32:
        if ((size_t)(end - p) < 4)
            return -1;
        f->v = mnv2__le32(p);
        p += 4;
        break;
    case PB_LEN: {
        uint64_t n;
        if (!mnv2__pb_read_varint(&p, end, &n) || n > (uint64_t)(end - p))
            return -1;
        f->s.p = p;
        f->s.n = (size_t)n;
        p += n;
        break;
    }
    default:
        return -1; /* groups (3, 4) and reserved types */
    }
    r->left -= (size_t)(p - r->p);
    r->p = p;
    return 1;
}

int mnv2__pb_sub(const pb_rd *parent, const pb_field *f, pb_rd *child)
{
    if (f->wire != PB_LEN || parent->depth + 1 > PB_MAX_DEPTH)
        return 0;
    child->p = f->s.p;
    child->left = f->s.n;
    child->depth = parent->depth + 1;
    return 1;
}

int mnv2__pb_eq(pb_span a, const char *s)
{
    const size_t n = strlen(s);
    return a.n == n && (n == 0 || memcmp(a.p, s, n) == 0);
}
