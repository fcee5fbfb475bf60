/* SPDX-License-Identifier: MIT */
#include "policy-eval.h"

#include <string.h>

static const char *const phase_names[_POLICY_PHASE_MAX] = {
        [POLICY_IDLE] = "idle",
        [POLICY_PENDING] = "pending",
        [POLICY_FIRING] = "firing",
        [POLICY_CLEARING] = "clearing",
};

const char *policy_phase_to_string(PolicyPhase p)
{
        return p >= 0 && p < _POLICY_PHASE_MAX ? phase_names[p] : NULL;
}

bool action_is_undoable(ActionType t)
{
        return t == ACTION_THROTTLE || t == ACTION_FREEZE;
}

/* When step i may run in this episode: its `after` on the ladder's clock,
 * and not within `cooldown` of its last run (which may be an earlier episode:
 * a flapping workload does not get the same step every time it fires). */
static uint64_t step_due(const Policy *p, const PolicyState *s, size_t i)
{
        const Action *a = &p->actions[i];
        uint64_t due = s->fired_usec + a->after_usec;

        if (s->step_last_usec[i] != 0 && s->step_last_usec[i] + a->cooldown_usec > due)
                due = s->step_last_usec[i] + a->cooldown_usec;
        return due;
}

static uint64_t earliest(uint64_t a, uint64_t b)
{
        return a == 0 ? b : b == 0 ? a : a < b ? a : b;
}

static void run_ladder(const Policy *p, PolicyState *s, uint64_t now, PolicyDecision *d)
{
        for (size_t i = 0; i < p->n_actions; i++) {
                uint64_t due;

                if (s->steps_done & (1U << i))
                        continue;
                due = step_due(p, s, i);
                if (due <= now) {
                        d->run_steps |= 1U << i;
                        s->steps_done |= 1U << i;
                        s->step_last_usec[i] = now;
                } else
                        d->next_usec = earliest(d->next_usec, due);
        }
}

static void enter(PolicyState *s, PolicyPhase phase, uint64_t now)
{
        s->phase = phase;
        s->since_usec = now;
}

void policy_state_update(const Policy *p, PolicyState *s, bool holds, uint64_t now, PolicyDecision *ret)
{
        PolicyDecision d = {};

        switch (s->phase) {
        case POLICY_IDLE:
                if (!holds)
                        break;
                enter(s, POLICY_PENDING, now);
                /* `for: 0` fires at once */
                __attribute__((fallthrough));
        case POLICY_PENDING:
                if (!holds) {
                        enter(s, POLICY_IDLE, now);
                        break;
                }
                if (now - s->since_usec < p->for_usec) {
                        d.next_usec = s->since_usec + p->for_usec;
                        break;
                }
                enter(s, POLICY_FIRING, now);
                s->fired_usec = now;
                s->steps_done = 0;
                d.fired = true;
                run_ladder(p, s, now, &d);
                break;
        case POLICY_FIRING:
                if (holds) {
                        run_ladder(p, s, now, &d);
                        break;
                }
                enter(s, POLICY_CLEARING, now);
                __attribute__((fallthrough));
        case POLICY_CLEARING:
                if (holds) {
                        /* Back before clearAfter ran out: the same episode goes on. */
                        enter(s, POLICY_FIRING, now);
                        run_ladder(p, s, now, &d);
                        break;
                }
                if (now - s->since_usec < p->clear_usec) {
                        d.next_usec = s->since_usec + p->clear_usec;
                        break;
                }
                for (size_t i = 0; i < p->n_actions; i++)
                        if ((s->steps_done & (1U << i)) && action_is_undoable(p->actions[i].type))
                                d.undo_steps |= 1U << i;
                s->steps_done = 0;
                enter(s, POLICY_IDLE, now);
                d.cleared = true;
                break;
        default:
                enter(s, POLICY_IDLE, now);
        }
        *ret = d;
}

void counter_window_init(CounterWindow *w, uint64_t window_usec)
{
        memset(w, 0, sizeof(*w));
        w->window_usec = window_usec;
}

void counter_window_add(CounterWindow *w, uint64_t now, uint64_t value)
{
        uint64_t bucket = w->window_usec / 8 ? w->window_usec / 8 : 1;

        if (w->n >= 2) {
                unsigned prev = (w->head + COUNTER_WINDOW_SAMPLES - 1) % COUNTER_WINDOW_SAMPLES;
                if (now - w->t[prev] < bucket) {
                        /* Kept samples stand a bucket apart: move the newest forward. */
                        w->t[w->head] = now;
                        w->v[w->head] = value;
                        return;
                }
        }
        w->head = (w->head + 1) % COUNTER_WINDOW_SAMPLES;
        w->t[w->head] = now;
        w->v[w->head] = value;
        if (w->n < COUNTER_WINDOW_SAMPLES)
                w->n++;
}

uint64_t counter_window_increase(const CounterWindow *w, uint64_t now)
{
        uint64_t start = now > w->window_usec ? now - w->window_usec : 0, base;
        unsigned idx = w->head;

        if (w->n == 0)
                return 0;
        /* Walk from the newest back to the first sample at or before the window's start. */
        base = w->v[idx];
        for (unsigned k = 0; k < w->n; k++) {
                idx = (w->head + COUNTER_WINDOW_SAMPLES - k) % COUNTER_WINDOW_SAMPLES;
                base = w->v[idx];
                if (w->t[idx] <= start)
                        break;
        }
        return w->v[w->head] >= base ? w->v[w->head] - base : w->v[w->head];
}
