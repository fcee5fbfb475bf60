/* SPDX-License-Identifier: MIT */
/* The steps that look rather than touch: notify (journal, D-Bus signal,
 * webhook), exec (through the helper); report is executor-report.c.
 * Their later results (webhook, exec) come back named by a cookie. */
#include <errno.h>
#include <string.h>

#include "executor-internal.h"
#include "log.h"

static void later_outcome(Executor *x, const char *cookie, ActionType type, bool ok, const char *via,
                          const char *detail)
{
        ActionTarget t;

        const Cgroup *c;

        if (action_cookie_parse(cookie, &t) < 0)
                return;
        /* The same cgroup still: the record carries it, so that select moves on. */
        c = watcher_slot(x->watcher, t.slot);
        if (c && c->serial == t.serial)
                t.cgroup = c;
        else
                t.slot = UINT32_MAX;
        outcome(x, &t, type, false, ok ? ACTION_RESULT_DONE : ACTION_RESULT_FAILED, via, ok ? 0 : -EIO, "%s",
                detail);
}

static void on_webhook_done(void *userdata, const char *url, const char *cookie, bool ok, long http_code,
                            unsigned attempts, const char *error)
{
        char detail[1200], answer[32];

        if (http_code)
                snprintf(answer, sizeof(answer), "HTTP %ld", http_code);
        else
                snprintf(answer, sizeof(answer), "no answer");
        snprintf(detail, sizeof(detail), "POST %s: %s after %u attempt%s%s%s", url, answer, attempts,
                 attempts == 1 ? "" : "s", error ? ": " : "", error ? error : "");
        later_outcome(userdata, cookie, ACTION_NOTIFY, ok, "webhook", detail);
}

void on_exec_done(void *userdata, const char *cookie, int status, const char *detail)
{
        later_outcome(userdata, cookie, ACTION_EXEC, status == 0, "exec-helper", detail);
}

static void post_webhook(Executor *x, const Action *act, const ActionTarget *t, size_t len)
{
        char cookie[PATH_MAX + 400];
        int k = action_cookie_format(t, cookie, sizeof(cookie));

        if (k >= 0)
                k = x->webhooks ? webhooks_post(x->webhooks, act->webhook, x->json, len - 1, cookie,
                                                on_webhook_done, x)
                                : -ENOTSUP;
        if (k < 0)
                outcome(x, t, ACTION_NOTIFY, false, ACTION_RESULT_FAILED, "webhook", k,
                        "POST %s not queued: %s", act->webhook,
                        k == -ENOBUFS    ? "queue full"
                        : k == -ENOTCONN ? "libcurl is not set up"
                                         : strerror(-k));
}

/* The notify step's journal entry, over the native protocol without blocking
 * (sd_journal_send() would block on a journald that does not keep up): lost
 * and counted as a failed sink then, never the loop. */
static void journal_notify(Executor *x, const ActionTarget *t, size_t len)
{
        static char msg[PATH_MAX + 400];
        int m = snprintf(msg, sizeof(msg), "memwarden: policy %s%s%s fired on %s", t->ns,
                         t->ns[0] ? "/" : "", t->policy, t->path);
        const JournalField f[] = {
                { "MESSAGE=", msg,
                  m < 0                      ? 0
                  : (size_t)m >= sizeof(msg) ? sizeof(msg) - 1
                                             : (size_t)m },
                { "PRIORITY=", "4", 1 }, /* LOG_WARNING */
                { "MESSAGE_ID=", "6d656d7761726465e000000000000020", 32 },
                { "MEMWARDEN_EVENT=", "notify", 6 },
                { "MEMWARDEN_POLICY=", t->policy, strlen(t->policy) },
                { "MEMWARDEN_POLICY_NAMESPACE=", t->ns, strlen(t->ns) },
                { "MEMWARDEN_CGROUP=", t->path, strlen(t->path) },
                { "MEMWARDEN_JSON=", x->json, len - 1 },
        };

        if (journal_send_fields(&x->journal, f, ELEMENTSOF(f)) < 0)
                x->n_journal_failed++;
}

void run_notify(Executor *x, const Action *act, const ActionTarget *t, const Cgroup *c,
                const EngineDecision *d)
{
        ActionOutcome o = { .action = ACTION_NOTIFY,
                            .result = act->dry_run ? ACTION_RESULT_DRY_RUN : ACTION_RESULT_DONE };
        Record r = record_init(RECORD_ACTION);
        const char *phase = policy_phase_to_string(d ? d->phase : POLICY_FIRING);
        char via[96], detail[PATH_MAX + 200];
        bool bus = x->cfg.bus && !act->dry_run && bus_get(x->bus);
        size_t len = 0;

        r.cgroup = c;
        r.path = t->path;
        r.outcome = &o;
        snprintf(via, sizeof(via), "journal%s%s", bus ? ",dbus" : "", act->webhook ? ",webhook" : "");
        snprintf(detail, sizeof(detail), "policy %s %s on %s", t->policy, phase, t->path);
        o.via = via;
        o.detail = detail;
        o.policy = t->policy;
        o.policy_namespace = t->ns[0] ? t->ns : NULL;
        r.mono_usec = now_usec(CLOCK_MONOTONIC);
        r.real_usec = now_usec(CLOCK_REALTIME);
        r.current = watcher_read_current(x->watcher, c);
        if (record_format_json(&r, x->json, sizeof(x->json), &len) < 0)
                len = 0;
        if (act->dry_run || len == 0) {
                emit(x, t, &o, len == 0 ? -ENOBUFS : 0);
                return;
        }
        /* Names are per source: a namespace's policy is "namespace/name" in the
         * MESSAGE and has MEMWARDEN_POLICY_NAMESPACE, so it cannot pass for the admin's. */
        journal_notify(x, t, len);
        if (bus) {
                x->json[len - 1] = '\0'; /* without the newline */
                (void)bus_emit_policy_event(x->bus, t->policy, t->path, phase, x->json, t->ns);
                x->json[len - 1] = '\n';
        }
        if (act->webhook)
                post_webhook(x, act, t, len);
        emit(x, t, &o, 0);
}

void run_exec(Executor *x, const Action *act, const ActionTarget *t, const Cgroup *c)
{
        ActionOutcome o = { .action = ACTION_EXEC, .result = ACTION_RESULT_STARTED, .via = "exec-helper" };
        Record r = record_init(RECORD_ACTION);
        char cookie[PATH_MAX + 400], detail[300];
        size_t len;
        int k;

        r.cgroup = c;
        r.path = t->path;
        r.outcome = &o;
        o.policy = t->policy;
        o.policy_namespace = t->ns[0] ? t->ns : NULL;
        r.mono_usec = now_usec(CLOCK_MONOTONIC);
        r.real_usec = now_usec(CLOCK_REALTIME);
        snprintf(detail, sizeof(detail), "%s", act->argv[0]);
        o.detail = detail;
        if (act->dry_run) {
                o.result = ACTION_RESULT_DRY_RUN;
                emit(x, t, &o, 0);
                return;
        }
        if (record_format_json(&r, x->json, sizeof(x->json), &len) < 0)
                len = 0;
        k = action_cookie_format(t, cookie, sizeof(cookie));
        if (k >= 0)
                k = x->exec ? exec_helper_run(x->exec, act->argv, act->argc, act->timeout_usec, x->json, len,
                                              cookie)
                            : -ECHILD;
        if (k < 0) {
                o.result = ACTION_RESULT_FAILED;
                snprintf(detail, sizeof(detail), "%s: %s", act->argv[0],
                         k == -ENOBUFS  ? "the exec helper queue is full"
                         : k == -ECHILD ? "the exec helper is not running"
                                        : strerror(-k));
        }
        emit(x, t, &o, k < 0 ? k : 0);
}
