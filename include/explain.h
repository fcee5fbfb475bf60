/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "identity.h"
#include "policy-eval.h"
#include "policy.h"

/* `memwardenctl explain`: which policy applies to a cgroup, which node policy
 * binds beside it, and why every other does not, as one JSON object. Pure:
 * what the engine knows comes through the armed callback. */

#define EXPLAIN_OTHERS_MAX 16

/* Whether the engine evaluates this cgroup's policy (node: its node policy)
 * here, and in which phase. */
typedef bool (*ExplainArmedFn)(void *userdata, bool node, PolicyPhase *ret_phase);

typedef struct ExplainInput {
        const CgroupIdentity *id;
        CgroupKind kind;
        const PolicySet *set;
        ExplainArmedFn armed; /* NULL: nothing is armed */
        const char *route;    /* how steps would be carried out (plan_route_describe); NULL: left out */
        void *userdata;
} ExplainInput;

/* The object into buf (not NUL-terminated past *ret_len), or -ENOBUFS. */
int explain_format(const ExplainInput *in, char *buf, size_t size, size_t *ret_len);

/* One trigger in words, e.g. "usage > 90.00% of memory.high". */
void explain_trigger(const Trigger *t, char *buf, size_t size);
