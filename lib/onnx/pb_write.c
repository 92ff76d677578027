/* SPDX-License-Identifier: BSD-2-Clause */
/* Protobuf wire format, writing side: varints, tags, scalar and length-delimited fields, and
 * nested messages whose lengths are written when they end. */
#include <string.h>

#include "onnx/pb.h"

void mnv2__pb_varint(mnv2_wr *w, uint64_t v)
{
    uint8_t b[10];
    size_t n = 0;
    do {
        b[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v)
            b[n] |= 0x80;
        n++;
    } while (v);
    mnv2__wr_append(w, b, n);
}

void mnv2__pb_tag(mnv2_wr *w, uint32_t field, uint32_t wire) { mnv2__pb_varint(w, (uint64_t)field << 3 | wire); }

void mnv2__pb_int(mnv2_wr *w, uint32_t field, int64_t v)
{
    mnv2__pb_tag(w, field, PB_VARINT);
    mnv2__pb_varint(w, (uint64_t)v); /* negative int64: ten bytes, as protobuf does */
}

void mnv2__pb_bytes(mnv2_wr *w, uint32_t field, const void *p, size_t n)
{
    mnv2__pb_tag(w, field, PB_LEN);
    mnv2__pb_varint(w, n);
    if (n)
        mnv2__wr_append(w, p, n);
}

void mnv2__pb_str(mnv2_wr *w, uint32_t field, const char *s) { mnv2__pb_bytes(w, field, s, strlen(s)); }

void mnv2__pb_float(mnv2_wr *w, uint32_t field, float v)
{
    uint32_t u;
    uint8_t b[4];
    memcpy(&u, &v, 4);
    mnv2__put_le32(b, u);
    mnv2__pb_tag(w, field, PB_FIXED32);
    mnv2__wr_append(w, b, 4);
}

void mnv2__pb_packed_i64(mnv2_wr *w, uint32_t field, const int64_t *v, size_t n)
{
    size_t mark = mnv2__pb_begin(w);
    for (size_t i = 0; i < n; i++)
        mnv2__pb_varint(w, (uint64_t)v[i]);
    mnv2__pb_end(w, field, mark);
}

size_t mnv2__pb_begin(mnv2_wr *w) { return w->size; }

void mnv2__pb_end(mnv2_wr *w, uint32_t field, size_t mark)
{
    if (w->failed)
        return;
    const size_t body = w->size - mark;
    uint8_t head[16];
    size_t hn = 0;
    uint64_t vals[2] = {(uint64_t)field << 3 | PB_LEN, body};
    for (int k = 0; k < 2; k++) {
        uint64_t v = vals[k];
        do {
            head[hn] = (uint8_t)(v & 0x7f);
            v >>= 7;
            if (v)
                head[hn] |= 0x80;
            hn++;
        } while (v);
    }
    if (!mnv2__wr_append(w, NULL, hn))
        return;
    memmove(w->data + mark + hn, w->data + mark, body);
    memcpy(w->data + mark, head, hn);
}
