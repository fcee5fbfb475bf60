/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cgroup.h"
#include "policy.h"

/* The action planner: what a decided step may touch and how. The same
 * refusal rules serve the executor (before it acts) and the engine's
 * `select` ranking (so that it never chooses a cgroup no step may touch).
 *
 * Confinement: a policy comes from a tenant, cgroup names come from tenants.
 * A cgroup is driven through a systemd unit only when the system manager
 * itself says the cgroup is that unit (GetUnitByControlGroup, then the
 * unit's Id and ControlGroup), and never inside a delegated subtree, where
 * a name like "kubelet.service" means nothing: there the step acts on that
 * cgroup's own files. */

typedef struct PlanContext {
        const char *own_cgroup; /* memwarden's own cgroup path, "" if unknown */
} PlanContext;

/* Why action t must not touch c (at path), or NULL if it may. Never the root
 * or the agent itself; disruptive actions (freeze, kill, restart, stop) never
 * the agent's ancestors either; init.scope, system.slice and the kubepods QoS
 * cgroups only with allow_protected (node-admin policies). notify, report and
 * exec may look at anything. path NULL: refused (no usable path). */
const char *plan_refusal(const PlanContext *ctx, ActionType t, bool allow_protected, const Cgroup *c,
                         const char *path);

/* true if every step of p would be refused for c: select must not choose c. */
bool plan_all_refused(const PlanContext *ctx, const Policy *p, const Cgroup *c);

/* What systemd says about a cgroup. */
typedef enum UnitState {
        UNIT_STATE_UNKNOWN,     /* not asked yet, or the answer is on its way */
        UNIT_STATE_CONFIRMED,   /* the cgroup is exactly that unit's ControlGroup */
        UNIT_STATE_NOT_A_UNIT,  /* systemd names another unit (or none) for it */
        UNIT_STATE_UNREACHABLE, /* no system bus: nobody can confirm */
        _UNIT_STATE_MAX,
        _UNIT_STATE_INVALID = -22,
} UnitState;

/* How a step is carried out. */
typedef enum PlanRoute {
        PLAN_ROUTE_NONE,     /* needs neither (notify, report, exec) */
        PLAN_ROUTE_UNIT,     /* through the systemd unit */
        PLAN_ROUTE_CGROUPFS, /* through the cgroup's own files */
        PLAN_ROUTE_RESOLVE,  /* ask systemd first (UNIT_STATE_UNKNOWN), then plan again */
        PLAN_ROUTE_REFUSED,  /* why says why */
        PLAN_ROUTE_FAILED,   /* why says why, error the -errno */
        _PLAN_ROUTE_MAX,
        _PLAN_ROUTE_INVALID = -22,
} PlanRoute;

const char *plan_route_to_string(PlanRoute r);

typedef struct PlanInput {
        ActionType action;
        bool allow_protected, dry_run;
        const Cgroup *cgroup;
        const char *path; /* NULL: cgroup_path() failed with path_error */
        int path_error;
        bool delegated; /* a strict ancestor is delegated (plan_delegated) */
        UnitState unit;
        /* Only while the own cgroup is unknown (PlanContext.own_cgroup ""): whether
         * the target's subtree holds memwarden's own process, searched just before
         * acting (selfcg_walk()): 1 yes, 0 no, -errno could not tell (refused too). */
        int holds_self;
} PlanInput;

typedef struct PlanIntent {
        PlanRoute route;
        bool dry_run;
        const char *why; /* REFUSED, FAILED: a static sentence */
        int error;       /* FAILED: -errno */
} PlanIntent;

void plan_step(const PlanContext *ctx, const PlanInput *in, PlanIntent *ret);

/* The cgroup's name looks like a systemd unit (.service, .scope, .slice):
 * worth asking systemd about, nothing more. */
bool plan_unit_candidate(const Cgroup *c);

/* How steps on c would be carried out, in words, for `explain`: through the
 * systemd unit of its name (confirmed, or asked at the first step) or through
 * the cgroup's own files, and why; for a pod, that kill takes its application
 * containers. bus: memwarden uses the system bus; delegated: an ancestor is
 * delegated (plan_delegated); state: systemd's answer so far. */
void plan_route_describe(const Cgroup *c, bool bus, bool delegated, UnitState state, char *buf, size_t size);

/* The D-Bus interface carrying ControlGroup for this unit name, NULL if none. */
const char *plan_unit_interface(const char *unit);

/* systemd's answer for path (whose directory name is name): the unit it
 * returned for it has Id unit_id and ControlGroup unit_cgroup. */
bool plan_unit_confirmed(const char *path, const char *name, const char *unit_id, const char *unit_cgroup);

/* Is a strict ancestor of path (relative to root_fd, the cgroup mount)
 * delegated: xattr trusted.delegate or user.delegate set (not "0"), or named
 * user@<digits>.service? Returns 1 (the ancestor's path into ret_by, if
 * given), 0, or -errno (an ancestor unreadable: the caller treats the cgroup
 * as delegated). */
int plan_delegated(int root_fd, const char *path, char *ret_by, size_t size);

/* A unit call failed and the cgroup still exists (cgroup_exists): may the
 * step go on through the cgroup's files? kill (cgroup.kill, cgroup.procs on
 * v1), freeze (cgroup.freeze, v2 only) and throttle (memory.high) may;
 * restart and stop have no such way. */
bool plan_unit_fallback(ActionType t, bool v1, bool cgroup_exists);

/* The next memory.high of a throttle: step_bp (1/100 %) below the lower of
 * the current limit and the usage, never below floor, rounded down to pages.
 * Returns UINT64_MAX if that would not lower the limit (already at floor). */
uint64_t throttle_next_high(uint64_t high, uint64_t usage, uint64_t floor, uint32_t step_bp);
