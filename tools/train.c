/*
 * mnv2-train: train MobileNetV2 on CIFAR-10, CIFAR-100 or an IDX dataset (MNIST, Fashion-MNIST)
 * with the seed paper's recipe, with checkpoints, resume, a CSV log and an SVG plot.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "common.h"
#include "imagedata.h"
#include "svg.h"
#include "traindata.h"
#include "train_mpi.h"
#include "trainstate.h"

typedef struct options {
    const char *data, *model, *out, *resume, *checkpoint, *csv, *svg;
    int32_t optimizer, threads, init, sync_bn;
    int skip_bad; /* --skip-bad-batches */
    uint32_t expansion;
    double lr, weight_decay, width, bn_momentum, adam_eps, max_loss;
    char *owned[3]; /* default file names made from --out */
    image_opts img;  /* image folders and --size (imagedata.c) */
} options;

static volatile sig_atomic_t stop_signal;

#define MAX_BAD_IN_A_ROW 20 /* --skip-bad-batches gives up after this many bad batches in a row */

static void on_signal(int sig)
{
    stop_signal = sig;
}

static const char help[] =
    "usage: mnv2-train --data DIR [options]\n"
    "Train MobileNetV2 (Adam, linear warm-up then cosine decay, random flip, standardisation).\n"
    "\n"
    "Options:\n"
    "  --data DIR          CIFAR-10 / CIFAR-100 binary or IDX (.gz or not) dataset directory,\n"
    "                      or an image folder (DIR/train/<class>/*.jpg, DIR/val/...)\n"
    "  --preset P          the network: reduced (32x32x3, default), standard (224x224x3) or a\n"
    "                      block table t,c,n,s;t,c,n,s;... on the reduced preset\n"
    "  --epochs N          epochs (30)\n"
    "  --batch N           batch size (32)\n"
    "  --lr X              maximum learning rate (0.001)\n"
    "  --warmup N          warm-up epochs, from lr * 0.01 (5; at most --epochs)\n"
    "  --optimizer O       adam (default), adamw or sgd\n"
    "  --adam-eps X        Adam epsilon (1e-7, Keras; PyTorch uses 1e-8)\n"
    "  --init S            initialisation: torch (PyTorch module defaults; default),\n"
    "                      torchvision or keras (MNV2_KEY_INIT)\n"
    "  --weight-decay X    weight decay (0)\n"
    "  --expansion T       replace the blocks' expansion factor (0 = the table's)\n"
    "  --width X           width multiplier (1)\n"
    "  --bn-momentum X     batch-norm momentum, Keras convention (0.99)\n"
    "  --crop-pad P        random crop after padding by P pixels (0; 4 is usual for CIFAR)\n"
    "  --no-flip           no random horizontal flip\n"
    "  --max-loss X        a batch loss above X means the run diverged (100 x ln(classes))\n"
    "  --skip-bad-batches  skip a batch whose loss is above --max-loss or whose forward,\n"
    "                      backward or step would make a value NaN or infinite, and go on\n"
    "                      (gives up after 20 in a row: MAX_BAD_IN_A_ROW; not under mpirun); without\n"
    "                      it such a batch stops the run with exit status 1\n"
    "  --limit N           train on the first N training images only\n"
    "  --test-limit N      test on the first N test images only\n"
    "  --threads N         worker threads (0 = all cores, the default)\n"
    "  --seed N            seed of initialisation, shuffling and augmentation (0)\n"
    "  --out FILE          the trained model (model.mnv2)\n"
    "  --checkpoint FILE   checkpoint, written every epoch and on Ctrl-C (OUT.ckpt)\n"
    "  --resume FILE       continue from a checkpoint (its settings win over the options above)\n"
    "  --csv FILE          per-epoch log (OUT.csv)\n"
    "  --svg FILE          loss and accuracy plot (OUT.svg)\n"
    "  --sync-bn           under mpirun: batch-norm statistics of the whole global batch\n"
    "                      (default: each process's own)\n"
    "  --mpi-timeout S     under mpirun: stop every process when one waits S seconds for\n"
    "                      the others (600; 0 = never)\n"
    IMAGE_OPTS_HELP
    "  -h, --help          print this help and exit\n"
    "  -V, --version       print the version and exit\n"
    "\n"
    "OUT is --out without a .mnv2 extension. The per-epoch results go to stdout, the live\n"
    "progress line to stderr (terminals only).\n"
    "Image folders (DIR/train/<class>/*.jpg|png) need a build with libmnv2-image.\n"
    "Data-parallel (a build with MPI): mpirun -np N mnv2-train ... splits each batch of --batch\n"
    "images evenly over the N processes.\n";

/* The value of keyword @p s among @p n names (values[i] for names[i]), or exit naming @p opt. */
static int32_t parse_keyword(const char *opt, const char *s, const char *const *names, const int32_t *values, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, names[i]) == 0)
            return values[i];
    ex_die("%s: expected %s, %s or %s, got '%s'", opt, names[0], names[1], names[2], s);
}

static int32_t parse_optimizer(const char *s)
{
    static const char *const names[] = {"adam", "adamw", "sgd"};
    static const int32_t values[] = {MNV2_OPTIMIZER_ADAM, MNV2_OPTIMIZER_ADAMW, MNV2_OPTIMIZER_SGD};
    return parse_keyword("--optimizer", s, names, values, 3);
}

static int32_t parse_init(const char *s)
{
    static const char *const names[] = {"torch", "torchvision", "keras"};
    static const int32_t values[] = {MNV2_INIT_TORCH, MNV2_INIT_TORCHVISION, MNV2_INIT_KERAS};
    return parse_keyword("--init", s, names, values, 3);
}

/* Fail now rather than after an epoch when an output file's directory is not writable. */
static void check_dir(const char *path)
{
    char *dir = ex_concat(path, "");
    char *slash = strrchr(dir, '/');
    const char *d = slash ? (slash == dir ? "/" : (*slash = '\0', dir)) : ".";
    if (access(d, W_OK | X_OK) != 0)
        ex_die("%s: cannot write into %s: %s", path, d, strerror(errno));
    free(dir);
}

static void parse_args(int argc, char **argv, options *o, train_state *st)
{
    const char *v;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int kind = cli_arg(argc, argv, &i);
        if (kind == CLI_SKIP) {
            continue;
        } else if (kind == CLI_OPERAND) {
            cli_usage_error("unexpected argument '%s'", a);
        } else if (cli_flag(a, "--no-flip")) {
            st->flip = 0;
        } else if (strcmp(a, "--sync-bn") == 0) {
            o->sync_bn = 1;
        } else if (ex_opt(argc, argv, &i, "--mpi-timeout", &v)) {
            tm_set_timeout(ex_parse_double(a, v, 0, 1e7));
        } else if (strcmp(a, "--skip-bad-batches") == 0) {
            o->skip_bad = 1;
        } else if (ex_opt(argc, argv, &i, "--data", &v)) {
            o->data = v;
        } else if (ex_opt(argc, argv, &i, "--preset", &v)) {
            o->model = v;
        } else if (ex_opt(argc, argv, &i, "--model", &v)) {
            cli_usage_error("--model names a model file in every tool; choose the network with --preset");
        } else if (ex_opt(argc, argv, &i, "--epochs", &v)) {
            st->epochs = ex_parse_u32(a, v, 1, 100000);
        } else if (ex_opt(argc, argv, &i, "--batch", &v)) {
            st->batch = ex_parse_u32(a, v, 1, 65536);
        } else if (ex_opt(argc, argv, &i, "--max-loss", &v)) {
            o->max_loss = ex_parse_double(a, v, 1e-6, 1e30);
        } else if (ex_opt(argc, argv, &i, "--lr", &v)) {
            o->lr = ex_parse_double(a, v, 1e-12, 100);
        } else if (ex_opt(argc, argv, &i, "--warmup", &v)) {
            st->warmup = ex_parse_u32(a, v, 0, 100000);
        } else if (ex_opt(argc, argv, &i, "--optimizer", &v)) {
            o->optimizer = parse_optimizer(v);
        } else if (ex_opt(argc, argv, &i, "--init", &v)) {
            o->init = parse_init(v);
        } else if (ex_opt(argc, argv, &i, "--adam-eps", &v)) {
            o->adam_eps = ex_parse_double(a, v, 1e-30, 1);
        } else if (ex_opt(argc, argv, &i, "--weight-decay", &v)) {
            o->weight_decay = ex_parse_double(a, v, 0, 10);
        } else if (ex_opt(argc, argv, &i, "--expansion", &v)) {
            o->expansion = ex_parse_u32(a, v, 0, 64);
        } else if (ex_opt(argc, argv, &i, "--width", &v)) {
            o->width = ex_parse_double(a, v, 0.05, 4);
        } else if (ex_opt(argc, argv, &i, "--bn-momentum", &v)) {
            o->bn_momentum = ex_parse_double(a, v, 0, 0.9999);
        } else if (ex_opt(argc, argv, &i, "--crop-pad", &v)) {
            st->crop_pad = ex_parse_u32(a, v, 0, 64);
        } else if (ex_opt(argc, argv, &i, "--limit", &v)) {
            st->limit = ex_parse_u32(a, v, 1, UINT32_MAX);
        } else if (ex_opt(argc, argv, &i, "--test-limit", &v)) {
            st->test_limit = ex_parse_u32(a, v, 1, UINT32_MAX);
        } else if (ex_opt(argc, argv, &i, "--threads", &v)) {
            o->threads = (int32_t)ex_parse_u32(a, v, 0, 4096);
        } else if (ex_opt(argc, argv, &i, "--seed", &v)) {
            st->seed = ex_parse_u32(a, v, 0, UINT32_MAX);
        } else if (ex_opt(argc, argv, &i, "--out", &v)) {
            o->out = v;
        } else if (ex_opt(argc, argv, &i, "--resume", &v)) {
            o->resume = v;
        } else if (ex_opt(argc, argv, &i, "--checkpoint", &v)) {
            o->checkpoint = v;
        } else if (ex_opt(argc, argv, &i, "--csv", &v)) {
            o->csv = v;
        } else if (ex_opt(argc, argv, &i, "--svg", &v)) {
            o->svg = v;
        } else if (image_opts_parse(argc, argv, &i, &o->img)) {
        } else {
            cli_unknown(a);
        }
    }
    if (!o->data)
        cli_usage_error("no dataset given: use --data DIR");
    mnv2_config *cfg = ex_config_for(o->model);
    if (!cfg)
        cli_usage_error("--preset: expected reduced, standard or t,c,n,s;..., got '%s'", o->model);
    mnv2_config_destroy(cfg);
    size_t n = strlen(o->out);
    char *stem = ex_concat(o->out, "");
    if (n > 5 && strcmp(stem + n - 5, ".mnv2") == 0)
        stem[n - 5] = '\0';
    if (!o->checkpoint)
        o->checkpoint = o->owned[0] = ex_concat(stem, ".ckpt");
    if (!o->csv)
        o->csv = o->owned[1] = ex_concat(stem, ".csv");
    if (!o->svg)
        o->svg = o->owned[2] = ex_concat(stem, ".svg");
    free(stem);
    const char *outputs[] = {o->out, o->checkpoint, o->csv, o->svg};
    for (int k = 0; k < 4; k++)
        check_dir(outputs[k]);
}

/* A new trainable model from the options, for @p classes classes. */
static mnv2_model *create_model(const options *o, const train_state *st, uint32_t classes)
{
    mnv2_config *cfg = ex_config_for(o->model);
    struct {
        int32_t key;
        int64_t value;
    } ints[] = {{MNV2_KEY_CLASSES, classes},     {MNV2_KEY_MAX_BATCH, st->batch / tm_size()},   {MNV2_KEY_SEED, (int64_t)st->seed},
                {MNV2_KEY_THREADS, o->threads},  {MNV2_KEY_EXPANSION, o->expansion}, {MNV2_KEY_OPTIMIZER, o->optimizer},
                {MNV2_KEY_LR_SCHEDULE, MNV2_SCHEDULE_WARMUP_COSINE}, {MNV2_KEY_INIT, o->init}};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
        ex_check(mnv2_config_set_int(cfg, ints[i].key, ints[i].value), "configuring the model (key %d)",
                 (int)ints[i].key);
    if (o->img.size) {
        ex_check(mnv2_config_set_int(cfg, MNV2_KEY_INPUT_HEIGHT, o->img.size), "--size");
        ex_check(mnv2_config_set_int(cfg, MNV2_KEY_INPUT_WIDTH, o->img.size), "--size");
    }
    ex_check(mnv2_config_set_float(cfg, MNV2_KEY_LR, o->lr), "--lr");
    ex_check(mnv2_config_set_float(cfg, MNV2_KEY_ADAM_EPS, o->adam_eps), "--adam-eps");
    ex_check(mnv2_config_set_float(cfg, MNV2_KEY_WEIGHT_DECAY, o->weight_decay), "--weight-decay");
    ex_check(mnv2_config_set_float(cfg, MNV2_KEY_WIDTH_MULT, o->width), "--width");
    ex_check(mnv2_config_set_float(cfg, MNV2_KEY_BN_MOMENTUM, o->bn_momentum), "--bn-momentum");
    mnv2_model *model;
    ex_check(mnv2_model_create(cfg, &model), "creating the model");
    mnv2_config_destroy(cfg);
    return model;
}

static int64_t model_int(const mnv2_model *m, int32_t key)
{
    int64_t v;
    ex_check(mnv2_model_get_int(m, key, &v), "reading model key %d", (int)key);
    return v;
}

static void write_checkpoint(mnv2_model *model, const train_iter *it, const train_state *st,
                             const train_data *td, const char *path)
{
    size_t size;
    char *blob = train_state_save(st, &size);
    ex_check(titer_checkpoint(model, it, blob, size, td->names, td->classes, path), "writing checkpoint");
    free(blob);
}

static void write_logs(const train_state *st, const options *o)
{
    if (train_state_csv(st, o->csv) != 0)
        ex_die("writing %s: %s", o->csv, strerror(errno));
    char title[512];
    snprintf(title, sizeof title, "mnv2-train: %s, %u of %u epochs", o->out, st->done, st->epochs);
    if (ex_svg_write(o->svg, st->hist, st->done, title) != 0)
        ex_die("writing %s: %s", o->svg, strerror(errno));
}

/* The live progress line (terminals only). */
static void progress(uint32_t epoch, uint32_t epochs, uint64_t step, uint64_t steps, const train_state *st)
{
    static double last;
    double now = ex_now();
    if (now - last < 0.25 && step != steps)
        return;
    last = now;
    double rate = st->train_seconds > 0 ? st->seen / st->train_seconds : 0;
    double eta = rate > 0 ? (double)(steps - step) * st->batch / rate : 0;
    fprintf(stderr, "\r\033[Kepoch %u/%u  step %llu/%llu  %.0f img/s  loss %.4f  ETA %d:%02d", epoch, epochs,
            (unsigned long long)step, (unsigned long long)steps, rate, st->seen ? st->loss_sum / st->seen : 0.0,
            (int)(eta / 60), (int)eta % 60);
}

static uint32_t count_correct(const float *logits, const int32_t *labels, uint32_t b, uint32_t classes)
{
    uint32_t correct = 0;
    for (uint32_t i = 0; i < b; i++) {
        const float *l = logits + (size_t)i * classes;
        uint32_t best = 0;
        for (uint32_t c = 1; c < classes; c++)
            best = l[c] > l[best] ? c : best;
        correct += (int32_t)best == labels[i];
    }
    return correct;
}

int main(int argc, char **argv)
{
    cli_begin("mnv2-train", help);
    tm_init(&argc, &argv);
    options o = {.model = "reduced", .out = "model.mnv2", .optimizer = MNV2_OPTIMIZER_ADAM, .lr = 1e-3, .width = 1,
                 .bn_momentum = 0.99, .adam_eps = 1e-7, .init = MNV2_INIT_TORCH};
    train_state st = {.epochs = 30, .batch = 32, .warmup = 5, .flip = 1};
    parse_args(argc, argv, &o, &st);
    o.threads = tm_threads(o.threads);

    mnv2_model *model;
    mnv2_file_info *info = NULL;
    if (o.resume) {
        mnv2_load_options lo;
        mnv2_load_options_default(&lo);
        lo.threads = o.threads;
        ex_check(mnv2_checkpoint_load(o.resume, &lo, &model, &info), "resuming");
        const void *blob;
        uint64_t size;
        ex_check(mnv2_file_info_blob(info, &blob, &size), "resuming from %s", o.resume);
        train_state_load(&st, blob, size, o.resume);
        /* Saved with the batch share of the run that wrote it: size it for this run's share. */
        const uint32_t want = st.batch / tm_size();
        if (want && model_int(model, MNV2_KEY_MAX_BATCH) != want) {
            mnv2_model_destroy(model);
            mnv2_file_info_destroy(info);
            lo.max_batch = want;
            ex_check(mnv2_checkpoint_load(o.resume, &lo, &model, &info), "resuming");
        }
    } else {
        train_state_alloc(&st);
    }
    st.warmup = st.warmup < st.epochs ? st.warmup : st.epochs;
    /* Data-parallel: each of the N processes takes share = batch / N images of every batch. */
    const uint32_t share = st.batch / tm_size();
    if (share * tm_size() != st.batch)
        ex_die("--batch %u is not a multiple of the %u processes", st.batch, (unsigned)tm_size());

    train_data td;
    if (image_data_is_folder(o.data))
        image_data_open(&td, o.data, &o.img, st.limit, st.test_limit);
    else
        train_data_open(&td, o.data, st.limit, st.test_limit);
    if (!o.resume)
        model = create_model(&o, &st, td.classes);
    if (o.resume && (uint32_t)model_int(model, MNV2_KEY_CLASSES) != td.classes)
        ex_die("%s has %u classes, the dataset %u", o.resume, (unsigned)model_int(model, MNV2_KEY_CLASSES),
               (unsigned)td.classes);
    uint32_t h = (uint32_t)model_int(model, MNV2_KEY_INPUT_HEIGHT), w = (uint32_t)model_int(model, MNV2_KEY_INPUT_WIDTH);
    uint32_t c = (uint32_t)model_int(model, MNV2_KEY_INPUT_CHANNELS), classes = td.classes;

    /* Standardisation from the training images, the batch iterator and the schedule. */
    ex_norm norm;
    if (td.img_train)
        image_data_norm(&td, &o.img, strcmp(o.model, "standard") == 0, h < w ? h : w, c, &norm);
    else
        train_data_norm(&td, c, &norm);
    /* Recorded with the model, so that checkpoints and the model file tell how to prepare inputs. */
    ex_check(mnv2_model_set_normalization(model, norm.mean, norm.std, norm.n), "standardisation");
    mnv2_batch_options bo;
    mnv2_batch_options_default(&bo);
    bo.batch = share;
    bo.height = h, bo.width = w, bo.channels = c;
    bo.drop_last = td.train_count >= st.batch;
    if (tm_size() > 1 && !bo.drop_last)
        ex_die("%u training images: fewer than one batch of %u", td.train_count, st.batch);
    bo.flip = st.flip;
    bo.pad_crop = st.crop_pad;
    bo.norm = norm.n == 1 ? MNV2_NORM_GLOBAL : MNV2_NORM_CHANNEL;
    bo.seed = st.seed;
    bo.mean = norm.mean, bo.std = norm.std;
    train_iter it;
    titer_create(&it, &td, &bo, &o.img);
    uint64_t steps = titer_batches(&it), seed, epoch, position;
    if (tm_size() > 1) {
        if (!it.core)
            ex_die("image folders are not supported under mpirun yet (CIFAR and IDX data are)");
        steps = td.train_count / st.batch;
    }
    if (o.resume) {
        ex_check(mnv2_file_info_iter_state(info, &seed, &epoch, &position), "resuming from %s", o.resume);
        titer_set_state(&it, seed, epoch, position);
        if (epoch != st.done)
            ex_die("%s: inconsistent checkpoint (iterator at epoch %llu, %u epochs logged)", o.resume,
                   (unsigned long long)epoch, st.done);
        if (st.done == st.epochs)
            printf("resuming from %s: all %u epochs are done\n", o.resume, st.epochs);
        else
            printf("resuming from %s: epoch %u/%u, optimizer step %lld\n", o.resume, st.done + 1, st.epochs,
                   (long long)model_int(model, MNV2_KEY_STEP));
    } else {
        ex_check(mnv2_model_set_int(model, MNV2_KEY_TOTAL_STEPS, (int64_t)(steps * st.epochs)), "total steps");
        ex_check(mnv2_model_set_int(model, MNV2_KEY_WARMUP_STEPS, (int64_t)(steps * st.warmup)), "warm-up steps");
    }
    mnv2_file_info_destroy(info);
    titer_get_state(&it, NULL, NULL, &position);
    uint64_t same[] = {td.train_count, td.test_count, classes, steps, st.batch, st.epochs, st.done, position};
    tm_check_same("the dataset or the settings", same, sizeof same / sizeof same[0]);
    tm_attach(model, o.sync_bn);
    char shape[64] = "JPEG / PNG decoded on the fly";
    if (!td.img_train)
        snprintf(shape, sizeof shape, "%ux%ux%u", td.height, td.width, td.channels);
    printf("training on %u images (%s, %u classes), testing on %u; model %ux%ux%u, %llu batches of %u per epoch\n",
           td.train_count, shape, classes, td.test_count, h, w, c, (unsigned long long)steps, st.batch);
    cli_check_stdout();

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = (int)SA_RESETHAND; /* a second Ctrl-C ends the program at once */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    size_t n_x = (size_t)share * h * w * c;
    float *x = malloc(n_x * sizeof *x), *logits = malloc((size_t)share * classes * sizeof *logits);
    int32_t *y = malloc(share * sizeof *y);
    if (!x || !logits || !y)
        ex_die("out of memory");
    int tty = isatty(fileno(stderr)) && tm_rank() == 0;
    uint64_t steps_run = 0;
    double train_total = 0;
    int stopping = 0; /* agreed by every process */
    int bad_in_a_row = 0;
    const double max_loss = o.max_loss > 0 ? o.max_loss : 100 * log((double)classes);
    uint64_t skipped = 0;
    if (o.skip_bad && tm_size() > 1)
        ex_die("--skip-bad-batches is not supported under mpirun (the processes would have to agree on each skip)");
    mnv2_batch_options eo = bo;
    eo.shuffle = 0, eo.flip = 0, eo.pad_crop = 0, eo.drop_last = 0;

    for (uint32_t e = st.done; e < st.epochs && !stopping; e++) {
        titer_get_state(&it, NULL, NULL, &position);
        int epoch_over = 0; /* every batch done: the iterator is at the next epoch */
        double input_wait = 0; /* seconds the loop waited for its next batch */
        for (uint64_t step = position / st.batch;;) {
            uint32_t b;
            if (stop_signal && tm_size() == 1)
                break;
            double t0 = ex_now();
            if (it.core)
                ex_check(tm_batch_next(it.core, st.batch, td.train_count, x, n_x, y, share, &b), "reading a batch");
            else
                titer_next(&it, x, n_x, y, st.batch, &b);
            input_wait += ex_now() - t0;
            if (b == 0) {
                epoch_over = 1;
                break;
            }
            float loss = 0;
            /* The library refuses NaN and infinity with MNV2_ERR_NOT_FINITE and leaves the model as
             * it was, so the model (and every file written from it) stays finite. */
            const char *what = "forward";
            int32_t rc = mnv2_forward(model, x, (size_t)b * h * w * c, b, MNV2_MODE_TRAIN, logits, (size_t)b * classes);
            if (rc == MNV2_OK && (what = "backward", rc = mnv2_backward(model, y, b, &loss)) == MNV2_OK &&
                loss > max_loss)
                what = "loss", rc = MNV2_ERR_NOT_FINITE;
            int agreed = 0;
            if (rc == MNV2_OK) {
                /* Under MPI, a signal to any process stops every process after this step. */
                agreed = tm_average_gradients(model, stop_signal != 0);
                what = "optimizer step", rc = mnv2_step(model);
            }
            if (rc == MNV2_ERR_NOT_FINITE) {
                char msg[512];
                if (loss > max_loss)
                    snprintf(msg, sizeof msg, "%g is above --max-loss %g", (double)loss, max_loss);
                else
                    snprintf(msg, sizeof msg, "%s", mnv2_last_error());
                ex_check(mnv2_zero_grad(model), "clearing the gradients");
                if (!o.skip_bad)
                    ex_die("training diverged at optimizer step %lld (epoch %u): %s: %s\n"
                           "  no NaN or infinity was written to the model or to any file; try a lower --lr,\n"
                           "  or --skip-bad-batches to skip such batches",
                           (long long)model_int(model, MNV2_KEY_STEP), e + 1, what, msg);
                if (++bad_in_a_row >= MAX_BAD_IN_A_ROW)
                    ex_die("training diverged: %d bad batches in a row (last at optimizer step %lld: %s: %s)",
                           bad_in_a_row, (long long)model_int(model, MNV2_KEY_STEP), what, msg);
                skipped++;
                fprintf(stderr, "%s%s: skipped a bad batch at optimizer step %lld: %s: %s\n", tty ? "\r\033[K" : "",
                        ex_prog(), (long long)model_int(model, MNV2_KEY_STEP), what, msg);
                step++;
                continue;
            }
            ex_check(rc, "%s", what);
            bad_in_a_row = 0;
            steps_run++;
            st.loss_sum += (double)loss * b;
            st.correct += count_correct(logits, y, b, classes);
            st.seen += b;
            st.train_seconds += ex_now() - t0;
            train_total += ex_now() - t0;
            if (tty)
                progress(e + 1, st.epochs, ++step, steps, &st);
            if (agreed && tm_size() > 1)
                break;
        }
        double sums[4] = {st.loss_sum, st.correct, st.seen, stop_signal != 0}; /* over all processes */
        tm_sum(sums, 4);
        st.loss_sum = sums[0], st.correct = sums[1], st.seen = sums[2];
        stopping = sums[3] > 0;
        if (stopping && !epoch_over)
            break; /* else test, log and checkpoint the finished epoch first */
        if (st.seen == 0) /* only --skip-bad-batches skips; an epoch has at least one batch */
            ex_die("every batch of epoch %u was skipped as bad (--skip-bad-batches): nothing was trained in it;\n"
                   "  the model and the files of earlier epochs are as they were; try a lower --lr or a higher --max-loss",
                   e + 1);
        /* The epoch is over: test, log, checkpoint. */
        if (tty)
            fprintf(stderr, "\r\033[Kepoch %u/%u  testing on %u images...", e + 1, st.epochs, td.test_count);
        double t0 = ex_now(), test_loss = 0, top1 = 0;
        if (tm_rank() == 0)
            titer_evaluate(model, &td, &eo, &o.img, &test_loss, &top1);
        st.eval_seconds += ex_now() - t0;
        float lr = 0;
        ex_check(mnv2_schedule_lr(model, model_int(model, MNV2_KEY_STEP) - 1, &lr), "learning rate");
        ex_epoch *r = &st.hist[st.done++];
        *r = (ex_epoch){st.loss_sum / st.seen, 100 * st.correct / st.seen, test_loss, 100 * top1, lr,
                        st.train_seconds + st.eval_seconds};
        double rate = st.seen / st.train_seconds, wait = st.train_seconds > 0 ? input_wait / st.train_seconds : 0;
        st.loss_sum = st.correct = st.seen = st.train_seconds = st.eval_seconds = 0;
        if (tm_rank() == 0) {
            write_checkpoint(model, &it, &st, &td, o.checkpoint);
            write_logs(&st, &o);
        }
        if (tty)
            fprintf(stderr, "\r\033[K");
        printf("epoch %u/%u: train loss %.3f acc %.2f%% | test loss %.3f acc %.2f%% | %.0f img/s %.0f s | input wait "
               "%.1f%%\n", e + 1, st.epochs, r->train_loss, r->train_acc, r->test_loss, r->test_acc, rate, r->seconds,
               100 * wait);
        cli_check_stdout();
    }
    if (stopping || stop_signal) {
        if (tty)
            fprintf(stderr, "\r\033[K");
        if (tm_rank() == 0) {
            write_checkpoint(model, &it, &st, &td, o.checkpoint);
            fprintf(stderr, "%s: interrupted: checkpoint written to %s (continue with --resume %s)\n", ex_prog(),
                    o.checkpoint, o.checkpoint);
        }
        tm_finalize();
        return 128 + (stop_signal ? stop_signal : SIGTERM);
    }
    if (tm_rank() == 0) {
        write_logs(&st, &o);
        ex_check(mnv2_model_save(model, td.names, td.classes, o.out), "saving model %s", o.out);
    }
    if (skipped)
        fprintf(stderr, "%s: %llu bad batches skipped (--skip-bad-batches)\n", ex_prog(), (unsigned long long)skipped);
    tm_report(train_total, steps_run);
    tm_finalize();
    printf("model:      %s\ncheckpoint: %s\nlog:        %s\nplot:       %s\n", o.out, o.checkpoint, o.csv, o.svg);

    free(x), free(logits), free(y), free(st.hist);
    free(o.owned[0]), free(o.owned[1]), free(o.owned[2]);
    titer_destroy(&it);
    mnv2_model_destroy(model);
    train_data_close(&td);
    return 0;
}
