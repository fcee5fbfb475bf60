/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "policy-dir.h"

/* A thread, started at launch, that loads the policy directory off the event
 * loop: a directory of hostile files must never stall the loop (the status
 * socket, the records, the watchdog). The thread owns the PolicyDir (its
 * sources and their last good sets) from policy_loader_start() to
 * policy_loader_stop(); the caller sees only the results it takes. A request
 * made while a load runs is coalesced into one more load after it. The
 * thread knows nothing of sd-event: the caller polls policy_loader_fd(). */

typedef struct PolicyLoadResult {
        int r;                 /* policy_dir_load()'s */
        PolicySet set;         /* r == 0 or -EINVAL: the set to swap in (the taker's) */
        PolicyDirStats stats;  /* r == 0, -EINVAL, or the load was abandoned */
        PolicyErrors errors;   /* every error of the load (one when it was abandoned) */
        uint64_t n_requests;   /* requests this load answers */
        uint64_t n_superseded; /* results replaced by this one before they were taken */
} PolicyLoadResult;

typedef struct PolicyLoader PolicyLoader;

/* Takes dir (also on error: it is freed). budget: policy_dir_load's, with the
 * loader's own cancel flag put in (set by policy_loader_stop()); NULL: the
 * defaults. The thread has every signal blocked and a small stack. */
int policy_loader_start(PolicyDir *dir, const PolicyDirBudget *budget, PolicyLoader **ret);

/* Cancels a running load (abandoned at its next check), joins the thread,
 * frees the directory and any result not taken. Takes NULL. */
PolicyLoader *policy_loader_stop(PolicyLoader *l);

/* An eventfd, readable (EPOLLIN) when a result may be ready. */
int policy_loader_fd(const PolicyLoader *l);

/* Ask for a load; never blocks on a running one. */
void policy_loader_request(PolicyLoader *l);

/* 1 and the finished load in *ret (the caller's, policy_load_result_free()),
 * 0 and NULL when there is none yet, -ENOMEM when the thread could not
 * allocate a result (requests it had are lost: ask again). Drains the fd. */
int policy_loader_take(PolicyLoader *l, PolicyLoadResult **ret);

/* A load is asked for, running, or finished and not taken. */
bool policy_loader_busy(PolicyLoader *l);

PolicyLoadResult *policy_load_result_free(PolicyLoadResult *r);
