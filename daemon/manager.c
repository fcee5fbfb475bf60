/* SPDX-License-Identifier: MIT */
#include "manager.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"

/* Fixed MESSAGE_ID per record type, so journalctl MESSAGE_ID=... finds them. */
#define MW_MESSAGE_ID "6d656d7761726465e0000000000000"

static void write_all(Manager *m, const char *buf, size_t len)
{
        while (len > 0) {
                ssize_t n = write(m->out_fd, buf, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        m->n_write_errors++;
                        return;
                }
                buf += n;
                len -= (size_t)n;
        }
}

static void emit_journal(const Record *r, const char *json, size_t len)
{
        const char *type = record_type_to_string(r->type);
        int prio = r->type == RECORD_WARNING         ? LOG_WARNING
                   : r->type == RECORD_MEMORY_EVENTS ? LOG_NOTICE
                                                     : LOG_INFO;
        char id[40];

        snprintf(id, sizeof(id), MW_MESSAGE_ID "%02x", (unsigned)r->type);
        (void)sd_journal_send("MESSAGE=%s %s%s%s", type, r->path ? r->path : "-", r->message ? ": " : "",
                              r->message ? r->message : "", "PRIORITY=%d", prio, "MESSAGE_ID=%s", id,
                              "MEMWARDEN_EVENT=%s", type, "MEMWARDEN_CGROUP=%s", r->path ? r->path : "",
                              "MEMWARDEN_JSON=%.*s", (int)(len > 0 ? len - 1 : 0), json, NULL);
}

static void output_record(Manager *m, const Record *r)
{
        size_t len;
        int k;

        if (m->cfg.output == OUTPUT_NONE || r->quiet)
                return;
        k = record_format_json(r, m->record_buf, sizeof(m->record_buf), &len);
        if (k < 0) {
                log_warning("Record about '%s' too large for the record buffer, dropped",
                            r->path ? r->path : "-");
                return;
        }
        if (m->cfg.output == OUTPUT_JOURNAL)
                emit_journal(r, m->record_buf, len);
        else
                write_all(m, m->record_buf, len);
}

static int event_log_open(Manager *m)
{
        struct stat st;

        m->event_log_fd = safe_close(m->event_log_fd);
        m->event_log_fd = open(m->cfg.event_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
        if (m->event_log_fd < 0)
                return -errno;
        m->event_log_size = fstat(m->event_log_fd, &st) == 0 ? (uint64_t)st.st_size : 0;
        return 0;
}

/* The event log: what policies decided and what actions did, one JSON line
 * each, rotated by size (FILE -> FILE.1 -> ... -> FILE.N, the oldest dropped). */
static void event_log_write(Manager *m, const char *buf, size_t len)
{
        if (!m->cfg.event_log || m->event_log_fd < 0)
                return;
        if (m->event_log_size + len > m->cfg.event_log_max) {
                char from[4200], to[4200];
                for (unsigned i = m->cfg.event_log_keep; i > 0; i--) {
                        snprintf(to, sizeof(to), "%s.%u", m->cfg.event_log, i);
                        if (i == 1)
                                snprintf(from, sizeof(from), "%s", m->cfg.event_log);
                        else
                                snprintf(from, sizeof(from), "%s.%u", m->cfg.event_log, i - 1);
                        (void)rename(from, to);
                }
                if (m->cfg.event_log_keep == 0)
                        (void)truncate(m->cfg.event_log, 0);
                if (event_log_open(m) < 0) {
                        m->n_event_log_errors++;
                        return;
                }
        }
        if (write(m->event_log_fd, buf, len) != (ssize_t)len)
                m->n_event_log_errors++;
        else
                m->event_log_size += len;
}

void manager_output_record(Manager *m, const Record *r)
{
        output_record(m, r);
}

static void output_action_record(Manager *m, const Record *r)
{
        size_t len;

        output_record(m, r);
        if (m->cfg.event_log && record_format_json(r, m->record_buf, sizeof(m->record_buf), &len) >= 0)
                event_log_write(m, m->record_buf, len);
}

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
        output_action_record(m, &r);
        if (m->executor)
                executor_decision(m->executor, d);
}

static void on_outcome(const Record *r, void *userdata)
{
        output_action_record(userdata, r);
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

static int on_v1_recheck(sd_event_source *s, uint64_t usec, void *userdata)
{
        Manager *m = userdata;

        (void)s;
        if (watcher_v1_recheck(m->watcher) == 0 || ++m->v1_recheck_tries >= 20) {
                watcher_v1_recheck_done(m->watcher);
                return sd_event_source_set_enabled(m->v1_recheck_timer, SD_EVENT_OFF);
        }
        (void)sd_event_source_set_time(m->v1_recheck_timer, usec + WATCHER_V1_RECHECK_USEC);
        return sd_event_source_set_enabled(m->v1_recheck_timer, SD_EVENT_ONESHOT);
}

/* cgroup v1: oom_kill grows a moment after the OOM notification. */
static void arm_v1_recheck(Manager *m)
{
        uint64_t when = now_usec(CLOCK_MONOTONIC) + WATCHER_V1_RECHECK_USEC;
        int enabled = SD_EVENT_OFF;

        if (m->v1_recheck_timer && sd_event_source_get_enabled(m->v1_recheck_timer, &enabled) >= 0 &&
            enabled != SD_EVENT_OFF)
                return; /* one is due already; it handles every pending cgroup */
        m->v1_recheck_tries = 0;
        if (!m->v1_recheck_timer) {
                if (sd_event_add_time(m->event, &m->v1_recheck_timer, CLOCK_MONOTONIC, when, 0,
                                      on_v1_recheck, m) < 0)
                        return;
                (void)sd_event_source_set_description(m->v1_recheck_timer, "memcg-v1-oom-recheck");
        } else
                (void)sd_event_source_set_time(m->v1_recheck_timer, when);
        (void)sd_event_source_set_enabled(m->v1_recheck_timer, SD_EVENT_ONESHOT);
}

static void on_record(Watcher *w, const Record *r, void *userdata)
{
        Manager *m = userdata;

        output_record(m, r);
        if (r->type == RECORD_MEMORY_EVENTS && r->cgroup && r->cgroup->v1 && r->delta &&
            r->delta->value[MEMEV_OOM] > 0)
                arm_v1_recheck(m);
        if (m->executor)
                executor_observe(m->executor, r);
        if (m->engine && m->scanned) {
                engine_observe(m->engine, w, r, r->mono_usec);
                manager_arm_engine_timer(m);
        }
}

void manager_rebind_policies(Manager *m, const PolicySet *set)
{
        if (!m->engine || !m->scanned)
                return;
        engine_set_policies(m->engine, m->watcher, set, now_usec(CLOCK_MONOTONIC));
        manager_arm_engine_timer(m);
}

static int on_watcher_epoll(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        Manager *m = userdata;
        int r;

        (void)s, (void)fd, (void)revents;
        r = watcher_process_psi(m->watcher);
        if (r < 0)
                log_error_errno(r, "Failed to read the watcher's epoll fd: %m");
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

        (void)s, (void)fd;
        (void)watcher_handle_psi(p->manager->watcher, p->key, revents);
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

static int on_terminate(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        Manager *m = userdata;

        (void)s;
        log_info("Received %s, exiting.", strsignal((int)si->ssi_signo));
        (void)sd_notify(false, "STOPPING=1");
        /* Nothing stays throttled or frozen by accident. */
        if (m->executor)
                executor_restore_all(m->executor);
        return sd_event_exit(m->event, 0);
}

static int on_hup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        Manager *m = userdata;

        (void)s, (void)si;
        /* Reload the policies (all or nothing), re-walk the tree, re-read every counter. */
        log_info("Received SIGHUP: reloading policies and rescanning.");
        (void)manager_load_policies(m, false);
        (void)watcher_rescan(m->watcher);
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
        m->out_fd = -1;
        m->listen_fd = -1;
        m->policy_inotify_fd = -1;
        m->event_log_fd = -1;
        m->proc_fd = m->node_psi_fd = -1;
        for (unsigned i = 0; i < STATUS_CLIENTS_MAX; i++)
                m->clients[i].fd = -1;

        r = sd_event_default(&m->event);
        if (r < 0)
                goto fail;
        if (cfg->output == OUTPUT_FILE) {
                m->out_fd =
                        open(cfg->output_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
                if (m->out_fd < 0) {
                        r = log_error_errno(-errno, "Failed to open output file '%s': %m", cfg->output_path);
                        goto fail;
                }
        } else
                m->out_fd = STDOUT_FILENO;

        r = watcher_new(&cfg->watch, on_record, m, &m->watcher);
        if (r < 0) {
                log_error_errno(r, "Failed to set up inotify/epoll: %m");
                goto fail;
        }
        watcher_set_psi_hooks(m->watcher, psi_add, psi_del, m);
        m->engine = engine_new(on_decision, m);
        if (!m->engine) {
                r = log_error_errno(-ENOMEM, "Cannot set up the policy engine: %m");
                goto fail;
        }
        m->cfg.exec.cgroup_root = cfg->watch.root;
        m->cfg.exec.v1 = cfg->watch.v1;
        r = executor_new(m->event, m->watcher, &m->cfg.exec, on_outcome, m, &m->executor);
        if (r < 0) {
                log_error_errno(r, "Cannot set up the actions: %m");
                goto fail;
        }
        if (cfg->event_log) {
                char dir[4096], *slash;
                snprintf(dir, sizeof(dir), "%s", cfg->event_log);
                if ((slash = strrchr(dir, '/')) && slash != dir) {
                        *slash = '\0';
                        (void)mkdir(dir, 0750);
                }
        }
        if (cfg->event_log && event_log_open(m) < 0)
                log_warning_errno(-errno, "Cannot open the event log '%s', continuing without: %m",
                                  cfg->event_log);
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
        sd_event_source_disable_unref(m->v1_recheck_timer);
        manager_node_stop(m);
        executor_free(m->executor);
        engine_free(m->engine);
        safe_close(m->event_log_fd);
        watcher_free(m->watcher); /* before the loop: it unregisters its PSI sources */
        policy_set_done(&m->policies);
        if (m->out_fd > STDERR_FILENO)
                close(m->out_fd);
        sd_event_unref(m->event);
        free(m);
        return NULL;
}

int manager_start(Manager *m)
{
        WatcherStats st;
        sigset_t mask;
        int r;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        signal(SIGPIPE, SIG_IGN);

        static const struct {
                int sig;
                sd_event_signal_handler_t handler;
                const char *name;
        } signals[] = {
                { SIGTERM, on_terminate, "signal-term" },
                { SIGINT, on_terminate, "signal-int" },
                { SIGHUP, on_hup, "signal-hup" },
        };
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

        (void)manager_load_policies(m, true);
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
        watcher_get_stats(m->watcher, &st);
        if (!st.has_memory_controller)
                log_warning(
                        "The cgroup-v2 memory controller is not available under '%s' (a cgroup v1 or hybrid "
                        "host?): memory.events and limits cannot be watched; watching what exists (PSI).",
                        m->cfg.watch.root);

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
