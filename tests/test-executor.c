/* SPDX-License-Identifier: MIT */
/* The executor end to end on a fake cgroup tree (a temp dir; the "kernel
 * files" are plain files) and a fake systemd on a private bus: which route
 * each hostile layout takes, the fallback when systemd refuses, and that a
 * delegated subtree never reaches systemd whatever it would answer. Skips
 * (77) without dbus-daemon. Never the host's cgroups or bus. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "executor.h"
#include "fake-systemd.h"
#include "macro.h"
#include "undo-log.h"

#define SCOPE                 "/kubepods.slice/kubepods-pod1.slice/cri-containerd-X.scope"
#define REPORT_QUEUE_MAX_TEST 4 /* REPORT_QUEUE_MAX of daemon/executor-internal.h */
#define USERW                 "/user.slice/user-1000.slice/user@1000.service/web-1.service"

static const FakeUnit units[] = {
        { .object = "/org/freedesktop/systemd1/unit/hog",
          .id = "hog.service",
          .cgroup = "/system.slice/hog.service",
          .broken = true },
        { .object = "/org/freedesktop/systemd1/unit/web",
          .id = "web-1.service",
          .cgroup = "/system.slice/web-1.service" },
        { .object = "/org/freedesktop/systemd1/unit/scope",
          .id = "cri-containerd-X.scope",
          .cgroup = SCOPE },
        /* A systemd that would even confirm the container's kubelet.service: delegation must win. */
        { .object = "/org/freedesktop/systemd1/unit/kubelet",
          .id = "kubelet.service",
          .cgroup = SCOPE "/kubelet.service" },
        { .object = "/org/freedesktop/systemd1/unit/user",
          .id = "user@1000.service",
          .cgroup = "/user.slice/user-1000.slice/user@1000.service" },
        { .object = "/org/freedesktop/systemd1/unit/s0",
          .id = "s0.service",
          .cgroup = "/system.slice/s0.service" },
        { .object = "/org/freedesktop/systemd1/unit/s1",
          .id = "s1.service",
          .cgroup = "/system.slice/s1.service",
          .slow = true },
        { .object = "/org/freedesktop/systemd1/unit/s2",
          .id = "s2.service",
          .cgroup = "/system.slice/s2.service" },
        { .object = "/org/freedesktop/systemd1/unit/s3",
          .id = "s3.service",
          .cgroup = "/system.slice/s3.service",
          .slow = true },
};

typedef struct Seen {
        ActionType action;
        ActionResult result;
        bool undo, has_cgroup;
        char via[64], unit[256], detail[768], policy[64];
} Seen;

static char root[64], state[64];
static sd_event *event;
static FakeSystemd fs;
static Watcher *watcher;
static Executor *executor;
static Seen seen[64];
static unsigned n_seen;
static bool have_trusted;

static void on_record(Watcher *w, const Record *r, void *userdata)
{
}

static void step(const char *path, ActionType type, bool undo, unsigned n);
static bool reenter; /* on a failed step, decide for another cgroup (the engine's select moving on) */

static unsigned n_warnings;
static char warning[512];

static void on_outcome(const Record *r, void *userdata)
{
        Seen *s;
        const ActionOutcome *o = r->outcome;

        if (r->type == RECORD_WARNING) {
                n_warnings++;
                snprintf(warning, sizeof(warning), "%s", r->message);
                return;
        }
        s = &seen[n_seen < ELEMENTSOF(seen) ? n_seen++ : ELEMENTSOF(seen) - 1];
        *s = (Seen){
                .action = o->action, .result = o->result, .undo = o->undo, .has_cgroup = r->cgroup != NULL
        };
        snprintf(s->via, sizeof(s->via), "%s", o->via ? o->via : "");
        snprintf(s->unit, sizeof(s->unit), "%s", o->unit ? o->unit : "");
        snprintf(s->detail, sizeof(s->detail), "%s", o->detail ? o->detail : "");
        snprintf(s->policy, sizeof(s->policy), "%s", o->policy ? o->policy : "");
        if (reenter && o->result == ACTION_RESULT_FAILED) {
                reenter = false;
                step("/system.slice/web-1.service", ACTION_NOTIFY, false, 0);
        }
}

static void put(const char *rel, const char *file, const char *text)
{
        char p[PATH_MAX];
        int fd;

        snprintf(p, sizeof(p), "%s%s/%s", root, rel, file);
        fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        ck_assert_msg(fd >= 0, "open %s: %m", p);
        ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
        close(fd);
}

static void get(const char *rel, const char *file, char *buf, size_t size)
{
        char p[PATH_MAX];
        ssize_t n;
        int fd;

        snprintf(p, sizeof(p), "%s%s/%s", root, rel, file);
        fd = open(p, O_RDONLY | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        n = read(fd, buf, size - 1);
        close(fd);
        buf[n > 0 ? n : 0] = '\0';
}

/* mkdir -p, each level a cgroup with the memory controller on. */
static void mkcg(const char *path)
{
        char rel[PATH_MAX];

        snprintf(rel, sizeof(rel), "%s", path);
        for (char *p = rel + 1;; p++) {
                if (*p == '/' || *p == '\0') {
                        char c = *p, full[PATH_MAX + 64];
                        *p = '\0';
                        snprintf(full, sizeof(full), "%s%s", root, rel);
                        if (mkdir(full, 0755) == 0) {
                                put(rel, "memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n");
                                put(rel, "memory.high", "max\n");
                                put(rel, "memory.max", "max\n");
                                put(rel, "memory.current", "104857600\n");
                                put(rel, "cgroup.events", "populated 1\nfrozen 0\n");
                                put(rel, "cgroup.kill", "");
                                put(rel, "cgroup.freeze", "0\n");
                        }
                        *p = c;
                        if (!c)
                                break;
                }
        }
}

static const Cgroup *find(const char *path)
{
        char buf[PATH_MAX];

        for (unsigned i = 0; i < watcher_n_slots(watcher); i++) {
                const Cgroup *c = watcher_slot(watcher, i);
                if (c && cgroup_path(c, buf, sizeof(buf)) >= 0 && strcmp(buf, path) == 0)
                        return c;
        }
        ck_abort_msg("no cgroup %s", path);
        return NULL;
}

static void setup(void)
{
        WatcherConfig wc = WATCHER_CONFIG_DEFAULT;
        ExecutorConfig xc = { .bus = true, .own_cgroup = "/system.slice/memwardend.service" };
        const char *dirs[] = { "/system.slice/hog.service",
                               "/system.slice/web-1.service",
                               SCOPE "/kubelet.service",
                               USERW,
                               "/system.slice/fake.service",
                               "/system.slice/memwardend.service",
                               "/plain/job",
                               "/system.slice/bad\xff.service",
                               "/system.slice/s0.service",
                               "/system.slice/s1.service",
                               "/system.slice/s2.service",
                               "/system.slice/s3.service" };
        char full[PATH_MAX];
        int r;

        ck_assert_int_ge(sd_event_new(&event), 0);
        r = fake_systemd_start(event, units, ELEMENTSOF(units), &fs);
        ck_assert_int_eq(r, 0);
        strcpy(root, "/tmp/test-executor-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(root));
        put("", "cgroup.controllers", "cpu memory\n");
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++)
                mkcg(dirs[i]);
        snprintf(full, sizeof(full), "%s%s", root, SCOPE);
        have_trusted = setxattr(full, "trusted.delegate", "1", 1, 0) == 0;
        if (!have_trusted)
                fprintf(stderr, "test-executor: no trusted.* xattrs here; the scope case is skipped\n");
        wc.root = root;
        wc.psi = false;
        wc.pod_log_dir = wc.container_log_dir = NULL;
        ck_assert_int_eq(watcher_new(&wc, on_record, NULL, &watcher), 0);
        ck_assert_int_eq(watcher_scan(watcher), 0);
        xc.cgroup_root = root;
        strcpy(state, "/tmp/test-executor-state-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(state));
        strcat(state, "/undo"); /* made by the executor */
        xc.state_dir = state;
        ck_assert_int_eq(executor_new(event, watcher, &xc, on_outcome, NULL, &executor), 0);
        n_seen = 0;
        fs.log[0] = '\0';
}

static void teardown(void)
{
        char cmd[128];

        executor = executor_free(executor);
        watcher = watcher_free(watcher);
        fake_systemd_stop(&fs);
        event = sd_event_unref(event);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
        ck_assert_int_eq(system(cmd), 0);
        *strrchr(state, '/') = '\0';
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", state);
        ck_assert_int_eq(system(cmd), 0);
}

static unsigned n_stopped_left = UINT32_MAX;

static void on_stopped(void *userdata, unsigned n_left)
{
        n_stopped_left = n_left;
}

/* executor_shutdown and the loop until it is done: how many are left. */
static int shutdown_within(uint64_t timeout_usec)
{
        n_stopped_left = UINT32_MAX;
        ck_assert_int_eq(executor_shutdown(executor, timeout_usec, on_stopped, NULL), 0);
        ck_assert_int_eq(executor_shutdown(executor, timeout_usec, on_stopped, NULL), -EALREADY);
        for (int i = 0; i < 1000 && n_stopped_left == UINT32_MAX; i++)
                ck_assert_int_ge(sd_event_run(event, 10 * USEC_PER_MSEC), 0);
        ck_assert_uint_ne(n_stopped_left, UINT32_MAX);
        return (int)n_stopped_left;
}

static void count_entry(const UndoEntry *e, void *userdata)
{
        UndoEntry *last = userdata;
        if (last)
                *last = *e;
}

static void no_bad(unsigned line, int error, void *userdata)
{
        ck_abort_msg("undo file line %u: %d", line, error);
}

/* The entries of the undo file as it is on disk (the last into *last). */
static unsigned undo_entries(UndoEntry *last)
{
        static char scratch[UNDO_LINE_MAX + 1];
        int dfd = open(state, O_RDONLY | O_DIRECTORY | O_CLOEXEC), n;

        ck_assert_int_ge(dfd, 0);
        n = undo_log_read(dfd, UNDO_FILE_NAME, scratch, sizeof(scratch), count_entry, no_bad, last);
        close(dfd);
        ck_assert_int_ge(n, 0);
        return (unsigned)n;
}

/* What SIGKILL leaves: the executor gone without executor_shutdown. Then a new one. */
static void restart_with(const char *report_dir)
{
        ExecutorConfig xc = { .bus = true,
                              .own_cgroup = "/system.slice/memwardend.service",
                              .cgroup_root = root,
                              .state_dir = state,
                              .report_dir = report_dir,
                              .report_keep = 64 };

        executor = executor_free(executor);
        ck_assert_int_eq(executor_new(event, watcher, &xc, on_outcome, NULL, &executor), 0);
        executor_undo_previous(executor);
}

static void crash_and_restart(void)
{
        restart_with(NULL);
}

/* Run the loop until n outcomes are in. */
static void run_until(unsigned n)
{
        for (int i = 0; i < 300 && n_seen < n; i++)
                ck_assert_int_ge(sd_event_run(event, 10 * USEC_PER_MSEC), 0);
        ck_assert_msg(n_seen >= n, "%u outcomes, want %u", n_seen, n);
}

/* One step of a one-step policy name of namespace ns (NULL: the admin's),
 * with floor floor; the loop runs until n outcomes are in. */
static void step_as(const char *path, ActionType type, bool undo, unsigned n, const char *name,
                    const char *ns, uint64_t floor)
{
        static Policy p;
        EngineDecision d = { .cgroup = find(path),
                             .policy = &p,
                             .phase = undo ? POLICY_IDLE : POLICY_FIRING };

        p = (Policy){ .name = (char *)name, .scope_namespace = (char *)ns, .n_actions = 1 };
        p.actions[0] = (Action){
                .type = type, .step_bp = 1000, .floor_bytes = floor, .interval_usec = 60 * USEC_PER_SEC
        };
        if (undo)
                d.d.undo_steps = 1;
        else
                d.d.run_steps = 1;
        executor_decision(executor, &d);
        for (int i = 0; i < 300 && n_seen < n; i++)
                ck_assert_int_ge(sd_event_run(event, 10 * USEC_PER_MSEC), 0);
        ck_assert_msg(n_seen >= n, "%u outcomes, want %u", n_seen, n);
}

static void step(const char *path, ActionType type, bool undo, unsigned n)
{
        step_as(path, type, undo, n, "p", NULL, 0);
}

START_TEST(test_fallback)
{
        char buf[64];

        /* systemd refuses KillUnit: cgroup.kill, and the record names both. */
        step("/system.slice/hog.service", ACTION_KILL, false, 1);
        ck_assert_int_eq(seen[0].result, ACTION_RESULT_DONE);
        ck_assert_str_eq(seen[0].via, "cgroupfs");
        ck_assert_msg(strstr(seen[0].detail, "KillUnit(hog.service) failed: Unit hog.service not loaded.") &&
                              strstr(seen[0].detail, "cgroup.kill"),
                      "%s", seen[0].detail);
        get("/system.slice/hog.service", "cgroup.kill", buf, sizeof(buf));
        ck_assert_str_eq(buf, "1");
        ck_assert_ptr_nonnull(strstr(fs.log, "KillUnit hog.service\n"));
        /* restart has no fallback: failed, with cgroup and policy for the engine. */
        step("/system.slice/hog.service", ACTION_RESTART, false, 2);
        ck_assert_int_eq(seen[1].result, ACTION_RESULT_FAILED);
        ck_assert(seen[1].has_cgroup);
        ck_assert_str_eq(seen[1].policy, "p");
        ck_assert_ptr_nonnull(strstr(seen[1].detail, "RestartUnit(hog.service) failed"));
        /* freeze: cgroup.freeze, done when cgroup.events says so. */
        step("/system.slice/hog.service", ACTION_FREEZE, false, 3);
        ck_assert_int_eq(seen[2].result, ACTION_RESULT_STARTED);
        ck_assert_str_eq(seen[2].via, "cgroupfs");
        ck_assert_ptr_nonnull(strstr(seen[2].detail, "FreezeUnit(hog.service) failed"));
        get("/system.slice/hog.service", "cgroup.freeze", buf, sizeof(buf));
        ck_assert_str_eq(buf, "1");
        /* throttle: memory.high on the writer thread. */
        step("/system.slice/hog.service", ACTION_THROTTLE, false, 4);
        ck_assert_int_eq(seen[3].result, ACTION_RESULT_DONE);
        ck_assert_ptr_null(strstr(fs.log, "bad")); /* never sent: sd-bus refuses such a string */
        ck_assert_str_eq(seen[3].via, "cgroupfs");
        ck_assert_msg(strstr(seen[3].detail, "SetUnitProperties(hog.service) failed"), "%s", seen[3].detail);
        get("/system.slice/hog.service", "memory.high", buf, sizeof(buf));
        ck_assert_str_eq(buf, "94371840");
        /* SIGTERM gives back and thaws the way it was done in the end: the files. */
        ck_assert_uint_eq(undo_entries(NULL), 2);
        ck_assert_int_eq(shutdown_within(5 * USEC_PER_SEC), 0);
        ck_assert_uint_eq(n_seen, 6);
        ck_assert_uint_eq(undo_entries(NULL), 0);
        ck_assert(seen[4].undo && seen[5].undo);
        get("/system.slice/hog.service", "memory.high", buf, sizeof(buf));
        ck_assert_str_eq(buf, "max");
        get("/system.slice/hog.service", "cgroup.freeze", buf, sizeof(buf));
        ck_assert_str_eq(buf, "0");
}
END_TEST

START_TEST(test_confirmed_unit)
{
        char buf[64];

        step("/system.slice/web-1.service", ACTION_KILL, false, 1);
        ck_assert_int_eq(seen[0].result, ACTION_RESULT_DONE);
        ck_assert_str_eq(seen[0].via, "systemd");
        ck_assert_str_eq(seen[0].unit, "web-1.service");
        get("/system.slice/web-1.service", "cgroup.kill", buf, sizeof(buf));
        ck_assert_str_eq(buf, "");
        step("/system.slice/web-1.service", ACTION_FREEZE, false, 2);
        ck_assert_str_eq(seen[1].via, "systemd");
        step("/system.slice/web-1.service", ACTION_FREEZE, true, 3);
        ck_assert(seen[2].undo);
        ck_assert_ptr_nonnull(strstr(fs.log, "FreezeUnit web-1.service\nThawUnit web-1.service\n"));
}
END_TEST

START_TEST(test_delegated)
{
        char buf[64];

        /* A user's manager's web-1.service: its files, never the host's web-1.service. */
        step(USERW, ACTION_THROTTLE, false, 1);
        ck_assert_int_eq(seen[0].result, ACTION_RESULT_DONE);
        ck_assert_str_eq(seen[0].via, "cgroupfs");
        get(USERW, "memory.high", buf, sizeof(buf));
        ck_assert_str_eq(buf, "94371840");
        step(USERW, ACTION_THROTTLE, true, 2);
        ck_assert(seen[1].undo);
        get(USERW, "memory.high", buf, sizeof(buf));
        ck_assert_str_eq(buf, "max");
        step(USERW, ACTION_RESTART, false, 3);
        ck_assert_int_eq(seen[2].result, ACTION_RESULT_REFUSED);
        ck_assert_ptr_null(strstr(fs.log, "web-1.service"));
        if (!have_trusted)
                return;
        /* The container's kubelet.service: even a systemd that says yes is never asked. */
        step(SCOPE "/kubelet.service", ACTION_KILL, false, 4);
        ck_assert_str_eq(seen[3].via, "cgroupfs");
        get(SCOPE "/kubelet.service", "cgroup.kill", buf, sizeof(buf));
        ck_assert_str_eq(buf, "1");
        step(SCOPE "/kubelet.service", ACTION_FREEZE, false, 5);
        ck_assert_str_eq(seen[4].via, "cgroupfs");
        ck_assert_ptr_null(strstr(fs.log, "kubelet"));
}
END_TEST

START_TEST(test_reentry)
{
        static Policy p;
        EngineDecision d = { .cgroup = find("/plain/job"), .policy = &p, .phase = POLICY_FIRING };
        char buf[64];

        /* report fails at once (no report directory); the owner decides for web-1
         * from inside that outcome; then kill runs: on /plain/job still. */
        p = (Policy){ .name = "two", .n_actions = 2 };
        p.actions[0] = (Action){ .type = ACTION_REPORT };
        p.actions[1] = (Action){ .type = ACTION_KILL };
        d.d.run_steps = 3;
        reenter = true;
        executor_decision(executor, &d);
        for (int i = 0; i < 50; i++)
                ck_assert_int_ge(sd_event_run(event, 10 * USEC_PER_MSEC), 0);
        ck_assert_uint_eq(n_seen, 3);
        ck_assert_int_eq(seen[0].result, ACTION_RESULT_FAILED);
        ck_assert_int_eq(seen[1].action, ACTION_NOTIFY);
        ck_assert_int_eq(seen[2].action, ACTION_KILL);
        get("/plain/job", "cgroup.kill", buf, sizeof(buf));
        ck_assert_str_eq(buf, "1");
        ck_assert_ptr_null(strstr(fs.log, "web-1.service"));
}
END_TEST

/* kill of a pod: its application containers (kubelet logged them), never
 * the pod's cgroup or its sandbox (pod.h). A container kubelet has not
 * logged is refused; so is a pod with none logged. */
#define POD_UID "3c3c3c3c-0000-4000-8000-00000000000c"
#define POD_SLICE                                                                                           \
        "/kubepods.slice/kubepods-besteffort.slice/"                                                        \
        "kubepods-besteffort-pod3c3c3c3c_0000_4000_8000_00000000000c.slice"
#define APP_ID "aaaa000000000000000000000000000000000000000000000000000000000001"
#define SB_ID  "bbbb000000000000000000000000000000000000000000000000000000000002"
#define QOS_ID "cccc000000000000000000000000000000000000000000000000000000000003"
#define LONE                                                                                                \
        "/kubepods.slice/kubepods-besteffort.slice/"                                                        \
        "kubepods-besteffort-pod4d4d4d4d_0000_4000_8000_00000000000d.slice"
START_TEST(test_pod_kill)
{
        WatcherConfig wc = WATCHER_CONFIG_DEFAULT;
        ExecutorConfig xc = { .bus = true, .own_cgroup = "/system.slice/memwardend.service" };
        char logs[128], pods[160], ctrs[160], p[512], buf[64];

        mkcg(POD_SLICE "/cri-containerd-" APP_ID ".scope");
        mkcg(POD_SLICE "/cri-containerd-" SB_ID ".scope");
        mkcg(LONE "/cri-containerd-" SB_ID "9.scope");
        /* A container whose memory.high kubelet's memory QoS set. */
        mkcg(POD_SLICE "/cri-containerd-" QOS_ID ".scope");
        put(POD_SLICE "/cri-containerd-" QOS_ID ".scope", "memory.high", "94371840\n");
        /* kubelet's logs: the pod's directory, the application container's
         * link; none for a sandbox. A process name inside counts for nothing. */
        snprintf(logs, sizeof(logs), "%s-logs", root);
        snprintf(pods, sizeof(pods), "%s/pods", logs);
        snprintf(ctrs, sizeof(ctrs), "%s/containers", logs);
        ck_assert_int_eq(mkdir(logs, 0755), 0);
        ck_assert_int_eq(mkdir(pods, 0755), 0);
        ck_assert_int_eq(mkdir(ctrs, 0755), 0);
        snprintf(p, sizeof(p), "%s/gamma_batch-c_" POD_UID, pods);
        ck_assert_int_eq(mkdir(p, 0755), 0);
        snprintf(p, sizeof(p), "%s/gamma_lone-d_4d4d4d4d-0000-4000-8000-00000000000d", pods);
        ck_assert_int_eq(mkdir(p, 0755), 0);
        snprintf(p, sizeof(p), "%s/batch-c_gamma_app-" APP_ID ".log", ctrs);
        ck_assert_int_eq(symlink("/dev/null", p), 0);
        snprintf(p, sizeof(p), "%s/batch-c_gamma_qos-" QOS_ID ".log", ctrs);
        ck_assert_int_eq(symlink("/dev/null", p), 0);

        executor = executor_free(executor);
        watcher = watcher_free(watcher);
        wc.root = root;
        wc.psi = false;
        wc.pod_log_dir = pods;
        wc.container_log_dir = ctrs;
        ck_assert_int_eq(watcher_new(&wc, on_record, NULL, &watcher), 0);
        ck_assert_int_eq(watcher_scan(watcher), 0);
        xc.cgroup_root = root;
        xc.state_dir = state;
        ck_assert_int_eq(executor_new(event, watcher, &xc, on_outcome, NULL, &executor), 0);
        ck_assert_str_eq(find(POD_SLICE "/cri-containerd-" APP_ID ".scope")->container_name, "app");

        /* kubelet's memory.high: refused, unless the step says overrideKubelet. */
        step(POD_SLICE "/cri-containerd-" QOS_ID ".scope", ACTION_THROTTLE, false, 1);
        ck_assert_int_eq(seen[0].result, ACTION_RESULT_REFUSED);
        ck_assert_ptr_nonnull(strstr(seen[0].detail, "kubelet"));
        get(POD_SLICE "/cri-containerd-" QOS_ID ".scope", "memory.high", buf, sizeof(buf));
        ck_assert_str_eq(buf, "94371840\n");
        {
                static Policy q;
                EngineDecision d = { .cgroup = find(POD_SLICE "/cri-containerd-" QOS_ID ".scope"),
                                     .policy = &q,
                                     .phase = POLICY_FIRING };
                q = (Policy){ .name = "qos", .n_actions = 1 };
                q.actions[0] = (Action){ .type = ACTION_THROTTLE,
                                         .step_bp = 1000,
                                         .floor_bytes = 0,
                                         .interval_usec = 60 * USEC_PER_SEC,
                                         .override_kubelet = true };
                d.d.run_steps = 1;
                executor_decision(executor, &d);
                run_until(2);
                ck_assert_int_eq(seen[1].result, ACTION_RESULT_DONE);
                get(POD_SLICE "/cri-containerd-" QOS_ID ".scope", "memory.high", buf, sizeof(buf));
                ck_assert_str_ne(buf, "94371840\n"); /* lowered */
                q.actions[0].override_kubelet = false;
                d.d.run_steps = 0;
                d.d.undo_steps = 1;
                d.phase = POLICY_IDLE;
                executor_decision(executor, &d);
                run_until(3);
                /* The undo: kubelet's value back, exactly. */
                get(POD_SLICE "/cri-containerd-" QOS_ID ".scope", "memory.high", buf, sizeof(buf));
                ck_assert_str_eq(buf, "94371840");
        }
        n_seen = 0;

        step(POD_SLICE, ACTION_KILL, false, 1);
        run_until(1);
        for (int i = 0; i < 50; i++)
                ck_assert_int_ge(sd_event_run(event, 10 * USEC_PER_MSEC), 0);
        ck_assert_uint_eq(n_seen, 2); /* both application containers */
        ck_assert_int_eq(seen[0].result, ACTION_RESULT_DONE);
        ck_assert_int_eq(seen[1].result, ACTION_RESULT_DONE);
        get(POD_SLICE "/cri-containerd-" APP_ID ".scope", "cgroup.kill", buf, sizeof(buf));
        ck_assert_str_eq(buf, "1");
        get(POD_SLICE "/cri-containerd-" SB_ID ".scope", "cgroup.kill", buf, sizeof(buf));
        ck_assert_str_eq(buf, "");
        get(POD_SLICE, "cgroup.kill", buf, sizeof(buf));
        ck_assert_str_eq(buf, "");
        ck_assert_ptr_null(strstr(fs.log, "KillUnit"));

        /* The sandbox itself, and a pod with nothing but its sandbox: refused. */
        step(POD_SLICE "/cri-containerd-" SB_ID ".scope", ACTION_KILL, false, 3);
        ck_assert_int_eq(seen[2].result, ACTION_RESULT_REFUSED);
        ck_assert_ptr_nonnull(strstr(seen[2].detail, "sandbox"));
        step(LONE, ACTION_KILL, false, 4);
        ck_assert_int_eq(seen[3].result, ACTION_RESULT_REFUSED);
        get(LONE, "cgroup.kill", buf, sizeof(buf));
        ck_assert_str_eq(buf, "");
        get(LONE "/cri-containerd-" SB_ID "9.scope", "cgroup.kill", buf, sizeof(buf));
        ck_assert_str_eq(buf, "");

        snprintf(p, sizeof(p), "rm -rf '%s'", logs);
        ck_assert_int_eq(system(p), 0);
}
END_TEST

START_TEST(test_refusals)
{
        /* Named like a unit, systemd does not confirm it. */
        step("/system.slice/fake.service", ACTION_RESTART, false, 1);
        ck_assert_int_eq(seen[0].result, ACTION_RESULT_REFUSED);
        ck_assert_ptr_nonnull(strstr(fs.log, "GetUnitByControlGroup /system.slice/fake.service\n"));
        ck_assert_ptr_null(strstr(fs.log, "RestartUnit"));
        step("/system.slice/fake.service", ACTION_KILL, false, 2);
        ck_assert_str_eq(seen[1].via, "cgroupfs");
        /* Not UTF-8: no unit's ControlGroup, and no failure of the bus either. */
        step("/system.slice/bad\xff.service", ACTION_RESTART, false, 3);
        ck_assert_int_eq(seen[2].result, ACTION_RESULT_REFUSED);
        ck_assert_msg(strstr(seen[2].detail, "not a systemd unit"), "%s", seen[2].detail);
        step("/system.slice/bad\xff.service", ACTION_KILL, false, 4);
        ck_assert_str_eq(seen[3].via, "cgroupfs");
        ck_assert_int_eq(seen[3].result, ACTION_RESULT_DONE);
        /* memwarden itself. */
        step("/system.slice/memwardend.service", ACTION_KILL, false, 5);
        ck_assert_int_eq(seen[4].result, ACTION_RESULT_REFUSED);
        ck_assert_ptr_null(strstr(fs.log, "memwardend"));
}
END_TEST

START_TEST(test_undo_crash_files)
{
        char buf[64], p[128];
        UndoEntry e;
        int fd;

        step("/plain/job", ACTION_THROTTLE, false, 1);
        ck_assert_int_eq(seen[0].result, ACTION_RESULT_DONE);
        step("/plain/job", ACTION_FREEZE, false, 2);
        ck_assert_int_eq(seen[1].result, ACTION_RESULT_STARTED);
        get("/plain/job", "memory.high", buf, sizeof(buf));
        ck_assert_str_eq(buf, "94371840");
        ck_assert_uint_eq(undo_entries(&e), 2);
        ck_assert_str_eq(e.path, "/plain/job");
        ck_assert_int_eq(e.kind, UNDO_FREEZE);
        /* A hand edit and a torn last line: skipped with one warning, the rest given back. */
        snprintf(p, sizeof(p), "%s/" UNDO_FILE_NAME, state);
        fd = open(p, O_WRONLY | O_APPEND | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        {
                static const char bad[] = "T\tc\t1\t1\tp\t-\t/../etc\nT\tc\t1";
                ck_assert_int_eq(write(fd, bad, strlen(bad)), (ssize_t)strlen(bad));
        }
        close(fd);
        n_warnings = 0;
        crash_and_restart();
        ck_assert_uint_eq(n_warnings, 1);
        ck_assert_msg(strstr(warning, "2 bad lines skipped (line 4: malformed)"), "%s", warning);
        get("/plain/job", "memory.high", buf, sizeof(buf));
        ck_assert_str_eq(buf, "max");
        get("/plain/job", "cgroup.freeze", buf, sizeof(buf));
        ck_assert_str_eq(buf, "0");
        ck_assert_uint_eq(n_seen, 4);
        ck_assert(seen[2].undo && seen[3].undo);
        ck_assert_int_eq(seen[2].result, ACTION_RESULT_DONE);
        ck_assert_str_eq(seen[2].via, "cgroupfs");
        ck_assert_msg(strstr(seen[2].detail, "memory.high max given back (left by a previous run)"), "%s",
                      seen[2].detail);
        ck_assert_uint_eq(undo_entries(NULL), 0);
        /* A policy that still fires starts again from the original. */
        step("/plain/job", ACTION_THROTTLE, false, 5);
        ck_assert_msg(strstr(seen[4].detail, "memory.high max -> 90.0Mi"), "%s", seen[4].detail);
        ck_assert_uint_eq(undo_entries(&e), 1);
        ck_assert_uint_eq(e.original, UINT64_MAX);
}
END_TEST

START_TEST(test_undo_crash_unit)
{
        char buf[64];
        UndoEntry e;

        step("/system.slice/web-1.service", ACTION_THROTTLE, false, 1);
        ck_assert_str_eq(seen[0].via, "systemd");
        step("/system.slice/web-1.service", ACTION_FREEZE, false, 2);
        ck_assert_str_eq(seen[1].via, "systemd");
        ck_assert_uint_eq(undo_entries(&e), 2);
        ck_assert(e.via_unit);
        ck_assert_str_eq(e.unit, "web-1.service");
        ck_assert_ptr_nonnull(strstr(fs.log, "SetUnitProperties web-1.service MemoryHigh=94371840\n"));
        /* What the real systemd would have done to the files. */
        put("/system.slice/web-1.service", "memory.high", "94371840\n");
        put("/system.slice/web-1.service", "cgroup.freeze", "1\n");
        fs.log[0] = '\0';
        crash_and_restart();
        /* The files at once (a first walk now reads the original), systemd's answer later. */
        get("/system.slice/web-1.service", "memory.high", buf, sizeof(buf));
        ck_assert_str_eq(buf, "max");
        get("/system.slice/web-1.service", "cgroup.freeze", buf, sizeof(buf));
        ck_assert_str_eq(buf, "0");
        ck_assert_uint_eq(undo_entries(NULL), 2); /* until systemd answers */
        run_until(4);
        ck_assert_msg(strstr(fs.log, "SetUnitProperties web-1.service MemoryHigh=18446744073709551615\n"),
                      "%s", fs.log);
        ck_assert_ptr_nonnull(strstr(fs.log, "ThawUnit web-1.service\n"));
        ck_assert(seen[2].undo && seen[3].undo);
        ck_assert_str_eq(seen[2].via, "systemd");
        ck_assert_int_eq(seen[2].result, ACTION_RESULT_DONE);
        ck_assert_int_eq(seen[3].result, ACTION_RESULT_DONE);
        for (int i = 0; i < 5; i++)
                ck_assert_int_ge(sd_event_run(event, 10 * USEC_PER_MSEC), 0);
        ck_assert_uint_eq(undo_entries(NULL), 0);
}
END_TEST

START_TEST(test_unit_give_back_on_kill)
{
        const char *set, *back, *kill;

        step("/system.slice/web-1.service", ACTION_THROTTLE, false, 1);
        step("/system.slice/web-1.service", ACTION_KILL, false, 3);
        set = strstr(fs.log, "SetUnitProperties web-1.service MemoryHigh=94371840\n");
        back = strstr(fs.log, "SetUnitProperties web-1.service MemoryHigh=18446744073709551615\n");
        kill = strstr(fs.log, "KillUnit web-1.service\n");
        ck_assert_msg(set && back && kill && set < back && back < kill, "%s", fs.log);
        ck_assert(seen[1].undo || seen[2].undo);
        for (int i = 0; i < 5; i++)
                ck_assert_int_ge(sd_event_run(event, 10 * USEC_PER_MSEC), 0);
        ck_assert_uint_eq(undo_entries(NULL), 0);
}
END_TEST

START_TEST(test_unit_give_back_on_removal)
{
        Record r = record_init(RECORD_CGROUP_REMOVED);

        step("/system.slice/s0.service", ACTION_THROTTLE, false, 1);
        ck_assert_str_eq(seen[0].via, "systemd");
        /* Stopped or restarted by someone else: the cgroup goes, the runtime property would stay. */
        r.cgroup = find("/system.slice/s0.service");
        executor_observe(executor, &r);
        run_until(2);
        ck_assert_msg(strstr(fs.log, "SetUnitProperties s0.service MemoryHigh=18446744073709551615\n"), "%s",
                      fs.log);
        ck_assert(seen[1].undo);
        ck_assert_int_eq(seen[1].result, ACTION_RESULT_DONE);
        for (int i = 0; i < 5; i++)
                ck_assert_int_ge(sd_event_run(event, 10 * USEC_PER_MSEC), 0);
        ck_assert_uint_eq(undo_entries(NULL), 0);
}
END_TEST

START_TEST(test_unit_give_back_unanswered)
{
        char buf[64];
        UndoEntry e;

        step("/system.slice/s1.service", ACTION_THROTTLE, false, 1);
        put("/system.slice/s1.service", "memory.high", "94371840\n"); /* what systemd did */
        /* The policy clears; systemd takes the call and goes away without an answer. */
        fs.stall = true;
        step("/system.slice/s1.service", ACTION_THROTTLE, true, 1);
        for (int i = 0; i < 20 && !strstr(fs.log, "MemoryHigh=18446744073709551615"); i++)
                ck_assert_int_ge(sd_event_run(event, 10 * USEC_PER_MSEC), 0);
        fs.bus = sd_bus_flush_close_unref(fs.bus);
        run_until(2);
        ck_assert(seen[1].undo);
        ck_assert_int_eq(seen[1].result, ACTION_RESULT_FAILED);
        ck_assert_msg(strstr(seen[1].detail, "memory.high set directly; stays in the undo file"), "%s",
                      seen[1].detail);
        get("/system.slice/s1.service", "memory.high", buf, sizeof(buf));
        ck_assert_str_eq(buf, "max");
        for (int i = 0; i < 5; i++)
                ck_assert_int_ge(sd_event_run(event, 10 * USEC_PER_MSEC), 0);
        ck_assert_uint_eq(undo_entries(&e), 1);
        ck_assert_str_eq(e.unit, "s1.service");
        ck_assert(e.via_unit);
}
END_TEST

START_TEST(test_shutdown_deadline)
{
        static const char *units_[] = { "/system.slice/s0.service", "/system.slice/s1.service",
                                        "/system.slice/s2.service", "/system.slice/s3.service" };
        uint64_t t0, ms;
        char buf[64];
        UndoEntry e;
        int left;

        for (unsigned i = 0; i < ELEMENTSOF(units_); i++) {
                step(units_[i], ACTION_THROTTLE, false, i + 1);
                ck_assert_str_eq(seen[i].via, "systemd");
        }
        step("/plain/job", ACTION_THROTTLE, false, 5);
        ck_assert_uint_eq(undo_entries(NULL), 5);
        /* systemd stops answering for s1 and s3. */
        fs.stall = true;
        t0 = now_usec(CLOCK_MONOTONIC);
        left = shutdown_within(300 * USEC_PER_MSEC);
        ms = (now_usec(CLOCK_MONOTONIC) - t0) / 1000;
        fprintf(stderr, "test-executor: shutdown of 5 give-backs (2 unanswered) took %" PRIu64 " ms\n", ms);
        ck_assert_int_eq(left, 2);
        ck_assert_uint_ge(ms, 300);
        ck_assert_uint_lt(ms, getenv("MW_VALGRIND") ? 3000 : 1000);
        get("/plain/job", "memory.high", buf, sizeof(buf));
        ck_assert_str_eq(buf, "max");
        ck_assert_uint_eq(undo_entries(&e), 2);
        ck_assert_str_eq(e.unit, "s3.service");
        ck_assert_ptr_nonnull(
                strstr(fs.log, "SetUnitProperties s1.service MemoryHigh=18446744073709551615\n"));
        /* No decision acts any more. */
        n_seen = 0;
        executor_decision(executor, &(EngineDecision){ .cgroup = find("/plain/job"),
                                                       .policy = &(Policy){ .name = "p", .n_actions = 0 } });
        ck_assert_uint_eq(n_seen, 0);
        /* The next start gives the two back. */
        fs.stall = false;
        crash_and_restart();
        run_until(2);
        for (int i = 0; i < 5; i++)
                ck_assert_int_ge(sd_event_run(event, 10 * USEC_PER_MSEC), 0);
        ck_assert_uint_eq(undo_entries(NULL), 0);
}
END_TEST

START_TEST(test_report_thread)
{
        static Policy p;
        EngineDecision d = { .cgroup = NULL, .policy = &p, .phase = POLICY_FIRING };
        char dir[PATH_MAX], pids[32], cmd[PATH_MAX + 16];
        unsigned files = 0;
        DIR *dh;

        snprintf(dir, sizeof(dir), "%s", state);
        strcpy(strrchr(dir, '/'), "/reports"); /* next to the state directory */
        restart_with(dir);
        snprintf(pids, sizeof(pids), "%d\n", getpid());
        put("/plain/job", "cgroup.procs", pids);
        d.cgroup = find("/plain/job");
        p = (Policy){ .name = "why", .n_actions = 1 };
        p.actions[0] = (Action){ .type = ACTION_REPORT };
        d.d.run_steps = 1;
        /* One being built, four waiting, the sixth refused at once: nothing else is in before the loop runs.
         */
        for (int i = 0; i < 2 + REPORT_QUEUE_MAX_TEST; i++)
                executor_decision(executor, &d);
        ck_assert_uint_eq(n_seen, 1);
        ck_assert_int_eq(seen[0].result, ACTION_RESULT_FAILED);
        ck_assert_msg(strstr(seen[0].detail, "report queue full (one being built, 4 waiting)"), "%s",
                      seen[0].detail);
        run_until(6);
        for (unsigned i = 1; i < 6; i++) {
                ck_assert_int_eq(seen[i].action, ACTION_REPORT);
                ck_assert_msg(seen[i].result == ACTION_RESULT_DONE, "%u: %s", i, seen[i].detail);
                ck_assert_msg(strstr(seen[i].detail, "1 processes"), "%s", seen[i].detail);
        }
        dh = opendir(dir);
        ck_assert_ptr_nonnull(dh);
        for (struct dirent *de; (de = readdir(dh));)
                files += strstr(de->d_name, ".json") != NULL;
        closedir(dh);
        ck_assert_uint_eq(files, 5);
        /* The queue is free again. */
        executor_decision(executor, &d);
        run_until(7);
        ck_assert_int_eq(seen[6].result, ACTION_RESULT_DONE);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        ck_assert_int_eq(system(cmd), 0);
}
END_TEST

static void settle(void)
{
        for (int i = 0; i < 20; i++)
                ck_assert_int_ge(sd_event_run(event, 10 * USEC_PER_MSEC), 0);
}

/* An admin policy and a namespace policy of the same name on one pod: only
 * the owner re-parameterises or gives back; the admin takes a namespace's. */
START_TEST(test_owners)
{
        const char *job = "/plain/job";
        char buf[64];

        step_as(job, ACTION_THROTTLE, false, 1, "p", NULL, 0);
        ck_assert_int_eq(seen[0].result, ACTION_RESULT_DONE);
        get(job, "memory.high", buf, sizeof(buf));
        ck_assert_str_eq(buf, "94371840");
        /* A namespace's high floor neither raises it nor stops the admin's descent. */
        step_as(job, ACTION_THROTTLE, false, 2, "p", "team", 95 * 1024 * 1024);
        ck_assert_int_eq(seen[1].result, ACTION_RESULT_SKIPPED);
        ck_assert_msg(strstr(seen[1].detail, "owned by policy p"), "%s", seen[1].detail);
        /* Its clear gives nothing back. */
        step_as(job, ACTION_THROTTLE, true, 2, "p", "team", 0);
        settle();
        ck_assert_uint_eq(n_seen, 2);
        get(job, "memory.high", buf, sizeof(buf));
        ck_assert_str_eq(buf, "94371840");
        step_as(job, ACTION_THROTTLE, true, 3, "p", NULL, 0);
        ck_assert(seen[2].undo);
        get(job, "memory.high", buf, sizeof(buf));
        ck_assert_str_eq(buf, "max");

        /* The admin's freeze: a namespace's clear does not thaw it. */
        step_as(job, ACTION_FREEZE, false, 4, "p", NULL, 0);
        step_as(job, ACTION_FREEZE, true, 4, "p", "team", 0);
        settle();
        ck_assert_uint_eq(n_seen, 4);
        get(job, "cgroup.freeze", buf, sizeof(buf));
        ck_assert_str_eq(buf, "1");
        step_as(job, ACTION_FREEZE, true, 5, "p", NULL, 0);
        get(job, "cgroup.freeze", buf, sizeof(buf));
        ck_assert_str_eq(buf, "0");

        /* A namespace's throttle that the admin joins is the admin's now. */
        step_as(job, ACTION_THROTTLE, false, 6, "q", "team", 0);
        step_as(job, ACTION_THROTTLE, false, 7, "p", NULL, 0);
        ck_assert_str_eq(seen[6].policy, "p");
        get(job, "memory.high", buf, sizeof(buf));
        ck_assert_str_eq(buf, "84934656");
        step_as(job, ACTION_THROTTLE, true, 7, "q", "team", 0);
        settle();
        ck_assert_uint_eq(n_seen, 7);
        get(job, "memory.high", buf, sizeof(buf));
        ck_assert_str_eq(buf, "84934656");
        step_as(job, ACTION_THROTTLE, true, 8, "p", NULL, 0);
        get(job, "memory.high", buf, sizeof(buf));
        ck_assert_str_eq(buf, "max");
}
END_TEST

/* A step waiting for systemd's answer does not outlive its policy's clear. */
START_TEST(test_clear_while_waiting)
{
        char buf[64];

        fs.hold_resolve = true;
        step("/system.slice/web-1.service", ACTION_FREEZE, false, 0);
        step("/system.slice/s0.service", ACTION_THROTTLE, false, 0);
        settle();
        ck_assert_uint_eq(n_seen, 0);
        ck_assert_ptr_nonnull(strstr(fs.log, "GetUnitByControlGroup /system.slice/web-1.service\n"));
        step("/system.slice/web-1.service", ACTION_FREEZE, true, 1);
        step("/system.slice/s0.service", ACTION_THROTTLE, true, 2);
        ck_assert_int_eq(seen[0].result, ACTION_RESULT_SKIPPED);
        ck_assert_msg(strstr(seen[0].detail, "cleared before systemd answered"), "%s", seen[0].detail);
        ck_assert_int_eq(seen[1].result, ACTION_RESULT_SKIPPED);
        fs.hold_resolve = false;
        fake_systemd_answer_held(&fs);
        settle();
        ck_assert_uint_eq(n_seen, 2);
        ck_assert_ptr_null(strstr(fs.log, "FreezeUnit"));
        ck_assert_ptr_null(strstr(fs.log, "SetUnitProperties"));
        get("/system.slice/web-1.service", "cgroup.freeze", buf, sizeof(buf));
        ck_assert_msg(buf[0] == '0', "%s", buf);
        get("/system.slice/s0.service", "memory.high", buf, sizeof(buf));
        ck_assert_msg(strncmp(buf, "max", 3) == 0, "%s", buf);
        ck_assert_uint_eq(undo_entries(NULL), 0);
}
END_TEST

static Suite *make_suite(void)
{
        Suite *s = suite_create("executor");
        TCase *tc = tcase_create("core");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_fallback);
        tcase_add_test(tc, test_confirmed_unit);
        tcase_add_test(tc, test_delegated);
        tcase_add_test(tc, test_refusals);
        tcase_add_test(tc, test_pod_kill);
        tcase_add_test(tc, test_reentry);
        tcase_add_test(tc, test_undo_crash_files);
        tcase_add_test(tc, test_undo_crash_unit);
        tcase_add_test(tc, test_unit_give_back_on_kill);
        tcase_add_test(tc, test_unit_give_back_on_removal);
        tcase_add_test(tc, test_unit_give_back_unanswered);
        tcase_add_test(tc, test_shutdown_deadline);
        tcase_add_test(tc, test_report_thread);
        tcase_add_test(tc, test_owners);
        tcase_add_test(tc, test_clear_while_waiting);
        tcase_set_timeout(tc, 30);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr;
        int failed;

        if (access("/usr/bin/dbus-daemon", X_OK) < 0) {
                fprintf(stderr, "test-executor: no dbus-daemon, skipped\n");
                return 77;
        }
        sr = srunner_create(make_suite());
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
