/*
 * Helper of test_c_bitexact.py: the same training steps through the C API as mnv2.Model.train_step.
 *   c_step IN OUT
 * IN: int32 batch, seed, threads, steps; batch * 32 * 32 * 3 float32 images; batch int32 labels.
 * OUT: steps float32 losses, then every parameter, then every buffer (float32, tensor order).
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdio.h>
#include <stdlib.h>

#include "mnv2.h"

static void ok(int32_t st, const char *what)
{
    if (st != MNV2_OK) {
        fprintf(stderr, "c_step: %s: %s (%s)\n", what, mnv2_status_string(st), mnv2_last_error());
        exit(1);
    }
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: c_step IN OUT\n");
        return 2;
    }
    FILE *in = fopen(argv[1], "rb");
    int32_t hdr[4];
    if (!in || fread(hdr, sizeof hdr, 1, in) != 1 || hdr[0] < 1 || hdr[0] > 256 || hdr[3] < 1 || hdr[3] > 100) {
        fprintf(stderr, "c_step: cannot read %s\n", argv[1]);
        return 1;
    }
    const size_t batch = (size_t)hdr[0], n_img = batch * 32 * 32 * 3;
    float *x = malloc(n_img * sizeof *x);
    int32_t *y = malloc(batch * sizeof *y);
    float *losses = malloc((size_t)hdr[3] * sizeof *losses);
    if (!x || !y || !losses || fread(x, sizeof *x, n_img, in) != n_img || fread(y, sizeof *y, batch, in) != batch) {
        fprintf(stderr, "c_step: %s is truncated\n", argv[1]);
        return 1;
    }
    fclose(in);

    mnv2_config *cfg;
    ok(mnv2_config_create(MNV2_PRESET_REDUCED, &cfg), "config");
    ok(mnv2_config_set_int(cfg, MNV2_KEY_CLASSES, 10), "classes");
    ok(mnv2_config_set_int(cfg, MNV2_KEY_MAX_BATCH, hdr[0]), "max batch");
    ok(mnv2_config_set_int(cfg, MNV2_KEY_SEED, hdr[1]), "seed");
    ok(mnv2_config_set_int(cfg, MNV2_KEY_THREADS, hdr[2]), "threads");
    mnv2_model *m;
    ok(mnv2_model_create(cfg, &m), "create");
    mnv2_config_destroy(cfg);
    for (int32_t s = 0; s < hdr[3]; s++) {
        ok(mnv2_forward(m, x, n_img, (uint32_t)batch, MNV2_MODE_TRAIN, NULL, 0), "forward");
        ok(mnv2_backward(m, y, (uint32_t)batch, &losses[s]), "backward");
        ok(mnv2_step(m), "step");
    }
    uint64_t np_, nb;
    const float *p = mnv2_parameters(m, &np_), *b = mnv2_buffers(m, &nb);
    FILE *out = fopen(argv[2], "wb");
    if (!out || fwrite(losses, sizeof *losses, (size_t)hdr[3], out) != (size_t)hdr[3] ||
        fwrite(p, sizeof *p, np_, out) != np_ || fwrite(b, sizeof *b, nb, out) != nb || fclose(out) != 0) {
        fprintf(stderr, "c_step: cannot write %s\n", argv[2]);
        return 1;
    }
    mnv2_model_destroy(m);
    free(x);
    free(y);
    free(losses);
    return 0;
}
