/* SPDX-License-Identifier: MIT */
/* The watcher on a fake cgroup tree in a temp directory: walking, selection,
 * counter diffing through real inotify, appearance and removal, limits,
 * hostile names, the cgroup bound, rescans. A unit test of the logic; the
 * real kernel is the integration suite's job. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "macro.h"
#include "policy.h"
#include "test-main.h"
#include "watcher-internal.h"

#define MAX_RECORDS 256

typedef struct Seen {
        RecordType type;
        bool watched;
        char path[512];
        uint64_t delta_high, delta_local_high, delta_oom_kill, delta_max, delta_oom;
        uint64_t count, threshold, current;
        bool quiet;
        char json[16384];
        int error;
} Seen;

static Seen seen[MAX_RECORDS];
static unsigned n_seen;
static char root[64];
static Engine *engine; /* when set, every record goes to it as in the daemon */

static void on_record(Watcher *w, const Record *r, void *userdata)
{
        Seen *s;
        size_t len;

        (void)w, (void)userdata;
        ck_assert_uint_lt(n_seen, MAX_RECORDS);
        s = &seen[n_seen++];
        *s = (Seen){ .type = r->type,
                     .error = r->error,
                     .watched = r->cgroup && r->cgroup->watched,
                     .count = r->count,
                     .threshold = r->threshold,
                     .current = r->current,
                     .quiet = r->quiet };
        if (r->path)
                snprintf(s->path, sizeof(s->path), "%s", r->path);
        if (r->delta) {
                s->delta_high = r->delta->value[MEMEV_HIGH];
                s->delta_oom_kill = r->delta->value[MEMEV_OOM_KILL];
                s->delta_local_high = r->delta_local ? r->delta_local->value[MEMEV_HIGH] : 0;
                s->delta_max = r->delta->value[MEMEV_MAX];
                s->delta_oom = r->delta->value[MEMEV_OOM];
        }
        ck_assert_int_eq(record_format_json(r, s->json, sizeof(s->json), &len), 0);
        ck_assert_uint_eq(strlen(s->json), len);
        ck_assert(len > 2 && s->json[0] == '{' && s->json[len - 1] == '\n');
        if (engine)
                engine_observe(engine, r, r->mono_usec);
}

static unsigned count(RecordType t, const char *path)
{
        unsigned n = 0;
        for (unsigned i = 0; i < n_seen; i++)
                n += seen[i].type == t && (!path || strcmp(seen[i].path, path) == 0);
        return n;
}

static const Seen *last(RecordType t, const char *path)
{
        for (unsigned i = n_seen; i-- > 0;)
                if (seen[i].type == t && (!path || strcmp(seen[i].path, path) == 0))
                        return &seen[i];
        return NULL;
}

static void put(const char *rel, const char *file, const char *text)
{
        char p[1024];
        int fd;

        snprintf(p, sizeof(p), "%s/%s/%s", root, rel, file);
        fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        ck_assert_msg(fd >= 0, "open %s: %m", p);
        ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
        close(fd);
}

static void events(const char *rel, unsigned high, unsigned oom_kill)
{
        char t[200];
        snprintf(t, sizeof(t), "low 0\nhigh %u\nmax 0\noom 0\noom_kill %u\noom_group_kill 0\n", high,
                 oom_kill);
        put(rel, "memory.events", t);
        put(rel, "memory.events.local", t);
}

/* A directory that looks like a cgroup with the memory controller on. */
static void mkcg(const char *rel, const char *high)
{
        char p[1024];

        snprintf(p, sizeof(p), "%s/%s", root, rel);
        ck_assert_msg(mkdir(p, 0755) == 0, "mkdir %s: %m", p);
        events(rel, 0, 0);
        put(rel, "memory.high", high);
        put(rel, "memory.max", "max\n");
        put(rel, "memory.current", "4096\n");
        put(rel, "cgroup.events", "populated 0\nfrozen 0\n");
}

static void rmcg(const char *rel)
{
        char cmd[1200];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s/%s'", root, rel);
        ck_assert_int_eq(system(cmd), 0);
}

static Watcher *setup_watcher(WatcherConfig *cfg)
{
        Watcher *w;

        n_seen = 0;
        strcpy(root, "/tmp/mw-watch-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(root));
        put(".", "cgroup.controllers", "cpu memory\n");
        mkcg("system.slice", "max\n");
        mkcg("system.slice/a.service", "max\n");
        mkcg("system.slice/b.service", "1048576\n");
        mkcg("plain", "max\n");
        cfg->root = root;
        cfg->psi = false;
        ck_assert_int_eq(watcher_new(cfg, on_record, NULL, &w), 0);
        ck_assert_int_eq(watcher_scan(w), 0);
        return w;
}

static void teardown(Watcher *w)
{
        char cmd[128];
        watcher_free(w);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
        ck_assert_int_eq(system(cmd), 0);
}

static void drain(Watcher *w)
{
        ck_assert_int_ge(watcher_process_inotify(w), 0);
}

START_TEST(test_scan_and_select)
{
        WatcherConfig cfg = WATCHER_CONFIG_DEFAULT;
        Watcher *w = setup_watcher(&cfg);
        WatcherStats st;

        watcher_get_stats(w, &st);
        ck_assert_uint_eq(st.n_cgroups, 5);
        /* root, system.slice (a slice), b.service (memory.high set) */
        ck_assert_uint_eq(st.n_watched, 3);
        ck_assert(st.has_memory_controller);
        ck_assert_uint_eq(count(RECORD_STARTED, "/"), 1);
        ck_assert_uint_eq(count(RECORD_CGROUP_ADDED, NULL), 0); /* not for the first walk */

        for (unsigned i = 0; i < watcher_n_slots(w); i++) {
                const Cgroup *c = watcher_slot(w, i);
                char p[256];
                if (!c)
                        continue;
                ck_assert_int_eq(cgroup_path(c, p, sizeof(p)), 0);
                bool want = strcmp(p, "/") == 0 || strcmp(p, "/system.slice") == 0 ||
                            strcmp(p, "/system.slice/b.service") == 0;
                ck_assert_msg(c->watched == want, "%s watched=%d", p, c->watched);
                char small[4];
                ck_assert_int_eq(cgroup_path(c, small, sizeof(small)), strlen(p) < 4 ? 0 : -ENAMETOOLONG);
        }
        teardown(w);

        cfg = WATCHER_CONFIG_DEFAULT;
        cfg.select = WATCH_SELECT_ALL;
        w = setup_watcher(&cfg);
        watcher_get_stats(w, &st);
        ck_assert_uint_eq(st.n_watched, 5);
        teardown(w);
}
END_TEST

START_TEST(test_counters)
{
        WatcherConfig cfg = WATCHER_CONFIG_DEFAULT;
        Watcher *w = setup_watcher(&cfg);
        const Seen *s;

        events("system.slice/b.service", 3, 0);
        drain(w);
        s = last(RECORD_MEMORY_EVENTS, "/system.slice/b.service");
        ck_assert_ptr_nonnull(s);
        ck_assert_uint_eq(s->delta_high, 3);
        ck_assert_uint_eq(s->delta_local_high, 3);
        ck_assert_ptr_nonnull(strstr(s->json, "\"delta\":{\"high\":3}"));
        ck_assert_ptr_nonnull(strstr(s->json, "\"memory_current\":4096"));
        ck_assert_ptr_nonnull(strstr(s->json, "\"memory_high\":1048576"));

        unsigned before = count(RECORD_MEMORY_EVENTS, NULL);
        events("system.slice/b.service", 10, 1);
        drain(w);
        s = last(RECORD_MEMORY_EVENTS, "/system.slice/b.service");
        ck_assert_uint_eq(s->delta_high, 7);
        ck_assert_uint_eq(s->delta_oom_kill, 1);

        /* Rewriting the same counters is no event. */
        before = count(RECORD_MEMORY_EVENTS, NULL);
        events("system.slice/b.service", 10, 1);
        drain(w);
        ck_assert_uint_eq(count(RECORD_MEMORY_EVENTS, NULL), before);

        /* Garbage in the file: no record, the old counters stay. */
        put("system.slice/b.service", "memory.events", "high banana\n");
        drain(w);
        ck_assert_uint_eq(count(RECORD_MEMORY_EVENTS, NULL), before);
        events("system.slice/b.service", 12, 1);
        drain(w);
        ck_assert_uint_eq(last(RECORD_MEMORY_EVENTS, "/system.slice/b.service")->delta_high, 2);

        /* An unwatched cgroup's counters are not followed. */
        before = count(RECORD_MEMORY_EVENTS, NULL);
        events("plain", 5, 0);
        drain(w);
        ck_assert_uint_eq(count(RECORD_MEMORY_EVENTS, NULL), before);

        /* cgroup.events: populated and frozen changes. */
        put("system.slice", "cgroup.events", "populated 1\nfrozen 0\n");
        drain(w);
        s = last(RECORD_CGROUP_EVENTS, "/system.slice");
        ck_assert_ptr_nonnull(s);
        ck_assert_ptr_nonnull(
                strstr(s->json, "\"populated\":true,\"frozen\":false,\"was\":{\"populated\":false"));
        teardown(w);
}
END_TEST

START_TEST(test_appear_vanish)
{
        WatcherConfig cfg = WATCHER_CONFIG_DEFAULT;
        Watcher *w = setup_watcher(&cfg);
        WatcherStats st;

        mkcg("new.slice", "max\n");
        drain(w);
        ck_assert_uint_eq(count(RECORD_CGROUP_ADDED, "/new.slice"), 1);
        ck_assert_ptr_nonnull(strstr(last(RECORD_CGROUP_ADDED, "/new.slice")->json, "\"watched\":true"));

        /* A whole subtree made at once: children created before our watch
         * on their parent existed are found by the scan of the new dir. */
        char p[256];
        snprintf(p, sizeof(p), "mkdir -p %s/deep/x/y/z", root);
        ck_assert_int_eq(system(p), 0);
        drain(w);
        ck_assert_uint_eq(count(RECORD_CGROUP_ADDED, "/deep/x/y/z"), 1);
        ck_assert_uint_eq(count(RECORD_CGROUP_ADDED, "/deep/x"), 1);

        watcher_get_stats(w, &st);
        ck_assert_uint_eq(st.n_cgroups, 10);
        rmcg("deep");
        rmcg("new.slice");
        drain(w);
        ck_assert_uint_eq(count(RECORD_CGROUP_REMOVED, "/deep/x/y/z"), 1);
        ck_assert_uint_eq(count(RECORD_CGROUP_REMOVED, "/deep"), 1);
        ck_assert_uint_eq(count(RECORD_CGROUP_REMOVED, "/new.slice"), 1);
        watcher_get_stats(w, &st);
        ck_assert_uint_eq(st.n_cgroups, 5);
        ck_assert_uint_eq(st.n_watched, 3);
        teardown(w);
}
END_TEST

START_TEST(test_limits_change)
{
        WatcherConfig cfg = WATCHER_CONFIG_DEFAULT;
        Watcher *w = setup_watcher(&cfg);
        WatcherStats st;

        put("plain", "memory.max", "268435456\n");
        drain(w);
        ck_assert_uint_eq(count(RECORD_LIMITS, "/plain"), 1);
        ck_assert(last(RECORD_LIMITS, "/plain")->watched); /* consumers see it watched already */
        ck_assert_ptr_nonnull(strstr(last(RECORD_LIMITS, "/plain")->json, "\"old_memory_max\":\"max\""));
        watcher_get_stats(w, &st);
        ck_assert_uint_eq(st.n_watched, 4);
        events("plain", 2, 0);
        drain(w);
        ck_assert_uint_eq(last(RECORD_MEMORY_EVENTS, "/plain")->delta_high, 2);

        put("plain", "memory.max", "max\n");
        drain(w);
        watcher_get_stats(w, &st);
        ck_assert_uint_eq(st.n_watched, 3);
        teardown(w);
}
END_TEST

START_TEST(test_controller_enabled_later)
{
        WatcherConfig cfg = WATCHER_CONFIG_DEFAULT;
        Watcher *w = setup_watcher(&cfg);
        char p[256];

        /* A slice without memory files: the controller is off in its parent. */
        snprintf(p, sizeof(p), "%s/late.slice", root);
        ck_assert_int_eq(mkdir(p, 0755), 0);
        drain(w);
        ck_assert_uint_eq(count(RECORD_CGROUP_ADDED, "/late.slice"), 1);
        events("late.slice", 1, 0); /* creates the files, as the kernel would, without telling */
        put("late.slice", "memory.high", "max\n");
        put("late.slice", "memory.max", "max\n");
        put("late.slice", "cgroup.events", "populated 0\n");
        drain(w);
        ck_assert_uint_eq(count(RECORD_MEMORY_EVENTS, "/late.slice"), 0);
        /* "+memory" written to the parent's cgroup.subtree_control. */
        put(".", "cgroup.subtree_control", "memory\n");
        drain(w);
        events("late.slice", 4, 0);
        drain(w);
        ck_assert_ptr_nonnull(last(RECORD_MEMORY_EVENTS, "/late.slice"));
        ck_assert_uint_eq(last(RECORD_MEMORY_EVENTS, "/late.slice")->delta_high, 3);
        teardown(w);
}
END_TEST

START_TEST(test_hostile_names)
{
        WatcherConfig cfg = WATCHER_CONFIG_DEFAULT;
        Watcher *w = setup_watcher(&cfg);
        static const char *const names[] = {
                "quote\"back\\slash.slice", "new\nline.slice",     "bad\xff\xfe utf8.slice",
                "ctl\x01\x1b.slice",        "-leading-dash.slice",
        };

        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
                mkcg(names[i], "max\n");
        drain(w);
        ck_assert_uint_eq(count(RECORD_CGROUP_ADDED, NULL), sizeof(names) / sizeof(names[0]));
        const Seen *s = last(RECORD_CGROUP_ADDED, "/quote\"back\\slash.slice");
        ck_assert_ptr_nonnull(strstr(s->json, "\"cgroup\":\"/quote\\\"back\\\\slash.slice\""));
        s = last(RECORD_CGROUP_ADDED, "/new\nline.slice");
        ck_assert_ptr_nonnull(strstr(s->json, "\"/new\\nline.slice\""));
        ck_assert_ptr_eq(strchr(s->json, '\n'), s->json + strlen(s->json) - 1); /* one record, one line */
        s = last(RECORD_CGROUP_ADDED, "/bad\xff\xfe utf8.slice");
        ck_assert_ptr_nonnull(strstr(s->json, "\"/bad\\udcff\\udcfe utf8.slice\""));
        s = last(RECORD_CGROUP_ADDED, "/ctl\x01\x1b.slice");
        ck_assert_ptr_nonnull(strstr(s->json, "\"/ctl\\u0001\\u001b.slice\""));
        events("new\nline.slice", 1, 0);
        drain(w);
        ck_assert_uint_eq(count(RECORD_MEMORY_EVENTS, "/new\nline.slice"), 1);
        teardown(w);
}
END_TEST

START_TEST(test_max_cgroups)
{
        WatcherConfig cfg = WATCHER_CONFIG_DEFAULT;
        Watcher *w;
        WatcherStats st;

        cfg.max_cgroups = 6;
        w = setup_watcher(&cfg);
        mkcg("one.slice", "max\n");
        mkcg("two.slice", "max\n");
        mkcg("three.slice", "max\n");
        drain(w);
        watcher_get_stats(w, &st);
        ck_assert_uint_eq(st.n_cgroups, 6);
        ck_assert_uint_eq(st.n_dropped_cgroups, 2);
        ck_assert_uint_eq(count(RECORD_WARNING, NULL), 1); /* said once, not per cgroup */
        ck_assert_int_eq(last(RECORD_WARNING, NULL)->error, -E2BIG);
        ck_assert_ptr_nonnull(strstr(last(RECORD_WARNING, NULL)->json, "\"error\":\"E2BIG\""));
        /* What is watched keeps working. */
        events("system.slice/b.service", 4, 0);
        drain(w);
        ck_assert_uint_eq(last(RECORD_MEMORY_EVENTS, "/system.slice/b.service")->delta_high, 4);
        /* Room again: a rescan picks up what was left out. */
        rmcg("plain");
        drain(w);
        ck_assert_int_eq(watcher_rescan(w), 0);
        watcher_get_stats(w, &st);
        ck_assert_uint_eq(st.n_cgroups, 6);
        teardown(w);
}
END_TEST

START_TEST(test_rescan)
{
        WatcherConfig cfg = WATCHER_CONFIG_DEFAULT;
        Watcher *w = setup_watcher(&cfg);
        WatcherStats st;

        /* Changes the watcher has not read yet, as after a queue overflow. */
        mkcg("r1.slice", "max\n");
        rmcg("plain");
        events("system.slice/b.service", 6, 0);
        ck_assert_int_eq(watcher_rescan(w), 0);
        ck_assert_uint_eq(count(RECORD_RESCAN, "/"), 1);
        ck_assert_uint_eq(count(RECORD_CGROUP_ADDED, "/r1.slice"), 1);
        ck_assert_uint_eq(count(RECORD_CGROUP_REMOVED, "/plain"), 1);
        ck_assert_uint_eq(last(RECORD_MEMORY_EVENTS, "/system.slice/b.service")->delta_high, 6);
        /* The queued inotify events are now stale: nothing twice. */
        drain(w);
        ck_assert_uint_eq(count(RECORD_CGROUP_ADDED, "/r1.slice"), 1);
        ck_assert_uint_eq(count(RECORD_MEMORY_EVENTS, "/system.slice/b.service"), 1);
        watcher_get_stats(w, &st);
        ck_assert_uint_eq(st.n_cgroups, 5);
        teardown(w);
}
END_TEST

START_TEST(test_missing_root)
{
        WatcherConfig cfg = WATCHER_CONFIG_DEFAULT;
        Watcher *w;

        cfg.root = "/nonexistent/cgroup";
        ck_assert_int_eq(watcher_new(&cfg, on_record, NULL, &w), 0);
        ck_assert_int_eq(watcher_scan(w), -ENOENT);
        watcher_free(w);
}
END_TEST

/* cgroup v1 on a fake tree: the eventfds are real (in the watcher's epoll
 * set), the kernel's side is the test writing to them; tests/host-v1.py has
 * the real kernel. */
static unsigned live_regs(Watcher *w)
{
        WatcherStats st;
        watcher_get_stats(w, &st);
        return st.n_v1_fds;
}

/* Signal the eventfd of c of this kind, as the kernel would, and let the
 * watcher drain its epoll set. */
static void signal_v1(Watcher *w, const Cgroup *c, V1Fd which, uint64_t n)
{
        ck_assert_int_ge(c->v1->fd[which], 0);
        ck_assert_int_eq(write(c->v1->fd[which], &n, sizeof(n)), (ssize_t)sizeof(n));
        ck_assert_int_eq(watcher_process_psi(w), 1);
}

static void mkcg_v1(const char *rel, const char *limit)
{
        char p[1024];

        snprintf(p, sizeof(p), "%s/%s", root, rel);
        ck_assert_msg(strcmp(rel, ".") == 0 || mkdir(p, 0755) == 0, "mkdir %s: %m", p);
        put(rel, "memory.limit_in_bytes", limit);
        put(rel, "memory.soft_limit_in_bytes", "9223372036854771712\n");
        put(rel, "memory.usage_in_bytes", "1048576\n");
        put(rel, "memory.failcnt", "0\n");
        put(rel, "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n");
        put(rel, "memory.pressure_level", "");
        put(rel, "cgroup.event_control", "");
        put(rel, "cgroup.procs", "");
}

static const Cgroup *find_cg(Watcher *w, const char *name)
{
        for (unsigned i = 0; i < watcher_n_slots(w); i++) {
                const Cgroup *c = watcher_slot(w, i);
                if (c && strcmp(c->name, name) == 0)
                        return c;
        }
        return NULL;
}

START_TEST(test_v1)
{
        WatcherConfig cfg = WATCHER_CONFIG_DEFAULT;
        WatcherStats st;
        Watcher *w;

        n_seen = 0;
        strcpy(root, "/tmp/mw-watch-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(root));
        mkcg_v1(".", "9223372036854771712\n");
        mkcg_v1("a", "33554432\n");
        mkcg_v1("b", "9223372036854771712\n");
        cfg.root = root;
        cfg.v1 = true;
        cfg.psi = false;
        ck_assert_int_eq(watcher_new(&cfg, on_record, NULL, &w), 0);
        ck_assert_int_eq(watcher_scan(w), 0);
        watcher_get_stats(w, &st);
        ck_assert(st.v1 && st.has_memory_controller);
        ck_assert_uint_eq(st.n_watched, 2); /* the root and a (limited); b has no limit */
        ck_assert_uint_eq(st.n_v1_fds, 6);  /* medium, critical, oom on each */
        ck_assert_uint_eq(live_regs(w), 6);
        const Cgroup *a = find_cg(w, "a"), *b = find_cg(w, "b");
        ck_assert(a && a->watched && b && !b->watched);
        ck_assert_uint_eq(a->max, 33554432);
        ck_assert_uint_eq(a->high, UINT64_MAX); /* PAGE_COUNTER_MAX reads as max */
        ck_assert_uint_eq(watcher_read_current(w, a), 1048576);

        /* Pressure: one output record per second and level, the engine sees all. */
        signal_v1(w, a, V1_FD_MEDIUM, 3);
        ck_assert_uint_eq(last(RECORD_PRESSURE_LEVEL, "/a")->count, 3);
        ck_assert(!last(RECORD_PRESSURE_LEVEL, "/a")->quiet);
        ck_assert_ptr_nonnull(strstr(last(RECORD_PRESSURE_LEVEL, "/a")->json, "\"level\":\"medium\""));
        signal_v1(w, a, V1_FD_MEDIUM, 2);
        ck_assert(last(RECORD_PRESSURE_LEVEL, "/a")->quiet);
        ck_assert_uint_eq(a->v1->pressure[V1_LEVEL_MEDIUM], 5);

        /* failcnt grew: a memory_events record with max, at the next notification. */
        put("a", "memory.failcnt", "7\n");
        signal_v1(w, a, V1_FD_CRITICAL, 1);
        ck_assert_uint_eq(last(RECORD_PRESSURE_LEVEL, "/a")->count, 1);
        ck_assert_uint_eq(last(RECORD_MEMORY_EVENTS, "/a")->delta_max, 7);

        /* OOM: the notification counts as oom; oom_kill is read again later. */
        signal_v1(w, a, V1_FD_OOM, 1);
        ck_assert_uint_eq(last(RECORD_MEMORY_EVENTS, "/a")->delta_oom, 1);
        uint64_t due = watcher_next_usec(w);
        ck_assert_uint_gt(due, 0);
        ck_assert_uint_le(due, now_usec(CLOCK_MONOTONIC) + WATCHER_V1_RECHECK_USEC);
        unsigned n_ev = count(RECORD_MEMORY_EVENTS, "/a");
        watcher_tick(w, due - 1); /* not yet */
        ck_assert_uint_eq(watcher_next_usec(w), due);
        watcher_tick(w, due); /* oom_kill has not grown yet: again later */
        ck_assert_uint_eq(watcher_next_usec(w), due + WATCHER_V1_RECHECK_USEC);
        ck_assert_uint_eq(count(RECORD_MEMORY_EVENTS, "/a"), n_ev);
        put("a", "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n");
        watcher_tick(w, due + WATCHER_V1_RECHECK_USEC);
        ck_assert_uint_eq(watcher_next_usec(w), 0);
        ck_assert_uint_eq(count(RECORD_MEMORY_EVENTS, "/a"), n_ev + 1);
        ck_assert_uint_eq(last(RECORD_MEMORY_EVENTS, "/a")->delta_oom_kill, 1);
        /* An OOM whose kill never shows: given up after 20 tries. */
        signal_v1(w, a, V1_FD_OOM, 1);
        unsigned ticks = 0;
        for (uint64_t t; (t = watcher_next_usec(w)) != 0 && ticks < 100; ticks++)
                watcher_tick(w, t);
        ck_assert_uint_eq(ticks, 20);
        ck_assert(!a->v1->oom_pending);
        ck_assert_ptr_nonnull(strstr(last(RECORD_MEMORY_EVENTS, "/a")->json, "\"oom_kill\":1"));

        /* What a policy asks for: low and a threshold, and later nothing. */
        ck_assert_int_eq(watcher_v1_request(w, a, true, 16777216), 1);
        ck_assert_uint_eq(live_regs(w), 8);
        put("a", "memory.usage_in_bytes", "20000000\n");
        signal_v1(w, a, V1_FD_THRESHOLD, 1);
        ck_assert_uint_eq(last(RECORD_USAGE_THRESHOLD, "/a")->threshold, 16777216);
        ck_assert_uint_eq(last(RECORD_USAGE_THRESHOLD, "/a")->current, 20000000);
        signal_v1(w, a, V1_FD_LOW, 4);
        ck_assert_uint_eq(a->v1->pressure[V1_LEVEL_LOW], 4);
        ck_assert_int_eq(watcher_v1_request(w, a, false, 0), 0);
        ck_assert_uint_eq(live_regs(w), 6);
        ck_assert_int_eq(watcher_v1_request(w, b, true, 1), 0); /* not watched: kept for later */
        ck_assert_uint_eq(live_regs(w), 6);

        /* A limit written: b is watched now, with what was asked for it. */
        put("b", "memory.limit_in_bytes", "67108864\n");
        drain(w);
        ck_assert_uint_eq(count(RECORD_LIMITS, "/b"), 1);
        ck_assert(b->watched);
        ck_assert_uint_eq(live_regs(w), 11); /* b: medium, critical, oom, low, threshold */

        /* The kernel signals every registration once more when the cgroup goes:
         * no record for that. */
        unsigned before = n_seen;
        put("a", "memory.usage_in_bytes", "0\n");
        char p[128];
        snprintf(p, sizeof(p), "%s/a/memory.usage_in_bytes", root);
        ck_assert_int_eq(unlink(p), 0);
        signal_v1(w, a, V1_FD_MEDIUM, 1);
        ck_assert_uint_eq(n_seen, before);
        ck_assert_uint_eq(live_regs(w), 8); /* a's are closed: the root's 3 and b's 5 */
        rmcg("a");
        drain(w);
        ck_assert_uint_eq(count(RECORD_CGROUP_REMOVED, "/a"), 1);

        teardown(w);
}
END_TEST

/* A chain of n directories named name under root/rel, made with mkdirat on
 * dirfds (a full path would pass PATH_MAX), one fd open at a time. */
static void mkchain(const char *rel, const char *name, unsigned n)
{
        char p[1024];
        int fd;

        snprintf(p, sizeof(p), "%s/%s", root, rel);
        fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        for (unsigned i = 0; i < n; i++) {
                ck_assert_msg(mkdirat(fd, name, 0755) == 0, "mkdirat %u: %m", i);
                int next = openat(fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                ck_assert_int_ge(next, 0);
                close(fd);
                fd = next;
        }
        close(fd);
}

/* Remove such a chain the same way: down to its end, then up through "..". */
static void rmchain(const char *rel, const char *name)
{
        char p[1024];
        unsigned depth = 0;
        int fd;

        snprintf(p, sizeof(p), "%s/%s", root, rel);
        fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        for (int next; (next = openat(fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0; depth++) {
                close(fd);
                fd = next;
        }
        while (depth-- > 0) {
                int up = openat(fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                ck_assert_int_ge(up, 0);
                close(fd);
                fd = up;
                ck_assert_msg(unlinkat(fd, name, AT_REMOVEDIR) == 0, "unlinkat: %m");
        }
        close(fd);
}

static unsigned max_modelled_depth(Watcher *w, size_t *ret_longest)
{
        unsigned deepest = 0;

        *ret_longest = 0;
        for (unsigned i = 0; i < watcher_n_slots(w); i++) {
                const Cgroup *c = watcher_slot(w, i);
                char p[PATH_MAX];
                if (!c)
                        continue;
                ck_assert_int_eq(cgroup_path(c, p, sizeof(p)), 0);
                ck_assert_uint_eq(strlen(p), c->path_len);
                if (c->depth > deepest)
                        deepest = c->depth;
                if (c->path_len > *ret_longest)
                        *ret_longest = c->path_len;
        }
        return deepest;
}

START_TEST(test_deep_tree)
{
        WatcherConfig cfg = WATCHER_CONFIG_DEFAULT;
        WatcherStats st;
        size_t longest;
        Watcher *w;

        n_seen = 0;
        strcpy(root, "/tmp/mw-watch-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(root));
        put(".", "cgroup.controllers", "cpu memory\n");
        mkcg("deep", "max\n");
        mkchain("deep", "d", 3000); /* a tenant's delegated subtree */
        cfg.root = root;
        cfg.psi = false;
        ck_assert_int_eq(watcher_new(&cfg, on_record, NULL, &w), 0);
        ck_assert_int_eq(watcher_scan(w), 0);
        watcher_get_stats(w, &st);
        ck_assert_uint_eq(st.n_cgroups, 1 + WATCHER_MAX_DEPTH_DEFAULT); /* the root and 64 levels */
        ck_assert_uint_eq(max_modelled_depth(w, &longest), WATCHER_MAX_DEPTH_DEFAULT);
        ck_assert_uint_eq(st.n_too_deep, 1);
        ck_assert_uint_eq(count(RECORD_WARNING, NULL), 1);
        ck_assert_int_eq(last(RECORD_WARNING, NULL)->error, -ELOOP);
        ck_assert_uint_eq(strlen(last(RECORD_WARNING, NULL)->path), 5 + 2 * (WATCHER_MAX_DEPTH_DEFAULT - 1));

        /* A rescan meets the same subtree: no second warning, same model. */
        ck_assert_int_eq(watcher_rescan(w), 0);
        watcher_get_stats(w, &st);
        ck_assert_uint_eq(st.n_cgroups, 1 + WATCHER_MAX_DEPTH_DEFAULT);
        ck_assert_uint_eq(st.n_too_deep, 1);
        ck_assert_uint_eq(count(RECORD_WARNING, NULL), 1);

        /* The same made while watching: the inotify path has the same bound. */
        mkcg("late", "max\n");
        drain(w);
        mkchain("late", "e", 3000);
        drain(w);
        watcher_get_stats(w, &st);
        ck_assert_uint_eq(max_modelled_depth(w, &longest), WATCHER_MAX_DEPTH_DEFAULT);
        ck_assert_uint_eq(st.n_too_deep, 2);
        ck_assert_uint_eq(count(RECORD_WARNING, NULL), 2);

        rmchain("late", "e");
        rmchain("deep", "d");
        drain(w);
        watcher_get_stats(w, &st);
        ck_assert_uint_eq(st.n_cgroups, 3);
        teardown(w);
}
END_TEST

START_TEST(test_long_paths)
{
        WatcherConfig cfg = WATCHER_CONFIG_DEFAULT;
        WatcherStats st;
        size_t longest;
        char name[NAME_MAX + 1];
        Watcher *w;

        memset(name, 'n', NAME_MAX);
        name[NAME_MAX] = '\0';
        n_seen = 0;
        strcpy(root, "/tmp/mw-watch-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(root));
        put(".", "cgroup.controllers", "cpu memory\n");
        mkcg("long", "max\n");
        mkchain("long", name, 20); /* 20 * 256 bytes: past PATH_MAX at depth 16 */
        cfg.root = root;
        cfg.psi = false;
        ck_assert_int_eq(watcher_new(&cfg, on_record, NULL, &w), 0);
        ck_assert_int_eq(watcher_scan(w), 0);
        watcher_get_stats(w, &st);
        ck_assert_uint_lt(max_modelled_depth(w, &longest), 17);
        ck_assert_uint_lt(longest + 1 + strlen(root) + strlen("/memory.soft_limit_in_bytes"), PATH_MAX);
        ck_assert_uint_eq(st.n_path_too_long, 1);
        ck_assert_uint_eq(st.n_too_deep, 0);
        ck_assert_uint_eq(count(RECORD_WARNING, NULL), 1);
        ck_assert_int_eq(last(RECORD_WARNING, NULL)->error, -ENAMETOOLONG);
        ck_assert_int_eq(watcher_rescan(w), 0);
        ck_assert_uint_eq(count(RECORD_WARNING, NULL), 1);

        /* max_depth from the configuration, and 0 is the default. */
        watcher_free(w);
        cfg.max_depth = 3;
        ck_assert_int_eq(watcher_new(&cfg, on_record, NULL, &w), 0);
        ck_assert_int_eq(watcher_scan(w), 0);
        ck_assert_uint_eq(max_modelled_depth(w, &longest), 3);
        watcher_get_stats(w, &st);
        ck_assert_uint_eq(st.n_too_deep, 1);
        ck_assert_uint_eq(st.n_path_too_long, 0);
        rmchain("long", name);
        teardown(w);
}
END_TEST

static const Cgroup *find_path(Watcher *w, const char *path)
{
        for (unsigned i = 0; i < watcher_n_slots(w); i++) {
                const Cgroup *c = watcher_slot(w, i);
                char p[PATH_MAX];
                if (c && cgroup_path(c, p, sizeof(p)) == 0 && strcmp(p, path) == 0)
                        return c;
        }
        return NULL;
}

#define UID    "0a1b2c3d-1111-2222-3333-444455556666"
#define UID_SD "0a1b2c3d_1111_2222_3333_444455556666"
#define CTR    "0123456789abcdef"

/* Kinds only from kubelet's own layout: a tenant naming its directories
 * "kubepods" and "pod<uid>" gets neither protection nor a namespace's policy. */
START_TEST(test_kubepods_layouts)
{
        static const char *const dirs[] = {
                "user.slice",
                "user.slice/user-1000.slice",
                "user.slice/user-1000.slice/kubepods",
                "user.slice/user-1000.slice/kubepods/burstable",
                "user.slice/user-1000.slice/kubepods/burstable/pod" UID,
                "user.slice/user-1000.slice/kubepods/burstable/pod" UID "/" CTR,
                "x.scope",
                "x.scope/kubepods.slice",
                "x.scope/kubepods.slice/kubepods-burstable.slice",
                "x.scope/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_SD ".slice",
                "kubepods",
                "kubepods/burstable",
                "kubepods/burstable/pod" UID,
                "kubepods/burstable/pod" UID "/" CTR,
                "kubepods/pod" UID,
        };
        static const struct {
                const char *path;
                CgroupKind kind;
        } want[] = {
                { "/user.slice/user-1000.slice/kubepods", CGROUP_KIND_OTHER },
                { "/user.slice/user-1000.slice/kubepods/burstable", CGROUP_KIND_OTHER },
                { "/user.slice/user-1000.slice/kubepods/burstable/pod" UID, CGROUP_KIND_OTHER },
                { "/user.slice/user-1000.slice/kubepods/burstable/pod" UID "/" CTR, CGROUP_KIND_OTHER },
                { "/x.scope/kubepods.slice", CGROUP_KIND_SLICE },
                { "/x.scope/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_SD ".slice",
                  CGROUP_KIND_SLICE },
                { "/kubepods", CGROUP_KIND_KUBEPODS },
                { "/kubepods/burstable", CGROUP_KIND_KUBEPODS },
                { "/kubepods/burstable/pod" UID, CGROUP_KIND_POD },
                { "/kubepods/burstable/pod" UID "/" CTR, CGROUP_KIND_CONTAINER },
                { "/kubepods/pod" UID, CGROUP_KIND_POD },
        };
        WatcherConfig cfg = WATCHER_CONFIG_DEFAULT;
        char logs[256], p[PATH_MAX];
        CgroupIdentity id;
        Watcher *w;

        n_seen = 0;
        strcpy(root, "/tmp/mw-watch-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(root));
        put(".", "cgroup.controllers", "cpu memory\n");
        for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
                mkcg(dirs[i], "max\n");
        /* kubelet's log directory, as if the pod were real. */
        snprintf(logs, sizeof(logs), "%s/logs", root);
        ck_assert_int_eq(mkdir(logs, 0755), 0);
        snprintf(p, sizeof(p), "%s/shop_web-1_" UID, logs);
        ck_assert_int_eq(mkdir(p, 0755), 0);
        cfg.root = root;
        cfg.psi = false;
        cfg.pod_log_dir = logs;
        cfg.container_log_dir = NULL;
        ck_assert_int_eq(watcher_new(&cfg, on_record, NULL, &w), 0);
        ck_assert_int_eq(watcher_scan(w), 0);
        for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
                const Cgroup *c = find_path(w, want[i].path);
                ck_assert_msg(c, "%s not modelled", want[i].path);
                ck_assert_msg(c->kind == want[i].kind, "%s: got %s, want %s", want[i].path,
                              cgroup_kind_to_string(c->kind), cgroup_kind_to_string(want[i].kind));
        }
        watcher_cgroup_identity(w, find_path(w, "/user.slice/user-1000.slice/kubepods/burstable/pod" UID), p,
                                sizeof(p), &id);
        ck_assert_ptr_null(id.namespace);
        ck_assert_ptr_null(id.pod);
        ck_assert_int_eq(id.qos, _QOS_INVALID);
        watcher_cgroup_identity(w, find_path(w, "/kubepods/burstable/pod" UID "/" CTR), p, sizeof(p), &id);
        ck_assert_str_eq(id.namespace, "shop");
        ck_assert_str_eq(id.pod, "web-1");
        ck_assert_int_eq(id.qos, QOS_BURSTABLE);
        watcher_free(w);

        /* kubelet --cgroup-root: only the configured root counts, the defaults do not. */
        cfg.kubepods_root = "/x.scope/kubepods.slice";
        ck_assert_int_eq(watcher_new(&cfg, on_record, NULL, &w), 0);
        ck_assert_int_eq(watcher_scan(w), 0);
        ck_assert_int_eq(find_path(w, "/kubepods")->kind, CGROUP_KIND_OTHER);
        ck_assert_int_eq(find_path(w, "/kubepods/burstable/pod" UID)->kind, CGROUP_KIND_OTHER);
        ck_assert_int_eq(find_path(w, "/x.scope/kubepods.slice")->kind, CGROUP_KIND_KUBEPODS);
        const Cgroup *pod =
                find_path(w, "/x.scope/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_SD
                             ".slice");
        ck_assert_int_eq(pod->kind, CGROUP_KIND_POD);
        watcher_cgroup_identity(w, pod, p, sizeof(p), &id);
        ck_assert_str_eq(id.namespace, "shop");
        ck_assert_int_eq(id.qos, QOS_BURSTABLE);
        /* The same at run time, through inotify. */
        mkcg("x.scope/kubepods.slice/kubepods-pod" UID_SD ".slice", "max\n");
        mkcg("user.slice/user-1000.slice/kubepods/pod" UID "x", "max\n");
        drain(w);
        pod = find_path(w, "/x.scope/kubepods.slice/kubepods-pod" UID_SD ".slice");
        ck_assert_int_eq(pod->kind, CGROUP_KIND_POD);
        watcher_cgroup_identity(w, pod, p, sizeof(p), &id);
        ck_assert_int_eq(id.qos, QOS_GUARANTEED);
        ck_assert_int_eq(find_path(w, "/user.slice/user-1000.slice/kubepods/pod" UID "x")->kind,
                         CGROUP_KIND_OTHER);
        teardown(w);
}
END_TEST

/* kubelet's log directories, in a temp directory of their own. */
static char logroot[64];

static void logs_make(void)
{
        strcpy(logroot, "/tmp/mw-logs-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(logroot));
}

static void logs_remove(void)
{
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", logroot);
        ck_assert_int_eq(system(cmd), 0);
}

static void log_mkdir(const char *rel)
{
        char cmd[1024];
        snprintf(cmd, sizeof(cmd), "mkdir -p '%s/%s'", logroot, rel);
        ck_assert_int_eq(system(cmd), 0);
}

static void log_touch(const char *rel)
{
        char p[1024];
        snprintf(p, sizeof(p), "%s/%s", logroot, rel);
        int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        ck_assert_msg(fd >= 0, "open %s: %m", p);
        close(fd);
}

static const char *log_path(const char *rel, char *buf, size_t size)
{
        snprintf(buf, size, "%s/%s", logroot, rel);
        return buf;
}

/* A cgroupfs-driver kubepods tree; the log directories as given. */
static Watcher *setup_kube(WatcherConfig *cfg, const char *pods, const char *containers)
{
        Watcher *w;

        n_seen = 0;
        strcpy(root, "/tmp/mw-watch-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(root));
        put(".", "cgroup.controllers", "cpu memory\n");
        mkcg("kubepods", "max\n");
        mkcg("kubepods/burstable", "max\n");
        cfg->root = root;
        cfg->psi = false;
        cfg->pod_log_dir = pods;
        cfg->container_log_dir = containers;
        ck_assert_int_eq(watcher_new(cfg, on_record, NULL, &w), 0);
        ck_assert_int_eq(watcher_scan(w), 0);
        return w;
}

static uint64_t w_read_usage(void *u, const Cgroup *c)
{
        return watcher_read_current(u, c);
}

static void w_identity(void *u, const Cgroup *c, char *buf, size_t size, CgroupIdentity *ret)
{
        watcher_cgroup_identity(u, c, buf, size, ret);
}

static unsigned w_n_slots(void *u)
{
        return watcher_n_slots(u);
}

static const Cgroup *w_slot(void *u, unsigned i)
{
        return watcher_slot(u, i);
}

static void on_decision(const EngineDecision *d, void *userdata)
{
        (void)d, (void)userdata;
}

#define UID2 "99999999-1111-2222-3333-444455556666"
#define POD  "kubepods/burstable/pod" UID
#define POD2 "kubepods/burstable/pod" UID2
#define NS_POLICY                                                                                           \
        "apiVersion: memwarden/v1\nkind: Policy\nmetadata: {name: shop}\nspec:\n"                           \
        "  match: {namespace: shop}\n"                                                                      \
        "  triggers: {any: [{memoryEvents: {counter: oom_kill, increase: 1, window: 1m}}]}\n"               \
        "  actions: [{type: notify}]\n"

/* kubelet makes the pod's cgroup first and its log directory a moment
 * later: the names come by inotify, an identity record says so, and the
 * engine binds the pod to its namespace's policy then, not at the next SIGHUP. */
START_TEST(test_names_after_cgroup)
{
        WatcherConfig cfg = WATCHER_CONFIG_DEFAULT;
        char pods[128], ctrs[128];
        PolicyErrors errors = {};
        PolicySet set = {};
        CgroupIdentity id;
        char p[PATH_MAX];

        logs_make();
        log_mkdir("pods");
        log_mkdir("containers");
        Watcher *w = setup_kube(&cfg, log_path("pods", pods, sizeof(pods)),
                                log_path("containers", ctrs, sizeof(ctrs)));
        engine = engine_new(&(EngineHost){ .userdata = w,
                                           .read_usage = w_read_usage,
                                           .identity = w_identity,
                                           .n_slots = w_n_slots,
                                           .slot = w_slot },
                            on_decision, NULL);
        ck_assert_ptr_nonnull(engine);
        ck_assert_int_eq(policy_load_buffer(&set, "t.yaml", NS_POLICY, strlen(NS_POLICY), NULL, &errors), 0);
        engine_set_policies(engine, &set, now_usec(CLOCK_MONOTONIC));

        mkcg(POD, "max\n");
        mkcg(POD "/" CTR, "1048576\n");
        drain(w);
        const Cgroup *pod = find_path(w, "/" POD), *ctr = find_path(w, "/" POD "/" CTR);
        ck_assert_ptr_nonnull(pod);
        ck_assert_ptr_nonnull(ctr);
        ck_assert_uint_eq(count(RECORD_CGROUP_ADDED, "/" POD), 1);
        ck_assert_uint_eq(count(RECORD_IDENTITY, NULL), 0);
        ck_assert_str_eq(pod->pod_namespace, "");
        ck_assert_ptr_null(engine_policy_of(engine, pod, false, NULL));

        log_mkdir("pods/shop_web-1_" UID);
        drain(w);
        ck_assert_uint_eq(count(RECORD_IDENTITY, "/" POD), 1);
        ck_assert_uint_eq(count(RECORD_IDENTITY, "/" POD "/" CTR), 1); /* its containers are the pod's */
        ck_assert_ptr_nonnull(strstr(last(RECORD_IDENTITY, "/" POD)->json, "\"namespace\":\"shop\""));
        ck_assert_ptr_nonnull(strstr(last(RECORD_IDENTITY, "/" POD)->json, "\"pod\":\"web-1\""));
        ck_assert_str_eq(pod->pod_name, "web-1");
        watcher_cgroup_identity(w, pod, p, sizeof(p), &id);
        ck_assert_str_eq(id.namespace, "shop");
        ck_assert_ptr_nonnull(engine_policy_of(engine, pod, false, NULL));
        ck_assert_str_eq(engine_policy_of(engine, pod, false, NULL)->name, "shop");
        ck_assert_ptr_nonnull(engine_policy_of(engine, ctr, false, NULL));
        ck_assert_uint_eq(watcher_next_usec(w), 0); /* nothing left due */

        /* The container's name: kubelet's link comes after the container started. */
        log_touch("containers/web-1_shop_app-" CTR ".log");
        drain(w);
        ck_assert_uint_eq(count(RECORD_IDENTITY, "/" POD "/" CTR), 2);
        ck_assert_ptr_nonnull(strstr(last(RECORD_IDENTITY, "/" POD "/" CTR)->json, "\"container\":\"app\""));
        ck_assert_str_eq(ctr->container_name, "app");

        /* Hostile entry names name nobody. */
        mkcg(POD2, "max\n");
        drain(w);
        static const char *const hostile[] = {
                "pods/x",
                "pods/shop_" UID2,
                "pods/shop_web..1_" UID2,
                "pods/shop_web-1_99999999-1111-2222-3333-44445555666A",
                "pods/shop_web-1_" UID2 "0",
                "pods/shop_web-1_99999999_1111_2222_3333_444455556666",
                "pods/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa_web_" UID2,
                "pods/.._.._" UID2,
                "pods/Shop_web_" UID2,
                "pods/team_api_11111111-1111-2222-3333-444455556666", /* nobody's */
        };
        for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++)
                log_mkdir(hostile[i]);
        log_touch("pods/team_api_" UID2); /* a file, not a directory */
        log_touch("containers/" CTR ".log");
        log_mkdir("containers/web-1_shop_app2-" CTR ".log"); /* a directory */
        drain(w);
        const Cgroup *pod2 = find_path(w, "/" POD2);
        ck_assert_uint_eq(count(RECORD_IDENTITY, "/" POD2), 0);
        ck_assert_str_eq(pod2->pod_namespace, "");
        log_mkdir("pods/team_api_" UID2 "-x/..");
        log_mkdir("pods/team_api-2_" UID2);
        drain(w);
        ck_assert_uint_eq(count(RECORD_IDENTITY, "/" POD2), 1);
        ck_assert_str_eq(pod2->pod_namespace, "team");
        ck_assert_str_eq(pod2->pod_name, "api-2");
        ck_assert_ptr_null(engine_policy_of(engine, pod2, false, NULL)); /* another namespace's */

        /* A static pod: its UID is kubelet's hash of the manifest. */
        mkcg("kubepods/burstable/pod0a1b2c3d11112222333344445555666f", "max\n");
        drain(w);
        log_mkdir("pods/shop_etcd-n1_0a1b2c3d11112222333344445555666f");
        drain(w);
        const Cgroup *spod = find_path(w, "/kubepods/burstable/pod0a1b2c3d11112222333344445555666f");
        ck_assert_str_eq(spod->pod_name, "etcd-n1");
        ck_assert_ptr_nonnull(engine_policy_of(engine, spod, false, NULL));

        engine = engine_free(engine);
        policy_set_done(&set);
        teardown(w);
        logs_remove();
}
END_TEST

/* What a policy matches is watched whatever --watch says: a namespace's
 * policy matches a pod's unlimited container only once kubelet's names say
 * whose it is; from its identity record on it is watched (and bound), before
 * that and for another namespace's pod it is not. */
static PolicySet *want_set;
static Watcher *want_w;

static bool want_matched(void *u, const Cgroup *c)
{
        char buf[PATH_MAX];
        CgroupIdentity id;

        (void)u;
        watcher_cgroup_identity(want_w, c, buf, sizeof(buf), &id);
        return want_set && policy_set_matches_any(want_set, &id);
}

START_TEST(test_names_make_watched)
{
        WatcherConfig cfg = WATCHER_CONFIG_DEFAULT;
        char pods[128], ctrs[128];
        PolicyErrors errors = {};
        PolicySet set = {};

        logs_make();
        log_mkdir("pods");
        log_mkdir("containers");
        ck_assert_int_eq(policy_load_buffer(&set, "t.yaml", NS_POLICY, strlen(NS_POLICY), NULL, &errors), 0);
        want_set = &set;
        /* setup_kube scans at once: the hook must be in place first, so do it by hand */
        n_seen = 0;
        strcpy(root, "/tmp/mw-watch-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(root));
        put(".", "cgroup.controllers", "cpu memory\n");
        mkcg("kubepods", "max\n");
        mkcg("kubepods/burstable", "max\n");
        cfg.root = root;
        cfg.psi = false;
        cfg.pod_log_dir = log_path("pods", pods, sizeof(pods));
        cfg.container_log_dir = log_path("containers", ctrs, sizeof(ctrs));
        Watcher *w;
        ck_assert_int_eq(watcher_new(&cfg, on_record, NULL, &w), 0);
        want_w = w;
        watcher_set_want(w, want_matched, NULL);
        ck_assert_int_eq(watcher_scan(w), 0);
        engine = engine_new(&(EngineHost){ .userdata = w,
                                           .read_usage = w_read_usage,
                                           .identity = w_identity,
                                           .n_slots = w_n_slots,
                                           .slot = w_slot },
                            on_decision, NULL);
        engine_set_policies(engine, &set, now_usec(CLOCK_MONOTONIC));

        mkcg(POD, "max\n");
        mkcg(POD "/" CTR, "max\n");
        mkcg(POD2, "max\n");
        mkcg(POD2 "/" CTR, "max\n");
        drain(w);
        const Cgroup *ctr = find_path(w, "/" POD "/" CTR), *ctr2 = find_path(w, "/" POD2 "/" CTR);
        ck_assert(!ctr->watched);
        ck_assert_ptr_null(engine_policy_of(engine, ctr, false, NULL));
        log_mkdir("pods/shop_web-1_" UID);
        log_mkdir("pods/team_api_" UID2);
        drain(w);
        ck_assert(ctr->watched);
        ck_assert_ptr_nonnull(engine_policy_of(engine, ctr, false, NULL));
        ck_assert(!ctr2->watched); /* another namespace's: no policy matches it */

        /* The policy goes: back to the selection (a container without limits: unwatched). */
        want_set = NULL;
        watcher_reevaluate(w);
        engine_set_policies(engine, NULL, now_usec(CLOCK_MONOTONIC));
        ck_assert(!ctr->watched);

        engine = engine_free(engine);
        policy_set_done(&set);
        teardown(w);
        logs_remove();
}
END_TEST

/* A tenant's cgroups inside its container: a nested cgroup named like a
 * container (an id of its choosing, maybe another pod's) is not one, takes
 * no name, and a container takes its name only from an entry of its own
 * pod and namespace, even when the entry comes before the pod's names. */
#define CTR2 "fedcba9876543210"
#define CTR3 "00112233445566778899"
#define UID3 "33333333-1111-2222-3333-444455556666"
#define POD3 "kubepods/burstable/pod" UID3

START_TEST(test_nested_containers)
{
        WatcherConfig cfg = WATCHER_CONFIG_DEFAULT;
        char pods[128], ctrs[128], p[PATH_MAX];
        CgroupIdentity id;

        logs_make();
        log_mkdir("pods/shop_web-1_" UID);
        log_mkdir("pods/team_api_" UID2);
        log_mkdir("containers");
        log_touch("containers/web-1_shop_app-" CTR ".log");
        log_touch("containers/api_team_secret-" CTR2 ".log");
        log_touch("containers/web-2_shop_other-" CTR2 ".log"); /* same namespace, another pod */
        Watcher *w = setup_kube(&cfg, log_path("pods", pods, sizeof(pods)),
                                log_path("containers", ctrs, sizeof(ctrs)));
        mkcg(POD, "max\n");
        mkcg(POD2, "max\n");
        mkcg(POD "/" CTR, "max\n");
        mkcg(POD "/" CTR "/" CTR2, "max\n");
        mkcg(POD "/" CTR "/cri-containerd-" CTR2 ".scope", "max\n");
        mkcg(POD "/" CTR "/x", "max\n");
        mkcg(POD "/" CTR "/x/" CTR2, "max\n");
        mkcg(POD "/" CTR2, "max\n"); /* a container of web-1 with team's id */
        drain(w);

        static const char *const nested[] = { "/" POD "/" CTR "/" CTR2,
                                              "/" POD "/" CTR "/cri-containerd-" CTR2 ".scope",
                                              "/" POD "/" CTR "/x/" CTR2 };
        for (size_t i = 0; i < sizeof(nested) / sizeof(nested[0]); i++) {
                const Cgroup *c = find_path(w, nested[i]);
                ck_assert_msg(c && c->kind != CGROUP_KIND_CONTAINER && !c->container_name, "%s", nested[i]);
                watcher_cgroup_identity(w, c, p, sizeof(p), &id);
                /* In the pod it was made in (its own namespace's policies apply), but no
                 * container, and never another pod's container name. */
                ck_assert_ptr_null(id.container);
                ck_assert_str_eq(id.pod, "web-1");
                ck_assert_str_eq(id.namespace, "shop");
        }
        ck_assert_int_eq(find_path(w, "/" POD "/" CTR "/x")->kind, CGROUP_KIND_OTHER);
        watcher_cgroup_identity(w, find_path(w, "/" POD "/" CTR), p, sizeof(p), &id);
        ck_assert_str_eq(id.container, "app");
        ck_assert_str_eq(id.pod, "web-1");
        const Cgroup *c2 = find_path(w, "/" POD "/" CTR2);
        ck_assert_int_eq(c2->kind, CGROUP_KIND_CONTAINER);
        watcher_cgroup_identity(w, c2, p, sizeof(p), &id);
        ck_assert_ptr_null(id.container); /* neither team's "secret" nor web-2's "other" */
        ck_assert_str_eq(id.namespace, "shop");
        /* Its own pod's entry does name it, by inotify. */
        log_touch("containers/web-1_shop_sidecar-" CTR2 ".log");
        drain(w);
        ck_assert_str_eq(c2->container_name, "sidecar");

        /* The container's entry before its pod's names: named when the pod is. */
        mkcg(POD3, "max\n");
        mkcg(POD3 "/" CTR3, "max\n");
        drain(w);
        log_touch("containers/late_shop_c3-" CTR3 ".log");
        drain(w);
        const Cgroup *c3 = find_path(w, "/" POD3 "/" CTR3);
        ck_assert_str_eq(c3->container_name, "");
        log_mkdir("pods/shop_late_" UID3);
        drain(w);
        ck_assert_str_eq(c3->container_name, "c3");
        ck_assert_ptr_nonnull(
                strstr(last(RECORD_IDENTITY, "/" POD3 "/" CTR3)->json, "\"container\":\"c3\""));
        teardown(w);
        logs_remove();
}
END_TEST

/* kubelet makes /var/log/pods with its first pod's directory (MkdirAll):
 * waited for through its parent; where that is missing too, retried when a
 * pod cgroup appears and at rescans. A directory removed is waited for again. */
START_TEST(test_log_dir_later)
{
        WatcherConfig cfg = WATCHER_CONFIG_DEFAULT;
        char pods[128], ctrs[128];

        logs_make();
        log_mkdir("var/log");
        Watcher *w = setup_kube(&cfg, log_path("var/log/pods", pods, sizeof(pods)),
                                log_path("var/log/containers", ctrs, sizeof(ctrs)));
        mkcg(POD, "max\n");
        drain(w);
        ck_assert_str_eq(find_path(w, "/" POD)->pod_namespace, "");
        log_mkdir("var/log/pods/shop_web-1_" UID);
        drain(w);
        ck_assert_uint_eq(count(RECORD_IDENTITY, "/" POD), 1);
        ck_assert_str_eq(find_path(w, "/" POD)->pod_namespace, "shop");
        /* Watched from now on: the next pod comes by its own event. */
        mkcg(POD2, "max\n");
        drain(w);
        log_mkdir("var/log/pods/team_api_" UID2);
        drain(w);
        ck_assert_uint_eq(count(RECORD_IDENTITY, "/" POD2), 1);
        /* The directory goes and comes back. */
        rmcg(POD2);
        log_mkdir("var/log/containers");
        drain(w);
        {
                char cmd[300];
                snprintf(cmd, sizeof(cmd), "rm -rf '%s'", pods);
                ck_assert_int_eq(system(cmd), 0);
        }
        drain(w);
        mkcg(POD2, "max\n");
        drain(w);
        log_mkdir("var/log/pods/team_api_" UID2);
        drain(w);
        ck_assert_uint_eq(count(RECORD_IDENTITY, "/" POD2), 2);
        /* With its parent: found again at the next rescan. */
        rmcg(POD2);
        drain(w);
        logs_remove();
        drain(w);
        mkcg(POD2, "max\n");
        drain(w);
        log_mkdir("var/log/pods/team_api_" UID2);
        drain(w);
        ck_assert_uint_eq(count(RECORD_IDENTITY, "/" POD2), 2);
        ck_assert_int_eq(watcher_rescan(w), 0);
        ck_assert_uint_eq(count(RECORD_IDENTITY, "/" POD2), 3);
        ck_assert_str_eq(find_path(w, "/" POD2)->pod_namespace, "team");
        teardown(w);
        logs_remove();

        /* Parent missing: a new pod cgroup makes the watcher look again. */
        logs_make();
        w = setup_kube(&cfg, log_path("a/b/pods", pods, sizeof(pods)), NULL);
        mkcg(POD, "max\n");
        drain(w);
        log_mkdir("a/b/pods/shop_web-1_" UID);
        drain(w);
        ck_assert_uint_eq(count(RECORD_IDENTITY, NULL), 0);
        mkcg(POD2, "max\n");
        drain(w);
        ck_assert_uint_eq(count(RECORD_IDENTITY, "/" POD), 1);
        log_mkdir("a/b/pods/team_api_" UID2);
        drain(w);
        ck_assert_uint_eq(count(RECORD_IDENTITY, "/" POD2), 1);
        teardown(w);
        logs_remove();
}
END_TEST

/* --max-cgroups full of junk: what came meanwhile is picked up when the junk
 * goes, at most once per WATCHER_REFILL_USEC, through the deadline. */
START_TEST(test_refill)
{
        WatcherConfig cfg = WATCHER_CONFIG_DEFAULT;
        WatcherStats st;
        Watcher *w;

        cfg.max_cgroups = 7;
        w = setup_watcher(&cfg); /* 5 */
        mkcg("junk1", "max\n");
        mkcg("junk2", "max\n");
        drain(w);
        mkcg("pod.slice", "max\n");
        mkcg("pod.slice/c.service", "max\n");
        drain(w);
        watcher_get_stats(w, &st);
        ck_assert_uint_eq(st.n_cgroups, 7);
        ck_assert_uint_eq(st.n_dropped_cgroups, 1);
        ck_assert_uint_eq(watcher_next_usec(w), 0); /* no room: nothing to do */
        rmcg("junk1");
        rmcg("junk2");
        drain(w);
        ck_assert_uint_eq(count(RECORD_CGROUP_ADDED, "/pod.slice"), 0);
        uint64_t next = watcher_next_usec(w);
        ck_assert_uint_ne(next, 0);
        watcher_tick(w, next - 1);
        ck_assert_uint_eq(count(RECORD_CGROUP_ADDED, "/pod.slice"), 0);
        watcher_tick(w, next);
        ck_assert_uint_eq(count(RECORD_CGROUP_ADDED, "/pod.slice"), 1);
        ck_assert_uint_eq(count(RECORD_CGROUP_ADDED, "/pod.slice/c.service"), 1);
        ck_assert(last(RECORD_CGROUP_ADDED, "/pod.slice")->watched);
        ck_assert_uint_eq(count(RECORD_RESCAN, "/"), 1);
        ck_assert_uint_eq(watcher_next_usec(w), 0);
        watcher_get_stats(w, &st);
        ck_assert_uint_eq(st.n_cgroups, 7);

        /* Again at once: not before WATCHER_REFILL_USEC after the last one. */
        mkcg("late.slice", "max\n");
        drain(w);
        rmcg("pod.slice");
        drain(w);
        next = watcher_next_usec(w);
        ck_assert_uint_ge(next, now_usec(CLOCK_MONOTONIC) + WATCHER_REFILL_USEC / 2);
        watcher_tick(w, next);
        ck_assert_uint_eq(count(RECORD_CGROUP_ADDED, "/late.slice"), 1);
        ck_assert_uint_eq(count(RECORD_RESCAN, "/"), 2);
        /* Nothing left out: a removal schedules nothing. */
        rmcg("late.slice");
        drain(w);
        ck_assert_uint_eq(watcher_next_usec(w), 0);
        teardown(w);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("watcher");
        TCase *tc = tcase_create("fake-tree");
        tcase_add_test(tc, test_scan_and_select);
        tcase_add_test(tc, test_counters);
        tcase_add_test(tc, test_appear_vanish);
        tcase_add_test(tc, test_limits_change);
        tcase_add_test(tc, test_controller_enabled_later);
        tcase_add_test(tc, test_hostile_names);
        tcase_add_test(tc, test_max_cgroups);
        tcase_add_test(tc, test_rescan);
        tcase_add_test(tc, test_missing_root);
        tcase_add_test(tc, test_v1);
        tcase_add_test(tc, test_kubepods_layouts);
        tcase_add_test(tc, test_names_after_cgroup);
        tcase_add_test(tc, test_names_make_watched);
        tcase_add_test(tc, test_nested_containers);
        tcase_add_test(tc, test_log_dir_later);
        tcase_add_test(tc, test_refill);
        suite_add_tcase(s, tc);
        /* Thousands of directories made and removed on a real file system. */
        tc = tcase_create("bounds");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_deep_tree);
        tcase_add_test(tc, test_long_paths);
        suite_add_tcase(s, tc);
        return s;
}

MW_TEST_MAIN(suite)
