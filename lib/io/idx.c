/* SPDX-License-Identifier: BSD-2-Clause */
/* IDX readers (MNIST, Fashion-MNIST): big-endian header, unsigned-byte payload. */
#include <stdlib.h>
#include <string.h>

#include "internal_error.h"
#include "io/bytes.h"
#include "io/dataset.h"
#include "io/fileio.h"

#define IDX_UBYTE 0x08

/* Parse an IDX header: magic 00 00 08 ndim, then ndim big-endian uint32 dims; checks that the
 * payload is exactly the product of the dims (all claims bounded by the real size). */
static int32_t parse_header(const uint8_t *p, size_t size, uint32_t want_ndim_lo, uint32_t want_ndim_hi,
                            const char *what, const char *kind, uint32_t *dims, uint32_t *ndim,
                            const uint8_t **payload)
{
    if (size < 4)
        return mnv2__fail(MNV2_ERR_FORMAT, "%s: truncated IDX %s file (%zu bytes, no header)", what, kind, size);
    uint32_t magic = mnv2__be32(p);
    if (p[0] != 0 || p[1] != 0)
        return mnv2__fail(MNV2_ERR_FORMAT, "%s: not an IDX file (magic 0x%08x)", what, (unsigned)magic);
    if (p[2] != IDX_UBYTE)
        return mnv2__fail(MNV2_ERR_FORMAT, "%s: IDX element type 0x%02x is not unsigned byte (0x08)", what,
                          (unsigned)p[2]);
    if (p[3] < want_ndim_lo || p[3] > want_ndim_hi)
        return mnv2__fail(MNV2_ERR_FORMAT, "%s: IDX magic 0x%08x has %u dimensions, an %s file needs %u%s", what,
                          (unsigned)magic, (unsigned)p[3], kind, (unsigned)want_ndim_lo,
                          want_ndim_hi != want_ndim_lo ? " or 4" : "");
    *ndim = p[3];
    size_t head = 4 + 4 * (size_t)*ndim;
    if (size < head)
        return mnv2__fail(MNV2_ERR_FORMAT, "%s: truncated IDX %s file (%zu bytes, header needs %zu)", what, kind, size,
                          head);
    for (uint32_t i = 0; i < *ndim; i++)
        dims[i] = mnv2__be32(p + 4 + 4 * i);
    *payload = p + head;
    return MNV2_OK;
}

static int32_t parse(const uint8_t *img, size_t img_size, const uint8_t *lab, size_t lab_size, const char *img_what,
                     const char *lab_what, mnv2_dataset **out)
{
    uint32_t idims[4] = {0, 0, 0, 1}, ldims[1] = {0}, nd = 0;
    const uint8_t *ipix = NULL, *lval = NULL;
    int32_t rc = parse_header(img, img_size, 3, 4, img_what, "image", idims, &nd, &ipix);
    if (rc != MNV2_OK)
        return rc;
    rc = parse_header(lab, lab_size, 1, 1, lab_what, "label", ldims, &nd, &lval);
    if (rc != MNV2_OK)
        return rc;
    uint32_t n = idims[0], h = idims[1], w = idims[2], c = idims[3];
    if (n == 0)
        return mnv2__fail(MNV2_ERR_FORMAT, "%s: no images", img_what);
    if (h == 0 || h > MNV2_DATASET_MAX_SIDE || w == 0 || w > MNV2_DATASET_MAX_SIDE || c == 0 ||
        c > MNV2_DATASET_MAX_CHANNELS)
        return mnv2__fail(MNV2_ERR_FORMAT, "%s: image size %ux%ux%u outside 1..%u x 1..%u x 1..%u", img_what,
                          (unsigned)h, (unsigned)w, (unsigned)c, MNV2_DATASET_MAX_SIDE, MNV2_DATASET_MAX_SIDE,
                          MNV2_DATASET_MAX_CHANNELS);
    uint64_t px = (uint64_t)h * w * c, need = px * n; /* < 2^30 * 2^32 */
    uint64_t have = (uint64_t)(img_size - (size_t)(ipix - img));
    if (need > MNV2_DATASET_MAX_BYTES)
        return mnv2__fail(MNV2_ERR_FORMAT, "%s: %u images of %ux%ux%u are %llu bytes, above the %llu allowed",
                          img_what, (unsigned)n, (unsigned)h, (unsigned)w, (unsigned)c, (unsigned long long)need,
                          (unsigned long long)MNV2_DATASET_MAX_BYTES);
    if (have < need)
        return mnv2__fail(MNV2_ERR_FORMAT, "%s: truncated image file (%llu of %u images)", img_what,
                          (unsigned long long)(have / px), (unsigned)n);
    if (have > need)
        return mnv2__fail(MNV2_ERR_FORMAT, "%s: %llu bytes after the %u images the header declares", img_what,
                          (unsigned long long)(have - need), (unsigned)n);
    uint64_t lhave = (uint64_t)(lab_size - (size_t)(lval - lab));
    if (lhave < ldims[0])
        return mnv2__fail(MNV2_ERR_FORMAT, "%s: truncated label file (%llu of %u labels)", lab_what,
                          (unsigned long long)lhave, (unsigned)ldims[0]);
    if (lhave > ldims[0])
        return mnv2__fail(MNV2_ERR_FORMAT, "%s: %llu bytes after the %u labels the header declares", lab_what,
                          (unsigned long long)(lhave - ldims[0]), (unsigned)ldims[0]);
    if (ldims[0] != n)
        return mnv2__fail(MNV2_ERR_FORMAT, "%s has %u labels but %s has %u images", lab_what, (unsigned)ldims[0],
                          img_what, (unsigned)n);
    uint32_t classes = 0;
    for (uint32_t i = 0; i < n; i++)
        if (lval[i] >= classes)
            classes = lval[i] + 1u;
    mnv2_dataset *ds;
    rc = mnv2__dataset_alloc(n, h, w, c, classes, img_what, &ds);
    if (rc != MNV2_OK)
        return rc;
    memcpy(ds->images, ipix, (size_t)need);
    for (uint32_t i = 0; i < n; i++)
        ds->labels[i] = lval[i];
    if (classes == 10 && mnv2__dataset_names(ds, mnv2__fashion_names, 10) != MNV2_OK) {
        mnv2_dataset_destroy(ds);
        return mnv2__fail(MNV2_ERR_OUT_OF_MEMORY, "%s: out of memory", img_what);
    }
    *out = ds;
    return MNV2_OK;
}

int32_t mnv2_dataset_read_idx_mem(const void *images, size_t images_size, const void *labels, size_t labels_size,
                                  mnv2_dataset **out)
{
    mnv2__clear_error();
    if (!images || !labels || !out)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_dataset_read_idx_mem: NULL argument");
    return parse(images, images_size, labels, labels_size, "IDX image buffer", "IDX label buffer", out);
}

int32_t mnv2_dataset_read_idx(const char *images_path, const char *labels_path, mnv2_dataset **out)
{
    mnv2__clear_error();
    if (!images_path || !labels_path || !out)
        return mnv2__fail(MNV2_ERR_INVALID_ARGUMENT, "mnv2_dataset_read_idx: NULL argument");
    /* A valid image file is at most the pixel cap plus a 20-byte header; a label file at most
     * 2^32 - 1 labels plus 8. Larger files are rejected before anything is allocated. */
    uint8_t *img = NULL, *lab = NULL;
    size_t img_size = 0, lab_size = 0;
    int32_t rc = mnv2__read_file(labels_path, (uint64_t)UINT32_MAX + 8, &lab, &lab_size);
    if (rc == MNV2_OK)
        rc = mnv2__read_file(images_path, (uint64_t)MNV2_DATASET_MAX_BYTES + 20, &img, &img_size);
    if (rc == MNV2_OK)
        rc = parse(img, img_size, lab, lab_size, images_path, labels_path, out);
    free(img);
    free(lab);
    return rc;
}
