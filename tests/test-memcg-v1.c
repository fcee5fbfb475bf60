/* SPDX-License-Identifier: MIT */
/* cgroup v1 memory notifications on this very host, for real: a v1 memory
 * cgroup of the test's own (a child of the test's own v1 memory cgroup) with
 * a small limit, a hog in it, and the eventfds for a usage threshold, the
 * pressure levels and OOM must fire. Exits 77 (skipped) with the reason when
 * the host has no v1 memory hierarchy or no right to make a cgroup in it. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgroup-read.h"
#include "memcg-v1.h"

static char cg[4200];

START_TEST(test_oom_control_parse)
{
        static const char t[] = "oom_kill_disable 0\nunder_oom 1\noom_kill 3\n";
        bool under;
        uint64_t kills;

        ck_assert_int_eq(memcg_v1_oom_control_parse(t, strlen(t), &under, &kills), 0);
        ck_assert(under);
        ck_assert_uint_eq(kills, 3);
        /* Before 4.13 there is no oom_kill line. */
        ck_assert_int_eq(memcg_v1_oom_control_parse("oom_kill_disable 0\nunder_oom 0\n", 31, &under, &kills),
                         0);
        ck_assert(!under);
        ck_assert_uint_eq(kills, 0);
        ck_assert_int_eq(memcg_v1_oom_control_parse("garbage\n", 8, &under, &kills), -EINVAL);
}
END_TEST

START_TEST(test_find_mount)
{
        char path[] = "/tmp/mw-mountinfo-XXXXXX", got[256];
        int fd = mkstemp(path);
        static const char text[] =
                "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
                "30 23 0:27 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw,memory_recursiveprot\n"
                "33 31 0:30 / /sys/fs/cgroup/memoryish rw - cgroup cgroup rw,memoryish\n"
                "39 31 0:36 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory\n";

        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, text, strlen(text)), (int)strlen(text));
        close(fd);
        ck_assert_int_eq(cg_find_v1_memory_mount(path, got, sizeof(got)), 0);
        ck_assert_str_eq(got, "/sys/fs/cgroup/memory");
        ck_assert_int_eq(cg_find_v1_memory_mount(path, got, 5), -ENAMETOOLONG);
        fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
        size_t two = (size_t)(strstr(text, "39 31") - text); /* without the memory line */
        ck_assert_int_eq(write(fd, text, two), (int)two);
        close(fd);
        ck_assert_int_eq(cg_find_v1_memory_mount(path, got, sizeof(got)), -ENOENT);
        /* The mount point is unescaped like the cgroup2 one (one mountinfo parser). */
        static const char esc[] =
                "39 31 0:36 / /sys/fs/cgroup/my\\040memory rw shared:9 - cgroup cgroup rw,memory\n";
        fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
        ck_assert_int_eq(write(fd, esc, strlen(esc)), (int)strlen(esc));
        close(fd);
        ck_assert_int_eq(cg_find_v1_memory_mount(path, got, sizeof(got)), 0);
        ck_assert_str_eq(got, "/sys/fs/cgroup/my memory");
        unlink(path);
}
END_TEST

static uint64_t count(int efd)
{
        uint64_t v = 0;
        if (read(efd, &v, sizeof(v)) != sizeof(v))
                return 0;
        return v;
}

START_TEST(test_v1_events)
{
        int dirfd, thr, low, crit, oom;
        char buf[256];
        size_t len;
        pid_t pid;
        int status;

        dirfd = open(cg, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ck_assert_int_ge(dirfd, 0);
        snprintf(buf, sizeof(buf), "%d", 32 << 20);
        int fd = openat(dirfd, "memory.limit_in_bytes", O_WRONLY | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_gt(write(fd, buf, strlen(buf)), 0);
        close(fd);

        thr = memcg_v1_watch_threshold(dirfd, 8 << 20);
        low = memcg_v1_watch_pressure(dirfd, V1_LEVEL_LOW, V1_MODE_LOCAL);
        crit = memcg_v1_watch_pressure(dirfd, V1_LEVEL_CRITICAL, V1_MODE_LOCAL);
        oom = memcg_v1_watch_oom(dirfd);
        ck_assert_int_ge(thr, 0);
        ck_assert_int_ge(low, 0);
        ck_assert_int_ge(crit, 0);
        ck_assert_int_ge(oom, 0);
        ck_assert_uint_eq(count(thr), 0); /* nothing yet (non-blocking read) */

        /* A hog of 96 MiB against 32 MiB, no swap here: reclaim, then OOM. */
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                char me[32];
                int p = openat(dirfd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
                snprintf(me, sizeof(me), "%d", (int)getpid());
                if (p < 0 || write(p, me, strlen(me)) < 0)
                        _exit(2);
                close(p);
                for (int i = 0; i < 96; i++) {
                        char *m = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                                       -1, 0);
                        if (m == MAP_FAILED)
                                _exit(3);
                        memset(m, 1, 1 << 20);
                }
                _exit(0); /* with swap the hog may survive: the checks below say what they need */
        }
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);

        uint64_t n_thr = count(thr), n_low = count(low), n_crit = count(crit), n_oom = count(oom);
        bool under;
        uint64_t kills = 0;
        ck_assert_int_eq(cg_read_file(dirfd, "memory.oom_control", buf, sizeof(buf), &len), 0);
        ck_assert_int_eq(memcg_v1_oom_control_parse(buf, len, &under, &kills), 0);
        fprintf(stderr,
                "v1 events: threshold %llu, low %llu, critical %llu, oom %llu; oom_kill %llu; hog %s %d\n",
                (unsigned long long)n_thr, (unsigned long long)n_low, (unsigned long long)n_crit,
                (unsigned long long)n_oom, (unsigned long long)kills,
                WIFSIGNALED(status) ? "killed by signal" : "exited",
                WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
        ck_assert_uint_ge(n_thr, 1); /* usage crossed 8 MiB */
        ck_assert_uint_ge(n_low, 1); /* reclaim at the limit */
        if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) {
                /* The kernel's OOM killer in our cgroup: the oom event and the counter. */
                ck_assert_uint_ge(n_oom, 1);
                ck_assert_uint_ge(kills, 1);
                ck_assert_uint_ge(n_crit, 1);
        }
        close(thr), close(low), close(crit), close(oom);
        close(dirfd);
}
END_TEST

int main(void)
{
        char mnt[4096], self[4096], line[4200];
        size_t len;
        int failed;

        if (cg_find_v1_memory_mount("/proc/self/mountinfo", mnt, sizeof(mnt)) < 0) {
                printf("skipped: no cgroup v1 memory hierarchy on this host\n");
                return 77;
        }
        /* Our own v1 memory cgroup, from /proc/self/cgroup ("N:memory:/path"). */
        self[0] = '\0';
        if (cg_read_file(AT_FDCWD, "/proc/self/cgroup", line, sizeof(line), &len) >= 0)
                for (char *p = strtok(line, "\n"); p; p = strtok(NULL, "\n")) {
                        char *c = strstr(p, ":memory:");
                        if (c)
                                snprintf(self, sizeof(self), "%s", c + 8);
                }
        snprintf(cg, sizeof(cg), "%s%s/mw-test-%d", mnt, strcmp(self, "/") == 0 ? "" : self, (int)getpid());
        if (mkdir(cg, 0755) < 0) {
                printf("skipped: cannot make a v1 memory cgroup %s: %s\n", cg, strerror(errno));
                return 77;
        }

        Suite *s = suite_create("memcg-v1");
        TCase *tc = tcase_create("core");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_oom_control_parse);
        tcase_add_test(tc, test_find_mount);
        tcase_add_test(tc, test_v1_events);
        suite_add_tcase(s, tc);
        SRunner *sr = srunner_create(s);
        srunner_set_fork_status(sr, CK_NOFORK);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        /* Clean up what we made (the hog is gone; retry while the kernel drains it). */
        for (int i = 0; i < 50 && rmdir(cg) < 0 && errno == EBUSY; i++)
                usleep(100000);
        if (access(cg, F_OK) == 0) {
                fprintf(stderr, "could not remove %s\n", cg);
                failed++;
        }
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
