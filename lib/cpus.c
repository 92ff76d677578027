/* SPDX-License-Identifier: BSD-2-Clause */
/* How many CPUs this process may run on: what #MNV2_KEY_THREADS 0 means. The online CPUs, lowered
 * to the process's CPU affinity mask and to its cgroup's CPU quota where one is readable (cgroup v2
 * cpu.max, or v1 cpu.cfs_quota_us / cpu.cfs_period_us, along the process's cgroup path up to the
 * root: a limit on a parent applies too). A quota of q microseconds per period p allows ceil(q / p)
 * CPUs' worth of time. */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpus.h"

#if defined(__linux__)
/* Reads one line of at most n - 1 characters; 0 if the file cannot be read. */
static int read_line(const char *path, char *buf, size_t n)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    const int ok = fgets(buf, (int)n, f) != NULL;
    fclose(f);
    return ok;
}

/* CPUs a quota / period pair allows (0 = no limit). */
static unsigned long quota_cpus(long long quota, long long period)
{
    if (quota <= 0 || period <= 0)
        return 0;
    const long long n = (quota + period - 1) / period;
    return n < 1 ? 1 : (unsigned long)n;
}

/* The smallest limit along dir and its parents under root; file names the quota (v2: cpu.max
 * "quota period" or "max period"; v1: cfs_quota with cfs_period beside it). */
static unsigned long walk_limits(const char *root, char *dir, int v2)
{
    unsigned long best = 0;
    char path[512], line[128];
    for (;;) {
        unsigned long n = 0;
        if (v2) {
            snprintf(path, sizeof path, "%s%s/cpu.max", root, dir);
            long long q, p;
            if (read_line(path, line, sizeof line) && sscanf(line, "%lld %lld", &q, &p) == 2)
                n = quota_cpus(q, p);
        } else {
            snprintf(path, sizeof path, "%s%s/cpu.cfs_quota_us", root, dir);
            long long q, p;
            if (read_line(path, line, sizeof line) && sscanf(line, "%lld", &q) == 1) {
                snprintf(path, sizeof path, "%s%s/cpu.cfs_period_us", root, dir);
                if (read_line(path, line, sizeof line) && sscanf(line, "%lld", &p) == 1)
                    n = quota_cpus(q, p);
            }
        }
        if (n && (!best || n < best))
            best = n;
        char *slash = strrchr(dir, '/');
        if (!slash || (slash == dir && dir[1] == '\0'))
            return best;
        if (slash == dir)
            dir[1] = '\0'; /* up to "/" */
        else
            *slash = '\0';
    }
}

/* The cgroup CPU quota in CPUs, 0 when there is none or it cannot be read. */
static unsigned long cgroup_cpus(void)
{
    FILE *f = fopen("/proc/self/cgroup", "re");
    if (!f)
        return 0;
    char line[512];
    unsigned long best = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        /* "hierarchy-id:controllers:path" */
        char *c1 = strchr(line, ':');
        char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2 || c2[1] != '/')
            continue;
        *c2 = '\0';
        const char *controllers = c1 + 1;
        char dir[400];
        snprintf(dir, sizeof dir, "%s", c2 + 1);
        unsigned long n = 0;
        if (!strcmp(line, "0") && controllers[0] == '\0') {
            n = walk_limits("/sys/fs/cgroup", dir, 1);
        } else {
            /* v1: the cpu controller, alone or with others ("cpu,cpuacct") */
            int has_cpu = 0;
            char list[128];
            snprintf(list, sizeof list, "%s", controllers);
            for (char *save = NULL, *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save))
                has_cpu |= !strcmp(t, "cpu");
            if (has_cpu) {
                char root[200];
                snprintf(root, sizeof root, "/sys/fs/cgroup/%s", controllers);
                char copy[400];
                snprintf(copy, sizeof copy, "%s", dir);
                n = walk_limits(root, copy, 0);
                if (!n && strcmp(controllers, "cpu") != 0)
                    n = walk_limits("/sys/fs/cgroup/cpu", dir, 0);
            }
        }
        if (n && (!best || n < best))
            best = n;
    }
    fclose(f);
    return best;
}

/* CPUs in the affinity mask, 0 if it cannot be read. */
static unsigned long affinity_cpus(void)
{
    for (int cpus = 1024; cpus <= 1 << 16; cpus *= 4) {
        cpu_set_t *set = CPU_ALLOC(cpus);
        if (!set)
            return 0;
        const size_t size = CPU_ALLOC_SIZE(cpus);
        CPU_ZERO_S(size, set);
        if (sched_getaffinity(0, size, set) == 0) {
            const int n = CPU_COUNT_S(size, set);
            CPU_FREE(set);
            return n > 0 ? (unsigned long)n : 0;
        }
        CPU_FREE(set);
    }
    return 0;
}
#endif

uint32_t mnv2__usable_cpus(void)
{
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned long n = online > 0 ? (unsigned long)online : 1;
#if defined(__linux__)
    const unsigned long aff = affinity_cpus(), quota = cgroup_cpus();
    if (aff && aff < n)
        n = aff;
    if (quota && quota < n)
        n = quota;
#endif
    return n > 1024 ? 1024 : (uint32_t)n; /* the most MNV2_KEY_THREADS allows */
}
