/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The agent's own cgroup, as a path from the root of the hierarchy the
 * watcher uses (what the action rules compare with: never act on it).
 *
 * /proc/self/cgroup is not enough: in a cgroup namespace (a DaemonSet pod) it
 * reads "0::/" or a path relative to the namespace's root, while the watcher
 * sees the host's hierarchy (hostPath /sys/fs/cgroup). So a path from
 * /proc/self/cgroup is taken only when the hierarchy agrees (our PID is in
 * its cgroup.procs), or, outside a namespace, when it is not "/". Otherwise,
 * in this order: an explicit path, the pod's cgroup found from its UID under
 * the kubepods root (then our container below it), a bounded walk of the
 * hierarchy for our PID. */

typedef enum SelfCgroupSource {
        SELFCG_SOURCE_NONE, /* not found: path is "" */
        SELFCG_SOURCE_EXPLICIT,
        SELFCG_SOURCE_PROC,    /* /proc/self/cgroup, as it reads */
        SELFCG_SOURCE_POD_UID, /* the pod's cgroup, our container under it if found */
        SELFCG_SOURCE_WALK,
        _SELFCG_SOURCE_MAX,
        _SELFCG_SOURCE_INVALID = -22,
} SelfCgroupSource;

const char *selfcg_source_to_string(SelfCgroupSource s);

#define SELFCG_WALK_MAX_DIRS_DEFAULT 8192U
#define SELFCG_WALK_MAX_DEPTH        32U

typedef struct SelfCgroupConfig {
        int proc_fd; /* /proc, or a test's fake one: "self/cgroup", "self/ns/cgroup", "1/ns/cgroup" */
        int root_fd; /* the hierarchy the watcher uses (O_PATH or O_RDONLY directory) */
        bool v1;     /* root is the cgroup v1 memory hierarchy */
        pid_t pid;   /* ours (getpid(), which is what cgroup.procs shows to us) */
        const char *explicit_path; /* --own-cgroup; NULL or "": none */
        const char *pod_uid;       /* MEMWARDEN_POD_UID (downward API metadata.uid); NULL or "": none */
        const char *kubepods_root; /* below root, e.g. "kubepods.slice"; NULL: "kubepods.slice", then
                                      "kubepods" */
        unsigned walk_max_dirs;    /* directories the walk reads at most; 0: the default */
} SelfCgroupConfig;

typedef struct SelfCgroup {
        char path[4096]; /* "/..." or "" */
        SelfCgroupSource source;
        char proc_path[4096]; /* what /proc/self/cgroup said ("" if unreadable) */
        bool namespaced;      /* our cgroup namespace is not init's */
        bool pod_found;       /* source POD_UID: the pod's cgroup exists ... */
        bool container_found; /* ... and our container was found below it */
        unsigned walked_dirs;
} SelfCgroup;

/* The v2 "0::/path" line (v1 false) or the line naming the memory controller
 * (v1 true) of a /proc/PID/cgroup text. 0, -ENOENT (no such line), -EINVAL
 * (not a path), -ENAMETOOLONG. */
int selfcg_parse(const char *buf, size_t len, bool v1, char *ret, size_t size);

/* 1 if self/ns/cgroup and 1/ns/cgroup under proc_fd are different
 * namespaces, 0 if the same, -errno if either cannot be read. */
int selfcg_in_namespace(int proc_fd);

/* 1 if pid is listed in dirfd's "cgroup.procs" (read in chunks: the root's
 * can be long), 0 if not, -errno. */
int selfcg_procs_has_pid(int dirfd, pid_t pid);

/* The pod's cgroup path for a pod UID under kubepods (systemd driver:
 * kubepods[-QOS]-pod<uid with '_'>.slice; cgroupfs: [QOS/]pod<uid>). 0, -ENOENT,
 * -EINVAL (not a UID). */
int selfcg_find_pod(int root_fd, const char *kubepods_root, const char *pod_uid, char *ret, size_t size);

/* Look for pid in cgroup.procs below start ("/" or a path), depth first,
 * reading at most *budget directories (decremented). 0 and the path, -ENOENT,
 * -E2BIG when the budget ran out first. */
int selfcg_walk(int root_fd, const char *start, pid_t pid, unsigned *budget, char *ret, size_t size);

/* All of the above. 0 with ret->path set, or -ENOENT (-E2BIG: the walk's
 * budget ran out) with ret->path "" and the other fields saying what was
 * seen; the caller warns. */
int selfcg_find(const SelfCgroupConfig *cfg, SelfCgroup *ret);
