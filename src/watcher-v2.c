/* SPDX-License-Identifier: MIT */
/* The watcher on the unified hierarchy: memory.events and cgroup.events
 * watched by inotify and re-read on every notification, the limits from
 * memory.high and memory.max. The PSI trigger is common (watcher.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "macro.h"
#include "watcher-internal.h"

static int read_events(Watcher *w, int fd, MemEvents *ret)
{
        size_t len;
        int r;

        r = cg_pread_all(fd, w->text, sizeof(w->text), &len);
        if (r < 0)
                return r;
        return memevents_parse(w->text, len, ret);
}

static void v2_attach(Watcher *w, Cgroup *c)
{
        size_t len;
        int fd;

        /* memory.events is kept open: it is re-read on every notification.
         * The rest is opened when needed; the inotify watch on a file pins
         * its inode, which is what the kernel's notification needs. */
        fd = watcher_cg_open(w, c, "memory.events", O_RDONLY);
        if (fd >= 0) {
                c->events_fd = fd;
                c->has_memory = true;
                (void)read_events(w, fd, &c->events);
                fd = watcher_add_watch(w, c, "memory.events", IN_MODIFY);
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
                fd = watcher_add_watch(w, c, "cgroup.events", IN_MODIFY);
                if (fd >= 0 && wdmap_put(&w->wds, fd, c->slot, WD_CGEVENTS) >= 0)
                        c->wd_cgevents = fd;
        }
}

static void v2_detach(Watcher *w, Cgroup *c)
{
        watcher_rm_watch(w, &c->wd_events);
        watcher_rm_watch(w, &c->wd_cgevents);
        c->events_fd = safe_close(c->events_fd);
}

static void v2_read_limits(Watcher *w, Cgroup *c)
{
        const char *rel;
        int r = -ENAMETOOLONG;

        rel = watcher_relpath(w, c, "memory.high");
        if (!rel || (r = cg_read_limit(w->root_fd, rel, &c->high)) < 0)
                c->high = UINT64_MAX;
        watcher_fd_trouble(w, c, r); /* out of fds, the limits read as none: say so */
        rel = watcher_relpath(w, c, "memory.max");
        r = rel ? cg_read_limit(w->root_fd, rel, &c->max) : -ENAMETOOLONG;
        watcher_fd_trouble(w, c, r);
        /* No memory.max: the memory controller is not enabled here. */
        c->has_memory = r >= 0;
        if (!c->has_memory)
                c->max = UINT64_MAX;
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
        r.current = watcher_read_current(w, c);
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
                watcher_detach(w, child);
                v2_read_limits(w, child);
                watcher_evaluate(w, child);
        }
}

static void v2_refresh(Watcher *w, Cgroup *c)
{
        handle_memory_events(w, c);
        handle_cgroup_events(w, c);
}

static void v2_dir_file_modified(Watcher *w, Cgroup *c, const char *name)
{
        if (strcmp(name, "memory.high") == 0 || strcmp(name, "memory.max") == 0)
                watcher_handle_limits(w, c);
        else if (strcmp(name, "cgroup.subtree_control") == 0)
                controllers_changed(w, c);
}

static void v2_file_event(Watcher *w, Cgroup *c, WdKind kind, int wd, uint32_t mask)
{
        int *slot = kind == WD_EVENTS ? &c->wd_events : kind == WD_CGEVENTS ? &c->wd_cgevents : NULL;

        if (!slot)
                return;
        if (mask & IN_IGNORED) {
                *slot = -1;
                wdmap_remove(&w->wds, wd);
        } else if (kind == WD_EVENTS)
                handle_memory_events(w, c);
        else
                handle_cgroup_events(w, c);
}

static void v2_open_psi_root(Watcher *w)
{
        w->psi_root_fd = w->root_fd; /* memory.pressure beside memory.events */
}

static bool v2_probe_memory(Watcher *w)
{
        return cg_has_controller(w->root_fd, "memory") > 0;
}

static void v2_describe(Watcher *w, char *buf, size_t size)
{
        snprintf(buf, size, "watching %u of %u cgroups under %s; memory controller %s; PSI %s", w->n_watched,
                 w->n_cgroups, w->cfg.root,
                 w->has_memory_controller ? "available" : "NOT available (cgroup v1 or hybrid host?)",
                 !w->cfg.psi        ? "off by configuration"
                 : w->psi_supported ? "on"
                                    : "NOT available");
}

const WatchBackend watch_backend_v2 = {
        .attach = v2_attach,
        .detach = v2_detach,
        .read_limits = v2_read_limits,
        .refresh = v2_refresh,
        .dir_file_modified = v2_dir_file_modified,
        .file_event = v2_file_event,
        .open_psi_root = v2_open_psi_root,
        .probe_memory = v2_probe_memory,
        .describe = v2_describe,
        .current_file = "memory.current",
};
