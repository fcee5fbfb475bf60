/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* cgroup v1 memory notifications, all through cgroup.event_control and an
 * eventfd (Documentation/admin-guide/cgroup-v1/memory.rst): the eventfd is
 * signalled when the event happens, and once more when the cgroup goes
 * away. The v1 watcher (src/watcher-v1.c) is built on them. */

typedef enum V1Level {
        V1_LEVEL_LOW,
        V1_LEVEL_MEDIUM,
        V1_LEVEL_CRITICAL,
        _V1_LEVEL_MAX,
        _V1_LEVEL_INVALID = -22,
} V1Level;

typedef enum V1Mode {
        V1_MODE_DEFAULT,   /* also events of descendants without listeners of their own */
        V1_MODE_HIERARCHY, /* every event in the subtree */
        V1_MODE_LOCAL,     /* only this cgroup's own */
        _V1_MODE_MAX,
        _V1_MODE_INVALID = -22,
} V1Mode;

const char *v1_level_to_string(V1Level l);
const char *v1_mode_to_string(V1Mode m);

/* The mount point of the v1 hierarchy with the memory controller, from
 * /proc/self/mountinfo. -ENOENT if there is none. */
int cg_find_v1_memory_mount(const char *mountinfo_path, char *ret_path, size_t size);

/* Register an event on the cgroup at dirfd; returns the eventfd (non-blocking,
 * close-on-exec) or -errno. */
int memcg_v1_watch_pressure(int dirfd, V1Level level, V1Mode mode);
int memcg_v1_watch_threshold(int dirfd, uint64_t usage_bytes); /* crossed either way */
int memcg_v1_watch_oom(int dirfd);

/* Send sig to every process in the cgroup at dirfd and its descendants (v1
 * has no cgroup.kill), read from cgroup.procs; twice, so that a child forked
 * between a read and the kill of its parent is caught by the second pass.
 * Bounded: 64 levels, no allocation. ret_n: processes signalled in the first
 * pass. Returns 0 or -errno (not a cgroup directory). */
int memcg_v1_kill_subtree(int dirfd, int sig, unsigned *ret_n);

/* memory.oom_control: under_oom and the oom_kill counter (Linux 4.13+; 0 before).
 * Returns 0, or -EINVAL without an under_oom line; sets its results only on
 * success. */
int memcg_v1_oom_control_parse(const char *buf, size_t len, bool *ret_under_oom, uint64_t *ret_oom_kill);
