/* SPDX-License-Identifier: MIT */
/* What /metrics says: the families, in order, each written item by item (one
 * cgroup, or one agent figure) into the scrape's staging buffer, so that a
 * scrape of 10,000 cgroups runs as many short steps on the loop and costs no
 * allocation. Names after node-exporter and cAdvisor: counters end in
 * _total, base units (bytes, seconds), totals rather than averages. The
 * cardinality rules are in docs/observability.md. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fs-util.h"
#include "macro.h"
#include "manager.h"
#include "metrics-http.h"

typedef struct Ctx {
        Manager *m;
        const MetricsConfig *cfg;
        const MetricsCounters *k;
        PolicyPhase phase;
        const Policy *policy;
} Ctx;

typedef struct Family {
        const char *name;
        MetricType type;
        const char *help;
        void (*agent)(const Ctx *x, const char *name, MetricsWriter *w);
        void (*cgroup)(const Ctx *x, const Cgroup *c, const char *pairs, size_t n, MetricsWriter *w);
} Family;

/* ---- per cgroup ---- */

static void cg_events(const Ctx *x, const Cgroup *c, const char *pairs, size_t n, MetricsWriter *w)
{
        if (!c->has_memory) /* no memory.events here (the root on v2): no counters to show */
                return;
        for (MemEvent e = MEMEV_HIGH; e < _MEMEV_MAX; e++) {
                metrics_begin(w, "memwarden_memory_events_total");
                metrics_labels_raw(w, pairs, n);
                metrics_label_raw(w, "event", memevent_to_string(e));
                metrics_end_u64(w, c->events.value[e]);
        }
}

/* The trigger's fd reads the pressure file like any other (reading does not
 * touch the trigger): the totals now, not as of the last trigger. */
static void cg_psi(const Cgroup *c, PsiStats *ret)
{
        char b[512];
        ssize_t len;

        *ret = c->psi;
        if (c->psi_fd < 0)
                return;
        len = pread(c->psi_fd, b, sizeof(b) - 1, 0);
        if (len > 0) {
                b[len] = '\0';
                (void)psi_parse(b, (size_t)len, ret);
        }
}

static void cg_waiting(const Ctx *x, const Cgroup *c, const char *pairs, size_t n, MetricsWriter *w)
{
        PsiStats p;

        if (!c->watched || (c->psi_fd < 0 && c->psi.some.total_usec == 0))
                return;
        cg_psi(c, &p);
        metrics_begin(w, "memwarden_pressure_memory_waiting_seconds_total");
        metrics_labels_raw(w, pairs, n);
        metrics_end_usec(w, p.some.total_usec);
}

static void cg_stalled(const Ctx *x, const Cgroup *c, const char *pairs, size_t n, MetricsWriter *w)
{
        PsiStats p;

        if (!c->watched || (c->psi_fd < 0 && c->psi.full.total_usec == 0))
                return;
        cg_psi(c, &p);
        if (!p.has_full)
                return;
        metrics_begin(w, "memwarden_pressure_memory_stalled_seconds_total");
        metrics_labels_raw(w, pairs, n);
        metrics_end_usec(w, p.full.total_usec);
}

static void cg_current(const Ctx *x, const Cgroup *c, const char *pairs, size_t n, MetricsWriter *w)
{
        uint64_t v;

        if (!c->has_memory)
                return;
        v = watcher_read_current(x->m->watcher, c);
        if (v == UINT64_MAX)
                return;
        metrics_begin(w, "memwarden_memory_current_bytes");
        metrics_labels_raw(w, pairs, n);
        metrics_end_u64(w, v);
}

static void cg_limit(const char *name, uint64_t v, const char *pairs, size_t n, MetricsWriter *w)
{
        if (v == UINT64_MAX) /* "max": no series, as cAdvisor leaves out an unlimited spec */
                return;
        metrics_begin(w, name);
        metrics_labels_raw(w, pairs, n);
        metrics_end_u64(w, v);
}

static void cg_high(const Ctx *x, const Cgroup *c, const char *pairs, size_t n, MetricsWriter *w)
{
        cg_limit("memwarden_memory_high_bytes", c->high, pairs, n, w);
}

static void cg_max(const Ctx *x, const Cgroup *c, const char *pairs, size_t n, MetricsWriter *w)
{
        cg_limit("memwarden_memory_max_bytes", c->max, pairs, n, w);
}

/* One series per phase, 1 for the one the policy is in (a state set, as
 * kube-state-metrics writes them): no series appear or vanish on a change. */
static void cg_phase(const Ctx *x, const Cgroup *c, const char *pairs, size_t n, MetricsWriter *w)
{
        const Policy *p = x->policy;
        char name[192];

        if (!p)
                return;
        snprintf(name, sizeof(name), "%s%s%s", p->scope_namespace ?: "", p->scope_namespace ? "/" : "",
                 p->name);
        for (PolicyPhase ph = 0; ph < _POLICY_PHASE_MAX; ph++) {
                metrics_begin(w, "memwarden_policy_phase");
                metrics_labels_raw(w, pairs, n);
                metrics_label(w, "policy", name, strlen(name));
                metrics_label_raw(w, "phase", policy_phase_to_string(ph));
                metrics_end_u64(w, ph == x->phase);
        }
}

/* ---- the agent ---- */

static void ag_build(const Ctx *x, const char *name, MetricsWriter *w)
{
        metrics_begin(w, name);
        metrics_label_raw(w, "version", MEMWARDEN_VERSION);
        metrics_end_u64(w, 1);
}

static void ag_start(const Ctx *x, const char *name, MetricsWriter *w)
{
        uint64_t mono = now_usec(CLOCK_MONOTONIC), real = now_usec(CLOCK_REALTIME);

        metrics_begin(w, name);
        metrics_end_usec(w, real - (mono - x->m->start_usec));
}

static void ag_records(const Ctx *x, const char *name, MetricsWriter *w)
{
        for (RecordType t = 0; t < _RECORD_TYPE_MAX; t++) {
                metrics_begin(w, name);
                metrics_label_raw(w, "type", record_type_to_string(t));
                metrics_end_u64(w, x->k->records[t]);
        }
}

static void ag_coalesced(const Ctx *x, const char *name, MetricsWriter *w)
{
        SinksStats s;

        sinks_get_stats(&x->m->sinks, &s);
        metrics_sample_u64(w, name, s.coalesced);
}

static void ag_dropped(const Ctx *x, const char *name, MetricsWriter *w)
{
        SinksStats s;

        sinks_get_stats(&x->m->sinks, &s);
        metrics_begin(w, name);
        metrics_label_raw(w, "sink", "output");
        metrics_end_u64(w, s.dropped + s.coalesce_lost + s.too_long);
        metrics_begin(w, name);
        metrics_label_raw(w, "sink", "event_log");
        metrics_end_u64(w, s.event_log_dropped);
}

static void ag_actions(const Ctx *x, const char *name, MetricsWriter *w)
{
        const MetricsCounters *k = x->k;

        for (unsigned i = 0; i < k->n_actions; i++) {
                const ActionCounter *a = &k->actions[i];
                metrics_begin(w, name);
                metrics_label(w, "policy", a->policy, strlen(a->policy));
                metrics_label_raw(w, "action", action_type_to_string(a->action));
                metrics_label_raw(w, "result", action_result_to_string(a->result));
                metrics_end_u64(w, a->n);
        }
        if (k->actions_other) {
                metrics_begin(w, name);
                metrics_label_raw(w, "policy", "_other");
                metrics_end_u64(w, k->actions_other);
        }
}

static void ag_latency(const Ctx *x, const char *name, MetricsWriter *w)
{
        for (ActionType t = 0; t < _ACTION_TYPE_MAX; t++) {
                char pair[64];
                snprintf(pair, sizeof(pair), "action=\"%s\"", action_type_to_string(t));
                metrics_histogram(w, name, pair, 1, &x->k->latency[t]);
        }
}

static void ag_reloads(const Ctx *x, const char *name, MetricsWriter *w)
{
        const PolicyWatch *pw = x->m->policy_watch;
        uint64_t all = pw ? pw->n_reloads : 0,
                 failed = pw ? pw->n_reload_failures + pw->n_reloads_abandoned : 0;

        metrics_begin(w, name);
        metrics_label_raw(w, "result", "ok");
        metrics_end_u64(w, all > failed ? all - failed : 0);
        metrics_begin(w, name);
        metrics_label_raw(w, "result", "failed");
        metrics_end_u64(w, failed);
}

static void ag_policies(const Ctx *x, const char *name, MetricsWriter *w)
{
        metrics_sample_u64(w, name, x->m->policies.n);
}

#define WATCHER_STAT(fn, field)                                                                             \
        static void fn(const Ctx *x, const char *name, MetricsWriter *w)                                    \
        {                                                                                                   \
                WatcherStats st;                                                                            \
                watcher_get_stats(x->m->watcher, &st);                                                      \
                metrics_sample_u64(w, name, st.field);                                                      \
        }
WATCHER_STAT(ag_cgroups, n_cgroups)
WATCHER_STAT(ag_watched, n_watched)
WATCHER_STAT(ag_cg_dropped, n_dropped_cgroups)
WATCHER_STAT(ag_overflows, n_overflows)
WATCHER_STAT(ag_psi_triggers, n_psi)

static void ag_webhooks(const Ctx *x, const char *name, MetricsWriter *w)
{
        ExecutorStats s;
        static const char *const res[] = { "sent", "failed", "dropped" };

        executor_get_stats(x->m->executor, &s);
        uint64_t v[] = { s.n_webhooks_sent, s.n_webhooks_failed, s.n_webhooks_dropped };
        for (size_t i = 0; i < ELEMENTSOF(res); i++) {
                metrics_begin(w, name);
                metrics_label_raw(w, "result", res[i]);
                metrics_end_u64(w, v[i]);
        }
}

static void ag_throttled(const Ctx *x, const char *name, MetricsWriter *w)
{
        ExecutorStats s;

        executor_get_stats(x->m->executor, &s);
        metrics_begin(w, name);
        metrics_label_raw(w, "state", "throttled");
        metrics_end_u64(w, s.n_throttled);
        metrics_begin(w, name);
        metrics_label_raw(w, "state", "frozen");
        metrics_end_u64(w, s.n_frozen);
}

/* From /proc/self/status: what mlockall() holds. */
static void ag_locked(const Ctx *x, const char *name, MetricsWriter *w)
{
        char b[4096], *p;
        unsigned long long kib;
        int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
        ssize_t n = fd >= 0 ? read(fd, b, sizeof(b) - 1) : -1;

        safe_close(fd);
        if (n <= 0)
                return;
        b[n] = '\0';
        p = strstr(b, "\nVmLck:");
        if (p && sscanf(p + 7, "%llu", &kib) == 1)
                metrics_sample_u64(w, name, (uint64_t)kib * 1024);
}

static void node_psi(const Ctx *x, const char *name, MetricsWriter *w, bool full)
{
        char b[512];
        PsiStats p;
        int fd = open("/proc/pressure/memory", O_RDONLY | O_CLOEXEC);
        ssize_t n = fd >= 0 ? read(fd, b, sizeof(b) - 1) : -1;

        safe_close(fd);
        if (n <= 0)
                return;
        b[n] = '\0';
        if (psi_parse(b, (size_t)n, &p) < 0 || (full && !p.has_full))
                return;
        metrics_begin(w, name);
        metrics_end_usec(w, full ? p.full.total_usec : p.some.total_usec);
}

static void ag_node_waiting(const Ctx *x, const char *name, MetricsWriter *w)
{
        node_psi(x, name, w, false);
}

static void ag_node_stalled(const Ctx *x, const char *name, MetricsWriter *w)
{
        node_psi(x, name, w, true);
}

static const Family families[] = {
        { "memwarden_build_info", METRIC_GAUGE, "memwarden's version, always 1.", ag_build, NULL },
        { "memwarden_start_time_seconds", METRIC_GAUGE, "When the agent started, seconds since the epoch.",
          ag_start, NULL },
        { "memwarden_memory_events_total", METRIC_COUNTER,
          "The cgroup's memory.events counters (hierarchical), by event.", NULL, cg_events },
        { "memwarden_pressure_memory_waiting_seconds_total", METRIC_COUNTER,
          "Time some tasks of the cgroup waited for memory (PSI some total).", NULL, cg_waiting },
        { "memwarden_pressure_memory_stalled_seconds_total", METRIC_COUNTER,
          "Time all tasks of the cgroup stalled on memory (PSI full total).", NULL, cg_stalled },
        { "memwarden_memory_current_bytes", METRIC_GAUGE, "The cgroup's memory.current.", NULL, cg_current },
        { "memwarden_memory_high_bytes", METRIC_GAUGE, "The cgroup's memory.high, when set.", NULL,
          cg_high },
        { "memwarden_memory_max_bytes", METRIC_GAUGE, "The cgroup's memory.max, when set.", NULL, cg_max },
        { "memwarden_policy_phase", METRIC_GAUGE,
          "The phase of the policy bound to the cgroup (1: current).", NULL, cg_phase },
        { "memwarden_records_total", METRIC_COUNTER, "Records made, by type.", ag_records, NULL },
        { "memwarden_records_coalesced_total", METRIC_COUNTER,
          "memory_events records folded into summaries on the output.", ag_coalesced, NULL },
        { "memwarden_records_dropped_total", METRIC_COUNTER, "Records a sink lost (queue full, too long).",
          ag_dropped, NULL },
        { "memwarden_actions_total", METRIC_COUNTER,
          "Policy steps carried out, by policy, action and result.", ag_actions, NULL },
        { "memwarden_action_latency_seconds", METRIC_HISTOGRAM,
          "From the kernel event (or policy timer) behind a decision to each step's first outcome (a "
          "background step's end).",
          ag_latency, NULL },
        { "memwarden_policy_reloads_total", METRIC_COUNTER, "Policy reloads, by result.", ag_reloads, NULL },
        { "memwarden_policies", METRIC_GAUGE, "Policies in force.", ag_policies, NULL },
        { "memwarden_cgroups", METRIC_GAUGE, "Cgroups in the model.", ag_cgroups, NULL },
        { "memwarden_cgroups_watched", METRIC_GAUGE, "Cgroups whose memory events and PSI are watched.",
          ag_watched, NULL },
        { "memwarden_cgroups_dropped_total", METRIC_COUNTER,
          "Cgroups left out of the model (max-cgroups, the inotify watch limit).", ag_cg_dropped, NULL },
        { "memwarden_inotify_overflows_total", METRIC_COUNTER,
          "inotify queue overflows, each followed by a rescan.", ag_overflows, NULL },
        { "memwarden_psi_triggers", METRIC_GAUGE, "PSI triggers armed.", ag_psi_triggers, NULL },
        { "memwarden_webhooks_total", METRIC_COUNTER, "Webhook deliveries, by result.", ag_webhooks, NULL },
        { "memwarden_cgroups_acted", METRIC_GAUGE, "Cgroups throttled or frozen by memwarden now.",
          ag_throttled, NULL },
        { "memwarden_locked_bytes", METRIC_GAUGE, "The agent's locked memory (VmLck).", ag_locked, NULL },
        { "memwarden_node_pressure_memory_waiting_seconds_total", METRIC_COUNTER,
          "Time some tasks of the node waited for memory (/proc/pressure/memory).", ag_node_waiting, NULL },
        { "memwarden_node_pressure_memory_stalled_seconds_total", METRIC_COUNTER,
          "Time all non-idle tasks of the node stalled on memory.", ag_node_stalled, NULL },
        /* Last: it counts what this scrape left out. */
        { "memwarden_metrics_cgroups_omitted", METRIC_GAUGE,
          "Cgroups with series wanted but left out of this scrape by --metrics-max-cgroups.", NULL, NULL },
};

/* One cgroup of a per-cgroup family, if selected. Returns false on overflow. */
static bool fill_cgroup(Ctx *x, const Family *f, ScrapeCursor *c, const Cgroup *cg, MetricsWriter *w)
{
        char path[4096], pairs[METRICS_CGROUP_LABELS_MAX];
        CgroupIdentity id;
        size_t n, mark = metrics_mark(w);

        x->policy = x->m->engine ? engine_policy_of(x->m->engine, cg, false, &x->phase) : NULL;
        if (!metrics_cgroup_wanted(x->cfg->cgroups, cg, x->policy != NULL))
                return true;
        if (c->n_selected >= x->cfg->max_cgroups) {
                c->n_omitted++;
                return true;
        }
        watcher_cgroup_identity(x->m->watcher, cg, path, sizeof(path), &id);
        metrics_cgroup_labels(&id, pairs, sizeof(pairs), &n);
        f->cgroup(x, cg, pairs, n, w);
        if (w->overflow) {
                metrics_rewind(w, mark);
                return false;
        }
        c->n_selected++;
        return true;
}

static bool fill_family(Ctx *x, ScrapeCursor *c, MetricsWriter *w)
{
        const Family *f = &families[c->family];
        size_t mark = metrics_mark(w);

        if (!c->header_done) {
                metrics_family(w, f->name, f->type, f->help);
                if (w->overflow) {
                        metrics_rewind(w, mark);
                        return false;
                }
                c->header_done = true;
                mark = metrics_mark(w);
        }
        if (f->cgroup) {
                unsigned n = watcher_n_slots(x->m->watcher);
                for (; c->slot < n; c->slot++) {
                        const Cgroup *cg = watcher_slot(x->m->watcher, c->slot);
                        if (cg && !fill_cgroup(x, f, c, cg, w))
                                return false;
                }
                c->last_omitted = c->n_omitted;
        } else if (f->agent)
                f->agent(x, f->name, w);
        else
                metrics_sample_u64(w, f->name, c->last_omitted);
        if (w->overflow) {
                metrics_rewind(w, mark);
                return false;
        }
        c->family++;
        c->slot = c->n_selected = c->n_omitted = 0;
        c->header_done = false;
        return true;
}

void metrics_scrape_fill(Manager *m, const MetricsConfig *cfg, const MetricsCounters *k, ScrapeCursor *c,
                         MetricsWriter *w)
{
        Ctx x = { .m = m, .cfg = cfg, .k = k };

        while (c->family < ELEMENTSOF(families)) {
                if (families[c->family].cgroup && cfg->cgroups == METRICS_CGROUPS_NONE) {
                        c->family++;
                        continue;
                }
                if (!fill_family(&x, c, w))
                        return;
        }
        c->done = true;
}
