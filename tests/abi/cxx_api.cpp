/* SPDX-License-Identifier: BSD-2-Clause */
// The public header used from C++: build a reduced model and run one inference forward.
#include <mnv2.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <vector>

namespace {

int failures = 0;

void check(bool ok, const char *what, int32_t status = MNV2_OK)
{
    if (!ok) {
        std::fprintf(stderr, "FAIL: %s (%s; %s)\n", what, mnv2_status_string(status), mnv2_last_error());
        ++failures;
    }
}

} // namespace

int main()
{
    const int64_t classes = 7;
    const uint32_t batch = 2;

    check(mnv2_version() == MNV2_VERSION_NUMBER, "header and library versions agree");

    mnv2_config *cfg = nullptr;
    int32_t st = mnv2_config_create(MNV2_PRESET_REDUCED, &cfg);
    check(st == MNV2_OK && cfg != nullptr, "mnv2_config_create", st);
    if (!cfg)
        return 1;
    st = mnv2_config_set_int(cfg, MNV2_KEY_CLASSES, classes);
    check(st == MNV2_OK, "set classes", st);
    st = mnv2_config_set_int(cfg, MNV2_KEY_MAX_BATCH, batch);
    check(st == MNV2_OK, "set max batch", st);
    st = mnv2_config_set_int(cfg, MNV2_KEY_TRAINABLE, 0);
    check(st == MNV2_OK, "set inference only", st);

    uint64_t params = 0;
    st = mnv2_config_stat(cfg, MNV2_STAT_PARAMS, 0, &params);
    check(st == MNV2_OK && params > 0, "mnv2_config_stat(MNV2_STAT_PARAMS)", st);
    std::printf("reduced, %lld classes: %llu parameters\n", static_cast<long long>(classes),
                static_cast<unsigned long long>(params));

    int64_t h = 0, w = 0, c = 0;
    check(mnv2_config_get_int(cfg, MNV2_KEY_INPUT_HEIGHT, &h) == MNV2_OK &&
          mnv2_config_get_int(cfg, MNV2_KEY_INPUT_WIDTH, &w) == MNV2_OK &&
          mnv2_config_get_int(cfg, MNV2_KEY_INPUT_CHANNELS, &c) == MNV2_OK && h > 0 && w > 0 && c > 0,
          "read the input shape");

    mnv2_model *model = nullptr;
    st = mnv2_model_create(cfg, &model);
    mnv2_config_destroy(cfg);
    check(st == MNV2_OK && model != nullptr, "mnv2_model_create", st);
    if (!model)
        return 1;

    uint64_t model_params = 0;
    st = mnv2_model_stat(model, MNV2_STAT_PARAMS, 0, &model_params);
    check(st == MNV2_OK && model_params == params, "model and config agree on the parameter count", st);

    std::vector<float> images(static_cast<size_t>(batch * h * w * c), 0.0f);
    std::vector<float> logits(static_cast<size_t>(batch * classes), std::numeric_limits<float>::quiet_NaN());
    st = mnv2_forward(model, images.data(), images.size(), batch, MNV2_MODE_INFER, logits.data(), logits.size());
    check(st == MNV2_OK, "mnv2_forward", st);
    for (float v : logits)
        check(std::isfinite(v), "finite logits");

    std::vector<float> too_many(static_cast<size_t>((batch + 1) * h * w * c), 0.0f);
    st = mnv2_forward(model, too_many.data(), too_many.size(), batch + 1, MNV2_MODE_INFER, nullptr, 0);
    check(st == MNV2_ERR_BATCH_SIZE, "batch above the maximum is refused", st);

    mnv2_model_destroy(model);
    mnv2_model_destroy(nullptr);
    mnv2_config_destroy(nullptr);

    if (failures)
        std::fprintf(stderr, "%d failure(s)\n", failures);
    return failures ? 1 : 0;
}
