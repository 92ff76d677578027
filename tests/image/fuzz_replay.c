/* SPDX-License-Identifier: BSD-2-Clause */
/* Replays a libFuzzer target's seed corpus without libFuzzer: calls LLVMFuzzerTestOneInput() on
 * every file of the directories given, plus every truncation of each (the decoders' error paths).
 * Fails only by crashing (or a sanitizer report). */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
    int files = 0;
    for (int i = 1; i < argc; i++) {
        DIR *d = opendir(argv[i]);
        if (!d) {
            fprintf(stderr, "fuzz_replay: cannot open %s\n", argv[i]);
            return 1;
        }
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            char p[4096];
            snprintf(p, sizeof p, "%s/%s", argv[i], e->d_name);
            FILE *f = fopen(p, "rb");
            if (!f)
                continue;
            static uint8_t buf[1 << 20];
            size_t n = fread(buf, 1, sizeof buf, f);
            fclose(f);
            for (size_t cut = 0; cut <= n; cut++) {
                uint8_t *copy = malloc(cut ? cut : 1); /* exact size: overreads are caught by ASan */
                memcpy(copy, buf, cut);
                LLVMFuzzerTestOneInput(copy, cut);
                free(copy);
            }
            files++;
        }
        closedir(d);
    }
    printf("replayed %d files and all their truncations\n", files);
    return files ? 0 : 1;
}
