/* SPDX-License-Identifier: MIT */
/* The agent's own cgroup on fake /proc and fake cgroup trees in a temp
 * directory: plain host, cgroup namespace (a DaemonSet pod), cgroup v1, the
 * pod UID, nothing found. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs-util.h"
#include "macro.h"
#include "selfcg.h"
#include "test-main.h"

#define PID 4242

static char tmp[64];
static int proc_fd = -1, root_fd = -1;

static void put(const char *rel, const char *content)
{
        char path[512];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", tmp, rel);
        ck_assert_int_eq(mkdir_parents(path, 0755), 0);
        f = fopen(path, "we");
        ck_assert_ptr_nonnull(f);
        fputs(content, f);
        fclose(f);
}

static void mkdirs(const char *rel)
{
        char path[512];

        snprintf(path, sizeof(path), "%s/%s", tmp, rel);
        ck_assert_int_eq(mkdir_p(path, 0755), 0);
}

/* namespaced: two different ns files; else one file hard-linked. */
static void fake_proc(const char *self_cgroup, bool namespaced)
{
        char a[512], b[512];

        snprintf(a, sizeof(a), "%s/proc/self/ns/cgroup", tmp);
        snprintf(b, sizeof(b), "%s/proc/1/ns/cgroup", tmp);
        (void)unlink(a);
        (void)unlink(b);
        put("proc/self/cgroup", self_cgroup);
        put("proc/self/ns/cgroup", "self");
        if (namespaced)
                put("proc/1/ns/cgroup", "init");
        else {
                mkdirs("proc/1/ns");
                ck_assert_int_eq(link(a, b), 0);
        }
}

static void setup(void)
{
        char path[512];

        strcpy(tmp, "/tmp/mw-selfcg-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(tmp));
        mkdirs("cg");
        mkdirs("proc");
        snprintf(path, sizeof(path), "%s/proc", tmp);
        proc_fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        snprintf(path, sizeof(path), "%s/cg", tmp);
        root_fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        ck_assert_int_ge(proc_fd, 0);
        ck_assert_int_ge(root_fd, 0);
}

static void teardown(void)
{
        char cmd[128];

        proc_fd = safe_close(proc_fd);
        root_fd = safe_close(root_fd);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
        ck_assert_int_eq(system(cmd), 0);
}

static SelfCgroupConfig config(bool v1)
{
        return (SelfCgroupConfig){ .proc_fd = proc_fd, .root_fd = root_fd, .v1 = v1, .pid = PID };
}

START_TEST(test_parse)
{
        static const struct {
                const char *in;
                bool v1;
                int r;
                const char *path;
        } t[] = {
                { "0::/system.slice/memwarden.service\n", false, 0, "/system.slice/memwarden.service" },
                { "0::/\n", false, 0, "/" },
                { "0::/../../kubepods.slice\n", false, 0, "/../../kubepods.slice" },
                { "0::/no-newline", false, 0, "/no-newline" },
                { "12:memory:/kubepods/burstable/pod1/c1\n0::/\n", true, 0, "/kubepods/burstable/pod1/c1" },
                { "12:memory:/a\n0::/b\n", false, 0, "/b" },
                { "5:cpu,memory,pids:/x\n", true, 0, "/x" },
                { "5:cpu,memoryx:/x\n4:memory_:/y\n", true, -ENOENT, NULL },
                { "1:name=systemd:/a\n", true, -ENOENT, NULL },
                { "10::/a\n", false, -ENOENT, NULL },
                { "0:x:/a\n", false, -ENOENT, NULL },
                { "0::\n", false, -EINVAL, NULL },
                { "0::relative\n", false, -EINVAL, NULL },
                { "", false, -ENOENT, NULL },
                { "garbage\n::\n:\n", false, -ENOENT, NULL },
        };
        char out[64];

        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                int r = selfcg_parse(t[i].in, strlen(t[i].in), t[i].v1, out, sizeof(out));
                ck_assert_msg(r == t[i].r, "%zu: got %d, want %d", i, r, t[i].r);
                if (r == 0)
                        ck_assert_str_eq(out, t[i].path);
        }
        ck_assert_int_eq(selfcg_parse("0::/abcdef\n", 11, false, out, 7), -ENAMETOOLONG);
        ck_assert_int_eq(selfcg_parse("0::/abcde\n", 10, false, out, 7), 0);
}
END_TEST

START_TEST(test_procs_has_pid)
{
        char big[20000];
        size_t n = 0;
        int fd;

        put("cg/a/cgroup.procs", "1\n42420\n424\n");
        fd = openat(root_fd, "a", O_PATH | O_DIRECTORY);
        ck_assert_int_eq(selfcg_procs_has_pid(fd, PID), 0);
        ck_assert_int_eq(selfcg_procs_has_pid(fd, 424), 1);
        ck_assert_int_eq(selfcg_procs_has_pid(fd, 1), 1);
        ck_assert_int_eq(selfcg_procs_has_pid(fd, 42), 0);
        close(fd);
        /* Our PID across the 4096-byte read boundary, and last without a newline. */
        while (n < 4094)
                n += (size_t)snprintf(big + n, sizeof(big) - n, "%d\n", 7);
        n = 4094;
        n += (size_t)snprintf(big + n, sizeof(big) - n, "%d\n99999999999999999999999\n5", PID);
        put("cg/b/cgroup.procs", big);
        fd = openat(root_fd, "b", O_PATH | O_DIRECTORY);
        ck_assert_int_eq(selfcg_procs_has_pid(fd, PID), 1);
        ck_assert_int_eq(selfcg_procs_has_pid(fd, 5), 1);
        ck_assert_int_eq(selfcg_procs_has_pid(fd, 8), 0);
        close(fd);
        ck_assert_int_eq(selfcg_procs_has_pid(root_fd, PID), -ENOENT);
}
END_TEST

START_TEST(test_plain_host)
{
        SelfCgroupConfig c = config(false);
        SelfCgroup s;

        fake_proc("0::/system.slice/memwarden.service\n", false);
        mkdirs("cg/system.slice/memwarden.service");
        ck_assert_int_eq(selfcg_find(&c, &s), 0);
        ck_assert_str_eq(s.path, "/system.slice/memwarden.service");
        ck_assert_int_eq(s.source, SELFCG_SOURCE_PROC);
        ck_assert(!s.namespaced);
        ck_assert_str_eq(selfcg_source_to_string(s.source), "proc");
}
END_TEST

/* A DaemonSet pod: "0::/" from inside the namespace, the host's hierarchy
 * (hostPath) as the root. */
START_TEST(test_namespace_walk)
{
        SelfCgroupConfig c = config(false);
        SelfCgroup s;

        fake_proc("0::/\n", true);
        put("cg/cgroup.procs", "1\n2\n");
        put("cg/system.slice/kubelet.service/cgroup.procs", "300\n");
        put("cg/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podaa_bb.slice/"
            "cri-containerd-0123.scope/cgroup.procs",
            "17\n4242\n");
        ck_assert_int_eq(selfcg_find(&c, &s), 0);
        ck_assert(s.namespaced);
        ck_assert_str_eq(s.proc_path, "/");
        ck_assert_int_eq(s.source, SELFCG_SOURCE_WALK);
        ck_assert_str_eq(s.path,
                         "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podaa_bb.slice/"
                         "cri-containerd-0123.scope");
        ck_assert_uint_gt(s.walked_dirs, 1);
}
END_TEST

/* In a namespace whose own cgroup2 mount is the root: /proc agrees with it. */
START_TEST(test_namespace_agrees)
{
        SelfCgroupConfig c = config(false);
        SelfCgroup s;

        fake_proc("0::/sub\n", true);
        put("cg/sub/cgroup.procs", "4242\n");
        ck_assert_int_eq(selfcg_find(&c, &s), 0);
        ck_assert_int_eq(s.source, SELFCG_SOURCE_PROC);
        ck_assert_str_eq(s.path, "/sub");
}
END_TEST

/* "0::/" without a detectable namespace, but we are not in the root's procs. */
START_TEST(test_root_path_not_in_root)
{
        SelfCgroupConfig c = config(false);
        SelfCgroup s;

        fake_proc("0::/\n", false);
        put("cg/cgroup.procs", "1\n");
        put("cg/x.slice/y.scope/cgroup.procs", "4242\n");
        ck_assert_int_eq(selfcg_find(&c, &s), 0);
        ck_assert_int_eq(s.source, SELFCG_SOURCE_WALK);
        ck_assert_str_eq(s.path, "/x.slice/y.scope");
        /* And in the root for real. */
        put("cg/cgroup.procs", "1\n4242\n");
        ck_assert_int_eq(selfcg_find(&c, &s), 0);
        ck_assert_int_eq(s.source, SELFCG_SOURCE_PROC);
        ck_assert_str_eq(s.path, "/");
}
END_TEST

START_TEST(test_pod_uid)
{
        SelfCgroupConfig c = config(false);
        SelfCgroup s;
        char out[256];

        fake_proc("0::/../../x\n", true);
        mkdirs("cg/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1234_abcd.slice/"
               "cri-containerd-11.scope");
        c.pod_uid = "1234-abcd";
        ck_assert_int_eq(selfcg_find(&c, &s), 0);
        ck_assert_int_eq(s.source, SELFCG_SOURCE_POD_UID);
        ck_assert(s.pod_found && !s.container_found);
        ck_assert_str_eq(s.path,
                         "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1234_abcd.slice");
        put("cg/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1234_abcd.slice/"
            "cri-containerd-22.scope/cgroup.procs",
            "4242\n");
        ck_assert_int_eq(selfcg_find(&c, &s), 0);
        ck_assert(s.container_found);
        ck_assert_str_eq(s.path,
                         "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1234_abcd.slice/"
                         "cri-containerd-22.scope");

        /* Guaranteed, systemd driver, a kubepods root of its own. */
        mkdirs("cg/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-podff.slice");
        ck_assert_int_eq(
                selfcg_find_pod(root_fd, "/kubelet.slice/kubelet-kubepods.slice", "ff", out, sizeof(out)),
                0);
        ck_assert_str_eq(out, "/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-podff.slice");
        /* cgroupfs driver. */
        mkdirs("cg/kubepods/burstable/pod5-6");
        ck_assert_int_eq(selfcg_find_pod(root_fd, NULL, "5-6", out, sizeof(out)), 0);
        ck_assert_str_eq(out, "/kubepods/burstable/pod5-6");
        ck_assert_int_eq(selfcg_find_pod(root_fd, NULL, "77", out, sizeof(out)), -ENOENT);
        ck_assert_int_eq(selfcg_find_pod(root_fd, NULL, "../x", out, sizeof(out)), -EINVAL);
        ck_assert_int_eq(selfcg_find_pod(root_fd, NULL, "", out, sizeof(out)), -EINVAL);
        ck_assert_int_eq(selfcg_find_pod(root_fd, "../kubepods", "ff", out, sizeof(out)), -EINVAL);
}
END_TEST

START_TEST(test_v1)
{
        SelfCgroupConfig c = config(true);
        SelfCgroup s;

        fake_proc("12:memory:/kubepods/burstable/pod1/c1\n3:cpu,cpuacct:/other\n0::/\n", false);
        ck_assert_int_eq(selfcg_find(&c, &s), 0);
        ck_assert_int_eq(s.source, SELFCG_SOURCE_PROC);
        ck_assert_str_eq(s.path, "/kubepods/burstable/pod1/c1");

        /* v1 in a namespace: the memory line reads "/". */
        fake_proc("12:memory:/\n0::/\n", true);
        put("cg/kubepods/besteffort/pod2/c2/cgroup.procs", "4242\n");
        ck_assert_int_eq(selfcg_find(&c, &s), 0);
        ck_assert_int_eq(s.source, SELFCG_SOURCE_WALK);
        ck_assert_str_eq(s.path, "/kubepods/besteffort/pod2/c2");
}
END_TEST

START_TEST(test_explicit)
{
        SelfCgroupConfig c = config(false);
        SelfCgroup s;

        fake_proc("0::/\n", true);
        c.explicit_path = "kubepods.slice/mine.scope";
        ck_assert_int_eq(selfcg_find(&c, &s), 0);
        ck_assert_int_eq(s.source, SELFCG_SOURCE_EXPLICIT);
        ck_assert_str_eq(s.path, "/kubepods.slice/mine.scope");
}
END_TEST

START_TEST(test_not_found)
{
        SelfCgroupConfig c = config(false);
        SelfCgroup s;

        fake_proc("0::/\n", true);
        put("cg/cgroup.procs", "1\n");
        mkdirs("cg/a/b/c");
        mkdirs("cg/d");
        c.pod_uid = "abc"; /* no such pod: on to the walk */
        ck_assert_int_eq(selfcg_find(&c, &s), -ENOENT);
        ck_assert_str_eq(s.path, "");
        ck_assert_int_eq(s.source, SELFCG_SOURCE_NONE);
        ck_assert(!s.pod_found);
        ck_assert_uint_eq(s.walked_dirs, 5);

        /* The walk is bounded. */
        put("cg/d/cgroup.procs", "4242\n");
        c.walk_max_dirs = 1;
        ck_assert_int_eq(selfcg_find(&c, &s), -E2BIG);
        ck_assert_uint_eq(s.walked_dirs, 1);
        c.walk_max_dirs = 0;
        ck_assert_int_eq(selfcg_find(&c, &s), 0);
        ck_assert_str_eq(s.path, "/d");

        /* No /proc at all. */
        teardown();
        setup();
        c = config(false);
        ck_assert_int_eq(selfcg_find(&c, &s), -ENOENT);
        ck_assert_str_eq(s.proc_path, "");
}
END_TEST

/* A symlink in the tree does not lead the walk out of it. */
START_TEST(test_walk_nofollow)
{
        SelfCgroupConfig c = config(false);
        SelfCgroup s;
        char target[512], link_path[512];

        fake_proc("0::/\n", true);
        put("outside/cgroup.procs", "4242\n");
        snprintf(target, sizeof(target), "%s/outside", tmp);
        snprintf(link_path, sizeof(link_path), "%s/cg/link", tmp);
        ck_assert_int_eq(symlink(target, link_path), 0);
        ck_assert_int_eq(selfcg_find(&c, &s), -ENOENT);
}
END_TEST

static Suite *make_suite(void)
{
        Suite *s = suite_create("selfcg");
        TCase *tc = tcase_create("parse");

        tcase_add_test(tc, test_parse);
        suite_add_tcase(s, tc);
        tc = tcase_create("fake-tree");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_procs_has_pid);
        tcase_add_test(tc, test_plain_host);
        tcase_add_test(tc, test_namespace_walk);
        tcase_add_test(tc, test_namespace_agrees);
        tcase_add_test(tc, test_root_path_not_in_root);
        tcase_add_test(tc, test_pod_uid);
        tcase_add_test(tc, test_v1);
        tcase_add_test(tc, test_explicit);
        tcase_add_test(tc, test_not_found);
        tcase_add_test(tc, test_walk_nofollow);
        suite_add_tcase(s, tc);
        return s;
}

MW_TEST_MAIN(make_suite)
