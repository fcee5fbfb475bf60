/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cgroup-read.h"
#include "identity.h"
#include "memcg-v1.h"
#include "memevents.h"
#include "psi.h"

/* The model: one Cgroup per directory of the hierarchy, kept by the watcher
 * (watcher.h), read by everyone above it. */

/* cgroup v1 eventfds, indexed like V1Level for the pressure levels. */
typedef enum V1Fd {
        V1_FD_LOW,
        V1_FD_MEDIUM,
        V1_FD_CRITICAL,
        V1_FD_OOM,
        V1_FD_THRESHOLD,
        _V1_FD_MAX,
} V1Fd;

typedef struct CgroupV1 {
        int fd[_V1_FD_MAX];               /* in the watcher's epoll fd (watcher_psi_fd) */
        uint64_t pressure[_V1_LEVEL_MAX]; /* notifications at this level or worse, since seen */
        uint64_t threshold;               /* the armed usage threshold; 0: none */
        uint64_t want_threshold;          /* what the owner asked for (watcher_v1_request) */
        bool want_low;
        bool under_oom;
        bool oom_pending;                   /* an OOM notification came; oom_kill not re-read since */
        uint8_t psi_tries;                  /* PSI arming retried (the unified cgroup may come later) */
        uint64_t unreported[_V1_LEVEL_MAX]; /* notifications not yet in an output record */
        uint64_t last_output_usec[_V1_LEVEL_MAX];
} CgroupV1;

/* Why children of a cgroup were left out of the model (Cgroup.refused). */
enum {
        CGROUP_REFUSED_DEPTH = 1 << 0, /* deeper than max_depth */
        CGROUP_REFUSED_PATH = 1 << 1,  /* path longer than PATH_MAX allows */
        /* past max_cgroups or the inotify watch limit: looked at again when
         * room frees up (cleared then, unlike the two above) */
        CGROUP_REFUSED_FULL = 1 << 2,
};

typedef struct Cgroup Cgroup;
struct Cgroup {
        Cgroup *parent, *first_child, *next_sibling;
        uint32_t slot;
        uint32_t serial; /* with slot, names this cgroup in epoll data across reuse */
        int wd_dir, wd_events, wd_cgevents;
        int events_fd, psi_fd; /* memory.events (re-read on every notification), the PSI trigger */
        void *psi_handle;      /* the owner's registration of psi_fd (an sd-event source) */
        unsigned generation;
        CgroupKind kind;
        bool watched;
        bool has_memory;                   /* memory.events exists: the memory controller is on here */
        uint64_t high, max;                /* last read limits; UINT64_MAX is "max" */
        MemEvents events;                  /* memory.events, as last read */
        uint64_t events_local[_MEMEV_MAX]; /* memory.events.local, known keys */
        CgroupEvents cgevents;
        PsiStats psi;
        uint32_t n_psi_events;
        uint64_t last_event_usec; /* CLOCK_MONOTONIC of the last record about it */
        char *pod_namespace;      /* pods only: room for the names, set aside when the pod appears */
        char *pod_name;           /* "" until kubelet's log directory has been found */
        char *container_name;     /* containers only, likewise */
        CgroupV1 *v1;             /* cgroup v1 only */
        uint16_t depth;           /* the root is 0; at most WatcherConfig.max_depth */
        uint16_t path_len;        /* strlen of cgroup_path(): always below PATH_MAX */
        uint8_t refused;          /* CGROUP_REFUSED_*: children left out, already reported */
        bool names_new;           /* names just learned: an identity record is due */
        uint16_t name_len;
        char name[];
};

/* The pod a cgroup is in: itself, a container's pod, or the pod of what a
 * workload made below a container; NULL outside pods. Never fails. */
const Cgroup *cgroup_pod(const Cgroup *c);

/* The cgroup's path from the root ("/" for the root) into buf. Returns 0, or
 * -ENAMETOOLONG if it does not fit (buf then holds nothing usable). The
 * watcher models no cgroup whose path is longer than c->path_len allows, so
 * for every cgroup it hands out a buffer of PATH_MAX always fits. */
int cgroup_path(const Cgroup *c, char *buf, size_t size);

/* A cgroup's state as one JSON object (no newline), for status listings.
 * Returns 0 with the length in *ret_len, or -ENOBUFS if it does not fit. */
int cgroup_format_json(const Cgroup *c, char *buf, size_t size, size_t *ret_len);
