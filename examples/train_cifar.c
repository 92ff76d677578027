/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * train_cifar: train the reduced MobileNetV2 on CIFAR-10 with the seed paper's recipe, using only
 * the library: its dataset reader, its batch iterator (shuffle, flip, crop, standardisation), its
 * warm-up + cosine schedule, its evaluation and its model file.
 *
 *   cc train_cifar.c -o train_cifar $(pkg-config --cflags --libs mnv2)
 *   ./train_cifar DIR [EPOCHS [LIMIT]]      DIR: cifar-10-batches-bin (data_batch_1.bin ...)
 *
 * The recipe: Adam, learning rate 1e-3 reached after a linear warm-up of 5 epochs (from 1e-5),
 * then cosine decay to 0 at the last epoch; batch 32; random horizontal flip and random crop after
 * padding by 4 pixels; inputs standardised with the training set's per-channel mean and std.
 * EPOCHS defaults to 30 (warm-up: a sixth of them); LIMIT trains on the first LIMIT images only.
 * Writes cifar.mnv2 (the model, its class names and standardisation), which classify reads.
 */
#include <mnv2.h>
#include <mnv2_data.h>
#include <stdio.h>
#include <stdlib.h>

#define BATCH 32

/* Print the library's message for a failed call and exit. */
static void check(int32_t st, const char *what)
{
    if (st != MNV2_OK) {
        fprintf(stderr, "train_cifar: %s: %s (%s)\n", what, mnv2_last_error(), mnv2_status_string(st));
        exit(1);
    }
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 4) {
        fprintf(stderr, "usage: train_cifar DIR [EPOCHS [LIMIT]]\n");
        return 2;
    }
    uint32_t epochs = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 30;
    uint32_t limit = argc > 3 ? (uint32_t)strtoul(argv[3], NULL, 10) : 0;
    uint32_t warmup = epochs / 6;
    if (epochs == 0) {
        fprintf(stderr, "train_cifar: EPOCHS must be at least 1\n");
        return 2;
    }

    /* 1. The data: both splits of the directory, in the library's own reader. */
    mnv2_dataset *train, *test;
    check(mnv2_dataset_open_dir(argv[1], MNV2_SPLIT_TRAIN, &train), "reading the training split");
    check(mnv2_dataset_open_dir(argv[1], MNV2_SPLIT_TEST, &test), "reading the test split");
    if (limit)
        check(mnv2_dataset_limit(train, limit), "limiting the training split");
    uint32_t count, channels, classes;
    check(mnv2_dataset_info(train, &count, NULL, NULL, &channels, &classes), "dataset");
    float mean[4], std[4]; /* per channel; CIFAR has 3 */
    if (channels > 4) {
        fprintf(stderr, "train_cifar: %u channels: expected CIFAR's 3\n", channels);
        return 1;
    }
    check(mnv2_dataset_stats(train, MNV2_NORM_CHANNEL, channels, mean, std), "standardisation");

    /* 2. The batches: shuffled every epoch, flipped, cropped, standardised (NHWC floats). */
    mnv2_batch_options bo;
    mnv2_batch_options_default(&bo);
    bo.batch = BATCH;
    bo.drop_last = count >= BATCH;
    bo.flip = 1;
    bo.pad_crop = 4;
    bo.norm = MNV2_NORM_CHANNEL;
    bo.mean = mean;
    bo.std = std;
    bo.seed = 1;
    mnv2_batch_iter *it;
    check(mnv2_batch_iter_create(train, &bo, &it), "batch iterator");
    uint64_t steps_per_epoch;
    uint32_t h, w, c;
    check(mnv2_batch_iter_info(it, &steps_per_epoch, &h, &w, &c), "batch iterator");

    /* 3. The model: the reduced network (32x32x3), Adam, warm-up then cosine decay by step. */
    mnv2_config *cfg;
    check(mnv2_config_create(MNV2_PRESET_REDUCED, &cfg), "configuration");
    check(mnv2_config_set_int(cfg, MNV2_KEY_CLASSES, classes), "classes");
    check(mnv2_config_set_int(cfg, MNV2_KEY_MAX_BATCH, BATCH), "batch");
    check(mnv2_config_set_int(cfg, MNV2_KEY_THREADS, 0), "threads"); /* all cores */
    check(mnv2_config_set_int(cfg, MNV2_KEY_OPTIMIZER, MNV2_OPTIMIZER_ADAM), "optimizer");
    check(mnv2_config_set_float(cfg, MNV2_KEY_LR, 1e-3f), "learning rate");
    check(mnv2_config_set_int(cfg, MNV2_KEY_LR_SCHEDULE, MNV2_SCHEDULE_WARMUP_COSINE), "schedule");
    check(mnv2_config_set_int(cfg, MNV2_KEY_WARMUP_STEPS, (int64_t)(warmup * steps_per_epoch)), "warm-up");
    check(mnv2_config_set_int(cfg, MNV2_KEY_TOTAL_STEPS, (int64_t)(epochs * steps_per_epoch)), "total steps");
    mnv2_model *model;
    check(mnv2_model_create(cfg, &model), "creating the model"); /* all memory, once */
    mnv2_config_destroy(cfg);
    /* Stored with the model, so that whoever classifies with it prepares inputs the same way. */
    check(mnv2_model_set_normalization(model, mean, std, channels), "standardisation");

    /* 4. Training: one forward, backward and optimizer step per batch; none of them allocates. */
    size_t n_images = (size_t)BATCH * h * w * c;
    float *images = malloc(n_images * sizeof *images);
    int32_t labels[BATCH];
    if (!images) {
        fprintf(stderr, "train_cifar: out of memory\n");
        return 1;
    }
    printf("training on %u images, %u classes, %u epochs of %llu steps\n", count, classes, epochs,
           (unsigned long long)steps_per_epoch);
    for (uint32_t e = 0; e < epochs; e++) {
        double loss_sum = 0;
        uint32_t b, seen = 0;
        for (;;) {
            check(mnv2_batch_next(it, images, n_images, labels, BATCH, &b), "next batch");
            if (b == 0) /* end of the epoch; the iterator has moved to the next one */
                break;
            float loss;
            check(mnv2_forward(model, images, n_images, b, MNV2_MODE_TRAIN, NULL, 0), "forward");
            check(mnv2_backward(model, labels, b, &loss), "backward");
            check(mnv2_step(model), "step"); /* the learning rate comes from the schedule */
            loss_sum += (double)loss * b;
            seen += b;
        }
        /* The test split, in inference mode, standardised with the training statistics. */
        double test_loss, top1;
        check(mnv2_evaluate(model, test, &bo, &test_loss, &top1, NULL), "evaluation");
        printf("epoch %u/%u: train loss %.3f | test loss %.3f, accuracy %.2f%%\n", e + 1, epochs,
               seen ? loss_sum / seen : 0.0, test_loss, 100 * top1);
    }

    /* 5. The model file, with the dataset's class names. */
    const char *names[1000];
    uint32_t n_names = classes <= 1000 ? classes : 0;
    for (uint32_t i = 0; i < n_names; i++)
        check(mnv2_dataset_class_name(train, i, &names[i]), "class names");
    check(mnv2_model_save(model, names, n_names, "cifar.mnv2"), "saving cifar.mnv2");
    printf("model: cifar.mnv2\n");

    free(images);
    mnv2_batch_iter_destroy(it);
    mnv2_model_destroy(model);
    mnv2_dataset_destroy(test);
    mnv2_dataset_destroy(train);
    return 0;
}
