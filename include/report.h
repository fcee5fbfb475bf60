/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The "why did memory run out" report: a snapshot of one cgroup taken when a
 * policy's report step runs. memory.stat (every key), memory.events, PSI,
 * the limits, the children ranked by memory.current and the processes of the
 * whole subtree ranked by RSS (with PSS and swap from smaps_rollup, comm and
 * a bounded command line). Built into the caller's buffer from fixed-size
 * scratch space: no allocation, no fork. Bounded work: at most
 * REPORT_DIRS_MAX cgroups and REPORT_PIDS_MAX processes are looked at (the
 * report says when it stopped short). */

#define REPORT_TOP_PROCESSES 10
#define REPORT_TOP_CHILDREN  10
#define REPORT_PIDS_MAX      16384
#define REPORT_DIRS_MAX      1024
#define REPORT_CMDLINE_MAX   256

typedef struct ReportProcess {
        int pid;
        uint64_t rss, pss, swap; /* bytes; pss/swap UINT64_MAX when smaps_rollup was unreadable */
        char comm[32];
} ReportProcess;

typedef struct ReportSummary {
        unsigned n_processes; /* processes found in the subtree */
        unsigned n_children;
        ReportProcess top; /* the process with the most RSS; pid 0 if none */
        uint64_t anon, file, kernel, current;
        bool truncated;
        bool timed_out; /* stopped at the deadline (truncated too) */
} ReportSummary;

/* A time bound: between cgroups and between processes the builder checks
 * the clock and stops at deadline_usec (CLOCK_MONOTONIC, or now_usec's
 * clock if given: a test's), marking the report truncated and timed_out. */
typedef struct ReportBound {
        uint64_t deadline_usec; /* 0: none */
        uint64_t (*now_usec)(void *userdata);
        void *userdata;
} ReportBound;

/* root_fd: the cgroup2 mount (any fd usable with openat); rel: the cgroup's
 * path relative to it ("" or "." for the root); proc_fd: /proc. */
int report_build(int root_fd, const char *rel, int proc_fd, const char *cgroup_path, const char *policy,
                 uint64_t real_usec, char *buf, size_t size, size_t *ret_len, ReportSummary *ret_summary);
/* The same within bound (NULL: none). One report at a time (static scratch). */
int report_build_bounded(int root_fd, const char *rel, int proc_fd, const char *cgroup_path,
                         const char *policy, uint64_t real_usec, const ReportBound *bound, char *buf,
                         size_t size, size_t *ret_len, ReportSummary *ret_summary);

/* The file name of a report, "20260101T120000.000123Z-<source>@<policy>-<path>.json":
 * source is "_admin_" for the node admin's policies (ns NULL or "") or the
 * namespace; every byte of source, policy and path outside [A-Za-z0-9.-]
 * becomes '_', never two dots in a row, so no '/', no "..", no control
 * bytes, whatever the cgroup is called; at most REPORT_NAME_MAX - 1 bytes
 * (size is capped there). Returns 0, or -ENOBUFS if size is under 103. */
#define REPORT_NAME_MAX 200
int report_file_name(const char *ns, const char *policy, const char *path, uint64_t real_usec, char *buf,
                     size_t size);

/* Keep the newest keep reports (*.json, regular files) of source ns (as in
 * report_file_name; names without a source count as the admin's) in dirfd,
 * removing at most 8 per call, oldest by name first: each source has its own
 * keep, so no namespace can flush out the admin's reports or another's.
 * Returns how many went, or -errno. */
int report_prune(int dirfd, const char *ns, unsigned keep);
