/* SPDX-License-Identifier: MIT */
/* The model: Cgroups added, bounded, named and removed, and the walk that
 * keeps them in line with the file system. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "macro.h"
#include "watcher-internal.h"

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
        /* A pod; a container (a pod's direct child, cgroup_kind_from_name()); or what
         * a workload made below them (`other`): it is in that pod, and so in its
         * namespace, but it is no container and gets no container name. */
        for (; c; c = c->parent)
                if (c->kind == CGROUP_KIND_POD)
                        return c;
                else if (c->kind != CGROUP_KIND_CONTAINER && c->kind != CGROUP_KIND_OTHER)
                        return NULL;
        return NULL;
}

bool watcher_container_of_pod(const Cgroup *c, const char *pod, const char *ns)
{
        const Cgroup *p = c->kind == CGROUP_KIND_CONTAINER ? cgroup_pod(c) : NULL;

        return p && p->pod_namespace && p->pod_namespace[0] && strcmp(p->pod_name, pod) == 0 &&
               strcmp(p->pod_namespace, ns) == 0;
}

/* kubelet may start after us, and may make its directories again: each
 * lookup opens the directory by path (no fd kept, see LogDir). */
static int open_log_dir(const LogDir *d)
{
        int fd = open(d->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

static void resolve_container(Watcher *w, Cgroup *c)
{
        const LogDir *d = &w->logs[LOG_CONTAINERS];
        const Cgroup *pod = cgroup_pod(c);
        _cleanup_close_ int fd = -1;
        char id[CONTAINER_ID_MAX];

        /* The entry must name the pod the cgroup is in: wait for the pod's names
         * (their arrival resolves its containers, watcher-logs.c flush_one()). */
        if (!c->container_name || c->container_name[0] || !d->path || !pod || !pod->pod_namespace ||
            !pod->pod_namespace[0] || container_id_from_name(c->name, id, sizeof(id)) < 0)
                return;
        fd = open_log_dir(d);
        if (fd >= 0 &&
            container_log_lookup(fd, id, pod->pod_name, pod->pod_namespace, c->container_name) >= 0)
                watcher_mark_named(w, c);
}

static void resolve_pod(Watcher *w, Cgroup *pod)
{
        const LogDir *d = &w->logs[LOG_PODS];
        _cleanup_close_ int fd = -1;
        char uid[POD_UID_MAX];

        if (!pod || !pod->pod_namespace || pod->pod_namespace[0] || !d->path ||
            pod_uid_from_name(pod->name, uid, sizeof(uid)) < 0)
                return;
        fd = open_log_dir(d);
        if (fd >= 0 && pod_log_lookup(fd, uid, pod->pod_namespace, pod->pod_name) >= 0)
                watcher_mark_named(w, pod);
}

void watcher_resolve_names(Watcher *w, const Cgroup *c)
{
        resolve_pod(w, (Cgroup *)cgroup_pod(c));
        resolve_container(w, (Cgroup *)c);
}

/* After a log directory is (again) watched, and at a rescan: its entries
 * may have been made while nobody watched. One lookup per waiting cgroup. */
void watcher_resolve_waiting(Watcher *w)
{
        for (unsigned i = 0; i < w->n_slots && (w->n_unnamed_pods || w->n_unnamed_containers); i++) {
                Cgroup *c = w->slots[i];
                if (c && c->kind == CGROUP_KIND_POD)
                        resolve_pod(w, c);
                else if (c && c->kind == CGROUP_KIND_CONTAINER) {
                        resolve_pod(w, (Cgroup *)cgroup_pod(c)); /* a later slot, maybe */
                        resolve_container(w, c);
                }
        }
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

Cgroup *watcher_find_child(const Cgroup *parent, const char *name, size_t len)
{
        for (Cgroup *c = parent->first_child; c; c = c->next_sibling)
                if (c->name_len == len && memcmp(c->name, name, len) == 0)
                        return c;
        return NULL;
}

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
        if (w->be->alloc && w->be->alloc(c) < 0) {
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
Cgroup *watcher_add_cgroup(Watcher *w, Cgroup *parent, const char *name)
{
        size_t len = parent ? strlen(name) : 0;
        Cgroup *c;
        int wd;

        if (parent && !child_within_bounds(w, parent, len))
                return NULL;
        if (w->n_cgroups >= w->cfg.max_cgroups) {
                w->n_dropped_cgroups++;
                watcher_refuse_full(w, parent);
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
        wd = watcher_add_watch(w, c, NULL, DIR_MASK);
        if (wd == -ENOSPC)
                watcher_refuse_full(w, parent); /* watches free up as cgroups go */
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
        if (c->pod_namespace)
                w->n_unnamed_pods++;
        else if (c->container_name)
                w->n_unnamed_containers++;
        w->be->read_limits(w, c);
        watcher_evaluate(w, c);
        /* kubelet makes /var/log/pods with its first pod: maybe there now. */
        if (c->kind == CGROUP_KIND_POD && !w->scanning && watcher_logs_arm(w))
                watcher_resolve_waiting(w);
        if (!w->scanning) {
                Record r = record_init(RECORD_CGROUP_ADDED);
                watcher_emit(w, &r, c);
        }
        return c;
}

static void remove_one(Watcher *w, Cgroup *c)
{
        if (!w->scanning) {
                Record r = record_init(RECORD_CGROUP_REMOVED);
                watcher_emit(w, &r, c);
        }
        watcher_detach(w, c);
        watcher_rm_watch(w, &c->wd_dir);
        watcher_names_told(w, c);
        if (c->pod_namespace && !c->pod_namespace[0])
                w->n_unnamed_pods--;
        else if (c->container_name && !c->container_name[0])
                w->n_unnamed_containers--;
        unlink_child(c);
        w->slots[c->slot] = NULL;
        if (c->slot < w->free_hint)
                w->free_hint = c->slot;
        w->n_cgroups--;
        if (w->n_cgroups < w->cfg.max_cgroups)
                w->limit_reported = false;
        /* Room now for what was left out: look again soon, not at once (a
         * subtree going away removes its cgroups one by one), and at most
         * once per WATCHER_REFILL_USEC whatever a workload does. */
        if (w->refill_wanted && !w->scanning && w->refill_usec == 0) {
                uint64_t now = now_usec(CLOCK_MONOTONIC);
                w->refill_usec = now > w->refilled_usec + WATCHER_REFILL_USEC
                                         ? now
                                         : w->refilled_usec + WATCHER_REFILL_USEC;
        }
        if (c == w->root)
                w->root = NULL;
        if (w->be->free)
                w->be->free(c);
        free(c);
}

/* Children before parents (their records come first), without recursion. */
void watcher_remove_cgroup(Watcher *w, Cgroup *top)
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
                        Cgroup *child = watcher_find_child(c, d->d_name, strlen(d->d_name));
                        if (!child)
                                child = watcher_add_cgroup(w, c, d->d_name);
                        if (child)
                                child->generation = gen;
                }
        }
        for (Cgroup *child = c->first_child, *next; child; child = next) {
                next = child->next_sibling;
                if (child->generation != gen)
                        watcher_remove_cgroup(w, child);
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
 * watcher_add_cgroup() (max_depth, path length) limit what is modelled. */
void watcher_scan_tree(Watcher *w, Cgroup *top)
{
        for (Cgroup *c = top; c; c = walk_next(c, top))
                scan_children(w, c);
}

void watcher_refuse_full(Watcher *w, Cgroup *parent)
{
        if (!parent)
                return;
        parent->refused |= CGROUP_REFUSED_FULL;
        w->refill_wanted = true;
}

/* c's children in line with its directory, and the subtrees of those that
 * are new: nothing else is walked again. */
static void refill_children(Watcher *w, Cgroup *c)
{
        uint32_t before = w->next_serial;

        scan_children(w, c);
        for (Cgroup *k = c->first_child; k; k = k->next_sibling)
                /* Serials given out in scan_children, modulo wrap-around. */
                if ((uint32_t)(k->serial - before - 1) < (uint32_t)(w->next_serial - before))
                        watcher_scan_tree(w, k);
}

/* Children were left out for want of room (max_cgroups, inotify watches)
 * and room freed up: look where they were left out. */
void watcher_refill(Watcher *w)
{
        uint64_t t0 = now_usec(CLOCK_MONOTONIC);
        Record r = record_init(RECORD_RESCAN);

        w->refill_usec = 0;
        w->refilled_usec = t0;
        w->refill_wanted = false; /* set again by what is left out now */
        w->pass_warnings = 0;
        for (unsigned i = 0; i < w->n_slots; i++) {
                Cgroup *c = w->slots[i];
                if (!c || !(c->refused & CGROUP_REFUSED_FULL))
                        continue;
                c->refused &= (uint8_t)~CGROUP_REFUSED_FULL;
                refill_children(w, c);
        }
        if (!w->root)
                return;
        r.message = "looked again for cgroups left out for want of room (--max-cgroups, inotify watches)";
        r.duration_usec = now_usec(CLOCK_MONOTONIC) - t0;
        watcher_emit(w, &r, w->root);
}
