/* SPDX-License-Identifier: MIT */
#include "manager.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "planner.h"

/* A policy decision becomes a record like any other observation; then the
 * executor carries it out. */
static void on_decision(const EngineDecision *d, void *userdata)
{
        Manager *m = userdata;
        Record r = record_init(RECORD_POLICY);
        r.cgroup = d->cgroup;
        r.policy = d->policy;
        r.phase = d->phase;
        r.decision = &d->d;

        r.mono_usec = now_usec(CLOCK_MONOTONIC);
        r.real_usec = now_usec(CLOCK_REALTIME);
        if (cgroup_path(d->cgroup, m->decision_path, sizeof(m->decision_path)) >= 0)
                r.path = m->decision_path;
        manager_dispatch(m, RECORD_ORIGIN_DECISION, &r, d);
}

/* A step that failed or was refused: `select` moves on to the next cgroup. */
static void engine_on_outcome(Manager *m, const Record *r)
{
        const ActionOutcome *o = r->outcome;
        const Policy *p;

        if (!m->engine || !r->cgroup || !o || o->undo ||
            (o->result != ACTION_RESULT_FAILED && o->result != ACTION_RESULT_REFUSED))
                return;
        p = engine_policy_named(m->engine, r->cgroup, o->policy, o->policy_namespace);
        if (p) {
                engine_step_failed(m->engine, r->cgroup, p, r->mono_usec);
                manager_arm_engine_timer(m);
        }
}

static void on_outcome(const Record *r, void *userdata)
{
        manager_dispatch(userdata, RECORD_ORIGIN_OUTCOME, r, NULL);
}

static int on_engine_timer(sd_event_source *s, uint64_t usec, void *userdata);

/* The engine's timer runs only while some policy is pending, firing or
 * clearing: an idle node has none. */
void manager_arm_engine_timer(Manager *m)
{
        uint64_t next = engine_next_usec(m->engine);
        int r;

        if (next == 0) {
                if (m->engine_timer)
                        (void)sd_event_source_set_enabled(m->engine_timer, SD_EVENT_OFF);
                return;
        }
        if (!m->engine_timer) {
                r = sd_event_add_time(m->event, &m->engine_timer, CLOCK_MONOTONIC, next, 0, on_engine_timer,
                                      m);
                if (r < 0) {
                        log_warning_errno(r, "Cannot arm the policy timer: %m");
                        return;
                }
                (void)sd_event_source_set_description(m->engine_timer, "policy-engine");
        } else
                (void)sd_event_source_set_time(m->engine_timer, next);
        (void)sd_event_source_set_enabled(m->engine_timer, SD_EVENT_ONESHOT);
}

static int on_engine_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        Manager *m = userdata;

        (void)s, (void)usec;
        engine_tick(m->engine, now_usec(CLOCK_MONOTONIC));
        manager_arm_engine_timer(m);
        return 0;
}

static int on_watcher_timer(sd_event_source *s, uint64_t usec, void *userdata);

/* The watcher's own deadlines (cgroup v1: oom_kill is re-read a moment after
 * an OOM notification): one timer, armed only while the watcher asks. */
static void arm_watcher_timer(Manager *m)
{
        uint64_t when = m->watcher ? watcher_next_usec(m->watcher) : 0;

        if (when == 0) {
                if (m->watcher_timer)
                        (void)sd_event_source_set_enabled(m->watcher_timer, SD_EVENT_OFF);
                return;
        }
        if (!m->watcher_timer) {
                if (sd_event_add_time(m->event, &m->watcher_timer, CLOCK_MONOTONIC, when, 0,
                                      on_watcher_timer, m) < 0)
                        return;
                (void)sd_event_source_set_description(m->watcher_timer, "watcher-deadline");
        } else
                (void)sd_event_source_set_time(m->watcher_timer, when);
        (void)sd_event_source_set_enabled(m->watcher_timer, SD_EVENT_ONESHOT);
}

static int on_watcher_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        Manager *m = userdata;

        (void)s;
        watcher_tick(m->watcher, usec);
        arm_watcher_timer(m);
        return 0;
}

/* Every record passes here: the sinks (output; the event log for decisions
 * and outcomes), then what consumes it. The sinks may hold a memory_events
 * record back (coalescing, output only); the engine and the executor still
 * see every one. Nothing on this path allocates or blocks on a reader. */
void manager_dispatch(Manager *m, RecordOrigin origin, const Record *r, const EngineDecision *d)
{
        bool decided = origin == RECORD_ORIGIN_DECISION || origin == RECORD_ORIGIN_OUTCOME;

        sinks_write(&m->sinks, r, decided ? SINK_KIND_DECISION : SINK_KIND_OBSERVATION);
        switch (origin) {
        case RECORD_ORIGIN_WATCHER:
                if (r->type == RECORD_MEMORY_EVENTS && r->delta &&
                    (r->delta->value[MEMEV_HIGH] || r->delta->value[MEMEV_MAX]))
                        manager_node_wake(m);
                if (m->executor)
                        executor_observe(m->executor, r);
                if (m->engine && m->scanned) {
                        engine_observe(m->engine, r, r->mono_usec);
                        manager_arm_engine_timer(m);
                }
                break;
        case RECORD_ORIGIN_DECISION:
                if (m->executor && d)
                        executor_decision(m->executor, d);
                break;
        case RECORD_ORIGIN_OUTCOME:
                engine_on_outcome(m, r);
                break;
        default:
                break;
        }
}

/* A coalesced summary's cgroup, when its timer fires. */
static const Cgroup *sinks_lookup(void *userdata, uint32_t slot, uint32_t serial)
{
        Manager *m = userdata;
        const Cgroup *c = m->watcher ? watcher_slot(m->watcher, slot) : NULL;

        return c && c->serial == serial ? c : NULL;
}

void manager_output_record(Manager *m, const Record *r)
{
        manager_dispatch(m, RECORD_ORIGIN_NODE, r, NULL);
}

static void on_record(Watcher *w, const Record *r, void *userdata)
{
        (void)w;
        manager_dispatch(userdata, RECORD_ORIGIN_WATCHER, r, NULL);
}

void manager_rebind_policies(Manager *m, const PolicySet *set)
{
        /* What the new set matches is watched before it binds (the engine binds
         * watched cgroups only); before the first walk, the walk asks. */
        m->want_set = set ? *set : (PolicySet){};
        if (!m->engine || !m->scanned)
                return;
        watcher_reevaluate(m->watcher);
        engine_set_policies(m->engine, set, now_usec(CLOCK_MONOTONIC));
        manager_arm_engine_timer(m);
        /* Names the binding looked up make identity records due. */
        arm_watcher_timer(m);
}

/* The engine's view of the watcher. refused: the planner's target rules with
 * the agent's own cgroup, the same the executor applies (src/planner.c), so
 * that `select` never picks what the executor would refuse. */
static uint64_t host_read_usage(void *u, const Cgroup *c)
{
        return watcher_read_current(((Manager *)u)->watcher, c);
}

static uint64_t host_read_psi(void *u, const Cgroup *c)
{
        return watcher_read_psi_some(((Manager *)u)->watcher, c);
}

static int host_v1_request(void *u, const Cgroup *c, bool low, uint64_t threshold)
{
        return watcher_v1_request(((Manager *)u)->watcher, c, low, threshold);
}

static void host_identity(void *u, const Cgroup *c, char *buf, size_t size, CgroupIdentity *ret)
{
        watcher_cgroup_identity(((Manager *)u)->watcher, c, buf, size, ret);
}

static bool host_refused(void *u, const Cgroup *c, const Policy *p)
{
        const Manager *m = u;
        const PlanContext ctx = { .own_cgroup = m->cfg.own_cgroup ? m->cfg.own_cgroup : "" };

        return plan_all_refused(&ctx, p, c);
}

/* The watcher's question: does some policy match c (src/policy-match.c)? */
static bool want_watch(void *u, const Cgroup *c)
{
        Manager *m = u;
        char path[PATH_MAX];
        CgroupIdentity id;

        if (m->want_set.n == 0)
                return false;
        watcher_cgroup_identity(m->watcher, c, path, sizeof(path), &id);
        return policy_set_matches_any(&m->want_set, &id);
}

static unsigned host_n_slots(void *u)
{
        return watcher_n_slots(((Manager *)u)->watcher);
}

static const Cgroup *host_slot(void *u, unsigned i)
{
        return watcher_slot(((Manager *)u)->watcher, i);
}

static int on_watcher_epoll(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        Manager *m = userdata;
        int r;

        (void)s, (void)fd, (void)revents;
        r = watcher_process_psi(m->watcher);
        if (r < 0)
                log_error_errno(r, "Failed to read the watcher's epoll fd: %m");
        arm_watcher_timer(m);
        return 0;
}

static int on_inotify(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        Manager *m = userdata;
        int r;

        (void)s, (void)fd, (void)revents;
        r = watcher_process_inotify(m->watcher);
        if (r < 0)
                log_error_errno(r, "Failed to read inotify events: %m");
        arm_watcher_timer(m);
        return 0;
}

/* One PSI trigger fd in the loop (allocated when a cgroup is attached). */
typedef struct PsiSource {
        Manager *manager;
        uint64_t key;
        sd_event_source *source;
} PsiSource;

static int on_psi(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        PsiSource *p = userdata;
        Manager *m = p->manager; /* p is freed if the cgroup turns out to be gone */

        (void)s, (void)fd;
        (void)watcher_handle_psi(m->watcher, p->key, revents);
        arm_watcher_timer(m);
        return 0;
}

static int psi_add(void *userdata, int fd, uint64_t key, void **ret_handle)
{
        Manager *m = userdata;
        PsiSource *p;
        int r;

        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        *p = (PsiSource){ .manager = m, .key = key };
        r = sd_event_add_io(m->event, &p->source, fd, EPOLLPRI, on_psi, p);
        if (r < 0) {
                free(p);
                return r;
        }
        (void)sd_event_source_set_description(p->source, "psi-trigger");
        *ret_handle = p;
        return 0;
}

static void psi_del(void *userdata, int fd, void *handle)
{
        PsiSource *p = handle;

        (void)userdata, (void)fd;
        if (!p)
                return;
        sd_event_source_disable_unref(p->source);
        free(p);
}

static void on_stopped(void *userdata, unsigned n_left)
{
        Manager *m = userdata;

        if (n_left > 0)
                log_warning(
                        "%u throttles or freezes not given back in time; the next start gives them back.",
                        n_left);
        (void)sd_event_exit(m->event, 0);
}

static int on_terminate(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        Manager *m = userdata;

        (void)s;
        log_info("Received %s, exiting.", strsignal((int)si->ssi_signo));
        (void)sd_notify(false, "STOPPING=1");
        /* Nothing stays throttled or frozen by accident: the give-backs run on
         * the loop within a deadline (a second signal: now). */
        if (m->executor && executor_shutdown(m->executor, EXECUTOR_SHUTDOWN_USEC, on_stopped, m) == 0)
                return 0;
        return sd_event_exit(m->event, 0);
}

static int on_hup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        Manager *m = userdata;

        (void)s, (void)si;
        /* Reload the policies (off the loop, each source on its own), re-walk the tree,
         * re-read every counter. */
        log_info("Received SIGHUP: reloading policies and rescanning.");
        manager_reload_policies(m);
        (void)watcher_rescan(m->watcher);
        arm_watcher_timer(m);
        return 0;
}

int manager_new(const ManagerConfig *cfg, Manager **ret)
{
        Manager *m;
        int r;

        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->cfg = *cfg;
        m->proc_fd = m->node_psi_fd = -1;

        r = sd_event_default(&m->event);
        if (r < 0)
                goto fail;
        r = sinks_open(&m->sinks, &(SinksConfig){ .output = cfg->output,
                                                  .output_path = cfg->output_path,
                                                  .coalesce_usec = cfg->coalesce_usec,
                                                  .event_log = cfg->event_log,
                                                  .event_log_max = cfg->event_log_max,
                                                  .event_log_keep = cfg->event_log_keep });
        if (r >= 0)
                r = sinks_attach_event(&m->sinks, m->event, sinks_lookup, m);
        if (r < 0)
                goto fail;

        r = watcher_new(&cfg->watch, on_record, m, &m->watcher);
        if (r < 0) {
                log_error_errno(r, "Failed to set up inotify/epoll: %m");
                goto fail;
        }
        watcher_set_psi_hooks(m->watcher, psi_add, psi_del, m);
        watcher_set_want(m->watcher, want_watch, m);
        m->engine = engine_new(&(EngineHost){ .userdata = m,
                                              .read_usage = host_read_usage,
                                              .read_psi = host_read_psi,
                                              .v1_request = host_v1_request,
                                              .identity = host_identity,
                                              .refused = host_refused,
                                              .n_slots = host_n_slots,
                                              .slot = host_slot },
                               on_decision, m);
        if (!m->engine) {
                r = log_error_errno(-ENOMEM, "Cannot set up the policy engine: %m");
                goto fail;
        }
        engine_set_fill_rate(m->engine, cfg->fill_rate);
        m->cfg.exec.cgroup_root = cfg->watch.root;
        m->cfg.exec.own_cgroup = cfg->own_cgroup ? cfg->own_cgroup : "";
        m->cfg.exec.v1 = cfg->watch.v1;
        r = executor_new(m->event, m->watcher, &m->cfg.exec, on_outcome, m, &m->executor);
        if (r < 0) {
                log_error_errno(r, "Cannot set up the actions: %m");
                goto fail;
        }
        *ret = m;
        return 0;
fail:
        manager_free(m);
        return r;
}

Manager *manager_free(Manager *m)
{
        if (!m)
                return NULL;
        status_server_stop(m);
        manager_unwatch_policies(m);
        sd_event_source_disable_unref(m->inotify_source);
        sd_event_source_disable_unref(m->watcher_epoll_source);
        sd_event_source_disable_unref(m->engine_timer);
        sd_event_source_disable_unref(m->watcher_timer);
        manager_node_stop(m);
        executor_free(m->executor);
        engine_free(m->engine);
        /* Pending summaries, while their cgroups are known. */
        sinks_flush_summaries(&m->sinks, UINT64_MAX);
        watcher_free(m->watcher); /* before the loop: it unregisters its PSI sources */
        sinks_close(&m->sinks);
        policy_set_done(&m->policies);
        sd_event_unref(m->event);
        free(m);
        return NULL;
}

static int add_signals(Manager *m)
{
        static const struct {
                int sig;
                sd_event_signal_handler_t handler;
                const char *name;
        } signals[] = {
                { SIGTERM, on_terminate, "signal-term" },
                { SIGINT, on_terminate, "signal-int" },
                { SIGHUP, on_hup, "signal-hup" },
        };
        sigset_t mask;
        int r;

        sigemptyset(&mask);
        for (size_t i = 0; i < ELEMENTSOF(signals); i++)
                sigaddset(&mask, signals[i].sig);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        signal(SIGPIPE, SIG_IGN);

        for (size_t i = 0; i < ELEMENTSOF(signals); i++) {
                sd_event_source *src;
                r = sd_event_add_signal(m->event, &src, signals[i].sig, signals[i].handler, m);
                if (r < 0)
                        return log_error_errno(r, "Failed to add a handler for %s: %m", signals[i].name);
                (void)sd_event_source_set_description(src, signals[i].name);
                /* The loop owns it: freed with the loop. */
                (void)sd_event_source_set_floating(src, true);
                sd_event_source_unref(src);
        }
        return 0;
}

/* The policies, the first walk, the bindings, the node. */
static int start_watching(Manager *m)
{
        int r;

        (void)manager_load_policies(m);
        r = manager_watch_policies(m);
        if (r < 0)
                log_warning_errno(r, "Cannot watch the policy directory, reload with SIGHUP: %m");
        r = watcher_scan(m->watcher);
        if (r < 0)
                return log_error_errno(r, "Failed to walk the cgroup hierarchy at '%s': %m",
                                       m->cfg.watch.root);
        m->scanned = true;
        manager_rebind_policies(m, &m->policies);
        (void)manager_node_start(m);
        manager_node_policies_changed(m);
        if (m->cfg.own_cgroup && !m->cfg.own_cgroup[0])
                watcher_warn(
                        m->watcher, -ENOENT,
                        "own cgroup unknown (cgroup namespace?): set --own-cgroup or MEMWARDEN_POD_UID; "
                        "actions may pick memwarden itself");
        return 0;
}

static int add_watcher_sources(Manager *m)
{
        int r;

        r = sd_event_add_io(m->event, &m->inotify_source, watcher_inotify_fd(m->watcher), EPOLLIN,
                            on_inotify, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch the inotify fd: %m");
        (void)sd_event_source_set_description(m->inotify_source, "cgroup-inotify");
        /* The watcher's own epoll set: the cgroup v1 eventfds (PSI triggers are
         * sources of their own, psi_add). */
        r = sd_event_add_io(m->event, &m->watcher_epoll_source, watcher_psi_fd(m->watcher), EPOLLIN,
                            on_watcher_epoll, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch the watcher's epoll fd: %m");
        (void)sd_event_source_set_description(m->watcher_epoll_source, "memcg-v1-events");
        return 0;
}

int manager_start(Manager *m)
{
        WatcherStats st;
        int r;

        r = add_signals(m);
        if (r < 0)
                return r;
        /* Before the first walk: what a previous run left throttled or frozen. */
        executor_undo_previous(m->executor);
        r = start_watching(m);
        if (r < 0)
                return r;
        watcher_get_stats(m->watcher, &st);
        if (!st.has_memory_controller)
                log_warning(
                        "The cgroup-v2 memory controller is not available under '%s' (a cgroup v1 or hybrid "
                        "host?): memory.events and limits cannot be watched; watching what exists (PSI).",
                        m->cfg.watch.root);
        r = add_watcher_sources(m);
        if (r < 0)
                return r;
        if (m->cfg.socket_path) {
                r = status_server_start(m, m->cfg.socket_path);
                if (r < 0)
                        log_warning_errno(r, "Failed to open the status socket '%s', continuing without: %m",
                                          m->cfg.socket_path);
        }
        /* Pings WATCHDOG=1 when systemd asks for it (WatchdogSec=); no timer otherwise. */
        (void)sd_event_set_watchdog(m->event, true);
        log_info("Watching %u of %u cgroups under '%s' (%u PSI triggers).", st.n_watched, st.n_cgroups,
                 m->cfg.watch.root, st.n_psi);
        (void)sd_notifyf(false, "READY=1\nSTATUS=Watching %u of %u cgroups", st.n_watched, st.n_cgroups);
        return 0;
}

int manager_run(Manager *m)
{
        return sd_event_loop(m->event);
}
