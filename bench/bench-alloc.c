/* SPDX-License-Identifier: MIT */
/* What the page allocation counter costs the node's workloads: the time to
 * fault in (allocate and zero) a page, best of many rounds over 256 MiB,
 * with memwardend running a nodeAvailable policy (its BPF program attached
 * to mm_page_alloc and armed) and without it, in turns.
 *
 *   bench-alloc MEMWARDEND POLICY_DIR [ROUNDS]
 *
 * memwardend runs on an empty tmpfs "cgroup" tree (nothing to act on) with
 * --no-psi --no-bus --output none. Prints one JSON line. Root, for BPF. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LEN (256UL << 20)

static double ns_per_page(char *b, int rounds)
{
        double best = 1e18;

        for (int r = 0; r < rounds; r++) {
                struct timespec t0, t1;
                clock_gettime(CLOCK_MONOTONIC, &t0);
                for (size_t i = 0; i < LEN; i += 4096)
                        b[i] = 1;
                clock_gettime(CLOCK_MONOTONIC, &t1);
                madvise(b, LEN, MADV_DONTNEED);
                double ns = ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / (LEN / 4096);
                if (ns < best)
                        best = ns;
        }
        return best;
}

static pid_t start(const char *daemon, const char *policies, const char *dir)
{
        char root[512], sock[512], undo[512], rep[512], pol[600];
        pid_t pid;

        snprintf(root, sizeof(root), "--cgroup-root=%s/cg", dir);
        snprintf(sock, sizeof(sock), "--socket=%s/sock", dir);
        snprintf(undo, sizeof(undo), "--state-dir=%s/undo", dir);
        snprintf(rep, sizeof(rep), "--report-dir=%s/rep", dir);
        snprintf(pol, sizeof(pol), "--policy-dir=%s", policies);
        pid = fork();
        if (pid == 0) {
                int null = open("/dev/null", O_WRONLY);
                dup2(null, 2);
                execl(daemon, daemon, root, "--cgroup-version=2", "--no-psi", "--no-bus", "--output=none",
                      "--event-log=", sock, undo, rep, pol, (char *)NULL);
                _exit(127);
        }
        return pid;
}

int main(int argc, char **argv)
{
        char dir[] = "/dev/shm/mw-bench-alloc-XXXXXX", path[600], ctl[1200];
        int rounds = argc > 3 ? atoi(argv[3]) : 40;
        double with = 1e18, without = 1e18;
        char *b;

        if (argc < 3) {
                fprintf(stderr, "usage: bench-alloc MEMWARDEND POLICY_DIR [ROUNDS]\n");
                return 2;
        }
        if (!mkdtemp(dir))
                return 1;
        snprintf(path, sizeof(path), "%s/cg", dir);
        mkdir(path, 0755);
        b = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        madvise(b, LEN, MADV_NOHUGEPAGE);
        for (int turn = 0; turn < 3; turn++) {
                double x = ns_per_page(b, rounds);
                if (x < without)
                        without = x;
                pid_t pid = start(argv[1], argv[2], dir);
                /* wait until it is armed: status says so */
                char want[] = "\"node_sampling\":\"allocations\"";
                for (int i = 0; i < 500; i++) {
                        char cmd[1400], line[8192] = "";
                        snprintf(cmd, sizeof(cmd),
                                 "%.*smemwardenctl --socket=%s/sock status --json 2>/dev/null",
                                 (int)(strrchr(argv[1], '/') ? strrchr(argv[1], '/') - argv[1] + 1 : 0),
                                 argv[1], dir);
                        FILE *f = popen(cmd, "r");
                        if (f) {
                                if (!fgets(line, sizeof(line), f))
                                        line[0] = '\0';
                                pclose(f);
                        }
                        if (strstr(line, want))
                                break;
                        usleep(20000);
                }
                x = ns_per_page(b, rounds);
                if (x < with)
                        with = x;
                kill(pid, SIGTERM);
                waitpid(pid, NULL, 0);
        }
        printf("{\"ns_per_page_without\":%.0f,\"ns_per_page_with\":%.0f,\"overhead_pct\":%.1f}\n", without,
               with, (with - without) * 100.0 / without);
        snprintf(ctl, sizeof(ctl), "rm -rf %s", dir);
        return system(ctl) == 0 ? 0 : 1;
}
