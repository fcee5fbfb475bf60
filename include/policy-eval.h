/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "policy.h"

/* The decision side of a policy, as pure logic on (whether the triggers hold,
 * now): the `for` delay, the hysteresis of `clearAfter`, and the escalation
 * ladder's `after` and `cooldown`. No clock, no I/O, no allocation: the
 * caller (src/engine.c) feeds it on every relevant event and when next_usec
 * comes. */

typedef enum PolicyPhase {
        POLICY_IDLE,     /* the triggers do not hold */
        POLICY_PENDING,  /* they hold, for less than `for` */
        POLICY_FIRING,   /* they have held `for`: the ladder runs */
        POLICY_CLEARING, /* firing, but they stopped holding less than `clearAfter` ago */
        _POLICY_PHASE_MAX,
        _POLICY_PHASE_INVALID = -22,
} PolicyPhase;

const char *policy_phase_to_string(PolicyPhase p);

typedef struct PolicyState {
        PolicyPhase phase;
        uint64_t since_usec;                         /* start of the current phase */
        uint64_t fired_usec;                         /* start of this episode's firing: the ladder's clock */
        uint32_t steps_done;                         /* bit per ladder step run in this episode */
        uint64_t step_last_usec[POLICY_ACTIONS_MAX]; /* last run of each step, across episodes; 0: never */
} PolicyState;

typedef struct PolicyDecision {
        bool fired;          /* went to FIRING now (from PENDING) */
        bool cleared;        /* went back to IDLE now (after clearAfter) */
        uint32_t run_steps;  /* bit per step to run now */
        uint32_t undo_steps; /* on clearing: steps run in the episode that can be undone */
        uint64_t next_usec;  /* call again at this time even without news; 0: only on news */
} PolicyDecision;

/* Steps that can be undone when the policy clears. */
bool action_is_undoable(ActionType t);

void policy_state_update(const Policy *p, PolicyState *s, bool holds, uint64_t now_usec,
                         PolicyDecision *ret);

/* Growth of a counter over a sliding window, in bounded memory: kept samples
 * stand at least window/8 apart (the newest is moved forward in place), 16 of
 * them, so two windows are covered. The window's start is known to within
 * window/8, erring towards a longer window (firing a little early, never late). */
#define COUNTER_WINDOW_SAMPLES 16

typedef struct CounterWindow {
        uint64_t window_usec;
        uint64_t t[COUNTER_WINDOW_SAMPLES], v[COUNTER_WINDOW_SAMPLES];
        unsigned head, n; /* head: index of the newest sample */
} CounterWindow;

void counter_window_init(CounterWindow *w, uint64_t window_usec);
void counter_window_add(CounterWindow *w, uint64_t now_usec, uint64_t value);
/* value now minus the value at the start of the window (the newest sample at
 * or before now - window, else the oldest kept). 0 without samples. */
uint64_t counter_window_increase(const CounterWindow *w, uint64_t now_usec);
