/* SPDX-License-Identifier: MIT */
/* The planner: refusals and routes for hostile cgroup layouts. Delegation
 * comes from a fake tree in a temp dir (trusted.* xattrs need root and a
 * file system that keeps them; those cases skip with a message otherwise);
 * systemd's answer is stubbed as a UnitState. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "macro.h"
#include "planner.h"
#include "test-main.h"

static char tmpdir[] = "/tmp/test-planner-XXXXXX";
static int root_fd = -1;
static bool have_trusted;

/* A chain of fake cgroups for path ("/a/b/c"); returns the leaf, kind for it. */
static Cgroup *chain(const char *path, CgroupKind kind)
{
        Cgroup *parent = calloc(1, sizeof(Cgroup) + 1);
        char buf[PATH_MAX];

        parent->kind = CGROUP_KIND_ROOT;
        snprintf(buf, sizeof(buf), "%s", path);
        for (char *tok = strtok(buf, "/"); tok; tok = strtok(NULL, "/")) {
                size_t len = strlen(tok);
                Cgroup *c = calloc(1, sizeof(Cgroup) + len + 1);
                memcpy(c->name, tok, len + 1);
                c->name_len = (uint16_t)len;
                c->parent = parent;
                c->kind = CGROUP_KIND_OTHER;
                parent = c;
        }
        parent->kind = kind;
        return parent;
}

static void chain_free(Cgroup *c)
{
        while (c) {
                Cgroup *p = c->parent;
                free(c);
                c = p;
        }
}

static void mkdirs(const char *path)
{
        char buf[PATH_MAX];

        snprintf(buf, sizeof(buf), "%s", path + 1);
        for (char *p = buf;; p++) {
                if (*p == '/' || *p == '\0') {
                        char c = *p;
                        *p = '\0';
                        (void)mkdirat(root_fd, buf, 0755);
                        *p = c;
                        if (!c)
                                break;
                }
        }
}

static int mark(const char *path, const char *xattr, const char *value)
{
        char full[PATH_MAX];

        snprintf(full, sizeof(full), "%s%s", tmpdir, path);
        return setxattr(full, xattr, value, strlen(value), 0);
}

static void setup(void)
{
        ck_assert_ptr_nonnull(mkdtemp(tmpdir));
        root_fd = open(tmpdir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        ck_assert_int_ge(root_fd, 0);
        mkdirs("/probe");
        have_trusted = mark("/probe", "trusted.delegate", "1") == 0;
        if (!have_trusted)
                fprintf(stderr,
                        "test-planner: cannot set trusted.* xattrs here (%s); "
                        "the trusted.delegate cases are skipped\n",
                        strerror(errno));
}

static void teardown(void)
{
        char cmd[PATH_MAX + 16];

        close(root_fd);
        snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
        ck_assert_int_eq(system(cmd), 0);
}

#define SCOPE "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice/cri-containerd-X.scope"
#define OWN   "/system.slice/memwardend.service"

typedef struct Layout {
        const char *path;
        CgroupKind kind;
        const char *delegate_at; /* trusted.delegate=1 here, or NULL */
        bool needs_trusted;
        UnitState unit; /* what the stubbed systemd answers */
        ActionType action;
        PlanRoute want;
} Layout;

static const Layout layouts[] = {
        /* A container naming its child after the host's kubelet: its scope is delegated. */
        { SCOPE "/kubelet.service", CGROUP_KIND_SERVICE, SCOPE, true, UNIT_STATE_CONFIRMED, ACTION_KILL,
          PLAN_ROUTE_CGROUPFS },
        { SCOPE "/kubelet.service", CGROUP_KIND_SERVICE, SCOPE, true, UNIT_STATE_UNKNOWN, ACTION_FREEZE,
          PLAN_ROUTE_CGROUPFS },
        { SCOPE "/kubelet.service", CGROUP_KIND_SERVICE, SCOPE, true, UNIT_STATE_CONFIRMED, ACTION_THROTTLE,
          PLAN_ROUTE_CGROUPFS },
        { SCOPE "/kubelet.service", CGROUP_KIND_SERVICE, SCOPE, true, UNIT_STATE_CONFIRMED, ACTION_RESTART,
          PLAN_ROUTE_REFUSED },
        /* The scope itself is systemd's unit (only strict ancestors delegate). */
        { SCOPE, CGROUP_KIND_CONTAINER, SCOPE, true, UNIT_STATE_CONFIRMED, ACTION_KILL, PLAN_ROUTE_UNIT },
        /* A user's delegated manager: by name, no xattr needed. */
        { "/user.slice/user-1000.slice/user@1000.service/web-1.service", CGROUP_KIND_SERVICE, NULL, false,
          UNIT_STATE_CONFIRMED, ACTION_THROTTLE, PLAN_ROUTE_CGROUPFS },
        { "/user.slice/user-1000.slice/user@1000.service/web-1.service", CGROUP_KIND_SERVICE, NULL, false,
          UNIT_STATE_UNKNOWN, ACTION_RESTART, PLAN_ROUTE_REFUSED },
        { "/user.slice/user-1000.slice/user@1000.service/app.slice/x.scope", CGROUP_KIND_SCOPE, NULL, false,
          UNIT_STATE_UNKNOWN, ACTION_KILL, PLAN_ROUTE_CGROUPFS },
        /* A real system service, confirmed by systemd. */
        { "/system.slice/web-1.service", CGROUP_KIND_SERVICE, NULL, false, UNIT_STATE_CONFIRMED,
          ACTION_THROTTLE, PLAN_ROUTE_UNIT },
        { "/system.slice/web-1.service", CGROUP_KIND_SERVICE, NULL, false, UNIT_STATE_CONFIRMED,
          ACTION_RESTART, PLAN_ROUTE_UNIT },
        { "/system.slice/web-1.service", CGROUP_KIND_SERVICE, NULL, false, UNIT_STATE_CONFIRMED, ACTION_KILL,
          PLAN_ROUTE_UNIT },
        /* Not yet asked: ask first. */
        { "/system.slice/web-1.service", CGROUP_KIND_SERVICE, NULL, false, UNIT_STATE_UNKNOWN, ACTION_KILL,
          PLAN_ROUTE_RESOLVE },
        /* systemd denies it (a plain directory that looks like a unit). */
        { "/system.slice/web-1.service/fake.service", CGROUP_KIND_SERVICE, NULL, false,
          UNIT_STATE_NOT_A_UNIT, ACTION_KILL, PLAN_ROUTE_CGROUPFS },
        { "/system.slice/web-1.service/fake.service", CGROUP_KIND_SERVICE, NULL, false,
          UNIT_STATE_NOT_A_UNIT, ACTION_STOP, PLAN_ROUTE_REFUSED },
        /* No bus: nothing confirmed, the files only; restart cannot be done. */
        { "/system.slice/db.service", CGROUP_KIND_SERVICE, NULL, false, UNIT_STATE_UNREACHABLE,
          ACTION_FREEZE, PLAN_ROUTE_CGROUPFS },
        { "/system.slice/db.service", CGROUP_KIND_SERVICE, NULL, false, UNIT_STATE_UNREACHABLE,
          ACTION_RESTART, PLAN_ROUTE_FAILED },
        /* Plain cgroups never ask systemd. */
        { "/kubepods/burstable/pod1/ctr", CGROUP_KIND_CONTAINER, NULL, false, UNIT_STATE_UNKNOWN,
          ACTION_KILL, PLAN_ROUTE_CGROUPFS },
        /* Slices die by cgroup.kill even when confirmed. */
        { "/system.slice/x.slice", CGROUP_KIND_SLICE, NULL, false, UNIT_STATE_CONFIRMED, ACTION_KILL,
          PLAN_ROUTE_CGROUPFS },
        /* memwarden itself and what holds it. */
        { OWN, CGROUP_KIND_SERVICE, NULL, false, UNIT_STATE_CONFIRMED, ACTION_THROTTLE, PLAN_ROUTE_REFUSED },
        { "/system.slice", CGROUP_KIND_SLICE, NULL, false, UNIT_STATE_CONFIRMED, ACTION_KILL,
          PLAN_ROUTE_REFUSED },
        /* Looking is always allowed. */
        { OWN, CGROUP_KIND_SERVICE, NULL, false, UNIT_STATE_UNKNOWN, ACTION_REPORT, PLAN_ROUTE_NONE },
};

START_TEST(test_layouts)
{
        const PlanContext ctx = { .own_cgroup = OWN };

        for (size_t i = 0; i < ELEMENTSOF(layouts); i++) {
                const Layout *l = &layouts[i];
                Cgroup *c = chain(l->path, l->kind);
                char path[PATH_MAX], by[PATH_MAX] = "";
                PlanIntent in;
                int d;

                if (l->needs_trusted && !have_trusted) {
                        chain_free(c);
                        continue;
                }
                mkdirs(l->path);
                if (l->delegate_at)
                        ck_assert_int_eq(mark(l->delegate_at, "trusted.delegate", "1"), 0);
                ck_assert_int_eq(cgroup_path(c, path, sizeof(path)), 0);
                ck_assert_str_eq(path, l->path);
                d = plan_delegated(root_fd, path, by, sizeof(by));
                ck_assert_int_ge(d, 0);
                plan_step(&ctx,
                          &(PlanInput){ .action = l->action,
                                        .cgroup = c,
                                        .path = path,
                                        .delegated = d > 0,
                                        .unit = l->unit },
                          &in);
                ck_assert_msg(in.route == l->want, "row %zu %s %s: route %s, want %s (%s)", i, l->path,
                              action_type_to_string(l->action), plan_route_to_string(in.route),
                              plan_route_to_string(l->want), in.why ? in.why : "-");
                ck_assert(in.route != PLAN_ROUTE_REFUSED || in.why);
                chain_free(c);
        }
}
END_TEST

START_TEST(test_delegation)
{
        char by[PATH_MAX];

        mkdirs("/user.slice/user-1000.slice/user@1000.service/a/b");
        ck_assert_int_eq(
                plan_delegated(root_fd, "/user.slice/user-1000.slice/user@1000.service/a/b", by, sizeof(by)),
                1);
        ck_assert_str_eq(by, "/user.slice/user-1000.slice/user@1000.service");
        /* The manager's own cgroup is not inside itself. */
        ck_assert_int_eq(plan_delegated(root_fd, "/user.slice/user-1000.slice/user@1000.service", NULL, 0),
                         0);
        mkdirs("/x/user@.service/y");
        mkdirs("/x/user@1a.service/y");
        ck_assert_int_eq(plan_delegated(root_fd, "/x/user@.service/y", NULL, 0), 0);
        ck_assert_int_eq(plan_delegated(root_fd, "/x/user@1a.service/y", NULL, 0), 0);
        mkdirs("/u/v/w");
        ck_assert_int_eq(mark("/u", "user.delegate", "1"), 0);
        ck_assert_int_eq(plan_delegated(root_fd, "/u/v/w", by, sizeof(by)), 1);
        ck_assert_str_eq(by, "/u");
        mkdirs("/z/y");
        ck_assert_int_eq(mark("/z", "user.delegate", "0"), 0);
        ck_assert_int_eq(plan_delegated(root_fd, "/z/y", NULL, 0), 0);
        ck_assert_int_eq(plan_delegated(root_fd, "/", NULL, 0), 0);
        ck_assert_int_eq(plan_delegated(root_fd, "/top", NULL, 0), 0);
        /* An ancestor that cannot be read: an error (the caller then assumes delegation). */
        ck_assert_int_eq(plan_delegated(root_fd, "/gone/child", NULL, 0), -ENOENT);
        if (!have_trusted) {
                fprintf(stderr, "test-planner: trusted.delegate case skipped\n");
                return;
        }
        mkdirs("/t/c");
        ck_assert_int_eq(mark("/t", "trusted.delegate", "1"), 0);
        ck_assert_int_eq(plan_delegated(root_fd, "/t/c", NULL, 0), 1);
}
END_TEST

START_TEST(test_confirmation)
{
        /* GetUnitByControlGroup answers with the unit that contains the path. */
        ck_assert(plan_unit_confirmed("/system.slice/web-1.service", "web-1.service", "web-1.service",
                                      "/system.slice/web-1.service"));
        ck_assert(!plan_unit_confirmed("/system.slice/web-1.service/kubelet.service", "kubelet.service",
                                       "web-1.service", "/system.slice/web-1.service"));
        ck_assert(!plan_unit_confirmed("/a/kubelet.service", "kubelet.service", "kubelet.service",
                                       "/system.slice/kubelet.service"));
        ck_assert(!plan_unit_confirmed("/x.service", "x.service", NULL, "/x.service"));
        ck_assert_str_eq(plan_unit_interface("a.service"), "org.freedesktop.systemd1.Service");
        ck_assert_str_eq(plan_unit_interface("a.scope"), "org.freedesktop.systemd1.Scope");
        ck_assert_str_eq(plan_unit_interface("a.slice"), "org.freedesktop.systemd1.Slice");
        ck_assert_ptr_null(plan_unit_interface(".service"));
        ck_assert_ptr_null(plan_unit_interface("a.mount"));
}
END_TEST

/* explain's route, in words: unit names only through systemd, never in a
 * delegated subtree; a pod's kill takes its application containers. */
START_TEST(test_route_describe)
{
        Cgroup *svc = chain("/system.slice/web-1.service", CGROUP_KIND_SERVICE);
        Cgroup *other = chain("/plain/job", CGROUP_KIND_OTHER);
        Cgroup *pod = chain("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice",
                            CGROUP_KIND_POD);
        Cgroup *evil = chain("/x/a\x1b[2J.service", CGROUP_KIND_SERVICE);
        char buf[512];

        plan_route_describe(svc, true, false, UNIT_STATE_CONFIRMED, buf, sizeof(buf));
        ck_assert_str_eq(buf,
                         "systemd: the unit web-1.service (confirmed: its ControlGroup is this cgroup)");
        plan_route_describe(svc, true, false, UNIT_STATE_UNKNOWN, buf, sizeof(buf));
        ck_assert_ptr_nonnull(strstr(buf, "asked at the first step: the unit web-1.service"));
        plan_route_describe(svc, true, false, UNIT_STATE_NOT_A_UNIT, buf, sizeof(buf));
        ck_assert_ptr_nonnull(strstr(buf, "the cgroup's files (systemd names another unit"));
        plan_route_describe(svc, true, true, UNIT_STATE_CONFIRMED, buf, sizeof(buf));
        ck_assert_ptr_nonnull(strstr(buf, "delegated subtree: never a unit"));
        plan_route_describe(svc, false, false, UNIT_STATE_UNKNOWN, buf, sizeof(buf));
        ck_assert_ptr_nonnull(strstr(buf, "no system bus"));
        plan_route_describe(other, true, false, UNIT_STATE_UNKNOWN, buf, sizeof(buf));
        ck_assert_str_eq(buf, "the cgroup's files (not a systemd unit's name)");
        plan_route_describe(pod, true, false, UNIT_STATE_UNKNOWN, buf, sizeof(buf));
        ck_assert_ptr_nonnull(strstr(buf, "; kill: each of its application containers, never its sandbox"));
        /* Bounded, whatever the name (escaping is the JSON writer's). */
        plan_route_describe(evil, true, false, UNIT_STATE_UNKNOWN, buf, 16);
        ck_assert_uint_eq(strlen(buf), 15);
        chain_free(svc);
        chain_free(other);
        chain_free(pod);
        chain_free(evil);
}
END_TEST

START_TEST(test_fallback)
{
        ck_assert(plan_unit_fallback(ACTION_KILL, false, true));
        ck_assert(plan_unit_fallback(ACTION_KILL, true, true));
        ck_assert(plan_unit_fallback(ACTION_FREEZE, false, true));
        ck_assert(!plan_unit_fallback(ACTION_FREEZE, true, true));
        ck_assert(plan_unit_fallback(ACTION_THROTTLE, false, true));
        ck_assert(!plan_unit_fallback(ACTION_RESTART, false, true));
        ck_assert(!plan_unit_fallback(ACTION_STOP, false, true));
        ck_assert(!plan_unit_fallback(ACTION_KILL, false, false));
}
END_TEST

START_TEST(test_long_path)
{
        const PlanContext ctx = { .own_cgroup = "" };
        Cgroup *c = chain("/a/b", CGROUP_KIND_OTHER);
        PlanIntent in;

        plan_step(&ctx, &(PlanInput){ .action = ACTION_KILL, .cgroup = c, .path_error = -ENAMETOOLONG },
                  &in);
        ck_assert_int_eq(in.route, PLAN_ROUTE_FAILED);
        ck_assert_int_eq(in.error, -ENAMETOOLONG);
        ck_assert_ptr_nonnull(in.why);
        plan_step(&ctx, &(PlanInput){ .action = ACTION_NOTIFY, .cgroup = c }, &in);
        ck_assert_int_eq(in.route, PLAN_ROUTE_NONE);
        chain_free(c);
}
END_TEST

START_TEST(test_own_ancestors)
{
        const PlanContext ctx = { .own_cgroup = "/a.slice/b.slice/mw.service" };
        Cgroup *b = chain("/a.slice/b.slice", CGROUP_KIND_SLICE);
        Cgroup *b2 = chain("/a.slice/b.slice2", CGROUP_KIND_SLICE);
        Cgroup *me = chain("/a.slice/b.slice/mw.service", CGROUP_KIND_SERVICE);
        static const ActionType disruptive[] = { ACTION_KILL, ACTION_FREEZE, ACTION_RESTART, ACTION_STOP };

        for (size_t i = 0; i < ELEMENTSOF(disruptive); i++) {
                ck_assert_ptr_nonnull(plan_refusal(&ctx, disruptive[i], true, b, "/a.slice/b.slice"));
                ck_assert_ptr_nonnull(plan_refusal(&ctx, disruptive[i], true, b->parent, "/a.slice"));
                ck_assert_ptr_nonnull(
                        plan_refusal(&ctx, disruptive[i], true, me, "/a.slice/b.slice/mw.service"));
                ck_assert_ptr_null(plan_refusal(&ctx, disruptive[i], false, b2, "/a.slice/b.slice2"));
        }
        /* No throttle of what holds memwarden either: its memory.high would slow memwarden. */
        ck_assert_ptr_nonnull(plan_refusal(&ctx, ACTION_THROTTLE, false, b, "/a.slice/b.slice"));
        ck_assert_ptr_nonnull(plan_refusal(&ctx, ACTION_THROTTLE, true, me, "/a.slice/b.slice/mw.service"));
        ck_assert_ptr_null(plan_refusal(&ctx, ACTION_THROTTLE, false, b2, "/a.slice/b.slice2"));
        chain_free(b);
        chain_free(b2);
        chain_free(me);
}
END_TEST

/* Own cgroup unknown (a cgroup namespace without --own-cgroup or the pod UID):
 * the executor searches the target's subtree for memwarden's PID just before
 * acting, and the planner refuses where it was found or could not be searched. */
START_TEST(test_own_unknown)
{
        const PlanContext unknown = { .own_cgroup = "" }, known = { .own_cgroup = "/x.slice/mw.service" };
        Cgroup *c = chain("/a.slice/b.service", CGROUP_KIND_SERVICE);
        static const struct {
                ActionType action;
                int holds_self;
                bool refused;
        } t[] = {
                { ACTION_KILL, 1, true },         { ACTION_KILL, 0, false },
                { ACTION_KILL, -E2BIG, true },    { ACTION_FREEZE, 1, true },
                { ACTION_THROTTLE, 1, true },     { ACTION_THROTTLE, -EIO, true },
                { ACTION_RESTART, -E2BIG, true }, { ACTION_NOTIFY, 1, false },
                { ACTION_REPORT, -E2BIG, false },
        };
        PlanIntent in;

        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                plan_step(&unknown,
                          &(PlanInput){ .action = t[i].action,
                                        .cgroup = c,
                                        .path = "/a.slice/b.service",
                                        .holds_self = t[i].holds_self },
                          &in);
                ck_assert_msg((in.route == PLAN_ROUTE_REFUSED) == t[i].refused, "row %zu", i);
        }
        /* With the own cgroup known the search is not made, and its answer not used. */
        plan_step(&known,
                  &(PlanInput){ .action = ACTION_KILL,
                                .cgroup = c,
                                .path = "/a.slice/b.service",
                                .holds_self = -E2BIG },
                  &in);
        ck_assert_int_ne(in.route, PLAN_ROUTE_REFUSED);
        chain_free(c);
}
END_TEST

START_TEST(test_all_refused)
{
        const PlanContext ctx = { .own_cgroup = OWN }, none = { .own_cgroup = "" };
        Cgroup *holder = chain("/system.slice/x.slice", CGROUP_KIND_SLICE);
        Cgroup *me = chain(OWN, CGROUP_KIND_SERVICE);
        Policy p = { .n_actions = 1 }, q = { .n_actions = 2 };

        p.actions[0].type = ACTION_KILL;
        q.actions[0].type = ACTION_KILL;
        q.actions[1].type = ACTION_NOTIFY;
        /* Holds memwarden only when memwarden is in it. */
        ck_assert(!plan_all_refused(&ctx, &p, holder));
        ck_assert(plan_all_refused(&ctx, &p, me->parent)); /* system.slice: protected and holds us */
        ck_assert(plan_all_refused(&ctx, &p, me));
        ck_assert(!plan_all_refused(&none, &p, me));
        ck_assert(!plan_all_refused(&ctx, &q, me)); /* notify may look */
        chain_free(holder);
        chain_free(me);
}
END_TEST

static Suite *make_suite(void)
{
        Suite *s = suite_create("planner");
        TCase *tc = tcase_create("core");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_layouts);
        tcase_add_test(tc, test_delegation);
        tcase_add_test(tc, test_confirmation);
        tcase_add_test(tc, test_route_describe);
        tcase_add_test(tc, test_fallback);
        tcase_add_test(tc, test_long_path);
        tcase_add_test(tc, test_own_ancestors);
        tcase_add_test(tc, test_own_unknown);
        tcase_add_test(tc, test_all_refused);
        suite_add_tcase(s, tc);
        return s;
}

MW_TEST_MAIN(make_suite)
