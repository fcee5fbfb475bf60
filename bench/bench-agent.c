/* SPDX-License-Identifier: MIT */
/* bench-agent: the daemon's own costs, measured on the real memwardend binary.
 *
 *   bench-agent MEMWARDEND N_CGROUPS IDLE_SECONDS N_EVENTS
 *
 * Builds a tree of N cgroup-like directories on tmpfs (/dev/shm), every one
 * with memory.high set so that all are watched, starts memwardend on it
 * (--no-psi: a tmpfs file has no PSI), and reports as one JSON line:
 * - walk_us: the daemon's first walk (from its "started" record) and the
 *   time from exec to that record;
 * - rss_kib, locked_kib after start-up;
 * - wakeups over IDLE_SECONDS of idleness (context switches of the daemon);
 * - latency from a memory.events change to the record read back from the
 *   daemon's stdout, p50/p99/max over N_EVENTS changes.
 * With POLICY_DIR, the policies there are evaluated on every event too, so
 * the latency includes the policy engine's decision. With a node policy
 * there (policies/node-low-memory.yaml), the idle wake-ups are the
 * MemAvailable samples (the host's real /proc/meminfo, mem_available_kib in
 * the line) at the adaptive interval, FILL_RATE its --fill-rate.
 * The tree is a stand-in for cgroupfs: it measures the daemon (walk,
 * per-cgroup state, event path), not the kernel's side of a real cgroup. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench-util.h"

static void mkcg(const char *dir)
{
        if (mkdir(dir, 0755) < 0) {
                perror(dir);
                exit(1);
        }
        put(dir, "memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n");
        put(dir, "memory.events.local", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n");
        put(dir, "memory.high", "104857600\n");
        put(dir, "memory.max", "max\n");
        put(dir, "memory.current", "4096\n");
        put(dir, "cgroup.events", "populated 1\nfrozen 0\n");
}

static long status_field_file(const char *p, const char *key)
{
        char line[256];
        long v = -1;
        FILE *f;

        f = fopen(p, "re");
        if (!f)
                return -1;
        while (fgets(line, sizeof(line), f))
                if (strncmp(line, key, strlen(key)) == 0 && line[strlen(key)] == ':')
                        v = strtol(line + strlen(key) + 1, NULL, 10);
        fclose(f);
        return v;
}

static long status_field(pid_t pid, const char *key)
{
        char p[64];

        snprintf(p, sizeof(p), "/proc/%d/status", (int)pid);
        return status_field_file(p, key);
}

int main(int argc, char **argv)
{
        char root[] = "/dev/shm/mw-bench-XXXXXX", dir[512], line[65536];
        unsigned n, per_slice = 100, idle_s, n_events;
        int pipefd[2];
        pid_t pid;
        FILE *out;
        uint64_t t_exec, t_started = 0, walk_us = 0;

        if (argc < 5 || argc > 7) {
                fprintf(stderr, "usage: bench-agent MEMWARDEND N_CGROUPS IDLE_SECONDS N_EVENTS [POLICY_DIR "
                                "[FILL_RATE]]\n");
                return 2;
        }
        n = (unsigned)strtoul(argv[2], NULL, 10);
        idle_s = (unsigned)strtoul(argv[3], NULL, 10);
        n_events = (unsigned)strtoul(argv[4], NULL, 10);
        if (!mkdtemp(root)) {
                perror("mkdtemp");
                return 1;
        }
        put(root, "cgroup.controllers", "cpu io memory pids\n");
        /* n cgroups: slices of up to 100 services each. */
        for (unsigned made = 0, s = 0; made < n; s++) {
                snprintf(dir, sizeof(dir), "%s/s%u.slice", root, s);
                mkcg(dir);
                made++;
                for (unsigned i = 0; i < per_slice - 1 && made < n; i++, made++) {
                        snprintf(dir, sizeof(dir), "%s/s%u.slice/svc%u.service", root, s, i);
                        mkcg(dir);
                }
        }

        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return 1;
        t_exec = now_us();
        pid = fork();
        if (pid == 0) {
                char maxc[32];
                snprintf(maxc, sizeof(maxc), "%u", n + 100);
                dup2(pipefd[1], STDOUT_FILENO);
                /* --coalesce-interval 0: every change's own record, to time each one (with
                 * the default, the first of a burst comes at once and the rest in a summary). */
                execl(argv[1], argv[1], "--cgroup-root", root, "--output", "-", "--socket", "", "--no-psi",
                      "--pod-log-dir", "", "--max-cgroups", maxc, "--policy-dir", argc > 5 ? argv[5] : "",
                      "--coalesce-interval", "0", argc > 6 ? "--fill-rate" : NULL, argc > 6 ? argv[6] : NULL,
                      (char *)NULL);
                _exit(127);
        }
        close(pipefd[1]);
        out = fdopen(pipefd[0], "r");
        while (fgets(line, sizeof(line), out)) {
                char *p = strstr(line, "\"walk_us\":");
                if (strstr(line, "\"event\":\"started\"") && p) {
                        t_started = now_us();
                        walk_us = strtoull(p + 10, NULL, 10);
                        break;
                }
        }
        if (!t_started) {
                fprintf(stderr, "memwardend did not start\n");
                return 1;
        }
        usleep(200000);
        long rss = status_field(pid, "VmRSS"), lck = status_field(pid, "VmLck");
        long cs0 = status_field(pid, "voluntary_ctxt_switches") +
                   status_field(pid, "nonvoluntary_ctxt_switches");
        long avail0 = status_field_file("/proc/meminfo", "MemAvailable");
        sleep(idle_s);
        long cs1 = status_field(pid, "voluntary_ctxt_switches") +
                   status_field(pid, "nonvoluntary_ctxt_switches");

        uint64_t *lat = calloc(n_events, sizeof(uint64_t));
        for (unsigned i = 0; i < n_events; i++) {
                char text[160];
                unsigned s = (i * 7919u) % ((n + per_slice - 1) / per_slice);
                snprintf(dir, sizeof(dir), "%s/s%u.slice", root, s);
                snprintf(text, sizeof(text), "low 0\nhigh %u\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n",
                         i + 1);
                uint64_t t0 = now_us();
                put(dir, "memory.events", text);
                for (;;) {
                        if (!fgets(line, sizeof(line), out)) {
                                fprintf(stderr, "memwardend went away\n");
                                return 1;
                        }
                        if (strstr(line, "\"event\":\"memory_events\""))
                                break;
                }
                lat[i] = now_us() - t0;
        }
        qsort(lat, n_events, sizeof(uint64_t), cmp_u64);
        long rss_after = status_field(pid, "VmRSS");

        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
        snprintf(line, sizeof(line), "rm -rf '%s'", root);
        if (system(line) != 0)
                fprintf(stderr, "cleanup of %s failed\n", root);

        printf("{\"cgroups\":%u,\"walk_us\":%llu,\"exec_to_started_us\":%llu,\"rss_kib\":%ld,\"locked_kib\":"
               "%ld,"
               "\"rss_after_events_kib\":%ld,\"mem_available_kib\":%ld,\"idle_seconds\":%u,"
               "\"idle_wakeups\":%ld,\"events\":%u,"
               "\"latency_p50_us\":%llu,\"latency_p99_us\":%llu,\"latency_max_us\":%llu}\n",
               n, (unsigned long long)walk_us, (unsigned long long)(t_started - t_exec), rss, lck, rss_after,
               avail0, idle_s, cs1 - cs0, n_events, (unsigned long long)(n_events ? lat[n_events / 2] : 0),
               (unsigned long long)(n_events ? lat[n_events * 99 / 100] : 0),
               (unsigned long long)(n_events ? lat[n_events - 1] : 0));
        free(lat);
        return 0;
}
