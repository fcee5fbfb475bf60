/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

/* The kernel's page allocations counted per CPU and order class by perf on
 * the kmem:mm_page_alloc tracepoint (src/node.c, node_alloc_split, says
 * why): the counters wake the agent after a budget of pages, instead of a
 * timer. Opened at start-up, while the agent still has CAP_PERFMON (or is
 * root with perf_event_paranoid low enough); kept disabled until armed. */
typedef struct NodeAlloc NodeAlloc;

/* Open the counters; on_wake runs on the loop when one overflows. NULL (and
 * why, for the log and status, in *ret_why) if the kernel or the sandbox
 * does not allow them: then the agent samples on its timer. */
NodeAlloc *node_alloc_open(sd_event *event, void (*on_wake)(void *userdata), void *userdata,
                           const char **ret_why);
NodeAlloc *node_alloc_close(NodeAlloc *a);
/* Wake after at most budget pages more (node_alloc_budget): 0 on success,
 * < 0 if the counters could not be set (then they are stopped). */
int node_alloc_arm(NodeAlloc *a, uint64_t budget);
void node_alloc_disarm(NodeAlloc *a);
bool node_alloc_armed(const NodeAlloc *a);

typedef struct NodeAllocStats {
        unsigned n_cpus, n_counters;
        uint64_t budget; /* pages, the last arm; 0: stopped */
        uint64_t n_arms, n_wakes;
} NodeAllocStats;
void node_alloc_stats(const NodeAlloc *a, NodeAllocStats *ret);
