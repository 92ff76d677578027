/* SPDX-License-Identifier: BSD-2-Clause */
/* Internal: the protobuf wire format, by hand. A writer that appends to a growable buffer
 * (nested messages get their length when they end) and a bounded reader over a byte range
 * (every length is checked against the bytes present before it is used; nesting is limited). */
#ifndef MNV2_ONNX_PB_H
#define MNV2_ONNX_PB_H
#include <stddef.h>
#include <stdint.h>

#include "io/bytes.h"

#define PB_VARINT 0
#define PB_FIXED64 1
#define PB_LEN 2
#define PB_FIXED32 5

/* Deepest nesting of messages the reader follows (the ONNX schema parts read need 7). */
#define PB_MAX_DEPTH 16

/* ---- writer (pb_write.c) ---- */
void mnv2__pb_varint(mnv2_wr *w, uint64_t v);
void mnv2__pb_tag(mnv2_wr *w, uint32_t field, uint32_t wire);
void mnv2__pb_int(mnv2_wr *w, uint32_t field, int64_t v);                 /* varint field */
void mnv2__pb_bytes(mnv2_wr *w, uint32_t field, const void *p, size_t n); /* length-delimited field */
void mnv2__pb_str(mnv2_wr *w, uint32_t field, const char *s);
void mnv2__pb_float(mnv2_wr *w, uint32_t field, float v);                 /* fixed32 field */
void mnv2__pb_packed_i64(mnv2_wr *w, uint32_t field, const int64_t *v, size_t n);
/* A nested message: mnv2__pb_begin() returns a mark; mnv2__pb_end() writes the field's tag and length before
 * the body written since the mark (moving the body up). Marks nest. */
size_t mnv2__pb_begin(mnv2_wr *w);
void mnv2__pb_end(mnv2_wr *w, uint32_t field, size_t mark);

/* ---- reader (pb_read.c) ---- */
typedef struct pb_span {
    const uint8_t *p;
    size_t n;
} pb_span;

typedef struct pb_rd {
    const uint8_t *p;
    size_t left;
    uint32_t depth;  /* nesting depth of this message */
} pb_rd;

/* One field: number, wire type and value (varint / fixed in v; length-delimited in s). */
typedef struct pb_field {
    uint32_t num, wire;
    uint64_t v;
    pb_span s;
} pb_field;

/* Reader over a top-level message. */
pb_rd mnv2__pb_reader(const void *p, size_t n);
/* Next field into f: 1 = a field, 0 = end of message, -1 = malformed (truncated varint, a length
 * past the end, field number 0, wire types 3/4 (groups) or unknown). */
int mnv2__pb_next(pb_rd *r, pb_field *f);
/* Reader over a length-delimited field's bytes as a nested message; 0 when that would nest deeper
 * than PB_MAX_DEPTH. */
int mnv2__pb_sub(const pb_rd *parent, const pb_field *f, pb_rd *child);
/* Decode one varint from a span cursor; 0 if truncated or longer than 10 bytes. */
int mnv2__pb_read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v);
/* Span equals the NUL-terminated text s. */
int mnv2__pb_eq(pb_span a, const char *s);

#endif
