/* SPDX-License-Identifier: MIT */
/* Carrying out throttles: the state machine is src/action-state.c; here
 * are its writes (systemd's MemoryHigh, or memory.high on the writer
 * thread, with the fallback from one to the other) and its timer. */
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "executor-internal.h"
#include "pod.h"

/* ---- throttle ---- */

static void writer_kick(Executor *x);
static void throttle_apply(Executor *x, Throttle *th);

static void set_note(Executor *x, int i, const char *fmt, ...) _printf_(3, 4);
static void set_note(Executor *x, int i, const char *fmt, ...)
{
        char buf[sizeof(x->th_note[0])];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        memcpy(x->th_note[i], buf, sizeof(buf));
}

void throttle_done(Executor *x, Throttle *th, int error, const char *via)
{
        int i = (int)(th - x->throttles.th);
        ActionOutcome o = { .action = ACTION_THROTTLE,
                            .undo = th->restoring,
                            .via = via,
                            .has_values = true,
                            .old_value = th->current,
                            .new_value = th->want };
        char a[32], b[32], detail[512];
        ThrottleNext next;

        format_size(th->current, a, sizeof(a));
        format_size(th->want, b, sizeof(b));
        o.result = error < 0 ? ACTION_RESULT_FAILED : ACTION_RESULT_DONE;
        snprintf(detail, sizeof(detail), "memory.high %s -> %s%s%s%s%s", a, b, error < 0 ? ": " : "",
                 error < 0               ? strerror(-error)
                 : th->restoring         ? " (given back)"
                 : th->want <= th->floor ? " (at the floor)"
                                         : "",
                 x->th_note[i][0] ? "; " : "", x->th_note[i]);
        x->th_note[i][0] = '\0';
        o.detail = detail;
        /* The record first, while the entry is still in flight: what the owner
         * does on it cannot reuse the entry under the record's feet. */
        emit(x, &th->t, &o, error);
        next = throttle_complete(th, error);
        if (next == THROTTLE_NEXT_RESTORE)
                throttle_apply(x, th);
        else
                arm_throttle_timer(x);
}

static void on_set_memory_high(void *ctx, int error, const char *message, const char *job)
{
        UnitCallCtx *c = ctx;
        Executor *x = c->x;
        Throttle *th = &x->throttles.th[c->index];
        int i = c->index;

        (void)job;
        if (x->stopping || !th->used || !action_target_same(&th->t, &c->t) || !th->in_flight ||
            !th->via_unit)
                return;
        if (error < 0 && undo_keep_unanswered(x, th, error, message))
                return;
        if (error < 0 && plan_unit_fallback(ACTION_THROTTLE, x->cfg.v1, target_exists(x, &th->t))) {
                /* systemd would not; the file itself will. */
                set_note(x, i, "SetUnitProperties(%s) failed (%s), set through memory.high", th->t.unit,
                         message ? message : strerror(-error));
                th->via_unit = false;
                x->queued[i] = true;
                writer_kick(x);
                return;
        }
        throttle_done(x, th, error, "systemd");
}

static void throttle_apply(Executor *x, Throttle *th)
{
        int i = (int)(th - x->throttles.th), r;
        UnitCallCtx c = { .x = x, .action = ACTION_THROTTLE, .undo = th->restoring, .index = i, .t = th->t };

        if (th->via_unit) {
                r = bus_unit_call(x->bus, BUS_SET_MEMORY_HIGH, th->t.unit, th->want, on_set_memory_high, &c,
                                  sizeof(c));
                if (r >= 0)
                        return;
                set_note(x, i, "SetUnitProperties(%s) not sent (%s), set through memory.high", th->t.unit,
                         strerror(-r));
                th->via_unit = false; /* systemd out of reach: the file itself */
        }
        x->queued[i] = true;
        writer_kick(x);
}

void on_write_done(void *userdata, uint64_t token, int error)
{
        Executor *x = userdata;
        Throttle *th = &x->throttles.th[token];

        if (x->stopping)
                return;
        if (th->used && th->in_flight && !th->via_unit)
                throttle_done(x, th, error, "cgroupfs");
        writer_kick(x);
}

static void writer_kick(Executor *x)
{
        for (int i = 0; i < THROTTLE_MAX; i++) {
                Throttle *th = &x->throttles.th[i];
                int r;

                if (!x->queued[i])
                        continue;
                if (x->writer && limit_writer_busy(x->writer))
                        return;
                x->queued[i] = false;
                if (!th->used)
                        continue;
                r = x->writer ? limit_writer_submit(x->writer, rel(th->t.path), th->want, (uint64_t)i)
                              : -ECHILD;
                if (r < 0)
                        throttle_done(x, th, r, "cgroupfs");
                else
                        return;
        }
}

void throttle_restore(Executor *x, Throttle *th)
{
        if (!throttle_begin_restore(th))
                return; /* after the step in flight (throttle_done) */
        if (!target_alive(x, &th->t, NULL) && !target_exists(x, &th->t)) {
                th->used = false;
                undo_changed(x);
                return;
        }
        throttle_apply(x, th);
}

/* Give a unit's MemoryHigh back through systemd even if its cgroup is gone
 * (killed, restarted, stopped): the runtime property would outlive it. */
void throttle_restore_unit(Executor *x, Throttle *th)
{
        if (throttle_begin_restore(th))
                throttle_apply(x, th);
}

static void throttle_step(Executor *x, Throttle *th, const Cgroup *c)
{
        if (throttle_begin_step(th, watcher_read_current(x->watcher, c), now_usec(CLOCK_MONOTONIC)) !=
            UINT64_MAX)
                throttle_apply(x, th);
}

static int on_throttle_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        Executor *x = userdata;
        uint64_t now = now_usec(CLOCK_MONOTONIC);

        (void)s, (void)usec;
        for (int i = 0; i < THROTTLE_MAX; i++) {
                Throttle *th = &x->throttles.th[i];
                const Cgroup *c;

                if (!throttle_due(th, now))
                        continue;
                if (!target_alive(x, &th->t, &c)) {
                        th->used = false;
                        undo_changed(x);
                } else if (throttle_tick(th, now))
                        throttle_step(x, th, c);
        }
        arm_throttle_timer(x);
        return 0;
}

void arm_throttle_timer(Executor *x)
{
        uint64_t next = throttle_next_usec(&x->throttles);

        if (next == 0) {
                if (x->throttle_timer)
                        (void)sd_event_source_set_enabled(x->throttle_timer, SD_EVENT_OFF);
                return;
        }
        if (!x->throttle_timer) {
                if (sd_event_add_time(x->event, &x->throttle_timer, CLOCK_MONOTONIC, next, 0,
                                      on_throttle_timer, x) < 0)
                        return;
                (void)sd_event_source_set_description(x->throttle_timer, "throttle-steps");
        } else
                (void)sd_event_source_set_time(x->throttle_timer, next);
        (void)sd_event_source_set_enabled(x->throttle_timer, SD_EVENT_ONESHOT);
}

void run_throttle(Executor *x, const Action *act, const ActionTarget *t, const Cgroup *c, PlanRoute route)
{
        Throttle *th = throttle_find(&x->throttles, t);
        uint64_t now = now_usec(CLOCK_MONOTONIC), next;
        char a[32], b[32];
        int r;

        if (th) {
                /* Throttling already: whose entry it is decides (action_join). */
                ActionJoin j = action_join(&th->t, t);
                if (throttle_join(th, t, act, watcher_read_current(x->watcher, c), now) != UINT64_MAX)
                        throttle_apply(x, th);
                else if (j == ACTION_JOIN_GUEST)
                        outcome(x, t, ACTION_THROTTLE, false, ACTION_RESULT_SKIPPED, NULL, 0,
                                "memory.high is owned by policy %s%s%s, this step would not lower it",
                                th->t.ns, th->t.ns[0] ? "/" : "", th->t.policy);
                if (j == ACTION_JOIN_TAKE)
                        undo_changed(x); /* the file names the owner */
                return;
        }
        if (pod_memory_high_is_kubelets(c, c->high) && !act->override_kubelet) {
                format_size(c->high, a, sizeof(a));
                outcome(x, t, ACTION_THROTTLE, false, ACTION_RESULT_REFUSED, NULL, 0,
                        "memory.high %s of a container is kubelet's (memory QoS): not written without "
                        "overrideKubelet: true",
                        a);
                return;
        }
        next = throttle_next_high(c->high, watcher_read_current(x->watcher, c), act->floor_bytes,
                                  act->step_bp);
        format_size(c->high, a, sizeof(a));
        format_size(next == UINT64_MAX ? act->floor_bytes : next, b, sizeof(b));
        if (next == UINT64_MAX) {
                outcome(x, t, ACTION_THROTTLE, false, ACTION_RESULT_SKIPPED, NULL, 0,
                        "memory.high is %s, at or below the floor %s", a, b);
                return;
        }
        if (act->dry_run) {
                outcome(x, t, ACTION_THROTTLE, false, ACTION_RESULT_DRY_RUN, plan_route_to_string(route), 0,
                        "would lower memory.high %s -> %s", a, b);
                return;
        }
        th = throttle_new(&x->throttles, t, act, c->high, now);
        if (!th) {
                outcome(x, t, ACTION_THROTTLE, false, ACTION_RESULT_FAILED, NULL, -ENOSPC,
                        "%d cgroups are throttled already", THROTTLE_MAX);
                return;
        }
        th->via_unit = route == PLAN_ROUTE_UNIT;
        th->since_real_usec = now_usec(CLOCK_REALTIME);
        /* Written down before the first write: a crash must not leave it lowered. */
        r = undo_save(x);
        if (r < 0) {
                th->used = false;
                outcome(x, t, ACTION_THROTTLE, false, ACTION_RESULT_FAILED, NULL, r,
                        "cannot write the undo file in '%s': %s", x->cfg.state_dir, strerror(-r));
                return;
        }
        throttle_step(x, th, c);
}
