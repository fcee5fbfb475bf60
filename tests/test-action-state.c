/* SPDX-License-Identifier: MIT */
/* The executor's memory on a synthetic clock: the throttle state machine,
 * the frozen and job tables, systemd's answers per cgroup, the result
 * cookies; and the text that hostile names turn into (UTF-8 for D-Bus,
 * report file names), and report pruning in a temp dir. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "action-state.h"
#include "macro.h"
#include "report.h"
#include "test-main.h"
#include "json.h"

#define MiB (1024ULL * 1024)
#define SEC USEC_PER_SEC

static Cgroup *fake(const char *name, uint32_t slot, uint32_t serial)
{
        Cgroup *root = calloc(1, sizeof(Cgroup) + 1), *c;
        size_t len = strlen(name);

        root->kind = CGROUP_KIND_ROOT;
        c = calloc(1, sizeof(Cgroup) + len + 1);
        memcpy(c->name, name, len + 1);
        c->name_len = (uint16_t)len;
        c->parent = root;
        c->slot = slot;
        c->serial = serial;
        c->high = UINT64_MAX;
        return c;
}

static void fake_free(Cgroup *c)
{
        free(c->parent);
        free(c);
}

static ActionTarget *target_ns(const Cgroup *c, const char *policy, const char *ns)
{
        static ActionTarget t;
        Policy p = { .name = (char *)policy, .scope_namespace = (char *)ns };

        action_target_init(&t, c, &p);
        return &t;
}

static ActionTarget *target(const Cgroup *c, const char *policy)
{
        return target_ns(c, policy, NULL);
}

/* Who may do what to another policy's entry: (policy, namespace) names an
 * owner, and the admin ("" namespace) outranks every namespace. */
START_TEST(test_owner_rules)
{
        static const struct {
                const char *owner, *owner_ns, *policy, *ns;
                ActionJoin join;
                bool undo;
        } rows[] = {
                { "p", NULL, "p", NULL, ACTION_JOIN_OWN, true },
                { "p", "team", "p", "team", ACTION_JOIN_OWN, true },
                /* A namespace reusing the admin's name is not the admin. */
                { "p", NULL, "p", "team", ACTION_JOIN_GUEST, false },
                { "p", NULL, "q", "team", ACTION_JOIN_GUEST, false },
                { "p", "team", "p", NULL, ACTION_JOIN_TAKE, false },
                { "p", "team", "q", NULL, ACTION_JOIN_TAKE, false },
                { "p", "team", "p", "other", ACTION_JOIN_GUEST, false },
                { "p", "team", "q", "team", ACTION_JOIN_GUEST, false },
                { "p", NULL, "q", NULL, ACTION_JOIN_GUEST, false },
        };
        Cgroup *c = fake("pod", 3, 7);

        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                ActionTarget owner = *target_ns(c, rows[i].owner, rows[i].owner_ns);
                const ActionTarget *t = target_ns(c, rows[i].policy, rows[i].ns);
                ck_assert_msg(action_join(&owner, t) == rows[i].join, "row %zu", i);
                ck_assert_msg(action_may_undo(&owner, t) == rows[i].undo, "row %zu", i);
        }
        fake_free(c);
}
END_TEST

/* A second policy on a throttled cgroup: the lower memory.high wins, what
 * another owner set is never raised, the admin takes a namespace's entry. */
START_TEST(test_throttle_join)
{
        static ThrottleTable tt;
        Cgroup *c = fake("pod", 3, 7);
        Action admin = {
                .type = ACTION_THROTTLE, .floor_bytes = 100 * MiB, .step_bp = 1000, .interval_usec = 10 * SEC
        };
        Action high_floor = admin, low_floor = admin;
        ActionTarget a = *target(c, "p"), n = *target_ns(c, "p", "team");
        uint64_t now = 1000 * SEC, v;
        Throttle *th;

        high_floor.floor_bytes = 750 * MiB, high_floor.interval_usec = 1000 * SEC;
        low_floor.floor_bytes = 10 * MiB;

        /* Admin owns it; a namespace with a high floor changes nothing of it. */
        th = throttle_new(&tt, &a, &admin, 800 * MiB, now);
        ck_assert_uint_ne(throttle_begin_step(th, 800 * MiB, now), UINT64_MAX);
        ck_assert_int_eq(throttle_complete(th, 0), THROTTLE_NEXT_WAIT);
        ck_assert_uint_eq(throttle_join(th, &n, &high_floor, 800 * MiB, now), UINT64_MAX);
        ck_assert_uint_eq(th->floor, 100 * MiB);
        ck_assert_uint_eq(th->interval_usec, 10 * SEC);
        ck_assert(action_owner_same(&th->t, &a));
        /* nor its phase, nor may it give it back */
        ck_assert(!throttle_set_phase(th, &n, POLICY_CLEARING, now));
        ck_assert_int_eq(th->phase, POLICY_FIRING);
        ck_assert(!action_may_undo(&th->t, &n));

        /* A namespace's lower step does lower it, once, and keeps the owner. */
        v = throttle_join(th, &n, &low_floor, 800 * MiB, now);
        ck_assert_uint_lt(v, th->current);
        ck_assert_int_eq(throttle_complete(th, 0), THROTTLE_NEXT_WAIT);
        ck_assert_uint_eq(th->floor, 100 * MiB);
        ck_assert(action_owner_same(&th->t, &a));
        th->used = false;

        /* A namespace owns it; the admin takes it over with its own parameters. */
        th = throttle_new(&tt, &n, &high_floor, 800 * MiB, now);
        ck_assert_uint_ne(throttle_begin_step(th, 800 * MiB, now), UINT64_MAX);
        ck_assert_int_eq(throttle_complete(th, 0), THROTTLE_NEXT_WAIT);
        v = throttle_join(th, &a, &admin, 800 * MiB, now);
        ck_assert_uint_lt(v, th->current);
        ck_assert(action_owner_same(&th->t, &a));
        ck_assert_uint_eq(th->floor, 100 * MiB);
        ck_assert_int_eq(throttle_complete(th, 0), THROTTLE_NEXT_WAIT);
        ck_assert(!action_may_undo(&th->t, &n));

        /* The owner re-parameterising with a floor above the limit holds, never raises. */
        v = th->current;
        ck_assert_uint_eq(throttle_join(th, &a, &high_floor, 800 * MiB, now), UINT64_MAX);
        ck_assert_uint_eq(th->current, v);
        fake_free(c);
}
END_TEST

START_TEST(test_dry_run_rule)
{
        for (ActionType t = 0; t < _ACTION_TYPE_MAX; t++) {
                Action a = { .type = t, .dry_run = true };
                bool stops =
                        t == ACTION_FREEZE || t == ACTION_KILL || t == ACTION_RESTART || t == ACTION_STOP;
                ck_assert(action_dry_run_stops(&a) == stops);
                a.dry_run = false;
                ck_assert(!action_dry_run_stops(&a));
        }
}
END_TEST

START_TEST(test_throttle_machine)
{
        static ThrottleTable tt;
        Cgroup *c = fake("web.service", 3, 7);
        Action a = {
                .type = ACTION_THROTTLE, .floor_bytes = 100 * MiB, .step_bp = 1000, .interval_usec = 10 * SEC
        };
        uint64_t now = 1000 * SEC, v;
        Throttle *th;

        memset(&tt, 0, sizeof(tt));
        th = throttle_new(&tt, target(c, "p"), &a, UINT64_MAX, now);
        ck_assert_ptr_nonnull(th);
        ck_assert_ptr_eq(throttle_find(&tt, target(c, "p")), th);
        ck_assert_str_eq(th->t.path, "/web.service");
        /* First step: 10% below usage. */
        v = throttle_begin_step(th, 1000 * MiB, now);
        ck_assert_uint_eq(v, (900 * MiB) & ~4095ULL);
        ck_assert(th->in_flight);
        ck_assert(!throttle_due(th, now + 20 * SEC)); /* in flight: never due */
        ck_assert_uint_eq(throttle_begin_step(th, 1000 * MiB, now), UINT64_MAX);
        ck_assert_int_eq(throttle_complete(th, 0), THROTTLE_NEXT_WAIT);
        ck_assert_uint_eq(th->current, v);
        ck_assert_uint_eq(throttle_next_usec(&tt), now + 10 * SEC);
        ck_assert(!throttle_due(th, now + 9 * SEC));
        ck_assert(throttle_due(th, now + 10 * SEC));
        /* Down to the floor, then it holds (no more steps due). */
        for (int i = 0; i < 40 && th->next_usec; i++) {
                now += 10 * SEC;
                if (throttle_begin_step(th, UINT64_MAX, now) != UINT64_MAX)
                        ck_assert_int_eq(throttle_complete(th, 0), THROTTLE_NEXT_WAIT);
        }
        ck_assert_uint_eq(th->current, 100 * MiB);
        ck_assert_uint_eq(th->next_usec, 0);
        ck_assert_uint_eq(throttle_next_usec(&tt), 0);
        /* Cleared: the original back, then the entry is free. */
        ck_assert(throttle_begin_restore(th));
        ck_assert_uint_eq(th->want, UINT64_MAX);
        ck_assert_int_eq(throttle_complete(th, 0), THROTTLE_NEXT_FORGET);
        ck_assert(!th->used);
        ck_assert_uint_eq(throttle_count(&tt), 0);
        fake_free(c);
}
END_TEST

START_TEST(test_throttle_races)
{
        static ThrottleTable tt;
        Cgroup *c = fake("db.service", 4, 1);
        Action a = { .type = ACTION_THROTTLE, .floor_bytes = 0, .step_bp = 5000, .interval_usec = SEC };
        uint64_t now = 50 * SEC;
        Throttle *th;

        memset(&tt, 0, sizeof(tt));
        /* The policy clears while the first step is in flight: the give-back follows it. */
        th = throttle_new(&tt, target(c, "p"), &a, 800 * MiB, now);
        ck_assert_uint_ne(throttle_begin_step(th, 400 * MiB, now), UINT64_MAX);
        ck_assert(!throttle_begin_restore(th));
        ck_assert(th->restore_pending);
        ck_assert_int_eq(throttle_complete(th, 0), THROTTLE_NEXT_RESTORE);
        ck_assert(th->in_flight && th->restoring);
        ck_assert_uint_eq(th->want, 800 * MiB);
        ck_assert_int_eq(throttle_complete(th, 0), THROTTLE_NEXT_FORGET);

        /* A first step that fails leaves nothing to give back. */
        th = throttle_new(&tt, target(c, "p"), &a, 800 * MiB, now);
        ck_assert_uint_ne(throttle_begin_step(th, 400 * MiB, now), UINT64_MAX);
        ck_assert_int_eq(throttle_complete(th, -EACCES), THROTTLE_NEXT_FORGET);
        ck_assert_uint_eq(throttle_count(&tt), 0);

        /* Not firing: no step comes due until it fires again, one interval later. */
        th = throttle_new(&tt, target(c, "p"), &a, 800 * MiB, now);
        ck_assert_uint_ne(throttle_begin_step(th, 400 * MiB, now), UINT64_MAX);
        ck_assert_int_eq(throttle_complete(th, 0), THROTTLE_NEXT_WAIT);
        ck_assert(throttle_set_phase(th, target(c, "p"), POLICY_CLEARING, now));
        ck_assert_int_eq(th->phase, POLICY_CLEARING);
        ck_assert(!throttle_tick(th, now));
        ck_assert_uint_eq(th->next_usec, now + a.interval_usec); /* held */
        th->next_usec = 0;                                       /* held at the floor, say */
        ck_assert(throttle_set_phase(th, target(c, "p"), POLICY_FIRING, now + 5 * SEC));
        ck_assert(throttle_tick(th, now + 5 * SEC));
        ck_assert_uint_eq(th->next_usec, now + 6 * SEC);

        /* The table is bounded. */
        memset(&tt, 0, sizeof(tt));
        for (int i = 0; i < THROTTLE_MAX; i++) {
                Cgroup *k = fake("x", (uint32_t)i + 10, 1);
                ck_assert_ptr_nonnull(throttle_new(&tt, target(k, "p"), &a, UINT64_MAX, now));
                fake_free(k);
        }
        ck_assert_ptr_null(throttle_new(&tt, target(c, "p"), &a, UINT64_MAX, now));
        fake_free(c);
}
END_TEST

START_TEST(test_tables)
{
        static ActionTables at;
        Cgroup *c = fake("a.scope", 1, 1), *d = fake("a.scope", 1, 2); /* same slot, a new cgroup */
        Job j;

        memset(&at, 0, sizeof(at));
        ck_assert_ptr_nonnull(frozen_new(&at, target(c, "p")));
        ck_assert_ptr_nonnull(frozen_find(&at, target(c, "p")));
        ck_assert_ptr_null(frozen_find(&at, target(d, "p")));
        for (int i = 1; i < FROZEN_MAX; i++)
                ck_assert_ptr_nonnull(frozen_new(&at, target(d, "p")));
        ck_assert_ptr_null(frozen_new(&at, target(d, "p")));
        ck_assert_uint_eq(frozen_count(&at), FROZEN_MAX);

        for (int i = 0; i < JOBS_MAX + 3; i++) {
                char name[64];
                snprintf(name, sizeof(name), "/org/freedesktop/systemd1/job/%d", i);
                ck_assert_ptr_nonnull(job_add(&at, ACTION_RESTART, target(c, "p"), name, (uint64_t)i));
        }
        ck_assert_uint_eq(job_count(&at), JOBS_MAX);
        /* The oldest made room. */
        ck_assert(!job_take(&at, "/org/freedesktop/systemd1/job/0", &j));
        ck_assert(job_take(&at, "/org/freedesktop/systemd1/job/5", &j));
        ck_assert_int_eq(j.action, ACTION_RESTART);
        ck_assert(!job_take(&at, "/org/freedesktop/systemd1/job/5", &j));
        fake_free(c);
        fake_free(d);
}
END_TEST

START_TEST(test_unit_cache)
{
        static UnitCache uc;
        Cgroup *c = fake("web.service", 9, 1), *again = fake("web.service", 9, 2);

        memset(&uc, 0, sizeof(uc));
        ck_assert_int_eq(unit_cache_get(&uc, c, 1), UNIT_STATE_UNKNOWN);
        ck_assert(unit_cache_begin(&uc, c, 1));
        ck_assert(!unit_cache_begin(&uc, c, 2)); /* one question at a time */
        /* ... unless the answer never came. */
        ck_assert(unit_cache_begin(&uc, c, 1 + UNIT_CACHE_PENDING_USEC));
        ck_assert_int_eq(unit_cache_get(&uc, c, 2), UNIT_STATE_UNKNOWN);
        unit_cache_set(&uc, c, 9, 1, UNIT_STATE_CONFIRMED, 3);
        ck_assert_int_eq(unit_cache_get(&uc, c, 4), UNIT_STATE_CONFIRMED);
        /* The same slot reused: another cgroup, nothing known. */
        ck_assert_int_eq(unit_cache_get(&uc, again, 4), UNIT_STATE_UNKNOWN);
        /* An answer for a cgroup gone meanwhile is dropped. */
        unit_cache_set(&uc, again, 9, 2, UNIT_STATE_CONFIRMED, 5);
        ck_assert_int_eq(unit_cache_get(&uc, again, 5), UNIT_STATE_UNKNOWN);
        /* No answer is not kept. */
        ck_assert(unit_cache_begin(&uc, again, 6));
        unit_cache_set(&uc, again, 9, 2, UNIT_STATE_UNREACHABLE, 6);
        ck_assert_int_eq(unit_cache_get(&uc, again, 6), UNIT_STATE_UNKNOWN);
        unit_cache_drop(&uc, c);
        ck_assert_int_eq(unit_cache_get(&uc, c, 7), UNIT_STATE_UNKNOWN);
        fake_free(c);
        fake_free(again);
}
END_TEST

START_TEST(test_cookies)
{
        static ActionTarget t, back;
        char buf[PATH_MAX + 400];
        Cgroup *c = fake("evil\tname\nwith\x01tabs", 1, 1);
        Policy p = { .name = "pol", .scope_namespace = "team-a" };

        action_target_init(&t, c, &p);
        ck_assert_int_eq(action_cookie_format(&t, buf, sizeof(buf)), 0);
        ck_assert_int_eq(action_cookie_parse(buf, &back), 0);
        ck_assert_str_eq(back.policy, "pol");
        ck_assert_str_eq(back.ns, "team-a");
        ck_assert_str_eq(back.path, "/evil\tname\nwith\x01tabs"); /* tabs in the path are the path's */
        /* slot and serial: the late outcome finds its cgroup (select moves on). */
        ck_assert_uint_eq(back.slot, 1);
        ck_assert_uint_eq(back.serial, 1);
        ck_assert_ptr_null(back.cgroup);
        c->slot = UINT32_MAX - 1, c->serial = UINT32_MAX;
        action_target_init(&t, c, &p);
        ck_assert_int_eq(action_cookie_format(&t, buf, sizeof(buf)), 0);
        ck_assert_int_eq(action_cookie_parse(buf, &back), 0);
        ck_assert_uint_eq(back.slot, UINT32_MAX - 1);
        ck_assert_uint_eq(back.serial, UINT32_MAX);
        ck_assert_int_eq(action_cookie_format(&t, buf, 10), -ENOBUFS);
        static const char *bad[] = {
                "no tabs",
                "one\ttab",
                "p\tns\t/path", /* the old format */
                "p\tns\t1\t/path",
                "p\tns\t\t1\t/p",
                "p\tns\t1\t\t/p",
                "p\tns\t-1\t1\t/p",
                "p\tns\t 1\t1\t/p",
                "p\tns\t1x\t1\t/p",
                "p\tns\t4294967296\t1\t/p",
                "p\tns\t1\t99999999999999999999\t/p",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ck_assert_msg(action_cookie_parse(bad[i], &back) == -EINVAL, "%s", bad[i]);
        ck_assert_int_eq(action_cookie_parse("p\t\t4294967295\t0\t", &back), 0);
        ck_assert_uint_eq(back.slot, UINT32_MAX);
        ck_assert_str_eq(back.ns, "");
        ck_assert_int_eq(action_cookie_parse(NULL, &back), -EINVAL);
        memset(buf, 'a', 100);
        memcpy(buf + 100, "\t\t1\t1\t/", 8); /* policy too long */
        buf[108] = 0;
        ck_assert_int_eq(action_cookie_parse(buf, &back), -EINVAL);
        fake_free(c);
}
END_TEST

START_TEST(test_path_too_long)
{
        /* A chain deeper than PATH_MAX: the target says so, never "?". */
        Cgroup *root = calloc(1, sizeof(Cgroup) + 1), *c = root;
        static ActionTarget t;
        Policy p = { .name = "p" };

        root->kind = CGROUP_KIND_ROOT;
        for (int i = 0; i < 40; i++) {
                Cgroup *n = calloc(1, sizeof(Cgroup) + 201);
                memset(n->name, 'x', 200);
                n->name_len = 200;
                n->parent = c;
                c = n;
        }
        action_target_init(&t, c, &p);
        ck_assert_int_eq(t.path_error, -ENAMETOOLONG);
        ck_assert_str_eq(t.path, "");
        while (c) {
                Cgroup *up = c->parent;
                free(c);
                c = up;
        }
}
END_TEST

static size_t utf8_escape(const char *s, char *buf, size_t size)
{
        return utf8_sanitize(s, strlen(s), buf, size);
}

/* The D-Bus signal's strings (daemon/bus.c) go through utf8_sanitize(). */
START_TEST(test_utf8)
{
        static const struct {
                const char *in, *out;
        } t[] = {
                { "plain", "plain" },
                { "caf\xc3\xa9", "caf\xc3\xa9" },
                { "\xff", "\\xff" },
                { "a\xc3", "a\\xc3" },                          /* truncated */
                { "\xc0\xaf", "\\xc0\\xaf" },                   /* overlong '/' */
                { "\xed\xa0\x80", "\\xed\\xa0\\x80" },          /* surrogate */
                { "\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80" }, /* beyond U+10FFFF */
                { "\x80x", "\\x80x" },                          /* stray continuation */
                { "\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80" },
                { "", "" },
        };
        char buf[64];

        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                utf8_escape(t[i].in, buf, sizeof(buf));
                ck_assert_msg(strcmp(buf, t[i].out) == 0, "row %zu: got '%s'", i, buf);
        }
        /* A sequence that does not fit whole is left out, never cut. */
        ck_assert_uint_eq(utf8_escape("ab\xc3\xa9", buf, 4), 2);
        ck_assert_str_eq(buf, "ab");
        ck_assert_uint_eq(utf8_escape("\xff\xff", buf, 6), 4);
        ck_assert_str_eq(buf, "\\xff");
}
END_TEST

START_TEST(test_report_names)
{
        static const char *const hostile[] = {
                "/../../etc/passwd", "/a/b/../c", "/x\n\x01\x7f\xff.service", "/..", "/...", "/.hidden",
        };
        char name[REPORT_NAME_MAX], big[PATH_MAX];
        uint64_t t = 1767225600ULL * USEC_PER_SEC + 123; /* 2026-01-01T00:00:00Z */

        ck_assert_int_eq(report_file_name(NULL, "p", "/system.slice/web.service", t, name, sizeof(name)), 0);
        ck_assert_str_eq(name, "20260101T000000.000123Z-_admin_@p-_system.slice_web.service.json");
        /* A namespace's report says whose it is: it cannot pass for the admin's. */
        ck_assert_int_eq(report_file_name("team-a", "p", "/x", t, name, sizeof(name)), 0);
        ck_assert_str_eq(name, "20260101T000000.000123Z-team-a@p-_x.json");
        ck_assert_int_eq(report_file_name("_admin_@\n/..", "p@", "/x@", t, name, sizeof(name)), 0);
        ck_assert_str_eq(name, "20260101T000000.000123Z-_admin____._@p_-_x_.json");
        for (size_t i = 0; i < ELEMENTSOF(hostile); i++) {
                ck_assert_int_eq(report_file_name(hostile[i], "p", hostile[i], t, name, sizeof(name)), 0);
                ck_assert_ptr_null(strchr(name, '/'));
                ck_assert_ptr_null(strstr(name, ".."));
                for (const char *s = name; *s; s++)
                        ck_assert((unsigned char)*s >= 0x20 && (unsigned char)*s < 0x7f);
        }
        memset(big, 'a', sizeof(big) - 1);
        big[0] = '/', big[sizeof(big) - 1] = '\0';
        ck_assert_int_eq(report_file_name(big, "p", big, t, name, sizeof(name)), 0);
        ck_assert_ptr_nonnull(strchr(name, '@'));
        ck_assert_uint_lt(strlen(name), REPORT_NAME_MAX);
        ck_assert_str_eq(name + strlen(name) - 5, ".json");
        ck_assert_int_eq(report_file_name(NULL, "p", "/x", t, name, 100), -ENOBUFS);
}
END_TEST

START_TEST(test_report_prune)
{
        char dir[] = "/tmp/test-prune-XXXXXX", cmd[64];
        int fd;

        ck_assert_ptr_nonnull(mkdtemp(dir));
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        for (int i = 0; i < 12; i++) {
                char name[64];
                snprintf(name, sizeof(name), "2026010%dT000000.000000Z-_admin_@p-x.json", i % 10);
                if (i >= 10)
                        snprintf(name, sizeof(name), "20260201T00000%d.000000Z-_admin_@p-x.json", i - 10);
                close(openat(fd, name, O_CREAT | O_WRONLY | O_CLOEXEC, 0640));
        }
        /* A namespace's flood, newer than all of the admin's, and one of another namespace. */
        for (int i = 0; i < 20; i++) {
                char name[64];
                snprintf(name, sizeof(name), "202603%02dT000000.000000Z-evil@p-x.json", i + 1);
                close(openat(fd, name, O_CREAT | O_WRONLY | O_CLOEXEC, 0640));
        }
        close(openat(fd, "20260101T000000.000000Z-other@p-x.json", O_CREAT | O_WRONLY | O_CLOEXEC, 0640));
        close(openat(fd, "keep-me.txt", O_CREAT | O_WRONLY | O_CLOEXEC, 0640));
        ck_assert_int_eq(mkdirat(fd, "dir.json", 0750), 0);
        /* The namespace's prune takes only its own: at most 8 a call. */
        ck_assert_int_eq(report_prune(fd, "evil", 5), 8);
        ck_assert_int_eq(report_prune(fd, "evil", 5), 7);
        ck_assert_int_eq(report_prune(fd, "evil", 5), 0);
        ck_assert_int_eq(faccessat(fd, "20260315T000000.000000Z-evil@p-x.json", F_OK, 0), -1);
        ck_assert_int_eq(faccessat(fd, "20260316T000000.000000Z-evil@p-x.json", F_OK, 0), 0);
        ck_assert_int_eq(faccessat(fd, "20260100T000000.000000Z-_admin_@p-x.json", F_OK, 0), 0);
        ck_assert_int_eq(report_prune(fd, NULL, 5), 7);
        ck_assert_int_eq(faccessat(fd, "20260100T000000.000000Z-_admin_@p-x.json", F_OK, 0), -1);
        ck_assert_int_eq(faccessat(fd, "20260109T000000.000000Z-_admin_@p-x.json", F_OK, 0), 0);
        ck_assert_int_eq(faccessat(fd, "20260101T000000.000000Z-other@p-x.json", F_OK, 0), 0);
        ck_assert_int_eq(faccessat(fd, "keep-me.txt", F_OK, 0), 0);
        ck_assert_int_eq(faccessat(fd, "dir.json", F_OK, 0), 0);
        ck_assert_int_eq(report_prune(fd, "", 5), 0);
        /* Names from before sources count as the admin's. */
        close(openat(fd, "20260100T000000.000000Z-p-x.json", O_CREAT | O_WRONLY | O_CLOEXEC, 0640));
        ck_assert_int_eq(report_prune(fd, "evil", 5), 0);
        ck_assert_int_eq(report_prune(fd, NULL, 5), 1);
        ck_assert_int_eq(faccessat(fd, "20260100T000000.000000Z-p-x.json", F_OK, 0), -1);
        close(fd);
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        ck_assert_int_eq(system(cmd), 0);
}
END_TEST

static uint64_t fake_now;

static uint64_t tick(void *userdata)
{
        (void)userdata;
        return fake_now++; /* every look at the clock is one microsecond later */
}

static void put_file(const char *dir, const char *file, const char *text)
{
        char p[512];
        FILE *f;

        snprintf(p, sizeof(p), "%s/%s", dir, file);
        f = fopen(p, "we");
        ck_assert_ptr_nonnull(f);
        fputs(text, f);
        fclose(f);
}

START_TEST(test_report_deadline)
{
        static char buf[256 * 1024];
        char dir[64], sub[128], pids[64], cmd[128];
        ReportBound bound = { .now_usec = tick };
        ReportSummary sum;
        size_t len;
        int rfd, pfd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);

        strcpy(dir, "/tmp/test-report-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(dir));
        snprintf(pids, sizeof(pids), "%d\n%d\n", getpid(), getppid());
        for (int i = 0; i < 8; i++) {
                snprintf(sub, sizeof(sub), "%s/c%d", dir, i);
                ck_assert_int_eq(mkdir(sub, 0755), 0);
                put_file(sub, "memory.current", "4096\n");
                put_file(sub, "cgroup.procs", pids);
        }
        put_file(dir, "memory.current", "32768\n");
        rfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        /* No deadline, or one far off: the whole subtree. */
        bound.deadline_usec = 1000000;
        fake_now = 0;
        ck_assert_int_eq(
                report_build_bounded(rfd, ".", pfd, "/x", "p", 0, &bound, buf, sizeof(buf), &len, &sum), 0);
        ck_assert(!sum.truncated && !sum.timed_out);
        ck_assert_uint_eq(sum.n_processes, 16);
        ck_assert_uint_eq(sum.n_children, 8);
        ck_assert_ptr_nonnull(strstr(buf, "\"timed_out\":false"));
        /* Ten looks at the clock: the children ranked, part of the walk, then it stops. */
        fake_now = 0;
        bound.deadline_usec = 10;
        ck_assert_int_eq(
                report_build_bounded(rfd, ".", pfd, "/x", "p", 0, &bound, buf, sizeof(buf), &len, &sum), 0);
        ck_assert(sum.truncated && sum.timed_out);
        ck_assert_uint_lt(sum.n_processes, 16);
        ck_assert_ptr_nonnull(strstr(buf, "\"truncated\":true,\"timed_out\":true"));
        ck_assert_uint_le(fake_now, 12); /* it did stop looking */
        close(rfd);
        close(pfd);
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        ck_assert_int_eq(system(cmd), 0);
}
END_TEST

static Suite *make_suite(void)
{
        Suite *s = suite_create("action-state");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_throttle_machine);
        tcase_add_test(tc, test_throttle_races);
        tcase_add_test(tc, test_owner_rules);
        tcase_add_test(tc, test_throttle_join);
        tcase_add_test(tc, test_dry_run_rule);
        tcase_add_test(tc, test_tables);
        tcase_add_test(tc, test_unit_cache);
        tcase_add_test(tc, test_cookies);
        tcase_add_test(tc, test_path_too_long);
        tcase_add_test(tc, test_utf8);
        tcase_add_test(tc, test_report_names);
        tcase_add_test(tc, test_report_prune);
        tcase_add_test(tc, test_report_deadline);
        suite_add_tcase(s, tc);
        return s;
}

MW_TEST_MAIN(make_suite)
