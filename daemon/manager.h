/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "engine.h"
#include "executor.h"
#include "metrics-http.h"
#include "node.h"
#include "node-alloc.h"
#include "policy.h"
#include "policy-dir.h"
#include "sinks.h"
#include "watcher.h"

typedef struct ManagerConfig {
        WatcherConfig watch;
        OutputMode output;
        const char *output_path;
        const char *socket_path; /* NULL: no status socket */
        const char *policy_dir;
        ExecutorConfig exec;
        const char *event_log;   /* policy decisions and action outcomes, JSON lines; NULL: none */
        uint64_t event_log_max;  /* rotate past this size */
        unsigned event_log_keep; /* rotated files kept: FILE.1 ... FILE.N */
        uint64_t coalesce_usec;  /* output: memory_events summed per cgroup per interval; 0: off */
        const char *own_cgroup;  /* ours, from the watcher's root (selfcg.h); "": unknown */
        /* --kubepods-root and --max-depth, for the watcher; NULL/0: its defaults. */
        const char *kubepods_root;
        unsigned max_depth;
        /* MemAvailable and usage sampling: the fastest fall (growth) assumed,
         * bytes per second; 0: NODE_FILL_RATE_DEFAULT. */
        uint64_t fill_rate;
        MetricsConfig metrics; /* --metrics-listen: NULL listen, off */
} ManagerConfig;

typedef struct StatusServer StatusServer;
typedef struct Manager Manager;

int manager_new(const ManagerConfig *cfg, Manager **ret);
Manager *manager_free(Manager *m);
int manager_start(Manager *m);
int manager_run(Manager *m);

/* policies.c: the policy directory, its inotify watch, the reload timer and
 * the loader thread (policy-loader.h), which owns the PolicyDir once started. */
typedef struct PolicyLoader PolicyLoader;
typedef struct PolicyWatch {
        PolicyDir *dir;       /* NULL while the loader has it */
        PolicyLoader *loader; /* NULL: not started, reloads run on the loop */
        int inotify_fd;
        sd_event_source *inotify_source, *reload_timer, *loaded_source;
        uint64_t n_reloads;           /* reload requests answered (several may share one load) */
        uint64_t n_reload_failures;   /* some source kept its last good set, or nothing changed */
        uint64_t n_reloads_abandoned; /* past the load's budget: nothing changed */
        PolicyDirStats last;          /* of the last load that changed something */
} PolicyWatch;

/* The first load, synchronous (before the loop runs). */
int manager_load_policies(Manager *m);
/* Ask the loader thread for a reload (coalesced with one running). */
void manager_reload_policies(Manager *m);
/* Bind every cgroup to its policy in set (the new one, while the old is alive). */
void manager_rebind_policies(Manager *m, const PolicySet *set);
int manager_watch_policies(Manager *m);
void manager_unwatch_policies(Manager *m);

/* node.c */
int manager_node_start(Manager *m);
void manager_node_stop(Manager *m);
void manager_node_policies_changed(Manager *m);
/* A watched cgroup's high or max events: read MemAvailable soon (if sampled). */
void manager_node_wake(Manager *m);

/* Where a record comes from, which says where it goes. */
typedef enum RecordOrigin {
        RECORD_ORIGIN_WATCHER,  /* kernel signals: output, executor, engine */
        RECORD_ORIGIN_NODE,     /* node.c: output (the engine gets the figures: manager_node_feed) */
        RECORD_ORIGIN_DECISION, /* the engine: output and event log, then the executor */
        RECORD_ORIGIN_OUTCOME,  /* the executor: output and event log */
        _RECORD_ORIGIN_MAX,
        _RECORD_ORIGIN_INVALID = -22,
} RecordOrigin;

/* manager.c: the one path every record takes; d only with RECORD_ORIGIN_DECISION. */
void manager_dispatch(Manager *m, RecordOrigin origin, const Record *r, const EngineDecision *d);
/* A node record, for callers outside manager.c: manager_dispatch(m, RECORD_ORIGIN_NODE, r, NULL). */
void manager_output_record(Manager *m, const Record *r);
void manager_arm_engine_timer(Manager *m);

/* status.c: the status socket, reading the Manager through a read-only view. */
int status_server_start(Manager *m, const char *path);
void status_server_stop(Manager *m);
/* A record for `events` (the ring and the followers). */
void status_server_record(StatusServer *srv, const Record *r);

struct Manager {
        ManagerConfig cfg;
        sd_event *event;
        Watcher *watcher;
        sd_event_source *inotify_source, *watcher_epoll_source;
        Sinks sinks;
        uint64_t start_usec;
        StatusServer *status;      /* NULL: no status socket */
        Metrics *metrics;          /* NULL: no /metrics (daemon/metrics-http.c) */
        PolicySet policies;        /* in force: the merge of policy_watch's sources */
        PolicySet want_set;        /* what the watcher's want() matches: the set being bound (borrowed) */
        PolicyWatch *policy_watch; /* NULL until the first load */
        Engine *engine;
        Executor *executor;
        int proc_fd, node_psi_fd;
        sd_event_source *node_psi_source, *node_sample_timer;
        NodeWatermarks node_marks;
        uint64_t n_node_psi_events;
        uint64_t node_sample_last, node_sample_next; /* CLOCK_MONOTONIC usec */
        uint64_t n_node_samples, n_node_wakes;       /* MemAvailable reads; early ones for cgroup events */
        NodeAlloc *node_alloc;      /* NULL: MemAvailable on the timer only (node_alloc_why says why) */
        const char *node_alloc_why; /* static */
        uint64_t page_size;
        sd_event_source *engine_timer;
        sd_event_source *watcher_timer; /* watcher_next_usec(): cgroup v1 oom_kill re-checks */
        bool scanned;
        char decision_path[4096];
};
