/* SPDX-License-Identifier: BSD-2-Clause */
/* Write a reduced 1000-class model without class names whose classifier bias makes class 207
 * win by far, for mnv2-infer's ImageNet class-name fallback:  make_imagenet_model FILE */
#include <stdio.h>
#include <stdlib.h>

#include <mnv2.h>
#include <mnv2_data.h>

static void check(int32_t rc, const char *what)
{
    if (rc != MNV2_OK) {
        fprintf(stderr, "make_imagenet_model: %s: %s\n", what, mnv2_last_error());
        exit(1);
    }
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    mnv2_config *cfg;
    check(mnv2_config_create(MNV2_PRESET_REDUCED, &cfg), "config");
    check(mnv2_config_set_int(cfg, MNV2_KEY_CLASSES, 1000), "classes");
    check(mnv2_config_set_int(cfg, MNV2_KEY_TRAINABLE, 0), "trainable");
    mnv2_model *m;
    check(mnv2_model_create(cfg, &m), "model");
    mnv2_config_destroy(cfg);
    uint32_t index;
    check(mnv2_tensor_find(m, "classifier.1.bias", &index), "classifier.1.bias");
    float bias[1000] = {0};
    bias[207] = 50;
    check(mnv2_tensor_write(m, index, MNV2_DATA_VALUE, bias, 1000), "bias");
    check(mnv2_model_save(m, NULL, 0, argv[1]), "save");
    mnv2_model_destroy(m);
    return 0;
}
