/* SPDX-License-Identifier: BSD-2-Clause */
/* Dataset readers on small synthetic files: valid CIFAR-10 / CIFAR-100 / IDX, directory layouts,
 * and every malformation giving a clean error code with a message naming the file. */
#include <math.h>
#include <sys/stat.h>

#include "io_test.h"
#include "io/crc32.h"

#define REC10 3073u
#define REC100 3074u

/* A CIFAR record: label byte(s), then R, G, B planes with pixel value (plane * 64 + y * 2 + x + seed) & 255. */
static void cifar_record(uint8_t *rec, int label_bytes, uint8_t coarse, uint8_t label, unsigned seed)
{
    if (label_bytes == 2)
        *rec++ = coarse;
    *rec++ = label;
    for (unsigned c = 0; c < 3; c++)
        for (unsigned y = 0; y < 32; y++)
            for (unsigned x = 0; x < 32; x++)
                rec[c * 1024 + y * 32 + x] = (uint8_t)(c * 64 + y * 2 + x + seed);
}

static uint8_t *cifar_file(unsigned n, int label_bytes, unsigned first_seed, size_t *size)
{
    size_t rec = 3072u + (size_t)label_bytes;
    uint8_t *b = malloc(n * rec);
    assert_non_null(b);
    for (unsigned i = 0; i < n; i++)
        cifar_record(b + i * rec, label_bytes, (uint8_t)(i % 20), (uint8_t)((first_seed + i) % 10), first_seed + i);
    *size = n * rec;
    return b;
}

static void check_cifar_image(const mnv2_dataset *ds, uint32_t index, unsigned seed)
{
    const uint8_t *px;
    expect_ok(mnv2_dataset_image(ds, index, &px));
    for (unsigned y = 0; y < 32; y += 5)
        for (unsigned x = 0; x < 32; x += 3)
            for (unsigned c = 0; c < 3; c++)
                assert_int_equal(px[(y * 32 + x) * 3 + c], (uint8_t)(c * 64 + y * 2 + x + seed));
}

static void test_crc32(void **state)
{
    (void)state;
    assert_int_equal(mnv2__crc32(0, "123456789", 9), 0xCBF43926u);
    assert_int_equal(mnv2__crc32(mnv2__crc32(0, "1234", 4), "56789", 5), 0xCBF43926u);
    assert_int_equal(mnv2__crc32(0, "", 0), 0u);
}

static void test_cifar10_valid(void **state)
{
    (void)state;
    char *dir = make_temp_dir();
    size_t s1, s2;
    uint8_t *a = cifar_file(3, 1, 0, &s1), *b = cifar_file(2, 1, 3, &s2);
    char *p1 = path_in(dir, "a.bin"), *p2 = path_in(dir, "b.bin");
    write_file(p1, a, s1);
    write_file(p2, b, s2);
    const char *paths[2] = {p1, p2};
    mnv2_dataset *ds;
    expect_ok(mnv2_dataset_read_cifar10(paths, 2, &ds));
    uint32_t n, h, w, c, k;
    expect_ok(mnv2_dataset_info(ds, &n, &h, &w, &c, &k));
    assert_int_equal(n, 5);
    assert_int_equal(h, 32);
    assert_int_equal(w, 32);
    assert_int_equal(c, 3);
    assert_int_equal(k, 10);
    for (uint32_t i = 0; i < 5; i++) {
        int32_t label;
        expect_ok(mnv2_dataset_label(ds, i, &label));
        assert_int_equal(label, i % 10);
        check_cifar_image(ds, i, i);
    }
    const char *name;
    expect_ok(mnv2_dataset_class_name(ds, 0, &name));
    assert_string_equal(name, "airplane");
    expect_ok(mnv2_dataset_class_name(ds, 9, &name));
    assert_string_equal(name, "truck");
    expect_fail(mnv2_dataset_class_name(ds, 10, &name), MNV2_ERR_INVALID_ARGUMENT, NULL);
    mnv2_dataset_destroy(ds);
    /* The same from memory. */
    expect_ok(mnv2_dataset_read_cifar10_mem(a, s1, &ds));
    expect_ok(mnv2_dataset_info(ds, &n, NULL, NULL, NULL, NULL));
    assert_int_equal(n, 3);
    check_cifar_image(ds, 2, 2);
    mnv2_dataset_destroy(ds);
    free(a);
    free(b);
    free(p1);
    free(p2);
    rm_tree(dir);
}

static void test_cifar10_malformed(void **state)
{
    (void)state;
    char *dir = make_temp_dir();
    size_t s;
    uint8_t *a = cifar_file(2, 1, 0, &s);
    char *p = path_in(dir, "data_batch_1.bin");
    const char *paths[1] = {p};
    mnv2_dataset *ds = NULL;
    /* Truncated by one byte. */
    write_file(p, a, s - 1);
    expect_fail(mnv2_dataset_read_cifar10(paths, 1, &ds), MNV2_ERR_FORMAT, "data_batch_1.bin: truncated");
    expect_fail(mnv2_dataset_read_cifar10_mem(a, s - 1, &ds), MNV2_ERR_FORMAT, "truncated");
    /* Empty. */
    write_file(p, a, 0);
    expect_fail(mnv2_dataset_read_cifar10(paths, 1, &ds), MNV2_ERR_FORMAT, "empty");
    /* A label above 9. */
    a[REC10] = 10;
    write_file(p, a, s);
    expect_fail(mnv2_dataset_read_cifar10(paths, 1, &ds), MNV2_ERR_FORMAT, "record 1 has label 10");
    expect_fail(mnv2_dataset_read_cifar10_mem(a, s, &ds), MNV2_ERR_FORMAT, "record 1 has label 10");
    /* Missing file. */
    char *q = path_in(dir, "nope.bin");
    paths[0] = q;
    expect_fail(mnv2_dataset_read_cifar10(paths, 1, &ds), MNV2_ERR_IO, "nope.bin");
    /* A directory is not a file. */
    paths[0] = dir;
    expect_fail(mnv2_dataset_read_cifar10(paths, 1, &ds), MNV2_ERR_IO, "not a regular file");
    expect_fail(mnv2_dataset_read_cifar10(paths, 0, &ds), MNV2_ERR_INVALID_ARGUMENT, NULL);
    expect_fail(mnv2_dataset_read_cifar10_mem(NULL, 5, &ds), MNV2_ERR_INVALID_ARGUMENT, NULL);
    assert_null(ds);
    free(q);
    free(p);
    free(a);
    rm_tree(dir);
}

static void test_cifar100(void **state)
{
    (void)state;
    char *dir = make_temp_dir();
    size_t s;
    uint8_t *a = cifar_file(4, 2, 0, &s);
    a[1] = 99; /* fine label of record 0 */
    char *p = path_in(dir, "train.bin");
    write_file(p, a, s);
    mnv2_dataset *ds;
    expect_ok(mnv2_dataset_read_cifar100(p, &ds));
    uint32_t n, k;
    int32_t label;
    const char *name;
    expect_ok(mnv2_dataset_info(ds, &n, NULL, NULL, NULL, &k));
    assert_int_equal(n, 4);
    assert_int_equal(k, 100);
    expect_ok(mnv2_dataset_label(ds, 0, &label));
    assert_int_equal(label, 99);
    expect_ok(mnv2_dataset_label(ds, 3, &label));
    assert_int_equal(label, 3);
    check_cifar_image(ds, 3, 3);
    expect_ok(mnv2_dataset_class_name(ds, 99, &name));
    assert_string_equal(name, "worm");
    expect_ok(mnv2_dataset_class_name(ds, 0, &name));
    assert_string_equal(name, "apple");
    mnv2_dataset_destroy(ds);
    a[REC100 + 1] = 100; /* fine label above 99 */
    expect_fail(mnv2_dataset_read_cifar100_mem(a, s, &ds), MNV2_ERR_FORMAT, "record 1 has label 100");
    a[REC100 + 1] = 5;
    a[REC100] = 20; /* coarse label above 19 */
    write_file(p, a, s);
    expect_fail(mnv2_dataset_read_cifar100(p, &ds), MNV2_ERR_FORMAT, "coarse label 20");
    expect_fail(mnv2_dataset_read_cifar100_mem(a, s - 3074 + 7, &ds), MNV2_ERR_FORMAT, "truncated");
    free(p);
    free(a);
    rm_tree(dir);
}

/* IDX files: n images of h x w, pixel (i * 7 + y * w + x) & 255, labels i % classes. */
static uint8_t *idx_images(uint32_t n, uint32_t h, uint32_t w, size_t *size)
{
    uint8_t *b = malloc(16 + (size_t)n * h * w);
    assert_non_null(b);
    uint8_t head[16] = {0, 0, 8, 3};
    uint32_t d[3] = {n, h, w};
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 4; j++)
            head[4 + 4 * i + j] = (uint8_t)(d[i] >> (24 - 8 * j));
    memcpy(b, head, 16);
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t p = 0; p < h * w; p++)
            b[16 + (size_t)i * h * w + p] = (uint8_t)(i * 7 + p);
    *size = 16 + (size_t)n * h * w;
    return b;
}

static uint8_t *idx_labels(uint32_t n, uint32_t classes, size_t *size)
{
    uint8_t *b = malloc(8 + n);
    assert_non_null(b);
    uint8_t head[8] = {0, 0, 8, 1, (uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
    memcpy(b, head, 8);
    for (uint32_t i = 0; i < n; i++)
        b[8 + i] = (uint8_t)(i % classes);
    *size = 8 + n;
    return b;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void test_idx_valid(void **state)
{
    (void)state;
    char *dir = make_temp_dir();
    size_t si, sl;
    uint8_t *img = idx_images(12, 3, 5, &si), *lab = idx_labels(12, 10, &sl);
    char *pi = path_in(dir, "img"), *pl = path_in(dir, "lab");
    write_file(pi, img, si);
    write_file(pl, lab, sl);
    mnv2_dataset *ds;
    expect_ok(mnv2_dataset_read_idx(pi, pl, &ds));
    uint32_t n, h, w, c, k;
    expect_ok(mnv2_dataset_info(ds, &n, &h, &w, &c, &k));
    assert_int_equal(n, 12);
    assert_int_equal(h, 3);
    assert_int_equal(w, 5);
    assert_int_equal(c, 1);
    assert_int_equal(k, 10);
    const uint8_t *px;
    expect_ok(mnv2_dataset_image(ds, 11, &px));
    assert_memory_equal(px, img + 16 + 11 * 15, 15);
    int32_t label;
    expect_ok(mnv2_dataset_label(ds, 11, &label));
    assert_int_equal(label, 1);
    const char *name;
    expect_ok(mnv2_dataset_class_name(ds, 0, &name));
    assert_string_equal(name, "T-shirt/top");
    expect_ok(mnv2_dataset_class_name(ds, 9, &name));
    assert_string_equal(name, "Ankle boot");
    const char *digits[10] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
    expect_ok(mnv2_dataset_set_class_names(ds, digits, 10));
    expect_ok(mnv2_dataset_class_name(ds, 7, &name));
    assert_string_equal(name, "7");
    expect_fail(mnv2_dataset_set_class_names(ds, digits, 9), MNV2_ERR_SIZE_MISMATCH, NULL);
    mnv2_dataset_destroy(ds);
    /* From memory, 4 classes: names are the numbers. */
    free(lab);
    lab = idx_labels(12, 4, &sl);
    expect_ok(mnv2_dataset_read_idx_mem(img, si, lab, sl, &ds));
    expect_ok(mnv2_dataset_info(ds, NULL, NULL, NULL, NULL, &k));
    assert_int_equal(k, 4);
    expect_ok(mnv2_dataset_class_name(ds, 3, &name));
    assert_string_equal(name, "3");
    mnv2_dataset_destroy(ds);
    free(img);
    free(lab);
    free(pi);
    free(pl);
    rm_tree(dir);
}

static void test_idx_malformed(void **state)
{
    (void)state;
    char *dir = make_temp_dir();
    size_t si, sl;
    uint8_t *img = idx_images(3, 4, 4, &si), *lab = idx_labels(3, 10, &sl);
    char *pi = path_in(dir, "train-images-idx3-ubyte"), *pl = path_in(dir, "train-labels-idx1-ubyte");
    mnv2_dataset *ds = NULL;
    /* Truncated images, from a file: the message names the file and counts. */
    write_file(pi, img, si - 1);
    write_file(pl, lab, sl);
    expect_fail(mnv2_dataset_read_idx(pi, pl, &ds), MNV2_ERR_FORMAT,
                "train-images-idx3-ubyte: truncated image file (2 of 3 images)");
    /* Truncated labels. */
    write_file(pi, img, si);
    write_file(pl, lab, sl - 1);
    expect_fail(mnv2_dataset_read_idx(pi, pl, &ds), MNV2_ERR_FORMAT,
                "train-labels-idx1-ubyte: truncated label file (2 of 3 labels)");
    /* Missing label file. */
    unlink(pl);
    expect_fail(mnv2_dataset_read_idx(pi, pl, &ds), MNV2_ERR_IO, "train-labels-idx1-ubyte");
    /* Trailing bytes. */
    uint8_t *big = malloc(si + 2);
    memcpy(big, img, si);
    big[si] = big[si + 1] = 0;
    expect_fail(mnv2_dataset_read_idx_mem(big, si + 2, lab, sl, &ds), MNV2_ERR_FORMAT, "2 bytes after");
    free(big);
    /* Wrong magic: not IDX; a label file given as images; a float element type. */
    img[0] = 0x12;
    expect_fail(mnv2_dataset_read_idx_mem(img, si, lab, sl, &ds), MNV2_ERR_FORMAT, "not an IDX file");
    img[0] = 0;
    expect_fail(mnv2_dataset_read_idx_mem(lab, sl, lab, sl, &ds), MNV2_ERR_FORMAT, "IDX image buffer");
    expect_fail(mnv2_dataset_read_idx_mem(img, si, img, si, &ds), MNV2_ERR_FORMAT, "IDX label buffer");
    img[2] = 0x0D;
    expect_fail(mnv2_dataset_read_idx_mem(img, si, lab, sl, &ds), MNV2_ERR_FORMAT, "element type 0x0d");
    img[2] = 8;
    /* Header shorter than its dimensions. */
    expect_fail(mnv2_dataset_read_idx_mem(img, 10, lab, sl, &ds), MNV2_ERR_FORMAT, "truncated");
    expect_fail(mnv2_dataset_read_idx_mem(img, 2, lab, sl, &ds), MNV2_ERR_FORMAT, "truncated");
    /* Huge declared dimensions: rejected before allocating. */
    put_be32(img + 4, 0xFFFFFFFFu);
    put_be32(img + 8, 4096);
    put_be32(img + 12, 4096);
    expect_fail(mnv2_dataset_read_idx_mem(img, si, lab, sl, &ds), MNV2_ERR_FORMAT, "above the");
    put_be32(img + 4, 3);
    put_be32(img + 8, 5000);
    expect_fail(mnv2_dataset_read_idx_mem(img, si, lab, sl, &ds), MNV2_ERR_FORMAT, "outside");
    put_be32(img + 8, 0);
    expect_fail(mnv2_dataset_read_idx_mem(img, si, lab, sl, &ds), MNV2_ERR_FORMAT, "outside");
    put_be32(img + 4, 0);
    expect_fail(mnv2_dataset_read_idx_mem(img, 16, lab, sl, &ds), MNV2_ERR_FORMAT, "no images");
    /* Image / label count mismatch. */
    free(img);
    img = idx_images(4, 4, 4, &si);
    expect_fail(mnv2_dataset_read_idx_mem(img, si, lab, sl, &ds), MNV2_ERR_FORMAT, "has 3 labels but");
    uint8_t *lab_huge = malloc(sl);
    memcpy(lab_huge, lab, sl);
    put_be32(lab_huge + 4, 0xFFFFFFF0u);
    expect_fail(mnv2_dataset_read_idx_mem(img, si, lab_huge, sl, &ds), MNV2_ERR_FORMAT, "truncated label file");
    free(lab_huge);
    assert_null(ds);
    free(img);
    free(lab);
    free(pi);
    free(pl);
    rm_tree(dir);
}

static void test_open_dir(void **state)
{
    (void)state;
    char *dir = make_temp_dir();
    mnv2_dataset *ds = NULL;
    const char *name;
    uint32_t n;
    expect_fail(mnv2_dataset_open_dir(dir, MNV2_SPLIT_TRAIN, &ds), MNV2_ERR_NOT_FOUND, "no dataset found");
    expect_fail(mnv2_dataset_open_dir(dir, 7, &ds), MNV2_ERR_INVALID_ARGUMENT, NULL);
    /* CIFAR-10: five training batches, a test batch, names from batches.meta.txt. */
    size_t s;
    uint8_t *a = cifar_file(2, 1, 0, &s);
    for (int i = 1; i <= 5; i++) {
        char nm[32];
        snprintf(nm, sizeof nm, "data_batch_%d.bin", i);
        char *p = path_in(dir, nm);
        write_file(p, a, s);
        free(p);
    }
    char *t = path_in(dir, "test_batch.bin");
    write_file(t, a, REC10);
    const char *meta = "plane\ncar\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\r\ntruck\n\n";
    char *m = path_in(dir, "batches.meta.txt");
    write_file(m, meta, strlen(meta));
    expect_ok(mnv2_dataset_open_dir(dir, MNV2_SPLIT_TRAIN, &ds));
    expect_ok(mnv2_dataset_info(ds, &n, NULL, NULL, NULL, NULL));
    assert_int_equal(n, 10);
    expect_ok(mnv2_dataset_class_name(ds, 0, &name));
    assert_string_equal(name, "plane");
    expect_ok(mnv2_dataset_class_name(ds, 8, &name));
    assert_string_equal(name, "ship");
    mnv2_dataset_destroy(ds);
    expect_ok(mnv2_dataset_open_dir(dir, MNV2_SPLIT_TEST, &ds));
    expect_ok(mnv2_dataset_info(ds, &n, NULL, NULL, NULL, NULL));
    assert_int_equal(n, 1);
    mnv2_dataset_destroy(ds);
    ds = NULL;
    /* A names file with the wrong count is an error naming it. */
    write_file(m, "a\nb\n", 4);
    expect_fail(mnv2_dataset_open_dir(dir, MNV2_SPLIT_TEST, &ds), MNV2_ERR_FORMAT, "batches.meta.txt: 2 class names");
    unlink(m);
    expect_ok(mnv2_dataset_open_dir(dir, MNV2_SPLIT_TEST, &ds));
    expect_ok(mnv2_dataset_class_name(ds, 0, &name));
    assert_string_equal(name, "airplane");
    mnv2_dataset_destroy(ds);
    ds = NULL;
    char *b3 = path_in(dir, "data_batch_3.bin");
    unlink(b3);
    expect_fail(mnv2_dataset_open_dir(dir, MNV2_SPLIT_TRAIN, &ds), MNV2_ERR_IO, "data_batch_3.bin");
    rm_tree(dir);
    free(a);
    free(t);
    free(m);
    free(b3);

    /* CIFAR-100. */
    dir = make_temp_dir();
    a = cifar_file(3, 2, 0, &s);
    char *tr = path_in(dir, "train.bin"), *te = path_in(dir, "test.bin");
    write_file(tr, a, s);
    write_file(te, a, REC100);
    expect_ok(mnv2_dataset_open_dir(dir, MNV2_SPLIT_TRAIN, &ds));
    expect_ok(mnv2_dataset_info(ds, &n, NULL, NULL, NULL, NULL));
    assert_int_equal(n, 3);
    mnv2_dataset_destroy(ds);
    expect_ok(mnv2_dataset_open_dir(dir, MNV2_SPLIT_TEST, &ds));
    expect_ok(mnv2_dataset_class_name(ds, 1, &name));
    assert_string_equal(name, "aquarium_fish");
    mnv2_dataset_destroy(ds);
    free(tr);
    free(te);
    free(a);
    rm_tree(dir);

    /* IDX: uncompressed works; gzip only is unsupported with advice. */
    dir = make_temp_dir();
    size_t si, sl;
    uint8_t *img = idx_images(10, 28, 28, &si), *lab = idx_labels(10, 10, &sl);
    char *pi = path_in(dir, "train-images-idx3-ubyte"), *pl = path_in(dir, "train-labels-idx1-ubyte");
    char *gi = path_in(dir, "t10k-images-idx3-ubyte.gz"), *gl = path_in(dir, "t10k-labels-idx1-ubyte.gz");
    write_file(pi, img, si);
    write_file(pl, lab, sl);
    write_file(gi, "\x1f\x8b", 2);
    write_file(gl, "\x1f\x8b", 2);
    expect_ok(mnv2_dataset_open_dir(dir, MNV2_SPLIT_TRAIN, &ds));
    expect_ok(mnv2_dataset_class_name(ds, 1, &name));
    assert_string_equal(name, "Trouser");
    mnv2_dataset_destroy(ds);
    ds = NULL;
    expect_fail(mnv2_dataset_open_dir(dir, MNV2_SPLIT_TEST, &ds), MNV2_ERR_UNSUPPORTED, "decompress");
    unlink(pi);
    char *gz = path_in(dir, "train-images-idx3-ubyte.gz");
    write_file(gz, "\x1f\x8b", 2);
    expect_fail(mnv2_dataset_open_dir(dir, MNV2_SPLIT_TRAIN, &ds), MNV2_ERR_UNSUPPORTED, "mnv2_dataset_read_idx_mem");
    assert_null(ds);
    free(img);
    free(lab);
    free(pi);
    free(pl);
    free(gi);
    free(gl);
    free(gz);
    rm_tree(dir);
}

static void test_dataset_ops(void **state)
{
    (void)state;
    uint8_t px[4 * 2 * 2];
    int32_t labels[4] = {0, 1, 2, 1};
    for (int i = 0; i < 16; i++)
        px[i] = (uint8_t)(i * 10);
    mnv2_dataset *ds = NULL, *sub = NULL;
    expect_fail(mnv2_dataset_create(4, 2, 2, 1, 2, px, labels, &ds), MNV2_ERR_INVALID_ARGUMENT, "label 2");
    expect_fail(mnv2_dataset_create(4, 0, 2, 1, 3, px, labels, &ds), MNV2_ERR_INVALID_ARGUMENT, NULL);
    expect_fail(mnv2_dataset_create(0x7FFFFFFF, 4096, 4096, 1, 3, px, labels, &ds), MNV2_ERR_INVALID_ARGUMENT, NULL);
    expect_ok(mnv2_dataset_create(4, 2, 2, 1, 3, px, labels, &ds));
    const char *name;
    expect_ok(mnv2_dataset_class_name(ds, 2, &name));
    assert_string_equal(name, "2");
    const char *names[3] = {"x", "y", "z"};
    expect_ok(mnv2_dataset_set_class_names(ds, names, 3));
    uint32_t idx[3] = {3, 0, 3};
    expect_ok(mnv2_dataset_subset(ds, idx, 3, &sub));
    const uint8_t *p;
    int32_t l;
    expect_ok(mnv2_dataset_image(sub, 0, &p));
    assert_memory_equal(p, px + 12, 4);
    expect_ok(mnv2_dataset_label(sub, 1, &l));
    assert_int_equal(l, 0);
    expect_ok(mnv2_dataset_class_name(sub, 2, &name));
    assert_string_equal(name, "z");
    idx[1] = 4;
    mnv2_dataset *bad = NULL;
    expect_fail(mnv2_dataset_subset(ds, idx, 3, &bad), MNV2_ERR_INVALID_ARGUMENT, "indices[1]");
    assert_null(bad);
    expect_ok(mnv2_dataset_limit(ds, 2));
    uint32_t n;
    expect_ok(mnv2_dataset_info(ds, &n, NULL, NULL, NULL, NULL));
    assert_int_equal(n, 2);
    expect_ok(mnv2_dataset_limit(ds, 100));
    expect_ok(mnv2_dataset_info(ds, &n, NULL, NULL, NULL, NULL));
    assert_int_equal(n, 2);
    expect_fail(mnv2_dataset_image(ds, 2, &p), MNV2_ERR_INVALID_ARGUMENT, NULL);
    expect_fail(mnv2_dataset_limit(ds, 0), MNV2_ERR_INVALID_ARGUMENT, NULL);
    expect_fail(mnv2_dataset_info(NULL, &n, NULL, NULL, NULL, NULL), MNV2_ERR_INVALID_ARGUMENT, NULL);
    mnv2_dataset_destroy(ds);
    mnv2_dataset_destroy(sub);
    mnv2_dataset_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32),         cmocka_unit_test(test_cifar10_valid),
        cmocka_unit_test(test_cifar10_malformed), cmocka_unit_test(test_cifar100),
        cmocka_unit_test(test_idx_valid),     cmocka_unit_test(test_idx_malformed),
        cmocka_unit_test(test_open_dir),      cmocka_unit_test(test_dataset_ops),
    };
    return cmocka_run_group_tests_name("io readers", tests, NULL, NULL);
}
