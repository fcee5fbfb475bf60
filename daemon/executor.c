/* SPDX-License-Identifier: MIT */
#include "executor-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs-util.h"
#include "log.h"
#include "macro.h"
#include "memcg-v1.h"
#include "pod.h"
#include "report.h"
#include "selfcg.h"

/* ---- outcomes ---- */

bool target_alive(Executor *x, const ActionTarget *t, const Cgroup **ret)
{
        const Cgroup *c = t->slot == UINT32_MAX ? NULL : watcher_slot(x->watcher, t->slot);

        if (c && c == t->cgroup && c->serial == t->serial) {
                if (ret)
                        *ret = c;
                return true;
        }
        return false;
}

void emit(Executor *x, const ActionTarget *t, ActionOutcome *o, int error)
{
        Record r = record_init(RECORD_ACTION);
        r.path = t->path[0] ? t->path : NULL;
        r.outcome = o;

        (void)target_alive(x, t, &r.cgroup);
        r.error = error;
        o->policy = t->policy;
        o->policy_namespace = t->ns[0] ? t->ns : NULL;
        if (!o->unit && t->unit[0])
                o->unit = t->unit;
        r.mono_usec = now_usec(CLOCK_MONOTONIC);
        r.real_usec = now_usec(CLOCK_REALTIME);
        x->n_outcomes++;
        if (o->result == ACTION_RESULT_FAILED)
                x->n_failed++;
        x->emit(&r, x->userdata);
        kube_events_outcome(x->kube, &r);
        if (o->action == ACTION_THROTTLE || o->action == ACTION_FREEZE)
                undo_changed(x); /* an entry may have been given back */
}

void outcome(Executor *x, const ActionTarget *t, ActionType type, bool undo, ActionResult result,
             const char *via, int error, const char *fmt, ...)
{
        ActionOutcome o = { .action = type, .undo = undo, .result = result, .via = via };
        char detail[768];
        va_list ap;

        if (fmt) {
                va_start(ap, fmt);
                vsnprintf(detail, sizeof(detail), fmt, ap);
                va_end(ap);
                o.detail = detail;
        }
        emit(x, t, &o, error);
}

/* Just before acting: does the cgroup still exist in the kernel? */
bool target_exists(Executor *x, const ActionTarget *t)
{
        return t->path[0] && faccessat(x->root_fd, rel(t->path), F_OK, 0) == 0;
}

int write_cgroup_file(Executor *x, const ActionTarget *t, const char *file, const char *value)
{
        char path[PATH_MAX + 32];
        _cleanup_close_ int fd = -1;

        if ((size_t)snprintf(path, sizeof(path), "%s/%s", rel(t->path), file) >= sizeof(path))
                return -ENAMETOOLONG;
        fd = openat(x->root_fd, path, O_WRONLY | O_TRUNC | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (write(fd, value, strlen(value)) < 0)
                return -errno;
        return 0;
}

/* ---- freeze, kill ---- */

static void freeze_files(Executor *x, const ActionTarget *t, bool thaw, const char *note)
{
        Frozen *f = frozen_find(&x->tables, t);
        const char *sep = note[0] ? "; " : "";
        int r = write_cgroup_file(x, t, "cgroup.freeze", thaw ? "0" : "1");

        if (r < 0) {
                outcome(x, t, ACTION_FREEZE, thaw, ACTION_RESULT_FAILED, "cgroupfs", r,
                        "%s%scgroup.freeze: %s", note, sep, strerror(-r));
                if (f && !thaw)
                        f->used = false; /* not frozen: nothing to thaw later */
                return;
        }
        if (thaw) {
                if (f)
                        f->used = false;
                outcome(x, t, ACTION_FREEZE, true, ACTION_RESULT_DONE, "cgroupfs", 0, "%s%sthawed", note,
                        sep);
                return;
        }
        if (f)
                f->via_unit = false;
        /* Done when cgroup.events says frozen 1 (executor_observe). */
        outcome(x, t, ACTION_FREEZE, false, ACTION_RESULT_STARTED, "cgroupfs", 0,
                "%s%scgroup.freeze 1 written", note, sep);
}

static void kill_files(Executor *x, const ActionTarget *t, const char *note)
{
        const char *sep = note[0] ? "; " : "";
        int r;

        if (x->cfg.v1) {
                /* No cgroup.kill on v1: every process listed in the subtree (memcg-v1.c). */
                _cleanup_close_ int dfd =
                        openat(x->root_fd, rel(t->path), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                unsigned n = 0;
                r = dfd < 0 ? -errno : memcg_v1_kill_subtree(dfd, SIGKILL, &n);
                if (r < 0)
                        outcome(x, t, ACTION_KILL, false, ACTION_RESULT_FAILED, "cgroupfs", r,
                                "%s%scgroup v1 kill (cgroup.procs): %s", note, sep, strerror(-r));
                else
                        outcome(x, t, ACTION_KILL, false, ACTION_RESULT_DONE, "cgroupfs", 0,
                                "%s%scgroup v1: %u processes SIGKILLed from cgroup.procs", note, sep, n);
                return;
        }
        r = write_cgroup_file(x, t, "cgroup.kill", "1");
        if (r == -ENOENT && target_exists(x, t))
                outcome(x, t, ACTION_KILL, false, ACTION_RESULT_FAILED, "cgroupfs", r,
                        "%s%scgroup.kill needs Linux 5.14", note, sep);
        else if (r < 0)
                outcome(x, t, ACTION_KILL, false, ACTION_RESULT_FAILED, "cgroupfs", r, "%s%scgroup.kill: %s",
                        note, sep, strerror(-r));
        else
                outcome(x, t, ACTION_KILL, false, ACTION_RESULT_DONE, "cgroupfs", 0,
                        "%s%scgroup.kill: every process SIGKILLed", note, sep);
}

static BusUnitMethod unit_method(ActionType a, bool undo)
{
        return a == ACTION_RESTART ? BUS_RESTART
               : a == ACTION_STOP  ? BUS_STOP
               : a == ACTION_KILL  ? BUS_KILL
               : undo              ? BUS_THAW
                                   : BUS_FREEZE;
}

/* A unit call failed: through the files where the action has a way (B4),
 * and the record names both. */
static void unit_failed(Executor *x, const UnitCallCtx *c, int error, const char *message)
{
        const char *method = bus_unit_method_to_string(unit_method(c->action, c->undo));
        bool exists = target_exists(x, &c->t);
        Frozen *f = c->action == ACTION_FREEZE && !c->undo ? frozen_find(&x->tables, &c->t) : NULL;
        char note[400];

        snprintf(note, sizeof(note), "%s(%s) failed: %s", method, c->t.unit,
                 message ? message : strerror(-error));
        if (!exists) {
                if (f)
                        f->used = false;
                outcome(x, &c->t, c->action, c->undo, ACTION_RESULT_SKIPPED, "systemd", -ENOENT,
                        "%s; the cgroup is gone", note);
        } else if (plan_unit_fallback(c->action, x->cfg.v1, exists)) {
                if (c->action == ACTION_KILL)
                        kill_files(x, &c->t, note);
                else
                        freeze_files(x, &c->t, c->undo, note);
        } else {
                if (f)
                        f->used = false;
                outcome(x, &c->t, c->action, c->undo, ACTION_RESULT_FAILED, "systemd", error, "%s", note);
        }
}

static void on_unit_done(void *ctx, int error, const char *message, const char *job)
{
        UnitCallCtx *c = ctx;
        Executor *x = c->x;

        if (x->stopping)
                return; /* the give-backs of executor_shutdown decide now */
        if (error < 0) {
                unit_failed(x, c, error, message);
                return;
        }
        if ((c->action == ACTION_RESTART || c->action == ACTION_STOP) && job) {
                (void)job_add(&x->tables, c->action, &c->t, job, now_usec(CLOCK_MONOTONIC));
                outcome(x, &c->t, c->action, false, ACTION_RESULT_STARTED, "systemd", 0, "job %s queued",
                        job);
        } else if (c->action == ACTION_FREEZE) {
                Frozen *f = frozen_find(&x->tables, &c->t);
                if (f) {
                        f->confirmed = true;
                        f->used = !c->undo;
                }
                outcome(x, &c->t, c->action, c->undo, ACTION_RESULT_DONE, "systemd", 0,
                        c->undo ? "thawed" : "frozen");
        } else
                outcome(x, &c->t, c->action, c->undo, ACTION_RESULT_DONE, "systemd", 0, NULL);
}

static void on_job_removed(void *userdata, uint32_t id, const char *job, const char *unit,
                           const char *result)
{
        Executor *x = userdata;
        bool done = strcmp(result, "done") == 0;
        Job j;

        if (!job_take(&x->tables, job, &j))
                return;
        outcome(x, &j.t, j.action, false, done ? ACTION_RESULT_DONE : ACTION_RESULT_FAILED, "systemd",
                done ? 0 : -EIO, "job %" PRIu32 " %s: %s", id, unit, result);
}

static void on_job_gone(void *userdata, const char *job)
{
        Executor *x = userdata;
        Job j;

        if (!job_take(&x->tables, job, &j))
                return; /* its JobRemoved came on the new connection after all */
        outcome(x, &j.t, j.action, false, ACTION_RESULT_DONE, "systemd", 0,
                "job %s ended while the system bus was away: systemd has no result for it any more", job);
}

/* A JobRemoved sent while the bus was down is lost: ask about every job. */
static void on_bus_reconnected(void *userdata)
{
        Executor *x = userdata;

        for (size_t i = 0; i < JOBS_MAX; i++)
                if (x->tables.jobs[i].used)
                        (void)bus_job_check(x->bus, x->tables.jobs[i].job, on_job_gone, x);
}

/* Through the unit (route UNIT) or the files. */
static void run_disruptive(Executor *x, ActionType type, bool undo, const ActionTarget *t, PlanRoute route)
{
        UnitCallCtx c = { .x = x, .action = type, .undo = undo, .index = -1, .t = *t };
        Throttle *th = type != ACTION_FREEZE ? throttle_find(&x->throttles, t) : NULL;
        int r;

        /* A runtime MemoryHigh outlives the cgroup: the unit's next run would
         * start throttled. Given back first (one connection keeps the order). */
        if (th && th->via_unit && !th->restoring)
                throttle_restore_unit(x, th);
        if (route == PLAN_ROUTE_UNIT) {
                r = bus_unit_call(x->bus, unit_method(type, undo), t->unit, 0, on_unit_done, &c, sizeof(c));
                if (r >= 0)
                        return;
                unit_failed(x, &c, r, r == -ENOTCONN ? "the system bus is not reachable" : NULL);
        } else if (type == ACTION_KILL)
                kill_files(x, t, "");
        else if (type == ACTION_FREEZE)
                freeze_files(x, t, undo, "");
}

static void run_freeze(Executor *x, const ActionTarget *t, bool thaw, PlanRoute route)
{
        Frozen *f = frozen_find(&x->tables, t);
        int r;

        if (!thaw && f && action_join(&f->t, t) == ACTION_JOIN_TAKE) {
                /* The admin's freeze now: only the admin's clear thaws it. */
                action_owner_take(&f->t, t);
                undo_changed(x);
        }
        if (!thaw && !f) {
                f = frozen_new(&x->tables, t);
                if (!f) {
                        outcome(x, t, ACTION_FREEZE, false, ACTION_RESULT_FAILED, NULL, -ENOSPC,
                                "%d cgroups frozen already", FROZEN_MAX);
                        return;
                }
                f->via_unit = route == PLAN_ROUTE_UNIT;
                f->since_real_usec = now_usec(CLOCK_REALTIME);
                /* Written down before it is applied: a crash must not leave it frozen. */
                r = undo_save(x);
                if (r < 0) {
                        f->used = false;
                        outcome(x, t, ACTION_FREEZE, false, ACTION_RESULT_FAILED, NULL, r,
                                "cannot write the undo file in '%s': %s", x->cfg.state_dir, strerror(-r));
                        return;
                }
        }
        run_disruptive(x, ACTION_FREEZE, thaw, t, route);
}

/* ---- systemd's answers ---- */

/* unreachable: systemd gave no answer; plan without asking again. */
static void run_step(Executor *x, const Action *act, ActionTarget *t, const EngineDecision *d,
                     bool unreachable);

static void on_resolved(void *ctx, UnitState state, const char *detail)
{
        ResolveCtx *rc = ctx;
        Executor *x = rc->x;

        if (state != UNIT_STATE_CONFIRMED)
                log_debug("Cgroup slot %" PRIu32 " is no systemd unit of its name: %s", rc->slot,
                          detail ? detail : "-");
        unit_cache_set(&x->units, rc->c, rc->slot, rc->serial, state, now_usec(CLOCK_MONOTONIC));
        for (int i = 0; i < WAITING_MAX; i++) {
                Waiting *w = &x->waiting[i];
                if (!w->used || w->t.cgroup != rc->c || w->t.slot != rc->slot || w->t.serial != rc->serial)
                        continue;
                w->used = false;
                /* A copy: the step may queue more waiting ones. */
                Waiting copy = *w;
                run_step(x, &copy.a, &copy.t, NULL, state == UNIT_STATE_UNREACHABLE);
        }
}

/* The step waits for systemd's answer (true), or there is an answer now
 * (false: plan again; *ret_unreachable if systemd cannot be asked). */
static bool wait_for_unit(Executor *x, const Action *act, const ActionTarget *t, const Cgroup *c,
                          bool *ret_unreachable)
{
        ResolveCtx rc = { .x = x, .c = c, .slot = c->slot, .serial = c->serial };
        Waiting *w = NULL;
        int r = 0;

        if (unit_cache_begin(&x->units, c, now_usec(CLOCK_MONOTONIC)))
                r = bus_resolve_unit(x->bus, t->path, c->name, on_resolved, &rc, sizeof(rc));
        if (r < 0) {
                /* A path that is not UTF-8 (or too long) cannot be a unit's ControlGroup. */
                bool unreachable = r == -ENOTCONN || r == -ENOMEM;
                unit_cache_set(&x->units, c, c->slot, c->serial,
                               unreachable ? UNIT_STATE_UNREACHABLE : UNIT_STATE_NOT_A_UNIT, 0);
                *ret_unreachable = unreachable;
                return false;
        }
        /* A slot only now: the call above may have run callbacks (a lost bus ends its calls). */
        for (int i = 0; i < WAITING_MAX && !w; i++)
                if (!x->waiting[i].used)
                        w = &x->waiting[i];
        if (!w) {
                *ret_unreachable = true; /* no room to wait: the files, as without systemd */
                return false;
        }
        *w = (Waiting){ .used = true, .a = *act, .t = *t, .since_usec = now_usec(CLOCK_MONOTONIC) };
        w->a.webhook = NULL, w->a.argv = NULL, w->a.argc = 0;
        return true;
}

/* Steps whose answer never came (the bus went away under them): on without it. */
static void expire_waiting(Executor *x)
{
        uint64_t now = now_usec(CLOCK_MONOTONIC);

        for (int i = 0; i < WAITING_MAX; i++) {
                Waiting *w = &x->waiting[i];
                if (!w->used || now - w->since_usec < UNIT_CACHE_PENDING_USEC)
                        continue;
                w->used = false;
                Waiting copy = *w;
                run_step(x, &copy.a, &copy.t, NULL, true);
        }
}

/* ---- dispatch ---- */

static void make_target(Executor *x, const EngineDecision *d, ActionTarget *t, bool steps)
{
        action_target_init(t, d->cgroup, d->policy);
        /* An ancestor that cannot be read counts as delegated: the files, never a unit. */
        t->delegated = steps && t->path[0] && plan_delegated(x->root_fd, t->path, NULL, 0) != 0;
}

/* Without a known own cgroup (selfcg found none), a step that could reach
 * memwarden looks for its PID in the target's subtree first, bounded, the way
 * earlyoom re-checks its victim just before acting. */
static int holds_self(Executor *x, ActionType type, const ActionTarget *t)
{
        unsigned budget = 1024;
        char found[PATH_MAX];
        int r;

        if (x->own_cgroup[0] || !t->path[0] ||
            !(type == ACTION_THROTTLE || type == ACTION_FREEZE || type == ACTION_KILL ||
              type == ACTION_RESTART || type == ACTION_STOP))
                return 0;
        r = selfcg_walk(x->root_fd, t->path, getpid(), &budget, found, sizeof(found));
        return r == 0 ? 1 : r == -ENOENT ? 0 : r;
}

/* unreachable: systemd cannot be asked now (no bus, no room to wait). */
static void plan(Executor *x, const Action *act, ActionTarget *t, const Cgroup *c, bool unreachable,
                 PlanIntent *ret)
{
        UnitState us = UNIT_STATE_UNKNOWN;

        if (plan_unit_candidate(c) && !t->delegated)
                us = x->cfg.bus && !unreachable ? unit_cache_get(&x->units, c, now_usec(CLOCK_MONOTONIC))
                                                : UNIT_STATE_UNREACHABLE;
        plan_step(&x->plan,
                  &(PlanInput){ .holds_self = holds_self(x, act->type, t),
                                .action = act->type,
                                .allow_protected = act->allow_protected,
                                .dry_run = act->dry_run,
                                .cgroup = c,
                                .path = t->path[0] ? t->path : NULL,
                                .path_error = t->path_error,
                                .delegated = t->delegated,
                                .unit = us },
                  ret);
        if (ret->route == PLAN_ROUTE_UNIT)
                snprintf(t->unit, sizeof(t->unit), "%s", c->name);
        else
                t->unit[0] = '\0';
}

static void carry_out(Executor *x, const Action *act, const ActionTarget *t, const Cgroup *c,
                      const EngineDecision *d, PlanRoute route)
{
        switch (act->type) {
        case ACTION_NOTIFY:
                run_notify(x, act, t, c, d);
                break;
        case ACTION_REPORT:
                run_report(x, act, t);
                break;
        case ACTION_EXEC:
                run_exec(x, act, t, c);
                break;
        case ACTION_THROTTLE:
                run_throttle(x, act, t, c, route);
                break;
        case ACTION_FREEZE:
                run_freeze(x, t, false, route);
                break;
        default:
                run_disruptive(x, act->type, false, t, route);
                break;
        }
}

/* kill of a pod: its application containers, one by one, never the pod's
 * cgroup, whose sandbox is the runtime's (pod.h). Each is a step of its own
 * (planned, refused, dry-run, recorded on the container's cgroup). */
static void run_pod_kill(Executor *x, const Action *act, const ActionTarget *t, const Cgroup *pod,
                         const EngineDecision *d, bool unreachable)
{
        const Cgroup *v[POD_CONTAINERS_MAX];
        size_t n = pod_app_containers(pod, v, ELEMENTSOF(v));

        if (n == 0) {
                outcome(x, t, ACTION_KILL, false, ACTION_RESULT_REFUSED, NULL, 0,
                        "a pod: only its application containers are killed, and kubelet's logs name none "
                        "(/var/log/containers); its sandbox is the runtime's");
                return;
        }
        for (size_t i = 0; i < n && i < ELEMENTSOF(v); i++) {
                ActionTarget ct;
                action_target_init_as(&ct, v[i], t);
                ct.delegated = ct.path[0] && plan_delegated(x->root_fd, ct.path, NULL, 0) != 0;
                run_step(x, act, &ct, d, unreachable);
        }
        if (n > ELEMENTSOF(v))
                outcome(x, t, ACTION_KILL, false, ACTION_RESULT_FAILED, NULL, -E2BIG,
                        "a pod of %zu application containers: the first %zu killed", n, ELEMENTSOF(v));
}

static void run_step(Executor *x, const Action *act, ActionTarget *t, const EngineDecision *d,
                     bool unreachable)
{
        const Cgroup *c = NULL;
        PlanIntent in;

        if (!target_alive(x, t, &c)) {
                outcome(x, t, act->type, false, ACTION_RESULT_SKIPPED, NULL, -ENOENT, "the cgroup is gone");
                return;
        }
        if (act->type == ACTION_KILL && c->kind == CGROUP_KIND_POD) {
                run_pod_kill(x, act, t, c, d, unreachable);
                return;
        }
        if (act->type == ACTION_KILL && c->kind == CGROUP_KIND_CONTAINER && !pod_container_is_app(c)) {
                outcome(x, t, ACTION_KILL, false, ACTION_RESULT_REFUSED, NULL, 0,
                        "a container kubelet's logs do not name: the pod's sandbox (or not logged yet), "
                        "left to the runtime");
                return;
        }
        plan(x, act, t, c, unreachable, &in);
        if (in.route == PLAN_ROUTE_RESOLVE) {
                if (wait_for_unit(x, act, t, c, &unreachable))
                        return; /* on_resolved runs it */
                plan(x, act, t, c, unreachable, &in);
        }
        if (in.route == PLAN_ROUTE_REFUSED || in.route == PLAN_ROUTE_FAILED) {
                outcome(x, t, act->type, false,
                        in.route == PLAN_ROUTE_REFUSED ? ACTION_RESULT_REFUSED : ACTION_RESULT_FAILED, NULL,
                        in.error, "%s", in.why ? in.why : "");
                return;
        }
        if (act->type != ACTION_NOTIFY && act->type != ACTION_EXEC && !target_exists(x, t)) {
                outcome(x, t, act->type, false, ACTION_RESULT_SKIPPED, NULL, -ENOENT, "the cgroup is gone");
                return;
        }
        if (action_dry_run_stops(act)) {
                outcome(x, t, act->type, false, ACTION_RESULT_DRY_RUN, plan_route_to_string(in.route), 0,
                        NULL);
                return;
        }
        carry_out(x, act, t, c, d, in.route);
}

/* The policy cleared on this cgroup: its steps still waiting for systemd's
 * answer must not run after their undo (which found nothing to give back). */
static void drop_waiting(Executor *x, const ActionTarget *t)
{
        for (int i = 0; i < WAITING_MAX; i++) {
                Waiting *w = &x->waiting[i];
                if (!w->used || !action_target_same(&w->t, t) || !action_owner_same(&w->t, t))
                        continue;
                w->used = false;
                outcome(x, &w->t, w->a.type, false, ACTION_RESULT_SKIPPED, NULL, 0,
                        "the policy cleared before systemd answered");
        }
}

static void undo_step(Executor *x, const Action *act, ActionTarget *t)
{
        Frozen *f;

        if (act->dry_run)
                return;
        /* Only the owner gives back: a namespace's clear never undoes the
         * admin's throttle or freeze on the same pod. */
        if (act->type == ACTION_THROTTLE) {
                Throttle *th = throttle_find(&x->throttles, t);
                if (th && action_may_undo(&th->t, t))
                        throttle_restore(x, th);
        } else if (act->type == ACTION_FREEZE && (f = frozen_find(&x->tables, t)) &&
                   action_may_undo(&f->t, t)) {
                /* Thaw the way it was frozen. */
                run_disruptive(x, ACTION_FREEZE, true, f->via_unit ? &f->t : t,
                               f->via_unit ? PLAN_ROUTE_UNIT : PLAN_ROUTE_CGROUPFS);
        }
}

void executor_decision(Executor *x, const EngineDecision *d)
{
        /* Not static: an outcome may make the owner tell the engine, whose next
         * decision comes back here before this one is done. */
        ActionTarget t;
        Throttle *th;

        if (x->stopping)
                return; /* shutting down: nothing new */
        expire_waiting(x);
        make_target(x, d, &t, d->d.run_steps || d->d.undo_steps);
        th = throttle_find(&x->throttles, &t);
        if (th && throttle_set_phase(th, &t, d->phase, now_usec(CLOCK_MONOTONIC)))
                arm_throttle_timer(x);
        if (d->d.undo_steps)
                drop_waiting(x, &t);
        for (size_t i = 0; i < d->policy->n_actions; i++)
                if (d->d.undo_steps & (1U << i))
                        undo_step(x, &d->policy->actions[i], &t);
        for (size_t i = 0; i < d->policy->n_actions; i++)
                if (d->d.run_steps & (1U << i))
                        run_step(x, &d->policy->actions[i], &t, d, false);
}

static void forget_cgroup(Executor *x, const Cgroup *c)
{
        for (int i = 0; i < THROTTLE_MAX; i++) {
                Throttle *th = &x->throttles.th[i];
                if (!th->used || th->t.cgroup != c || th->t.serial != c->serial)
                        continue;
                /* A unit's runtime MemoryHigh outlives its cgroup: given back now. */
                if (th->via_unit && !th->restoring)
                        throttle_restore_unit(x, th);
                else if (!th->in_flight)
                        th->used = false;
        }
        for (int i = 0; i < FROZEN_MAX; i++) {
                Frozen *f = &x->tables.frozen[i];
                if (f->used && f->t.cgroup == c && f->t.serial == c->serial)
                        f->used = false;
        }
        for (int i = 0; i < WAITING_MAX; i++) {
                Waiting *w = &x->waiting[i];
                if (w->used && w->t.cgroup == c && w->t.serial == c->serial) {
                        w->used = false;
                        outcome(x, &w->t, w->a.type, false, ACTION_RESULT_SKIPPED, NULL, -ENOENT,
                                "the cgroup is gone");
                }
        }
        unit_cache_drop(&x->units, c);
        undo_changed(x);
}

void executor_observe(Executor *x, const Record *r)
{
        const Cgroup *c = r->cgroup;

        if (!c || x->stopping)
                return;
        if (r->type == RECORD_CGROUP_REMOVED)
                forget_cgroup(x, c);
        else if (r->type == RECORD_CGROUP_EVENTS && c->cgevents.frozen && !r->cgevents_old->frozen) {
                for (int i = 0; i < FROZEN_MAX; i++) {
                        Frozen *f = &x->tables.frozen[i];
                        if (f->used && !f->confirmed && !f->via_unit && f->t.cgroup == c &&
                            f->t.serial == c->serial) {
                                f->confirmed = true;
                                outcome(x, &f->t, ACTION_FREEZE, false, ACTION_RESULT_DONE, "cgroupfs", 0,
                                        "cgroup.events: frozen 1");
                        }
                }
        }
}

/* ---- life cycle ---- */

static void open_report_dir(Executor *x)
{
        int r;

        if (!x->cfg.report_dir || !x->cfg.report_dir[0])
                return;
        r = mkdir_p(x->cfg.report_dir, 0750);
        if (r < 0)
                log_warning_errno(r, "Cannot create the report directory '%s': %m", x->cfg.report_dir);
        x->report_fd = open(x->cfg.report_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (x->report_fd < 0)
                log_warning_errno(-errno, "Report directory '%s' unusable, reports will fail: %m",
                                  x->cfg.report_dir);
}

static void start_helpers(Executor *x)
{
        int r;

        r = limit_writer_new(x->event, x->root_fd, on_write_done, x, &x->writer);
        if (r < 0)
                log_warning_errno(r,
                                  "Cannot start the limit writer thread; throttling by file will fail: %m");
        if (x->report_fd >= 0) {
                r = report_worker_new(x, &x->reports);
                if (r < 0)
                        log_warning_errno(r, "Cannot start the report thread; report steps will fail: %m");
        }
        r = webhooks_new(x->event, x->cfg.webhook_timeout_usec, &x->webhooks);
        if (r < 0)
                log_warning_errno(r, "Webhooks unavailable: %m");
        if (x->cfg.kube.enabled) {
                r = kube_events_new(x->event, &x->cfg.kube, x->cfg.webhook_timeout_usec, &x->kube);
                if (r < 0)
                        log_warning_errno(r, "Kubernetes Events unavailable: %m");
        }
        if (x->cfg.exec_helper) {
                r = exec_helper_start(x->event, x->cfg.exec_helper, on_exec_done, x, &x->exec);
                if (r < 0)
                        log_warning_errno(r, "Cannot start the exec helper; exec steps will fail: %m");
        }
}

int executor_new(sd_event *event, Watcher *w, const ExecutorConfig *cfg, ExecutorEmit emitf, void *userdata,
                 Executor **ret)
{
        Executor *x;
        int r;

        x = calloc(1, sizeof(Executor));
        if (!x)
                return -ENOMEM;
        x->cfg = *cfg;
        x->event = sd_event_ref(event);
        x->watcher = w;
        x->emit = emitf;
        x->userdata = userdata;
        x->report_fd = x->state_fd = -1;
        x->journal.fd = -1;
        snprintf(x->own_cgroup, sizeof(x->own_cgroup), "%s", cfg->own_cgroup ? cfg->own_cgroup : "");
        x->cfg.own_cgroup = x->own_cgroup;
        x->plan.own_cgroup = x->own_cgroup;
        x->root_fd = open(cfg->cgroup_root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        x->proc_fd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (x->root_fd < 0 || x->proc_fd < 0) {
                r = -errno;
                executor_free(x);
                return r;
        }
        r = bus_new(event, cfg->bus, on_job_removed, x, &x->bus);
        if (r < 0) {
                executor_free(x);
                return r;
        }
        bus_set_reconnected(x->bus, on_bus_reconnected);
        (void)journal_socket_open(&x->journal, NULL); /* without it a notify has no journal entry */
        open_report_dir(x);
        undo_open(x);
        start_helpers(x);
        *ret = x;
        return 0;
}

Executor *executor_free(Executor *x)
{
        if (!x)
                return NULL;
        report_worker_free(x->reports); /* before the fds it reads */
        limit_writer_free(x->writer);
        undo_close(x); /* the file stays as it is: what it holds is given back at the next start */
        sd_event_source_disable_unref(x->throttle_timer);
        webhooks_free(x->webhooks);
        kube_events_free(x->kube);
        exec_helper_free(x->exec);
        bus_free(x->bus);
        journal_socket_close(&x->journal);
        safe_close(x->root_fd);
        safe_close(x->proc_fd);
        safe_close(x->report_fd);
        sd_event_unref(x->event);
        free(x);
        return NULL;
}

void executor_prepare(Executor *x, const PolicySet *set)
{
        for (size_t i = 0; set && i < set->n; i++)
                for (size_t k = 0; k < set->policies[i].n_actions; k++)
                        if (set->policies[i].actions[k].webhook && x->webhooks) {
                                int r = webhooks_prepare(x->webhooks);
                                if (r < 0)
                                        log_warning_errno(r,
                                                          "Cannot set up libcurl; webhooks will fail: %m");
                                return;
                        }
}

void executor_route_describe(const Executor *x, const Cgroup *c, char *buf, size_t size)
{
        char path[PATH_MAX];
        bool delegated = false;

        /* Only unit names can go through systemd: the others need no look at the xattrs. */
        if (plan_unit_candidate(c) && cgroup_path(c, path, sizeof(path)) >= 0)
                delegated = plan_delegated(x->root_fd, path, NULL, 0) != 0;
        plan_route_describe(c, x->cfg.bus, delegated, unit_cache_peek(&x->units, c), buf, size);
}

void executor_get_stats(const Executor *x, ExecutorStats *ret)
{
        *ret = (ExecutorStats){ .n_outcomes = x->n_outcomes, .n_failed = x->n_failed };
        ret->n_throttled = throttle_count(&x->throttles);
        ret->n_frozen = frozen_count(&x->tables);
        ret->n_jobs = job_count(&x->tables);
        if (x->webhooks)
                webhooks_get_stats(x->webhooks, &ret->n_webhooks_sent, &ret->n_webhooks_failed,
                                   &ret->n_webhooks_dropped);
        kube_events_get_stats(x->kube, &ret->kube_events);
        ret->bus_connected = bus_connected(x->bus);
}
