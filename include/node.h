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
