/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "policy.h"
#include "cgroup.h"
#include "record.h"

/* The systemd unit that owns a cgroup: its own name when that ends in .slice,
 * .scope or .service (systemd's units, and Kubernetes' pods and containers
 * under the systemd cgroup driver). NULL otherwise. */
const char *cgroup_unit_name(const Cgroup *c);

/* Why this action must not touch the cgroup at path, or NULL if it may.
 * own_cgroup: the agent's own cgroup path ("" if unknown). Never the root or
 * the agent itself; disruptive actions (freeze, kill, restart, stop) never
 * the agent's ancestors either; init.scope, system.slice and the kubepods QoS
 * cgroups only with allowProtected (node-admin policies). notify and report
 * may look at anything. */
const char *action_refusal(ActionType t, bool allow_protected, const Cgroup *c, const char *path,
                           const char *own_cgroup);

/* The next memory.high of a throttle: step_bp (1/100 %) below the lower of
 * the current limit and the usage, never below floor, rounded down to pages.
 * Returns UINT64_MAX if that would not lower the limit (already at floor). */
uint64_t throttle_next_high(uint64_t high, uint64_t usage, uint64_t floor, uint32_t step_bp);
