/* SPDX-License-Identifier: MIT */
/* The engine between the watcher and the decision logic, on a fake tree:
 * binding by policy, triggers fed from records, decisions, reloads that keep
 * or end an episode. The real kernel side is the VM's kubernetes scenario. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine.h"
#include "test-main.h"
#include "watcher.h"

static char root[64];
static Engine *engine;
static uint64_t now;
static EngineDecision last;
static unsigned n_decisions;

static void on_decision(const EngineDecision *d, void *userdata)
{
        (void)userdata;
        last = *d;
        n_decisions++;
}

static void on_record(Watcher *w, const Record *r, void *userdata)
{
        (void)w, (void)userdata;
        engine_observe(engine, r, now);
}

/* The host on a real watcher (what the daemon wires up), without target rules. */
static Watcher *host_watcher;

static uint64_t w_read_usage(void *u, const Cgroup *c)
{
        (void)u;
        return watcher_read_current(host_watcher, c);
}

static int w_v1_request(void *u, const Cgroup *c, bool low, uint64_t threshold)
{
        (void)u;
        return watcher_v1_request(host_watcher, c, low, threshold);
}

static void w_identity(void *u, const Cgroup *c, char *buf, size_t size, CgroupIdentity *ret)
{
        (void)u;
        watcher_cgroup_identity(host_watcher, c, buf, size, ret);
}

static unsigned w_n_slots(void *u)
{
        (void)u;
        return watcher_n_slots(host_watcher);
}

static const Cgroup *w_slot(void *u, unsigned i)
{
        (void)u;
        return watcher_slot(host_watcher, i);
}

static const EngineHost watcher_host = {
        .read_usage = w_read_usage,
        .v1_request = w_v1_request,
        .identity = w_identity,
        .n_slots = w_n_slots,
        .slot = w_slot,
};

static void put(const char *rel, const char *file, const char *text)
{
        char p[512];
        FILE *f;

        snprintf(p, sizeof(p), "%s/%s/%s", root, rel, file);
        f = fopen(p, "we");
        ck_assert_ptr_nonnull(f);
        fputs(text, f);
        fclose(f);
}

static void load(PolicySet *set, const char *yaml)
{
        static PolicyErrors e;
        memset(&e, 0, sizeof(e));
        ck_assert_msg(policy_load_buffer(set, "t.yaml", yaml, strlen(yaml), NULL, &e) == 0, "%s", e.msg[0]);
}

/* A fresh fake tree under root. */
static void mktree(void)
{
        strcpy(root, "/tmp/mw-engine-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(root));
        put(".", "cgroup.controllers", "memory\n");
}

/* A cgroup-like directory (with its parents) with the memory controller on. */
static void mkcg(const char *rel, const char *current)
{
        char p[512];

        snprintf(p, sizeof(p), "mkdir -p %s/%s", root, rel);
        ck_assert_int_eq(system(p), 0);
        put(rel, "memory.events", "high 0\n");
        put(rel, "memory.high", "max\n");
        put(rel, "memory.max", "max\n");
        put(rel, "memory.current", current);
        put(rel, "cgroup.events", "populated 1\n");
}

/* The engine and a watcher on the tree, records going to the engine. */
static Watcher *start(EngineDecisionFunc f)
{
        WatcherConfig cfg = WATCHER_CONFIG_DEFAULT;
        Watcher *w;

        cfg.root = root;
        cfg.psi = false;
        cfg.pod_log_dir = cfg.container_log_dir = NULL;
        n_decisions = 0;
        now = 1000000;
        engine = engine_new(&watcher_host, f, NULL);
        ck_assert_ptr_nonnull(engine);
        ck_assert_int_eq(watcher_new(&cfg, on_record, NULL, &w), 0);
        host_watcher = w;
        ck_assert_int_eq(watcher_scan(w), 0);
        return w;
}

static void finish(Watcher *w, PolicySet *set)
{
        char p[128];

        engine_set_policies(engine, NULL, now);
        engine = engine_free(engine);
        policy_set_done(set);
        watcher_free(w);
        snprintf(p, sizeof(p), "rm -rf '%s'", root);
        ck_assert_int_eq(system(p), 0);
}

#define POLICY(name, counter)                                                                               \
        "apiVersion: memwarden/v1\nkind: Policy\nmetadata: {name: " name "}\nspec:\n"                       \
        "  match: {unit: \"web-*.service\"}\n"                                                              \
        "  triggers: {any: [{memoryEvents: {counter: " counter                                              \
        ", increase: 3, window: 10s}}], clearAfter: 5s}\n"                                                  \
        "  actions: [{type: notify}, {type: throttle, after: 2s, floor: 64Mi}]\n"

START_TEST(test_engine)
{
        PolicySet set = {}, set2 = {};
        Watcher *w;

        mktree();
        mkcg("system.slice/web-1.service", "4096\n");
        mkcg("system.slice/db.service", "4096\n");
        w = start(on_decision);
        now = 0;
        load(&set, POLICY("web", "high"));
        engine_set_policies(engine, &set, now);

        /* Not watched yet (no limit): nothing bound. A limit makes it watched and bound. */
        put("system.slice/web-1.service", "memory.high", "1048576\n");
        put("system.slice/db.service", "memory.high", "1048576\n");
        ck_assert_int_ge(watcher_process_inotify(w), 0);
        const Cgroup *web = NULL, *db = NULL;
        for (unsigned i = 0; i < watcher_n_slots(w); i++) {
                const Cgroup *c = watcher_slot(w, i);
                if (c && strcmp(c->name, "web-1.service") == 0)
                        web = c;
                if (c && strcmp(c->name, "db.service") == 0)
                        db = c;
        }
        ck_assert_ptr_nonnull(engine_policy_of(engine, web, false, NULL));
        ck_assert_ptr_null(engine_policy_of(engine, db, false, NULL)); /* no policy matches db */
        /* An outcome finds its binding by name and source: a namespace's "web" is not the admin's. */
        ck_assert_ptr_eq(engine_policy_named(engine, web, "web", NULL),
                         engine_policy_of(engine, web, false, NULL));
        ck_assert_ptr_null(engine_policy_named(engine, web, "web", "team"));
        ck_assert_ptr_null(engine_policy_named(engine, web, "other", NULL));
        ck_assert_ptr_null(engine_policy_named(engine, web, NULL, NULL));

        /* Two high events: below `increase: 3`; a third fires (for: 0) with notify. */
        now = 1000000;
        put("system.slice/web-1.service", "memory.events", "high 2\n");
        ck_assert_int_ge(watcher_process_inotify(w), 0);
        ck_assert_uint_eq(n_decisions, 0);
        now = 2000000;
        put("system.slice/web-1.service", "memory.events", "high 3\n");
        ck_assert_int_ge(watcher_process_inotify(w), 0);
        ck_assert_uint_eq(n_decisions, 1);
        ck_assert(last.d.fired);
        ck_assert_uint_eq(last.d.run_steps, 1U << 0);
        ck_assert_uint_eq(engine_next_usec(engine),
                          3250000); /* the window's next bucket, before the throttle at 4 s */

        /* Time passes: the throttle comes due on the tick. */
        now = 4000000;
        engine_tick(engine, now);
        ck_assert_uint_eq(last.d.run_steps, 1U << 1);
        /* db's events never reach a policy. */
        unsigned before = n_decisions;
        put("system.slice/db.service", "memory.events", "high 50\n");
        ck_assert_int_ge(watcher_process_inotify(w), 0);
        ck_assert_uint_eq(n_decisions, before);

        /* A reload with the same policy keeps the episode: nothing fires again. */
        load(&set2, POLICY("web", "high"));
        engine_set_policies(engine, &set2, now);
        policy_set_done(&set);
        PolicyPhase phase;
        ck_assert_ptr_nonnull(engine_policy_of(engine, web, false, &phase));
        ck_assert_int_eq(phase, POLICY_FIRING);
        ck_assert_uint_eq(n_decisions, before);

        /* A reload without it: the episode ends with the throttle to undo. */
        engine_set_policies(engine, NULL, now);
        ck_assert(last.d.cleared);
        ck_assert_uint_eq(last.d.undo_steps, 1U << 1);
        ck_assert_ptr_null(engine_policy_of(engine, web, false, NULL));
        policy_set_done(&set2);
        finish(w, &set);
}
END_TEST

/* Node triggers: fed by engine_node_update, for every binding with one. */
START_TEST(test_engine_node)
{
        PolicySet set = {};
        Watcher *w;
        NodeStats n = { .has_mem = true, .mem_total = 8ULL << 30 };

        mktree();
        mkcg("batch.slice", "4096\n");
        w = start(on_decision);
        load(&set, "apiVersion: memwarden/v1\nkind: Policy\nmetadata: {name: low}\nspec:\n"
                   "  match: {unit: batch.slice}\n"
                   "  triggers: {any: [{nodeAvailable: {below: 1Gi}}, "
                   "{nodePressure: {type: full, above: 10%, window: 10s}}], clearAfter: 5s}\n"
                   "  actions: [{type: notify}, {type: kill, after: 3s}]\n");
        engine_set_policies(engine, &set, now);

        n.mem_available = 2ULL << 30;
        engine_node_update(engine, &n, now);
        ck_assert_uint_eq(n_decisions, 0);
        now = 2000000;
        n.mem_available = 512ULL << 20; /* below the watermark: fires, notify now */
        engine_node_update(engine, &n, now);
        ck_assert_uint_eq(n_decisions, 1);
        ck_assert(last.d.fired);
        ck_assert_uint_eq(last.d.run_steps, 1U << 0);
        now = 5000000;
        engine_tick(engine, now); /* the kill comes due 3 s later */
        ck_assert_uint_eq(last.d.run_steps, 1U << 1);
        now = 6000000;
        n.mem_available = 3ULL << 30;
        engine_node_update(engine, &n, now);
        now = 11000000;
        engine_tick(engine, now);
        ck_assert(last.d.cleared);

        /* Node PSI: full stall of 2 s in a 10 s window is 20% > 10%. */
        n.has_psi = true;
        n.psi.full.total_usec = 1000000;
        now = 20000000;
        engine_node_update(engine, &n, now);
        n_decisions = 0;
        n.psi.full.total_usec = 3000000;
        now = 21000000;
        engine_node_update(engine, &n, now);
        ck_assert_uint_eq(n_decisions, 1);
        ck_assert(last.d.fired);
        finish(w, &set);
}
END_TEST

/* select: of the cgroups a policy matches, only the hungriest (or least
 * important) get its steps; the choice is made again while memory stays low. */
static char chosen[8][128];
static unsigned n_chosen;

static void on_select_decision(const EngineDecision *d, void *userdata)
{
        (void)userdata;
        last = *d;
        n_decisions++;
        if (d->d.run_steps && n_chosen < 8)
                snprintf(chosen[n_chosen++], sizeof(chosen[0]), "%s", d->cgroup->name);
}

START_TEST(test_engine_select)
{
        PolicySet set = {};
        Watcher *w;
        NodeStats n = { .has_mem = true, .mem_total = 8ULL << 30, .mem_available = 512ULL << 20 };
        const char *be = "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1a2b.slice";
        const char *bu = "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod3c4d.slice";

        mktree();
        mkcg("w-a.slice", "100000000\n");
        mkcg("w-b.slice", "300000000\n");
        mkcg("w-c.slice", "200000000\n");
        mkcg(be, "10000000\n");
        mkcg(bu, "500000000\n");
        n_chosen = 0;
        w = start(on_select_decision);
        load(&set, "apiVersion: memwarden/v1\nkind: Policy\nmetadata: {name: hungriest}\nspec:\n"
                   "  match: {cgroup: \"/w-*\"}\n"
                   "  select: {by: hungriest}\n"
                   "  triggers: {any: [{nodeAvailable: {below: 1Gi}}], clearAfter: 1s}\n"
                   "  actions: [{type: kill}]\n"
                   "---\n"
                   "apiVersion: memwarden/v1\nkind: Policy\nmetadata: {name: least}\nspec:\n"
                   "  match: {cgroup: \"/kubepods.slice/*pod*\"}\n"
                   "  select: {by: leastImportant, count: 1}\n"
                   "  triggers: {any: [{nodeAvailable: {below: 1Gi}}], clearAfter: 1s}\n"
                   "  actions: [{type: kill}]\n");
        ck_assert_int_eq(set.policies[0].select_by, SELECT_HUNGRIEST);
        ck_assert_uint_eq(set.policies[1].select_count, 1);
        engine_set_policies(engine, &set, now);

        /* Below the watermark: one kill per policy, the hungriest w-b and the
         * besteffort pod (smaller than the burstable one, but less important). */
        engine_node_update(engine, &n, now);
        ck_assert_uint_eq(n_chosen, 2);
        ck_assert(strcmp(chosen[0], "w-b.slice") == 0 || strcmp(chosen[1], "w-b.slice") == 0);
        ck_assert(strstr(chosen[0], "besteffort") || strstr(chosen[1], "besteffort"));

        /* w-b is gone to 0 and memory is still low: w-c is the next. */
        put("w-b.slice", "memory.current", "0\n");
        put(be, "memory.current", "0\n");
        now = 2000000;
        engine_node_update(engine, &n, now);
        ck_assert_uint_eq(n_chosen, 3);
        ck_assert_str_eq(chosen[2], "w-c.slice");
        now = 3000000; /* the besteffort pod keeps its rank (QoS first): nothing new there */
        engine_node_update(engine, &n, now);
        ck_assert_uint_eq(n_chosen, 3);

        /* Memory back: the chosen ones clear; w-a never did anything and says nothing. */
        n.mem_available = 4ULL << 30;
        now = 4000000;
        engine_node_update(engine, &n, now);
        n_decisions = 0;
        now = 6000000;
        engine_tick(engine, now);
        ck_assert_uint_eq(n_decisions, 3); /* w-b, w-c, the besteffort pod */
        finish(w, &set);
}
END_TEST

/* A cgroup that goes and comes back under the same path (a restarted unit)
 * keeps its policy's cooldowns: no restart loop. */
START_TEST(test_engine_history)
{
        PolicySet set = {};
        Watcher *w;
        char p[300];

        mktree();
        mkcg("web-1.service", "4096\n");
        put("web-1.service", "memory.high", "1048576\n");
        w = start(on_decision);
        load(&set, "apiVersion: memwarden/v1\nkind: Policy\nmetadata: {name: restart}\nspec:\n"
                   "  match: {unit: web-1.service}\n"
                   "  triggers: {any: [{memoryEvents: {counter: high}}]}\n"
                   "  actions: [{type: restart, cooldown: 10m}]\n");
        engine_set_policies(engine, &set, now);
        for (int round = 0; round < 2; round++) {
                n_decisions = 0;
                put("web-1.service", "memory.events", "high 1\n");
                ck_assert_int_ge(watcher_process_inotify(w), 0);
                ck_assert_uint_ge(n_decisions, 1);
                ck_assert(last.d.fired);
                /* The first time the restart runs; after the cgroup came back, its cooldown holds. */
                ck_assert_uint_eq(last.d.run_steps, round == 0 ? 1U : 0U);
                snprintf(p, sizeof(p), "rm -rf '%s/web-1.service'", root);
                ck_assert_int_eq(system(p), 0);
                ck_assert_int_ge(watcher_process_inotify(w), 0);
                now += 1000000;
                mkcg("web-1.service", "4096\n");
                put("web-1.service", "memory.high", "1048576\n");
                ck_assert_int_ge(watcher_process_inotify(w), 0);
        }
        finish(w, &set);
}
END_TEST

/* ---- a fake host: hand-made cgroups, usages and target rules, no tree ---- */

#define FAKE_MAX 4100
static Cgroup *fake[FAKE_MAX];
static uint64_t fake_usage[FAKE_MAX], fake_psi[FAKE_MAX];
static unsigned n_fake, n_refused_asked;

static Cgroup *fake_cgroup(Cgroup *parent, const char *name, uint64_t usage)
{
        size_t len = strlen(name);
        Cgroup *c = calloc(1, sizeof(Cgroup) + len + 1);

        ck_assert_ptr_nonnull(c);
        memcpy(c->name, name, len);
        c->name_len = (uint16_t)len;
        c->parent = parent;
        if (parent) {
                c->next_sibling = parent->first_child;
                parent->first_child = c;
        }
        c->kind = parent ? CGROUP_KIND_SLICE : CGROUP_KIND_ROOT;
        c->watched = parent != NULL;
        c->high = c->max = UINT64_MAX;
        c->slot = n_fake;
        c->serial = 1;
        fake_usage[n_fake] = usage;
        fake_psi[n_fake] = 0;
        fake[n_fake++] = c;
        return c;
}

static uint64_t f_read_usage(void *u, const Cgroup *c)
{
        (void)u;
        return fake_usage[c->slot];
}

static uint64_t f_read_psi(void *u, const Cgroup *c)
{
        (void)u;
        return fake_psi[c->slot];
}

static void f_identity(void *u, const Cgroup *c, char *buf, size_t size, CgroupIdentity *ret)
{
        (void)u;
        ck_assert_int_eq(cgroup_path(c, buf, size), 0);
        *ret = (CgroupIdentity){ .path = buf, .unit = c->parent ? c->name : NULL, .qos = _QOS_INVALID };
        /* "w-batch-*" and below: a pod of namespace batch; "w-other-*": of other */
        if (strstr(buf, "/w-batch-"))
                ret->namespace = "batch";
        else if (strstr(buf, "/w-other-"))
                ret->namespace = "other";
}

/* As if memwardend ran in w-own.slice: every kill there is refused. */
static bool f_refused(void *u, const Cgroup *c, const Policy *p)
{
        (void)u;
        ck_assert_str_eq(p->name, "hungriest");
        n_refused_asked++;
        return strcmp(c->name, "w-own.slice") == 0;
}

static unsigned f_n_slots(void *u)
{
        (void)u;
        return n_fake;
}

static const Cgroup *f_slot(void *u, unsigned i)
{
        (void)u;
        return i < n_fake ? fake[i] : NULL;
}

static const EngineHost fake_host = {
        .read_usage = f_read_usage,
        .read_psi = f_read_psi,
        .identity = f_identity,
        .refused = f_refused,
        .n_slots = f_n_slots,
        .slot = f_slot,
};

static const Cgroup *fake_named(const char *name)
{
        for (unsigned i = 0; i < n_fake; i++)
                if (strcmp(fake[i]->name, name) == 0)
                        return fake[i];
        return NULL;
}

/* select skips the cgroup where every step is refused (the slice memwarden
 * runs in, the hungriest), and one whose step failed, and picks the next. */
START_TEST(test_engine_select_refused_failed)
{
        PolicySet set = {};
        NodeStats n = { .has_mem = true, .mem_total = 8ULL << 30, .mem_available = 512ULL << 20 };
        Cgroup *r;

        n_fake = n_refused_asked = n_chosen = n_decisions = 0;
        r = fake_cgroup(NULL, "", 0);
        fake_cgroup(r, "w-own.slice", 900);
        fake_cgroup(r, "w-b.slice", 500);
        fake_cgroup(r, "w-c.slice", 300);
        fake_cgroup(r, "w-a.slice", 100);
        ck_assert_ptr_null(engine_new(&(EngineHost){ .n_slots = f_n_slots }, on_select_decision, NULL));
        engine = engine_new(&fake_host, on_select_decision, NULL);
        ck_assert_ptr_nonnull(engine);
        load(&set, "apiVersion: memwarden/v1\nkind: Policy\nmetadata: {name: hungriest}\nspec:\n"
                   "  match: {cgroup: \"/w-*\"}\n"
                   "  select: {by: hungriest}\n"
                   "  triggers: {any: [{nodeAvailable: {below: 1Gi}}], clearAfter: 1s}\n"
                   "  actions: [{type: kill, cooldown: 0s}]\n");
        now = 1000000;
        engine_set_policies(engine, &set, now);
        ck_assert_uint_eq(n_refused_asked, 4);
        const Policy *p = engine_policy_of(engine, fake_named("w-b.slice"), true, NULL);
        ck_assert_ptr_eq(p, &set.policies[0]);

        /* The hungriest is memwarden's own slice: refused, so w-b gets the kill. */
        engine_node_update(engine, &n, now);
        ck_assert_uint_eq(n_chosen, 1);
        ck_assert_str_eq(chosen[0], "w-b.slice");

        /* The kill failed on w-b: w-c gets it at the next evaluation, which is due now. */
        engine_step_failed(engine, fake_named("w-b.slice"), p, now);
        ck_assert_uint_eq(engine_next_usec(engine), now);
        now += 1000;
        engine_tick(engine, now);
        ck_assert_uint_eq(n_chosen, 2);
        ck_assert_str_eq(chosen[1], "w-c.slice");
        /* And it stays so while the policy fires: w-a is not chosen, w-b not again. */
        now += 1000000;
        engine_node_update(engine, &n, now);
        ck_assert_uint_eq(n_chosen, 2);

        /* Memory back, the episode ends; in the next one w-b is a candidate again. */
        n.mem_available = 4ULL << 30;
        engine_node_update(engine, &n, now);
        now += 2000000;
        engine_tick(engine, now);
        ck_assert_ptr_eq(engine_policy_of(engine, fake_named("w-b.slice"), true, NULL), p);
        PolicyPhase phase;
        (void)engine_policy_of(engine, fake_named("w-b.slice"), true, &phase);
        ck_assert_int_eq(phase, POLICY_IDLE);
        n.mem_available = 512ULL << 20;
        now += 1000000;
        engine_node_update(engine, &n, now);
        ck_assert_uint_eq(n_chosen, 3);
        ck_assert_str_eq(chosen[2], "w-b.slice");

        engine_set_policies(engine, NULL, now);
        engine = engine_free(engine);
        policy_set_done(&set);
        for (unsigned i = 0; i < n_fake; i++)
                free(fake[i]);
        n_fake = 0;
}
END_TEST

/* select over thousands of bindings made due at once (a node update): the
 * choice is the one the order gives, ties to the lower slot, and after a
 * failed step the next in that order. */
START_TEST(test_engine_select_many)
{
        PolicySet set = {};
        NodeStats n = { .has_mem = true, .mem_total = 8ULL << 30, .mem_available = 512ULL << 20 };
        const unsigned many = 4000;
        unsigned want[4] = { 0 }, n_want = 0;
        char name[32];
        Cgroup *r;

        n_fake = n_refused_asked = n_chosen = n_decisions = 0;
        r = fake_cgroup(NULL, "", 0);
        for (unsigned i = 0; i < many; i++) {
                snprintf(name, sizeof(name), "w-%u.slice", i);
                /* a spread with many equal usages: the top 1000 MiB four times */
                fake_cgroup(r, name, (uint64_t)((i * 7919U) % 1000U) << 20);
        }
        /* The order by hand: highest usage, then lowest slot. */
        for (unsigned k = 0; k < 4; k++) {
                unsigned best = 0;
                for (unsigned i = 1; i < n_fake; i++) {
                        bool taken = false;
                        for (unsigned j = 0; j < n_want; j++)
                                taken = taken || want[j] == i;
                        if (!taken && (best == 0 || fake_usage[i] > fake_usage[best]))
                                best = i;
                }
                want[n_want++] = best;
        }
        engine = engine_new(&fake_host, on_select_decision, NULL);
        ck_assert_ptr_nonnull(engine);
        load(&set, "apiVersion: memwarden/v1\nkind: Policy\nmetadata: {name: hungriest}\nspec:\n"
                   "  match: {cgroup: \"/w-*\"}\n"
                   "  select: {by: hungriest, count: 3}\n"
                   "  triggers: {any: [{nodeAvailable: {below: 1Gi}}], clearAfter: 1s}\n"
                   "  actions: [{type: kill, cooldown: 0s}]\n");
        now = 1000000;
        engine_set_policies(engine, &set, now);

        engine_node_update(engine, &n, now);
        ck_assert_uint_eq(n_chosen, 3);
        for (unsigned k = 0; k < 3; k++)
                ck_assert_str_eq(chosen[k], fake[want[k]]->name); /* decided in slot order */
        ck_assert_uint_lt(want[0], want[1]);
        ck_assert_uint_lt(want[1], want[2]);

        /* The second's step failed: the fourth in the order gets it. */
        engine_step_failed(engine, fake[want[1]], &set.policies[0], now);
        now += 1000;
        engine_tick(engine, now);
        ck_assert_uint_eq(n_chosen, 4);
        ck_assert_str_eq(chosen[3], fake[want[3]]->name);

        engine_set_policies(engine, NULL, now);
        engine = engine_free(engine);
        policy_set_done(&set);
        for (unsigned i = 0; i < n_fake; i++)
                free(fake[i]);
        n_fake = 0;
}
END_TEST

/* A reload that changes a policy's content (same name) starts it from
 * scratch: the windows held samples of another counter. */
#define KILL_POLICY(desc, trigger)                                                                          \
        "apiVersion: memwarden/v1\nkind: Policy\nmetadata: {name: web, description: " desc "}\nspec:\n"     \
        "  match: {unit: \"web-*.service\"}\n"                                                              \
        "  triggers: {any: [{memoryEvents: {" trigger "}}]}\n"                                              \
        "  actions: [{type: throttle, floor: 64Mi}, {type: kill, after: 1s}]\n"

START_TEST(test_engine_reload_changed)
{
        PolicySet set = {}, set2 = {}, set3 = {};
        PolicyPhase phase;
        Watcher *w;

        mktree();
        mkcg("web-1.service", "4096\n");
        put("web-1.service", "memory.high", "1048576\n");
        put("web-1.service", "memory.events", "high 0\nmax 0\noom_kill 7\n"); /* 7 kills in its lifetime */
        w = start(on_decision);
        load(&set, KILL_POLICY("a", "counter: max"));
        engine_set_policies(engine, &set, now);
        const Cgroup *web = NULL;
        for (unsigned i = 0; i < watcher_n_slots(w); i++)
                if (watcher_slot(w, i) && strcmp(watcher_slot(w, i)->name, "web-1.service") == 0)
                        web = watcher_slot(w, i);
        ck_assert_ptr_eq(engine_policy_of(engine, web, false, NULL), &set.policies[0]);

        /* A description is no content: the state is kept. */
        load(&set2, KILL_POLICY("b", "counter: max"));
        ck_assert_uint_eq(set.policies[0].hash, set2.policies[0].hash);
        now += 1000000;
        put("web-1.service", "memory.events", "high 0\nmax 1\noom_kill 7\n");
        ck_assert_int_ge(watcher_process_inotify(w), 0);
        ck_assert(last.d.fired);
        engine_set_policies(engine, &set2, now);
        policy_set_done(&set);
        ck_assert_ptr_eq(engine_policy_of(engine, web, false, &phase), &set2.policies[0]);
        ck_assert_int_eq(phase, POLICY_FIRING);

        /* counter: max -> oom_kill, increase: 5. The firing episode ends (its throttle
         * undone) and the new trigger counts from the 7 there are now. */
        load(&set3, KILL_POLICY("b", "counter: oom_kill, increase: 5"));
        ck_assert_uint_ne(set2.policies[0].hash, set3.policies[0].hash);
        n_decisions = 0;
        engine_set_policies(engine, &set3, now);
        ck_assert_uint_eq(n_decisions, 1);
        ck_assert(last.d.cleared);
        ck_assert_ptr_eq(last.policy, &set2.policies[0]);
        ck_assert_uint_eq(last.d.undo_steps, 1U << 0);
        policy_set_done(&set2);
        ck_assert_ptr_eq(engine_policy_of(engine, web, false, &phase), &set3.policies[0]);
        ck_assert_int_eq(phase, POLICY_IDLE);

        /* An unrelated event: 7 lifetime kills are no increase of 5. */
        n_decisions = 0;
        now += 1000000;
        put("web-1.service", "memory.events", "high 3\nmax 1\noom_kill 7\n");
        ck_assert_int_ge(watcher_process_inotify(w), 0);
        now += 2000000;
        engine_tick(engine, now);
        ck_assert_uint_eq(n_decisions, 0);
        (void)engine_policy_of(engine, web, false, &phase);
        ck_assert_int_eq(phase, POLICY_IDLE);
        /* Five more kills do fire it. */
        put("web-1.service", "memory.events", "high 3\nmax 1\noom_kill 12\n");
        ck_assert_int_ge(watcher_process_inotify(w), 0);
        ck_assert(last.d.fired);
        finish(w, &set3);
}
END_TEST

/* A step refused at once, from inside the decision callback: the next
 * candidate gets it in the same evaluation. */
static void on_decision_refuse_b(const EngineDecision *d, void *userdata)
{
        on_select_decision(d, userdata);
        if (d->d.run_steps && strcmp(d->cgroup->name, "w-b.slice") == 0)
                engine_step_failed(engine, d->cgroup, d->policy, now);
}

START_TEST(test_engine_step_failed_reentrant)
{
        PolicySet set = {};
        NodeStats n = { .has_mem = true, .mem_total = 8ULL << 30, .mem_available = 512ULL << 20 };
        Cgroup *r;

        n_fake = n_refused_asked = n_chosen = n_decisions = 0;
        r = fake_cgroup(NULL, "", 0);
        fake_cgroup(r, "w-own.slice", 900);
        fake_cgroup(r, "w-b.slice", 500);
        fake_cgroup(r, "w-a.slice", 100);
        fake_cgroup(r, "w-c.slice", 300);
        engine = engine_new(&fake_host, on_decision_refuse_b, NULL);
        ck_assert_ptr_nonnull(engine);
        load(&set, "apiVersion: memwarden/v1\nkind: Policy\nmetadata: {name: hungriest}\nspec:\n"
                   "  match: {cgroup: \"/w-*\"}\n"
                   "  select: {by: hungriest}\n"
                   "  triggers: {any: [{nodeAvailable: {below: 1Gi}}], clearAfter: 1s}\n"
                   "  actions: [{type: kill}]\n");
        now = 1000000;
        engine_set_policies(engine, &set, now);
        engine_node_update(engine, &n, now);
        ck_assert_uint_eq(n_chosen, 2);
        ck_assert_str_eq(chosen[0], "w-b.slice");
        ck_assert_str_eq(chosen[1], "w-c.slice");
        /* The retry a tick away finds nothing more to do. */
        ck_assert_uint_eq(engine_next_usec(engine), now);
        engine_tick(engine, now);
        ck_assert_uint_eq(n_chosen, 2);
        ck_assert_uint_ne(engine_next_usec(engine), now);

        engine_set_policies(engine, NULL, now);
        engine = engine_free(engine);
        policy_set_done(&set);
        for (unsigned i = 0; i < n_fake; i++)
                free(fake[i]);
        n_fake = 0;
}
END_TEST

/* select ranks what holds the memory: a slice is never chosen for memory that
 * is its children's (the hungriest leaf is), not after a failed kill of a child
 * either; with no candidate below it, a slice is a candidate like any. */
START_TEST(test_engine_select_leaves)
{
        PolicySet set = {};
        NodeStats n = { .has_mem = true, .mem_total = 8ULL << 30, .mem_available = 512ULL << 20 };
        Cgroup *r, *bench, *other, *deep;

        n_fake = n_refused_asked = n_chosen = n_decisions = 0;
        r = fake_cgroup(NULL, "", 0);
        bench = fake_cgroup(r, "w-bench.slice", 1000);
        fake_cgroup(bench, "w-hog.scope", 900);
        fake_cgroup(bench, "w-small.scope", 50);
        other = fake_cgroup(r, "w-other.slice", 800);
        deep = fake_cgroup(other, "w-deep.slice", 700);
        fake_cgroup(deep, "w-leaf.service", 700);
        fake_cgroup(r, "w-lone.slice", 600); /* no children: a candidate */
        /* memwarden's own slice holds a child that is refused too: both refused */
        Cgroup *own = fake_cgroup(r, "w-own.slice", 5000);
        (void)own;
        engine = engine_new(&fake_host, on_select_decision, NULL);
        ck_assert_ptr_nonnull(engine);
        load(&set, "apiVersion: memwarden/v1\nkind: Policy\nmetadata: {name: hungriest}\nspec:\n"
                   "  match: {cgroup: \"/w-*\"}\n"
                   "  select: {by: hungriest}\n"
                   "  triggers: {any: [{nodeAvailable: {below: 1Gi}}], clearAfter: 1s}\n"
                   "  actions: [{type: kill, cooldown: 0s}]\n");
        now = 1000000;
        engine_set_policies(engine, &set, now);
        const Policy *p = engine_policy_of(engine, fake_named("w-hog.scope"), true, NULL);
        ck_assert_ptr_eq(p, &set.policies[0]);

        engine_node_update(engine, &n, now);
        ck_assert_uint_eq(n_chosen, 1);
        ck_assert_str_eq(chosen[0], "w-hog.scope");
        /* Its kill failed: the next leaf, never the slice above it. */
        engine_step_failed(engine, fake_named("w-hog.scope"), p, now);
        now += 1000;
        engine_tick(engine, now);
        ck_assert_uint_eq(n_chosen, 2);
        ck_assert_str_eq(chosen[1], "w-leaf.service");
        engine_step_failed(engine, fake_named("w-leaf.service"), p, now);
        now += 1000;
        engine_tick(engine, now);
        ck_assert_uint_eq(n_chosen, 3);
        ck_assert_str_eq(chosen[2], "w-lone.slice");
        engine_step_failed(engine, fake_named("w-lone.slice"), p, now);
        now += 1000;
        engine_tick(engine, now);
        ck_assert_uint_eq(n_chosen, 4);
        ck_assert_str_eq(chosen[3], "w-small.scope");
        engine_step_failed(engine, fake_named("w-small.scope"), p, now);
        now += 1000;
        engine_tick(engine, now);
        /* Nothing left that is not a parent of a candidate or refused. */
        ck_assert_uint_eq(n_chosen, 4);
        now += 1000000;
        engine_node_update(engine, &n, now);
        ck_assert_uint_eq(n_chosen, 4);

        engine_set_policies(engine, NULL, now);
        engine = engine_free(engine);
        policy_set_done(&set);
        for (unsigned i = 0; i < n_fake; i++)
                free(fake[i]);
        n_fake = 0;
}
END_TEST

/* A namespace's policy with select chooses among its own pods only: the
 * hungrier host slice and the other namespace's pod are never candidates, and
 * it does not make them watched either. */
START_TEST(test_engine_select_namespace_confined)
{
        PolicySet set = {};
        static PolicyErrors e;
        NodeStats n = { .has_mem = true, .mem_total = 8ULL << 30, .mem_available = 512ULL << 20 };
        const char *yaml = "apiVersion: memwarden/v1\nkind: Policy\nmetadata: {name: hungriest}\nspec:\n"
                           "  match: {}\n"
                           "  select: {by: hungriest, count: 64}\n"
                           "  triggers: {any: [{nodeAvailable: {below: 1Gi}}]}\n"
                           "  actions: [{type: kill, cooldown: 0s}]\n";
        Cgroup *r, *pod;
        char buf[256];
        CgroupIdentity id;

        n_fake = n_refused_asked = n_chosen = n_decisions = 0;
        r = fake_cgroup(NULL, "", 0);
        fake_cgroup(r, "w-host.slice", 9000);
        pod = fake_cgroup(r, "w-batch-pod1", 300);
        fake_cgroup(pod, "w-app", 200);
        fake_cgroup(r, "w-other-pod2", 8000);
        memset(&e, 0, sizeof(e));
        ck_assert_msg(policy_load_buffer(&set, "batch/t.yaml", yaml, strlen(yaml), "batch", &e) == 0, "%s",
                      e.msg[0]);
        for (unsigned i = 0; i < n_fake; i++) {
                f_identity(NULL, fake[i], buf, sizeof(buf), &id);
                ck_assert_int_eq(policy_set_matches_any(&set, &id), strstr(buf, "/w-batch-") != NULL);
        }
        engine = engine_new(&fake_host, on_select_decision, NULL);
        now = 1000000;
        engine_set_policies(engine, &set, now);
        engine_node_update(engine, &n, now);
        /* count 64: every candidate it has, and only the container (the pod is its parent) */
        ck_assert_uint_eq(n_chosen, 1);
        ck_assert_str_eq(chosen[0], "w-app");

        engine_set_policies(engine, NULL, now);
        engine = engine_free(engine);
        policy_set_done(&set);
        for (unsigned i = 0; i < n_fake; i++)
                free(fake[i]);
        n_fake = 0;
}
END_TEST

/* cgroup v2 usage triggers are sampled adaptively: the headroom to the
 * threshold at the fill rate, clamped; every 2 s while it is passed; a
 * record's fresh usage reschedules at once. */
START_TEST(test_engine_usage_adaptive)
{
        PolicySet set = {};
        Cgroup *r, *c;
        const uint64_t MiB = 1 << 20;

        n_fake = n_refused_asked = n_chosen = n_decisions = 0;
        r = fake_cgroup(NULL, "", 0);
        c = fake_cgroup(r, "w-web.slice", 400 * MiB);
        c->high = 1024 * MiB;
        engine = engine_new(&fake_host, on_select_decision, NULL);
        engine_set_fill_rate(engine, 1024 * MiB);
        load(&set, "apiVersion: memwarden/v1\nkind: Policy\nmetadata: {name: hungriest}\nspec:\n"
                   "  match: {cgroup: \"/w-*\"}\n"
                   "  triggers: {any: [{usage: {of: high, above: 90%}}]}\n"
                   "  actions: [{type: notify}]\n");
        now = 1000000;
        engine_set_policies(engine, &set, now);
        ck_assert_uint_eq(engine_next_usec(engine), now); /* read at once */
        engine_tick(engine, now);
        /* 921.6 - 400 MiB at 1 GiB/s: 509.4 ms */
        ck_assert_uint_eq(engine_next_usec(engine), now + 509374);
        /* close to the threshold: the floor */
        fake_usage[c->slot] = 920 * MiB;
        now = engine_next_usec(engine);
        engine_tick(engine, now);
        ck_assert_uint_eq(engine_next_usec(engine), now + ENGINE_USAGE_MIN_USEC);
        /* passed: every 2 s, and the policy fired */
        fake_usage[c->slot] = 1000 * MiB;
        now = engine_next_usec(engine);
        engine_tick(engine, now);
        ck_assert_uint_eq(n_decisions, 1);
        /* (a window bucket may come first while it fires) */
        ck_assert_uint_gt(engine_next_usec(engine), now + ENGINE_USAGE_MIN_USEC);
        ck_assert_uint_le(engine_next_usec(engine), now + ENGINE_USAGE_SAMPLE_USEC);
        /* a record of the cgroup with its usage: rescheduled from it (and a slow fill rate) */
        engine_set_fill_rate(engine, 1 * MiB);
        Record rec = record_init(RECORD_PSI);
        rec.cgroup = c;
        rec.current = 100 * MiB;
        now += 1000;
        engine_observe(engine, &rec, now);
        ck_assert_uint_gt(engine_next_usec(engine), now + ENGINE_USAGE_MIN_USEC);
        engine_tick(engine, engine_next_usec(engine));

        engine_set_policies(engine, NULL, now);
        engine = engine_free(engine);
        policy_set_done(&set);
        for (unsigned i = 0; i < n_fake; i++)
                free(fake[i]);
        n_fake = 0;
}
END_TEST

/* systemd-oomd's model: pressure on a slice, the step on its most stalled
 * child (target: children, select by: pressure). The slice itself never gets
 * the step, nor a child of another slice; a failed kill moves to the next
 * most stalled child. */
START_TEST(test_engine_target_children_pressure)
{
        PolicySet set = {};
        Cgroup *r, *sl, *a, *b, *c, *other, *oc;

        n_fake = n_refused_asked = n_chosen = n_decisions = 0;
        r = fake_cgroup(NULL, "", 0);
        sl = fake_cgroup(r, "w-s.slice", 9000);
        a = fake_cgroup(sl, "w-a.scope", 5000); /* the hungriest, barely stalled */
        b = fake_cgroup(sl, "w-b.scope", 100);  /* the most stalled */
        c = fake_cgroup(sl, "w-c.scope", 200);
        other = fake_cgroup(r, "w-other.slice", 100);
        oc = fake_cgroup(other, "w-x.scope", 100);
        engine = engine_new(&fake_host, on_select_decision, NULL);
        load(&set, "apiVersion: memwarden/v1\nkind: Policy\nmetadata: {name: hungriest}\nspec:\n"
                   "  match: {cgroup: /w-s.slice}\n"
                   "  target: children\n"
                   "  select: {by: pressure, window: 10s}\n"
                   "  triggers: {any: [{pressure: {type: some, above: 10%, window: 10s}}]}\n"
                   "  actions: [{type: kill, cooldown: 0s}]\n");
        ck_assert(set.policies[0].target_children);
        ck_assert_int_eq(set.policies[0].select_by, SELECT_PRESSURE);
        now = 1000000;
        engine_set_policies(engine, &set, now);
        ck_assert_ptr_null(engine_policy_of(engine, sl, false, NULL)); /* not bound to what it matches */
        ck_assert_ptr_null(engine_policy_named(engine, oc, "hungriest", NULL));
        ck_assert_ptr_eq(engine_policy_named(engine, b, "hungriest", NULL), &set.policies[0]);

        /* 3 s of stall in the slice over the next 2 s: the children's stall grew too */
        fake_psi[a->slot] = 50000;
        fake_psi[b->slot] = 2500000;
        fake_psi[c->slot] = 400000;
        fake_psi[oc->slot] = 9000000; /* not a child of the slice: never a candidate */
        sl->psi.some.total_usec = 3000000;
        now += 2000000;
        Record rec = record_init(RECORD_PSI);
        rec.cgroup = sl;
        engine_observe(engine, &rec, now);
        ck_assert_msg(n_chosen == 1, "%u: %s %s", n_chosen, chosen[0], chosen[1]);
        ck_assert_str_eq(chosen[0], "w-b.scope");
        engine_step_failed(engine, b, &set.policies[0], now);
        now += 1000;
        engine_tick(engine, now);
        ck_assert_uint_eq(n_chosen, 2);
        ck_assert_str_eq(chosen[1], "w-c.scope");
        /* That kill worked: w-c goes. The slice's window still holds its stall: w-a is
         * not chosen on those stale figures, only once a window has passed. */
        rec = record_init(RECORD_CGROUP_REMOVED);
        rec.cgroup = c;
        engine_observe(engine, &rec, now);
        sl->first_child = b; /* w-c unlinked (b -> a) */
        fake[c->slot] = NULL;
        sl->psi.some.total_usec += 2000000;
        fake_psi[a->slot] += 2000000;
        now += 1000000;
        rec = record_init(RECORD_PSI);
        rec.cgroup = sl;
        engine_observe(engine, &rec, now);
        for (int i = 0; i < 40 && engine_next_usec(engine) && engine_next_usec(engine) < now + 8000000; i++)
                engine_tick(engine, engine_next_usec(engine));
        ck_assert_uint_eq(n_chosen, 2);
        now += 10000000;
        sl->psi.some.total_usec += 3000000;
        engine_observe(engine, &rec, now);
        ck_assert_uint_eq(n_chosen, 3);
        ck_assert_str_eq(chosen[2], "w-a.scope");
        free(c);

        engine_set_policies(engine, NULL, now);
        engine = engine_free(engine);
        policy_set_done(&set);
        for (unsigned i = 0; i < n_fake; i++)
                free(fake[i]);
        n_fake = 0;
}
END_TEST

/* The hold-off after a kill does not delay the next one where MemAvailable,
 * read after the kill, is still below the watermark (a fresh figure). */
START_TEST(test_engine_select_holdoff_fresh)
{
        PolicySet set = {};
        NodeStats n = {
                .has_mem = true, .has_psi = true, .mem_total = 8ULL << 30, .mem_available = 512ULL << 20
        };
        Cgroup *r, *a;

        n_fake = n_refused_asked = n_chosen = n_decisions = 0;
        r = fake_cgroup(NULL, "", 0);
        a = fake_cgroup(r, "w-a.slice", 900);
        fake_cgroup(r, "w-b.slice", 500);
        engine = engine_new(&fake_host, on_select_decision, NULL);
        load(&set, "apiVersion: memwarden/v1\nkind: Policy\nmetadata: {name: hungriest}\nspec:\n"
                   "  match: {cgroup: \"/w-*\"}\n"
                   "  select: {by: hungriest}\n"
                   "  triggers: {any: [{nodeAvailable: {below: 1Gi}},\n"
                   "                   {nodePressure: {type: some, above: 10%, window: 10s}}]}\n"
                   "  actions: [{type: kill, cooldown: 0s}]\n");
        now = 1000000;
        engine_set_policies(engine, &set, now);
        engine_node_update(engine, &n, now);
        ck_assert_uint_eq(n_chosen, 1);
        ck_assert_str_eq(chosen[0], "w-a.slice");
        Record rec = record_init(RECORD_CGROUP_REMOVED);
        rec.cgroup = a;
        engine_observe(engine, &rec, now);
        fake[a->slot] = NULL;
        now += 1000000;
        engine_node_update(engine, &n, now);
        ck_assert_uint_eq(n_chosen, 2);
        ck_assert_str_eq(chosen[1], "w-b.slice");
        free(a);

        engine_set_policies(engine, NULL, now);
        engine = engine_free(engine);
        policy_set_done(&set);
        for (unsigned i = 0; i < n_fake; i++)
                free(fake[i]);
        n_fake = 0;
}
END_TEST

/* target: children accepts no trigger of the target's own (usage) and no step
 * with an undo per child (throttle, freeze); select's by and window are checked. */
START_TEST(test_engine_target_children_refused)
{
        static const char *const bad[] = {
                "  target: children\n  triggers: {any: [{usage: {of: max, above: 90%}}]}\n"
                "  actions: [{type: kill}]\n",
                "  target: children\n  triggers: {any: [{nodeAvailable: {below: 1Gi}}]}\n"
                "  actions: [{type: throttle, floor: 1Gi}]\n",
                "  target: everything\n  triggers: {any: [{nodeAvailable: {below: 1Gi}}]}\n"
                "  actions: [{type: kill}]\n",
                "  select: {by: pressure, window: 1s}\n  triggers: {any: [{nodeAvailable: {below: 1Gi}}]}\n"
                "  actions: [{type: kill}]\n",
                "  select: {by: stalest}\n  triggers: {any: [{nodeAvailable: {below: 1Gi}}]}\n"
                "  actions: [{type: kill}]\n",
        };
        char yaml[1024];
        static PolicyErrors e;

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                PolicySet set = {};
                snprintf(yaml, sizeof(yaml),
                         "apiVersion: memwarden/v1\nkind: Policy\nmetadata: {name: t}\nspec:\n"
                         "  match: {cgroup: /w.slice}\n%s",
                         bad[i]);
                memset(&e, 0, sizeof(e));
                ck_assert_msg(policy_load_buffer(&set, "t.yaml", yaml, strlen(yaml), NULL, &e) < 0,
                              "case %zu", i);
                ck_assert_uint_eq(set.n, 0);
        }
}
END_TEST

/* A namespace's target: children policy acts on the children of its own pods
 * only: never on a host slice's children, never on a child whose identity is
 * another namespace's (the check behind "what a workload makes below a pod
 * stays in it"). */
START_TEST(test_engine_target_children_confined)
{
        PolicySet set = {};
        static PolicyErrors e;
        NodeStats n = { .has_mem = true, .mem_total = 8ULL << 30, .mem_available = 512ULL << 20 };
        const char *yaml = "apiVersion: memwarden/v1\nkind: Policy\nmetadata: {name: hungriest}\nspec:\n"
                           "  match: {}\n"
                           "  target: children\n"
                           "  select: {by: hungriest, count: 64}\n"
                           "  triggers: {any: [{nodeAvailable: {below: 1Gi}}]}\n"
                           "  actions: [{type: kill, cooldown: 0s}]\n";
        Cgroup *r, *pod, *host;
        CgroupIdentity parent = { .path = "/p", .namespace = "batch", .qos = _QOS_INVALID };
        CgroupIdentity mine = { .path = "/p/c", .namespace = "batch", .qos = _QOS_INVALID };
        CgroupIdentity theirs = { .path = "/p/c", .namespace = "other", .qos = _QOS_INVALID };
        CgroupIdentity hostid = { .path = "/h", .qos = _QOS_INVALID };

        memset(&e, 0, sizeof(e));
        ck_assert_msg(policy_load_buffer(&set, "batch/t.yaml", yaml, strlen(yaml), "batch", &e) == 0, "%s",
                      e.msg[0]);
        ck_assert_int_eq(policy_set_lookup_children(&set, &parent, &mine), 0);
        ck_assert_int_eq(policy_set_lookup_children(&set, &parent, &theirs), -ENOENT);
        ck_assert_int_eq(policy_set_lookup_children(&set, &hostid, &mine), -ENOENT);
        ck_assert_int_eq(policy_set_lookup_children(&set, &hostid, &hostid), -ENOENT);
        ck_assert_int_eq(policy_set_lookup_kind(&set, &parent, true), -ENOENT);

        n_fake = n_refused_asked = n_chosen = n_decisions = 0;
        r = fake_cgroup(NULL, "", 0);
        host = fake_cgroup(r, "w-host.slice", 9000);
        fake_cgroup(host, "w-big.scope", 9000);
        pod = fake_cgroup(r, "w-batch-pod1", 300);
        fake_cgroup(pod, "w-app", 200);
        fake_cgroup(r, "w-other-pod2", 8000);
        engine = engine_new(&fake_host, on_select_decision, NULL);
        now = 1000000;
        engine_set_policies(engine, &set, now);
        engine_node_update(engine, &n, now);
        ck_assert_uint_eq(n_chosen, 1);
        ck_assert_str_eq(chosen[0], "w-app");

        engine_set_policies(engine, NULL, now);
        engine = engine_free(engine);
        policy_set_done(&set);
        for (unsigned i = 0; i < n_fake; i++)
                free(fake[i]);
        n_fake = 0;
}
END_TEST

/* What a policy matches is watched whatever --watch says (the daemon's
 * want hook: policy_set_matches_any), so a node policy's select sees the
 * unlimited scope that holds the memory; what no policy matches is not. */
static PolicySet *want_set;

static bool want_matched(void *u, const Cgroup *c)
{
        char buf[4096];
        CgroupIdentity id;

        (void)u;
        if (!want_set)
                return false;
        watcher_cgroup_identity(host_watcher, c, buf, sizeof(buf), &id);
        return policy_set_matches_any(want_set, &id);
}

static const Cgroup *find_path(Watcher *w, const char *path)
{
        char buf[4096];

        for (unsigned i = 0; i < watcher_n_slots(w); i++) {
                const Cgroup *c = watcher_slot(w, i);
                if (c && cgroup_path(c, buf, sizeof(buf)) == 0 && strcmp(buf, path) == 0)
                        return c;
        }
        return NULL;
}

START_TEST(test_engine_watch_matched)
{
        PolicySet set = {}, none = {};
        NodeStats n = { .has_mem = true, .mem_total = 8ULL << 30, .mem_available = 512ULL << 20 };
        WatcherConfig cfg = WATCHER_CONFIG_DEFAULT;
        Watcher *w;

        mktree();
        mkcg("bench.slice", "1000\n");
        mkcg("bench.slice/hog.scope", "900\n");
        mkcg("bench.slice/small.scope", "50\n");
        mkcg("other.slice/idle.scope", "5000\n"); /* matched by nothing: stays unwatched */
        load(&set, "apiVersion: memwarden/v1\nkind: Policy\nmetadata: {name: hard}\nspec:\n"
                   "  match: {cgroup: \"/bench.slice/*\"}\n"
                   "  select: {by: hungriest}\n"
                   "  triggers: {any: [{nodeAvailable: {below: 1Gi}}]}\n"
                   "  actions: [{type: kill}]\n");
        want_set = &set;
        cfg.root = root;
        cfg.psi = false;
        cfg.pod_log_dir = cfg.container_log_dir = NULL;
        ck_assert_int_eq(cfg.select, WATCH_SELECT_LIMITED);
        n_decisions = n_chosen = 0;
        now = 1000000;
        engine = engine_new(&watcher_host, on_select_decision, NULL);
        ck_assert_int_eq(watcher_new(&cfg, on_record, NULL, &w), 0);
        host_watcher = w;
        watcher_set_want(w, want_matched, NULL);
        ck_assert_int_eq(watcher_scan(w), 0);
        engine_set_policies(engine, &set, now);
        ck_assert(find_path(w, "/bench.slice/hog.scope")->watched);
        ck_assert(find_path(w, "/bench.slice/small.scope")->watched);
        ck_assert(!find_path(w, "/other.slice/idle.scope")->watched);
        engine_node_update(engine, &n, now);
        ck_assert_uint_eq(n_chosen, 1);
        ck_assert_str_eq(chosen[0], "hog.scope");

        /* A scope made later is watched when it appears. */
        mkcg("bench.slice/late.scope", "10\n");
        ck_assert_int_ge(watcher_process_inotify(w), 1);
        ck_assert(find_path(w, "/bench.slice/late.scope")->watched);

        /* The policy goes: the scopes are no longer watched (limited: only the slices). */
        want_set = &none;
        watcher_reevaluate(w);
        engine_set_policies(engine, &none, now);
        ck_assert(!find_path(w, "/bench.slice/hog.scope")->watched);
        ck_assert(find_path(w, "/bench.slice")->watched);
        want_set = NULL;
        finish(w, &set);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("engine");
        TCase *tc = tcase_create("fake-tree");
        tcase_add_test(tc, test_engine);
        tcase_add_test(tc, test_engine_node);
        tcase_add_test(tc, test_engine_select);
        tcase_add_test(tc, test_engine_history);
        tcase_add_test(tc, test_engine_select_refused_failed);
        tcase_add_test(tc, test_engine_select_many);
        tcase_add_test(tc, test_engine_reload_changed);
        tcase_add_test(tc, test_engine_step_failed_reentrant);
        tcase_add_test(tc, test_engine_select_leaves);
        tcase_add_test(tc, test_engine_watch_matched);
        tcase_add_test(tc, test_engine_usage_adaptive);
        tcase_add_test(tc, test_engine_target_children_pressure);
        tcase_add_test(tc, test_engine_target_children_refused);
        tcase_add_test(tc, test_engine_select_holdoff_fresh);
        tcase_add_test(tc, test_engine_target_children_confined);
        tcase_add_test(tc, test_engine_select_namespace_confined);
        suite_add_tcase(s, tc);
        return s;
}

MW_TEST_MAIN(suite)
