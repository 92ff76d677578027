/*
 * mnv2-summary: the per-layer table and the totals of a model file or a network configuration.
 *   mnv2-summary --model FILE | --preset reduced|standard|BLOCKS [--classes K] [--input HxWxC] [--batch B]
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common.h"

static const char help[] =
    "usage: mnv2-summary --model FILE [options]\n"
    "   or: mnv2-summary --preset P [options]\n"
    "Print the layers, parameters, multiply-accumulates and memory of a network.\n"
    "\n"
    "Options:\n"
    "  --model FILE    a model or checkpoint file (mnv2-train's output)\n"
    "  --preset P      reduced (the 32x32x3 variant of the seed paper, Table 3), standard\n"
    "                  (canonical MobileNetV2, 224x224x3) or a block table t,c,n,s;t,c,n,s;...\n"
    "                  on the reduced preset\n"
    "  --classes K     number of classes (--preset only)\n"
    "  --input HxWxC   input size, e.g. 224x224x3 (--preset only)\n"
    "  --batch N       batch size of the memory totals (32)\n"
    "  -h, --help      print this help and exit\n"
    "  -V, --version   print the version and exit\n";

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
        cli_usage_error("--input: expected HxW or HxWxC, got '%s'", text);
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
    cli_begin("mnv2-summary", help);
    const char *file = NULL, *preset = NULL, *classes = NULL, *input = NULL, *v;
    uint32_t batch = 32;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int kind = cli_arg(argc, argv, &i);
        if (kind == CLI_SKIP) {
            continue;
        } else if (kind == CLI_OPERAND) {
            cli_usage_error("unexpected argument '%s' (name the network with --model FILE or --preset P)", a);
        } else if (ex_opt(argc, argv, &i, "--model", &v)) {
            file = v;
        } else if (ex_opt(argc, argv, &i, "--preset", &v)) {
            preset = v;
        } else if (ex_opt(argc, argv, &i, "--classes", &v)) {
            classes = v;
        } else if (ex_opt(argc, argv, &i, "--input", &v)) {
            input = v;
        } else if (ex_opt(argc, argv, &i, "--batch", &v)) {
            batch = ex_parse_u32("--batch", v, 1, 65536);
        } else {
            cli_unknown(a);
        }
    }
    if (!file == !preset)
        cli_usage_error("name the network with either --model FILE or --preset P");
    if (file && (classes || input))
        cli_usage_error("--classes and --input apply to --preset, not to a model file");

    mnv2_config *cfg;
    if (preset) {
        cfg = ex_config_for(preset);
        if (!cfg)
            cli_usage_error("--preset: expected reduced, standard or t,c,n,s;..., got '%s'", preset);
    } else {
        cfg = config_from_file(file);
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
