/* SPDX-License-Identifier: BSD-2-Clause */
/* Internal: constants of the model file format (docs/file-format.md). */
#ifndef MNV2_IO_FORMAT_H
#define MNV2_IO_FORMAT_H
#include <stdint.h>

#include "mnv2_data.h"

#define MNV2__MAGIC "MNV2"
#define MNV2__HEADER_SIZE 16u
#define MNV2__FLAG_CHECKPOINT 1u
#define MNV2__KNOWN_FLAGS MNV2__FLAG_CHECKPOINT

/* A section is tag[4], u64 payload length, payload, u32 CRC-32 of tag + length + payload. */
#define MNV2__SECTION_OVERHEAD 16u

#define MNV2__TYPE_INT 1u      /* value: int64 */
#define MNV2__TYPE_FLOAT 2u    /* value: IEEE-754 binary64 */
#define MNV2__TYPE_MASK 0xffu
#define MNV2__TYPE_OPTIONAL 0x100u /* a reader that does not know the key may ignore it */

#define MNV2__MAX_CONF_ENTRIES 256u
#define MNV2__MAX_NAME 65535u
#define MNV2__MAX_NORM 64 /* NORM values: the largest MNV2_KEY_INPUT_CHANNELS (as lib/model.h) */

/* The configuration keys a file stores, in file order. */
typedef struct mnv2_conf_key {
    int32_t key;
    uint32_t type; /* MNV2__TYPE_* | optional flag */
} mnv2_conf_key;

extern const mnv2_conf_key mnv2__conf_keys[];
extern const uint32_t mnv2__n_conf_keys;

/* The extra content of a loaded file (load.c fills it, file_info.c reads it). */
struct mnv2_file_info {
    uint32_t n_names;
    char **names; /* pointer array and strings in one allocation */
    int has_train;
    uint64_t seed, epoch, position, blob_size;
    uint8_t *blob;
};

#endif
