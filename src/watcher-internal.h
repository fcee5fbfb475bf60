/* SPDX-License-Identifier: MIT */
#pragma once

/* The watcher's insides, shared by its files: watcher.c (the common event
 * path: inotify, PSI, selection), watcher-tree.c (the model and the walk),
 * and one backend per hierarchy behind WatchBackend: watcher-v2.c (the
 * unified hierarchy) and watcher-v1.c (the cgroup v1 memory notifications).
 * Not for other users. */

#include <limits.h>
#include <sys/inotify.h>

#include "watcher.h"
#include "wdmap.h"

#define DIR_MASK                                                                                            \
        (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_MODIFY | IN_DELETE_SELF | IN_ONLYDIR |    \
         IN_EXCL_UNLINK)

/* What differs between the hierarchies. Every hook but the optional ones
 * (NULL: nothing to do) is set by both backends. */
typedef struct WatchBackend {
        int (*alloc)(Cgroup *c); /* optional: per-cgroup state; 0 or -ENOMEM */
        void (*free)(Cgroup *c); /* optional: what alloc made */
        /* c became watched: its counters read and their notifications armed
         * (the PSI trigger is common); detach undoes it. */
        void (*attach)(Watcher *w, Cgroup *c);
        void (*detach)(Watcher *w, Cgroup *c);
        void (*read_limits)(Watcher *w, Cgroup *c); /* c->high, c->max, c->has_memory */
        void (*refresh)(Watcher *w, Cgroup *c);     /* after a rescan: counters re-read, records if grown */
        /* IN_MODIFY of a file in c's directory (limits, cgroup.subtree_control). */
        void (*dir_file_modified)(Watcher *w, Cgroup *c, const char *name);
        /* optional: an event of a file watch the backend made (not WD_DIR) */
        void (*file_event)(Watcher *w, Cgroup *c, WdKind kind, int wd, uint32_t mask);
        /* optional: an fd of the backend's in the epoll set, key kind beyond KEY_PSI; 1 if handled */
        int (*handle_key)(Watcher *w, Cgroup *c, unsigned kind, uint32_t revents);
        void (*open_psi_root)(Watcher *w); /* sets psi_root_fd (or leaves it -1: no PSI) */
        bool (*probe_memory)(Watcher *w);  /* the memory controller is there, at the root */
        void (*describe)(Watcher *w, char *buf, size_t size); /* the started record's message */
        uint64_t (*next_usec)(const Watcher *w);              /* optional: watcher_next_usec() */
        void (*tick)(Watcher *w, uint64_t now_usec);          /* optional: watcher_tick() */
        const char *current_file;                             /* memory.current or its stand-in */
} WatchBackend;

extern const WatchBackend watch_backend_v1, watch_backend_v2;

/* One of kubelet's log directories, watched for new entries (watcher-logs.c). */
enum {
        LOG_PODS,       /* cfg.pod_log_dir: <namespace>_<pod>_<uid>/ */
        LOG_CONTAINERS, /* cfg.container_log_dir: <pod>_<namespace>_<container>-<id>.log */
        _LOG_MAX,
};

typedef struct LogDir {
        const char *path; /* NULL: not wanted */
        int wd;           /* on the directory; -1 while it is missing (or cannot be watched) */
        int parent_wd;    /* on its parent while the directory is missing; -1: none */
        /* No fd is kept: an open fd pins the dentry, and the kernel sends
         * IN_DELETE_SELF only when the last reference goes. Each lookup opens
         * the directory by path (rare records only). */
} LogDir;

struct Watcher {
        WatcherConfig cfg;
        const WatchBackend *be;
        WatcherEmitFunc emit;
        void *userdata;
        int inotify_fd, epoll_fd;
        LogDir logs[_LOG_MAX];
        unsigned n_unnamed_pods, n_unnamed_containers; /* still waiting for kubelet's names */
        unsigned n_names_new;                          /* cgroups with names_new set */
        bool flushing;                                 /* identity records going out */
        bool refill_wanted;     /* some cgroup has CGROUP_REFUSED_FULL: children were left out */
        uint64_t refill_usec;   /* when to look for them again (room freed up); 0: not due */
        uint64_t refilled_usec; /* when that was last done: at most once per WATCHER_REFILL_USEC */
        int root_fd;            /* O_PATH: every cgroup file is opened relative to it */
        int psi_root_fd;        /* where memory.pressure is: root_fd, v1: the unified hierarchy's or -1 */
        Cgroup *root;
        Cgroup **slots;
        unsigned n_slots, slots_allocated, free_hint, n_cgroups, n_watched, n_psi, n_v1_fds;
        unsigned n_v1_oom_pending; /* cgroups whose oom_kill is to be re-read (watcher_v1_recheck) */
        uint64_t v1_recheck_usec;  /* when oom_kill is next re-read; 0: nothing waits */
        unsigned v1_recheck_tries;
        uint32_t next_serial;
        unsigned max_depth; /* cfg.max_depth, defaulted and capped */
        size_t kubepods_root_len;
        size_t path_max;        /* longest cgroup path modelled (without NUL) */
        unsigned pass_warnings; /* refusal warnings in this pass (scan, rescan, inotify read) */
        uint64_t n_too_deep, n_path_too_long;
        unsigned generation;
        WdMap wds;
        WatcherWantFunc want; /* the owner's: watched whatever cfg.select says */
        void *want_userdata;
        WatcherPsiAdd psi_add;
        WatcherPsiDel psi_del;
        void *psi_userdata;
        bool scanning;       /* initial walk: no added/removed records */
        bool limit_reported; /* the max_cgroups warning, once per crossing */
        bool psi_reported;   /* PSI trouble, reported once */
        bool v1_reported;    /* a refused cgroup v1 registration, reported once */
        bool watch_limit_reported;
        bool fd_limit_reported;
        bool has_memory_controller;
        bool psi_supported;
        uint64_t n_inotify_events, n_overflows, n_records, n_dropped_cgroups, scan_usec;
        char path[PATH_MAX]; /* a record's cgroup path */
        char rel[PATH_MAX];  /* a file's path relative to root_fd */
        char abs[PATH_MAX];  /* an absolute path, for inotify_add_watch */
        char text[8192];
        _Alignas(struct inotify_event) char ibuf[16384];
};

/* Room kept after every cgroup path for "/" and the longest file name the
 * watcher opens ("memory.soft_limit_in_bytes", "cgroup.subtree_control"). */
#define CGROUP_FILE_NAME_ROOM     32
#define REFUSAL_WARNINGS_PER_PASS 4
/* Deeper than this is never modelled, whatever the configuration: the path
 * bound alone would allow about 2,000 levels of one-letter names. */
#define WATCHER_MAX_DEPTH_LIMIT 1024

/* A fd registered through the owner's hooks is named by a key: the cgroup's
 * serial and slot, and what the fd is (bits 28-31 of the low half). */
#define KEY_KIND_SHIFT 28
#define KEY_SLOT_MASK  ((1U << KEY_KIND_SHIFT) - 1)
enum {
        KEY_PSI = 0,
        KEY_V1 = 1, /* + V1Fd */
};

static inline uint64_t watcher_key(const Cgroup *c, unsigned kind)
{
        return ((uint64_t)c->serial << 32) | ((uint32_t)kind << KEY_KIND_SHIFT) | c->slot;
}

void watcher_emit(Watcher *w, Record *r, const Cgroup *c);
void watcher_emit_warning(Watcher *w, const Cgroup *c, int error, const char *message);
void watcher_fd_trouble(Watcher *w, const Cgroup *c, int error);
/* "a/b/file" for a cgroup's file relative to the root; NULL if too long. */
const char *watcher_relpath(Watcher *w, const Cgroup *c, const char *file);
int watcher_cg_open(Watcher *w, const Cgroup *c, const char *file, int flags);
/* Read a small attribute file of c into w->text. */
int watcher_read_attr(Watcher *w, const Cgroup *c, const char *file, size_t *ret_len);
void watcher_arm_psi(Watcher *w, Cgroup *c);

void watcher_disarm_psi(Watcher *w, Cgroup *c);
int watcher_add_watch(Watcher *w, const Cgroup *c, const char *file, uint32_t mask); /* wd or -errno */
void watcher_rm_watch(Watcher *w, int *wd);
void watcher_attach(Watcher *w, Cgroup *c);        /* watched from now: the backend's and PSI */
void watcher_detach(Watcher *w, Cgroup *c);        /* and no longer */
void watcher_evaluate(Watcher *w, Cgroup *c);      /* attach or detach, as the selection says */
void watcher_handle_limits(Watcher *w, Cgroup *c); /* re-read; a limits record if they changed */

/* watcher-tree.c */
/* Add one cgroup (not its children): NULL if it vanished, is out of bounds
 * or cannot be watched; the reason has been reported where a user needs it. */
Cgroup *watcher_add_cgroup(Watcher *w, Cgroup *parent, const char *name);
void watcher_remove_cgroup(Watcher *w, Cgroup *top); /* and its subtree, children first */
void watcher_scan_tree(Watcher *w, Cgroup *top);     /* the subtree in line with the file system */
Cgroup *watcher_find_child(const Cgroup *parent, const char *name, size_t len);
void watcher_resolve_names(Watcher *w, const Cgroup *c); /* pod and container names, if still unknown */

void watcher_refuse_full(Watcher *w, Cgroup *parent); /* children of parent dropped: no room */
void watcher_refill(Watcher *w);                      /* look for them again */
void watcher_resolve_waiting(Watcher *w);             /* names of every cgroup still without */
/* c is a container of the pod named pod in namespace ns (its pod's names known). */
bool watcher_container_of_pod(const Cgroup *c, const char *pod, const char *ns);

/* watcher-logs.c */
void watcher_logs_init(Watcher *w);
/* Watch the log directories that are not yet watched (their parent while
 * they are missing). true if one is watched from now: the caller looks up
 * what is waiting (watcher_resolve_waiting), entries may predate the watch. */
bool watcher_logs_arm(Watcher *w);
/* An inotify event on a log directory or its parent: 1 if it was one (handled). */
int watcher_logs_event(Watcher *w, const struct inotify_event *e);
void watcher_mark_named(Watcher *w, Cgroup *c); /* c's names were just filled in: identity due */
void watcher_names_told(Watcher *w, Cgroup *c); /* a record carried them: not due */
/* Identity records for every cgroup with names_new; at the end of each entry point. */
void watcher_flush_identity(Watcher *w);

/* watcher-v1.c */
void watcher_v1_detach(Watcher *w, Cgroup *c); /* every eventfd, requested ones too */
#define WATCHER_V1_RECHECK_TRIES 20
