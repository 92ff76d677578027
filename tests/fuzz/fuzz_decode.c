/* SPDX-License-Identifier: BSD-2-Clause */
/* libFuzzer target: libmnv2-image's JPEG / PNG decoder and the evaluation transform on whatever
 * decodes. Any input must give a status (never a crash, a hang or a leak).
 * Seed corpus: tests/fuzz/corpus/decode/ (small JPEG and PNG files of every kind the decoder reads). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "mnv2_image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *px;
    uint32_t h, w, c;
    if (mnv2_image_decode(data, size, &px, &h, &w, &c) != MNV2_OK)
        return 0;
    uint32_t rh, rw, top, left;
    uint8_t out[16 * 16 * 3];
    if (mnv2_image_eval_geometry(h, w, 18, 16, 16, &rh, &rw, &top, &left) == MNV2_OK &&
        (uint64_t)rh * rw <= (uint64_t)1 << 22)
        mnv2_image_resized_crop(px, h, w, c, 0, 0, h, w, rh, rw, top, left, 16, 16, out);
    mnv2_image_free(px);
    return 0;
}
