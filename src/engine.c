/* SPDX-License-Identifier: MIT */
#include "engine.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct Binding {
        const Cgroup *cgroup; /* valid while bound: unbound on cgroup_removed */
        const Cgroup *trig; /* whose counters feed the triggers: cgroup, or (target: children) its parent */
        CounterWindow *psi_rank; /* select by: pressure: samples of the PSI some total (after the struct) */
        uint32_t serial;
        const Policy *policy;
        PolicyState state;
        uint64_t next_usec;
        uint64_t next_sample_usec; /* usage triggers: next read of memory.current; 0: none */
        bool usage_events;         /* cgroup v1: a usage threshold is armed, no sampling needed */
        uint32_t ran_steps;        /* steps handed over in this episode (with `select`, fewer than done) */
        unsigned importance; /* select leastImportant: 0 besteffort, 1 burstable, 2 guaranteed, 3 other */
        uint64_t rank_usage, rank_at; /* select: memory usage, read once per evaluation time */
        bool node_news;               /* engine_node_update: new node figures for this binding */
        bool refused;                 /* every step would be refused here (select skips it) */
        bool failed;       /* select: a step failed here in this episode (engine_step_failed): skip it */
        bool sel_eligible; /* select: eligible when its policy's SelectCache was made */
        uint64_t
                shadow_mark; /* select: == the cache's mark: a descendant of the same policy ranks instead */
        uint64_t hold_until; /* select: another candidate just got a step; not chosen before this */
        bool holds[POLICY_TRIGGERS_MAX];
        CounterWindow windows[POLICY_TRIGGERS_MAX];
} Binding;

/* When each step of a policy last ran on a cgroup path, kept after the
 * binding goes: a restarted unit (or a re-created pod) comes back as a new
 * cgroup of the same path, and its cooldowns must not start over (a policy
 * that restarts a unit would otherwise restart it as fast as it comes back).
 * Fixed size; the oldest entry makes room. */
#define HISTORY_MAX 256

/* select: the policy's count-th eligible binding in its order, made once per
 * evaluation and reused by every binding of the policy decided then, so that
 * a node update that makes thousands of bindings due costs one scan per
 * policy, not one per binding. Valid while `at` and `gen` match: the engine's
 * gen moves at each entry point and whenever what a choice rests on changes
 * (bindings made or dropped, a step failed, a new episode). */
#define SELECT_CACHE_MAX 16
#define SELECT_COUNT_MAX 64 /* policy-compile.c: count is 1 to 64 */

typedef struct RankKey {
        unsigned importance;
        uint64_t usage;
        uint32_t slot;
} RankKey;

typedef struct SelectCache {
        const Policy *policy; /* NULL: free */
        const Cgroup *scope;  /* target: children: the parent whose children compete; else NULL */
        uint64_t at, gen;
        bool full; /* `count` bindings are eligible: last is the count-th */
        RankKey last;
        uint64_t shadow_mark; /* bindings with this mark are parents of candidates: never chosen */
} SelectCache;

typedef struct StepHistory {
        uint64_t key; /* hash of the path and the policy (name, namespace, content); 0: free */
        uint64_t saved_usec;
        uint64_t step_last_usec[POLICY_ACTIONS_MAX];
} StepHistory;

struct Engine {
        EngineDecisionFunc func;
        void *userdata;
        EngineHost host;
        NodeStats node; /* the node's last figures (engine_node_update) */
        bool has_node;
        PolicySet set; /* a copy of the caller's {array, count}: the array is borrowed */
        bool has_set;
        bool any_children;   /* some policy of set has target: children */
        Binding **by_slot;   /* two per watcher slot: the cgroup policy's binding, then the node policy's */
        unsigned n_slots;    /* entries in by_slot */
        uint64_t next_usec;  /* earliest next_usec of any binding (0: none); kept so that a record
                              * does not cost a scan of every binding */
        uint64_t retry_usec; /* engine_step_failed: the others are due again (0: none) */
        uint64_t fill_rate;  /* usage sampling: the fastest growth assumed, bytes/s (0: the default) */
        StepHistory history[HISTORY_MAX];
        uint64_t select_gen;
        uint64_t shadow_seq;  /* the last SelectCache.shadow_mark handed out */
        unsigned select_next; /* the cache entry to reuse next when none is free */
        SelectCache select_cache[SELECT_CACHE_MAX];
};

static uint64_t fnv1a(uint64_t h, const char *s)
{
        for (; s && *s; s++)
                h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
        return (h ^ 0xff) * 0x100000001b3ULL; /* a separator */
}

static uint64_t history_key(const Cgroup *c, const Policy *p)
{
        char path[4096];
        uint64_t h = 0xcbf29ce484222325ULL;

        if (cgroup_path(c, path, sizeof(path)) < 0)
                return 0;
        h = fnv1a(fnv1a(fnv1a(h, path), p->name), p->scope_namespace);
        /* Step times are by index: another ladder's step i is another step. */
        h = (h ^ p->hash) * 0x100000001b3ULL;
        return h ? h : 1;
}

static void history_save(Engine *e, const Binding *b, uint64_t now)
{
        StepHistory *slot = &e->history[0];
        uint64_t key;
        bool any = false;

        for (size_t i = 0; i < b->policy->n_actions; i++)
                any = any || b->state.step_last_usec[i] != 0;
        if (!any || !(key = history_key(b->cgroup, b->policy)))
                return;
        for (size_t i = 0; i < HISTORY_MAX; i++) {
                if (e->history[i].key == key) {
                        slot = &e->history[i];
                        break;
                }
                if (e->history[i].saved_usec < slot->saved_usec)
                        slot = &e->history[i];
        }
        slot->key = key;
        slot->saved_usec = now ? now : 1;
        memcpy(slot->step_last_usec, b->state.step_last_usec, sizeof(slot->step_last_usec));
}

static void history_restore(Engine *e, Binding *b)
{
        uint64_t key = history_key(b->cgroup, b->policy);

        for (size_t i = 0; key && i < HISTORY_MAX; i++)
                if (e->history[i].key == key) {
                        memcpy(b->state.step_last_usec, e->history[i].step_last_usec,
                               sizeof(b->state.step_last_usec));
                        return;
                }
}

Engine *engine_new(const EngineHost *host, EngineDecisionFunc func, void *userdata)
{
        Engine *e;

        if (!host || !host->identity || !host->n_slots || !host->slot)
                return NULL;
        e = calloc(1, sizeof(Engine));
        if (!e)
                return NULL;
        e->host = *host;
        e->func = func;
        e->userdata = userdata;
        return e;
}

Engine *engine_free(Engine *e)
{
        if (!e)
                return NULL;
        for (unsigned i = 0; i < e->n_slots; i++)
                free(e->by_slot[i]);
        free(e->by_slot);
        free(e);
        return NULL;
}

/* which policy of a cgroup: its cgroup policy, its node policy
 * (policy_is_node), and a target: children policy of its parent */
enum { KIND_CGROUP, KIND_NODE, KIND_CHILDREN, _KIND_MAX };

static uint64_t host_read_usage(const Engine *e, const Cgroup *c)
{
        return e->host.read_usage ? e->host.read_usage(e->host.userdata, c) : UINT64_MAX;
}

static int host_v1_request(const Engine *e, const Cgroup *c, bool low, uint64_t threshold)
{
        return e->host.v1_request ? e->host.v1_request(e->host.userdata, c, low, threshold) : 0;
}

static unsigned entry(const Cgroup *c, int kind)
{
        return c->slot * _KIND_MAX + (unsigned)kind;
}

static Binding *binding_of(const Engine *e, const Cgroup *c, int kind)
{
        Binding *b;

        if (entry(c, kind) >= e->n_slots)
                return NULL;
        b = e->by_slot[entry(c, kind)];
        return b && b->cgroup == c && b->serial == c->serial ? b : NULL;
}

/* tell_host: the cgroup is still there (on removal, the watcher closes its fds itself). */
static void unbind(Engine *e, bool tell_host, const Cgroup *c, int kind, uint64_t now)
{
        Binding *b = binding_of(e, c, kind);

        e->select_gen++; /* select: the cached choices counted it */
        if (b)
                history_save(e, b, now);
        /* Only cgroup policies ask the v1 watcher for anything. */
        if (tell_host && c->v1 && kind == KIND_CGROUP && b)
                (void)host_v1_request(e, c, false, 0);
        if (entry(c, kind) < e->n_slots) {
                free(e->by_slot[entry(c, kind)]);
                e->by_slot[entry(c, kind)] = NULL;
        }
}

/* The same policy across a reload: same name, namespace and content. A policy
 * whose content changed (another counter, threshold, ladder) starts from
 * scratch: its windows hold samples of what the old triggers measured. */
static bool same_policy(const Policy *a, const Policy *b)
{
        return a && b && a->hash == b->hash && strcmp(a->name, b->name) == 0 &&
               ((!a->scope_namespace && !b->scope_namespace) ||
                (a->scope_namespace && b->scope_namespace &&
                 strcmp(a->scope_namespace, b->scope_namespace) == 0));
}

/* The usage threshold a usage trigger stands for, in bytes; 0 if there is no limit. */
static uint64_t usage_threshold(const Trigger *t, const Cgroup *c)
{
        uint64_t limit = t->usage_of == USAGE_OF_HIGH ? c->high : c->max;

        if (limit == UINT64_MAX || limit == 0)
                return 0;
        return limit / 10000 * t->above_bp + (limit % 10000) * t->above_bp / 10000;
}

/* Usage triggers are sampled (cgroup v2 has no notification of usage), but
 * cgroup v1 has notifications for what v2 lacks: ask the watcher for low
 * pressure notifications where a pressureLevel trigger wants them, and for a
 * usage threshold where the policy has one usage trigger (usage is then
 * event-driven: read once at binding, then at each crossing). */
static void request_usage(Engine *e, Binding *b, uint64_t now)
{
        const Policy *p = b->policy;
        const Trigger *usage = NULL;
        unsigned n_usage = 0;
        bool low = false;

        for (size_t i = 0; i < p->n_triggers; i++) {
                const Trigger *t = &p->triggers[i];
                if (t->type == TRIGGER_PRESSURE_LEVEL && t->level == V1_LEVEL_LOW)
                        low = true;
                else if (t->type == TRIGGER_USAGE) {
                        usage = t;
                        n_usage++;
                }
        }
        if (b->cgroup->v1) {
                uint64_t threshold = n_usage == 1 ? usage_threshold(usage, b->cgroup) : 0;
                b->usage_events = host_v1_request(e, b->cgroup, low, threshold) > 0;
        }
        if (n_usage > 0) {
                /* Read at the next tick; from then on every ENGINE_USAGE_SAMPLE_USEC unless
                 * a threshold is armed. */
                b->next_sample_usec = now;
                if (e->next_usec == 0 || now < e->next_usec)
                        e->next_usec = now;
        }
}

/* The binding's policy no longer applies (or changed): what it did is to be
 * undone. Its policy must still be alive (engine_set_policies' contract). */
static void end_episode(Engine *e, const Binding *old)
{
        /* With select, a cgroup never chosen in the episode makes no noise. */
        if (!old || old->state.phase == POLICY_IDLE ||
            (old->policy->select_by != SELECT_EACH && old->ran_steps == 0))
                return;
        EngineDecision ed = { .cgroup = old->cgroup, .policy = old->policy, .phase = POLICY_IDLE };
        ed.d.cleared = true;
        for (size_t i = 0; i < old->policy->n_actions; i++)
                if ((old->ran_steps & (1U << i)) && action_is_undoable(old->policy->actions[i].type))
                        ed.d.undo_steps |= 1U << i;
        e->func(&ed, e->userdata);
}

static uint64_t host_read_psi(const Engine *e, const Cgroup *c)
{
        return e->host.read_psi ? e->host.read_psi(e->host.userdata, c) : c->psi.some.total_usec;
}

/* idx: the policy of set for this kind (-ENOENT: none); id: c's own identity. */
static void bind_kind(Engine *e, const Cgroup *c, int idx, const CgroupIdentity *id, int kind, uint64_t now)
{
        Binding *old = binding_of(e, c, kind), *b;
        const Cgroup *trig = kind == KIND_CHILDREN ? c->parent : c;

        e->select_gen++; /* select: a binding made, changed or dropped */
        if (idx < 0 || !trig) {
                end_episode(e, old);
                unbind(e, true, c, kind, now);
                return;
        }
        const Policy *p = &e->set.policies[idx];
        if (old && !same_policy(old->policy, p))
                end_episode(e, old); /* another policy, or this one changed: from scratch */
        else if (old) {
                /* Same policy after a reload: the episode and windows go on. */
                old->policy = p;
                if (kind == KIND_CGROUP)
                        request_usage(e, old, now); /* the limit may have changed */
                return;
        }
        if (entry(c, kind) >= e->n_slots) {
                unsigned n = e->n_slots ? e->n_slots : 128;
                while (n <= entry(c, kind))
                        n *= 2;
                Binding **v = realloc(e->by_slot, n * sizeof(Binding *));
                if (!v)
                        return; /* no old binding: it would have an entry */
                memset(v + e->n_slots, 0, (n - e->n_slots) * sizeof(Binding *));
                e->by_slot = v;
                e->n_slots = n;
        }
        bool pressure = p->select_by == SELECT_PRESSURE;
        b = calloc(1, sizeof(Binding) + (pressure ? sizeof(CounterWindow) : 0));
        if (!b) {
                unbind(e, true, c, kind, now); /* old's policy may not outlive this call */
                return;
        }
        if (pressure) {
                b->psi_rank = (CounterWindow *)(b + 1);
                counter_window_init(b->psi_rank, p->select_window_usec);
                uint64_t v = host_read_psi(e, c);
                if (v != UINT64_MAX)
                        counter_window_add(b->psi_rank, now, v);
        }
        b->cgroup = c;
        b->trig = trig;
        b->serial = c->serial;
        b->policy = p;
        history_restore(e, b);
        b->importance = id->qos == QOS_BESTEFFORT   ? 0
                        : id->qos == QOS_BURSTABLE  ? 1
                        : id->qos == QOS_GUARANTEED ? 2
                                                    : 3;
        /* The owner knows the target rules (and where memwarden itself runs). */
        b->refused = e->host.refused && e->host.refused(e->host.userdata, c, p);
        /* The counters as they are now are each window's first sample: growth is
         * counted from the moment the policy applies. */
        for (size_t i = 0; i < p->n_triggers; i++) {
                const Trigger *t = &p->triggers[i];
                counter_window_init(&b->windows[i], t->window_usec);
                if (t->type == TRIGGER_MEMORY_EVENTS)
                        counter_window_add(&b->windows[i], now, trig->events.value[t->counter]);
                else if (t->type == TRIGGER_PRESSURE)
                        counter_window_add(&b->windows[i], now,
                                           t->psi_type == PSI_FULL ? trig->psi.full.total_usec
                                                                   : trig->psi.some.total_usec);
                else if (t->type == TRIGGER_NODE_PRESSURE && e->has_node && e->node.has_psi)
                        counter_window_add(&b->windows[i], now,
                                           t->psi_type == PSI_FULL ? e->node.psi.full.total_usec
                                                                   : e->node.psi.some.total_usec);
                else if (t->type == TRIGGER_NODE_AVAILABLE && e->has_node && e->node.has_mem)
                        b->holds[i] = e->node.mem_available < t->below_bytes;
                else if (t->type == TRIGGER_PRESSURE_LEVEL)
                        counter_window_add(&b->windows[i], now, c->v1 ? c->v1->pressure[t->level] : 0);
        }
        if (kind == KIND_CGROUP)
                request_usage(e, b, now);
        if (old)
                history_save(e, old, now);
        free(e->by_slot[entry(c, kind)]);
        e->by_slot[entry(c, kind)] = b;
        if (b->next_sample_usec && (e->next_usec == 0 || b->next_sample_usec < e->next_usec))
                e->next_usec = b->next_sample_usec;
}

/* c's cgroup policy and node policy, each the most specific of its kind,
 * and its parent's target: children policy. */
static void bind(Engine *e, const Cgroup *c, uint64_t now)
{
        char path[4096], ppath[4096];
        CgroupIdentity id = { .qos = _QOS_INVALID }, pid;
        bool known = e->has_set && c->watched;
        /* A child takes its parent's triggers: it needs no watch of its own, its
         * parent does (what a policy matches is watched). */
        bool child = e->any_children && c->parent && c->parent->watched;
        int idx;

        if (known || child)
                e->host.identity(e->host.userdata, c, path, sizeof(path), &id);
        idx = known ? policy_set_lookup_kind(&e->set, &id, false) : -ENOENT;
        bind_kind(e, c, idx, &id, KIND_CGROUP, now);
        idx = known ? policy_set_lookup_kind(&e->set, &id, true) : -ENOENT;
        bind_kind(e, c, idx, &id, KIND_NODE, now);
        idx = -ENOENT;
        if (child) {
                e->host.identity(e->host.userdata, c->parent, ppath, sizeof(ppath), &pid);
                idx = policy_set_lookup_children(&e->set, &pid, &id);
        }
        bind_kind(e, c, idx, &id, KIND_CHILDREN, now);
}

void engine_set_policies(Engine *e, const PolicySet *set, uint64_t now_usec)
{
        e->select_gen++;
        e->set = set ? *set : (PolicySet){};
        e->has_set = set != NULL;
        e->any_children = false;
        for (size_t i = 0; i < e->set.n; i++)
                e->any_children = e->any_children || e->set.policies[i].target_children;
        /* Pointers into the old set die with it: detach first, rebind below. */
        for (unsigned i = 0; i < e->n_slots; i++)
                if (e->by_slot[i] && !e->host.slot(e->host.userdata, i / _KIND_MAX)) {
                        free(e->by_slot[i]);
                        e->by_slot[i] = NULL;
                }
        for (unsigned i = 0; i < e->host.n_slots(e->host.userdata); i++) {
                const Cgroup *c = e->host.slot(e->host.userdata, i);
                if (c)
                        bind(e, c, now_usec);
        }
}

static bool usage_holds(const Trigger *t, const Cgroup *c, uint64_t current)
{
        uint64_t threshold = usage_threshold(t, c);

        return threshold > 0 && current != UINT64_MAX && current >= threshold;
}

/* Window-based triggers from their samples at `now` (they decay as the window slides). */
static void evaluate_windows(Binding *b, uint64_t now)
{
        const Policy *p = b->policy;

        for (size_t i = 0; i < p->n_triggers; i++) {
                const Trigger *t = &p->triggers[i];
                uint64_t inc;

                switch (t->type) {
                case TRIGGER_MEMORY_EVENTS:
                case TRIGGER_PRESSURE_LEVEL:
                        b->holds[i] = counter_window_increase(&b->windows[i], now) >= t->increase;
                        break;
                case TRIGGER_PRESSURE:
                case TRIGGER_NODE_PRESSURE:
                        /* Stall time over the window as a share of it, in basis points. */
                        inc = counter_window_increase(&b->windows[i], now);
                        b->holds[i] = t->window_usec && inc * 10000 / t->window_usec >= t->above_bp;
                        break;
                default:
                        break;
                }
        }
}

static bool combined(const Binding *b)
{
        const Policy *p = b->policy;
        bool any = false, all = p->n_triggers > 0;

        for (size_t i = 0; i < p->n_triggers; i++) {
                any = any || b->holds[i];
                all = all && b->holds[i];
        }
        return p->all ? all : any;
}

static uint64_t rank_usage(Engine *e, Binding *b, uint64_t now)
{
        if (b->rank_at != now || now == 0) {
                b->rank_usage = host_read_usage(e, b->cgroup);
                if (b->rank_usage == UINT64_MAX)
                        b->rank_usage = 0;
                b->rank_at = now;
        }
        return b->rank_usage;
}

/* by: pressure: the growth of the PSI some total over the window, read now
 * (a sample more). Where the last sample before now is older than the
 * window, the growth since it is scaled to the window (the mean stall rate
 * since then): a cgroup looked at rarely is not ranked on hours of stall. */
static uint64_t rank_pressure(Engine *e, Binding *b, uint64_t now)
{
        CounterWindow *w = b->psi_rank;

        if (b->rank_at == now && now != 0)
                return b->rank_usage;
        b->rank_at = now;
        b->rank_usage = 0;
        uint64_t v = host_read_psi(e, b->cgroup);
        if (v != UINT64_MAX)
                counter_window_add(w, now, v);
        if (w->n < 2)
                return 0;
        uint64_t start = now > w->window_usec ? now - w->window_usec : 0;
        unsigned idx = w->head;
        for (unsigned k = 1; k < w->n; k++) {
                idx = (w->head + COUNTER_WINDOW_SAMPLES - k) % COUNTER_WINDOW_SAMPLES;
                if (w->t[idx] <= start)
                        break;
        }
        uint64_t inc = w->v[w->head] >= w->v[idx] ? w->v[w->head] - w->v[idx] : 0;
        uint64_t dt = w->t[w->head] - w->t[idx];
        if (dt > w->window_usec)
                inc = (uint64_t)((__uint128_t)inc * w->window_usec / dt);
        b->rank_usage = inc;
        return inc;
}

static RankKey rank_key(Engine *e, Binding *b, uint64_t now)
{
        if (b->psi_rank)
                return (RankKey){ 0, rank_pressure(e, b, now), b->cgroup->slot };
        return (RankKey){ b->importance, rank_usage(e, b, now), b->cgroup->slot };
}

/* Whether a comes before b in the policy's selection order. */
static bool key_before(SelectBy by, const RankKey *a, const RankKey *b)
{
        if (by == SELECT_LEAST_IMPORTANT && a->importance != b->importance)
                return a->importance < b->importance;
        if (a->usage != b->usage)
                return a->usage > b->usage;
        return a->slot < b->slot; /* a stable order for equals */
}

static bool eligible(const Binding *b)
{
        return !b->refused && !b->failed && combined(b);
}

static void select_invalidate(Engine *e)
{
        e->select_gen++;
}

/* The cgroups that compete: every binding of the policy, or, with target:
 * children, the children of one cgroup (a slice's most-pressured child, not
 * the node's). */
static const Cgroup *select_scope(const Binding *b)
{
        return b->policy->target_children ? b->trig : NULL;
}

static SelectCache *select_cache_find(Engine *e, const Policy *p, const Cgroup *scope, uint64_t now)
{
        for (unsigned i = 0; i < SELECT_CACHE_MAX; i++) {
                SelectCache *sc = &e->select_cache[i];
                /* now 0 (tests): usage is read again on each look, so is the choice */
                if (sc->policy == p && sc->scope == scope && sc->at == now && sc->gen == e->select_gen &&
                    now != 0)
                        return sc;
        }
        return NULL;
}

/* A parent is never chosen for memory that is its children's: on cgroup v2
 * a cgroup with children holds (almost) nothing of its own, so where a
 * policy matches a slice and the scopes in it, the scope that holds the
 * memory ranks and the slice does not (killing the slice would take its
 * siblings too). Every ancestor of a binding of p where some step may be
 * done (not refused; a failed one still counts: a failure never widens the
 * choice to its parent) is marked; each is marked once, so the pass is
 * O(bindings + depth). */
static uint64_t shadow_parents(Engine *e, const Policy *p)
{
        uint64_t mark = ++e->shadow_seq;

        if (p->target_children)
                return mark; /* the children of one cgroup: none is below another */
        for (unsigned i = 0; i < e->n_slots; i++) {
                const Binding *o = e->by_slot[i];
                if (!o || o->policy != p || o->refused)
                        continue;
                for (const Cgroup *a = o->cgroup->parent; a; a = a->parent) {
                        Binding *ab = binding_of(e, a, KIND_CGROUP);
                        if (!ab || ab->policy != p)
                                ab = binding_of(e, a, KIND_NODE);
                        if (!ab || ab->policy != p)
                                continue; /* not a candidate: its ancestors may be */
                        if (ab->shadow_mark == mark)
                                break; /* and so are its ancestors */
                        ab->shadow_mark = mark;
                }
        }
        return mark;
}

/* The first `count` eligible bindings of p, kept sorted in a bounded array:
 * O(n * count) at worst, one pass (after the parents' marking). */
static SelectCache *select_cache_make(Engine *e, const Policy *p, const Cgroup *scope, uint64_t now)
{
        RankKey top[SELECT_COUNT_MAX];
        unsigned n = 0, k = p->select_count == 0 ? 1 : p->select_count;
        SelectCache *sc = NULL;
        uint64_t mark = shadow_parents(e, p);

        if (k > SELECT_COUNT_MAX)
                k = SELECT_COUNT_MAX;
        for (unsigned i = 0; i < e->n_slots; i++) {
                Binding *o = e->by_slot[i];
                if (!o || o->policy != p || select_scope(o) != scope)
                        continue;
                o->sel_eligible = eligible(o) && o->shadow_mark != mark;
                if (!o->sel_eligible)
                        continue;
                RankKey key = rank_key(e, o, now);
                if (n == k && !key_before(p->select_by, &key, &top[n - 1]))
                        continue;
                unsigned j = n < k ? n++ : n - 1;
                for (; j > 0 && key_before(p->select_by, &key, &top[j - 1]); j--)
                        top[j] = top[j - 1];
                top[j] = key;
        }
        for (unsigned i = 0; i < SELECT_CACHE_MAX && !sc; i++)
                if (!e->select_cache[i].policy ||
                    (e->select_cache[i].policy == p && e->select_cache[i].scope == scope) ||
                    e->select_cache[i].gen != e->select_gen)
                        sc = &e->select_cache[i];
        if (!sc) {
                sc = &e->select_cache[e->select_next];
                e->select_next = (e->select_next + 1) % SELECT_CACHE_MAX;
        }
        *sc = (SelectCache){ .policy = p,
                             .scope = scope,
                             .at = now,
                             .gen = e->select_gen,
                             .full = n == k,
                             .shadow_mark = mark };
        if (n > 0)
                sc->last = top[n - 1];
        return sc;
}

/* b's triggers changed since its policy's cache was made (engine_tick reads
 * usage and decides binding by binding): the count-th moves only if b is
 * at or before it. */
static void select_note(Engine *e, Binding *b, uint64_t now)
{
        SelectCache *sc = select_cache_find(e, b->policy, select_scope(b), now);
        bool el = sc && eligible(b) && b->shadow_mark != sc->shadow_mark;

        if (!sc || el == b->sel_eligible)
                return;
        b->sel_eligible = el;
        RankKey key = rank_key(e, b, now);
        if (!sc->full || !key_before(b->policy->select_by, &sc->last, &key))
                sc->policy = NULL;
}

/* A sample-based trigger (nodeAvailable, usage) holds: fresh figures, read
 * after the last step, so the hold-off below does not apply. */
static bool fresh_holds(const Binding *b)
{
        for (size_t i = 0; i < b->policy->n_triggers; i++)
                if (b->holds[i] && (b->policy->triggers[i].type == TRIGGER_NODE_AVAILABLE ||
                                    b->policy->triggers[i].type == TRIGGER_USAGE))
                        return true;
        return false;
}

/* select: whether b is among the policy's first `count` of the bindings whose
 * triggers hold now: fewer than `count` eligible others come before it, that
 * is, the count-th eligible does not come before b (b itself may be it). */
static bool is_selected(Engine *e, Binding *b, uint64_t now)
{
        const Policy *p = b->policy;
        SelectCache *sc;

        /* Where the steps would be refused (the root, a QoS slice, ...), the choice
         * falls on the next. */
        if (b->refused || b->failed || (b->hold_until > now && !fresh_holds(b)))
                return false;
        sc = select_cache_find(e, p, select_scope(b), now);
        if (!sc)
                sc = select_cache_make(e, p, select_scope(b), now);
        if (b->shadow_mark == sc->shadow_mark)
                return false; /* a parent of candidates */
        if (!sc->full)
                return true;
        RankKey key = rank_key(e, b, now);
        return !key_before(p->select_by, &sc->last, &key);
}

/* After a step ran on one candidate, the figures a window-based trigger holds
 * on still count the stall or events of before (a killed cgroup's pressure
 * stays in its slice's window): the others are not chosen until a window has
 * passed, so that one cause costs one step (oomd's post-action delay).
 * Sample-based triggers (nodeAvailable, usage) see the effect at the next
 * sample and need none: where one of them holds, the hold does not count. */
static uint64_t select_holdoff(const Policy *p)
{
        uint64_t h = 0;

        for (size_t i = 0; i < p->n_triggers; i++)
                if (p->triggers[i].type != TRIGGER_NODE_AVAILABLE && p->triggers[i].type != TRIGGER_USAGE &&
                    p->triggers[i].window_usec > h)
                        h = p->triggers[i].window_usec;
        return h;
}

/* The others of b's selection scope (0: released, engine_step_failed). */
static void hold_others(Engine *e, const Binding *b, uint64_t until)
{
        const Policy *p = b->policy;

        if (p->target_children) {
                for (const Cgroup *k = b->trig->first_child; k; k = k->next_sibling) {
                        Binding *o = binding_of(e, k, KIND_CHILDREN);
                        if (o && o != b && o->policy == p)
                                o->hold_until = until;
                }
                return;
        }
        for (unsigned i = 0; i < e->n_slots; i++) {
                Binding *o = e->by_slot[i];
                if (o && o != b && o->policy == p)
                        o->hold_until = until;
        }
}

static void decide(Engine *e, Binding *b, uint64_t now)
{
        EngineDecision ed = { .cgroup = b->cgroup, .policy = b->policy };
        PolicyPhase before = b->state.phase;
        PolicyState old = b->state;
        bool select = b->policy->select_by != SELECT_EACH;

        evaluate_windows(b, now);
        policy_state_update(b->policy, &b->state, combined(b), now, &ed.d);
        if (ed.d.fired)
                b->ran_steps = 0;
        if (select)
                select_note(e, b, now);
        if (select && ed.d.run_steps && !is_selected(e, b, now)) {
                /* Not this one (now): the steps did not run, so they stay due and the
                 * choice is made again at the next evaluation. */
                for (size_t i = 0; i < b->policy->n_actions; i++)
                        if (ed.d.run_steps & (1U << i)) {
                                b->state.steps_done &= ~(1U << i);
                                b->state.step_last_usec[i] = old.step_last_usec[i];
                        }
                ed.d.run_steps = 0;
        }
        b->ran_steps |= ed.d.run_steps;
        if (select && ed.d.run_steps && select_holdoff(b->policy))
                hold_others(e, b, now + select_holdoff(b->policy));
        ed.d.undo_steps &= b->ran_steps;
        /* With select, a cgroup never chosen in this episode makes no noise. */
        bool quiet = select && b->ran_steps == 0;
        if (ed.d.cleared)
                b->ran_steps = 0;
        if (b->state.phase == POLICY_IDLE && b->failed) {
                b->failed = false; /* a new episode tries it again */
                select_invalidate(e);
        }
        ed.phase = b->state.phase;
        b->next_usec = ed.d.next_usec;
        if (b->next_sample_usec && (b->next_usec == 0 || b->next_sample_usec < b->next_usec))
                b->next_usec = b->next_sample_usec;
        /* While not idle, windows slide: look again a bucket later. */
        if (b->state.phase != POLICY_IDLE)
                for (size_t i = 0; i < b->policy->n_triggers; i++) {
                        uint64_t bucket = b->policy->triggers[i].window_usec / 8;
                        if (bucket && (b->next_usec == 0 || now + bucket < b->next_usec))
                                b->next_usec = now + bucket;
                }
        if (b->next_usec != 0 && (e->next_usec == 0 || b->next_usec < e->next_usec))
                e->next_usec = b->next_usec;
        if (quiet)
                return;
        if (ed.d.fired || ed.d.cleared || ed.d.run_steps || ed.d.undo_steps || ed.phase != before)
                e->func(&ed, e->userdata);
}

/* When usage is next read, from a reading cur: as for MemAvailable
 * (node.h), the time it would take to grow from cur to the nearest usage
 * threshold at the assumed fill rate; while a threshold is passed (or usage
 * unknown), every ENGINE_USAGE_SAMPLE_USEC to see it fall back. */
static uint64_t usage_interval(const Engine *e, const Binding *b, uint64_t cur)
{
        const Policy *p = b->policy;
        uint64_t best = NODE_SAMPLE_MAX_USEC;

        for (size_t i = 0; i < p->n_triggers; i++) {
                uint64_t threshold, t;
                if (p->triggers[i].type != TRIGGER_USAGE)
                        continue;
                threshold = usage_threshold(&p->triggers[i], b->cgroup);
                if (threshold == 0)
                        continue; /* no limit: never holds; a new limit binds again */
                if (cur == UINT64_MAX || cur >= threshold)
                        t = ENGINE_USAGE_SAMPLE_USEC;
                else
                        t = node_headroom_usec(threshold - cur, e->fill_rate, ENGINE_USAGE_MIN_USEC,
                                               NODE_SAMPLE_MAX_USEC);
                if (t < best)
                        best = t;
        }
        return best;
}

static void usage_resample(Engine *e, Binding *b, uint64_t cur, uint64_t now)
{
        b->next_sample_usec = now + usage_interval(e, b, cur);
        if (e->next_usec == 0 || b->next_sample_usec < e->next_usec)
                e->next_usec = b->next_sample_usec;
}

void engine_set_fill_rate(Engine *e, uint64_t bytes_per_sec)
{
        e->fill_rate = bytes_per_sec;
}

/* A record of b->trig (b's own cgroup, or its parent for target: children):
 * its triggers' inputs (the caller decides). */
static void feed_record(Engine *e, Binding *b, const Record *r, uint64_t now)
{
        const Cgroup *c = b->trig;
        const Policy *p = b->policy;

        if (r->type == RECORD_PSI && b->psi_rank && r->cgroup == b->cgroup)
                counter_window_add(b->psi_rank, now, b->cgroup->psi.some.total_usec);
        for (size_t i = 0; i < p->n_triggers; i++) {
                const Trigger *t = &p->triggers[i];
                if (t->type == TRIGGER_MEMORY_EVENTS && r->type == RECORD_MEMORY_EVENTS)
                        counter_window_add(&b->windows[i], now, c->events.value[t->counter]);
                else if (t->type == TRIGGER_PRESSURE && r->type == RECORD_PSI)
                        counter_window_add(&b->windows[i], now,
                                           t->psi_type == PSI_FULL ? c->psi.full.total_usec
                                                                   : c->psi.some.total_usec);
                else if (t->type == TRIGGER_PRESSURE_LEVEL && r->type == RECORD_PRESSURE_LEVEL && c->v1)
                        counter_window_add(&b->windows[i], now, c->v1->pressure[t->level]);
                else if (t->type == TRIGGER_USAGE) {
                        /* A new limit changes the share at once: read the usage now. */
                        uint64_t cur = r->current != UINT64_MAX   ? r->current
                                       : r->type == RECORD_LIMITS ? host_read_usage(e, c)
                                                                  : UINT64_MAX;
                        if (cur != UINT64_MAX)
                                b->holds[i] = usage_holds(t, c, cur);
                        /* A fresh reading (the cgroup's PSI or memory events woke us):
                         * the next is due from it. */
                        if (cur != UINT64_MAX && !b->usage_events && b->next_sample_usec)
                                usage_resample(e, b, cur, now);
                        /* v1's usage, read after the kernel saw it cross, may already be
                         * on the other side by a few pages (charges come in batches, page
                         * cache is reclaimed): look once more a moment later. */
                        if (r->type == RECORD_USAGE_THRESHOLD && b->usage_events) {
                                b->next_sample_usec = now + ENGINE_USAGE_RECHECK_USEC;
                                if (e->next_usec == 0 || b->next_sample_usec < e->next_usec)
                                        e->next_usec = b->next_sample_usec;
                        }
                }
        }
}

void engine_observe(Engine *e, const Record *r, uint64_t now)
{
        const Cgroup *c = r->cgroup;
        Binding *b;

        select_invalidate(e);
        if (!c)
                return;
        switch (r->type) {
        case RECORD_CGROUP_ADDED:
        case RECORD_LIMITS:
                bind(e, c, now);
                break;
        case RECORD_IDENTITY: /* the names came after the cgroup: match again */
                bind(e, c, now);
                /* its children's target: children policy is matched on it */
                for (const Cgroup *k = c->first_child; k && e->any_children; k = k->next_sibling)
                        bind(e, k, now);
                break;
        case RECORD_CGROUP_REMOVED:
                for (int kind = 0; kind < _KIND_MAX; kind++)
                        unbind(e, false, c, kind, now);
                return;
        default:
                break;
        }
        b = binding_of(e, c, KIND_CGROUP); /* node policies have node triggers only */
        if (b) {
                feed_record(e, b, r, now);
                decide(e, b, now);
        }
        b = binding_of(e, c, KIND_NODE);
        if (b && b->psi_rank && r->type == RECORD_PSI)
                counter_window_add(b->psi_rank, now, c->psi.some.total_usec);
        /* The children that take this cgroup's triggers (target: children): a
         * look at each child of it, only while some policy has target: children. */
        if (r->type == RECORD_CGROUP_ADDED || !e->any_children)
                return;
        /* Every child's triggers are updated before any is decided: `select`
         * compares the children whose triggers hold (as engine_node_update does). */
        bool any = false;
        for (const Cgroup *k = c->first_child; k; k = k->next_sibling) {
                b = binding_of(e, k, KIND_CHILDREN);
                if (b && b->trig == c) {
                        feed_record(e, b, r, now);
                        evaluate_windows(b, now);
                        any = true;
                }
        }
        if (!any)
                return;
        select_invalidate(e);
        for (const Cgroup *k = c->first_child; k; k = k->next_sibling) {
                b = binding_of(e, k, KIND_CHILDREN);
                if (b && b->trig == c)
                        decide(e, b, now);
        }
}

void engine_node_update(Engine *e, const NodeStats *n, uint64_t now)
{
        e->node = *n;
        e->has_node = true;
        /* Node figures come rarely (a PSI trigger at most once per window, MemAvailable
         * samples): a scan of the bindings is fine here. Every binding's triggers are
         * updated before any is decided: `select` compares the bindings that hold. */
        for (unsigned i = 0; i < e->n_slots; i++) {
                Binding *b = e->by_slot[i];
                if (!b)
                        continue;
                bool node = false;
                const Policy *p = b->policy;
                for (size_t k = 0; k < p->n_triggers; k++) {
                        const Trigger *t = &p->triggers[k];
                        if (t->type == TRIGGER_NODE_PRESSURE && n->has_psi) {
                                counter_window_add(&b->windows[k], now,
                                                   t->psi_type == PSI_FULL ? n->psi.full.total_usec
                                                                           : n->psi.some.total_usec);
                                node = true;
                        } else if (t->type == TRIGGER_NODE_AVAILABLE && n->has_mem) {
                                b->holds[k] = n->mem_available < t->below_bytes;
                                node = true;
                        }
                }
                b->node_news = node;
                if (node)
                        evaluate_windows(b, now);
        }
        select_invalidate(e); /* every binding's triggers moved */
        for (unsigned i = 0; i < e->n_slots; i++)
                if (e->by_slot[i] && e->by_slot[i]->node_news)
                        decide(e, e->by_slot[i], now);
}

/* Only the timer scans every binding, and only while some policy is active. */
void engine_tick(Engine *e, uint64_t now)
{
        uint64_t next = 0;

        select_invalidate(e);
        e->retry_usec = 0; /* due bindings are evaluated below; only failures from now count */
        for (unsigned i = 0; i < e->n_slots; i++) {
                Binding *b = e->by_slot[i];
                if (b && b->next_sample_usec && b->next_sample_usec <= now) {
                        uint64_t cur = host_read_usage(e, b->cgroup);
                        const Policy *p = b->policy;
                        for (size_t k = 0; k < p->n_triggers; k++)
                                if (p->triggers[k].type == TRIGGER_USAGE && cur != UINT64_MAX)
                                        b->holds[k] = usage_holds(&p->triggers[k], b->cgroup, cur);
                        b->next_sample_usec = 0;
                        if (!b->usage_events)
                                usage_resample(e, b, cur, now);
                        decide(e, b, now);
                } else if (b && b->next_usec != 0 && b->next_usec <= now)
                        decide(e, b, now);
                if (b && b->next_usec != 0 && (next == 0 || b->next_usec < next))
                        next = b->next_usec;
        }
        /* A step that failed during this tick made bindings already passed due again. */
        if (e->retry_usec && (next == 0 || e->retry_usec < next))
                next = e->retry_usec;
        e->retry_usec = 0;
        e->next_usec = next;
}

/* May be earlier than needed (a binding that was due went away or moved
 * later): the tick then finds nothing to do and recomputes it. */
uint64_t engine_next_usec(const Engine *e)
{
        return e->next_usec;
}

const Policy *engine_policy_of(const Engine *e, const Cgroup *c, bool node, PolicyPhase *ret_phase)
{
        const Binding *b = binding_of(e, c, node ? KIND_NODE : KIND_CGROUP);

        if (!b)
                return NULL;
        if (ret_phase)
                *ret_phase = b->state.phase;
        return b->policy;
}

const Policy *engine_policy_named(const Engine *e, const Cgroup *c, const char *name, const char *ns)
{
        for (int kind = 0; kind < _KIND_MAX; kind++) {
                const Binding *b = binding_of(e, c, kind);
                const char *bns = b ? b->policy->scope_namespace : NULL;
                if (b && name && strcmp(b->policy->name, name) == 0 && !bns == !ns &&
                    (!ns || strcmp(bns, ns) == 0))
                        return b->policy;
        }
        return NULL;
}

void engine_step_failed(Engine *e, const Cgroup *c, const Policy *p, uint64_t now_usec)
{
        Binding *b = NULL;

        for (int kind = 0; kind < _KIND_MAX && (!b || b->policy != p); kind++)
                b = binding_of(e, c, kind);
        if (!b || b->policy != p || b->policy->select_by == SELECT_EACH || b->state.phase == POLICY_IDLE)
                return;
        b->failed = true;
        select_invalidate(e);
        /* The others of this policy kept the step due: choose again now, not at the
         * next record or window bucket. */
        for (unsigned i = 0; i < e->n_slots; i++) {
                Binding *o = e->by_slot[i];
                if (o && o != b && o->policy == p)
                        o->hold_until = 0; /* it did nothing: the next may go at once */
                if (o && o != b && o->policy == p && o->state.phase != POLICY_IDLE) {
                        o->next_usec = now_usec ? now_usec : 1;
                        e->next_usec = e->retry_usec = o->next_usec;
                }
        }
}
