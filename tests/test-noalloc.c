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
static unsigned n_records, n_format_failures;
static char out[4096];

/* No ck_assert in the counted window: Check's assertions allocate. */
static void on_record(Watcher *w, const Record *r, void *userdata)
{
        size_t len;

        (void)w, (void)userdata;
        if (record_format_json(r, out, sizeof(out), &len) < 0)
                n_format_failures++;
        n_records++;
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

static Suite *suite(void)
{
        Suite *s = suite_create("noalloc");
        TCase *tc = tcase_create("event-path");
        tcase_add_test(tc, test_event_path_allocates_nothing);
        suite_add_tcase(s, tc);
        return s;
}

MW_TEST_MAIN(suite)
