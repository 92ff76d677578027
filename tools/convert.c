/*
 * mnv2-convert: between mnv2 model files and ONNX, by the files' extensions.
 *   mnv2-convert IN.mnv2 OUT.onnx [--bn-nodes] [--nhwc] [--standardize]
 *   mnv2-convert IN.onnx OUT.mnv2
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: mnv2-convert IN OUT [options]\n"
               "Convert a model between mnv2's file format and ONNX; the direction comes from the\n"
               "extensions: IN.mnv2 (or a checkpoint) -> OUT.onnx, or IN.onnx -> OUT.mnv2.\n"
               "ONNX input: mnv2's own exports and torchvision's MobileNetV2 (torch.onnx.export).\n"
               "  --bn-nodes      export: batch norm as BatchNormalization nodes (default: folded)\n"
               "  --nhwc          export: input NHWC [batch, H, W, C] (default: NCHW)\n"
               "  --standardize   export: the model's standardisation as the first nodes, so the\n"
               "                  graph takes pixel / 255\n"
               "  -h, --help      this text\n"
               "  -V, --version   the version\n"
               "Exit status: 0 done, 1 runtime error, 2 usage error.\n");
}

EX_NORETURN static void usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "mnv2-convert: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (see --help)\n");
    exit(2);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n > k && strcmp(s + n - k, suffix) == 0;
}

int main(int argc, char **argv)
{
    ex_set_prog("mnv2-convert");
    const char *files[2] = {NULL, NULL};
    int n_files = 0;
    uint32_t flags = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "-V") || !strcmp(argv[i], "--version")) {
            printf("mnv2-convert (mnv2 %s)\n", mnv2_version_string());
            return 0;
        } else if (!strcmp(argv[i], "--bn-nodes")) {
            flags |= MNV2_ONNX_BN_NODES;
        } else if (!strcmp(argv[i], "--nhwc")) {
            flags |= MNV2_ONNX_NHWC;
        } else if (!strcmp(argv[i], "--standardize")) {
            flags |= MNV2_ONNX_STANDARDIZE;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            usage_error("unknown option %s", argv[i]);
        } else if (n_files == 2) {
            usage_error("more than two files given (%s)", argv[i]);
        } else {
            files[n_files++] = argv[i];
        }
    }
    if (n_files != 2)
        usage_error("%s", "expected IN and OUT");
    const int to_onnx = ends_with(files[1], ".onnx"), from_onnx = ends_with(files[0], ".onnx");
    if (to_onnx == from_onnx)
        usage_error("%s", "exactly one of IN and OUT must end in .onnx");
    if (from_onnx && flags)
        usage_error("%s", "--bn-nodes, --nhwc and --standardize apply to an ONNX output only");
    mnv2_model *model;
    if (to_onnx) {
        mnv2_file_info *info;
        ex_model_load(files[0], 1, 1, &model, &info);
        mnv2_file_info_destroy(info);
        ex_check(mnv2_model_export_onnx(model, flags, files[1]), "%s", files[1]);
    } else {
        mnv2_load_options o;
        ex_check(mnv2_load_options_default(&o), "load options");
        ex_check(mnv2_model_import_onnx(files[0], &o, &model), "%s", files[0]);
        ex_check(mnv2_model_save(model, NULL, 0, files[1]), "%s", files[1]);
    }
    mnv2_model_destroy(model);
    return 0;
}
