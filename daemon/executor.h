/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "action-state.h"
#include "planner.h"
#include "engine.h"
#include "kube-events.h"
#include "watcher.h"

/* Carrying out what the engine decides: throttle, notify, report, restart,
 * stop, freeze, kill, exec. Each step is planned first (planner.h): the
 * refusal rules, then the route. A cgroup is driven through a systemd unit
 * only when systemd itself confirms it is that unit (asked asynchronously,
 * the step waits for the answer, cached per cgroup) and no strict ancestor
 * is delegated; otherwise through the cgroup's own files, and restart/stop
 * are refused. A unit call that fails falls back to the files where the
 * action has a way. Nothing here blocks the loop: D-Bus calls are
 * asynchronous on one long-lived system-bus connection (bus.h), limit
 * writes that make the writer reclaim run on a writer thread started at
 * launch with a time bound (limit-writer.h), webhooks run through curl's
 * multi interface on the loop, exec goes through a helper process started
 * at launch. Every step ends in an `action` record (ActionOutcome), also for
 * dry runs and refusals; a failed one carries cgroup and policy. */

typedef struct Executor Executor;
typedef void (*ExecutorEmit)(const Record *r, void *userdata);

typedef struct ExecutorConfig {
        const char *cgroup_root;
        bool v1;                /* cgroup_root is a cgroup v1 memory hierarchy */
        const char *report_dir; /* NULL or "": reports are refused */
        unsigned report_keep;   /* newest reports kept */
        bool bus;               /* use the system bus (systemd units, the D-Bus signal) */
        uint64_t webhook_timeout_usec;
        const char *exec_helper; /* the program run as the exec helper (memwardend itself) */
        const char *own_cgroup;  /* memwarden's own cgroup path (found by the caller), NULL or "": unknown */
        /* The undo file's directory (made if missing, mode 0700); NULL or "":
         * throttles and freezes are not written down (tests, --state-dir ''). */
        const char *state_dir;
        KubeEventsConfig kube; /* Kubernetes Events of outcomes on pods (kube-events.h) */
} ExecutorConfig;

#define EXECUTOR_STATE_DIR_DEFAULT "/run/memwarden/undo"

typedef struct ExecutorStats {
        uint64_t n_outcomes, n_failed;
        unsigned n_throttled, n_frozen, n_jobs;
        uint64_t n_webhooks_sent, n_webhooks_failed, n_webhooks_dropped;
        KubeEventsStats kube_events;
        bool bus_connected;
} ExecutorStats;

/* The executor never calls the engine: the owner reads its action records
 * (a failed one carries cgroup and policy) and tells the engine. */
int executor_new(sd_event *event, Watcher *w, const ExecutorConfig *cfg, ExecutorEmit emit, void *userdata,
                 Executor **ret);
Executor *executor_free(Executor *x);

/* Run the steps of a decision, and undo what is to be undone. */
void executor_decision(Executor *x, const EngineDecision *d);

/* Records of the watcher: a removed cgroup ends its throttle, a frozen one
 * completes its freeze. */
void executor_observe(Executor *x, const Record *r);

/* At start, before the first walk: give back what a previous run left in
 * the undo file (it was SIGKILLed, crashed, or ran out of time at its
 * shutdown): the original memory.high and cgroup.freeze 0 at once, and for
 * units systemd asked too (SetUnitProperties(runtime, MemoryHigh=), ThawUnit).
 * Nothing is re-adopted: a policy that still fires throttles anew, from the
 * original. Bad lines of the file make one warning record. */
void executor_undo_previous(Executor *x);

/* At SIGTERM, without blocking: every throttle given back and every freeze
 * thawed at once through the files (raising memory.high never reclaims), and
 * through systemd asynchronously where a unit was used; decisions are
 * ignored from now on. done runs on the loop once every give-back is
 * answered or timeout_usec has passed, with how many are left: those stay in
 * the undo file for the next start. -EALREADY if it is under way already. */
#define EXECUTOR_SHUTDOWN_USEC (20 * 1000000ULL)
typedef void (*ExecutorStopped)(void *userdata, unsigned n_left);
int executor_shutdown(Executor *x, uint64_t timeout_usec, ExecutorStopped done, void *userdata);

/* The i-th entry of the undo file as it stands (i < UNDO_ENTRIES_MAX);
 * false for an unused one. For the status socket. */
typedef struct UndoEntry UndoEntry;
bool executor_undo_entry(const Executor *x, unsigned i, UndoEntry *ret, bool *ret_pending);

void executor_get_stats(const Executor *x, ExecutorStats *ret);
/* How steps on c would be carried out, in words (plan_route_describe), for
 * `explain`: systemd's answers so far, the delegation of its ancestors. */
void executor_route_describe(const Executor *x, const Cgroup *c, char *buf, size_t size);

/* After policies are loaded: set up what they will need (libcurl for webhooks). */
void executor_prepare(Executor *x, const PolicySet *set);

/* ---- webhook.c ---- */
#define WEBHOOK_QUEUE_MAX 16 /* posts waiting or in flight */
typedef struct Webhooks Webhooks;
int webhooks_new(sd_event *event, uint64_t timeout_usec, Webhooks **ret);
Webhooks *webhooks_free(Webhooks *h);
/* Set libcurl up (once); the owner calls it when a policy with a webhook is loaded. */
int webhooks_prepare(Webhooks *h);
/* Queue a POST of body to url; done is called with the outcome later (on the
 * loop). -ENOBUFS when the queue is full. */
typedef void (*WebhookDone)(void *userdata, const char *url, const char *cookie, bool ok, long http_code,
                            unsigned attempts, const char *error);
int webhooks_post(Webhooks *h, const char *url, const char *body, size_t len, const char *cookie,
                  WebhookDone done, void *userdata);
void webhooks_get_stats(const Webhooks *h, uint64_t *sent, uint64_t *failed, uint64_t *dropped);
/* For the Kubernetes API (kube-events.c): the CA bundle every attempt
 * checks the server with (NULL: the system's), and a bearer token sent
 * with every attempt from now on (NULL: none). -EINVAL for a token with a
 * byte that is no printable ASCII, -E2BIG past WEBHOOK_TOKEN_MAX. */
#define WEBHOOK_TOKEN_MAX 8192
int webhooks_set_cainfo(Webhooks *h, const char *path);
int webhooks_set_bearer(Webhooks *h, const char *token, size_t len);

/* ---- exec-helper.c ---- */
typedef struct ExecHelper ExecHelper;
typedef void (*ExecDone)(void *userdata, const char *cookie, int status, const char *detail);
/* Start the helper process now (at launch), so that no fork is needed later. */
int exec_helper_start(sd_event *event, const char *program, ExecDone done, void *userdata, ExecHelper **ret);
ExecHelper *exec_helper_free(ExecHelper *h);
int exec_helper_run(ExecHelper *h, char *const *argv, size_t argc, uint64_t timeout_usec, const char *input,
                    size_t len, const char *cookie);
/* The helper's own main (memwardend --exec-helper FD). */
int exec_helper_main(int fd);
