/* SPDX-License-Identifier: MIT */
/* kubelet's log directories, watched for the names of pods and containers.
 *
 * kubelet makes a pod's cgroup before its /var/log/pods/<ns>_<pod>_<uid>
 * directory, and a container's cgroup before its /var/log/containers link,
 * so a cgroup often appears before anyone can say whose it is. The two
 * directories are watched on the watcher's inotify fd (IN_CREATE and
 * IN_MOVED_TO of entries); a new entry names the cgroup still waiting for it,
 * in the room set aside when the cgroup appeared, and an identity record
 * tells the owner to bind it again.
 *
 * A directory that does not exist yet (kubelet makes /var/log/pods with its
 * first pod) is waited for by a watch on its parent; where the parent is
 * missing too, arming is retried when a pod cgroup appears and at every
 * rescan. A directory that is removed or moved away is waited for again. */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/inotify.h>

#include "watcher-internal.h"

#define LOG_DIR_MASK    (IN_CREATE | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_MASK_ADD)
#define LOG_PARENT_MASK (IN_CREATE | IN_MOVED_TO | IN_ONLYDIR | IN_MASK_ADD)

void watcher_logs_init(Watcher *w)
{
        w->logs[LOG_PODS] = (LogDir){ .path = w->cfg.pod_log_dir, .wd = -1, .parent_wd = -1 };
        w->logs[LOG_CONTAINERS] = (LogDir){ .path = w->cfg.container_log_dir, .wd = -1, .parent_wd = -1 };
}

/* Whether wd is in use by another of the log directories (both usually sit
 * in /var/log, and one inode has one watch: IN_MASK_ADD merges the masks),
 * or by a cgroup (a log directory inside the cgroup tree, a test's). */
static bool wd_shared(Watcher *w, const LogDir *d, int wd)
{
        if (wdmap_get(&w->wds, wd))
                return true;
        for (int i = 0; i < _LOG_MAX; i++) {
                const LogDir *o = &w->logs[i];
                if (o != d && (o->wd == wd || o->parent_wd == wd))
                        return true;
        }
        return false;
}

static void drop_wd(Watcher *w, LogDir *d, int *wd)
{
        int old = *wd;

        if (old < 0)
                return;
        *wd = -1;
        if (!wd_shared(w, d, old))
                (void)inotify_rm_watch(w->inotify_fd, old);
}

/* path's last component, without trailing '/'s: its length in *ret_len. */
static const char *base_name(const char *path, size_t *ret_len)
{
        size_t len = strlen(path);
        const char *slash;

        while (len > 1 && path[len - 1] == '/')
                len--;
        slash = memrchr(path, '/', len);
        *ret_len = slash ? len - (size_t)(slash + 1 - path) : len;
        return slash ? slash + 1 : path;
}

static int watch_parent(Watcher *w, const LogDir *d)
{
        char parent[PATH_MAX];
        size_t blen, len;
        const char *base = base_name(d->path, &blen);

        len = (size_t)(base - d->path);
        while (len > 1 && d->path[len - 1] == '/')
                len--; /* "/var/log/" is "/var/log"; "/" stays */
        if (len >= sizeof(parent))
                return -ENAMETOOLONG;
        if (len == 0)
                strcpy(parent, ".");
        else {
                memcpy(parent, d->path, len);
                parent[len] = '\0';
        }
        int wd = inotify_add_watch(w->inotify_fd, parent, LOG_PARENT_MASK);
        return wd < 0 ? -errno : wd;
}

/* true if d is watched from now on. */
static bool arm_one(Watcher *w, LogDir *d)
{
        if (!d->path || d->wd >= 0)
                return false;
        for (int tries = 0; tries < 2; tries++) {
                int wd = inotify_add_watch(w->inotify_fd, d->path, LOG_DIR_MASK);
                if (wd >= 0) {
                        d->wd = wd;
                        drop_wd(w, d, &d->parent_wd);
                        return true;
                }
                /* EACCES, ENOSPC: left to the lookups (and the next rescan). */
                if ((errno != ENOENT && errno != ENOTDIR) || d->parent_wd >= 0)
                        return false;
                wd = watch_parent(w, d);
                if (wd < 0)
                        return false;
                d->parent_wd = wd;
                /* Once more: it may have been made between the two calls. */
        }
        return false;
}

bool watcher_logs_arm(Watcher *w)
{
        bool armed = false;

        for (int i = 0; i < _LOG_MAX; i++)
                armed |= arm_one(w, &w->logs[i]);
        return armed;
}

static void pod_entry(Watcher *w, const char *name, size_t len)
{
        char ns[POD_NAMESPACE_MAX], pod[POD_NAME_MAX], uid[POD_UID_MAX], have[POD_UID_MAX];

        if (w->n_unnamed_pods == 0 || pod_log_entry_parse(name, len, ns, pod, uid) < 0)
                return;
        for (unsigned i = 0; i < w->n_slots; i++) {
                Cgroup *c = w->slots[i];
                if (!c || c->kind != CGROUP_KIND_POD || !c->pod_namespace || c->pod_namespace[0] ||
                    pod_uid_from_name(c->name, have, sizeof(have)) < 0 || strcmp(have, uid) != 0)
                        continue;
                /* Both fit: the parser bounds them by the room set aside. */
                strcpy(c->pod_namespace, ns);
                strcpy(c->pod_name, pod);
                watcher_mark_named(w, c);
                return;
        }
}

static void container_entry(Watcher *w, const char *name, size_t len)
{
        char cname[CONTAINER_NAME_MAX], id[CONTAINER_ID_MAX], have[CONTAINER_ID_MAX];
        char pod[POD_NAME_MAX], ns[POD_NAMESPACE_MAX];

        if (w->n_unnamed_containers == 0 || container_log_entry_parse_pod(name, len, pod, ns, cname, id) < 0)
                return;
        for (unsigned i = 0; i < w->n_slots; i++) {
                Cgroup *c = w->slots[i];
                /* Of its own pod only; a pod not yet named resolves it later. */
                if (!c || c->kind != CGROUP_KIND_CONTAINER || !c->container_name || c->container_name[0] ||
                    container_id_from_name(c->name, have, sizeof(have)) < 0 || strcmp(have, id) != 0 ||
                    !watcher_container_of_pod(c, pod, ns))
                        continue;
                strcpy(c->container_name, cname);
                watcher_mark_named(w, c);
                return;
        }
}

static void dir_event(Watcher *w, LogDir *d, const struct inotify_event *e)
{
        if (e->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
                /* Gone or moved away: wait for it to be made again. */
                drop_wd(w, d, &d->wd);
                if (watcher_logs_arm(w))
                        watcher_resolve_waiting(w);
                return;
        }
        if (!(e->mask & (IN_CREATE | IN_MOVED_TO)) || e->len == 0)
                return;
        /* A pod's directory; a container's link (or file). */
        size_t len = strnlen(e->name, e->len);
        if (d == &w->logs[LOG_PODS] && (e->mask & IN_ISDIR))
                pod_entry(w, e->name, len);
        else if (d == &w->logs[LOG_CONTAINERS] && !(e->mask & IN_ISDIR))
                container_entry(w, e->name, len);
}

static void parent_event(Watcher *w, LogDir *d, const struct inotify_event *e)
{
        size_t blen;
        const char *base = base_name(d->path, &blen);

        if (e->mask & IN_IGNORED) {
                d->parent_wd = -1; /* the parent went too: tried again at the next rescan */
                return;
        }
        if (!(e->mask & (IN_CREATE | IN_MOVED_TO)) || !(e->mask & IN_ISDIR) || e->len == 0 ||
            strnlen(e->name, e->len) != blen || memcmp(e->name, base, blen) != 0)
                return;
        if (watcher_logs_arm(w))
                watcher_resolve_waiting(w);
}

int watcher_logs_event(Watcher *w, const struct inotify_event *e)
{
        bool hit = false;

        if (e->wd < 0)
                return 0;
        for (int i = 0; i < _LOG_MAX; i++) {
                LogDir *d = &w->logs[i];
                if (e->wd == d->wd) {
                        hit = true;
                        dir_event(w, d, e);
                }
                if (e->wd == d->parent_wd) {
                        hit = true;
                        parent_event(w, d, e);
                }
        }
        return hit;
}

void watcher_mark_named(Watcher *w, Cgroup *c)
{
        if (c->kind == CGROUP_KIND_POD)
                w->n_unnamed_pods--;
        else
                w->n_unnamed_containers--;
        /* The first walk binds everything after it: no record needed. */
        if (!w->scanning && !c->names_new) {
                c->names_new = true;
                w->n_names_new++;
        }
}

void watcher_names_told(Watcher *w, Cgroup *c)
{
        if (!c->names_new)
                return;
        c->names_new = false;
        w->n_names_new--;
}

static void emit_identity(Watcher *w, Cgroup *c)
{
        Record r = record_init(RECORD_IDENTITY);

        /* Looked up first, so that the record does not make another one due. */
        watcher_resolve_names(w, c);
        watcher_names_told(w, c);
        /* A namespace's policy may match it now: watched before it binds. */
        watcher_evaluate(w, c);
        watcher_emit(w, &r, c);
}

/* A pod's names are its containers' too: they are told with it. */
static void flush_one(Watcher *w, Cgroup *c)
{
        emit_identity(w, c);
        if (c->kind != CGROUP_KIND_POD)
                return;
        for (Cgroup *k = c->first_child; k && k != c;) {
                if (k->kind == CGROUP_KIND_CONTAINER)
                        emit_identity(w, k);
                else
                        watcher_names_told(w, k);
                /* Pre-order within the pod's subtree, without recursion. */
                if (k->first_child) {
                        k = k->first_child;
                        continue;
                }
                while (k != c && !k->next_sibling)
                        k = k->parent;
                k = k != c ? k->next_sibling : NULL;
        }
}

void watcher_flush_identity(Watcher *w)
{
        if (w->flushing || w->n_names_new == 0)
                return;
        w->flushing = true;
        /* Each cgroup's names are learned once: this ends. Records may make
         * more due (the owner's identity lookups): another pass. */
        for (unsigned pass = 0; pass < 4 && w->n_names_new > 0; pass++)
                for (unsigned i = 0; i < w->n_slots && w->n_names_new > 0; i++) {
                        Cgroup *c = w->slots[i];
                        if (c && c->names_new)
                                flush_one(w, c);
                }
        w->flushing = false;
}
