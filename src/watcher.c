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

const char *watch_select_to_string(WatchSelect s)
{
        return s == WATCH_SELECT_LIMITED ? "limited" : s == WATCH_SELECT_ALL ? "all" : NULL;
}

WatchSelect watch_select_from_string(const char *s)
{
        if (s && strcmp(s, "limited") == 0)
                return WATCH_SELECT_LIMITED;
        if (s && strcmp(s, "all") == 0)
                return WATCH_SELECT_ALL;
        return _WATCH_SELECT_INVALID;
}

int cgroup_path(const Cgroup *c, char *buf, size_t size)
{
        size_t len = 0;

        if (size < 2)
                return -ENAMETOOLONG;
        if (!c->parent) {
                strcpy(buf, "/");
                return 0;
        }
        /* Measure, then fill from the end. */
        for (const Cgroup *p = c; p->parent; p = p->parent)
                len += 1 + p->name_len;
        if (len + 1 > size)
                return -ENAMETOOLONG;
        buf[len] = '\0';
        for (const Cgroup *p = c; p->parent; p = p->parent) {
                len -= p->name_len;
                memcpy(buf + len, p->name, p->name_len);
                buf[--len] = '/';
        }
        return 0;
}

const Cgroup *cgroup_pod(const Cgroup *c)
{
        for (; c; c = c->parent)
                if (c->kind == CGROUP_KIND_POD)
                        return c;
                else if (c->kind != CGROUP_KIND_CONTAINER)
                        return NULL;
        return NULL;
}

static void resolve_container(Watcher *w, Cgroup *c)
{
        char id[72];

        if (!c->container_name || c->container_name[0] || !w->cfg.container_log_dir)
                return;
        if (w->container_log_fd < 0)
                w->container_log_fd = open(w->cfg.container_log_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (w->container_log_fd < 0 || container_id_from_name(c->name, id, sizeof(id)) < 0)
                return;
        (void)container_log_lookup(w->container_log_fd, id, c->container_name);
}

static void resolve_pod(Watcher *w, Cgroup *pod)
{
        char uid[40];

        if (!pod || !pod->pod_namespace || pod->pod_namespace[0] || !w->cfg.pod_log_dir)
                return;
        /* kubelet may start after us: open the directory once it exists. */
        if (w->pod_log_fd < 0)
                w->pod_log_fd = open(w->cfg.pod_log_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (w->pod_log_fd < 0)
                return;
        if (pod_uid_from_name(pod->name, uid, sizeof(uid)) < 0)
                return;
        (void)pod_log_lookup(w->pod_log_fd, uid, pod->pod_namespace, pod->pod_name);
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
                 * on every event. */
                if (r->type != RECORD_MEMORY_EVENTS && r->type != RECORD_PSI &&
                    r->type != RECORD_PRESSURE_LEVEL && r->type != RECORD_USAGE_THRESHOLD) {
                        resolve_pod(w, (Cgroup *)cgroup_pod(c));
                        resolve_container(w, (Cgroup *)c);
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

static int add_watch(Watcher *w, const Cgroup *c, const char *file, uint32_t mask)
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

static void rm_watch(Watcher *w, int *wd)
{
        if (*wd < 0)
                return;
        wdmap_remove(&w->wds, *wd);
        (void)inotify_rm_watch(w->inotify_fd, *wd); /* EINVAL when the kernel already dropped it */
        *wd = -1;
}

static void disarm_psi(Watcher *w, Cgroup *c)
{
        if (c->psi_fd < 0)
                return;
        w->psi_del(w->psi_userdata, c->psi_fd, c->psi_handle);
        c->psi_handle = NULL;
        c->psi_fd = safe_close(c->psi_fd);
        w->n_psi--;
}

static void detach(Watcher *w, Cgroup *c)
{
        if (!c->watched)
                return;
        rm_watch(w, &c->wd_events);
        rm_watch(w, &c->wd_cgevents);
        disarm_psi(w, c);
        if (c->v1)
                watcher_v1_detach(w, c);
        c->events_fd = safe_close(c->events_fd);
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

static int read_events(Watcher *w, int fd, MemEvents *ret)
{
        size_t len;
        int r;

        r = cg_pread_all(fd, w->text, sizeof(w->text), &len);
        if (r < 0)
                return r;
        return memevents_parse(w->text, len, ret);
}

/* Read a small attribute file of c into w->text. */
int watcher_read_attr(Watcher *w, const Cgroup *c, const char *file, size_t *ret_len)
{
        const char *rel = watcher_relpath(w, c, file);

        if (!rel)
                return -ENAMETOOLONG;
        return cg_read_file(w->root_fd, rel, w->text, sizeof(w->text), ret_len);
}

static void attach(Watcher *w, Cgroup *c)
{
        size_t len;
        int fd;

        if (c->watched)
                return;
        c->watched = true;
        w->n_watched++;
        if (c->v1) {
                watcher_v1_attach(w, c);
                watcher_arm_psi(w, c);
                return;
        }

        /* memory.events is kept open: it is re-read on every notification.
         * The rest is opened when needed; the inotify watch on a file pins
         * its inode, which is what the kernel's notification needs. */
        fd = watcher_cg_open(w, c, "memory.events", O_RDONLY);
        if (fd >= 0) {
                c->events_fd = fd;
                c->has_memory = true;
                (void)read_events(w, fd, &c->events);
                fd = add_watch(w, c, "memory.events", IN_MODIFY);
                if (fd >= 0 && wdmap_put(&w->wds, fd, c->slot, WD_EVENTS) >= 0)
                        c->wd_events = fd;
                MemEvents local;
                if (watcher_read_attr(w, c, "memory.events.local", &len) >= 0 &&
                    memevents_parse(w->text, len, &local) >= 0)
                        memcpy(c->events_local, local.value, sizeof(c->events_local));
        } else
                watcher_fd_trouble(w, c, fd);
        if (watcher_read_attr(w, c, "cgroup.events", &len) >= 0) {
                (void)cgroup_events_parse(w->text, len, &c->cgevents);
                fd = add_watch(w, c, "cgroup.events", IN_MODIFY);
                if (fd >= 0 && wdmap_put(&w->wds, fd, c->slot, WD_CGEVENTS) >= 0)
                        c->wd_cgevents = fd;
        }
        watcher_arm_psi(w, c);
}

static bool want_watched(const Watcher *w, const Cgroup *c)
{
        if (w->cfg.select == WATCH_SELECT_ALL)
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

static void read_limits(Watcher *w, Cgroup *c)
{
        const char *rel;

        if (c->v1) {
                watcher_v1_read_limits(w, c);
                return;
        }
        rel = watcher_relpath(w, c, "memory.high");
        if (!rel || cg_read_limit(w->root_fd, rel, &c->high) < 0)
                c->high = UINT64_MAX;
        rel = watcher_relpath(w, c, "memory.max");
        /* No memory.max: the memory controller is not enabled here. */
        c->has_memory = rel && cg_read_limit(w->root_fd, rel, &c->max) >= 0;
        if (!c->has_memory)
                c->max = UINT64_MAX;
}

static void evaluate(Watcher *w, Cgroup *c)
{
        if (want_watched(w, c))
                attach(w, c);
        else
                detach(w, c);
}

static int slot_take(Watcher *w, Cgroup *c)
{
        /* Slots below free_hint are all taken. */
        for (unsigned i = w->free_hint; i < w->n_slots; i++)
                if (!w->slots[i]) {
                        w->free_hint = i + 1;
                        w->slots[i] = c;
                        c->slot = i;
                        return 0;
                }
        if (w->n_slots == w->slots_allocated) {
                unsigned n = w->slots_allocated ? w->slots_allocated * 2 : 64;
                Cgroup **s = realloc(w->slots, n * sizeof(Cgroup *));
                if (!s)
                        return -ENOMEM;
                w->slots = s;
                w->slots_allocated = n;
        }
        c->slot = w->n_slots;
        w->slots[w->n_slots++] = c;
        w->free_hint = w->n_slots;
        return 0;
}

static Cgroup *find_child(const Cgroup *parent, const char *name, size_t len)
{
        for (Cgroup *c = parent->first_child; c; c = c->next_sibling)
                if (c->name_len == len && memcmp(c->name, name, len) == 0)
                        return c;
        return NULL;
}

static void remove_cgroup(Watcher *w, Cgroup *c);
static void unlink_child(Cgroup *c);

void watcher_cgroup_identity(Watcher *w, const Cgroup *c, char *path_buf, size_t size, CgroupIdentity *ret)
{
        const Cgroup *pod = cgroup_pod(c);

        resolve_pod(w, (Cgroup *)pod);
        resolve_container(w, (Cgroup *)c);
        *ret = (CgroupIdentity){ .qos = _QOS_INVALID };
        ret->path = cgroup_path(c, path_buf, size) >= 0 ? path_buf : NULL;
        if (c->kind == CGROUP_KIND_SLICE || c->kind == CGROUP_KIND_SCOPE || c->kind == CGROUP_KIND_SERVICE)
                ret->unit = c->name;
        if (pod) {
                ret->namespace = pod->pod_namespace[0] ? pod->pod_namespace : NULL;
                ret->pod = pod->pod_name[0] ? pod->pod_name : NULL;
                ret->qos = qos_from_pod_parent(pod->parent ? pod->parent->name : NULL);
                /* A guaranteed pod sits right in the kubepods root, whatever its name. */
                if (ret->qos == _QOS_INVALID && pod->parent && pod->parent->kind == CGROUP_KIND_KUBEPODS &&
                    (!pod->parent->parent || pod->parent->parent->kind != CGROUP_KIND_KUBEPODS))
                        ret->qos = QOS_GUARANTEED;
        }
        if (c->container_name && c->container_name[0])
                ret->container = c->container_name;
}

/* Whether the child of parent named name would be the kubepods root. */
static bool child_is_kubepods_root(const Watcher *w, const Cgroup *parent, const char *name, size_t len)
{
        char path[PATH_MAX];
        size_t plen = parent->parent ? parent->path_len : 0;

        /* Only the default's two names, directly under the root, or a path of
         * the configured length: most cgroups need no path built. */
        if (!w->cfg.kubepods_root ? parent->parent != NULL : plen + 1 + len != w->kubepods_root_len)
                return false;
        if (plen + 1 + len >= sizeof(path) || cgroup_path(parent, path, sizeof(path)) < 0)
                return false;
        path[plen] = '/';
        memcpy(path + plen + 1, name, len);
        return cgroup_is_kubepods_root(w->cfg.kubepods_root, path, plen + 1 + len);
}

static Cgroup *cgroup_alloc(Watcher *w, Cgroup *parent, const char *name, size_t len)
{
        CgroupKind kind =
                parent ? cgroup_kind_from_name(parent->kind, child_is_kubepods_root(w, parent, name, len),
                                               name, len)
                       : CGROUP_KIND_ROOT;
        /* A pod gets room for its namespace and name now, so that learning
         * them later (kubelet makes the log directory) allocates nothing. */
        size_t extra = kind == CGROUP_KIND_POD         ? POD_NAMESPACE_MAX + POD_NAME_MAX
                       : kind == CGROUP_KIND_CONTAINER ? CONTAINER_NAME_MAX
                                                       : 0;
        Cgroup *c = calloc(1, sizeof(Cgroup) + len + 1 + extra);

        if (!c)
                return NULL;
        if (kind == CGROUP_KIND_POD) {
                c->pod_namespace = c->name + len + 1;
                c->pod_name = c->pod_namespace + POD_NAMESPACE_MAX;
        } else if (kind == CGROUP_KIND_CONTAINER)
                c->container_name = c->name + len + 1;
        if (w->cfg.v1 && watcher_v1_alloc(c) < 0) {
                free(c);
                return NULL;
        }
        c->parent = parent;
        c->wd_dir = c->wd_events = c->wd_cgevents = -1;
        c->events_fd = c->psi_fd = -1;
        c->serial = ++w->next_serial;
        c->generation = w->generation;
        c->kind = kind;
        c->name_len = (uint16_t)len;
        memcpy(c->name, name, len);
        /* Bounded by child_within_bounds(): at most PATH_MAX and max_depth. */
        c->depth = parent ? (uint16_t)(parent->depth + 1) : 0;
        c->path_len = (uint16_t)(!parent ? 1 : (parent->parent ? parent->path_len : 0) + 1 + len);
        return c;
}

/* A child of parent named len bytes is too deep or its path too long: it
 * and its subtree are not modelled. Said once per parent (a rescan meets the
 * same directories again) and at most a few times per pass: a tenant can
 * make as many such subtrees as it can make cgroups. */
static void refuse_child(Watcher *w, Cgroup *parent, uint8_t why)
{
        if (parent->refused & why)
                return;
        parent->refused |= why;
        if (why == CGROUP_REFUSED_DEPTH)
                w->n_too_deep++;
        else
                w->n_path_too_long++;
        if (w->pass_warnings >= REFUSAL_WARNINGS_PER_PASS)
                return;
        w->pass_warnings++;
        if (why == CGROUP_REFUSED_DEPTH)
                watcher_emit_warning(w, parent, -ELOOP,
                                     "cgroup tree deeper than the maximum depth (max_depth): the "
                                     "subdirectories of this cgroup are not watched");
        else
                watcher_emit_warning(w, parent, -ENAMETOOLONG,
                                     "cgroup path too long (PATH_MAX): subdirectories of this cgroup with "
                                     "such paths are not watched");
}

/* Whether a child of parent named len bytes may be modelled: its depth and
 * its path's length are bounded, so that every modelled cgroup's path, and
 * the path of each of its files, fits a PATH_MAX buffer. */
static bool child_within_bounds(Watcher *w, Cgroup *parent, size_t len)
{
        if (len == 0 || len > NAME_MAX)
                return false;
        if ((unsigned)parent->depth + 1 > w->max_depth) {
                refuse_child(w, parent, CGROUP_REFUSED_DEPTH);
                return false;
        }
        if ((parent->parent ? parent->path_len : 0) + 1 + len > w->path_max) {
                refuse_child(w, parent, CGROUP_REFUSED_PATH);
                return false;
        }
        return true;
}

/* Add one cgroup (not its children). NULL if it vanished or cannot be
 * watched; the reason has been reported where a user needs to know. */
static Cgroup *add_cgroup(Watcher *w, Cgroup *parent, const char *name)
{
        size_t len = parent ? strlen(name) : 0;
        Cgroup *c;
        int wd;

        if (parent && !child_within_bounds(w, parent, len))
                return NULL;
        if (w->n_cgroups >= w->cfg.max_cgroups) {
                w->n_dropped_cgroups++;
                if (!w->limit_reported) {
                        w->limit_reported = true;
                        watcher_emit_warning(
                                w, parent, -E2BIG,
                                "maximum number of cgroups reached (--max-cgroups): further cgroups are not "
                                "watched");
                }
                return NULL;
        }
        c = cgroup_alloc(w, parent, parent ? name : "", len);
        if (!c)
                return NULL;
        /* Linked first so that its path can be built; unlinked on failure. */
        if (parent) {
                c->next_sibling = parent->first_child;
                parent->first_child = c;
        }
        wd = add_watch(w, c, NULL, DIR_MASK);
        if (wd < 0 || slot_take(w, c) < 0) {
                /* ENOENT/ENOTDIR: it vanished before we got to it, normal. */
                if (wd >= 0)
                        (void)inotify_rm_watch(w->inotify_fd, wd);
                unlink_child(c);
                free(c);
                return NULL;
        }
        if (wdmap_put(&w->wds, wd, c->slot, WD_DIR) < 0) {
                (void)inotify_rm_watch(w->inotify_fd, wd);
                w->slots[c->slot] = NULL;
                if (c->slot < w->free_hint)
                        w->free_hint = c->slot;
                unlink_child(c);
                free(c);
                return NULL;
        }
        c->wd_dir = wd;
        w->n_cgroups++;
        read_limits(w, c);
        evaluate(w, c);
        if (!w->scanning) {
                Record r = record_init(RECORD_CGROUP_ADDED);
                watcher_emit(w, &r, c);
        }
        return c;
}

static void unlink_child(Cgroup *c)
{
        Cgroup **pp;

        if (!c->parent)
                return;
        for (pp = &c->parent->first_child; *pp; pp = &(*pp)->next_sibling)
                if (*pp == c) {
                        *pp = c->next_sibling;
                        break;
                }
}

static void remove_one(Watcher *w, Cgroup *c)
{
        if (!w->scanning) {
                Record r = record_init(RECORD_CGROUP_REMOVED);
                watcher_emit(w, &r, c);
        }
        detach(w, c);
        rm_watch(w, &c->wd_dir);
        unlink_child(c);
        w->slots[c->slot] = NULL;
        if (c->slot < w->free_hint)
                w->free_hint = c->slot;
        w->n_cgroups--;
        if (w->n_cgroups < w->cfg.max_cgroups)
                w->limit_reported = false;
        if (c == w->root)
                w->root = NULL;
        free(c->v1);
        free(c);
}

/* Children before parents (their records come first), without recursion. */
static void remove_cgroup(Watcher *w, Cgroup *top)
{
        for (Cgroup *c = top;;) {
                while (c->first_child)
                        c = c->first_child;
                Cgroup *parent = c->parent;
                bool done = c == top;
                remove_one(w, c);
                if (done)
                        return;
                c = parent;
        }
}

struct linux_dirent64 {
        uint64_t d_ino;
        int64_t d_off;
        unsigned short d_reclen;
        unsigned char d_type;
        char d_name[];
};

/* Bring c's children in line with the directory: add the missing ones, mark
 * the present ones, drop the ones that went away. */
static void scan_children(Watcher *w, Cgroup *c)
{
        _cleanup_close_ int fd = -1;
        unsigned gen = ++w->generation;

        fd = watcher_cg_open(w, c, NULL, O_RDONLY | O_DIRECTORY);
        if (fd < 0) {
                watcher_fd_trouble(w, c, fd);
                return;
        }
        for (;;) {
                _Alignas(struct linux_dirent64) char buf[4096];
                long n = syscall(SYS_getdents64, fd, buf, sizeof(buf));
                if (n <= 0)
                        break;
                for (long off = 0; off < n;) {
                        struct linux_dirent64 *d = (struct linux_dirent64 *)(buf + off);
                        off += d->d_reclen;
                        if (d->d_type != DT_DIR || strcmp(d->d_name, ".") == 0 ||
                            strcmp(d->d_name, "..") == 0)
                                continue;
                        Cgroup *child = find_child(c, d->d_name, strlen(d->d_name));
                        if (!child)
                                child = add_cgroup(w, c, d->d_name);
                        if (child)
                                child->generation = gen;
                }
        }
        for (Cgroup *child = c->first_child, *next; child; child = next) {
                next = child->next_sibling;
                if (child->generation != gen)
                        remove_cgroup(w, child);
        }
}

/* Pre-order successor of c within the subtree of top, by the tree's own
 * links: no recursion, no stack that a deep tree could grow. */
static Cgroup *walk_next(Cgroup *c, const Cgroup *top)
{
        if (c->first_child)
                return c->first_child;
        for (; c != top; c = c->parent)
                if (c->next_sibling)
                        return c->next_sibling;
        return NULL;
}

/* Bring the subtree of top in line with the file system. Used for the first
 * walk, for new directories (whose children may predate our watch) and for
 * the rescan after an inotify overflow. Iterative: a tenant with a delegated
 * subtree can make it thousands of levels deep, and only the bounds of
 * add_cgroup() (max_depth, path length) limit what is modelled. */
static void scan(Watcher *w, Cgroup *top)
{
        for (Cgroup *c = top; c; c = walk_next(c, top))
                scan_children(w, c);
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
        w->pod_log_fd = cfg->pod_log_dir ? open(cfg->pod_log_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
        w->container_log_fd = -1;
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
                remove_cgroup(w, w->root);
        safe_close(w->inotify_fd);
        safe_close(w->epoll_fd);
        safe_close(w->pod_log_fd);
        safe_close(w->container_log_fd);
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
        int r;

        if (w->root)
                return -EBUSY;
        uint64_t t0 = now_usec(CLOCK_MONOTONIC);
        w->root_fd = open(w->cfg.root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (w->root_fd < 0)
                return -errno;
        if (!w->cfg.v1)
                w->psi_root_fd = w->root_fd;
        else if (w->cfg.psi_root) {
                /* Without it (or when it cannot be opened) v1 cgroups have no PSI. */
                w->psi_root_fd = open(w->cfg.psi_root, O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (w->psi_root_fd < 0)
                        watcher_emit_warning(
                                w, NULL, -errno,
                                "cannot open the unified hierarchy (--psi-root): cgroups have no PSI");
        }
        w->scanning = true;
        w->pass_warnings = 0;
        w->root = add_cgroup(w, NULL, w->cfg.root);
        if (!w->root) {
                w->scanning = false;
                return access(w->cfg.root, F_OK) < 0 ? -errno : -EIO;
        }
        probe_psi(w);
        r = w->cfg.v1 ? faccessat(w->root_fd, "memory.usage_in_bytes", F_OK, 0) == 0
                      : cg_has_controller(w->root_fd, "memory") > 0;
        w->has_memory_controller = r > 0;
        /* The root was added before PSI was probed: give it its trigger now. */
        if (w->root->watched && w->root->psi_fd < 0)
                watcher_arm_psi(w, w->root);
        scan(w, w->root);
        w->scanning = false;
        w->scan_usec = now_usec(CLOCK_MONOTONIC) - t0;

        if (w->cfg.v1)
                snprintf(msg, sizeof(msg),
                         "watching %u of %u cgroups under %s (cgroup v1 memory controller, pressure_level "
                         "mode "
                         "%s); PSI %s%s",
                         w->n_watched, w->n_cgroups, w->cfg.root, v1_mode_to_string(w->cfg.v1_mode),
                         !w->cfg.psi          ? "off by configuration"
                         : !w->psi_supported  ? "NOT available"
                         : w->psi_root_fd < 0 ? "of the node only (no unified hierarchy)"
                                              : "from the same paths under ",
                         w->cfg.psi && w->psi_supported && w->psi_root_fd >= 0 ? w->cfg.psi_root : "");
        else
                snprintf(
                        msg, sizeof(msg), "watching %u of %u cgroups under %s; memory controller %s; PSI %s",
                        w->n_watched, w->n_cgroups, w->cfg.root,
                        w->has_memory_controller ? "available" : "NOT available (cgroup v1 or hybrid host?)",
                        !w->cfg.psi        ? "off by configuration"
                        : w->psi_supported ? "on"
                                           : "NOT available");
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

static void read_current(Watcher *w, const Cgroup *c, uint64_t *ret)
{
        const char *rel = watcher_relpath(w, c, c->v1 ? "memory.usage_in_bytes" : "memory.current");

        if (rel)
                (void)cg_read_u64(w->root_fd, rel, ret);
}

uint64_t watcher_read_current(Watcher *w, const Cgroup *c)
{
        uint64_t v = UINT64_MAX;

        read_current(w, c, &v);
        return v;
}

static void handle_memory_events(Watcher *w, Cgroup *c)
{
        MemEvents ev, local;
        MemEventsDelta d, dl = {};
        Record r = record_init(RECORD_MEMORY_EVENTS);

        if (c->events_fd < 0 || read_events(w, c->events_fd, &ev) < 0)
                return;
        memevents_diff(&c->events, &ev, &d);
        c->events = ev;
        if (!d.any)
                return;
        size_t len;
        if (watcher_read_attr(w, c, "memory.events.local", &len) >= 0 &&
            memevents_parse(w->text, len, &local) >= 0) {
                MemEvents old = {};
                memcpy(old.value, c->events_local, sizeof(old.value));
                local.n_extra = 0; /* attribution needs the known keys only */
                memevents_diff(&old, &local, &dl);
                memcpy(c->events_local, local.value, sizeof(c->events_local));
        }
        read_current(w, c, &r.current);
        r.delta = &d;
        r.delta_local = &dl;
        watcher_emit(w, &r, c);
}

static void handle_cgroup_events(Watcher *w, Cgroup *c)
{
        CgroupEvents ev, old = c->cgevents;
        size_t len;

        if (!c->watched || watcher_read_attr(w, c, "cgroup.events", &len) < 0 ||
            cgroup_events_parse(w->text, len, &ev) < 0)
                return;
        if (ev.populated == old.populated && ev.frozen == old.frozen)
                return;
        c->cgevents = ev;
        Record r = record_init(RECORD_CGROUP_EVENTS);
        r.cgevents_old = &old;
        watcher_emit(w, &r, c);
}

static void handle_limits(Watcher *w, Cgroup *c)
{
        uint64_t old_high = c->high, old_max = c->max;

        read_limits(w, c);
        if (c->high == old_high && c->max == old_max)
                return;
        Record r = record_init(RECORD_LIMITS);
        r.old_high = old_high;
        r.old_max = old_max;
        /* Watch (or stop) first: whoever reads the record sees the cgroup as it now is. */
        evaluate(w, c);
        watcher_emit(w, &r, c);
}

static void rescan(Watcher *w)
{
        Record r = record_init(RECORD_RESCAN);
        r.message = "rescanned the hierarchy";
        uint64_t t0 = now_usec(CLOCK_MONOTONIC);

        w->pass_warnings = 0;
        scan(w, w->root);
        r.duration_usec = now_usec(CLOCK_MONOTONIC) - t0;
        watcher_emit(w, &r, w->root);
        /* Notifications may have been lost, counters never are: re-read all. */
        for (unsigned i = 0; i < w->n_slots; i++) {
                Cgroup *c = w->slots[i];
                if (!c)
                        continue;
                handle_limits(w, c);
                if (c->v1) {
                        watcher_v1_refresh(w, c);
                        continue;
                }
                handle_memory_events(w, c);
                handle_cgroup_events(w, c);
        }
}

int watcher_rescan(Watcher *w)
{
        if (!w->root)
                return -ENOENT;
        rescan(w);
        return 0;
}

static bool name_is(const struct inotify_event *e, const char *s)
{
        return e->len > 0 && strcmp(e->name, s) == 0;
}

/* A write to c's cgroup.subtree_control may have enabled or disabled the
 * memory controller in its children: the kernel makes or removes their
 * memory.* files without any inotify event, so look. */
static void controllers_changed(Watcher *w, Cgroup *c)
{
        for (Cgroup *child = c->first_child; child; child = child->next_sibling) {
                const char *rel = watcher_relpath(w, child, "memory.events");
                bool now = rel && faccessat(w->root_fd, rel, F_OK, 0) == 0;

                if (now == (child->watched ? child->events_fd >= 0 : child->has_memory))
                        continue;
                detach(w, child);
                read_limits(w, child);
                evaluate(w, child);
        }
}

static void handle_dir_event(Watcher *w, Cgroup *c, const struct inotify_event *e)
{
        if (e->mask & (IN_DELETE_SELF | IN_IGNORED)) {
                if (c != w->root)
                        remove_cgroup(w, c);
                else if (e->mask & IN_DELETE_SELF)
                        watcher_emit_warning(w, c, -ENODEV, "the cgroup root went away");
                return;
        }
        if (e->len == 0)
                return;
        if (e->mask & IN_ISDIR) {
                if (e->mask & (IN_CREATE | IN_MOVED_TO)) {
                        Cgroup *child = find_child(c, e->name, strlen(e->name));
                        if (!child)
                                child = add_cgroup(w, c, e->name);
                        /* Subdirectories made before our watch was in place. */
                        if (child)
                                scan(w, child);
                } else if (e->mask & (IN_DELETE | IN_MOVED_FROM)) {
                        Cgroup *child = find_child(c, e->name, strlen(e->name));
                        if (child)
                                remove_cgroup(w, child);
                }
                return;
        }
        if ((e->mask & IN_MODIFY) && e->len > 0 &&
            (w->cfg.v1 ? watcher_v1_limit_file(e->name)
                       : name_is(e, "memory.high") || name_is(e, "memory.max")))
                handle_limits(w, c);
        else if ((e->mask & IN_MODIFY) && name_is(e, "cgroup.subtree_control"))
                controllers_changed(w, c);
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
        ent = wdmap_get(&w->wds, e->wd);
        if (!ent)
                return; /* IN_IGNORED of a watch we removed */
        c = w->slots[ent->slot];
        switch ((WdKind)ent->kind) {
        case WD_DIR:
                handle_dir_event(w, c, e);
                break;
        case WD_EVENTS:
                if (e->mask & IN_IGNORED) {
                        c->wd_events = -1;
                        wdmap_remove(&w->wds, e->wd);
                } else
                        handle_memory_events(w, c);
                break;
        case WD_CGEVENTS:
                if (e->mask & IN_IGNORED) {
                        c->wd_cgevents = -1;
                        wdmap_remove(&w->wds, e->wd);
                } else
                        handle_cgroup_events(w, c);
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
                        if (errno == EAGAIN)
                                return handled;
                        return -errno;
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

        if (c && c->v1 && kind >= KEY_V1 && kind < KEY_V1 + _V1_FD_MAX) {
                watcher_v1_handle(w, c, (V1Fd)(kind - KEY_V1), revents);
                return 1;
        }
        if (!c || kind != KEY_PSI || c->psi_fd < 0)
                return 0;
        if (revents & EPOLLERR) {
                /* The cgroup is being removed; inotify tells the rest. */
                disarm_psi(w, c);
                return 0;
        }
        if (!(revents & EPOLLPRI))
                return 0;
        if (cg_pread_all(c->psi_fd, w->text, sizeof(w->text), &len) < 0 ||
            psi_parse(w->text, len, &c->psi) < 0)
                return 0;
        c->n_psi_events++;
        Record r = record_init(RECORD_PSI);
        read_current(w, c, &r.current);
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
                if (n == 0)
                        return handled;
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

const Cgroup *watcher_root(const Watcher *w)
{
        return w->root;
}

uint64_t watcher_next_usec(const Watcher *w)
{
        return w->v1_recheck_usec;
}

void watcher_tick(Watcher *w, uint64_t now_usec)
{
        if (w->cfg.v1)
                watcher_v1_tick(w, now_usec);
}
