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
