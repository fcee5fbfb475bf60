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

/* headroom bytes at fill_rate bytes/s (0: NODE_FILL_RATE_DEFAULT), in usec,
 * clamped to [min_usec, max_usec]. */
uint64_t node_headroom_usec(uint64_t headroom, uint64_t fill_rate, uint64_t min_usec, uint64_t max_usec);
/* When MemAvailable (avail) is next to be read, from now: see above. No
 * watermark: NODE_SAMPLE_MAX_USEC. */
uint64_t node_sample_interval(const NodeWatermarks *w, uint64_t avail, uint64_t fill_rate);
