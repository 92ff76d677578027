/* SPDX-License-Identifier: BSD-2-Clause */
/* Saves killed with SIGKILL at random moments (30 kills, each after a random 0..20 ms of a child
 * saving a checkpoint over and over): the target always loads, and no temporary file remains
 * once the next save has run. With O_TMPFILE (the usual case on Linux) a killed save leaves no
 * temporary at all except in the instant between naming the complete, synced file and renaming
 * it, so any temporary a kill leaves must itself load as a whole checkpoint. How many kills hit
 * that instant depends on the file system's speed (on tmpfs it is a good part of a save), so
 * the count is printed, not bounded. */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "io_test.h"
#include "mnv2.h"

enum { KILLS = 30 };

static mnv2_model *model(void)
{
    mnv2_config *c = NULL;
    assert_int_equal(mnv2_config_create(MNV2_PRESET_REDUCED, &c), MNV2_OK);
    const int32_t rows[][4] = {{2, 16, 1, 1}, {4, 32, 2, 2}}; /* a file of about 40 kB */
    assert_int_equal(mnv2_config_set_blocks(c, &rows[0][0], 2), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_INPUT_HEIGHT, 8), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_INPUT_WIDTH, 8), MNV2_OK);
    assert_int_equal(mnv2_config_set_int(c, MNV2_KEY_MAX_BATCH, 1), MNV2_OK);
    mnv2_model *m = NULL;
    assert_int_equal(mnv2_model_create(c, &m), MNV2_OK);
    mnv2_config_destroy(c);
    return m;
}

static int has_tmpfile(const char *dir)
{
#ifdef O_TMPFILE
    int fd = open(dir, O_TMPFILE | O_WRONLY, 0600);
    if (fd >= 0)
        close(fd);
    return fd >= 0;
#else
    (void)dir;
    return 0;
#endif
}

/* The entries of dir other than keep; with O_TMPFILE each must be a complete checkpoint. */
static int check_leftovers(const char *dir, const char *keep, int unnamed)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || !strcmp(e->d_name, keep))
            continue;
        n++;
        if (unnamed) {
            char *p = path_in(dir, e->d_name);
            mnv2_model *l = NULL;
            if (mnv2_checkpoint_load(p, NULL, &l, NULL) != MNV2_OK)
                fail_msg("%s: a partial temporary was left behind (%s)", p, mnv2_last_error());
            mnv2_model_destroy(l);
            free(p);
        }
    }
    closedir(d);
    return n;
}

static void killed_saves(void **state)
{
    (void)state;
    char *dir = make_temp_dir();
    char path[4200];
    snprintf(path, sizeof path, "%s/model.ckpt", dir);
    mnv2_model *m = model();
    assert_int_equal(mnv2_checkpoint_save(m, NULL, NULL, 0, NULL, 0, path), MNV2_OK);
    const int unnamed = has_tmpfile(dir);
    unsigned seed = (unsigned)time(NULL);
    int left = 0, mid_save = 0;
    for (int k = 0; k < KILLS; k++) {
        int ready[2];
        assert_int_equal(pipe(ready), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(ready[0]);
            uint64_t n;
            float *p = mnv2_parameters(m, &n);
            for (uint32_t i = 0;; i++) {
                p[i % n] += 1e-3f; /* each file differs */
                mnv2_parameters(m, NULL);
                if (mnv2_checkpoint_save(m, NULL, NULL, 0, NULL, 0, path) != MNV2_OK)
                    _exit(3);
                if (i == 0 && write(ready[1], "r", 1) != 1)
                    _exit(4);
            }
        }
        close(ready[1]);
        char r;
        assert_int_equal(read(ready[0], &r, 1), 1); /* one save done: the next is under way */
        close(ready[0]);
        seed = seed * 1103515245u + 12345u;
        struct timespec ts = {0, (long)((seed >> 8) % 20000) * 1000L};
        nanosleep(&ts, NULL);
        assert_int_equal(kill(pid, SIGKILL), 0);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status)); /* killed while saving, not failed */
        mid_save++;
        mnv2_model *l = NULL;
        assert_int_equal(mnv2_checkpoint_load(path, NULL, &l, NULL), MNV2_OK);
        mnv2_model_destroy(l);
        left += check_leftovers(dir, "model.ckpt", unnamed);
        /* The next save cleans up whatever the killed one left. */
        assert_int_equal(mnv2_checkpoint_save(m, NULL, NULL, 0, NULL, 0, path), MNV2_OK);
        assert_int_equal(count_entries(dir), 1);
    }
    print_message("%d kills, %d left a temporary before the next save (%s)\n", mid_save, left,
                  unnamed ? "O_TMPFILE" : "named temporaries");
    /* A stale temporary of the pattern is removed; a file that only looks similar is kept. */
    char stale[4300], other[4300];
    snprintf(stale, sizeof stale, "%s.mnv2-tmp-a1B2c3", path);
    snprintf(other, sizeof other, "%s.backup", path);
    for (int i = 0; i < 2; i++) {
        FILE *f = fopen(i ? other : stale, "wb");
        assert_non_null(f);
        fclose(f);
    }
    assert_int_equal(mnv2_checkpoint_save(m, NULL, NULL, 0, NULL, 0, path), MNV2_OK);
    assert_int_equal(access(stale, F_OK), -1);
    assert_int_equal(access(other, F_OK), 0);
    mnv2_model_destroy(m);
    rm_tree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(killed_saves)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
