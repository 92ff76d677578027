/* SPDX-License-Identifier: BSD-2-Clause */
/* Allocation failures: the Nth allocation fails, for every N until the operation needs no more,
 * in model creation, load (file and memory), save (file and memory) and dataset open (memory and
 * directory). Each attempt must return a clean error (MNV2_ERR_OUT_OF_MEMORY, or MNV2_ERR_IO where
 * the failing allocation is the C library's stream buffer), set a message, write no out-parameter,
 * and leave no allocation behind (the live bytes counted by the hook return to 0), or, where the
 * failed allocation is a best-effort one (a save's clean-up of stale temporaries, the directory
 * sync), succeed; the attempt after the last allocation succeeds. Linked with the allocator hook (alloc_hook.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "mnv2.h"
#include "mnv2_data.h"
#include "alloc_hook.h"

static mnv2_config *cfg(void)
{
    mnv2_config *c = NULL;
    assert_int_equal(mnv2_config_create(MNV2_PRESET_REDUCED, &c), MNV2_OK);
    const int32_t rows[][4] = {{1, 8, 1, 1}, {2, 16, 2, 2}};
    assert_int_equal(mnv2_config_set_blocks(c, &rows[0][0], 2), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_INPUT_HEIGHT, 8), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_INPUT_WIDTH, 8), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_MAX_BATCH, 2), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_THREADS, 2), MNV2_OK);
    return c;
}

/* Runs op(ctx) with allocation N failing, N = 1, 2, ... until op succeeds without reaching N.
 * op returns its status; undo(ctx) frees what a successful op made. Returns the count of failures
 * injected. */
static int every_n(const char *what, int32_t (*op)(void *), void (*undo)(void *), void *ctx)
{
    int best_effort = 0;
    for (long n = 1;; n++) {
        hook_bytes = 0;
        hook_counting = 1;
        hook_calls = 0;
        hook_fail_at = n;
        const int32_t rc = op(ctx);
        const int hit = hook_calls >= n;
        hook_fail_at = 0;
        if (rc == MNV2_OK) {
            undo(ctx);
            hook_counting = 0;
            assert_int_equal(hook_bytes, 0);
            if (hit) { /* a best-effort allocation (a save's clean-up of stale temporaries, the
                        * directory sync) failed and was rightly ignored */
                best_effort++;
                continue;
            }
            print_message("%-28s %3ld allocations, each failed once: clean errors (%d best-effort ones ignored), "
                          "no leaks\n", what, n - 1, best_effort);
            return (int)(n - 1);
        }
        hook_counting = 0;
        if (!hit)
            fail_msg("%s: failed (%d: %s) without an injected failure", what, (int)rc, mnv2_last_error());
        if (rc != MNV2_ERR_OUT_OF_MEMORY && rc != MNV2_ERR_IO && rc != MNV2_ERR_THREAD)
            fail_msg("%s: allocation %ld failed: status %d (%s)", what, n, (int)rc, mnv2_last_error());
        assert_true(mnv2_last_error()[0] != '\0');
        if (hook_bytes != 0)
            fail_msg("%s: allocation %ld failed: %llu bytes leaked", what, n, (unsigned long long)hook_bytes);
    }
}

typedef struct ctx {
    mnv2_config *c;
    mnv2_model *m, *out;
    mnv2_file_info *info;
    mnv2_dataset *ds;
    void *data;
    size_t size;
    const char *path, *dir;
    uint8_t *cifar;
} ctx;

static int32_t op_create(void *p)
{
    ctx *x = p;
    x->out = NULL;
    int32_t rc = mnv2_model_create(x->c, &x->out);
    if (rc != MNV2_OK)
        assert_null(x->out);
    return rc;
}
static void undo_model(void *p)
{
    ctx *x = p;
    mnv2_model_destroy(x->out);
    mnv2_file_info_destroy(x->info);
    x->out = NULL, x->info = NULL;
}
static int32_t op_load_mem(void *p)
{
    ctx *x = p;
    x->out = NULL, x->info = NULL;
    int32_t rc = mnv2_checkpoint_load_mem(x->data, x->size, NULL, &x->out, &x->info);
    if (rc != MNV2_OK)
        assert_true(!x->out && !x->info);
    return rc;
}
static int32_t op_load_file(void *p)
{
    ctx *x = p;
    x->out = NULL, x->info = NULL;
    int32_t rc = mnv2_checkpoint_load(x->path, NULL, &x->out, &x->info);
    if (rc != MNV2_OK)
        assert_true(!x->out && !x->info);
    return rc;
}
static int32_t op_save_mem(void *p)
{
    ctx *x = p;
    void *d = NULL;
    size_t n = 0;
    const char *names[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"};
    int32_t rc = mnv2_checkpoint_save_mem(x->m, NULL, "blob", 4, names, 10, &d, &n);
    if (rc == MNV2_OK)
        mnv2_buffer_free(d);
    else
        assert_null(d);
    return rc;
}
static int32_t op_save_file(void *p)
{
    ctx *x = p;
    return mnv2_checkpoint_save(x->m, NULL, NULL, 0, NULL, 0, x->path);
}
static void undo_none(void *p) { (void)p; }
static int32_t op_cifar_mem(void *p)
{
    ctx *x = p;
    x->ds = NULL;
    int32_t rc = mnv2_dataset_read_cifar10_mem(x->cifar, 3 * 3073, &x->ds);
    if (rc != MNV2_OK)
        assert_null(x->ds);
    return rc;
}
static int32_t op_open_dir(void *p)
{
    ctx *x = p;
    x->ds = NULL;
    int32_t rc = mnv2_dataset_open_dir(x->dir, MNV2_SPLIT_TRAIN, &x->ds);
    if (rc != MNV2_OK)
        assert_null(x->ds);
    return rc;
}
static void undo_ds(void *p)
{
    ctx *x = p;
    mnv2_dataset_destroy(x->ds);
    x->ds = NULL;
}

static void every_allocation_fails_once(void **state)
{
    (void)state;
    ctx x = {0};
    x.c = cfg();
    assert_int_equal(mnv2_model_create(x.c, &x.m), MNV2_OK);
    assert_true(every_n("model create", op_create, undo_model, &x) > 3);
    assert_int_equal(mnv2_checkpoint_save_mem(x.m, NULL, NULL, 0, NULL, 0, &x.data, &x.size), MNV2_OK);
    assert_true(every_n("checkpoint load (memory)", op_load_mem, undo_model, &x) > 3);
    char dir[] = "alloc_fail_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64];
    snprintf(path, sizeof path, "%s/m.ckpt", dir);
    x.path = path, x.dir = dir;
    assert_true(every_n("checkpoint save (memory)", op_save_mem, undo_none, &x) > 0);
    assert_true(every_n("checkpoint save (file)", op_save_file, undo_none, &x) > 0);
    assert_true(every_n("checkpoint load (file)", op_load_file, undo_model, &x) > 3);
    unlink(path);
    /* Datasets: CIFAR-10 from memory, and a CIFAR-10 directory. */
    x.cifar = calloc(3, 3073);
    for (int i = 0; i < 3; i++)
        x.cifar[i * 3073] = (uint8_t)i;
    assert_true(every_n("CIFAR-10 (memory)", op_cifar_mem, undo_ds, &x) > 0);
    for (int b = 1; b <= 5; b++) {
        snprintf(path, sizeof path, "%s/data_batch_%d.bin", dir, b);
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(x.cifar, 1, 3 * 3073, f), 3 * 3073);
        fclose(f);
    }
    assert_true(every_n("dataset directory (CIFAR-10)", op_open_dir, undo_ds, &x) > 0);
    for (int b = 1; b <= 5; b++) {
        snprintf(path, sizeof path, "%s/data_batch_%d.bin", dir, b);
        unlink(path);
    }
    rmdir(dir);
    free(x.cifar);
    mnv2_buffer_free(x.data);
    mnv2_model_destroy(x.m);
    mnv2_config_destroy(x.c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(every_allocation_fails_once)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
