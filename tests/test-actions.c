/* SPDX-License-Identifier: MIT */
/* The library side of actions: which cgroups an action may touch, the
 * throttle's steps, and the why-report built from a fake cgroup whose
 * cgroup.procs lists real processes (this test's children). The real kernel
 * and systemd side is the VM's actions scenario. */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include "planner.h"
#include "report.h"
#include "test-main.h"

static Cgroup *fake(const char *name, CgroupKind kind)
{
        size_t len = strlen(name);
        Cgroup *c = calloc(1, sizeof(Cgroup) + len + 1);
        memcpy(c->name, name, len + 1);
        c->name_len = (uint16_t)len;
        c->kind = kind;
        return c;
}

START_TEST(test_refusal)
{
        Cgroup *root = fake("", CGROUP_KIND_ROOT), *web = fake("web.service", CGROUP_KIND_SERVICE),
               *sys = fake("system.slice", CGROUP_KIND_SLICE), *init = fake("init.scope", CGROUP_KIND_SCOPE),
               *kp = fake("kubepods-burstable.slice", CGROUP_KIND_KUBEPODS),
               *me = fake("memwardend.service", CGROUP_KIND_SERVICE);
        const char *own = "/system.slice/memwardend.service";
        const PlanContext mine = { .own_cgroup = own }, none = { .own_cgroup = "" };

        /* Looking is always allowed. */
        ck_assert_ptr_null(plan_refusal(&mine, ACTION_NOTIFY, false, root, "/"));
        ck_assert_ptr_null(plan_refusal(&mine, ACTION_REPORT, false, me, own));
        /* Never the root, never memwarden itself, even with allowProtected. */
        ck_assert_ptr_nonnull(plan_refusal(&mine, ACTION_KILL, true, root, "/"));
        ck_assert_ptr_nonnull(plan_refusal(&mine, ACTION_THROTTLE, true, me, own));
        ck_assert_ptr_nonnull(plan_refusal(&mine, ACTION_FREEZE, true, me, own));
        /* Disruptive actions and throttle never on an ancestor of memwarden... */
        ck_assert_ptr_nonnull(plan_refusal(&mine, ACTION_KILL, true, sys, "/system.slice"));
        ck_assert_ptr_nonnull(plan_refusal(&mine, ACTION_FREEZE, true, sys, "/system.slice"));
        ck_assert_ptr_nonnull(plan_refusal(&mine, ACTION_THROTTLE, true, sys, "/system.slice"));
        /* ... a prefix of the name is not an ancestor. */
        ck_assert_ptr_null(
                plan_refusal(&mine, ACTION_KILL, false, web, "/system.slice/memwardend.service2"));
        /* Protected cgroups only with allowProtected. */
        ck_assert_ptr_nonnull(plan_refusal(&none, ACTION_THROTTLE, false, sys, "/system.slice"));
        ck_assert_ptr_null(plan_refusal(&none, ACTION_THROTTLE, true, sys, "/system.slice"));
        ck_assert_ptr_nonnull(plan_refusal(&mine, ACTION_KILL, false, init, "/init.scope"));
        ck_assert_ptr_null(plan_refusal(&none, ACTION_KILL, true, init, "/init.scope"));
        ck_assert_ptr_nonnull(
                plan_refusal(&mine, ACTION_THROTTLE, false, kp, "/kubepods.slice/kubepods-burstable.slice"));
        /* An ordinary service. */
        ck_assert_ptr_null(plan_refusal(&mine, ACTION_KILL, false, web, "/system.slice/web.service"));
        ck_assert_ptr_null(plan_refusal(&none, ACTION_RESTART, false, web, "/system.slice/web.service"));

        /* A name that looks like a unit is only a question for systemd (planner.h). */
        ck_assert(plan_unit_candidate(web));
        ck_assert(plan_unit_candidate(sys));
        ck_assert(!plan_unit_candidate(root));
        Cgroup *plain = fake("mygroup", CGROUP_KIND_OTHER), *dot = fake(".service", CGROUP_KIND_OTHER);
        ck_assert(!plan_unit_candidate(plain));
        ck_assert(!plan_unit_candidate(dot));
        free(root), free(web), free(sys), free(init), free(kp), free(me), free(plain), free(dot);
}
END_TEST

START_TEST(test_throttle_steps)
{
        const uint64_t Mi = 1 << 20;
        static const struct {
                uint64_t high, usage, floor;
                uint32_t step_bp;
                uint64_t want;
        } t[] = {
                /* From the lower of limit and usage, step% down, page-aligned. */
                { UINT64_MAX, 100 * Mi, 10 * Mi, 1000, 90 * Mi },
                { 80 * Mi, 100 * Mi, 10 * Mi, 1000, 72 * Mi },
                { 100 * Mi, 50 * Mi, 10 * Mi, 5000, 25 * Mi },
                { 100 * Mi, 100 * Mi + 1, 10 * Mi, 1, (100 * Mi - 100 * Mi / 10000) & ~4095ULL },
                /* Never below the floor; at the floor nothing more. */
                { 20 * Mi, 100 * Mi, 19 * Mi, 5000, 19 * Mi },
                { 19 * Mi, 100 * Mi, 19 * Mi, 5000, UINT64_MAX },
                { 10 * Mi, 100 * Mi, 19 * Mi, 5000, UINT64_MAX },
                /* Nothing to step from: no limit and usage unknown. */
                { UINT64_MAX, UINT64_MAX, 1 * Mi, 1000, UINT64_MAX },
                /* 100% goes to the floor. */
                { 100 * Mi, 100 * Mi, 64 * Mi, 10000, 64 * Mi },
        };
        for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
                ck_assert_msg(throttle_next_high(t[i].high, t[i].usage, t[i].floor, t[i].step_bp) ==
                                      t[i].want,
                              "case %zu: got %llu", i,
                              (unsigned long long)throttle_next_high(t[i].high, t[i].usage, t[i].floor,
                                                                     t[i].step_bp));
}
END_TEST

static void put(const char *dir, const char *file, const char *text)
{
        char p[512];
        FILE *f;

        snprintf(p, sizeof(p), "%s/%s", dir, file);
        f = fopen(p, "we");
        ck_assert_ptr_nonnull(f);
        fputs(text, f);
        fclose(f);
}

/* A child that holds `mib` MiB of touched memory until killed. */
static pid_t hog(unsigned mib)
{
        int p[2];
        char c;
        pid_t pid;

        ck_assert_int_eq(pipe(p), 0);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                char *m = mmap(NULL, (size_t)mib << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                               -1, 0);
                if (m == MAP_FAILED)
                        _exit(1);
                memset(m, 1, (size_t)mib << 20);
                (void)!write(p[1], "x", 1);
                pause();
                _exit(0);
        }
        close(p[1]);
        ck_assert_int_eq(read(p[0], &c, 1), 1);
        close(p[0]);
        return pid;
}

START_TEST(test_report)
{
        char root[] = "/tmp/mw-report-XXXXXX", d[256], procs[64], buf[65536];
        pid_t big, small;
        ReportSummary sum;
        size_t len;
        int rfd, pfd;

        ck_assert_ptr_nonnull(mkdtemp(root));
        snprintf(d, sizeof(d), "%s/app.slice", root);
        ck_assert_int_eq(mkdir(d, 0755), 0);
        big = hog(48);
        small = hog(8);
        put(d, "memory.current", "62914560\n");
        put(d, "memory.max", "max\n");
        put(d, "memory.high", "67108864\n");
        put(d, "memory.stat", "anon 58720256\nfile 4194304\nkernel 1048576\nshmem 0\nsock 0\n");
        put(d, "memory.events", "low 0\nhigh 12\nmax 0\noom 0\noom_kill 0\n");
        put(d, "memory.pressure",
            "some avg10=1.50 avg60=0.20 avg300=0.00 total=123456\n"
            "full avg10=0.50 avg60=0.00 avg300=0.00 total=2345\n");
        snprintf(procs, sizeof(procs), "%d\n", (int)small);
        put(d, "cgroup.procs", procs);
        /* The big one sits in a child cgroup: the report walks the subtree. */
        snprintf(d, sizeof(d), "%s/app.slice/worker", root);
        ck_assert_int_eq(mkdir(d, 0755), 0);
        snprintf(procs, sizeof(procs), "%d\n999999999\n", (int)big); /* and a pid that is gone */
        put(d, "cgroup.procs", procs);
        put(d, "memory.current", "52428800\n");

        rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        pfd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
        ck_assert_int_eq(report_build(rfd, "app.slice", pfd, "/app.slice", "pol", 1700000000000000ULL, buf,
                                      sizeof(buf), &len, &sum),
                         0);
        ck_assert_uint_eq(buf[len - 1], '\n');
        ck_assert_int_eq(sum.top.pid, big);
        ck_assert_uint_ge(sum.top.rss, 48u << 20);
        ck_assert_uint_eq(sum.n_processes, 3); /* the gone pid is counted, not ranked */
        ck_assert_uint_eq(sum.n_children, 1);
        ck_assert_uint_eq(sum.anon, 58720256);
        ck_assert(!sum.truncated);
        ck_assert_ptr_nonnull(strstr(buf, "\"cgroup\":\"/app.slice\",\"policy\":\"pol\""));
        ck_assert_ptr_nonnull(strstr(buf, "\"memory_high\":67108864"));
        ck_assert_ptr_nonnull(
                strstr(buf, "\"stat\":{\"anon\":58720256,\"file\":4194304,\"kernel\":1048576"));
        ck_assert_ptr_nonnull(strstr(buf, "\"events\":{\"low\":0,\"high\":12"));
        ck_assert_ptr_nonnull(strstr(buf, "\"some\":{\"avg10\":1.50"));
        ck_assert_ptr_nonnull(
                strstr(buf, "\"children\":[{\"name\":\"worker\",\"memory_current\":52428800}]"));
        /* Ranked by RSS: the big hog first, then the small one; with PSS and a command line. */
        char *p1 = strstr(buf, "\"processes\":[{\"pid\":");
        ck_assert_ptr_nonnull(p1);
        ck_assert_int_eq(atoi(p1 + strlen("\"processes\":[{\"pid\":")), big);
        snprintf(procs, sizeof(procs), "{\"pid\":%d,", (int)small);
        ck_assert_ptr_nonnull(strstr(p1, procs));
        ck_assert_ptr_nonnull(strstr(p1, "\"pss\":"));
        ck_assert_ptr_nonnull(strstr(p1, "\"cmdline\":\""));

        /* Too small a buffer: an error, not a truncated file. */
        ck_assert_int_eq(report_build(rfd, "app.slice", pfd, "/app.slice", "pol", 0, buf, 200, &len, &sum),
                         -ENOBUFS);
        /* A cgroup that is gone. */
        ck_assert_int_eq(
                report_build(rfd, "gone.slice", pfd, "/gone.slice", "pol", 0, buf, sizeof(buf), &len, &sum),
                -ENOENT);

        kill(big, SIGKILL);
        kill(small, SIGKILL);
        waitpid(big, NULL, 0);
        waitpid(small, NULL, 0);
        close(rfd);
        close(pfd);
        snprintf(buf, sizeof(buf), "rm -rf '%s'", root);
        ck_assert_int_eq(system(buf), 0);
}
END_TEST

static Suite *make_suite(void)
{
        Suite *s = suite_create("actions");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_refusal);
        tcase_add_test(tc, test_throttle_steps);
        tcase_add_test(tc, test_report);
        suite_add_tcase(s, tc);
        return s;
}

MW_TEST_MAIN(make_suite)
