/* SPDX-License-Identifier: MIT */
/* The policy loader thread (daemon/policy-loader.c) on temp dirs, driven
 * from a private sd-event loop as the daemon drives it: results come back
 * through the fd, requests made during a load are coalesced into one more,
 * the caller's loop keeps running while a load runs, and stop cancels a
 * long load. Ordering is forced with a gate in the budget's clock (the
 * thread waits there until the test opens it), not with timings. */
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "macro.h"
#include "policy-loader.h"
#include "test-main.h"

static char root[256];

#define POL(name)                                                                                           \
        "apiVersion: memwarden/v1\nkind: Policy\nmetadata: {name: " name "}\nspec:\n  match: {pod: \"" name \
        "\"}\n"                                                                                             \
        "  triggers: {any: [{memoryEvents: {counter: oom_kill}}]}\n  actions: [{type: notify}]\n"

static void put(const char *rel, const char *text)
{
        char path[512];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", root, rel);
        f = fopen(path, "w");
        ck_assert_ptr_nonnull(f);
        fputs(text, f);
        fclose(f);
}

static void mkd(const char *rel)
{
        char path[512];

        snprintf(path, sizeof(path), "%s/%s", root, rel);
        ck_assert_int_eq(mkdir(path, 0755), 0);
}

/* n_ns namespaces of 32 files, each just under 256 KiB of policies (250
 * documents: parsed and compiled, then refused as too many for a namespace). */
static void big_tree(int n_ns)
{
        char doc[1024], name[64], *text = malloc(POLICY_DIR_FILE_MAX);
        size_t len = 0;

        ck_assert_ptr_nonnull(text);
        for (int i = 0; i < 250; i++) {
                int n = snprintf(
                        doc, sizeof(doc),
                        "---\napiVersion: memwarden/v1\nkind: Policy\nmetadata: {name: p%d, "
                        "description: \"%0600d\"}\nspec:\n  match: {pod: \"web-*\"}\n  triggers: {any: "
                        "[{memoryEvents: {counter: oom_kill}}]}\n  actions: [{type: notify}]\n",
                        i, i);
                ck_assert_uint_lt(len + (size_t)n, POLICY_DIR_FILE_MAX);
                memcpy(text + len, doc, (size_t)n);
                len += (size_t)n;
        }
        text[len] = '\0';
        for (int n = 0; n < n_ns; n++) {
                snprintf(name, sizeof(name), "n%d", n);
                mkd(name);
                for (int i = 0; i < POLICY_DIR_FILES_MAX; i++) {
                        snprintf(name, sizeof(name), "n%d/f%02d.yaml", n, i);
                        put(name, text);
                }
        }
        free(text);
}

static void setup(void)
{
        snprintf(root, sizeof(root), "/tmp/mw-policy-loader-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(root));
}

static void teardown(void)
{
        char cmd[300];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
        ck_assert_int_eq(system(cmd), 0);
}

/* The budget's clock, read first when a load starts: the thread waits here
 * until the gate is open. */
typedef struct Gate {
        pthread_mutex_t lock;
        pthread_cond_t cond;
        bool open;
        unsigned n_entered; /* loads that reached the gate */
} Gate;

static Gate gate = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, 0 };

static uint64_t gate_now(void *userdata)
{
        Gate *g = userdata;

        pthread_mutex_lock(&g->lock);
        g->n_entered++;
        pthread_cond_broadcast(&g->cond);
        while (!g->open)
                pthread_cond_wait(&g->cond, &g->lock);
        pthread_mutex_unlock(&g->lock);
        return now_usec(CLOCK_MONOTONIC);
}

static void gate_wait_entered(Gate *g, unsigned n)
{
        pthread_mutex_lock(&g->lock);
        while (g->n_entered < n)
                pthread_cond_wait(&g->cond, &g->lock);
        pthread_mutex_unlock(&g->lock);
}

static void gate_set(Gate *g, bool open)
{
        pthread_mutex_lock(&g->lock);
        g->open = open;
        pthread_cond_broadcast(&g->cond);
        pthread_mutex_unlock(&g->lock);
}

static PolicyLoader *loader_new(const PolicyDirBudget *b)
{
        PolicyLoader *l = NULL;
        PolicyDir *d = NULL;

        ck_assert_int_eq(policy_dir_new(root, &d), 0);
        ck_assert_int_eq(policy_loader_start(d, b, &l), 0);
        return l;
}

/* Wait (poll, 30 s at most) for the fd and take a result. */
static PolicyLoadResult *wait_result(PolicyLoader *l)
{
        PolicyLoadResult *res = NULL;

        for (int i = 0; i < 100 && !res; i++) {
                struct pollfd p = { .fd = policy_loader_fd(l), .events = POLLIN };
                ck_assert_int_ge(poll(&p, 1, 300), 0);
                ck_assert_int_ge(policy_loader_take(l, &res), 0);
        }
        ck_assert_ptr_nonnull(res);
        return res;
}

START_TEST(test_load_and_take)
{
        PolicyLoader *l;
        PolicyLoadResult *res = NULL;

        mkd("shop");
        put("shop/a.yaml", POL("a"));
        put("admin.yaml", "not: [valid");
        l = loader_new(NULL);
        ck_assert(!policy_loader_busy(l));
        ck_assert_int_eq(policy_loader_take(l, &res), 0);
        ck_assert_ptr_null(res);
        policy_loader_request(l);
        res = wait_result(l);
        ck_assert_int_eq(res->r, -EINVAL);
        ck_assert_uint_eq(res->set.n, 1);
        ck_assert_uint_eq(res->stats.n_sources, 2);
        ck_assert_uint_eq(res->errors.n, 1);
        ck_assert_ptr_nonnull(strstr(res->errors.msg[0], "/admin.yaml:"));
        ck_assert_uint_eq(res->n_requests, 1);
        ck_assert(!policy_loader_busy(l));
        policy_load_result_free(res);

        /* The thread keeps the sources: a broken file keeps its last good set. */
        put("shop/a.yaml", "broken: [");
        policy_loader_request(l);
        res = wait_result(l);
        ck_assert_int_eq(res->r, -EINVAL);
        ck_assert_uint_eq(res->set.n, 1);
        ck_assert_str_eq(res->set.policies[0].name, "a");
        ck_assert_uint_eq(res->stats.n_failed, 2);
        policy_load_result_free(res);
        policy_loader_stop(l);
}
END_TEST

START_TEST(test_coalesce)
{
        PolicyLoader *l;
        PolicyLoadResult *res;

        put("a.yaml", POL("a"));
        gate_set(&gate, false);
        l = loader_new(&(PolicyDirBudget){ .now_usec = gate_now, .userdata = &gate });
        policy_loader_request(l);
        gate_wait_entered(&gate, 1); /* the first load is running (and will see b.yaml too) */
        put("b.yaml", POL("b"));
        for (int i = 0; i < 5; i++)
                policy_loader_request(l);
        ck_assert(policy_loader_busy(l));
        gate_set(&gate, true);

        res = wait_result(l);
        if (res->n_requests == 6) {
                /* Both loads ended before this take: the second replaced the first. */
                ck_assert_uint_eq(res->n_superseded, 1);
        } else {
                ck_assert_uint_eq(res->n_requests, 1);
                policy_load_result_free(res);
                res = wait_result(l);
                ck_assert_uint_eq(res->n_requests, 5); /* five requests, one load */
                ck_assert_uint_eq(res->n_superseded, 0);
        }
        ck_assert_uint_eq(res->set.n, 2);
        policy_load_result_free(res);
        ck_assert(!policy_loader_busy(l));
        pthread_mutex_lock(&gate.lock);
        ck_assert_uint_eq(gate.n_entered, 2 * 2); /* two loads, the clock read twice in each */
        pthread_mutex_unlock(&gate.lock);
        policy_loader_stop(l);
}
END_TEST

/* ---- the caller's loop keeps running during a load ---- */

typedef struct LoopCtx {
        sd_event *event;
        PolicyLoader *loader;
        PolicyLoadResult *res;
        unsigned n_ticks;       /* timer runs */
        unsigned n_ticks_busy;  /* ... while the load was running */
        unsigned ticks_to_open; /* open the gate at this tick; 0: no gate */
        uint64_t start_usec, max_gap_usec, last_tick_usec;
} LoopCtx;

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata)
{
        LoopCtx *c = userdata;
        uint64_t now = now_usec(CLOCK_MONOTONIC);

        (void)usec;
        c->n_ticks++;
        if (c->last_tick_usec && now - c->last_tick_usec > c->max_gap_usec)
                c->max_gap_usec = now - c->last_tick_usec;
        c->last_tick_usec = now;
        if (!c->res && policy_loader_busy(c->loader))
                c->n_ticks_busy++;
        if (c->ticks_to_open && c->n_ticks == c->ticks_to_open)
                gate_set(&gate, true);
        ck_assert_int_ge(sd_event_source_set_time_relative(s, 2 * USEC_PER_MSEC), 0);
        return 0;
}

static int on_loaded(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        LoopCtx *c = userdata;

        (void)s, (void)fd, (void)revents;
        if (policy_loader_take(c->loader, &c->res) == 1)
                return sd_event_exit(c->event, 0);
        return 0;
}

static void run_loop(LoopCtx *c)
{
        sd_event_source *tick = NULL, *io = NULL;

        ck_assert_int_ge(sd_event_new(&c->event), 0);
        ck_assert_int_ge(sd_event_add_time_relative(c->event, &tick, CLOCK_MONOTONIC, 2 * USEC_PER_MSEC, 1,
                                                    on_tick, c),
                         0);
        ck_assert_int_ge(sd_event_source_set_enabled(tick, SD_EVENT_ON), 0);
        ck_assert_int_ge(sd_event_add_io(c->event, &io, policy_loader_fd(c->loader), EPOLLIN, on_loaded, c),
                         0);
        c->start_usec = now_usec(CLOCK_MONOTONIC);
        policy_loader_request(c->loader);
        ck_assert_int_ge(sd_event_loop(c->event), 0);
        sd_event_source_disable_unref(tick);
        sd_event_source_disable_unref(io);
        c->event = sd_event_unref(c->event);
}

/* The load cannot end before the loop has run its timer 5 times: were the
 * load on the caller's thread, this would never end. */
START_TEST(test_loop_runs_during_load_gated)
{
        LoopCtx c = { .ticks_to_open = 5 };

        put("a.yaml", POL("a"));
        gate_set(&gate, false);
        c.loader = loader_new(&(PolicyDirBudget){ .now_usec = gate_now, .userdata = &gate });
        run_loop(&c);
        ck_assert_ptr_nonnull(c.res);
        ck_assert_int_eq(c.res->r, 0);
        ck_assert_uint_ge(c.n_ticks_busy, 5);
        policy_load_result_free(c.res);
        policy_loader_stop(c.loader);
}
END_TEST

/* Real work: 2 namespaces of 32 files of ~250 KiB (16 MiB), each read up
 * to its share of the load (2 MiB or 250 ms). The loop's 2 ms timer keeps
 * firing while it runs. */
START_TEST(test_loop_runs_during_big_load)
{
        LoopCtx c = {};
        uint64_t usec;

        big_tree(2);
        c.loader = loader_new(NULL);
        run_loop(&c);
        usec = now_usec(CLOCK_MONOTONIC) - c.start_usec;
        ck_assert_ptr_nonnull(c.res);
        fprintf(stderr,
                "big load: %s, %" PRIu64 " bytes in %" PRIu64 " ms; the loop ran its 2 ms timer %u times "
                "meanwhile, longest gap %" PRIu64 " ms\n",
                strerror(-c.res->r), c.res->stats.n_bytes, usec / 1000, c.n_ticks_busy,
                c.max_gap_usec / 1000);
        /* Each namespace past its share: its own error, not the load's. */
        ck_assert_int_eq(c.res->r, -EINVAL);
        ck_assert_uint_eq(c.res->stats.n_failed, 2);
        ck_assert_uint_le(c.res->stats.n_bytes, 2 * (POLICY_DIR_NS_BYTES_MAX + POLICY_DIR_FILE_MAX));
        /* Only an ordering claim: the timer ran while the load was running. */
        ck_assert_uint_ge(c.n_ticks_busy, 1);
        policy_load_result_free(c.res);
        policy_loader_stop(c.loader);
}
END_TEST

/* The loader's defaults isolate the sources: two namespaces named to be read
 * first, as big as the other bounds let them be, do not hold back the
 * admin's edit nor a later namespace's. */
START_TEST(test_hostile_namespaces_isolated)
{
        PolicyLoader *l;
        PolicyLoadResult *res;
        bool admin = false, zzz = false;

        big_tree(2);
        mkd("zzz");
        put("zzz/a.yaml", POL("z1"));
        put("admin.yaml", POL("a1"));
        l = loader_new(NULL);
        policy_loader_request(l);
        res = wait_result(l);
        ck_assert_int_eq(res->r, -EINVAL);
        ck_assert_uint_eq(res->set.n, 2); /* a first load: n0 and n1 have nothing */
        policy_load_result_free(res);

        put("zzz/a.yaml", POL("z2"));
        put("admin.yaml", POL("a2"));
        policy_loader_request(l);
        res = wait_result(l);
        ck_assert_int_eq(res->r, -EINVAL);
        ck_assert_uint_eq(res->stats.n_failed, 2);
        ck_assert_uint_eq(res->set.n, 2);
        for (size_t i = 0; i < res->set.n; i++) {
                admin |= !strcmp(res->set.policies[i].name, "a2");
                zzz |= !strcmp(res->set.policies[i].name, "z2");
        }
        ck_assert(admin && zzz);
        for (size_t i = 0; i < res->errors.n; i++)
                ck_assert_ptr_null(strstr(res->errors.msg[i], "abandoned"));
        policy_load_result_free(res);
        policy_loader_stop(l);
}
END_TEST

/* A load in progress is cancelled by stop: abandoned at its next check. */
START_TEST(test_stop_cancels)
{
        PolicyLoader *l;
        uint64_t t0;

        big_tree(2);
        gate_set(&gate, false);
        l = loader_new(&(PolicyDirBudget){ .now_usec = gate_now, .userdata = &gate });
        policy_loader_request(l);
        gate_wait_entered(&gate, 1);
        gate_set(&gate, true);
        t0 = now_usec(CLOCK_MONOTONIC);
        policy_loader_stop(l); /* joins: the test's timeout catches a hang */
        fprintf(stderr, "stop during a load: %" PRIu64 " ms\n", (now_usec(CLOCK_MONOTONIC) - t0) / 1000);
}
END_TEST

static Suite *make_suite(void)
{
        Suite *s = suite_create("policy-loader");
        TCase *tc = tcase_create("loader");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_load_and_take);
        tcase_add_test(tc, test_coalesce);
        tcase_add_test(tc, test_loop_runs_during_load_gated);
        tcase_add_test(tc, test_loop_runs_during_big_load);
        tcase_add_test(tc, test_hostile_namespaces_isolated);
        tcase_add_test(tc, test_stop_cancels);
        suite_add_tcase(s, tc);
        return s;
}

MW_TEST_MAIN(make_suite)
