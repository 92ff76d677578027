/* SPDX-License-Identifier: BSD-2-Clause */
/* Test helper: recompute the CRC-32 of every section of an mnv2 model or checkpoint file image
 * in place (docs/file-format.md), so that altered bytes reach the section parsers instead of
 * failing the checksum. Walks sections while their lengths fit; stops at the first that does not. */
#ifndef MNV2_TESTS_FIXCRC_H
#define MNV2_TESTS_FIXCRC_H
#include <stddef.h>
#include <stdint.h>

#include "io/crc32.h"

static inline void mnv2_test_fix_crcs(uint8_t *d, size_t size)
{
    size_t pos = 16;
    while (size - pos >= 16 && pos < size) {
        uint64_t len = 0;
        for (int i = 7; i >= 0; i--)
            len = len << 8 | d[pos + 4 + (size_t)i];
        if (len > size - pos - 16)
            return;
        const uint32_t crc = mnv2__crc32(0, d + pos, 12 + (size_t)len);
        for (int i = 0; i < 4; i++)
            d[pos + 12 + (size_t)len + (size_t)i] = (uint8_t)(crc >> (8 * i));
        pos += 16 + (size_t)len;
    }
}

#endif
