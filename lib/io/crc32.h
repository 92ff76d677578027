/* SPDX-License-Identifier: BSD-2-Clause */
/* Internal: CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), as zlib's crc32(). */
#ifndef MNV2_IO_CRC32_H
#define MNV2_IO_CRC32_H
#include <stddef.h>
#include <stdint.h>

/* Continue a CRC: start with crc = 0; crc32(crc32(0, a), b) == crc32(0, a || b). */
uint32_t mnv2__crc32(uint32_t crc, const void *data, size_t n);

#endif
