/*
 * mnv2-convert: between mnv2 model files and ONNX, by the files' extensions.
 *   mnv2-convert [--bn-nodes] [--nhwc] [--standardize] IN.mnv2 OUT.onnx
 *   mnv2-convert IN.onnx OUT.mnv2
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common.h"

static const char help[] =
    "usage: mnv2-convert [options] [--] IN OUT\n"
    "Convert a model between mnv2's file format and ONNX; the direction comes from the\n"
    "extensions: IN.mnv2 (or a checkpoint) -> OUT.onnx, or IN.onnx -> OUT.mnv2.\n"
    "\n"
    "Options:\n"
    "  --bn-nodes      export: batch norm as BatchNormalization nodes (default: folded)\n"
    "  --nhwc          export: input NHWC [batch, H, W, C] (default: NCHW)\n"
    "  --standardize   export: the model's standardisation as the first nodes, so the\n"
    "                  graph takes pixel / 255\n"
    "  -h, --help      print this help and exit\n"
    "  -V, --version   print the version and exit\n"
    "\n"
    "ONNX input: mnv2's own exports and torchvision's MobileNetV2 (torch.onnx.export, opset 7\n"
    "to 18, batch norm folded or not).\n";

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n > k && strcmp(s + n - k, suffix) == 0;
}

int main(int argc, char **argv)
{
    cli_begin("mnv2-convert", help);
    const char *files[2] = {NULL, NULL};
    int n_files = 0;
    uint32_t flags = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const int kind = cli_arg(argc, argv, &i);
        if (kind == CLI_SKIP) {
            continue;
        } else if (kind == CLI_OPERAND) {
            if (n_files == 2)
                cli_usage_error("more than two files given ('%s')", a);
            files[n_files++] = a;
        } else if (cli_flag(a, "--bn-nodes")) {
            flags |= MNV2_ONNX_BN_NODES;
        } else if (cli_flag(a, "--nhwc")) {
            flags |= MNV2_ONNX_NHWC;
        } else if (cli_flag(a, "--standardize")) {
            flags |= MNV2_ONNX_STANDARDIZE;
        } else {
            cli_unknown(a);
        }
    }
    if (n_files != 2)
        cli_usage_error("expected IN and OUT");
    const int to_onnx = ends_with(files[1], ".onnx"), from_onnx = ends_with(files[0], ".onnx");
    if (to_onnx == from_onnx)
        cli_usage_error("exactly one of IN and OUT must end in .onnx");
    if (from_onnx && flags)
        cli_usage_error("--bn-nodes, --nhwc and --standardize apply to an ONNX output only");
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
