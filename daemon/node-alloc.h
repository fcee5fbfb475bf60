/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

/* The kernel's page allocations counted against a budget of pages by a BPF
 * program on the mm_page_alloc raw tracepoint (node-alloc.c; src/node.c,
 * node_alloc_split, says why): it wakes the agent once the budget may be
 * spent, instead of a timer. Made at start-up, while the agent still has
 * CAP_BPF and CAP_PERFMON, and attached for good; no bpf(2) after that. */
typedef struct NodeAlloc NodeAlloc;

/* Make the program and its maps; on_wake runs on the loop when the budget
 * is spent. NULL (and why, for the log and status, in *ret_why) if the
 * kernel or the sandbox does not allow them: then the agent samples on its
 * timer. */
NodeAlloc *node_alloc_open(sd_event *event, void (*on_wake)(void *userdata), void *userdata,
                           const char **ret_why);
NodeAlloc *node_alloc_close(NodeAlloc *a);
/* Wake after at most budget pages more (node_alloc_budget), split over the
 * CPUs: 0 on success, < 0 if the counter could not be set (then it is
 * stopped). */
int node_alloc_arm(NodeAlloc *a, uint64_t budget);
/* Stop counting (the program stays attached: a lookup per allocation). */
void node_alloc_disarm(NodeAlloc *a);
bool node_alloc_armed(const NodeAlloc *a);

typedef struct NodeAllocStats {
        unsigned n_cpus;
        bool attached;
        uint64_t budget; /* pages, the last arm; 0: stopped */
        uint64_t n_arms, n_wakes;
} NodeAllocStats;
void node_alloc_stats(const NodeAlloc *a, NodeAllocStats *ret);
