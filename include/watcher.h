/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "cgroup-read.h"
#include "cgroup.h"
#include "identity.h"
#include "memcg-v1.h"
#include "memevents.h"
#include "psi.h"
#include "record.h"

/* The live model of the cgroup tree and the kernel-event watchers on it.
 *
 * One inotify fd carries every watch: a directory watch on each cgroup
 * (IN_CREATE/IN_DELETE of children, IN_MODIFY of memory.high/memory.max by
 * name) and, on watched cgroups, file watches on memory.events and
 * cgroup.events. One epoll fd carries every PSI trigger. The owner polls the
 * two fds (the daemon adds them to its sd-event loop) and calls
 * watcher_process_inotify() / watcher_process_psi() when they are readable.
 *
 * cgroup v1 (cfg.v1): the same model on the v1 memory hierarchy. There is no
 * memory.events and no per-cgroup PSI there; instead each watched cgroup gets
 * eventfds through cgroup.event_control: memory.pressure_level at medium and
 * critical (low and a memory.usage_in_bytes threshold when the owner asks,
 * watcher_v1_request()) and memory.oom_control. They sit in the watcher's
 * epoll fd (watcher_psi_fd), which the owner polls for EPOLLIN and drains
 * with watcher_process_psi(). memory.limit_in_bytes stands for
 * memory.max, memory.soft_limit_in_bytes for memory.high, usage_in_bytes for
 * memory.current; memory.events' max, oom and oom_kill are memory.failcnt,
 * the OOM notifications and oom_control's oom_kill. PSI comes from the cgroup
 * of the same path in the unified hierarchy (cfg.psi_root) where one exists.
 *
 * Allocation happens only when a cgroup appears (its struct, a slot, a hash
 * entry). Processing an event allocates nothing: it reads into the watcher's
 * own buffers and hands the record to the emit callback. */

typedef enum WatchSelect {
        WATCH_SELECT_LIMITED, /* root, slices, pods, and any cgroup with memory.high or memory.max set */
        WATCH_SELECT_ALL,
        _WATCH_SELECT_MAX,
        _WATCH_SELECT_INVALID = -22,
} WatchSelect;

/* "limited" or "all"; _WATCH_SELECT_INVALID for anything else or NULL. */
WatchSelect watch_select_from_string(const char *s);

typedef struct WatcherConfig {
        const char *root; /* the cgroup2 mount (v1: the memory controller's), or a test's fake tree */
        bool v1;          /* root is a cgroup v1 memory hierarchy */
        const char
                *psi_root; /* v1: the unified hierarchy, for memory.pressure by the same path; NULL: none */
        V1Mode v1_mode;    /* v1: mode of the pressure_level registrations */
        unsigned max_cgroups; /* past it, new cgroups are reported and not watched */
        WatchSelect select;
        bool psi; /* arm a PSI trigger on each watched cgroup */
        PsiType psi_type;
        uint64_t psi_stall_usec;
        uint64_t psi_window_usec;
        const char *pod_log_dir;       /* kubelet's /var/log/pods, for namespace and pod names; NULL: none */
        const char *container_log_dir; /* kubelet's /var/log/containers, for container names */
        /* Cgroups deeper than this (the root is depth 0) are not modelled: a
         * tenant with a delegated subtree can make it as deep as it likes.
         * 0: WATCHER_MAX_DEPTH_DEFAULT. */
        unsigned max_depth;
        /* Where kubelet's cgroups are, from the hierarchy's root ("/kubepods"
         * with --cgroup-root): only there and below are cgroups QoS, pod and
         * container cgroups. NULL: "/kubepods.slice" or "/kubepods". */
        const char *kubepods_root;
} WatcherConfig;

#define WATCHER_MAX_DEPTH_DEFAULT 64

#define WATCHER_CONFIG_DEFAULT                                                                              \
        ((WatcherConfig){ .root = "/sys/fs/cgroup",                                                         \
                          .max_cgroups = 65536,                                                             \
                          .v1_mode = V1_MODE_HIERARCHY,                                                     \
                          .select = WATCH_SELECT_LIMITED,                                                   \
                          .psi = true,                                                                      \
                          .psi_type = PSI_SOME,                                                             \
                          .psi_stall_usec = 100000,                                                         \
                          .psi_window_usec = 2000000,                                                       \
                          .pod_log_dir = "/var/log/pods",                                                   \
                          .container_log_dir = "/var/log/containers",                                       \
                          .max_depth = WATCHER_MAX_DEPTH_DEFAULT })

typedef struct Watcher Watcher;
typedef void (*WatcherEmitFunc)(Watcher *w, const Record *r, void *userdata);

typedef struct WatcherStats {
        unsigned n_cgroups, n_watched, n_psi;
        uint64_t n_inotify_events, n_overflows, n_records, n_dropped_cgroups;
        uint64_t n_too_deep;      /* cgroups below which a subtree was left out: deeper than max_depth */
        uint64_t n_path_too_long; /* likewise: paths too long for PATH_MAX */
        uint64_t scan_usec;       /* the first walk */
        unsigned n_v1_fds;        /* cgroup v1 eventfds */
        bool has_memory_controller, psi_supported, v1;
} WatcherStats;

/* A watcher for cfg (copied; its strings are borrowed and must outlive the
 * watcher), emitting every record through emit. Nothing is read yet (see
 * watcher_scan()). Returns 0 with *ret set, or -errno (-ENOMEM, inotify or
 * epoll fds refused). */
int watcher_new(const WatcherConfig *cfg, WatcherEmitFunc emit, void *userdata, Watcher **ret);
/* Takes NULL; returns NULL. Closes every fd, emits no records. */
Watcher *watcher_free(Watcher *w);

/* Walk the whole hierarchy from the root and attach watchers; emits the
 * started record. Returns 0, -EBUSY if already done, or -errno if the root
 * cannot be opened or watched (-ENOENT: no such root). Cgroups that vanish,
 * are out of bounds or past max_cgroups are no failure (warning records). */
int watcher_scan(Watcher *w);

/* The inotify fd to poll for EPOLLIN (then watcher_process_inotify()). */
int watcher_inotify_fd(const Watcher *w);

/* Re-walk the tree (add what is missing, drop what is gone) and re-read every
 * watched cgroup's counters. Done by itself on inotify overflow. Returns 0,
 * or -ENOENT before watcher_scan() (or after the root went away). */
int watcher_rescan(Watcher *w);

/* Drain what is pending; never blocks. Returns the number of kernel events
 * handled or -errno on a failure of the fd itself. */
int watcher_process_inotify(Watcher *w);

/* PSI trigger fds. By default the watcher registers them in an epoll fd of
 * its own (watcher_psi_fd), drained by watcher_process_psi(): right for tests
 * and tools that block in epoll_wait on it. An owner with an event loop must
 * register each fd in its loop instead (a PSI trigger's event is consumed by
 * the first poll of it, so it must not sit in a nested epoll set), and call
 * watcher_handle_psi() with the key it was given. Call before watcher_scan(). */
typedef int (*WatcherPsiAdd)(void *userdata, int fd, uint64_t key, void **ret_handle);
typedef void (*WatcherPsiDel)(void *userdata, int fd, void *handle);
void watcher_set_psi_hooks(Watcher *w, WatcherPsiAdd add, WatcherPsiDel del, void *userdata);
/* The watcher's epoll fd: PSI triggers without owner hooks, and always the
 * cgroup v1 eventfds. Readable (EPOLLIN) when watcher_process_psi() has work. */
int watcher_psi_fd(const Watcher *w);
/* Drain the epoll fd; never blocks. Returns the number of events handled, or
 * -errno on a failure of the epoll fd itself. */
int watcher_process_psi(Watcher *w);
/* One event of an fd registered through the owner's hooks (key as given to
 * WatcherPsiAdd). Returns 1 if it made a record, 0 if not (a stale key: the
 * cgroup is gone; EPOLLERR: the trigger was dropped), never fails. */
int watcher_handle_psi(Watcher *w, uint64_t key, uint32_t revents);

/* The owner's say in what is watched, beside cfg.select: a cgroup for which
 * want() is true is watched whatever the selection (memwardend: every cgroup
 * some policy matches, so that a policy never depends on --watch to see what
 * it names). Asked when a cgroup appears (before its cgroup_added record),
 * when its limits change, when its names are learned (before its identity
 * record) and, for every cgroup, at watcher_reevaluate(). It may call
 * watcher_cgroup_identity() and nothing else of the watcher's. */
typedef bool (*WatcherWantFunc)(void *userdata, const Cgroup *c);
void watcher_set_want(Watcher *w, WatcherWantFunc want, void *userdata);
/* What want() answers changed (a new policy set): every cgroup is watched or
 * not as the selection and want() now say. Emits no records (a cgroup
 * attached now has its counters read, a detached one loses them). */
void watcher_reevaluate(Watcher *w);

/* Figures of the watcher now; never fails. */
void watcher_get_stats(const Watcher *w, WatcherStats *ret);

/* Emit a warning record on the owner's behalf (e.g. a failed policy reload). */
void watcher_warn(Watcher *w, int error, const char *message);

/* Cgroups by slot, for status listings: slots may be empty (NULL), and a
 * slot past the end is NULL. */
unsigned watcher_n_slots(const Watcher *w);
const Cgroup *watcher_slot(const Watcher *w, unsigned i);

/* Who c is, for matching policies: path into path_buf (ret->path NULL only
 * if size is below PATH_MAX and the path does not fit), the rest borrowed
 * from c (looked up in kubelet's log directories first if still unknown).
 * Never fails. Names learned here make identity records due (emitted at
 * the next watcher_tick(), see watcher_next_usec()), never from inside.
 *
 * Names come from kubelet's log directories (cfg.pod_log_dir,
 * cfg.container_log_dir), which the watcher watches on its inotify fd: kubelet
 * makes a pod's cgroup before its log directory. When the names of a pod
 * (its namespace and name) or of a container become known after its
 * cgroup_added record, an identity record says so, for the pod and each of
 * its containers: the owner binds them again (engine_observe does). A
 * missing log directory is waited for through its parent; arming is retried
 * when a pod cgroup appears and at each rescan. */
void watcher_cgroup_identity(Watcher *w, const Cgroup *c, char *path_buf, size_t size, CgroupIdentity *ret);

/* cgroup v1: what a policy bound to c needs beyond medium/critical pressure
 * and OOM: low pressure notifications, a usage threshold in bytes (0: none).
 * Armed now if c is watched, else when it is. Returns 1 if the threshold is
 * armed, 0 if not (v2, none asked, or the kernel refused), never fails. */
int watcher_v1_request(Watcher *w, const Cgroup *c, bool low, uint64_t threshold);

/* Deadlines: work the watcher must do at a time rather than on a kernel
 * event (cgroup v1: an OOM notification comes just before the kernel's OOM
 * killer acts, so oom_kill is re-read every WATCHER_V1_RECHECK_USEC after it,
 * up to 20 times, until it grows; looking again for cgroups left out at
 * max_cgroups, WATCHER_REFILL_USEC; identity records made due by the
 * owner's own watcher_cgroup_identity() calls, at once). After each dispatch the owner arms one
 * timer at watcher_next_usec() and calls watcher_tick() when it fires.
 * watcher_next_usec returns the CLOCK_MONOTONIC time in usec when
 * watcher_tick() is next needed, 0 for never. watcher_tick() does what is due
 * at now_usec (nothing if nothing is); it may emit records. */
uint64_t watcher_next_usec(const Watcher *w);
void watcher_tick(Watcher *w, uint64_t now_usec);

/* cgroup v1: oom_kill is re-read this long after an OOM notification (the
 * notification comes just before the kernel's OOM killer acts), up to 20 times. */
#define WATCHER_V1_RECHECK_USEC (100 * 1000ULL)

/* Cgroups left out for want of room (max_cgroups, or the inotify watch
 * limit) are remembered by where they were left out (no names kept); when a
 * cgroup goes away the watcher looks there again, at most once per this
 * long, through the deadline above (a rescan record tells it). */
#define WATCHER_REFILL_USEC (1000 * 1000ULL)

/* The some total (usec) of c's memory.pressure now (v1: the unified
 * hierarchy's cgroup of the same path), watched or not; UINT64_MAX if
 * unreadable. */
uint64_t watcher_read_psi_some(Watcher *w, const Cgroup *c);

/* memory.current (v1: memory.usage_in_bytes) of c now; UINT64_MAX if unreadable. */
uint64_t watcher_read_current(Watcher *w, const Cgroup *c);
