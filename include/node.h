/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "psi.h"

/* The whole node: memory PSI from /proc/pressure/memory and MemAvailable
 * from /proc/meminfo. */
typedef struct NodeStats {
        PsiStats psi;
        bool has_psi;
        uint64_t mem_available, mem_total; /* bytes */
        bool has_mem;
} NodeStats;

/* MemAvailable and MemTotal (kB in the file) in bytes. -EINVAL if either is missing. */
int meminfo_parse(const char *buf, size_t len, uint64_t *ret_available, uint64_t *ret_total);

/* Read /proc/meminfo (proc_fd: /proc, or a test's directory holding "meminfo"). */
int node_read_meminfo(int proc_fd, NodeStats *n);
/* Read /proc/pressure/memory (from proc_fd: "pressure/memory"). */
int node_read_psi(int proc_fd, NodeStats *n);

/* The policies' MemAvailable watermarks (nodeAvailable triggers), a bit each
 * in the order met, and which of them MemAvailable is below: a `node` record
 * goes out when that changes, not at every sample. */
#define NODE_WATERMARKS_MAX 32

typedef struct PolicySet PolicySet;

typedef struct NodeWatermarks {
        uint64_t below_bytes[NODE_WATERMARKS_MAX];
        unsigned n;       /* watermarks kept (at most NODE_WATERMARKS_MAX) */
        unsigned n_total; /* nodeAvailable triggers, kept or not: > 0 means sample */
        uint32_t mask;    /* bit i: MemAvailable was below below_bytes[i] at the last update */
} NodeWatermarks;

/* Which watermarks avail is below. */
uint32_t node_watermarks_mask(const NodeWatermarks *w, uint64_t avail);
/* Take the watermarks of set's nodeAvailable triggers; the last mask stays. */
void node_watermarks_from_policies(NodeWatermarks *w, const PolicySet *set);
/* A new sample: 0 if no watermark was crossed, -1 if it fell below one (or
 * more), 1 if it rose above; w->mask follows. */
int node_watermarks_update(NodeWatermarks *w, uint64_t avail);

/* Adaptive MemAvailable sampling (earlyoom's idea): the kernel has no
 * notification of MemAvailable, so it is read again after the time it would
 * take to fall from where it is to the nearest watermark at or below it at
 * fill_rate bytes per second, clamped to [NODE_SAMPLE_MIN_USEC,
 * NODE_SAMPLE_MAX_USEC]. A node with plenty of memory sleeps, a node near a
 * watermark is read often. Below every watermark there is nothing nearer to
 * fall to: the policies there fire, and MemAvailable is read every
 * NODE_SAMPLE_BELOW_USEC to see it rise again (and, with select, to choose
 * the next workload: after a kill the memory takes a moment to come back,
 * so a second one is not chosen on stale figures). The owner samples at
 * once as well on the node's PSI trigger and on a watched cgroup's high or
 * max events. */
#define NODE_FILL_RATE_DEFAULT (1ULL << 30) /* bytes per second: 1 GiB/s */
#define NODE_SAMPLE_MIN_USEC   (10 * 1000ULL)
#define NODE_SAMPLE_MAX_USEC   (60 * 1000000ULL)
#define NODE_SAMPLE_BELOW_USEC (1000000ULL)

/* What MemAvailable can fall by before the nearest watermark at or below
 * it: 0 below every watermark (or with none). */
uint64_t node_headroom(const NodeWatermarks *w, uint64_t avail);

/* headroom bytes at fill_rate bytes/s (0: NODE_FILL_RATE_DEFAULT), in usec,
 * clamped to [min_usec, max_usec]. */
uint64_t node_headroom_usec(uint64_t headroom, uint64_t fill_rate, uint64_t min_usec, uint64_t max_usec);
/* When MemAvailable (avail) is next to be read, from now: see above. No
 * watermark: NODE_SAMPLE_MAX_USEC. */
uint64_t node_sample_interval(const NodeWatermarks *w, uint64_t avail, uint64_t fill_rate);

/* The allocation counter (daemon/node-alloc.c): instead of a timer, the
 * kernel wakes the agent after enough pages were allocated. MemAvailable can
 * fall only as fast as pages are allocated, so a BPF program on the
 * mm_page_alloc tracepoint takes each allocation's pages (1 << order) off
 * the share of a budget its CPU was given, and wakes the agent when a CPU's
 * share is spent: fewer pages than the budget can have gone before that.
 * The budget is half the headroom to the nearest watermark, so an idle
 * node, allocating little, sleeps for minutes while a node falling fast is
 * woken as the pages go, more often the nearer it gets. Near a watermark
 * (headroom under NODE_ALLOC_MIN_HEADROOM) it would fire every few pages:
 * it stops there and the timer above (10 ms near a watermark) takes over.
 * With the counter on, the timer only guards what it cannot see (memory
 * made unavailable without an allocation): every NODE_SAMPLE_GUARD_USEC. */
#define NODE_ALLOC_MIN_HEADROOM (8ULL << 20)
#define NODE_SAMPLE_GUARD_USEC  (300 * 1000000ULL)

/* The timer beside the armed counter: the guard, NODE_SAMPLE_GUARD_USEC,
 * while MemAvailable is above every watermark; NODE_SAMPLE_BELOW_USEC once
 * it is below one, since memory coming back (a kill, a workload ending)
 * allocates nothing and would wake no counter. */
uint64_t node_guard_interval(const NodeWatermarks *w, uint64_t avail);

/* The highest CPU in a kernel cpu list ("0-3,8,10-11\n",
 * /sys/devices/system/cpu/possible) + 1: the entries a per-CPU table
 * indexed by CPU number needs. -EINVAL if malformed. */
int node_cpulist_span(const char *buf, size_t len, unsigned *ret);

/* How many pages may be allocated before MemAvailable is read again: half
 * the headroom (node_headroom) in pages. 0: stop the counters (below every
 * watermark, or nearer one than NODE_ALLOC_MIN_HEADROOM). */
uint64_t node_alloc_budget(const NodeWatermarks *w, uint64_t avail, uint64_t page_size);
/* Split budget pages over n CPUs: CPU i wakes the agent once it allocated
 * shares[i] pages, and what goes unseen before one does,
 * sum(shares[i] - 1), is at most budget. A CPU gets a share in proportion
 * to what it allocated the last time (seen[i] pages), over a floor for
 * those that allocated nothing, so that the busiest CPU does not wake the
 * agent long before the others would. -ERANGE without CPUs or budget. */
int node_alloc_split(uint64_t budget, const uint64_t *seen, size_t n, uint64_t *shares);
