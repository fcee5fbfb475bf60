/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdint.h>

#include "node.h"
#include "policy-eval.h"
#include "watcher.h"

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
 * of usage crossing a threshold, by reading memory.current every
 * ENGINE_USAGE_SAMPLE_USEC for the cgroups bound to a policy with a usage
 * trigger (the only polling; none without such policies). nodePressure and
 * nodeAvailable from engine_node_update(): the owner's PSI trigger on
 * /proc/pressure/memory and its MemAvailable samples. On cgroup v1,
 * pressureLevel from pressure_level records, and usage from usage_threshold
 * records where the watcher could arm a threshold (watcher_v1_request).
 * A policy with `select` gives a due step only to its first `count` bindings
 * (by usage, or QoS then usage) among those whose triggers hold. */

#define ENGINE_USAGE_SAMPLE_USEC (2 * 1000000ULL)
/* cgroup v1: usage is read again this long after a threshold crossing. */
#define ENGINE_USAGE_RECHECK_USEC (500 * 1000ULL)

typedef struct Engine Engine;

typedef struct EngineDecision {
        const Cgroup *cgroup;
        const Policy *policy;
        PolicyPhase phase;
        PolicyDecision d;
} EngineDecision;

typedef void (*EngineDecisionFunc)(const EngineDecision *d, void *userdata);

Engine *engine_new(EngineDecisionFunc func, void *userdata);
Engine *engine_free(Engine *e);

/* Use this policy set (its array is borrowed: call this with the new set
 * while the old one is still alive). Every cgroup of the watcher is bound
 * anew; a cgroup that keeps the same policy (by name and namespace) keeps its
 * state; one whose policy went away gets a "cleared" decision with its undo. */
void engine_set_policies(Engine *e, Watcher *w, const PolicySet *set, uint64_t now_usec);

/* Feed one record (cgroup_added binds, cgroup_removed unbinds). */
void engine_observe(Engine *e, Watcher *w, const Record *r, uint64_t now_usec);

/* New node-wide figures: every binding with a node trigger is evaluated. */
void engine_node_update(Engine *e, const NodeStats *n, uint64_t now_usec);

/* Re-evaluate what is due (windows that slid, `for`, `clearAfter`, ladder steps). */
void engine_tick(Engine *e, uint64_t now_usec);

/* When engine_tick is next needed; 0: not until new records. */
uint64_t engine_next_usec(const Engine *e);

/* The cgroup policy (node: the node policy) bound to a cgroup and its phase
 * (for status and tests); NULL if none. */
const Policy *engine_policy_of(const Engine *e, const Cgroup *c, bool node, PolicyPhase *ret_phase);
