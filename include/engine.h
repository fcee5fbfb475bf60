/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cgroup.h"
#include "identity.h"
#include "node.h"
#include "policy-eval.h"
#include "policy.h"
#include "record.h"

/* The policy engine: binds each cgroup to the policy that applies to it,
 * feeds the policy's triggers from the watcher's records, and runs the
 * decision logic (policy-eval.c). Decisions are handed to a callback; carrying
 * them out is the actions' job. Bounded state per bound cgroup, allocated
 * when it is bound (appearance, policy swap), none per event.
 *
 * Trigger inputs: memoryEvents from memory_events records, pressure from
 * the growth of the PSI total between psi records (so thresholds below the
 * watcher's own PSI trigger, 5% by default, are not seen), usage from
 * memory.current at each record and, because cgroup v2 has no notification
 * of usage crossing a threshold, by reading memory.current at an adaptive
 * interval (below) for the cgroups bound to a policy with a usage trigger
 * (the only polling; none without such policies). nodePressure and
 * nodeAvailable from engine_node_update(): the owner's PSI trigger on
 * /proc/pressure/memory and its MemAvailable samples. On cgroup v1,
 * pressureLevel from pressure_level records, and usage from usage_threshold
 * records where the watcher could arm a threshold (watcher_v1_request).
 * A policy with `select` gives a due step only to its first `count` bindings
 * (by usage, or QoS then usage) among those whose triggers hold, never to a
 * binding that has a candidate of the same policy below it (its memory is
 * its children's). The engine binds watched cgroups only: the owner watches
 * what a policy matches (watcher_set_want). */

#define ENGINE_USAGE_SAMPLE_USEC (2 * 1000000ULL)
/* cgroup v2 usage triggers are read again after the time usage would take
 * to grow to the nearest threshold at the fill rate (engine_set_fill_rate),
 * clamped to [ENGINE_USAGE_MIN_USEC, NODE_SAMPLE_MAX_USEC]; every
 * ENGINE_USAGE_SAMPLE_USEC while a threshold is passed; and at once from the
 * usage a record of the cgroup carries (its PSI trigger, its memory events). */
#define ENGINE_USAGE_MIN_USEC (100 * 1000ULL)
/* cgroup v1: usage is read again this long after a threshold crossing. */
#define ENGINE_USAGE_RECHECK_USEC (500 * 1000ULL)

typedef struct Engine Engine;

/* What the engine needs from its owner: the cgroups (the watcher's slots),
 * who each one is, usage reads, cgroup v1 requests, and the target rules.
 * The engine depends on this interface only, not on the watcher; the
 * callbacks must not call back into the engine. */
typedef struct EngineHost {
        void *userdata;
        /* memory.current now, UINT64_MAX unknown (NULL: always unknown) */
        uint64_t (*read_usage)(void *userdata, const Cgroup *c);
        /* the PSI some total of memory.pressure now, usec, UINT64_MAX unknown (select by:
         * pressure; NULL: the last the watcher read, c->psi) */
        uint64_t (*read_psi)(void *userdata, const Cgroup *c);
        /* cgroup v1: low pressure notifications and a usage threshold (0: none); > 0 if the
         * threshold is armed. NULL on v2. */
        int (*v1_request)(void *userdata, const Cgroup *c, bool low, uint64_t threshold);
        /* who c is, for matching (strings may point into path_buf); required */
        void (*identity)(void *userdata, const Cgroup *c, char *path_buf, size_t size, CgroupIdentity *ret);
        /* every step of p would be refused on c: `select` never chooses c (NULL: never) */
        bool (*refused)(void *userdata, const Cgroup *c, const Policy *p);
        /* the cgroups, by slot (NULL: a free slot); required */
        unsigned (*n_slots)(void *userdata);
        const Cgroup *(*slot)(void *userdata, unsigned i);
} EngineHost;

typedef struct EngineDecision {
        const Cgroup *cgroup;
        const Policy *policy;
        PolicyPhase phase;
        PolicyDecision d;
} EngineDecision;

typedef void (*EngineDecisionFunc)(const EngineDecision *d, void *userdata);

/* host is copied. NULL if a required callback is missing or out of memory. */
Engine *engine_new(const EngineHost *host, EngineDecisionFunc func, void *userdata);
Engine *engine_free(Engine *e);

/* Use this policy set (its array is borrowed: call this with the new set
 * while the old one is still alive). Every cgroup of the host is bound
 * anew; a cgroup that keeps the same policy (same name, namespace and
 * content: Policy.hash) keeps its state; one whose policy went away or
 * changed gets a "cleared" decision with its undo, and a changed policy
 * starts from scratch (fresh windows, no steps done). */
void engine_set_policies(Engine *e, const PolicySet *set, uint64_t now_usec);

/* Feed one record (cgroup_added binds, limits and identity bind again,
 * cgroup_removed unbinds). */
void engine_observe(Engine *e, const Record *r, uint64_t now_usec);

/* A step the engine decided failed (or was refused) for c: select moves to
 * the next candidate. For a policy with `select`, c is left out of the
 * policy's choice until the policy clears for it, and the others of the
 * policy are evaluated again at the next engine_tick (now_usec: see
 * engine_next_usec, to be re-armed after this call). No-op for `by: each`.
 * May be called from the decision callback (a step refused at once). */
void engine_step_failed(Engine *e, const Cgroup *c, const Policy *p, uint64_t now_usec);

/* The fastest usage growth assumed for usage sampling, bytes per second
 * (0: NODE_FILL_RATE_DEFAULT). */
void engine_set_fill_rate(Engine *e, uint64_t bytes_per_sec);

/* New node-wide figures: every binding with a node trigger is evaluated. */
void engine_node_update(Engine *e, const NodeStats *n, uint64_t now_usec);

/* Re-evaluate what is due (windows that slid, `for`, `clearAfter`, ladder steps). */
void engine_tick(Engine *e, uint64_t now_usec);

/* When engine_tick is next needed; 0: not until new records. */
uint64_t engine_next_usec(const Engine *e);

/* The cgroup policy (node: the node policy) bound to a cgroup and its phase
 * (for status and tests); NULL if none. */
const Policy *engine_policy_of(const Engine *e, const Cgroup *c, bool node, PolicyPhase *ret_phase);
/* The policy bound to c (cgroup or node) that is policy name of namespace
 * ns (NULL: the node admin's), NULL if none: names are per source, so an
 * outcome is matched back to its binding by both. */
const Policy *engine_policy_named(const Engine *e, const Cgroup *c, const char *name, const char *ns);
