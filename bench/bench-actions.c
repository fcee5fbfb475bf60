/* SPDX-License-Identifier: MIT */
/* bench-actions: latency from an event to each action done, on the real
 * memwardend binary.
 *
 *   bench-actions MEMWARDEND N_CGROUPS
 *
 * For each action type (notify, report, throttle, freeze, kill, exec) it
 * builds a tree of N_CGROUPS service cgroups on tmpfs (/dev/shm), one policy
 * that fires on the first `high` event of a cgroup and runs that one action,
 * starts memwardend on it (--no-bus: cgroupfs paths; --no-psi), and then, one
 * cgroup after the other, bumps memory.events and times until the action's
 * outcome record (result done, or started for freeze which completes at
 * cgroup.events) is read back from the daemon's stdout. Prints one JSON line
 * per action: p50/p99/max in microseconds.
 * The tree stands in for cgroupfs: this is the daemon's side (inotify to
 * record to policy to action to outcome); on a real kernel a memory.high write
 * may also reclaim, which the writer thread absorbs off the loop. The report
 * walks the processes listed in cgroup.procs (the bench's own pid). Throttle
 * runs on at most 256 cgroups and freeze on 64: the executor's fixed tables. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench-util.h"

static int run(const char *daemon, const char *action, const char *extra, const char *until, unsigned n)
{
        char root[] = "/dev/shm/mw-bact-XXXXXX", dir[512], line[65536], pol[600], rep[600], pidtext[32];
        int pipefd[2];
        pid_t pid;
        FILE *out;
        bool started = false;

        if (!mkdtemp(root))
                return -1;
        put(root, "cgroup.controllers", "memory\n");
        snprintf(pol, sizeof(pol), "%s/policies", root);
        snprintf(rep, sizeof(rep), "%s/reports", root);
        mkdir(pol, 0755);
        snprintf(dir, sizeof(dir), "%s/b.slice", root);
        mkdir(dir, 0755);
        snprintf(pidtext, sizeof(pidtext), "%d\n", (int)getpid());
        for (unsigned i = 0; i < n; i++) {
                snprintf(dir, sizeof(dir), "%s/b.slice/w%u", root, i);
                mkdir(dir, 0755);
                put(dir, "memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n");
                put(dir, "memory.high", "104857600\n");
                put(dir, "memory.max", "max\n");
                put(dir, "memory.current", "94371840\n");
                put(dir, "memory.stat", "anon 90000000\nfile 4000000\nkernel 371840\n");
                put(dir, "cgroup.events", "populated 1\nfrozen 0\n");
                put(dir, "cgroup.procs", pidtext);
                put(dir, "cgroup.freeze", "0\n");
                put(dir, "cgroup.kill", "");
        }
        char yaml[1024];
        snprintf(yaml, sizeof(yaml),
                 "apiVersion: memwarden/v1\nkind: Policy\nmetadata: {name: bench}\nspec:\n"
                 "  match: {cgroup: \"/b.slice/w*\"}\n"
                 "  triggers: {any: [{memoryEvents: {counter: high, increase: 1, window: 10s}}]}\n"
                 "  actions: [{type: %s%s}]\n",
                 action, extra);
        put(pol, "bench.yaml", yaml);

        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return -1;
        pid = fork();
        if (pid == 0) {
                dup2(pipefd[1], STDOUT_FILENO);
                execl(daemon, daemon, "--cgroup-root", root, "--output", "-", "--socket", "", "--no-psi",
                      "--pod-log-dir", "", "--policy-dir", pol, "--report-dir", rep, "--report-keep",
                      "100000", "--event-log", "", "--no-bus", "--mlock", "off", "--oom-score-adj", "0",
                      (char *)NULL);
                _exit(127);
        }
        close(pipefd[1]);
        out = fdopen(pipefd[0], "r");
        while (fgets(line, sizeof(line), out))
                if (strstr(line, "\"event\":\"started\"")) {
                        started = true;
                        break;
                }
        if (!started) {
                fprintf(stderr, "memwardend did not start\n");
                return -1;
        }
        usleep(200000);

        uint64_t *lat = calloc(n, sizeof(uint64_t));
        for (unsigned i = 0; i < n; i++) {
                snprintf(dir, sizeof(dir), "%s/b.slice/w%u", root, i);
                uint64_t t0 = now_us();
                put(dir, "memory.events", "low 0\nhigh 1\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n");
                for (;;) {
                        if (!fgets(line, sizeof(line), out)) {
                                fprintf(stderr, "memwardend went away\n");
                                return -1;
                        }
                        if (!strstr(line, "\"event\":\"action\""))
                                continue;
                        if (strstr(line, "\"result\":\"failed\"")) {
                                fprintf(stderr, "%s failed: %s", action, line);
                                return -1;
                        }
                        if (strstr(line, until))
                                break;
                }
                lat[i] = now_us() - t0;
                if (getenv("BENCH_DEBUG") && lat[i] > 1000000)
                        fprintf(stderr, "slow %u: %llu us: %s", i, (unsigned long long)lat[i], line);
        }
        qsort(lat, n, sizeof(uint64_t), cmp_u64);
        fclose(out); /* unread records must not block the daemon's exit */
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
        snprintf(line, sizeof(line), "rm -rf '%s'", root);
        if (system(line) != 0)
                fprintf(stderr, "cleanup of %s failed\n", root);
        printf("{\"action\":\"%s\",\"cgroups\":%u,\"p50_us\":%llu,\"p99_us\":%llu,\"max_us\":%llu}\n",
               action, n, (unsigned long long)lat[n / 2], (unsigned long long)lat[n * 99 / 100],
               (unsigned long long)lat[n - 1]);
        fflush(stdout);
        free(lat);
        return 0;
}

int main(int argc, char **argv)
{
        unsigned n;

        if (argc != 3) {
                fprintf(stderr, "usage: bench-actions MEMWARDEND N_CGROUPS\n");
                return 2;
        }
        n = (unsigned)strtoul(argv[2], NULL, 10);
        if (n == 0)
                return 2;
        static const struct {
                const char *action, *extra, *until;
        } cases[] = {
                { "notify", "", "\"result\":\"done\"" },
                { "report", "", "\"result\":\"done\"" },
                { "throttle", ", floor: 16Mi", "\"result\":\"done\"" },
                { "freeze", "", "\"result\":\"started\"" },
                { "kill", "", "\"result\":\"done\"" },
                { "exec", ", command: [/bin/true]", "\"result\":\"done\"" },
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
                /* The executor keeps at most 256 throttled and 64 frozen cgroups at once. */
                if (run(argv[1], cases[i].action, cases[i].extra, cases[i].until,
                        strcmp(cases[i].action, "freeze") == 0     ? (n < 64 ? n : 64)
                        : strcmp(cases[i].action, "throttle") == 0 ? (n < 256 ? n : 256)
                                                                   : n) < 0)
                        return 1;
        return 0;
}
