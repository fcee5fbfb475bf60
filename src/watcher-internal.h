/* SPDX-License-Identifier: MIT */
#pragma once

/* The watcher's insides, shared by watcher.c and watcher-v1.c (the cgroup v1
 * memory notifications). Not for other users. */

#include <limits.h>
#include <sys/inotify.h>

#include "watcher.h"
#include "wdmap.h"

#define DIR_MASK                                                                                            \
        (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_MODIFY | IN_DELETE_SELF | IN_ONLYDIR |    \
         IN_EXCL_UNLINK)

struct Watcher {
        WatcherConfig cfg;
        WatcherEmitFunc emit;
        void *userdata;
        int inotify_fd, epoll_fd, pod_log_fd, container_log_fd;
        int root_fd;     /* O_PATH: every cgroup file is opened relative to it */
        int psi_root_fd; /* where memory.pressure is: root_fd, v1: the unified hierarchy's or -1 */
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

/* watcher-v1.c */
int watcher_v1_alloc(Cgroup *c);
void watcher_v1_attach(Watcher *w, Cgroup *c);
void watcher_v1_detach(Watcher *w, Cgroup *c); /* every eventfd, requested ones too */
void watcher_v1_read_limits(Watcher *w, Cgroup *c);
void watcher_v1_refresh(Watcher *w, Cgroup *c); /* counters re-read; memory_events record if any grew */
void watcher_v1_handle(Watcher *w, Cgroup *c, V1Fd which, uint32_t revents);
bool watcher_v1_limit_file(const char *name);
void watcher_v1_tick(Watcher *w, uint64_t now); /* the oom_kill re-reads that are due */
#define WATCHER_V1_RECHECK_TRIES 20
