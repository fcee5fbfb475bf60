/* SPDX-License-Identifier: MIT */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cgroup.h"
#include "planner.h"
#include "policy-eval.h"
#include "policy.h"

/* The executor's memory, as plain code on a caller's clock: the throttles
 * (original limit, steps, what is in flight, a give-back pending), the
 * frozen cgroups, systemd's jobs, systemd's answers per cgroup, and the
 * cookie that names a step whose result (webhook, exec) comes back later.
 * The daemon carries the operations out and feeds the results back. */

#define THROTTLE_MAX   256
#define FROZEN_MAX     64
#define JOBS_MAX       32
#define UNIT_CACHE_MAX 1024

/* What a step acts on, copied so that it outlives the cgroup and a policy reload. */
typedef struct ActionTarget {
        const Cgroup *cgroup; /* compare with slot and serial before use */
        uint32_t slot, serial;
        int path_error; /* cgroup_path() failed: path is "" */
        char path[PATH_MAX];
        char unit[256]; /* "" unless systemd confirmed the cgroup is this unit */
        char policy[64];
        char ns[254]; /* "" for node-admin policies */
        bool delegated;
} ActionTarget;

/* Fill t for c, policy p: path (or path_error), policy and namespace. */
void action_target_init(ActionTarget *t, const Cgroup *c, const Policy *p);
/* The same for c on behalf of owner's policy (a pod's container, for a step
 * on the pod): owner's policy and namespace; delegated is left false. */
void action_target_init_as(ActionTarget *t, const Cgroup *c, const ActionTarget *owner);
/* The same cgroup (slot, serial): one throttle, one freeze per cgroup. */
bool action_target_same(const ActionTarget *a, const ActionTarget *b);

/* ---- owners ----
 * A throttle or freeze entry is owned by the policy that started it, named
 * by (policy, namespace): names are per source, so a namespace may reuse an
 * admin policy's name. The admin ("" namespace) outranks every namespace. */

/* The same policy of the same source. */
bool action_owner_same(const ActionTarget *a, const ActionTarget *b);
bool action_owner_is_admin(const ActionTarget *t);

typedef enum ActionJoin {
        ACTION_JOIN_OWN,   /* t is the owner: it re-parameterises its entry */
        ACTION_JOIN_TAKE,  /* t outranks the owner (admin over a namespace): it becomes the owner */
        ACTION_JOIN_GUEST, /* another policy owns it: t may only lower, never re-parameterise */
        _ACTION_JOIN_MAX,
        _ACTION_JOIN_INVALID = -22,
} ActionJoin;

/* What policy t may do to an entry owned by owner when it wants the same action. */
ActionJoin action_join(const ActionTarget *owner, const ActionTarget *t);
/* May t's clear give back (thaw, restore) an entry owned by owner? Only the owner's. */
bool action_may_undo(const ActionTarget *owner, const ActionTarget *t);
/* owner's entry passes to t (policy and namespace; the cgroup and unit stay). */
void action_owner_take(ActionTarget *owner, const ActionTarget *t);
/* Disruptive steps (freeze, kill, restart, stop) that dry_run stops short. */
bool action_dry_run_stops(const Action *a);

/* ---- throttle ---- */

typedef struct Throttle {
        bool used;
        ActionTarget t;
        uint64_t original; /* memory.high before the first step */
        uint64_t current;  /* what was set last */
        uint64_t want;     /* in flight */
        uint64_t floor;
        uint32_t step_bp;
        uint64_t interval_usec;
        uint64_t next_usec; /* next step down; 0: none due */
        PolicyPhase phase;  /* of its policy, as last decided */
        bool in_flight, restoring, restore_pending, via_unit;
        /* In the undo file (undo-log.h) since since_real_usec; leftover: a
         * previous run's entry (no cgroup); giving_back: its give-back is
         * on its way (executor_shutdown, a leftover). */
        uint64_t since_real_usec;
        bool leftover, giving_back;
} Throttle;

typedef struct ThrottleTable {
        Throttle th[THROTTLE_MAX];
} ThrottleTable;

Throttle *throttle_find(ThrottleTable *tt, const ActionTarget *t);
/* A new throttle of t from limit high; NULL when the table is full. */
Throttle *throttle_new(ThrottleTable *tt, const ActionTarget *t, const Action *a, uint64_t high,
                       uint64_t now);
/* A step is due: the value to set (want, in flight) or UINT64_MAX for none
 * (at the floor: it holds there until the policy clears). */
uint64_t throttle_begin_step(Throttle *th, uint64_t usage, uint64_t now);
/* Give back: true if the original is to be set now (in flight), false if a
 * step is in flight (it follows that step's end). */
bool throttle_begin_restore(Throttle *th);

typedef enum ThrottleNext {
        THROTTLE_NEXT_WAIT,    /* keep it, wait for the next step */
        THROTTLE_NEXT_RESTORE, /* set the original now (in flight again) */
        THROTTLE_NEXT_FORGET,  /* given back, or never lowered: the entry is free */
} ThrottleNext;

/* The write in flight ended (error 0 or -errno). */
ThrottleNext throttle_complete(Throttle *th, int error);
/* Its policy's phase: firing steps on, anything else holds. Only the
 * owner's phase counts: false (nothing changed) for another policy's. */
bool throttle_set_phase(Throttle *th, const ActionTarget *t, PolicyPhase phase, uint64_t now);
/* A second step of policy t (action a) on a throttled cgroup: the owner
 * restarts its descent with a's parameters; the admin takes a namespace's
 * entry over and does the same; any other policy may only lower the limit by
 * one of its own steps (the lower memory.high wins; what another owner set
 * is never raised, its floor and pace are never changed). Returns the value
 * to set (want, in flight) or UINT64_MAX for none. */
uint64_t throttle_join(Throttle *th, const ActionTarget *t, const Action *a, uint64_t usage, uint64_t now);
/* At the timer: step on (true) while the owner fires; otherwise hold (next_usec moves on). */
bool throttle_tick(Throttle *th, uint64_t now);
/* Steps due at now (when throttle_begin_step is to run). */
bool throttle_due(const Throttle *th, uint64_t now);
/* The earliest next_usec of the table, 0 if none. */
uint64_t throttle_next_usec(const ThrottleTable *tt);
unsigned throttle_count(const ThrottleTable *tt);

/* ---- frozen, jobs ---- */

typedef struct Frozen {
        bool used, confirmed, via_unit;
        ActionTarget t;
        uint64_t since_real_usec; /* as in Throttle */
        bool leftover, giving_back;
} Frozen;

typedef struct Job {
        bool used;
        ActionType action;
        ActionTarget t;
        char job[128];
        uint64_t start_usec;
} Job;

typedef struct ActionTables {
        Frozen frozen[FROZEN_MAX];
        Job jobs[JOBS_MAX];
} ActionTables;

Frozen *frozen_find(ActionTables *at, const ActionTarget *t);
Frozen *frozen_new(ActionTables *at, const ActionTarget *t); /* NULL: full */
/* The oldest job makes room when the table is full (its end goes unreported). */
Job *job_add(ActionTables *at, ActionType action, const ActionTarget *t, const char *job, uint64_t now);
/* Take the job by object path out of the table into *ret. */
bool job_take(ActionTables *at, const char *job, Job *ret);
unsigned frozen_count(const ActionTables *at);
unsigned job_count(const ActionTables *at);

/* ---- systemd's answers ---- */

typedef struct UnitCacheEntry {
        const Cgroup *cgroup;
        uint32_t slot, serial;
        UnitState state;
        bool used, pending;
        uint64_t used_usec;
} UnitCacheEntry;

typedef struct UnitCache {
        UnitCacheEntry e[UNIT_CACHE_MAX];
} UnitCache;

UnitState unit_cache_get(UnitCache *uc, const Cgroup *c, uint64_t now);
/* The same without marking it used (for status and explain). */
UnitState unit_cache_peek(const UnitCache *uc, const Cgroup *c);
/* An answer not in this long after the question is taken as none. */
#define UNIT_CACHE_PENDING_USEC (30 * 1000000ULL)

/* true: ask systemd now (marked pending); false: an answer is on its way
 * (asked less than UNIT_CACHE_PENDING_USEC ago). */
bool unit_cache_begin(UnitCache *uc, const Cgroup *c, uint64_t now);
/* The answer; UNREACHABLE is not kept (asked again next time). */
void unit_cache_set(UnitCache *uc, const Cgroup *c, uint32_t slot, uint32_t serial, UnitState s,
                    uint64_t now);
void unit_cache_drop(UnitCache *uc, const Cgroup *c);

/* ---- cookies: "policy\tnamespace\tslot\tserial\tpath" ---- */

/* -EINVAL if policy or namespace hold a tab, -ENOBUFS if it does not fit. */
int action_cookie_format(const ActionTarget *t, char *buf, size_t size);
/* A target from a cookie: slot and serial as formatted, cgroup NULL (the
 * caller looks the slot up and compares the serial); -EINVAL if malformed. */
int action_cookie_parse(const char *cookie, ActionTarget *ret);
