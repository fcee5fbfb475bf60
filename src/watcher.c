/* SPDX-License-Identifier: MIT */
#include "watcher-internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "macro.h"
#include "wdmap.h"

WatchSelect watch_select_from_string(const char *s)
{
        if (s && strcmp(s, "limited") == 0)
                return WATCH_SELECT_LIMITED;
        if (s && strcmp(s, "all") == 0)
                return WATCH_SELECT_ALL;
        return _WATCH_SELECT_INVALID;
}

void watcher_emit(Watcher *w, Record *r, const Cgroup *c)
{
        r->mono_usec = now_usec(CLOCK_MONOTONIC);
        r->real_usec = now_usec(CLOCK_REALTIME);
        r->cgroup = c;
        if (c && !r->path)
                r->path = cgroup_path(c, w->path, sizeof(w->path)) >= 0 ? w->path : NULL;
        if (c) {
                ((Cgroup *)c)->last_event_usec = r->mono_usec;
                /* Names still unknown are looked up on the rare records (appearance,
                 * limits, populated/frozen), never per memory or PSI event: a pod
                 * whose log directory never shows up must not cost a directory scan
                 * on every event. Not for a cgroup on its way out. */
                if (r->type != RECORD_MEMORY_EVENTS && r->type != RECORD_PSI &&
                    r->type != RECORD_PRESSURE_LEVEL && r->type != RECORD_USAGE_THRESHOLD &&
                    r->type != RECORD_CGROUP_REMOVED) {
                        watcher_resolve_names(w, c);
                        /* It binds with the names it carries: no identity record. */
                        if (r->type == RECORD_CGROUP_ADDED)
                                watcher_names_told(w, (Cgroup *)c);
                }
        }
        w->n_records++;
        if (w->emit)
                w->emit(w, r, w->userdata);
}

void watcher_emit_warning(Watcher *w, const Cgroup *c, int error, const char *message)
{
        Record r = record_init(RECORD_WARNING);
        r.message = message;
        r.error = error;
        watcher_emit(w, &r, c);
}

void watcher_warn(Watcher *w, int error, const char *message)
{
        watcher_emit_warning(w, NULL, error, message);
}

/* "file" for the root; the cgroup directory itself when file is NULL. */
const char *watcher_relpath(Watcher *w, const Cgroup *c, const char *file)
{
        int n;

        if (cgroup_path(c, w->rel, sizeof(w->rel)) < 0)
                return NULL;
        if (!c->parent)
                n = snprintf(w->rel, sizeof(w->rel), "%s", file ? file : ".");
        else if (file) {
                size_t len = strlen(w->rel);
                n = snprintf(w->rel + len, sizeof(w->rel) - len, "/%s", file);
                n += (int)len;
        } else
                n = (int)strlen(w->rel);
        if (n < 0 || (size_t)n >= sizeof(w->rel))
                return NULL;
        /* Drop the leading '/' of the cgroup path. */
        return c->parent ? w->rel + 1 : w->rel;
}

int watcher_cg_open(Watcher *w, const Cgroup *c, const char *file, int flags)
{
        const char *rel = watcher_relpath(w, c, file);
        int fd;

        if (!rel)
                return -ENAMETOOLONG;
        fd = openat(w->root_fd, rel, flags | O_CLOEXEC | O_NOCTTY);
        return fd < 0 ? -errno : fd;
}

void watcher_fd_trouble(Watcher *w, const Cgroup *c, int error)
{
        if ((error == -EMFILE || error == -ENFILE) && !w->fd_limit_reported) {
                w->fd_limit_reported = true;
                watcher_emit_warning(w, c, error,
                                     "out of file descriptors (RLIMIT_NOFILE): cgroups are left unwatched");
        }
}

int watcher_add_watch(Watcher *w, const Cgroup *c, const char *file, uint32_t mask)
{
        const char *rel = watcher_relpath(w, c, file);
        int n, wd;

        if (!rel)
                return -ENAMETOOLONG;
        n = snprintf(w->abs, sizeof(w->abs), "%s/%s", w->cfg.root, rel);
        if (n < 0 || (size_t)n >= sizeof(w->abs))
                return -ENAMETOOLONG;
        wd = inotify_add_watch(w->inotify_fd, w->abs, mask);
        if (wd < 0) {
                if (errno == ENOSPC && !w->watch_limit_reported) {
                        w->watch_limit_reported = true;
                        watcher_emit_warning(
                                w, NULL, -ENOSPC,
                                "inotify watch limit reached: raise fs.inotify.max_user_watches; "
                                "new cgroups are not watched until then");
                }
                return -errno;
        }
        return wd;
}

void watcher_rm_watch(Watcher *w, int *wd)
{
        if (*wd < 0)
                return;
        wdmap_remove(&w->wds, *wd);
        (void)inotify_rm_watch(w->inotify_fd, *wd); /* EINVAL when the kernel already dropped it */
        *wd = -1;
}

void watcher_disarm_psi(Watcher *w, Cgroup *c)
{
        if (c->psi_fd < 0)
                return;
        w->psi_del(w->psi_userdata, c->psi_fd, c->psi_handle);
        c->psi_handle = NULL;
        c->psi_fd = safe_close(c->psi_fd);
        w->n_psi--;
}

void watcher_detach(Watcher *w, Cgroup *c)
{
        if (!c->watched)
                return;
        watcher_disarm_psi(w, c);
        w->be->detach(w, c);
        c->watched = false;
        w->n_watched--;
}

void watcher_arm_psi(Watcher *w, Cgroup *c)
{
        int fd;

        if (!w->cfg.psi || !w->psi_supported || w->psi_root_fd < 0 || c->psi_fd >= 0)
                return;
        const char *rel = watcher_relpath(w, c, "memory.pressure");
        if (!rel)
                return;
        fd = psi_trigger_open(w->psi_root_fd, rel, w->cfg.psi_type, w->cfg.psi_stall_usec,
                              w->cfg.psi_window_usec);
        if (fd == -ENOENT || fd == -ENODEV)
                return; /* gone, or pressure off here (cgroup.pressure 0) */
        if (fd == -EMFILE || fd == -ENFILE) {
                watcher_fd_trouble(w, c, fd);
                return;
        }
        if (fd < 0) {
                if (!w->psi_reported) {
                        w->psi_reported = true;
                        watcher_emit_warning(
                                w, c, fd,
                                fd == -EINVAL ? "the kernel refused the PSI trigger (window or threshold); "
                                                "PSI is not watched"
                                              : "cannot arm a PSI trigger on memory.pressure");
                }
                return;
        }
        if (w->psi_add(w->psi_userdata, fd, watcher_key(c, KEY_PSI), &c->psi_handle) < 0) {
                /* EPERM: not a pollable pressure file (a test's fake tree). */
                close(fd);
                return;
        }
        c->psi_fd = fd;
        w->n_psi++;
        size_t len;
        if (cg_pread_all(fd, w->text, sizeof(w->text), &len) >= 0)
                (void)psi_parse(w->text, len, &c->psi);
}

/* Read a small attribute file of c into w->text. */
int watcher_read_attr(Watcher *w, const Cgroup *c, const char *file, size_t *ret_len)
{
        const char *rel = watcher_relpath(w, c, file);

        if (!rel)
                return -ENAMETOOLONG;
        return cg_read_file(w->root_fd, rel, w->text, sizeof(w->text), ret_len);
}

void watcher_attach(Watcher *w, Cgroup *c)
{
        if (c->watched)
                return;
        c->watched = true;
        w->n_watched++;
        w->be->attach(w, c);
        watcher_arm_psi(w, c);
}

static bool want_watched(Watcher *w, const Cgroup *c)
{
        if (w->cfg.select == WATCH_SELECT_ALL)
                return true;
        /* What a policy matches is watched, whatever the selection: a policy
         * must not depend on a daemon flag to see the cgroups it names. */
        if (w->want && w->want(w->want_userdata, c))
                return true;
        switch (c->kind) {
        case CGROUP_KIND_ROOT:
        case CGROUP_KIND_SLICE:
        case CGROUP_KIND_POD:
                return true;
        default:
                return c->high != UINT64_MAX || c->max != UINT64_MAX;
        }
}

void watcher_evaluate(Watcher *w, Cgroup *c)
{
        if (want_watched(w, c))
                watcher_attach(w, c);
        else
                watcher_detach(w, c);
}

/* Default PSI registration: the watcher's own epoll fd, drained by
 * watcher_process_psi(). Owners with an event loop register each PSI fd in
 * it directly instead (watcher_set_psi_hooks): a PSI fd must not sit in an
 * epoll set that is itself polled, because polling a PSI trigger consumes its
 * event and the outer poll would eat it. */
static int epoll_psi_add(void *userdata, int fd, uint64_t key, void **ret_handle)
{
        Watcher *w = userdata;
        struct epoll_event ev = { .events = EPOLLPRI, .data.u64 = key };

        *ret_handle = NULL;
        return epoll_ctl(w->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static void epoll_psi_del(void *userdata, int fd, void *handle)
{
        Watcher *w = userdata;

        (void)handle;
        (void)epoll_ctl(w->epoll_fd, EPOLL_CTL_DEL, fd, NULL);
}

void watcher_set_want(Watcher *w, WatcherWantFunc want, void *userdata)
{
        w->want = want;
        w->want_userdata = userdata;
}

void watcher_reevaluate(Watcher *w)
{
        for (unsigned i = 0; i < w->n_slots; i++)
                if (w->slots[i])
                        watcher_evaluate(w, w->slots[i]);
}

void watcher_set_psi_hooks(Watcher *w, WatcherPsiAdd add, WatcherPsiDel del, void *userdata)
{
        w->psi_add = add;
        w->psi_del = del;
        w->psi_userdata = userdata;
}

int watcher_new(const WatcherConfig *cfg, WatcherEmitFunc emit_func, void *userdata, Watcher **ret)
{
        Watcher *w;
        int r;

        w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        w->cfg = *cfg;
        w->be = cfg->v1 ? &watch_backend_v1 : &watch_backend_v2;
        w->emit = emit_func;
        w->userdata = userdata;
        w->epoll_fd = -1;
        w->root_fd = w->psi_root_fd = -1;
        w->kubepods_root_len = cfg->kubepods_root ? strlen(cfg->kubepods_root) : 0;
        while (w->kubepods_root_len > 1 && cfg->kubepods_root[w->kubepods_root_len - 1] == '/')
                w->kubepods_root_len--; /* as cgroup_is_kubepods_root() does */
        w->max_depth = cfg->max_depth ? cfg->max_depth : WATCHER_MAX_DEPTH_DEFAULT;
        if (w->max_depth > WATCHER_MAX_DEPTH_LIMIT)
                w->max_depth = WATCHER_MAX_DEPTH_LIMIT;
        /* Room for the root's own path and a file name after every cgroup path. */
        size_t root_len = cfg->root ? strlen(cfg->root) : 0;
        w->path_max = root_len + CGROUP_FILE_NAME_ROOM < PATH_MAX
                              ? PATH_MAX - 1 - root_len - CGROUP_FILE_NAME_ROOM
                              : 0;
        /* The slot shares a key's low half with the fd's kind. */
        if (w->cfg.max_cgroups > KEY_SLOT_MASK)
                w->cfg.max_cgroups = KEY_SLOT_MASK;
        watcher_logs_init(w);
        watcher_set_psi_hooks(w, epoll_psi_add, epoll_psi_del, w);
        w->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (w->inotify_fd < 0) {
                r = -errno;
                goto fail;
        }
        w->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
        if (w->epoll_fd < 0) {
                r = -errno;
                goto fail;
        }
        r = wdmap_init(&w->wds, 256);
        if (r < 0)
                goto fail;
        *ret = w;
        return 0;
fail:
        watcher_free(w);
        return r;
}

Watcher *watcher_free(Watcher *w)
{
        if (!w)
                return NULL;
        w->scanning = true; /* no records while tearing down */
        if (w->root)
                watcher_remove_cgroup(w, w->root);
        safe_close(w->inotify_fd);
        safe_close(w->epoll_fd);
        if (w->psi_root_fd != w->root_fd)
                safe_close(w->psi_root_fd);
        safe_close(w->root_fd);
        wdmap_done(&w->wds);
        free(w->slots);
        free(w);
        return NULL;
}

static void probe_psi(Watcher *w)
{
        int fd;

        /* PSI may be compiled out or disabled (psi=0): the pressure files are
         * then absent, or fail to open with EOPNOTSUPP. */
        fd = open("/proc/pressure/memory", O_RDONLY | O_CLOEXEC);
        if (fd < 0 && w->psi_root_fd >= 0)
                fd = openat(w->psi_root_fd, "memory.pressure", O_RDONLY | O_CLOEXEC);
        w->psi_supported = fd >= 0;
        safe_close(fd);
}

int watcher_scan(Watcher *w)
{
        char msg[256];

        if (w->root)
                return -EBUSY;
        uint64_t t0 = now_usec(CLOCK_MONOTONIC);
        w->root_fd = open(w->cfg.root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (w->root_fd < 0)
                return -errno;
        w->be->open_psi_root(w);
        w->scanning = true;
        w->pass_warnings = 0;
        w->root = watcher_add_cgroup(w, NULL, w->cfg.root);
        if (!w->root) {
                w->scanning = false;
                return access(w->cfg.root, F_OK) < 0 ? -errno : -EIO;
        }
        probe_psi(w);
        w->has_memory_controller = w->be->probe_memory(w);
        /* The root was added before PSI was probed: give it its trigger now. */
        if (w->root->watched && w->root->psi_fd < 0)
                watcher_arm_psi(w, w->root);
        watcher_scan_tree(w, w->root);
        /* After the walk: the names of what it found are looked up below,
         * whatever appears in the directories from now on is seen. */
        (void)watcher_logs_arm(w);
        watcher_resolve_waiting(w);
        w->scanning = false;
        w->scan_usec = now_usec(CLOCK_MONOTONIC) - t0;

        w->be->describe(w, msg, sizeof(msg));
        Record rec = record_init(RECORD_STARTED);
        rec.message = msg;
        rec.duration_usec = w->scan_usec;
        watcher_emit(w, &rec, w->root);
        return 0;
}

int watcher_inotify_fd(const Watcher *w)
{
        return w->inotify_fd;
}

int watcher_psi_fd(const Watcher *w)
{
        return w->epoll_fd;
}

uint64_t watcher_read_current(Watcher *w, const Cgroup *c)
{
        const char *rel = watcher_relpath(w, c, w->be->current_file);
        uint64_t v = UINT64_MAX;

        if (rel)
                (void)cg_read_u64(w->root_fd, rel, &v);
        return v;
}

uint64_t watcher_read_psi_some(Watcher *w, const Cgroup *c)
{
        const char *rel = watcher_relpath(w, c, "memory.pressure");
        PsiStats st;
        size_t len;

        if (!rel || w->psi_root_fd < 0 ||
            cg_read_file(w->psi_root_fd, rel, w->text, sizeof(w->text), &len) < 0 ||
            psi_parse(w->text, len, &st) < 0)
                return UINT64_MAX;
        return st.some.total_usec;
}

void watcher_handle_limits(Watcher *w, Cgroup *c)
{
        uint64_t old_high = c->high, old_max = c->max;

        w->be->read_limits(w, c);
        if (c->high == old_high && c->max == old_max)
                return;
        Record r = record_init(RECORD_LIMITS);
        r.old_high = old_high;
        r.old_max = old_max;
        /* Watch (or stop) first: whoever reads the record sees the cgroup as it now is. */
        watcher_evaluate(w, c);
        watcher_emit(w, &r, c);
}

static void rescan(Watcher *w)
{
        Record r = record_init(RECORD_RESCAN);
        r.message = "rescanned the hierarchy";
        uint64_t t0 = now_usec(CLOCK_MONOTONIC);

        w->pass_warnings = 0;
        watcher_scan_tree(w, w->root);
        r.duration_usec = now_usec(CLOCK_MONOTONIC) - t0;
        watcher_emit(w, &r, w->root);
        /* Notifications may have been lost, counters never are: re-read all. */
        for (unsigned i = 0; i < w->n_slots; i++) {
                Cgroup *c = w->slots[i];
                if (!c)
                        continue;
                watcher_handle_limits(w, c);
                w->be->refresh(w, c);
        }
        /* Entries of the log directories may have been missed as well. */
        (void)watcher_logs_arm(w);
        watcher_resolve_waiting(w);
        watcher_flush_identity(w);
}

int watcher_rescan(Watcher *w)
{
        if (!w->root)
                return -ENOENT;
        rescan(w);
        return 0;
}

static void handle_dir_event(Watcher *w, Cgroup *c, const struct inotify_event *e)
{
        if (e->mask & (IN_DELETE_SELF | IN_IGNORED)) {
                if (c != w->root)
                        watcher_remove_cgroup(w, c);
                else if (e->mask & IN_DELETE_SELF)
                        watcher_emit_warning(w, c, -ENODEV, "the cgroup root went away");
                return;
        }
        if (e->len == 0)
                return;
        if (e->mask & IN_ISDIR) {
                if (e->mask & (IN_CREATE | IN_MOVED_TO)) {
                        Cgroup *child = watcher_find_child(c, e->name, strlen(e->name));
                        if (!child)
                                child = watcher_add_cgroup(w, c, e->name);
                        /* Subdirectories made before our watch was in place. */
                        if (child)
                                watcher_scan_tree(w, child);
                } else if (e->mask & (IN_DELETE | IN_MOVED_FROM)) {
                        Cgroup *child = watcher_find_child(c, e->name, strlen(e->name));
                        if (child)
                                watcher_remove_cgroup(w, child);
                }
                return;
        }
        if (e->mask & IN_MODIFY)
                w->be->dir_file_modified(w, c, e->name);
}

static void handle_inotify_event(Watcher *w, const struct inotify_event *e)
{
        WdEntry *ent;
        Cgroup *c;

        w->n_inotify_events++;
        if (e->mask & IN_Q_OVERFLOW) {
                /* Events were lost: the tree and the counters are re-read. */
                w->n_overflows++;
                rescan(w);
                return;
        }
        /* A log directory's (a cgroup's too, if someone put it in the tree). */
        (void)watcher_logs_event(w, e);
        ent = wdmap_get(&w->wds, e->wd);
        if (!ent)
                return; /* IN_IGNORED of a watch we removed */
        c = w->slots[ent->slot];
        switch ((WdKind)ent->kind) {
        case WD_DIR:
                handle_dir_event(w, c, e);
                break;
        default:
                if (w->be->file_event)
                        w->be->file_event(w, c, (WdKind)ent->kind, e->wd, e->mask);
                break;
        }
}

int watcher_process_inotify(Watcher *w)
{
        int handled = 0;

        w->pass_warnings = 0;
        for (;;) {
                ssize_t n = read(w->inotify_fd, w->ibuf, sizeof(w->ibuf));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        int r = errno == EAGAIN ? handled : -errno;
                        /* What the events taught about names, as identity records. */
                        watcher_flush_identity(w);
                        return r;
                }
                for (char *p = w->ibuf; p < w->ibuf + n;) {
                        const struct inotify_event *e = (const struct inotify_event *)p;
                        p += sizeof(*e) + e->len;
                        handle_inotify_event(w, e);
                        handled++;
                }
        }
}

static Cgroup *cgroup_by_key(Watcher *w, uint64_t key)
{
        uint32_t slot = (uint32_t)key & KEY_SLOT_MASK, serial = (uint32_t)(key >> 32);

        if (slot >= w->n_slots || !w->slots[slot] || w->slots[slot]->serial != serial)
                return NULL;
        return w->slots[slot];
}

int watcher_handle_psi(Watcher *w, uint64_t key, uint32_t revents)
{
        Cgroup *c = cgroup_by_key(w, key);
        unsigned kind = (uint32_t)key >> KEY_KIND_SHIFT;
        size_t len;

        if (c && kind != KEY_PSI)
                return w->be->handle_key ? w->be->handle_key(w, c, kind, revents) : 0;
        if (!c || kind != KEY_PSI || c->psi_fd < 0)
                return 0;
        if (revents & EPOLLERR) {
                /* The cgroup is being removed; inotify tells the rest. */
                watcher_disarm_psi(w, c);
                return 0;
        }
        if (!(revents & EPOLLPRI))
                return 0;
        if (cg_pread_all(c->psi_fd, w->text, sizeof(w->text), &len) < 0 ||
            psi_parse(w->text, len, &c->psi) < 0)
                return 0;
        c->n_psi_events++;
        Record r = record_init(RECORD_PSI);
        r.current = watcher_read_current(w, c);
        watcher_emit(w, &r, c);
        return 1;
}

int watcher_process_psi(Watcher *w)
{
        int handled = 0;

        /* One at a time: handling one event may remove other cgroups. */
        for (;;) {
                struct epoll_event ev;
                int n = epoll_wait(w->epoll_fd, &ev, 1, 0);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0) {
                        watcher_flush_identity(w);
                        return handled;
                }
                handled++;
                (void)watcher_handle_psi(w, ev.data.u64, ev.events);
        }
}

void watcher_get_stats(const Watcher *w, WatcherStats *ret)
{
        *ret = (WatcherStats){
                .n_cgroups = w->n_cgroups,
                .n_watched = w->n_watched,
                .n_psi = w->n_psi,
                .n_v1_fds = w->n_v1_fds,
                .v1 = w->cfg.v1,
                .n_inotify_events = w->n_inotify_events,
                .n_overflows = w->n_overflows,
                .n_records = w->n_records,
                .n_dropped_cgroups = w->n_dropped_cgroups,
                .n_too_deep = w->n_too_deep,
                .n_path_too_long = w->n_path_too_long,
                .scan_usec = w->scan_usec,
                .has_memory_controller = w->has_memory_controller,
                .psi_supported = w->psi_supported,
        };
}

unsigned watcher_n_slots(const Watcher *w)
{
        return w->n_slots;
}

const Cgroup *watcher_slot(const Watcher *w, unsigned i)
{
        return i < w->n_slots ? w->slots[i] : NULL;
}

static uint64_t earliest(uint64_t a, uint64_t b)
{
        return a == 0 ? b : b == 0 ? a : a < b ? a : b;
}

uint64_t watcher_next_usec(const Watcher *w)
{
        uint64_t t = w->be->next_usec ? w->be->next_usec(w) : 0;

        t = earliest(t, w->refill_usec);
        if (w->n_names_new > 0)
                t = earliest(t, now_usec(CLOCK_MONOTONIC));
        return t;
}

void watcher_tick(Watcher *w, uint64_t now)
{
        if (w->be->tick)
                w->be->tick(w, now);
        if (w->refill_usec != 0 && now >= w->refill_usec)
                watcher_refill(w);
        watcher_flush_identity(w);
}
