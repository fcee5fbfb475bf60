/* SPDX-License-Identifier: MIT */
/* The event path allocates nothing: with malloc, calloc and realloc wrapped
 * (-Wl,--wrap), counters changing in watched cgroups and PSI-like events are
 * processed and formatted into records with zero allocations. */
#include <check.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test-main.h"
#include "watcher.h"

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);

static unsigned long n_allocs;

void *__wrap_malloc(size_t size)
{
        n_allocs++;
        return __real_malloc(size);
}

void *__wrap_calloc(size_t n, size_t size)
{
        n_allocs++;
        return __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t size)
{
        n_allocs++;
        return __real_realloc(p, size);
}

static char root[64];
static unsigned n_records, n_format_failures, n_identity;
static char out[4096];

/* No ck_assert in the counted window: Check's assertions allocate. */
static void on_record(Watcher *w, const Record *r, void *userdata)
{
        size_t len;

        (void)w, (void)userdata;
        if (record_format_json(r, out, sizeof(out), &len) < 0)
                n_format_failures++;
        n_records++;
        n_identity += r->type == RECORD_IDENTITY;
}

/* Without ck_assert: it is used inside the counted window too. */
static bool put(const char *rel, const char *file, const char *text)
{
        char p[512];
        bool ok;
        int fd;

        snprintf(p, sizeof(p), "%s/%s/%s", root, rel, file);
        fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                return false;
        ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
        close(fd);
        return ok;
}

START_TEST(test_event_path_allocates_nothing)
{
        WatcherConfig cfg = WATCHER_CONFIG_DEFAULT;
        char p[256], text[200];
        Watcher *w;

        strcpy(root, "/tmp/mw-noalloc-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(root));
        put(".", "cgroup.controllers", "memory\n");
        for (int i = 0; i < 20; i++) {
                char rel[32];
                snprintf(rel, sizeof(rel), "s%d.slice", i);
                snprintf(p, sizeof(p), "%s/%s", root, rel);
                ck_assert_int_eq(mkdir(p, 0755), 0);
                put(rel, "memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n");
                put(rel, "memory.events.local",
                    "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n");
                put(rel, "memory.high", "1048576\n");
                put(rel, "memory.max", "max\n");
                put(rel, "memory.current", "4096\n");
                put(rel, "cgroup.events", "populated 0\nfrozen 0\n");
        }
        cfg.root = root;
        cfg.psi = false;
        cfg.pod_log_dir = NULL;
        cfg.container_log_dir = NULL;
        ck_assert_int_eq(watcher_new(&cfg, on_record, NULL, &w), 0);
        ck_assert_int_eq(watcher_scan(w), 0);

        int failures = 0;
        n_allocs = 0;
        n_records = 0;
        for (int round = 1; round <= 50; round++) {
                char rel[32];
                snprintf(rel, sizeof(rel), "s%d.slice", round % 20);
                snprintf(text, sizeof(text),
                         "low 0\nhigh %d\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\nnew_key %d\n", round,
                         round);
                if (!put(rel, "memory.events", text) || !put(rel, "memory.events.local", text) ||
                    !put(rel, "cgroup.events",
                         round % 2 ? "populated 1\nfrozen 0\n" : "populated 0\nfrozen 0\n") ||
                    watcher_process_inotify(w) < 0)
                        failures++;
        }
        unsigned long counted = n_allocs;
        ck_assert_int_eq(failures, 0);
        ck_assert_uint_eq(n_format_failures, 0);
        /* put() itself does not allocate; everything counted came from the watcher. */
        ck_assert_uint_ge(n_records, 50);
        ck_assert_msg(counted == 0, "%lu allocations on the event path", counted);

        watcher_free(w);
        snprintf(p, sizeof(p), "rm -rf '%s'", root);
        ck_assert_int_eq(system(p), 0);
}
END_TEST

static bool mkcg(const char *rel)
{
        char p[512];

        snprintf(p, sizeof(p), "%s/%s", root, rel);
        return mkdir(p, 0755) == 0 &&
               put(rel, "memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n") &&
               put(rel, "memory.high", "max\n") && put(rel, "memory.max", "max\n");
}

#define UID "0a1b2c3d-1111-2222-3333-444455556666"
#define CTR "0123456789abcdef"

/* A pod's names learned from kubelet's log directories (the room for them
 * was set aside when its cgroup appeared) and told in identity records. */
START_TEST(test_names_allocate_nothing)
{
        WatcherConfig cfg = WATCHER_CONFIG_DEFAULT;
        char p[512], pods[128], ctrs[128];
        Watcher *w;

        strcpy(root, "/tmp/mw-noalloc-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(root));
        put(".", "cgroup.controllers", "memory\n");
        char logs[] = "/tmp/mw-noalloc-logs-XXXXXX";
        ck_assert_ptr_nonnull(mkdtemp(logs));
        snprintf(pods, sizeof(pods), "%s/pods", logs);
        snprintf(ctrs, sizeof(ctrs), "%s/containers", logs);
        ck_assert(mkdir(pods, 0755) == 0 && mkdir(ctrs, 0755) == 0);
        ck_assert(mkcg("kubepods") && mkcg("kubepods/burstable"));
        cfg.root = root;
        cfg.psi = false;
        cfg.pod_log_dir = pods;
        cfg.container_log_dir = ctrs;
        ck_assert_int_eq(watcher_new(&cfg, on_record, NULL, &w), 0);
        ck_assert_int_eq(watcher_scan(w), 0);
        ck_assert(mkcg("kubepods/burstable/pod" UID) && mkcg("kubepods/burstable/pod" UID "/" CTR));
        ck_assert_int_ge(watcher_process_inotify(w), 0);

        n_allocs = 0;
        n_records = 0;
        snprintf(p, sizeof(p), "%s/shop_web-1_" UID, pods);
        bool ok = mkdir(p, 0755) == 0 && watcher_process_inotify(w) >= 0;
        snprintf(p, sizeof(p), "%s/web-1_shop_app-" CTR ".log", ctrs);
        int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        ok = ok && fd >= 0 && close(fd) == 0 && watcher_process_inotify(w) >= 0;
        unsigned long counted = n_allocs;
        ck_assert(ok);
        ck_assert_uint_eq(n_records, 3); /* pod, container; the container again, named */
        ck_assert_uint_eq(n_identity, 3);
        ck_assert_msg(counted == 0, "%lu allocations learning names", counted);

        watcher_free(w);
        snprintf(p, sizeof(p), "rm -rf '%s' '%s'", root, logs);
        ck_assert_int_eq(system(p), 0);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("noalloc");
        TCase *tc = tcase_create("event-path");
        tcase_add_test(tc, test_event_path_allocates_nothing);
        tcase_add_test(tc, test_names_allocate_nothing);
        suite_add_tcase(s, tc);
        return s;
}

MW_TEST_MAIN(suite)
