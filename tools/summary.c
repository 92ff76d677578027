/*
 * mnv2-summary: the per-layer table and the totals of a model file or a network configuration.
 *   mnv2-summary FILE|reduced|standard|BLOCKS [--classes K] [--input HxWxC] [--batch B]
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

static void usage(void)
{
    printf("usage: mnv2-summary FILE|reduced|standard|BLOCKS [options]\n"
           "Print the layers, parameters, multiply-accumulates and memory of a network.\n"
           "  FILE            a model or checkpoint file (mnv2-train's output)\n"
           "  reduced         the 32x32x3 variant of the seed paper (Table 3)\n"
           "  standard        canonical MobileNetV2, 224x224x3\n"
           "  BLOCKS          a block table t,c,n,s;t,c,n,s;... on the reduced preset\n"
           "  --classes K     number of classes (presets and block tables only)\n"
           "  --input HxWxC   input size, e.g. 224x224x3 (presets and block tables only)\n"
           "  --batch B       batch size of the memory totals (32)\n"
           "  --help, --version\n");
}

static const char *bytes_text(uint64_t b, char *buf, size_t n)
{
    if (b >= (uint64_t)1 << 30)
        snprintf(buf, n, "%.2f GiB", (double)b / (double)(1u << 30));
    else if (b >= 1u << 20)
        snprintf(buf, n, "%.1f MiB", (double)b / (double)(1u << 20));
    else if (b >= 1024)
        snprintf(buf, n, "%.1f KiB", (double)b / 1024.0);
    else
        snprintf(buf, n, "%llu B", (unsigned long long)b);
    return buf;
}

static void parse_input(const char *text, mnv2_config *cfg)
{
    unsigned h, w, c = 3;
    char tail;
    int n = sscanf(text, "%ux%ux%u%c", &h, &w, &c, &tail);
    if (n != 2 && n != 3)
        ex_die("--input: expected HxW or HxWxC, got '%s'", text);
    ex_check(mnv2_config_set_int(cfg, MNV2_KEY_INPUT_HEIGHT, h), "--input %s", text);
    ex_check(mnv2_config_set_int(cfg, MNV2_KEY_INPUT_WIDTH, w), "--input %s", text);
    ex_check(mnv2_config_set_int(cfg, MNV2_KEY_INPUT_CHANNELS, c), "--input %s", text);
}

/* The configuration of a model file, with the classes and standardisation it stores. */
static mnv2_config *config_from_file(const char *path)
{
    mnv2_model *model;
    mnv2_file_info *info;
    ex_model_load(path, 1, 1, &model, &info);
    ex_norm norm;
    ex_check(mnv2_model_get_normalization(model, norm.mean, norm.std, EX_MAX_STATS, &norm.n), "%s", path);
    mnv2_config *cfg;
    ex_check(mnv2_model_get_config(model, &cfg), "%s", path);
    mnv2_model_destroy(model);

    const char *const *names;
    uint32_t n_names;
    printf("%s:", path);
    if (mnv2_file_info_class_names(info, &names, &n_names) == MNV2_OK && n_names) {
        printf(" classes");
        for (uint32_t i = 0; i < n_names && i < 10; i++)
            printf("%s %s", i ? "," : "", names[i]);
        printf("%s", n_names > 10 ? ", ..." : "");
    }
    if (norm.n) {
        printf("%s standardisation mean", n_names ? ";" : "");
        for (uint32_t i = 0; i < norm.n; i++)
            printf(" %.4f", norm.mean[i]);
        printf(" std");
        for (uint32_t i = 0; i < norm.n; i++)
            printf(" %.4f", norm.std[i]);
    }
    printf("\n\n");
    mnv2_file_info_destroy(info);
    return cfg;
}

static uint64_t stat(const mnv2_config *cfg, int32_t which, uint32_t batch)
{
    uint64_t v;
    ex_check(mnv2_config_stat(cfg, which, batch, &v), "mnv2_config_stat(%d)", (int)which);
    return v;
}

int main(int argc, char **argv)
{
    ex_set_prog("mnv2-summary");
    const char *what = NULL, *classes = NULL, *input = NULL, *v;
    uint32_t batch = 32;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            usage();
            return 0;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("mnv2-summary (mnv2 %s)\n", mnv2_version_string());
            return 0;
        } else if (ex_opt(argc, argv, &i, "--classes", &v)) {
            classes = v;
        } else if (ex_opt(argc, argv, &i, "--input", &v)) {
            input = v;
        } else if (ex_opt(argc, argv, &i, "--batch", &v)) {
            batch = ex_parse_u32("--batch", v, 1, 65536);
        } else if (argv[i][0] == '-' && argv[i][1]) {
            ex_die("unknown option %s (see --help)", argv[i]);
        } else if (!what) {
            what = argv[i];
        } else {
            ex_die("more than one model given (see --help)");
        }
    }
    if (!what)
        ex_die("no model given (see --help)");

    mnv2_config *cfg = ex_config_for(what);
    if (!cfg) {
        if (classes || input)
            ex_die("--classes and --input apply to presets and block tables, not to a model file");
        cfg = config_from_file(what);
    }
    if (classes)
        ex_check(mnv2_config_set_int(cfg, MNV2_KEY_CLASSES, ex_parse_u32("--classes", classes, 1, 65536)),
                 "--classes");
    if (input)
        parse_input(input, cfg);
    ex_check(mnv2_config_set_int(cfg, MNV2_KEY_MAX_BATCH, batch), "--batch");

    uint64_t n_layers = stat(cfg, MNV2_STAT_LAYERS, 0), params = 0, macs = 0, act = 0;
    printf("%-4s %-22s %-10s %-14s %10s %12s %11s\n", "#", "layer", "op", "output", "params", "MACs",
           "activation");
    for (uint32_t i = 0; i < n_layers; i++) {
        mnv2_layer_info li;
        li.struct_size = sizeof li;
        ex_check(mnv2_config_layer_info(cfg, i, &li), "layer %u", (unsigned)i);
        char shape[40], mem[24];
        snprintf(shape, sizeof shape, "%ux%ux%u", (unsigned)li.out_h, (unsigned)li.out_w, (unsigned)li.out_c);
        printf("%-4u %-22s %-10s %-14s %10llu %12llu %11s\n", (unsigned)i, li.name, li.op, shape,
               (unsigned long long)li.params, (unsigned long long)li.macs,
               bytes_text(li.out_bytes, mem, sizeof mem));
        params += li.params;
        macs += li.macs;
        act += li.out_bytes;
    }
    char b1[24], b2[24], b3[24];
    printf("%-4s %-22s %-10s %-14s %10llu %12llu %11s\n\n", "", "total", "", "", (unsigned long long)params,
           (unsigned long long)macs, bytes_text(act, b1, sizeof b1));
    printf("parameters      %llu trainable, %llu buffers (%llu tensors, %llu blocks)\n",
           (unsigned long long)stat(cfg, MNV2_STAT_PARAMS, 0), (unsigned long long)stat(cfg, MNV2_STAT_BUFFERS, 0),
           (unsigned long long)stat(cfg, MNV2_STAT_TENSORS, 0), (unsigned long long)stat(cfg, MNV2_STAT_BLOCKS, 0));
    printf("MACs per image  %.2f M\n", (double)stat(cfg, MNV2_STAT_MACS, 0) / 1e6);
    printf("memory          inference %s, training %s at batch %u; inference %s at batch 1\n",
           bytes_text(stat(cfg, MNV2_STAT_INFER_BYTES, batch), b1, sizeof b1),
           bytes_text(stat(cfg, MNV2_STAT_TRAIN_BYTES, batch), b2, sizeof b2), (unsigned)batch,
           bytes_text(stat(cfg, MNV2_STAT_INFER_BYTES, 1), b3, sizeof b3));
    mnv2_config_destroy(cfg);
    return 0;
}
