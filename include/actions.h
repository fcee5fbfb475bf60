/* SPDX-License-Identifier: MIT */
#pragma once

/* Compatibility: the engine's callers of the old name. New code uses
 * planner.h (plan_refusal, plan_all_refused). */

#include "planner.h"
#include "record.h"

static inline const char *action_refusal(ActionType t, bool allow_protected, const Cgroup *c,
                                         const char *path, const char *own_cgroup)
{
        PlanContext ctx = { .own_cgroup = own_cgroup ? own_cgroup : "" };
        return plan_refusal(&ctx, t, allow_protected, c, path);
}
